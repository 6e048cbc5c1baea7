import pytest
from django.core.management import call_command
from django.db.models import Count

from moderation.models import RewardEntry, ScreenshotProof

# The whole demo, loaded once for the module (conftest.demo_data): seconds of work, so `make test` runs it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_data"), pytest.mark.slow]


def test_demo_reviews_proofs_through_the_services_once():
    statuses = dict(ScreenshotProof.objects.values_list("status").annotate(n=Count("pk")))
    moderation_entries = RewardEntry.objects.filter(kind__in=[RewardEntry.Kind.EARN, RewardEntry.Kind.INVALIDATE])
    entries = moderation_entries.count()
    call_command("load_demo_data", verbosity=0)
    assert dict(ScreenshotProof.objects.values_list("status").annotate(n=Count("pk"))) == statuses
    assert statuses["approved"] > statuses["rejected"] > 0 and statuses["pending"] > 0
    # one earn per approved or invalidated proof, one reversal per invalidated one: nothing posted twice
    assert entries == statuses["approved"] + 2 * statuses.get("invalidated", 0) == moderation_entries.count()
    reviewed = ScreenshotProof.objects.exclude(status="pending")
    assert not reviewed.filter(reviewer__isnull=True).exclude(status="invalidated").exists()
    assert all(p.reviewed_at > p.submitted_at for p in reviewed.exclude(status="invalidated"))
