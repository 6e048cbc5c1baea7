"""Earning can't be gamed: the re-earn policy, duplicate screenshots, and what is stored of a proof."""

import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageDraw

from backoffice.tests.factories import admin, moderator
from moderation.models import ScreenshotProof
from moderation.proofs import ProofRefused, approve_proof, invalidate_reward, reject_proof, submit_proof
from moderation.tests.factories import DownloadFactory

pytestmark = pytest.mark.django_db


def noise_image(seed, size=(120, 200)):
    rng = random.Random(seed)
    image = Image.new("L", (12, 20))
    image.putdata([rng.randrange(256) for _ in range(12 * 20)])
    return image.resize(size).convert("RGB")


def upload(image, name="shot.png", image_format="PNG", **save_options):
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **save_options)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def submit(download, seed=1, **kwargs):
    return submit_proof(user=download.user, app=download.app, image=upload(noise_image(seed), **kwargs))


def refused_code(call):
    with pytest.raises(ProofRefused) as refused:
        call()
    return refused.value.code


# --- 2. an invalidated reward can be earned again -----------------------------------------------------------------


def test_after_an_invalidation_the_app_cannot_earn_again():
    download = DownloadFactory()
    proof = submit(download)
    approve_proof(proof=proof, moderator=moderator())
    invalidate_reward(proof=proof, actor=admin(), reason="Fake", allow_negative=True)
    assert refused_code(lambda: submit(download, seed=2)) == "reward_invalidated"
    assert download.proofs.count() == 1


def test_the_app_page_stops_offering_the_upload_once_invalidated(client):
    download = DownloadFactory()
    proof = submit(download)
    approve_proof(proof=proof, moderator=moderator())
    invalidate_reward(proof=proof, actor=admin(), reason="Fake", allow_negative=True)
    client.force_login(download.user)
    body = client.get(reverse("app-detail", args=[download.app.slug])).content.decode()
    assert 'id="upload-proof"' not in body and "cannot earn points again" in body


def test_an_approved_proof_earns_once():
    download = DownloadFactory()
    approve_proof(proof=submit(download), moderator=moderator())
    assert refused_code(lambda: submit(download, seed=2)) == "already_earned"


def test_a_rejected_proof_may_be_retried_up_to_the_limit(settings):
    settings.PROOF_MAX_REJECTED_RETRIES = 2
    download = DownloadFactory()
    for seed in range(3):  # the first proof and two retries
        reject_proof(proof=submit(download, seed=seed), moderator=moderator(), reason="Unreadable")
    assert refused_code(lambda: submit(download, seed=9)) == "retries_exhausted"


# --- 6. the same screenshot from two members ----------------------------------------------------------------------


def test_the_same_screenshot_from_another_member_is_refused():
    first = DownloadFactory()
    second = DownloadFactory(app=first.app)
    submit(first, seed=7)
    assert refused_code(lambda: submit(second, seed=7)) == "duplicate_proof"
    assert not second.proofs.exists()


def test_the_same_screenshot_resaved_in_another_format_is_still_refused():
    first = DownloadFactory()
    second = DownloadFactory(app=first.app)
    submit(first, seed=7)
    image = upload(noise_image(7), name="shot.webp", image_format="WEBP", lossless=True)
    with pytest.raises(ProofRefused):
        submit_proof(user=second.user, app=second.app, image=image)


def test_a_near_duplicate_is_accepted_and_flagged_beside_its_match(client, settings):
    settings.PROOF_NEAR_DUPLICATE_DISTANCE = 8
    first = DownloadFactory()
    second = DownloadFactory(app=first.app)
    original = submit(first, seed=7)
    edited = noise_image(7)
    ImageDraw.Draw(edited).rectangle((0, 0, 20, 20), fill=(255, 255, 255))  # e.g. a notification icon on top
    proof = submit_proof(user=second.user, app=second.app, image=upload(edited))
    assert proof.image_hash != original.image_hash
    assert proof.near_duplicate_of == original
    ScreenshotProof.objects.filter(pk=original.pk).update(status=ScreenshotProof.Status.REJECTED)
    client.force_login(moderator())
    body = client.get(reverse("moderation_queue")).content.decode()
    assert 'id="near-duplicate"' in body and original.image.url in body


def test_different_screenshots_are_not_flagged():
    first = DownloadFactory()
    second = DownloadFactory(app=first.app)
    submit(first, seed=1)
    assert submit(second, seed=2).near_duplicate_of is None


def test_a_member_may_resend_their_own_screenshot_after_a_rejection():
    download = DownloadFactory()
    reject_proof(proof=submit(download, seed=3), moderator=moderator(), reason="Blurry")
    assert submit(download, seed=3).status == ScreenshotProof.Status.PENDING


# --- what is stored -----------------------------------------------------------------------------------------------


def test_exif_and_gps_are_stripped_from_the_stored_proof():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    raw = upload(noise_image(4), name="shot.jpg", image_format="JPEG", exif=exif.tobytes())
    assert Image.open(io.BytesIO(raw.read())).getexif()  # the upload has it
    raw.seek(0)
    download = DownloadFactory()
    proof = submit_proof(user=download.user, app=download.app, image=raw)
    with proof.image.open("rb") as stored, Image.open(stored) as image:
        assert (image.format, dict(image.getexif()), image.info.get("exif")) == ("JPEG", {}, None)


def test_the_stored_extension_is_the_real_format():
    download = DownloadFactory()
    proof = submit(download, name="holiday.jpg")  # a PNG named .jpg
    assert proof.image.name.endswith(".png")
