"""Approve/reject through fetch(): the same service calls as the forms, answered with the next proof's section."""

import pytest
from django.test import Client

from backoffice.tests.factories import marketer, moderator
from moderation.models import RewardEntry, ScreenshotProof
from moderation.proofs import reject_proof
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db

Status = ScreenshotProof.Status
QUEUE = "/admin/moderation/"


def approve_next(client, proof, query=""):
    return client.post(f"{QUEUE}{proof.pk}/approve/next/{query}", HTTP_ACCEPT="application/json")


@pytest.fixture
def mod(client):
    user = moderator()
    client.force_login(user)
    return user


def test_approving_answers_the_next_proof_section_claimed_for_this_moderator(client, mod):
    first, second = ScreenshotProofFactory(download__app__points_reward=30), ScreenshotProofFactory()
    response = approve_next(client, first)
    answer = response.json()
    assert response.status_code == 200 and answer["ok"] and answer["changed"]
    assert (answer["decided"], answer["current"]) == (first.pk, second.pk)
    assert f'id="current-proof" data-proof="{second.pk}"' in answer["html"]
    assert "<html" not in answer["html"] and answer["url"] == QUEUE
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.APPROVED and RewardEntry.objects.get(kind="earn").amount == 30
    assert second.claimed_by == mod


def test_the_next_proof_follows_the_queue_filters_in_the_query(client, mod):
    first = ScreenshotProofFactory()
    ScreenshotProofFactory()
    wanted = ScreenshotProofFactory(download__user=first.download.user)
    answer = approve_next(client, first, f"?user={first.download.user_id}").json()
    assert answer["current"] == wanted.pk and answer["url"] == f"{QUEUE}?user={first.download.user_id}"


def test_the_last_proof_answers_the_empty_queue(client, mod):
    proof = ScreenshotProofFactory()
    answer = approve_next(client, proof).json()
    assert answer["current"] is None and 'data-testid="queue-empty"' in answer["html"]


def test_rejecting_needs_a_reason_and_keeps_the_proof_shown(client, mod):
    proof = ScreenshotProofFactory()
    response = client.post(f"{QUEUE}{proof.pk}/reject/next/", {"reason": "  "})
    assert response.status_code == 400 and "Give a reason" in response.json()["message"]
    proof.refresh_from_db()
    assert proof.status == Status.PENDING


def test_rejecting_answers_the_next_proof(client, mod):
    first, second = ScreenshotProofFactory(), ScreenshotProofFactory()
    answer = client.post(f"{QUEUE}{first.pk}/reject/next/", {"reason": "Not the app"}).json()
    first.refresh_from_db()
    assert (first.status, first.reason) == (Status.REJECTED, "Not the app")
    assert answer["ok"] and (answer["decided"], answer["current"]) == (first.pk, second.pk)


def test_an_already_decided_proof_gives_a_clear_message_and_the_next_proof(client, mod):
    decided, waiting = ScreenshotProofFactory(), ScreenshotProofFactory()
    reject_proof(proof=decided, moderator=moderator(), reason="Blurry")
    response = approve_next(client, decided)
    answer = response.json()
    assert response.status_code == 200 and not answer["ok"]
    assert answer["message"] == "This proof is rejected; only pending proofs can be approved."
    assert answer["current"] == waiting.pk and not RewardEntry.objects.filter(kind="earn").exists()


def test_an_approved_proof_approved_again_changes_nothing(client, mod):
    proof = ScreenshotProofFactory()
    approve_next(client, proof)
    answer = approve_next(client, proof).json()
    assert answer["ok"] and not answer["changed"] and "already approved" in answer["message"]
    assert RewardEntry.objects.filter(kind="earn").count() == 1


def test_non_moderators_get_403_and_nothing_changes(client):
    proof = ScreenshotProofFactory()
    client.force_login(marketer())
    assert approve_next(client, proof).status_code == 403
    assert client.post(f"{QUEUE}{proof.pk}/reject/next/", {"reason": "x"}).status_code == 403
    proof.refresh_from_db()
    assert proof.status == Status.PENDING


def test_a_post_without_the_csrf_token_is_refused():
    proof = ScreenshotProofFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator())
    assert approve_next(client, proof).status_code == 403
    proof.refresh_from_db()
    assert proof.status == Status.PENDING


def test_a_get_is_refused(client, mod):
    proof = ScreenshotProofFactory()
    assert client.get(f"{QUEUE}{proof.pk}/approve/next/").status_code == 405


def test_the_answer_runs_a_bounded_number_of_queries(client, mod, django_assert_max_num_queries):
    proofs = ScreenshotProofFactory.create_batch(3)
    with django_assert_max_num_queries(30) as few:
        approve_next(client, proofs[0])
    ScreenshotProofFactory.create_batch(20, download__user=proofs[1].download.user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert approve_next(client, proofs[1]).json()["ok"]
