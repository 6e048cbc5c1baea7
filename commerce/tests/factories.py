import itertools
from decimal import Decimal

import factory

from backoffice.tests.factories import UserFactory, numbered
from commerce.models import Plan
from moderation.ledger import post_entry
from moderation.models import RewardEntry

_keys = (f"key-{n}" for n in itertools.count())


def next_key():
    return next(_keys)


def member_with(points, **kwargs):
    """A verified member holding `points` (credited through the ledger, so the balance check holds)."""
    member = UserFactory(verified=True, **kwargs)
    if points:
        post_entry(user=member, amount=points, kind=RewardEntry.Kind.ADJUST, reason="test credit")
    return member


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    name = numbered("Plan")
    price = 100
    duration_days = 30
    points_multiplier = Decimal("1.00")
