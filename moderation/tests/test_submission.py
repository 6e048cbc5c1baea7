import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.images import placeholder_png
from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory
from moderation.models import ScreenshotProof
from moderation.proofs import ProofRefused, record_download, submit_proof
from moderation.tests.factories import DownloadFactory, ScreenshotProofFactory

pytestmark = pytest.mark.django_db


def screenshot():
    return placeholder_png("ok", size=(90, 160), name="shot.png")


def test_marking_an_app_downloaded_twice_keeps_one_download():
    user, app = UserFactory(), AppFactory()
    first, created = record_download(user=user, app=app)
    second, created_again = record_download(user=user, app=app)
    assert (created, created_again, first) == (True, False, second)


def test_an_inactive_app_cannot_be_marked_downloaded():
    with pytest.raises(ProofRefused, match="no longer available"):
        record_download(user=UserFactory(), app=AppFactory(active=False))


def test_a_verified_user_submits_a_pending_proof_for_a_downloaded_app():
    download = DownloadFactory()
    proof = submit_proof(user=download.user, app=download.app, image=screenshot())
    assert proof.status == ScreenshotProof.Status.PENDING
    assert proof.download == download


def test_a_proof_for_an_app_never_downloaded_is_refused():
    with pytest.raises(ProofRefused, match="Mark the app as downloaded"):
        submit_proof(user=UserFactory(verified=True), app=AppFactory(), image=screenshot())


def test_an_unverified_phone_cannot_submit_proofs():
    download = DownloadFactory(user=UserFactory(phone_verified_at=None))
    with pytest.raises(ProofRefused, match="Verify your phone"):
        submit_proof(user=download.user, app=download.app, image=screenshot())


def test_a_second_proof_while_one_is_pending_is_refused():
    proof = ScreenshotProofFactory()
    with pytest.raises(ProofRefused, match="already waiting"):
        submit_proof(user=proof.download.user, app=proof.download.app, image=screenshot())
    assert ScreenshotProof.objects.count() == 1


def test_a_new_proof_after_a_rejection_is_accepted():
    proof = ScreenshotProofFactory(status=ScreenshotProof.Status.REJECTED)
    again = submit_proof(user=proof.download.user, app=proof.download.app, image=screenshot())
    assert again.status == ScreenshotProof.Status.PENDING


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("shot.png", b"%PDF-1.4 not an image", content_type="image/png"),
        SimpleUploadedFile("shot.png", b"", content_type="image/png"),
        SimpleUploadedFile("shot.exe", b"MZ\x90\x00" * 100, content_type="application/octet-stream"),
    ],
)
def test_a_non_image_upload_is_refused(upload):
    download = DownloadFactory()
    with pytest.raises(ProofRefused):
        submit_proof(user=download.user, app=download.app, image=upload)
    assert ScreenshotProof.objects.count() == 0


def test_an_oversize_image_is_refused(settings):
    download = DownloadFactory()
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 1), content_type="image/png")
    with pytest.raises(ProofRefused, match="limit"):
        submit_proof(user=download.user, app=download.app, image=big)
