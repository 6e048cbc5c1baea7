"""Demo campaigns, referrals (with link visits) and redemptions spread over the last 90 days.

Referral credits and redemptions go through the services (ledger, counters, limits), then are dated to when they
happened, as the moderation demo does for reviews.
"""

import datetime
import random
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from backoffice.demo import moment
from moderation.demo import backdate_with_entries
from moderation.models import RewardEntry

from . import campaigns as campaigns_service
from . import referrals
from .models import Campaign, Redemption, Referral, ReferralVisit, ReferrerScore

REFERRERS = 20
REFERRED = 110
EXTRA_VISITS_PER_REFERRAL = 1.6  # link visits that did not turn into a sign-up
CART_TOTALS = [Decimal(v) for v in ("19.90", "34.50", "49.00", "62.40", "75.00", "89.90", "120.00")]
# name: (fields, days since start, days until end, redemptions to make)
CAMPAIGNS = {
    "App week 10%": (
        {"discount_kind": "percent", "discount_value": Decimal("10"), "max_uses": 1000},
        86,
        60,
        70,
    ),
    "5 off over 50": (
        {"discount_kind": "fixed", "discount_value": Decimal("5"), "min_cart_total": Decimal("50"), "budget": 600},
        70,
        30,
        45,
    ),
    "Loyal 20%": (
        {
            "discount_kind": "percent",
            "discount_value": Decimal("20"),
            "audience": "points",
            "min_points": 100,
            "points_cost": 50,
            "budget": Decimal("900"),
        },
        50,
        45,
        30,
    ),
    "Summer sale 15%": ({"discount_kind": "percent", "discount_value": Decimal("15"), "max_uses": 300}, 84, -25, 40),
    "Black Friday 25%": ({"discount_kind": "percent", "discount_value": Decimal("25"), "max_uses": 500}, -4, 12, 0),
}


def load(out):
    if Campaign.objects.exists() or Referral.objects.exists():
        out(f"growth: {Campaign.objects.count()} campaigns, {Referral.objects.count()} referrals already there")
        return
    rng = random.Random(7)
    members = list(get_user_model().objects.filter(is_staff=False).order_by("date_joined", "pk"))
    if len(members) < REFERRERS * 2:
        out("growth: too few members for demo referrals")
        return
    referrals, credited = _referrals(rng, members)
    redemptions = _redemptions(rng, members)
    out(
        f"growth: {Campaign.objects.count()} campaigns, {redemptions} redemptions, {referrals} referrals "
        f"({credited} credited), {ReferralVisit.objects.count()} link visits"
    )


def _referrals(rng, members):
    verified_early = [m for m in members if m.phone_verified_at and m.email != "user1@example.com"]
    referrers = [next(m for m in members if m.email == "user1@example.com"), *verified_early[: REFERRERS - 1]]
    referrer_ids = {m.pk for m in referrers}
    candidates = [m for m in members if m.pk not in referrer_ids]
    referred = sorted(rng.sample(candidates, k=min(REFERRED, len(candidates))), key=lambda m: m.date_joined)
    links, visits = [], []
    for member in referred:
        earlier = [r for r in referrers if r.date_joined < member.date_joined]
        if not earlier:
            continue
        weights = [1 / (rank + 1) for rank in range(len(earlier))]  # a few referrers bring most friends
        referrer = rng.choices(earlier, weights)[0]
        links.append(Referral(referrer=referrer, referred=member))
        visits.append(ReferralVisit(referrer=referrer))
        visits[-1].demo_at = member.date_joined - datetime.timedelta(minutes=rng.randint(2, 90))
    for _ in range(int(len(links) * EXTRA_VISITS_PER_REFERRAL)):
        referrer = rng.choice(referrers)
        visits.append(ReferralVisit(referrer=referrer))
        visits[-1].demo_at = moment(rng, not_before=referrer.date_joined)
    links = Referral.objects.bulk_create(links)
    for link in links:
        link.created_at = link.referred.date_joined
    Referral.objects.bulk_update(links, ["created_at"], batch_size=500)
    created = ReferralVisit.objects.bulk_create(visits)
    for visit, source in zip(created, visits, strict=True):
        visit.created_at = source.demo_at
    ReferralVisit.objects.bulk_update(created, ["created_at"], batch_size=500)

    credited = {}
    for link in sorted(links, key=_credit_time):
        if referrals.credit_referral(referral=link):
            credited[link.pk] = _credit_time(link)
    _date_credits(credited)
    return len(links), len(credited)


def _credit_time(link):
    verified = [link.referrer.phone_verified_at, link.referred.phone_verified_at]
    if None in verified:
        return timezone.now()
    return max(verified) + datetime.timedelta(minutes=1)


def _date_credits(credited):
    links = backdate_with_entries(Referral, "credited_at", credited, entry_date=lambda entry: credited[entry.source_id])
    last = defaultdict(lambda: None)
    for link in links:
        last[link.referrer_id] = max(filter(None, [last[link.referrer_id], link.credited_at]))
    scores = list(ReferrerScore.objects.filter(user_id__in=last))
    for score in scores:
        score.last_credited_at = last[score.user_id]
    ReferrerScore.objects.bulk_update(scores, ["last_credited_at"])


def _points_reached(members, threshold):
    """When each member's earned points first reached `threshold` (by the dated ledger), for points-costing offers."""
    reached, running = {}, defaultdict(int)
    for user_id, amount, when in RewardEntry.objects.order_by("created_at", "pk").values_list(
        "user_id", "amount", "created_at"
    ):
        running[user_id] += amount
        if running[user_id] >= threshold and user_id not in reached:
            reached[user_id] = when
    return reached


def _redemptions(rng, members):
    now = timezone.now()
    campaigns = {}
    for name, (fields, started_days_ago, ends_in_days, _) in CAMPAIGNS.items():
        # Every campaign runs while the demo redeems; the ended one gets its real end date afterwards.
        campaigns[name] = campaigns_service.create_campaign(
            campaign=Campaign(
                name=name,
                starts_at=now - datetime.timedelta(days=started_days_ago),
                ends_at=now + datetime.timedelta(days=max(ends_in_days, 1)),
                description=f"Demo campaign: {name}.",
                **fields,
            ),
            actor=None,
        )
    verified = [m for m in members if m.phone_verified_at]
    made, dated = 0, {}
    for name, (_, _, ends_in_days, count) in CAMPAIGNS.items():
        campaign = campaigns[name]
        start = campaign.starts_at
        end = now + datetime.timedelta(days=ends_in_days) if ends_in_days < 0 else now
        reached = _points_reached(members, campaign.min_points) if campaign.points_cost else {}
        for member in rng.sample(verified, k=min(count * 2, len(verified))):
            if dated.get(name, 0) >= count:
                break
            not_before = max(start, member.date_joined, reached.get(member.pk, start))
            if campaign.points_cost and member.pk not in reached:
                continue
            when = moment(rng, not_before=not_before)
            if when >= end:
                continue
            try:
                redemption = campaigns_service.redeem_campaign(
                    user=member,
                    campaign=campaign,
                    cart_total=rng.choice([t for t in CART_TOTALS if t >= campaign.min_cart_total]),
                    app=None,
                    cart_reference=f"demo-order-{campaign.pk}-{member.pk}",
                    expected_points_cost=campaign.points_cost,
                    idempotency_key=f"demo-{campaign.pk}-{member.pk}",
                ).redemption
            except campaigns_service.RedemptionRefused:
                continue
            _date_redemption(redemption, when)
            made += 1
            dated[name] = dated.get(name, 0) + 1
    for name, (_, _, ends_in_days, _) in CAMPAIGNS.items():
        if ends_in_days < 0:
            Campaign.objects.filter(pk=campaigns[name].pk).update(ends_at=now + datetime.timedelta(days=ends_in_days))
    return made


def _date_redemption(redemption, when):
    Redemption.objects.filter(pk=redemption.pk).update(created_at=when)
    RewardEntry.objects.filter(
        source_type=ContentType.objects.get_for_model(Redemption), source_id=redemption.pk
    ).update(created_at=when)


def summary():
    return f"{Campaign.objects.count()} campaigns, {Referral.objects.count()} referrals"
