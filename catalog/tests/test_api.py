import pytest
from rest_framework.test import APIClient

from catalog.tests.factories import AppFactory, CategoryFactory, SubcategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_list_shows_active_apps_with_their_category(api):
    app = AppFactory(name="Block Drop")
    AppFactory(name="Retired", active=False)

    response = api.get("/api/apps/")

    assert response.status_code == 200
    assert response.json()["count"] == 1
    item = response.json()["results"][0]
    assert item["slug"] == "block-drop"
    assert item["category"] == {"slug": app.category.slug, "name": app.category.name}
    assert item["points_reward"] == app.points_reward
    assert item["image"].startswith("http://testserver/media/")


def test_list_filters_by_category_slug_including_subcategories(api):
    games = CategoryFactory(name="Games")
    puzzle = SubcategoryFactory(name="Puzzle", parent=games)
    AppFactory(name="Block Drop", category=games, subcategory=puzzle)
    AppFactory(name="Sky Racer", category=games)
    AppFactory(name="Coin Keeper")

    by_category = api.get("/api/apps/", {"category": games.slug}).json()
    by_subcategory = api.get("/api/apps/", {"category": puzzle.slug}).json()

    assert [a["name"] for a in by_category["results"]] == ["Block Drop", "Sky Racer"]
    assert [a["name"] for a in by_subcategory["results"]] == ["Block Drop"]


def test_unknown_category_is_a_400_in_the_project_error_shape(api):
    response = api.get("/api/apps/", {"category": "nope"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["details"] == {"category": ["No category with slug 'nope'."]}


def test_list_is_paginated(api):
    AppFactory.create_batch(30)

    first = api.get("/api/apps/").json()
    second = api.get("/api/apps/", {"page": 2}).json()

    assert (first["count"], len(first["results"]), len(second["results"])) == (30, 25, 5)
    assert first["next"].endswith("?page=2")


def test_page_out_of_range_is_a_404_in_the_project_error_shape(api):
    response = api.get("/api/apps/", {"page": "abc"})

    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_list_queries_do_not_grow_with_apps(api, django_assert_max_num_queries):
    AppFactory.create_batch(25)

    with django_assert_max_num_queries(2):
        api.get("/api/apps/")


def test_detail_by_slug(api):
    AppFactory(name="Block Drop", description="Drop blocks.")

    response = api.get("/api/apps/block-drop/")

    assert response.status_code == 200
    assert response.json()["description"] == "Drop blocks."


def test_inactive_or_missing_app_is_a_404_in_the_project_error_shape(api):
    AppFactory(name="Retired", active=False)

    for url in ("/api/apps/retired/", "/api/apps/missing/"):
        response = api.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_api_is_read_only(api):
    AppFactory(name="Block Drop")

    assert api.post("/api/apps/", {"name": "x"}).status_code in (401, 403, 405)
    assert api.delete("/api/apps/block-drop/").status_code in (401, 403, 405)


def test_schema_documents_the_apps_endpoints(api):
    response = api.get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    assert "/api/apps/" in paths
    assert "/api/apps/{slug}/" in paths
    assert any(p["name"] == "category" for p in paths["/api/apps/"]["get"]["parameters"])


def test_the_list_json_is_rendered_once_until_the_catalog_changes(api, monkeypatch, django_capture_on_commit_callbacks):
    from rest_framework.renderers import JSONRenderer

    AppFactory(name="Block Drop")
    renders = []
    original = JSONRenderer.render
    monkeypatch.setattr(
        JSONRenderer, "render", lambda self, *args, **kw: renders.append(1) or original(self, *args, **kw)
    )

    first = api.get("/api/apps/")
    second = api.get("/api/apps/")
    with django_capture_on_commit_callbacks(execute=True):
        AppFactory(name="Sky Racer")
    third = api.get("/api/apps/")

    assert len(renders) == 2
    assert first.content == second.content
    assert (second["Content-Type"], second.json()["count"], third.json()["count"]) == ("application/json", 1, 2)


def test_the_browsable_api_still_renders_the_cached_list(api):
    AppFactory(name="Block Drop")
    api.get("/api/apps/")

    response = api.get("/api/apps/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Block Drop" in response.content.decode()
