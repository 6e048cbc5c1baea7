"""MEDIA_STORAGE=s3 against a real S3-compatible server: moto in server mode, on 127.0.0.1, started here."""

import urllib.request
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from backoffice.images import placeholder_png
from backoffice.settings.base import media_storages
from backoffice.tests.factories import UserFactory, admin
from catalog import services as catalog_services
from catalog.models import Product, ProductUpload
from catalog.tests.factories import AppFactory, StoreFactory
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # a moto S3 server, started here
BUCKET = "rewards-media-test"
S3_STORAGES = {**media_storages("s3"), "staticfiles": settings.STORAGES["staticfiles"]}


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch, tmp_path):
    """Settings as an operator sets MEDIA_STORAGE=s3; local media folders point at empty temp dirs."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    with override_settings(
        MEDIA_STORAGE="s3",
        STORAGES=S3_STORAGES,
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=s3_endpoint,
        MEDIA_ROOT=tmp_path / "media",
        PRIVATE_MEDIA_ROOT=tmp_path / "private",
    ):
        yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def public_read(client, key):
    grants = client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    return any(g["Grantee"].get("URI", "").endswith("/global/AllUsers") and g["Permission"] == "READ" for g in grants)


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_an_app_image_is_a_public_object_with_a_plain_url(s3):
    app = AppFactory(image=placeholder_png("app", name="app.png"))
    key = f"public/{app.image.name}"
    assert public_read(s3, key)
    assert app.image.url.startswith(f"{s3.meta.endpoint_url}/{BUCKET}/{key}")
    assert "Signature" not in app.image.url and "X-Amz" not in app.image.url
    assert fetch(app.image.url) == s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_a_proof_screenshot_is_a_private_object_behind_the_authorised_view(s3, client):
    proof = ScreenshotProofFactory()
    key = f"private/{proof.image.name}"
    assert not public_read(s3, key)
    assert proof.image.url == f"/private-media/{proof.image.name}"

    client.force_login(UserFactory())
    assert client.get(proof.image.url).status_code == 404

    client.force_login(proof.download.user)
    response = client.get(proof.image.url)
    assert response.status_code == 302
    signed = response["Location"]
    query = parse_qs(urlsplit(signed).query)
    assert urlsplit(signed).path == f"/{BUCKET}/{key}"
    assert query["X-Amz-Expires"] == ["60"] and "X-Amz-Signature" in query
    assert fetch(signed) == s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_product_upload_previewed_on_one_instance_is_confirmed_on_another(s3, tmp_path):
    store = StoreFactory(slug="main")
    user = admin()
    upload = catalog_services.preview_product_upload(
        SimpleUploadedFile("products.csv", b"store,sku,name,price\nmain,A1,Thing,1.50\n"), user=user
    )
    s3.head_object(Bucket=BUCKET, Key=f"private/{upload.file.name}")  # in the shared bucket, not on this disk

    # Another web instance: its own (empty) local folders and its own storage objects, the same bucket.
    with override_settings(
        STORAGES=S3_STORAGES,
        MEDIA_ROOT=tmp_path / "other-instance-media",
        PRIVATE_MEDIA_ROOT=tmp_path / "other-instance-private",
    ):
        confirmed = catalog_services.confirm_product_upload(upload=ProductUpload.objects.get(pk=upload.pk), user=user)
    assert confirmed.status == ProductUpload.Status.IMPORTED, confirmed.row_errors
    assert Product.objects.get(store=store, sku="A1").name == "Thing"
