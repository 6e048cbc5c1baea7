"""Public pages and API lists are cached for everyone who sees the same thing; a write shows at once."""

import pytest
from django.urls import reverse

from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory, CategoryFactory
from growth import referrals
from growth.models import Referral

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/apps/", "/leaderboard/"])
def test_an_anonymous_page_is_served_from_the_cache_without_a_query(client, path, django_assert_num_queries):
    AppFactory(name="Cached App")
    first = client.get(path)
    with django_assert_num_queries(0):
        again = client.get(path)
    assert again.status_code == 200 and again.content == first.content
    assert "Cookie" in again["Vary"]


@pytest.mark.parametrize("path", ["/", "/apps/", "/api/apps/"])
def test_renaming_an_app_shows_on_the_next_visit(client, committed, path):
    app = AppFactory(name="Old Name")
    assert "Old Name" in client.get(path).content.decode()
    app.name = "New Name"
    committed(app.save)
    body = client.get(path).content.decode()
    assert "New Name" in body and "Old Name" not in body


@pytest.mark.parametrize("path", ["/", "/apps/", "/api/apps/"])
def test_a_deactivated_or_deleted_app_leaves_the_lists_at_once(client, committed, path):
    hidden, deleted = AppFactory(name="Soon Hidden"), AppFactory(name="Soon Deleted")
    assert "Soon Hidden" in client.get(path).content.decode()
    committed(_deactivated(hidden).save)
    committed(deleted.delete)
    body = client.get(path).content.decode()
    assert "Soon Hidden" not in body and "Soon Deleted" not in body


def _deactivated(app):
    app.active = False
    return app


def test_a_renamed_category_shows_in_the_filter(client, committed):
    category = CategoryFactory(name="Old Category")
    AppFactory(category=category)
    assert "Old Category" in client.get("/apps/").content.decode()
    category.name = "New Category"
    committed(category.save)
    assert "New Category" in client.get("/apps/").content.decode()


def test_each_filter_and_page_is_cached_apart(client):
    games, tools = CategoryFactory(name="Games", slug="games"), CategoryFactory(name="Tools", slug="tools")
    AppFactory(name="A Game", category=games)
    AppFactory(name="A Tool", category=tools)
    client.get("/apps/")
    games_page = client.get("/apps/", {"category": "games"}).content.decode()
    tools_page = client.get("/apps/", {"category": "tools"}).content.decode()
    assert "A Game" in games_page and "A Tool" not in games_page
    assert "A Tool" in tools_page and "A Game" not in tools_page
    api = client.get("/api/apps/", {"category": "tools"}).json()
    assert [app["name"] for app in api["results"]] == ["A Tool"]


def test_a_member_gets_their_own_page_and_never_leaves_it_in_the_anonymous_cache(client):
    member = UserFactory(email="someone@example.com")
    anonymous = client.get("/").content.decode()
    client.force_login(member)
    assert "someone@example.com" in client.get("/").content.decode()
    client.logout()
    client.cookies.clear()
    assert client.get("/").content.decode() == anonymous


def test_a_visitor_with_a_pending_message_is_not_served_the_shared_page(client):
    client.get("/r/no-such-code/")  # queues "This referral link is not valid" in the messages cookie
    assert "referral link is not valid" in client.get("/apps/").content.decode()
    client.cookies.clear()
    assert "referral link is not valid" not in client.get("/apps/").content.decode()


def credit(referrer):
    return referrals.credit_referral(
        referral=Referral.objects.create(referrer=referrer, referred=UserFactory(verified=True))
    )


def test_a_referral_credit_shows_on_the_cached_anonymous_leaderboard(client, committed):
    leader = UserFactory(verified=True, display_name="Leader")
    committed(
        lambda: referrals.credit_referral(
            referral=Referral.objects.create(referrer=leader, referred=UserFactory(verified=True))
        )
    )
    assert "Leader" in client.get("/leaderboard/").content.decode()
    chaser = UserFactory(verified=True, display_name="Chaser")
    committed(
        lambda: referrals.credit_referral(
            referral=Referral.objects.create(referrer=chaser, referred=UserFactory(verified=True))
        )
    )
    assert "Chaser" in client.get("/leaderboard/").content.decode()


def test_a_bad_api_filter_is_a_400_and_is_not_cached(client):
    assert client.get("/api/apps/", {"category": "nope"}).status_code == 400
    CategoryFactory(slug="nope")
    assert client.get("/api/apps/", {"category": "nope"}).status_code == 200


# --- query counts stay flat however many apps and members (N+1 guards) -------------------------------------


@pytest.mark.parametrize("path", ["/", "/apps/", "/api/apps/", reverse("leaderboard")])
def test_a_member_page_costs_a_few_queries_whatever_the_number_of_apps(client, path, django_assert_max_num_queries):
    categories = CategoryFactory.create_batch(3)
    for index in range(30):
        AppFactory(category=categories[index % 3])
    client.force_login(UserFactory(verified=True))
    with django_assert_max_num_queries(12):
        assert client.get(path).status_code == 200
    with django_assert_max_num_queries(8):  # the shared lists now come from the cache
        assert client.get(path).status_code == 200


def test_an_uncached_anonymous_app_list_is_a_few_queries(client, settings, django_assert_max_num_queries):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    for _ in range(30):
        AppFactory()
    with django_assert_max_num_queries(4):
        assert client.get("/apps/").status_code == 200
