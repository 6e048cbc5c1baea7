import pytest

from catalog.tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def test_an_api_query_with_a_nul_character_is_a_clear_400_in_the_error_shape(client):
    response = client.get("/api/apps/", {"category": "games\x00"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_page_query_with_a_nul_character_is_a_400(client):
    assert client.get("/apps/", {"category": "\x00"}).status_code == 400


def test_ordinary_queries_pass_through(client):
    category = CategoryFactory(slug="games")
    assert client.get("/api/apps/", {"category": category.slug}).status_code == 200
