"""Buying apps with credits (points) and refunding them: the service's rules."""

import pytest
from django.core.exceptions import PermissionDenied

from backoffice.models import Notification
from backoffice.testing.concurrency import run_in_threads
from backoffice.tests.factories import UserFactory, admin, marketer
from catalog.tests.factories import AppFactory
from commerce.errors import PurchaseRefused
from commerce.models import Purchase
from commerce.purchases import buy_app, refund_purchase
from commerce.tests.factories import member_with, next_key
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db


def buy(member, app, key=None, **kwargs):
    return buy_app(member=member, app=app, idempotency_key=key or next_key(), **kwargs)


def refused_code(call):
    with pytest.raises(PurchaseRefused) as refused:
        call()
    return refused.value.code


def test_buying_debits_the_price_through_one_purchase_entry():
    member, app = member_with(100), AppFactory(credit_price=30)
    result = buy(member, app)
    purchase, created = result.purchase, result.created
    member.refresh_from_db()
    assert created and purchase.price_paid == 30 and member.points_balance == 70
    entry = RewardEntry.objects.get(kind=RewardEntry.Kind.PURCHASE)
    assert (entry.amount, entry.source, purchase.entry) == (-30, purchase, entry)


def test_the_same_idempotency_key_replays_the_first_purchase_without_charging_again():
    member, app = member_with(100), AppFactory(credit_price=30)
    first = buy(member, app, key="k").purchase
    result = buy(member, app, key="k")
    again, created = result.purchase, result.created
    member.refresh_from_db()
    assert (again.pk, created, member.points_balance) == (first.pk, False, 70)


def test_a_replay_must_ask_for_the_same_thing():
    member, app = member_with(100), AppFactory(credit_price=30)
    buy(member, app, key="k")
    assert refused_code(lambda: buy(member, AppFactory(credit_price=1), key="k")) == "idempotency_key_reused"
    assert refused_code(lambda: buy(member, app, key="k", expected_price=29)) == "idempotency_key_reused"


def test_a_second_purchase_of_the_same_app_is_refused():
    member, app = member_with(100), AppFactory(credit_price=30)
    buy(member, app)
    assert refused_code(lambda: buy(member, app)) == "already_purchased"
    member.refresh_from_db()
    assert (Purchase.objects.count(), member.points_balance) == (1, 70)


def test_an_inactive_app_cannot_be_bought():
    member = member_with(100)
    assert refused_code(lambda: buy(member, AppFactory(credit_price=10, active=False))) == "app_inactive"
    assert Purchase.objects.count() == 0


def test_an_insufficient_balance_is_refused_and_writes_nothing():
    member = member_with(20)
    with pytest.raises(PurchaseRefused) as refused:
        buy(member, AppFactory(credit_price=30))
    assert refused.value.code == "insufficient_points"
    assert refused.value.details == {"balance": 20, "price": 30}
    member.refresh_from_db()
    assert (Purchase.objects.count(), member.points_balance) == (0, 20)


def test_an_unverified_phone_cannot_buy():
    member = UserFactory()
    assert refused_code(lambda: buy(member, AppFactory(credit_price=0))) == "phone_not_verified"


def test_a_free_app_is_bought_once_with_no_ledger_entry():
    member, app = member_with(0), AppFactory(credit_price=0)
    result = buy(member, app)
    purchase, created = result.purchase, result.created
    assert created and purchase.price_paid == 0 and purchase.entry is None
    assert refused_code(lambda: buy(member, app)) == "already_purchased"
    assert not RewardEntry.objects.filter(kind=RewardEntry.Kind.PURCHASE).exists()


def test_a_changed_price_charges_nothing():
    member, app = member_with(100), AppFactory(credit_price=40)
    assert refused_code(lambda: buy(member, app, expected_price=30)) == "price_changed"
    assert Purchase.objects.count() == 0


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("", "idempotency_key_required"),
        ("   ", "idempotency_key_required"),
        (None, "idempotency_key_required"),
        ("x" * 65, "idempotency_key_invalid"),
    ],
)
def test_a_missing_or_oversize_idempotency_key_is_refused(key, code):
    member, app = member_with(100), AppFactory(credit_price=1)
    assert refused_code(lambda: buy_app(member=member, app=app, idempotency_key=key)) == code


def test_a_purchase_publishes_an_event_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    seen = []
    monkeypatch.setattr("backoffice.events.deliver", lambda event, payload: seen.append((event, payload["price_paid"])))
    with django_capture_on_commit_callbacks(execute=True):
        buy(member_with(50), AppFactory(credit_price=30))
    assert ("purchase.created", 30) in seen


# --- refunds ---------------------------------------------------------------------------------------------


def test_an_admin_refund_posts_one_reversing_entry_with_actor_and_reason_and_tells_the_member():
    member, app, staff = member_with(100), AppFactory(credit_price=30), admin()
    purchase = buy(member, app).purchase
    refunded = refund_purchase(purchase=purchase, actor=staff, reason="Did not install")
    member.refresh_from_db()
    assert member.points_balance == 100
    entry = refunded.refund_entry
    assert (entry.kind, entry.amount, entry.actor, entry.reason) == ("refund", 30, staff, "Did not install")
    assert (refunded.refunded_by, refunded.refund_reason) == (staff, "Did not install")
    assert refunded.history.first().history_user == staff
    assert Notification.objects.filter(user=member, subject__contains="refunded").exists()


def test_a_refunded_purchase_cannot_be_refunded_again():
    purchase = buy(member_with(100), AppFactory(credit_price=30)).purchase
    refund_purchase(purchase=purchase, actor=admin(), reason="once")
    assert refused_code(lambda: refund_purchase(purchase=purchase, actor=admin(), reason="twice")) == "already_refunded"
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.REFUND).count() == 1


def test_only_admins_refund_and_a_reason_is_required():
    purchase = buy(member_with(100), AppFactory(credit_price=30)).purchase
    with pytest.raises(PermissionDenied):
        refund_purchase(purchase=purchase, actor=marketer(), reason="no")
    assert refused_code(lambda: refund_purchase(purchase=purchase, actor=admin(), reason="  ")) == "reason_required"
    purchase.refresh_from_db()
    assert not purchase.refunded


def test_a_refunded_app_can_be_bought_again():
    member, app = member_with(100), AppFactory(credit_price=30)
    purchase = buy(member, app).purchase
    refund_purchase(purchase=purchase, actor=admin(), reason="mistake")
    result = buy(member, app)
    again, created = result.purchase, result.created
    assert created and again.pk != purchase.pk


def test_refunding_a_free_app_writes_no_ledger_entry():
    purchase = buy(member_with(0), AppFactory(credit_price=0)).purchase
    refunded = refund_purchase(purchase=purchase, actor=admin(), reason="free")
    assert refunded.refunded and refunded.refund_entry is None


# --- concurrency (PostgreSQL) ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_buys_of_one_app_by_one_member_make_one_purchase(on_postgres):
    member, app = member_with(1000), AppFactory(credit_price=30)
    results, errors = run_in_threads(16, lambda n: buy(member, app, key=f"k{n}"))
    assert len(results) == 1
    assert len(errors) == 15 and {e.code for e in errors} == {"already_purchased"}
    member.refresh_from_db()
    assert (Purchase.objects.count(), member.points_balance) == (1, 970)


@pytest.mark.django_db(transaction=True)
def test_one_idempotency_key_sent_concurrently_buys_once(on_postgres):
    member, app = member_with(1000), AppFactory(credit_price=30)
    results, errors = run_in_threads(10, lambda n: buy(member, app, key="same"))
    assert errors == []
    assert len({r.purchase.pk for r in results}) == 1 and sum(r.created for r in results) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_of_one_purchase_refund_once(on_postgres):
    purchase = buy(member_with(100), AppFactory(credit_price=30)).purchase
    staff = admin()
    results, errors = run_in_threads(8, lambda n: refund_purchase(purchase=purchase, actor=staff, reason=f"r{n}"))
    assert len(results) == 1 and {e.code for e in errors} == {"already_refunded"}
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.REFUND).count() == 1
