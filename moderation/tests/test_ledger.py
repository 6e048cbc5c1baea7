import pytest
from django.core.management import call_command

from backoffice.testing.concurrency import run_in_threads
from backoffice.tests.factories import UserFactory
from moderation.ledger import InsufficientPoints, post_entry
from moderation.models import RewardEntry
from moderation.selectors import users_with_unbalanced_ledger
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db

EARN = RewardEntry.Kind.EARN


def test_an_entry_moves_the_balance_by_its_amount():
    user = UserFactory()
    entry, created = post_entry(user=user, amount=150, kind=EARN, source=ScreenshotProofFactory())
    user.refresh_from_db()
    assert created
    assert (user.points_balance, entry.balance_after) == (150, 150)


def test_posting_the_same_credit_for_the_same_source_twice_credits_once():
    user, proof = UserFactory(), ScreenshotProofFactory()
    first, _ = post_entry(user=user, amount=100, kind=EARN, source=proof)
    second, created = post_entry(user=user, amount=100, kind=EARN, source=proof)
    user.refresh_from_db()
    assert (second, created, user.points_balance) == (first, False, 100)


def test_manual_adjustments_are_never_deduplicated():
    user, admin = UserFactory(), UserFactory(is_staff=True)
    post_entry(user=user, amount=10, kind=RewardEntry.Kind.ADJUST, actor=admin, reason="goodwill", source=user)
    post_entry(user=user, amount=10, kind=RewardEntry.Kind.ADJUST, actor=admin, reason="goodwill", source=user)
    user.refresh_from_db()
    assert user.points_balance == 20


def test_a_debit_larger_than_the_balance_is_refused_and_changes_nothing():
    user = UserFactory()
    post_entry(user=user, amount=30, kind=EARN, source=ScreenshotProofFactory())
    with pytest.raises(InsufficientPoints):
        post_entry(user=user, amount=-50, kind=RewardEntry.Kind.REDEEM, source=ScreenshotProofFactory())
    user.refresh_from_db()
    assert user.points_balance == 30
    assert RewardEntry.objects.count() == 1


def test_an_explicit_admin_decision_may_take_the_balance_below_zero():
    user = UserFactory()
    post_entry(user=user, amount=-20, kind=RewardEntry.Kind.ADJUST, reason="fraud", allow_negative=True)
    user.refresh_from_db()
    assert user.points_balance == -20


def test_a_zero_entry_is_refused():
    with pytest.raises(ValueError):
        post_entry(user=UserFactory(), amount=0, kind=RewardEntry.Kind.ADJUST)


def test_check_ledger_reports_a_tampered_balance():
    user = UserFactory()
    post_entry(user=user, amount=40, kind=EARN, source=ScreenshotProofFactory())
    type(user).objects.filter(pk=user.pk).update(points_balance=41)
    assert list(users_with_unbalanced_ledger()) == [user]
    with pytest.raises(Exception, match="differs from their ledger"):
        call_command("check_ledger")
    type(user).objects.filter(pk=user.pk).update(points_balance=40)


def test_check_ledger_passes_when_balances_match(capsys):
    post_entry(user=UserFactory(), amount=5, kind=EARN, source=ScreenshotProofFactory())
    call_command("check_ledger")
    assert "Ledger balanced" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_credits_for_one_source_credit_once(on_postgres):
    user, proof = UserFactory(), ScreenshotProofFactory()
    _, errors = run_in_threads(20, lambda n: post_entry(user=user, amount=100, kind=EARN, source=proof))
    user.refresh_from_db()
    assert errors == []
    assert user.points_balance == 100
    assert RewardEntry.objects.filter(user=user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_credits_from_many_sources_all_land(on_postgres):
    user = UserFactory()
    proofs = [ScreenshotProofFactory() for _ in range(20)]

    _, errors = run_in_threads(20, lambda n: post_entry(user=user, amount=7, kind=EARN, source=proofs[n]))
    user.refresh_from_db()
    assert errors == []
    assert user.points_balance == 140
