"""The repricer: targets within [floor, ceiling], offers it ignores, live writes and suggestions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import ProductPriceChange
from catalog.tests.factories import ProductFactory
from stores import repricing
from stores.models import RepricingDecision, RepricingRule
from stores.tests.factories import CompetitorListingFactory, CompetitorStoreFactory, RepricingRuleFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def product():
    return ProductFactory(price=D("20.00"))


def offer(product, price, **kwargs):
    return CompetitorListingFactory(product=product, price=D(price), **kwargs)


def price_of(product):
    product.refresh_from_db()
    return product.price


def rule_for(product, **kwargs):
    return RepricingRuleFactory(store=product.store, product=product, **kwargs)


def test_beats_the_lowest_competitor_by_an_amount(product):
    rule_for(product, beat_by=D("0.50"))
    offer(product, "19.00")
    offer(product, "18.00")
    repricing.run_repricing()
    assert price_of(product) == D("17.50")


def test_beats_by_a_percentage_rounded_down_to_the_step(product):
    rule_for(product, strategy=RepricingRule.Strategy.BEAT_BY_PERCENT, beat_by=D("5"), step=D("0.10"))
    offer(product, "18.00")  # 5 % off is 17.10
    offer(product, "18.33")
    repricing.run_repricing()
    assert price_of(product) == D("17.10")


def test_matches_the_lowest(product):
    rule_for(product, strategy=RepricingRule.Strategy.MATCH_LOWEST)
    offer(product, "18.25")
    repricing.run_repricing()
    assert price_of(product) == D("18.25")


def test_never_goes_below_the_floor_and_says_so(product):
    rule_for(product, floor=D("15.00"))
    offer(product, "14.00")  # 70 % of ours: not suspicious, just cheaper than we may go
    run = repricing.run_repricing()
    assert price_of(product) == D("15.00")
    assert run.decisions.get().at_floor is True


def test_never_goes_above_the_ceiling(product):
    rule_for(product, ceiling=D("25.00"))
    offer(product, "40.00")
    repricing.run_repricing()
    assert price_of(product) == D("25.00")


def test_alone_on_the_market_it_moves_to_the_ceiling(product):
    rule_for(product, ceiling=D("24.00"))
    repricing.run_repricing()
    assert price_of(product) == D("24.00")


def test_alone_on_the_market_it_can_hold_its_price(product):
    rule_for(product, ceiling=D("24.00"), ceiling_when_alone=False)
    run = repricing.run_repricing()
    assert price_of(product) == D("20.00")
    assert run.decisions.count() == 0


def test_stale_offers_are_ignored(product, settings):
    settings.REPRICING_STALE_OFFER_HOURS = 24
    rule_for(product, ceiling=D("22.00"))
    offer(product, "18.00", seen_at=timezone.now() - timedelta(hours=25))
    repricing.run_repricing()
    assert price_of(product) == D("22.00")  # as if alone


def test_out_of_stock_competitors_are_ignored(product):
    rule_for(product, beat_by=D("1.00"))
    offer(product, "16.00", in_stock=False)
    offer(product, "19.00")
    repricing.run_repricing()
    assert price_of(product) == D("18.00")


def test_excluded_competitors_are_ignored(product):
    rule = rule_for(product, beat_by=D("1.00"))
    ignored = offer(product, "16.00")
    rule.excluded_competitors.add(ignored.competitor_store.competitor)
    offer(product, "19.00")
    repricing.run_repricing()
    assert price_of(product) == D("18.00")


@pytest.mark.parametrize("absurd", ["0.00", "0.01", "9.99"])
def test_an_offer_of_zero_or_absurdly_low_is_flagged_never_followed(product, settings, absurd):
    settings.REPRICING_SUSPICIOUS_FRACTION = D("0.5")
    rule_for(product, floor=D("1.00"), beat_by=D("1.00"))
    offer(product, absurd)
    offer(product, "19.00")
    run = repricing.run_repricing()
    assert price_of(product) == D("18.00")
    assert run.suspicious_offers == 1
    assert run.decisions.get().suspicious_offers == 1


def test_a_store_default_rule_covers_products_without_their_own(product):
    RepricingRuleFactory(store=product.store, product=None, beat_by=D("2.00"))
    offer(product, "19.00")
    repricing.run_repricing()
    assert price_of(product) == D("17.00")


def test_products_without_any_rule_are_left_alone(product):
    offer(product, "5.00")
    run = repricing.run_repricing()
    assert price_of(product) == D("20.00")
    assert run.products_checked == 0


def test_live_mode_records_the_price_change_and_the_offer_it_followed(product):
    rule_for(product, beat_by=D("1.00"))
    followed = offer(product, "19.00")
    run = repricing.run_repricing()
    change = ProductPriceChange.objects.get(product=product)
    decision = run.decisions.get()
    assert (change.source, change.old_price, change.new_price) == ("repricer", D("20.00"), D("18.00"))
    assert change.cause == f"repricing decision {decision.pk}"
    assert decision.lowest_listing == followed
    assert decision.status == RepricingDecision.Status.APPLIED
    assert run.prices_changed == 1


def test_a_live_price_change_is_in_the_products_history(product):
    rule_for(product, beat_by=D("1.00"))
    offer(product, "19.00")
    before = product.history.count()
    decision = repricing.run_repricing().decisions.get()
    assert product.history.count() == before + 1
    record = product.history.first()
    assert (record.price, record.history_type, record.history_user) == (D("18.00"), "~", None)
    assert record.history_change_reason == f"Repricer: decision {decision.pk}"
    assert (record.sku, record.name, record.stock) == (product.sku, product.name, product.stock)
    assert record.prev_record.price == D("20.00")


def test_an_accepted_suggestion_is_in_the_products_history_with_the_admin(product, admin_user):
    rule_for(product, beat_by=D("1.00"), mode=RepricingRule.Mode.SUGGEST)
    offer(product, "19.00")
    suggestion = repricing.run_repricing().decisions.get()
    before = product.history.count()
    repricing.accept_suggestions(decision_ids=[suggestion.pk], actor=admin_user)
    assert product.history.count() == before + 1
    assert (product.history.first().price, product.history.first().history_user) == (D("18.00"), admin_user)


def test_a_price_edited_since_the_suggestion_gets_no_history_row(product, admin_user):
    rule_for(product, beat_by=D("1.00"), mode=RepricingRule.Mode.SUGGEST)
    offer(product, "19.00")
    suggestion = repricing.run_repricing().decisions.get()
    type(product).objects.filter(pk=product.pk).update(price=D("21.00"))
    before = product.history.count()
    repricing.accept_suggestions(decision_ids=[suggestion.pk], actor=admin_user)
    assert product.history.count() == before


def test_a_second_run_with_nothing_new_changes_nothing(product):
    rule_for(product, beat_by=D("1.00"))
    offer(product, "19.00")
    repricing.run_repricing()
    second = repricing.run_repricing()
    assert second.prices_changed == 0
    assert ProductPriceChange.objects.filter(product=product).count() == 1


def test_suggest_mode_changes_no_price_until_an_admin_accepts(product, admin_user):
    rule_for(product, beat_by=D("1.00"), mode=RepricingRule.Mode.SUGGEST)
    offer(product, "19.00")
    run = repricing.run_repricing()
    suggestion = run.decisions.get()
    assert (suggestion.status, price_of(product)) == (RepricingDecision.Status.SUGGESTED, D("20.00"))
    assert ProductPriceChange.objects.count() == 0

    assert repricing.accept_suggestions(decision_ids=[suggestion.pk], actor=admin_user) == 1
    assert price_of(product) == D("18.00")
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.accepted_by) == (RepricingDecision.Status.ACCEPTED, admin_user)
    assert ProductPriceChange.objects.get(product=product).source == "repricer"


def test_accepting_twice_changes_the_price_once(product, admin_user):
    rule_for(product, beat_by=D("1.00"), mode=RepricingRule.Mode.SUGGEST)
    offer(product, "19.00")
    suggestion = repricing.run_repricing().decisions.get()
    repricing.accept_suggestions(decision_ids=[suggestion.pk], actor=admin_user)
    assert repricing.accept_suggestions(decision_ids=[suggestion.pk], actor=admin_user) == 0
    assert ProductPriceChange.objects.filter(product=product).count() == 1


def test_a_newer_run_supersedes_open_suggestions(product, admin_user):
    rule_for(product, beat_by=D("1.00"), mode=RepricingRule.Mode.SUGGEST)
    listing = offer(product, "19.00")
    first = repricing.run_repricing().decisions.get()
    listing.price = D("18.50")
    listing.save()
    repricing.run_repricing()
    first.refresh_from_db()
    assert first.status == RepricingDecision.Status.SUPERSEDED
    assert repricing.accept_suggestions(decision_ids=[first.pk], actor=admin_user) == 0
    assert price_of(product) == D("20.00")


def test_a_suggestion_is_not_applied_over_a_price_edited_since(product, admin_user):
    rule_for(product, beat_by=D("1.00"), mode=RepricingRule.Mode.SUGGEST)
    offer(product, "19.00")
    suggestion = repricing.run_repricing().decisions.get()
    type(product).objects.filter(pk=product.pk).update(price=D("21.00"))
    assert repricing.accept_suggestions(decision_ids=[suggestion.pk], actor=admin_user) == 0
    assert price_of(product) == D("21.00")
    assert ProductPriceChange.objects.count() == 0


def test_accepting_nothing_is_refused():
    with pytest.raises(repricing.RepricingRefused) as refused:
        repricing.accept_suggestions(decision_ids=[], actor=None)
    assert refused.value.code == "nothing_selected"


def test_a_floor_above_the_ceiling_is_refused(product):
    rule = RepricingRule(store=product.store, product=product, floor=D("30"), ceiling=D("20"))
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert "floor" in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        rule.save()


@pytest.mark.parametrize("field", ["floor", "ceiling"])
def test_negative_prices_are_refused(product, field):
    values = {"floor": D("1"), "ceiling": D("2"), field: D("-1")}
    rule = RepricingRule(store=product.store, product=product, **values)
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert field in refused.value.message_dict


def test_a_competitor_shop_may_have_several_shops_compared_separately(product):
    rule_for(product, beat_by=D("1.00"))
    shop = CompetitorStoreFactory(store=product.store)
    second = CompetitorStoreFactory(store=product.store, competitor=shop.competitor)
    offer(product, "19.00", competitor_store=shop)
    offer(product, "18.00", competitor_store=second)
    repricing.run_repricing()
    assert price_of(product) == D("17.00")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sql_and_python_paths_make_the_same_decisions(on_postgres, seed):
    """PostgreSQL computes decisions in one statement; SQLite in Python. Random rules and offers, same answers."""
    import random

    from stores.models import RepricingRun

    rng, now = random.Random(seed), timezone.now()
    store = ProductFactory().store
    RepricingRuleFactory(store=store, product=None, strategy=RepricingRule.Strategy.MATCH_LOWEST, ceiling=D("40"))
    shops = [CompetitorStoreFactory(store=store) for _ in range(4)]
    for n in range(40):
        product = ProductFactory(store=store, price=D(rng.randint(1000, 3000)) / 100, active=n % 13 != 0)
        if n % 3:
            rule = RepricingRuleFactory(
                store=store,
                product=product,
                strategy=rng.choice(list(RepricingRule.Strategy)),
                beat_by=D(rng.choice(["0.00", "0.50", "1.25", "7.00", "15.00"])),
                step=D(rng.choice(["0.01", "0.05", "0.10", "0.03", "1.00"])),
                floor=D(rng.choice(["5.00", "12.00", "19.99"])),
                ceiling=D(rng.choice(["20.00", "29.99", "45.00"])),
                ceiling_when_alone=rng.random() < 0.5,
                mode=rng.choice(list(RepricingRule.Mode)),
            )
            if n % 4 == 0:
                rule.excluded_competitors.add(shops[0].competitor)
        for shop in rng.sample(shops, rng.randint(0, 4)):
            offer(
                product,
                str(D(rng.choice([rng.randint(100, 3500), rng.randint(1000, 1010), 1])) / 100),
                competitor_store=shop,
                in_stock=rng.random() < 0.85,
                seen_at=now - timedelta(hours=rng.choice([1, 1, 1, 60])),
            )

    decision = [column for column in repricing.DECISION_COLUMNS if column not in ("run_id", "decided_at")]

    def decided(run_id):
        return sorted(RepricingDecision.objects.filter(run_id=run_id).values_list(*decision))

    python_run, sql_run = RepricingRun.objects.create(), RepricingRun.objects.create()
    repricing._insert_decisions(list(repricing.compute_decisions(python_run, now=now)))
    counts = repricing._insert_decisions_in_sql(sql_run, now=now)
    assert decided(sql_run.pk) == decided(python_run.pk) != []
    assert counts[:2] == (python_run.products_checked, python_run.suspicious_offers)
