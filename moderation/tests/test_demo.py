import pytest
from django.core.management import call_command
from django.db.models import Count

from moderation.models import RewardEntry, ScreenshotProof

pytestmark = pytest.mark.django_db


def test_demo_reviews_some_proofs_through_the_services_once():
    call_command("load_demo_data")
    statuses = dict(ScreenshotProof.objects.values_list("status").annotate(n=Count("pk")))
    moderation_entries = RewardEntry.objects.filter(kind__in=[RewardEntry.Kind.EARN, RewardEntry.Kind.INVALIDATE])
    entries = moderation_entries.count()
    call_command("load_demo_data")
    assert statuses["approved"] == 28 and statuses["rejected"] == 10 and statuses["invalidated"] == 2
    assert moderation_entries.count() == entries == 32
