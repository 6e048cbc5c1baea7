import pytest
from django.core.management import call_command
from django.utils import timezone

from commerce.models import Plan, Purchase, Subscription

# The whole demo, loaded once for the module (conftest.demo_data): seconds of work, so `make test` runs it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_data"), pytest.mark.slow]


def test_demo_purchases_and_subscriptions_spread_over_ninety_days_and_load_once():
    counts = (Plan.objects.count(), Purchase.objects.count(), Subscription.objects.count())
    call_command("load_demo_data", verbosity=0)
    assert counts == (Plan.objects.count(), Purchase.objects.count(), Subscription.objects.count())
    assert counts[1] > 50 and counts[2] > 5
    ages = [(timezone.now() - p.created_at).days for p in Purchase.objects.all()]
    assert max(ages) > 60 and min(ages) < 30 and max(ages) <= 90
