import csv
import io

import pytest
from django.urls import reverse
from wagtail import hooks

from backoffice.tests.factories import UserFactory, admin, marketer, moderator
from moderation.models import RewardEntry, ScreenshotProof
from moderation.proofs import approve_proof
from moderation.selectors import queue_counts
from moderation.tests.factories import DownloadFactory, ScreenshotProofFactory

pytestmark = pytest.mark.django_db

Status = ScreenshotProof.Status
QUEUE = "/admin/moderation/"


@pytest.fixture
def mod_client(client):
    client.force_login(moderator())
    return client


def test_the_queue_shows_the_oldest_pending_proof_large_with_its_app_and_user(mod_client):
    proof = ScreenshotProofFactory(download__app__name="Chess Pro")
    ScreenshotProofFactory()
    response = mod_client.get(QUEUE)
    assert response.status_code == 200
    assert response.context["current"] == proof
    body = response.content.decode()
    assert "Chess Pro" in body and proof.download.user.email in body and proof.image.url in body


def test_the_queue_renders_in_a_constant_number_of_queries(mod_client, django_assert_max_num_queries):
    ScreenshotProofFactory.create_batch(3)
    with django_assert_max_num_queries(25) as few:
        mod_client.get(QUEUE)
    ScreenshotProofFactory.create_batch(30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = mod_client.get(QUEUE)
    assert len(response.context["pending"]) == 33


def test_marketers_and_members_cannot_open_the_queue(client):
    client.force_login(marketer())
    assert client.get(QUEUE).status_code in (302, 403)
    client.force_login(UserFactory())
    assert client.get(QUEUE).status_code in (302, 403)


def test_two_moderators_see_different_proofs(client):
    first, second = ScreenshotProofFactory(), ScreenshotProofFactory()
    client.force_login(moderator())
    assert client.get(QUEUE).context["current"] == first
    client.force_login(moderator())
    assert client.get(QUEUE).context["current"] == second


def test_approving_from_the_queue_credits_and_goes_straight_to_the_next(mod_client):
    proof, following = ScreenshotProofFactory(download__app__points_reward=30), ScreenshotProofFactory()
    response = mod_client.post(reverse("moderation_approve", args=[proof.pk]), {"next": QUEUE}, follow=True)
    proof.refresh_from_db()
    assert proof.status == Status.APPROVED
    assert response.context["current"] == following


def test_rejecting_needs_a_reason(mod_client):
    proof = ScreenshotProofFactory()
    mod_client.post(reverse("moderation_reject", args=[proof.pk]), {"reason": "  "})
    proof.refresh_from_db()
    assert proof.status == Status.PENDING
    mod_client.post(reverse("moderation_reject", args=[proof.pk]), {"reason": "cropped"})
    proof.refresh_from_db()
    assert (proof.status, proof.reason) == (Status.REJECTED, "cropped")


def test_an_open_redirect_in_next_is_ignored(mod_client):
    proof = ScreenshotProofFactory()
    response = mod_client.post(reverse("moderation_approve", args=[proof.pk]), {"next": "https://evil.test/"})
    assert response.url == QUEUE


def test_a_moderator_may_not_invalidate_403(mod_client):
    proof = ScreenshotProofFactory()
    approve_proof(proof=proof, moderator=moderator())
    response = mod_client.post(reverse("moderation_invalidate", args=[proof.pk]), {"reason": "fraud"})
    proof.refresh_from_db()
    assert response.status_code == 403
    assert proof.status == Status.APPROVED


def test_an_admin_invalidates_from_the_proof_page_and_it_shows_in_the_audit_report(client):
    proof, boss = ScreenshotProofFactory(download__app__points_reward=25), admin()
    approve_proof(proof=proof, moderator=moderator())
    client.force_login(boss)
    client.post(reverse("moderation_invalidate", args=[proof.pk]), {"reason": "fake screenshot"})
    proof.refresh_from_db()
    assert proof.status == Status.INVALIDATED
    report = client.get(reverse("moderation_invalidations")).content.decode()
    assert "fake screenshot" in report and boss.email in report and "-25" in report


def test_invalidating_without_a_reason_changes_nothing(client):
    proof = ScreenshotProofFactory()
    approve_proof(proof=proof, moderator=moderator())
    client.force_login(admin())
    client.post(reverse("moderation_invalidate", args=[proof.pk]), {"reason": ""})
    proof.refresh_from_db()
    assert proof.status == Status.APPROVED


def test_invalidation_below_zero_needs_the_explicit_tick(client):
    proof = ScreenshotProofFactory(download__app__points_reward=25)
    approve_proof(proof=proof, moderator=moderator())
    from moderation.ledger import post_entry

    post_entry(user=proof.download.user, amount=-20, kind=RewardEntry.Kind.ADJUST, reason="spent")
    client.force_login(admin())
    url = reverse("moderation_invalidate", args=[proof.pk])
    client.post(url, {"reason": "fraud"})
    proof.refresh_from_db()
    assert proof.status == Status.APPROVED
    client.post(url, {"reason": "fraud", "allow_negative": "on"})
    proof.refresh_from_db()
    proof.download.user.refresh_from_db()
    assert (proof.status, proof.download.user.points_balance) == (Status.INVALIDATED, -20)


def test_the_audit_report_is_for_admins_only(mod_client):
    assert mod_client.get(reverse("moderation_invalidations")).status_code == 403


def test_bulk_approve_of_a_selection(mod_client):
    chosen, left = ScreenshotProofFactory.create_batch(2), ScreenshotProofFactory()
    mod_client.post(reverse("moderation_bulk"), {"action": "approve", "proofs": [p.pk for p in chosen]})
    assert set(ScreenshotProof.objects.filter(status=Status.APPROVED)) == set(chosen)
    left.refresh_from_db()
    assert left.status == Status.PENDING


@pytest.mark.parametrize(
    "data",
    [
        {"action": "reject", "proofs": ["1"]},
        {"action": "delete", "proofs": ["1"]},
        {"action": "approve"},
        {"action": "approve", "proofs": ["x"]},
    ],
)
def test_bad_bulk_requests_change_nothing(mod_client, data):
    proof = ScreenshotProofFactory()
    data = {**data, "proofs": [str(proof.pk) if v == "1" else v for v in data.get("proofs", [])]}
    mod_client.post(reverse("moderation_bulk"), data)
    proof.refresh_from_db()
    assert proof.status == Status.PENDING


def test_bulk_reject_with_a_reason(mod_client):
    proofs = ScreenshotProofFactory.create_batch(2)
    mod_client.post(
        reverse("moderation_bulk"), {"action": "reject", "reason": "spam", "proofs": [p.pk for p in proofs]}
    )
    assert ScreenshotProof.objects.filter(status=Status.REJECTED, reason="spam").count() == 2


def test_filters_narrow_the_queue_to_one_app(mod_client):
    ScreenshotProofFactory()
    wanted = ScreenshotProofFactory()
    response = mod_client.get(QUEUE, {"app": wanted.download.app_id})
    assert response.context["current"] == wanted
    assert list(response.context["pending"]) == [wanted]


def test_filters_by_user_email(mod_client):
    ScreenshotProofFactory()
    wanted = ScreenshotProofFactory(download__user__email="needle@example.test")
    assert list(mod_client.get(QUEUE, {"user": "needle"}).context["pending"]) == [wanted]


def test_an_invalid_filter_is_ignored_not_an_error(mod_client):
    ScreenshotProofFactory()
    assert mod_client.get(QUEUE, {"app": "not-a-number", "age": "forever"}).status_code == 200


def test_the_queue_counts_pending_and_done_today(mod_client):
    ScreenshotProofFactory.create_batch(2)
    approve_proof(proof=ScreenshotProofFactory(), moderator=moderator())
    counts = mod_client.get(QUEUE).context["counts"]
    assert (counts["pending"], counts["done_today"], counts["done_today_by_me"]) == (2, 1, 0)


def test_the_team_count_is_shared_briefly_while_the_moderators_own_is_exact(settings):
    settings.MODERATION_TEAM_COUNT_CACHE_SECONDS = 30
    me = moderator()
    assert queue_counts(me)["done_today"] == 0
    approve_proof(proof=ScreenshotProofFactory(), moderator=me)
    counts = queue_counts(me)
    assert (counts["done_today"], counts["done_today_by_me"]) == (0, 1)


def test_skip_gives_the_next_proof(mod_client):
    first, second = ScreenshotProofFactory(), ScreenshotProofFactory()
    assert mod_client.get(QUEUE).context["current"] == first
    response = mod_client.post(reverse("moderation_skip", args=[first.pk]), follow=True)
    assert response.context["current"] == second


def test_user_history_lists_downloads_proofs_ledger_and_hooked_sections(mod_client):
    proof = ScreenshotProofFactory(download__app__name="Maps")
    approve_proof(proof=proof, moderator=moderator())

    def referrals(user):
        return {"title": "Referrals", "columns": ["Referred"], "rows": [["friend@example.test"]]}

    with hooks.register_temporarily("moderation_user_history_sections", referrals):
        body = mod_client.get(reverse("moderation_user_history", args=[proof.download.user_id])).content.decode()
    assert "Maps" in body and "Earned" in body and "friend@example.test" in body


def test_downloads_by_app_exports_csv_with_formulas_neutralised(mod_client):
    download = DownloadFactory(user__first_name="=cmd()")
    DownloadFactory()
    response = mod_client.get(reverse("moderation_app_downloads"), {"app": download.app_id, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["user_id", "email"]
    assert len(rows) == 2
    assert rows[1][1] == download.user.email and rows[1][2].startswith("'=")


def test_downloads_by_app_page_lists_the_users(mod_client, django_assert_max_num_queries):
    download = DownloadFactory()
    DownloadFactory.create_batch(5, app=download.app)
    with django_assert_max_num_queries(20):
        response = mod_client.get(reverse("moderation_app_downloads"), {"app": download.app_id})
    assert download.user.email in response.content.decode()


def test_downloads_by_app_for_an_unknown_app_is_404(mod_client):
    assert mod_client.get(reverse("moderation_app_downloads"), {"app": "999999"}).status_code == 404


def test_proof_detail_shows_history(mod_client):
    proof = ScreenshotProofFactory()
    approve_proof(proof=proof, moderator=moderator())
    body = mod_client.get(reverse("moderation_proof", args=[proof.pk])).content.decode()
    assert "Approved" in body


def test_get_on_an_action_url_is_refused(mod_client):
    proof = ScreenshotProofFactory()
    assert mod_client.get(reverse("moderation_approve", args=[proof.pk])).status_code == 405


def test_all_proofs_filters_by_status_in_few_queries(mod_client, django_assert_max_num_queries):
    approved = ScreenshotProofFactory()
    approve_proof(proof=approved, moderator=moderator())
    ScreenshotProofFactory.create_batch(5)
    with django_assert_max_num_queries(20):
        response = mod_client.get(reverse("moderation_proofs"), {"status": "approved"})
    assert list(response.context["page"]) == [approved]


def test_marketers_cannot_list_proofs(client):
    client.force_login(marketer())
    assert client.get(reverse("moderation_proofs")).status_code == 403


@pytest.mark.parametrize("url_name", ["moderation_queue", "moderation_proofs"])
def test_the_app_filter_offers_any_app_not_dashes(mod_client, url_name):
    body = mod_client.get(reverse(url_name)).content.decode()
    assert '<option value="" selected>Any app</option>' in body
    assert "---------" not in body
