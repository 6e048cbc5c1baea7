"""Celery tasks of the catalog, each recorded as TaskRun rows (scheduled with django-celery-beat)."""

import logging

from backoffice.jobs import recorded_task

from . import services
from .feeds import FeedInvalid, import_competitor_feed
from .models import Competitor

logger = logging.getLogger(__name__)


@recorded_task(name="catalog.tasks.import_competitor_prices")
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


@recorded_task(
    name="catalog.tasks.import_competitor_price_feed", max_retries=5, backoff_seconds=30, permanent=(FeedInvalid,)
)
def import_competitor_price_feed(competitor_id):
    """Network errors and 5xx retry with exponential back-off; an unusable feed (FeedInvalid) fails at once."""
    competitor = Competitor.objects.filter(pk=competitor_id, active=True).exclude(feed_url="").first()
    if competitor is None:
        return None
    return import_competitor_feed(competitor)


# Large product uploads (over PRODUCT_UPLOAD_INLINE_MAX_BYTES): queued by catalog.services, one attempt each (a
# failure is recorded on the upload, which the admin uploads again; an import is never retried behind their back).


@recorded_task(name=services.CHECK_TASK, max_retries=0)
def check_product_upload(upload_id):
    return services.check_queued_upload(upload_id)


@recorded_task(name=services.IMPORT_TASK, max_retries=0)
def import_product_upload(upload_id, user_id):
    return services.import_queued_upload(upload_id=upload_id, user_id=user_id)


@recorded_task(name="catalog.tasks.prune_upload_checks")
def prune_upload_checks():
    """Scheduled daily: the checked rows of previews nobody confirmed (PRODUCT_UPLOAD_CHECK_RETENTION_DAYS)."""
    return services.prune_upload_checks()
