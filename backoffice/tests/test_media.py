"""Uploaded files outside DEBUG: public app images for everyone, private files only for those allowed."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.images import placeholder_png
from backoffice.tests.factories import UserFactory, admin, moderator
from catalog import services as catalog_services
from catalog.tests.factories import AppFactory
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def stored_bytes(field):
    with field.storage.open(field.name, "rb") as stored:
        return stored.read()


def test_an_app_image_is_served_to_anyone_outside_debug(client):
    app = AppFactory(image=placeholder_png("app", name="app.png"))
    assert not settings.DEBUG
    response = client.get(app.image.url)
    assert response.status_code == 200
    assert body(response) == stored_bytes(app.image)
    assert response["Content-Type"] == "image/png"


def test_public_media_refuses_paths_leaving_the_media_folder(client):
    assert client.get("/media/../manage.py").status_code == 404
    assert client.get("/media/%2e%2e/manage.py").status_code == 404


def test_a_proof_screenshot_is_stored_outside_the_public_media_folder(client):
    proof = ScreenshotProofFactory()
    assert proof.image.url == f"/private-media/{proof.image.name}"
    assert not (Path(settings.MEDIA_ROOT) / proof.image.name).exists()
    assert (Path(settings.PRIVATE_MEDIA_ROOT) / proof.image.name).exists()
    assert client.get(f"/media/{proof.image.name}").status_code == 404


def test_the_owner_sees_their_proof_screenshot(client):
    proof = ScreenshotProofFactory()
    client.force_login(proof.download.user)
    response = client.get(proof.image.url)
    assert response.status_code == 200
    assert body(response) == stored_bytes(proof.image)
    assert "private" in response["Cache-Control"]


def test_a_moderator_sees_any_proof_screenshot(client):
    proof = ScreenshotProofFactory()
    client.force_login(moderator())
    assert client.get(proof.image.url).status_code == 200


@pytest.mark.parametrize("viewer", ["anonymous", "another member"])
def test_nobody_else_gets_a_proof_screenshot(client, viewer):
    proof = ScreenshotProofFactory()
    if viewer == "another member":
        client.force_login(UserFactory())
    assert client.get(proof.image.url).status_code == 404


def test_a_private_path_that_is_no_ones_file_is_a_404_even_for_staff(client):
    client.force_login(admin())
    assert client.get("/private-media/proofs/2026/01/does-not-exist.png").status_code == 404
    assert client.get("/private-media/../manage.py").status_code == 404


def test_a_product_upload_file_is_private_to_staff_who_may_see_uploads(client):
    upload = catalog_services.preview_product_upload(
        SimpleUploadedFile("p.csv", b"store,sku,name,price\nmain,A1,Thing,1.00\n"), user=admin()
    )
    assert upload.file.url.startswith("/private-media/uploads/products/")
    client.force_login(UserFactory())
    assert client.get(upload.file.url).status_code == 404
    client.force_login(admin())
    response = client.get(upload.file.url)
    assert response.status_code == 200
    assert body(response).startswith(b"store,sku")


def test_screenshots_stored_before_proofs_became_private_are_moved_out_of_public_media():
    from django.apps import apps
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from backoffice.storage import move_to_private_storage
    from moderation.models import ScreenshotProof

    proof = ScreenshotProofFactory()
    private_copy = stored_bytes(proof.image)
    proof.image.storage.delete(proof.image.name)
    default_storage.save(proof.image.name, ContentFile(private_copy))  # where it lived before the migration

    move_to_private_storage("moderation.ScreenshotProof", "image")(apps, None)

    assert not default_storage.exists(proof.image.name)
    assert stored_bytes(ScreenshotProof.objects.get(pk=proof.pk).image) == private_copy
