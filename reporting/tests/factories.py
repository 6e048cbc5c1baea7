"""Factories for the growth tables reporting reads, and a generator of a few days of business activity.

Timestamps set by `auto_now_add` are moved afterwards with `.update()`; points move only through post_entry.
"""

import datetime
from collections import Counter
from decimal import Decimal

import factory
from django.utils import timezone

from backoffice.tests.factories import UserFactory
from catalog.models import App
from catalog.tests.factories import AppFactory
from growth.models import Redemption, Referral, ReferralVisit
from growth.tests.factories import CampaignFactory
from moderation.ledger import post_entry
from moderation.models import Download, RewardEntry, ScreenshotProof
from moderation.tests.factories import ScreenshotProofFactory


class ReferralVisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralVisit

    referrer = factory.SubFactory(UserFactory, verified=True)


def at(day, hour=12, minute=0, second=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute, second), tzinfo=timezone.get_current_timezone())


def _move(model, pk, **timestamps):
    model.objects.filter(pk=pk).update(**timestamps)


def generate_activity(day, *, scale=1, moderator=None):
    """Create one day's worth of activity at `day` (times spread over the whole day, edges included).

    Returns a Counter of what was created, named like the DailyStat figures, for checking the rollups
    against numbers that were not computed by the code under test.
    """
    expected = Counter()
    early, late = at(day, 0, 0, 0), at(day, 23, 59, 59)
    apps = []
    for n in range(scale + 1):
        app = AppFactory(points_reward=10 * (n + 1))
        _move(App, app.pk, created_at=early if n % 2 else late)
        apps.append(app)
        expected["apps_created"] += 1
    members = []
    for n in range(3 * scale):
        member = UserFactory(date_joined=late if n % 2 else early, phone_verified_at=at(day, 8) if n % 3 else None)
        members.append(member)
        expected["users_signed_up"] += 1
        expected["users_verified"] += bool(n % 3)
    for n, member in enumerate(members):
        for app in apps[: 1 + n % len(apps)]:
            download = Download.objects.create(user=member, app=app)
            _move(Download, download.pk, created_at=at(day, 9, n % 60))
            expected["downloads"] += 1
            expected[("downloads", app.pk)] += 1
            outcome = ["pending", "approved", "rejected", "invalidated", "approved"][(n + app.pk) % 5]
            proof = ScreenshotProofFactory(download=download)
            _move(ScreenshotProof, proof.pk, submitted_at=at(day, 10, n % 60))
            expected["proofs_submitted"] += 1
            if outcome == "pending":
                continue
            _move(ScreenshotProof, proof.pk, status=outcome, reviewer=moderator, reviewed_at=at(day, 11 + n % 12, 30))
            expected[f"proofs_{outcome}"] += 1
            expected["proofs_reviewed"] += 1
            if outcome in ("approved", "invalidated"):
                earn, _ = post_entry(user=member, amount=app.points_reward, kind=RewardEntry.Kind.EARN, source=proof)
                _move(RewardEntry, earn.pk, created_at=at(day, 12))
                expected["points_earned"] += app.points_reward
            if outcome == "approved":
                expected[("proofs_approved", app.pk)] += 1
            if outcome == "invalidated":
                back, _ = post_entry(
                    user=member, amount=-app.points_reward, kind=RewardEntry.Kind.INVALIDATE, source=proof
                )
                _move(RewardEntry, back.pk, created_at=at(day, 13))
                expected["points_taken_back"] += app.points_reward
    referrer = members[0]
    for referred in members[1:]:
        referral = Referral.objects.create(referrer=referrer, referred=referred)
        _move(Referral, referral.pk, created_at=at(day, 7))
        expected["referral_signups"] += 1
        expected["referral_verified"] += referred.phone_verified_at is not None
        if referred.phone_verified_at is not None:
            _move(Referral, referral.pk, credited_at=at(day, 15))
            bonus, _ = post_entry(user=referrer, amount=5, kind=RewardEntry.Kind.REFERRAL, source=referral)
            _move(RewardEntry, bonus.pk, created_at=at(day, 15))
            expected["referral_credited"] += 1
            expected["points_referral"] += 5
    for _ in range(4 * scale):
        visit = ReferralVisitFactory(referrer=referrer)
        _move(ReferralVisit, visit.pk, created_at=at(day, 6))
        expected["referral_visits"] += 1
    campaign = CampaignFactory(points_cost=3)
    for n, member in enumerate(members[:2]):
        adjustment, _ = post_entry(user=member, amount=10, kind=RewardEntry.Kind.ADJUST, reason="goodwill")
        _move(RewardEntry, adjustment.pk, created_at=at(day, 16))
        expected["points_adjusted"] += 10
        redemption = Redemption.objects.create(
            campaign=campaign,
            user=member,
            idempotency_key=f"{day}-{n}",
            cart_total=Decimal("40.00"),
            discount_amount=Decimal("4.50"),
        )
        _move(Redemption, redemption.pk, created_at=at(day, 17))
        spend, _ = post_entry(user=member, amount=-3, kind=RewardEntry.Kind.REDEEM, source=redemption)
        _move(RewardEntry, spend.pk, created_at=at(day, 17))
        expected["redemptions"] += 1
        expected["discount_given"] += Decimal("4.50")
        expected["points_spent_on_discounts"] += 3
    return expected
