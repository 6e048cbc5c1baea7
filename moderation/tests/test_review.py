from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, connection
from django.http import Http404
from django.utils import timezone

from backoffice import events
from backoffice.models import Delivery, Notification
from backoffice.testing import wire
from backoffice.testing.concurrency import run_in_threads
from backoffice.tests.factories import UserFactory, admin, marketer, moderator
from moderation import proofs
from moderation.claims import claim_next_proof, expire_claims, release_claim
from moderation.ledger import InsufficientPoints, post_entry
from moderation.models import RewardEntry, ScreenshotProof
from moderation.proofs import (
    MODERATE_PERM,
    ModerationRefused,
    approve_proof,
    bulk_approve,
    bulk_reject,
    invalidate_reward,
    reject_proof,
)
from moderation.selectors import proof_for_user
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db

Status = ScreenshotProof.Status


def status_now(proof):
    return ScreenshotProof.objects.values_list("status", flat=True).get(pk=proof.pk)


def balance(proof):
    user = proof.download.user
    user.refresh_from_db()
    return user.points_balance


def test_approving_a_pending_proof_credits_the_apps_points_and_records_the_reviewer():
    proof, mod = ScreenshotProofFactory(download__app__points_reward=120), moderator()
    _, changed = approve_proof(proof=proof, moderator=mod)
    proof.refresh_from_db()
    assert changed
    assert (proof.status, proof.reviewer, balance(proof)) == (Status.APPROVED, mod, 120)
    assert proof.reviewed_at is not None


def test_approving_twice_credits_once():
    proof, mod = ScreenshotProofFactory(download__app__points_reward=50), moderator()
    approve_proof(proof=proof, moderator=mod)
    _, changed = approve_proof(proof=proof, moderator=moderator())
    assert not changed
    assert balance(proof) == 50
    assert RewardEntry.objects.count() == 1


def test_approving_a_rejected_proof_is_refused():
    proof = ScreenshotProofFactory(status=Status.REJECTED)
    with pytest.raises(ModerationRefused):
        approve_proof(proof=proof, moderator=moderator())
    assert RewardEntry.objects.count() == 0


def test_rejecting_a_pending_proof_credits_nothing_and_keeps_the_reason():
    proof = ScreenshotProofFactory()
    reject_proof(proof=proof, moderator=moderator(), reason="  Blurry screenshot ")
    proof.refresh_from_db()
    assert (proof.status, proof.reason, balance(proof)) == (Status.REJECTED, "Blurry screenshot", 0)
    assert RewardEntry.objects.count() == 0


@pytest.mark.parametrize("reason", ["", "   ", None, 42, "x" * 1001])
def test_rejecting_without_a_usable_reason_is_refused(reason):
    proof = ScreenshotProofFactory()
    with pytest.raises(ValidationError):
        reject_proof(proof=proof, moderator=moderator(), reason=reason)
    assert status_now(proof) == Status.PENDING


def test_rejecting_an_approved_proof_reverses_the_credit_once():
    proof, boss = ScreenshotProofFactory(download__app__points_reward=80), admin()
    approve_proof(proof=proof, moderator=moderator())
    reject_proof(proof=proof, moderator=boss, reason="duplicate account")
    reject_proof(proof=proof, moderator=boss, reason="duplicate account")
    reversal = RewardEntry.objects.get(kind=RewardEntry.Kind.INVALIDATE)
    assert (reversal.amount, reversal.actor, reversal.reason) == (-80, boss, "duplicate account")
    assert balance(proof) == 0
    assert RewardEntry.objects.count() == 2


def test_a_moderator_cannot_take_back_an_approved_reward_by_rejecting_it():
    proof = ScreenshotProofFactory()
    approve_proof(proof=proof, moderator=moderator())
    with pytest.raises(PermissionDenied):
        reject_proof(proof=proof, moderator=moderator(), reason="changed my mind")
    assert status_now(proof) == Status.APPROVED


@pytest.mark.parametrize("who", [marketer, UserFactory, lambda: None])
def test_only_moderators_may_approve_or_reject(who):
    proof = ScreenshotProofFactory()
    with pytest.raises(PermissionDenied):
        approve_proof(proof=proof, moderator=who())
    with pytest.raises(PermissionDenied):
        reject_proof(proof=proof, moderator=who(), reason="no")
    assert status_now(proof) == Status.PENDING


def test_invalidating_a_reward_posts_a_reversing_entry_with_actor_and_reason_and_deletes_nothing():
    proof, boss = ScreenshotProofFactory(download__app__points_reward=70), admin()
    approve_proof(proof=proof, moderator=moderator())
    invalidate_reward(proof=proof, actor=boss, reason="fake screenshot")
    proof.refresh_from_db()
    entries = list(RewardEntry.objects.order_by("id").values_list("kind", "amount", "actor", "reason"))
    assert entries == [("earn", 70, entries[0][2], ""), ("invalidate", -70, boss.pk, "fake screenshot")]
    assert (proof.status, proof.reason, balance(proof)) == (Status.INVALIDATED, "fake screenshot", 0)


def test_invalidation_appears_in_the_proofs_history_with_the_admin():
    proof, boss = ScreenshotProofFactory(), admin()
    approve_proof(proof=proof, moderator=moderator())
    invalidate_reward(proof=proof, actor=boss, reason="fraud")
    latest = proof.history.order_by("-history_date", "-history_id").first()
    assert (latest.status, latest.history_user) == (Status.INVALIDATED, boss)
    assert [h.status for h in proof.history.order_by("history_date", "history_id")] == [
        Status.PENDING,
        Status.APPROVED,
        Status.INVALIDATED,
    ]


def test_approval_is_in_history_with_the_moderator():
    proof, mod = ScreenshotProofFactory(), moderator()
    approve_proof(proof=proof, moderator=mod)
    assert proof.history.order_by("-history_date", "-history_id").first().history_user == mod


# The proof with its history row, the plan multiplier, the ledger line with the balance, the notification, the email.
APPROVAL_STATEMENTS = 5


def test_an_approval_runs_five_statements(on_postgres, django_assert_max_num_queries):
    proof, mod = ScreenshotProofFactory(), moderator()
    mod.has_perm(MODERATE_PERM)  # a request loads the moderator's permissions once, before approving
    ContentType.objects.get_for_model(ScreenshotProof)  # cached for the process's life
    approve_proof(proof=ScreenshotProofFactory(), moderator=mod)  # this session prepares the approval statement
    # +2: the test's own transaction turns approve_proof's BEGIN/COMMIT into SAVEPOINT/RELEASE.
    with django_assert_max_num_queries(APPROVAL_STATEMENTS + 2):
        _, changed = approve_proof(proof=proof, moderator=mod)
    assert changed
    assert proof.history.order_by("-history_id").first().status == Status.APPROVED


@pytest.mark.django_db(transaction=True)
def test_an_approval_is_four_round_trips_begin_and_commit_included(on_postgres):
    mod = moderator()
    mod.has_perm(MODERATE_PERM)
    approve_proof(proof=ScreenshotProofFactory(), moderator=mod)  # this session prepares the approval statement
    proof = ScreenshotProofFactory()
    with wire.traced() as sent:
        approve_proof(proof=proof, moderator=mod)
    committed = next(i for i, query in enumerate(sent.queries) if query.endswith("COMMIT")) + 1
    transaction = sent.queries[:committed]  # what follows is the email's sending, after the commit
    assert len(transaction) <= 4  # the approval, the plan multiplier (when not cached), the ledger, the notification
    assert transaction[0].startswith("BEGIN;\nEXECUTE moderation_approve_proof(")
    assert "backoffice_notification" in transaction[-1] and transaction[-1].endswith(";\nCOMMIT")
    assert status_now(proof) == Status.APPROVED


@pytest.mark.django_db(transaction=True)
def test_an_approval_whose_commit_travels_with_its_notification_still_runs_what_follows_the_commit(
    on_postgres, monkeypatch
):
    delivered = []
    monkeypatch.setattr(events, "deliver", lambda event, payload: delivered.append((event, payload["id"])))
    proof = ScreenshotProofFactory()
    approve_proof(proof=proof, moderator=moderator())
    assert delivered == [("proof.approved", proof.pk)]
    assert Delivery.objects.filter(subject__contains="was approved").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_approval_whose_notification_fails_commits_nothing(on_postgres, monkeypatch):
    def failing_notification(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(proofs, "notify_user", failing_notification)
    proof = ScreenshotProofFactory(download__app__points_reward=40)
    with pytest.raises(DataError):
        approve_proof(proof=proof, moderator=moderator())
    assert status_now(proof) == Status.PENDING
    assert balance(proof) == 0 and not RewardEntry.objects.exists()


def test_an_approval_on_a_session_that_dropped_its_statements_is_redone(on_postgres):
    mod = moderator()
    approve_proof(proof=ScreenshotProofFactory(), moderator=mod)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler resetting its sessions does
    proof = ScreenshotProofFactory(download__app__points_reward=40)
    _, changed = approve_proof(proof=proof, moderator=mod)
    assert changed and status_now(proof) == Status.APPROVED
    assert balance(proof) == 40  # credited once


def test_invalidating_twice_reverses_once():
    proof, boss = ScreenshotProofFactory(download__app__points_reward=70), admin()
    approve_proof(proof=proof, moderator=moderator())
    invalidate_reward(proof=proof, actor=boss, reason="fraud")
    _, changed = invalidate_reward(proof=proof, actor=boss, reason="fraud")
    assert not changed
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.INVALIDATE).count() == 1


def test_a_moderator_trying_to_invalidate_is_refused():
    proof = ScreenshotProofFactory()
    approve_proof(proof=proof, moderator=moderator())
    with pytest.raises(PermissionDenied):
        invalidate_reward(proof=proof, actor=moderator(), reason="fraud")
    assert balance(proof) == proof.download.app.points_reward


def test_invalidating_a_pending_proof_is_refused():
    with pytest.raises(ModerationRefused):
        invalidate_reward(proof=ScreenshotProofFactory(), actor=admin(), reason="fraud")


@pytest.mark.parametrize("reason", ["", "  ", None])
def test_invalidating_without_a_reason_is_refused(reason):
    proof = ScreenshotProofFactory()
    approve_proof(proof=proof, moderator=moderator())
    with pytest.raises(ValidationError):
        invalidate_reward(proof=proof, actor=admin(), reason=reason)
    assert balance(proof) == proof.download.app.points_reward


def spend(proof, points):
    post_entry(user=proof.download.user, amount=-points, kind=RewardEntry.Kind.ADJUST, reason="spent")


def test_invalidation_that_would_go_below_zero_is_refused_by_default():
    proof = ScreenshotProofFactory(download__app__points_reward=100)
    approve_proof(proof=proof, moderator=moderator())
    spend(proof, 60)
    with pytest.raises(InsufficientPoints):
        invalidate_reward(proof=proof, actor=admin(), reason="fraud")
    proof.refresh_from_db()
    assert (proof.status, balance(proof)) == (Status.APPROVED, 40)


def test_an_admin_may_explicitly_allow_invalidation_below_zero():
    proof = ScreenshotProofFactory(download__app__points_reward=100)
    approve_proof(proof=proof, moderator=moderator())
    spend(proof, 60)
    invalidate_reward(proof=proof, actor=admin(), reason="fraud", allow_negative=True)
    assert balance(proof) == -60


def test_the_user_is_notified_in_app_and_by_email_of_each_decision(django_capture_on_commit_callbacks):
    approved, rejected = ScreenshotProofFactory(), ScreenshotProofFactory()
    with django_capture_on_commit_callbacks(execute=True):
        approve_proof(proof=approved, moderator=moderator())
        reject_proof(proof=rejected, moderator=moderator(), reason="wrong app")
        invalidate_reward(proof=approved, actor=admin(), reason="fraud")
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 3
    assert "approved" in subjects[0] and "rejected" in subjects[1] and "withdrawn" in subjects[2]
    assert "wrong app" in mail.outbox[1].body
    assert mail.outbox[0].to == [approved.download.user.email]
    assert Notification.objects.filter(user=approved.download.user).count() == 2


def test_a_refused_action_notifies_nobody():
    with pytest.raises(ModerationRefused):
        approve_proof(proof=ScreenshotProofFactory(status=Status.REJECTED), moderator=moderator())
    assert Notification.objects.count() == 0


def test_bulk_approve_credits_each_selected_pending_proof_once():
    pending = ScreenshotProofFactory.create_batch(3, download__app__points_reward=10)
    rejected = ScreenshotProofFactory(status=Status.REJECTED)
    done, skipped = bulk_approve(
        proof_ids=[p.pk for p in pending] + [rejected.pk, pending[0].pk], moderator=moderator()
    )
    assert sorted(done) == sorted(p.pk for p in pending)
    assert skipped == [rejected.pk]
    assert [balance(p) for p in pending] == [10, 10, 10]


def test_bulk_reject_needs_a_reason_and_rejects_the_selection():
    proofs = ScreenshotProofFactory.create_batch(2)
    with pytest.raises(ValidationError):
        bulk_reject(proof_ids=[p.pk for p in proofs], moderator=moderator(), reason="")
    done, _ = bulk_reject(proof_ids=[p.pk for p in proofs], moderator=moderator(), reason="spam")
    assert ScreenshotProof.objects.filter(status=Status.REJECTED).count() == 2 == len(done)


def test_bulk_actions_are_refused_to_non_moderators():
    with pytest.raises(PermissionDenied):
        bulk_approve(proof_ids=[ScreenshotProofFactory().pk], moderator=marketer())


# --- claims -------------------------------------------------------------------------------------------------


def test_claiming_gives_the_oldest_pending_proof():
    older = ScreenshotProofFactory()
    ScreenshotProofFactory()
    ScreenshotProof.objects.filter(pk=older.pk).update(submitted_at=timezone.now() - timedelta(days=1))
    assert claim_next_proof(moderator=moderator()) == older


def test_two_moderators_are_given_different_proofs():
    first, second = ScreenshotProofFactory(), ScreenshotProofFactory()
    assert claim_next_proof(moderator=moderator()) == first
    assert claim_next_proof(moderator=moderator()) == second


def test_a_moderator_keeps_their_claim_until_they_decide():
    first, _ = ScreenshotProofFactory(), ScreenshotProofFactory()
    mod = moderator()
    assert claim_next_proof(moderator=mod) == first
    assert claim_next_proof(moderator=mod) == first
    approve_proof(proof=first, moderator=mod)
    assert claim_next_proof(moderator=mod) != first


def test_an_expired_claim_can_be_taken_by_another_moderator():
    proof = ScreenshotProofFactory()
    claim_next_proof(moderator=moderator())
    ScreenshotProof.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert claim_next_proof(moderator=moderator()) == proof


def test_an_empty_queue_claims_nothing():
    ScreenshotProofFactory(status=Status.APPROVED)
    assert claim_next_proof(moderator=moderator()) is None


def test_released_proofs_return_to_the_queue():
    proof, mod = ScreenshotProofFactory(), moderator()
    claim_next_proof(moderator=mod)
    assert release_claim(proof=proof, moderator=mod) == 1
    assert claim_next_proof(moderator=moderator()) == proof


def test_a_moderator_cannot_release_someone_elses_claim():
    proof = ScreenshotProofFactory()
    claim_next_proof(moderator=moderator())
    assert release_claim(proof=proof, moderator=moderator()) == 0


def test_expire_claims_frees_only_claims_whose_time_ran_out():
    stale, live = ScreenshotProofFactory(), ScreenshotProofFactory()
    claim_next_proof(moderator=moderator())
    claim_next_proof(moderator=moderator())
    ScreenshotProof.objects.filter(pk=stale.pk).update(claimed_until=timezone.now() - timedelta(minutes=1))
    assert expire_claims() == 1
    live.refresh_from_db()
    assert live.claimed_by is not None


def test_the_expire_claims_task_runs_the_service():
    from moderation.tasks import expire_claims as task

    ScreenshotProofFactory()
    claim_next_proof(moderator=moderator())
    ScreenshotProof.objects.update(claimed_until=timezone.now() - timedelta(minutes=1))
    assert task.delay().get() == 1


def test_claims_do_not_write_history_rows():
    proof = ScreenshotProofFactory()
    claim_next_proof(moderator=moderator())
    assert proof.history.count() == 1


def test_claim_filters_by_app():
    ScreenshotProofFactory()
    wanted = ScreenshotProofFactory()
    assert claim_next_proof(moderator=moderator(), filters={"download__app": wanted.download.app}) == wanted


# --- proof_for_user ---------------------------------------------------------------------------------------


def test_a_user_gets_their_own_proof():
    proof = ScreenshotProofFactory()
    assert proof_for_user(proof.download.user, proof.pk) == proof


def test_another_users_proof_is_a_404():
    proof = ScreenshotProofFactory()
    with pytest.raises(Http404):
        proof_for_user(UserFactory(), proof.pk)


def test_an_anonymous_visitor_gets_a_404_for_any_proof():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        proof_for_user(AnonymousUser(), ScreenshotProofFactory().pk)


# --- races (PostgreSQL) -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_approvals_of_one_proof_credit_once(on_postgres):
    proof = ScreenshotProofFactory(download__app__points_reward=100)
    mods = [moderator() for _ in range(20)]

    _, errors = run_in_threads(
        20, lambda n: approve_proof(proof=ScreenshotProof.objects.get(pk=proof.pk), moderator=mods[n])
    )
    assert errors == []
    assert balance(proof) == 100
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.EARN).count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_approve_and_invalidate_end_consistent(on_postgres):
    proof, mod, boss = ScreenshotProofFactory(download__app__points_reward=40), moderator(), admin()
    actions = [
        lambda: approve_proof(proof=ScreenshotProof.objects.get(pk=proof.pk), moderator=mod),
        lambda: invalidate_reward(proof=ScreenshotProof.objects.get(pk=proof.pk), actor=boss, reason="fraud"),
    ]

    _, errors = run_in_threads(2, lambda n: actions[n]())
    proof.refresh_from_db()
    assert all(isinstance(e, ModerationRefused) for e in errors)
    expected = {Status.APPROVED: 40, Status.INVALIDATED: 0}
    assert balance(proof) == expected[proof.status]
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.INVALIDATE).count() == (proof.status == Status.INVALIDATED)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_give_each_moderator_a_different_proof(on_postgres):
    ScreenshotProofFactory.create_batch(5)
    mods = [moderator() for _ in range(5)]

    claimed, errors = run_in_threads(5, lambda n: claim_next_proof(moderator=mods[n]))

    assert errors == []
    assert None not in claimed
    assert len({p.pk for p in claimed}) == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_invalidations_and_rejections_of_an_approved_proof_reverse_once(on_postgres):
    proof = ScreenshotProofFactory(download__app__points_reward=40)
    approve_proof(proof=proof, moderator=moderator())
    admins = [admin() for _ in range(6)]

    def take_back(n):
        fresh = ScreenshotProof.objects.get(pk=proof.pk)
        if n % 2:
            invalidate_reward(proof=fresh, actor=admins[n], reason="fraud")
        else:
            reject_proof(proof=fresh, moderator=admins[n], reason="fraud")

    _, errors = run_in_threads(6, take_back)
    proof.refresh_from_db()
    assert all(isinstance(e, ModerationRefused) for e in errors)
    assert proof.status in (Status.INVALIDATED, Status.REJECTED)
    assert balance(proof) == 0
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.INVALIDATE).count() == 1
