import datetime

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backoffice.tests.factories import UserFactory, admin, marketer, moderator
from reporting import services
from reporting.selectors import FIGURES
from reporting.tests.factories import generate_activity

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)
ENDPOINTS = ["/api/reports/summary/", "/api/reports/top-apps/", "/api/reports/daily/"]


@pytest.fixture
def api():
    return APIClient()


def logged_in(api, user):
    api.force_authenticate(user)
    return api


@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_callers_are_refused(api, url):
    response = api.get(url)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_members_are_refused(api, url):
    response = logged_in(api, UserFactory()).get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_moderators_are_refused(api, url):
    assert logged_in(api, moderator()).get(url).status_code == 403


def test_a_non_staff_user_holding_the_permission_is_still_refused(api):
    from django.contrib.auth.models import Permission

    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    assert logged_in(api, user).get(ENDPOINTS[0]).status_code == 403


@pytest.mark.parametrize("url", ENDPOINTS)
def test_marketers_and_admins_get_the_figures(api, url):
    assert logged_in(api, marketer()).get(url).status_code == 200
    assert logged_in(APIClient(), admin()).get(url).status_code == 200


def test_staff_authenticate_with_a_token(api):
    token = Token.objects.create(user=marketer())
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get(ENDPOINTS[0]).status_code == 200


def test_a_wrong_token_is_refused(api):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get(ENDPOINTS[0])
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "authentication_failed"


def test_summary_totals_match_what_happened(api):
    expected = generate_activity(YESTERDAY, scale=1)
    services.rollup_day(day=YESTERDAY)
    data = logged_in(api, marketer()).get(ENDPOINTS[0], {"start": YESTERDAY, "end": TODAY}).json()
    assert data["start"] == YESTERDAY.isoformat()
    assert set(data["totals"]) == set(FIGURES)
    assert data["totals"]["downloads"] == expected["downloads"]
    assert data["totals"]["discount_given"] == f"{expected['discount_given']:.2f}"
    assert [step["count"] for step in data["funnel"]][0] == expected["referral_visits"]
    assert data["queue"]["pending"] == expected["proofs_submitted"] - expected["proofs_reviewed"]


def test_daily_lists_every_day_of_the_range(api):
    data = logged_in(api, marketer()).get(ENDPOINTS[2], {"start": "2026-01-01", "end": "2026-01-31"}).json()
    assert [day["date"] for day in data["days"]] == [f"2026-01-{n:02d}" for n in range(1, 32)]


def test_the_default_range_is_the_last_30_days(api):
    data = logged_in(api, marketer()).get(ENDPOINTS[2]).json()
    assert (data["start"], data["end"], len(data["days"])) == (
        (TODAY - datetime.timedelta(days=29)).isoformat(),
        TODAY.isoformat(),
        30,
    )


def test_top_apps_are_ranked_and_limited(api):
    generate_activity(YESTERDAY, scale=2)
    data = logged_in(api, marketer()).get(ENDPOINTS[1], {"start": YESTERDAY, "end": TODAY, "limit": 2}).json()
    downloads = [row["downloads"] for row in data["by_downloads"]]
    assert len(downloads) == 2
    assert downloads == sorted(downloads, reverse=True)
    assert set(data["by_approved_proofs"][0]) == {
        "app_id",
        "name",
        "downloads",
        "proofs_approved",
        "purchases",
        "credits",
    }


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "end", "is before the start date"),
        ({"start": "2024-01-01", "end": "2026-03-01"}, "end", "choose at most 366"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "start", "Date has wrong format"),
        ({"start": "2026-03-01"}, "end", "Give both start and end"),
        ({"end": "2026-03-01"}, "start", "Give both start and end"),
    ],
)
@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_malformed_range_gets_a_clear_400(api, url, query, field, message):
    response = logged_in(api, marketer()).get(url, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert message in " ".join(error["details"][field])


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_a_bad_top_apps_limit_gets_a_400(api, limit):
    response = logged_in(api, marketer()).get(ENDPOINTS[1], {"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["details"]


def test_the_reports_endpoints_are_documented(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    for url in ENDPOINTS:
        assert url in schema["paths"]
    assert "start" in {p["name"] for p in schema["paths"]["/api/reports/daily/"]["get"]["parameters"]}


def test_a_year_of_daily_figures_costs_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    client = logged_in(api, marketer())
    with django_assert_max_num_queries(45):
        assert (
            client.get(ENDPOINTS[2], {"start": TODAY - datetime.timedelta(days=365), "end": TODAY}).status_code == 200
        )
