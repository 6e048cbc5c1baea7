"""The redeem path's PostgreSQL statements (growth.redemption_sql) write, row for row, what its ORM path writes."""

import threading
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from simple_history.models import HistoricalRecords

from backoffice import events, prepared
from backoffice.counters import writing_counters
from backoffice.testing import wire
from backoffice.testing.concurrency import run_in_threads, wait_until_a_session_waits_for_a_lock
from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory
from growth import campaign_counters, campaigns, redemption_sql
from growth.models import Campaign, CampaignCounterShard, Redemption
from growth.tests.factories import CampaignFactory, redeem
from moderation.ledger import post_entry
from moderation.models import RewardEntry

pytestmark = pytest.mark.django_db

PATHS = ["sql", "orm"]


@pytest.fixture
def on_path(on_postgres, monkeypatch):
    """Run the redeem path's PostgreSQL statements ("sql") or its ORM writes ("orm"), both on PostgreSQL."""

    def use(path):
        monkeypatch.setattr(campaigns, "_one_statement_writes", lambda: path == "sql")

    return use


@contextmanager
def signed_in(user):
    """A request by `user` in simple-history's context, as HistoryRequestMiddleware leaves it during an API call."""
    HistoricalRecords.context.request = SimpleNamespace(user=user)
    try:
        yield
    finally:
        del HistoricalRecords.context.request


def member_with_points(points):
    user = UserFactory(verified=True)
    post_entry(user=user, amount=points, kind=RewardEntry.Kind.ADJUST, reason="test")
    return user


def written(redemption):
    """What one redemption wrote, less what differs between two members' (ids, member, key, voucher, times)."""
    varying = {"id", "user_id", "idempotency_key", "cart_reference", "voucher_code", "created_at"}
    stored = Redemption.objects.values().get(pk=redemption.pk)
    row, row_voucher = {k: v for k, v in stored.items() if k not in varying}, stored["voucher_code"]
    history = [
        {k: v for k, v in h.items() if k not in varying | {"history_id", "history_date", "history_user_id"}}
        | {"by_member": h["history_user_id"] == redemption.user_id, "same_voucher": h["voucher_code"] == row_voucher}
        for h in Redemption.history.filter(id=redemption.pk).values()
    ]
    ledger = list(
        RewardEntry.objects.filter(kind=RewardEntry.Kind.REDEEM, source_id=redemption.pk).values_list(
            "amount", "source_type", "reason", "actor", "balance_after"
        )
    )
    return row, history, ledger


def test_the_sql_and_orm_paths_write_the_same_rows(on_path):
    app = AppFactory(credit_price=0)
    campaign = CampaignFactory(points_cost=30, budget=Decimal("500"), max_uses=10)
    campaign.eligible_categories.add(app.category)
    made = {}
    for path in PATHS:
        on_path(path)
        member = member_with_points(100)
        with signed_in(member):
            made[path] = redeem(member, campaign, cart_total="80", app=app, cart_reference="order-1").redemption
    sql, orm = written(made["sql"]), written(made["orm"])
    assert sql == orm
    assert len(sql[1]) == 1 and sql[1][0]["by_member"] and sql[1][0]["same_voucher"]
    assert sql[2] == [(-30, sql[2][0][1], f"Redeemed {campaign.name}", None, 70)]
    assert (Campaign.objects.with_counters().values_list("uses_count", "budget_spent").get(pk=campaign.pk)) == (
        2,
        Decimal("16.00"),
    )


def test_the_sql_path_returns_the_redemption_as_written(on_path):
    on_path("sql")
    redemption = redeem(UserFactory(verified=True), CampaignFactory(), cart_total="50").redemption
    stored = Redemption.objects.get(pk=redemption.pk)
    fields = ["campaign_id", "user_id", "cart_total", "discount_amount", "points_cost", "voucher_code", "created_at"]
    assert [getattr(redemption, f) for f in fields] == [getattr(stored, f) for f in fields]


def sent(queries):
    """The strings a redemption sent, less savepoints (each string is one round trip)."""
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


@pytest.mark.django_db(transaction=True)
def test_a_redemption_is_two_round_trips_begin_and_commit_included_on_postgresql(on_path):
    on_path("sql")
    redeem(UserFactory(verified=True), CampaignFactory())  # this session prepares the statements
    member, campaign = UserFactory(verified=True), CampaignFactory(max_uses=5)
    with wire.traced() as sent:
        redeem(member, campaign)
    lock_and_read, insert = sent.queries
    assert lock_and_read.startswith("BEGIN;\nEXECUTE growth_redeem_lock(")
    assert "EXECUTE growth_redeem_read(" in lock_and_read
    assert insert.startswith("EXECUTE growth_redeem_insert_free(") and insert.endswith("COMMIT")


@pytest.mark.django_db(transaction=True)
def test_a_session_prepares_the_statements_on_its_first_redemption_only(on_path):
    on_path("sql")
    (one, two), campaign = UserFactory.create_batch(2, verified=True), CampaignFactory()
    connection.close()  # a new session
    with CaptureQueriesContext(connection) as first:
        redeem(one, campaign)
    with CaptureQueriesContext(connection) as second:
        redeem(two, campaign)
    asked, lock_and_read, insert = (s for s in sent(first) if "growth_redeem" in s or "pg_prepared_statements" in s)
    assert "pg_prepared_statements" in asked
    assert lock_and_read.startswith("PREPARE growth_redeem_lock(") and "PREPARE growth_redeem_read(" in lock_and_read
    assert insert.startswith("PREPARE growth_redeem_insert_free(")
    assert not any("PREPARE" in s or "pg_prepared_statements" in s for s in sent(second))


def test_a_session_that_dropped_the_statements_prepares_them_again_and_redeems(on_path):
    on_path("sql")
    redeem(UserFactory(verified=True), CampaignFactory())
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler resetting sessions (DISCARD ALL) does
    member, campaign = UserFactory(verified=True), CampaignFactory(max_uses=5)
    assert redeem(member, campaign).created
    assert Redemption.objects.filter(user=member, campaign=campaign).count() == 1


def test_a_session_holding_statements_this_process_forgot_redeems(on_path):
    """What a pooler in transaction mode does: the transaction lands on a server session that prepared them."""
    on_path("sql")
    redeem(UserFactory(verified=True), CampaignFactory())
    prepared._PREPARED_IN[connection.connection] = set()  # this process believes nothing is prepared
    member, campaign = UserFactory(verified=True), CampaignFactory(max_uses=5)
    assert redeem(member, campaign).created
    assert Redemption.objects.filter(user=member, campaign=campaign).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_commit_travels_with_the_insert_when_the_redemption_is_its_own_transaction(on_path, monkeypatch):
    on_path("sql")
    delivered = []
    monkeypatch.setattr(events, "deliver", lambda event, payload: delivered.append((event, payload["id"])))
    member, campaign = UserFactory(verified=True), CampaignFactory(max_uses=5)
    with CaptureQueriesContext(connection) as queries:
        redemption = redeem(member, campaign).redemption
    insert = next(s for s in sent(queries) if "EXECUTE growth_redeem_insert" in s)
    assert insert.rstrip().endswith("COMMIT")
    assert Redemption.objects.filter(pk=redemption.pk).exists()
    assert delivered == [("redemption.created", redemption.pk)]  # what runs after the commit still runs


class CallerFailed(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_the_redemption_commits_with_it_not_before(on_path):
    on_path("sql")
    member, campaign = UserFactory(verified=True), CampaignFactory(max_uses=5)
    with CaptureQueriesContext(connection) as queries, pytest.raises(CallerFailed), transaction.atomic():
        redeem(member, campaign)
        raise CallerFailed  # after the redemption, in the same transaction: all of it rolls back
    assert not any(s.rstrip().endswith("COMMIT") for s in sent(queries) if "growth_redeem_insert" in s)
    assert Redemption.objects.count() == 0
    assert Campaign.objects.with_counters().get(pk=campaign.pk).uses_count == 0


@pytest.mark.django_db(transaction=True)
def test_a_paid_redemption_refused_at_the_claim_commits_nothing_when_its_commit_travels_with_it(on_path):
    on_path("sql")
    member, campaign = member_with_points(100), CampaignFactory(points_cost=30, max_uses=10)
    with writing_counters():
        CampaignCounterShard.objects.filter(campaign=campaign).update(max_uses=0)  # no shard has room left
    with pytest.raises(campaigns.RedemptionRefused):
        redeem(member, campaign)
    member.refresh_from_db()
    assert (member.points_balance, Redemption.objects.count()) == (100, 0)
    assert not RewardEntry.objects.filter(kind=RewardEntry.Kind.REDEEM).exists()


@pytest.mark.parametrize("path", PATHS)
def test_a_paid_redemption_refused_at_the_claim_leaves_no_entry_and_no_row(on_path, path):
    on_path(path)
    member, campaign = member_with_points(100), CampaignFactory(points_cost=30, max_uses=10)
    with writing_counters():
        CampaignCounterShard.objects.filter(campaign=campaign).update(max_uses=0)  # no shard has room left
    with pytest.raises(campaigns.RedemptionRefused):
        redeem(member, campaign)
    member.refresh_from_db()
    assert (member.points_balance, Redemption.objects.count()) == (100, 0)
    assert not RewardEntry.objects.filter(kind=RewardEntry.Kind.REDEEM).exists()


def test_a_replayed_key_on_the_sql_path_returns_the_first_redemption_whole(on_path):
    on_path("sql")
    member, campaign = UserFactory(verified=True), CampaignFactory()
    first = redeem(member, campaign, key="k1", cart_reference="order-1").redemption
    replay = redeem(member, campaign, key="k1", cart_reference="order-1")
    assert (replay.created, replay.redemption.pk, replay.redemption.voucher_code) == (
        False,
        first.pk,
        first.voucher_code,
    )
    assert replay.redemption.campaign.name == campaign.name


@pytest.mark.django_db(transaction=True)
def test_each_claim_stage_runs_in_a_new_transaction_after_a_failed_one(on_path, settings, monkeypatch):
    """A failed claim may keep a shard locked; waiting for another, or gathering in slot order, while holding it
    deadlocks."""
    on_path("sql")
    settings.CAMPAIGN_COUNTER_SHARDS = 4
    campaign = CampaignFactory(discount_kind="fixed", discount_value=Decimal("5"), budget=Decimal("10"))
    with writing_counters():  # 2.50 a shard: no shard alone has room for one discount
        CampaignCounterShard.objects.filter(campaign=campaign).update(budget=Decimal("2.50"))
    seen = []

    def spy(name, real):
        def call(**kwargs):
            with connection.cursor() as cursor:
                cursor.execute("SELECT txid_current()")
                seen.append((name, kwargs.get("claim", True), cursor.fetchone()[0]))
            return real(**kwargs)

        return call

    monkeypatch.setattr(redemption_sql, "insert_claimed", spy("insert", redemption_sql.insert_claimed))
    monkeypatch.setattr(
        campaign_counters, "claim_gathering_room", spy("gather", campaign_counters.claim_gathering_room)
    )
    settings.CAMPAIGN_CLAIM_WAITS = 2
    assert redeem(UserFactory(verified=True), campaign).created
    *claims, (gather, _, tx_gather), (_, claim, tx_insert) = seen
    assert [stage for _, stage, _ in claims] == ["free", "wait", "wait"]
    assert (gather, claim) == ("gather", False)
    assert len({tx for *_, tx in claims} | {tx_gather}) == 4 and tx_gather == tx_insert


@pytest.mark.django_db(transaction=True)
def test_with_every_shard_held_a_claim_waits_for_one_with_room_not_for_all(on_path, settings):
    on_path("sql")
    settings.CAMPAIGN_COUNTER_SHARDS = 2
    campaign, buyer = CampaignFactory(max_uses=4), UserFactory(verified=True)
    with writing_counters():  # slot 0: no room left; slot 1: all the room
        CampaignCounterShard.objects.filter(campaign=campaign, slot=0).update(uses_count=F("max_uses"))
    held, redeemed = [threading.Event(), threading.Event()], threading.Event()

    def hold(slot):
        with transaction.atomic():
            CampaignCounterShard.objects.select_for_update().get(campaign=campaign, slot=slot)
            held[slot].set()
            if slot == 1:  # the shard with room: released once the member waits for it
                wait_until_a_session_waits_for_a_lock(timeout=60)
                return "released"
            return redeemed.wait(30)  # slot 0 stays held until the member has redeemed (or 30 s)

    def member_redeems():
        for event in held:
            event.wait(60)
        created = redeem(buyer, Campaign.objects.get(pk=campaign.pk)).created
        redeemed.set()
        return created

    results, errors = run_in_threads(3, lambda n: (lambda: hold(0), lambda: hold(1), member_redeems)[n]())
    assert errors == []
    assert sorted(map(str, results)) == ["True", "True", "released"]  # redeemed while slot 0 was still held
    assert list(CampaignCounterShard.objects.filter(campaign=campaign).order_by("slot").values_list("uses_count")) == [
        (2,),
        (1,),
    ]
