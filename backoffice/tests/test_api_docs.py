import pytest

pytestmark = pytest.mark.django_db


def test_the_api_docs_load_swagger_ui_from_our_own_static_files(client):
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn." not in html


def test_the_openapi_schema_documents_only_the_project_api(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert all(path.startswith("/api/") for path in schema["paths"])
