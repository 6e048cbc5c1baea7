"""Celery tasks of the catalog. Schedule `catalog.tasks.import_competitor_prices` with django-celery-beat."""

import logging

from celery import shared_task

from .feeds import FeedUnavailable, import_competitor_feed
from .models import Competitor

logger = logging.getLogger(__name__)


@shared_task(name="catalog.tasks.import_competitor_prices")
def import_competitor_prices():
    """Fan out: one retrying task per active competitor with a feed, so one failing feed delays no other."""
    queued = []
    for competitor_id in Competitor.objects.filter(active=True).exclude(feed_url="").values_list("pk", flat=True):
        try:
            import_competitor_price_feed.delay(competitor_id)
        except Exception:
            # Only reachable when tasks run inline (eager mode): keep going with the other competitors.
            logger.exception("competitor feed %s failed", competitor_id)
        queued.append(competitor_id)
    return queued


@shared_task(
    bind=True,
    name="catalog.tasks.import_competitor_price_feed",
    autoretry_for=(FeedUnavailable,),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=5,
)
def import_competitor_price_feed(self, competitor_id):
    """Network errors and 5xx retry with exponential back-off; an unusable feed (FeedInvalid) fails at once."""
    competitor = Competitor.objects.filter(pk=competitor_id, active=True).exclude(feed_url="").first()
    if competitor is None:
        return None
    return import_competitor_feed(competitor)
