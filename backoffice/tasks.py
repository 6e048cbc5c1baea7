"""Background tasks of the project package: sending deliveries, the retry sweep, pruning old job runs and deliveries."""

import logging

from celery import shared_task
from django.conf import settings

from . import delivery
from .jobs import prune_older_than, recorded_task
from .models import TaskRun

logger = logging.getLogger(__name__)


@shared_task(name="backoffice.tasks.send_delivery", ignore_result=True)
def send_delivery(delivery_id):
    """One attempt at one email or SMS. Its record is the Delivery row (not a TaskRun); it never raises, so an
    inline (eager) send cannot fail the request that queued it."""
    try:
        delivery.deliver(delivery_id)
    except Exception:
        logger.exception("delivery %s: the attempt could not be recorded; the retry sweep will pick it up", delivery_id)


@shared_task(name="backoffice.tasks.send_queued_deliveries", ignore_result=True)
def send_queued_deliveries():
    """Send the emails and SMS waiting for their first attempt (woken after the commit that queued them). Each keeps
    its own record (its Delivery row) and a failure waits for the retry sweep: this never raises either."""
    try:
        delivery.send_queued_deliveries()
    except Exception:
        logger.exception("queued deliveries could not be sent now; the retry sweep will pick them up")


@recorded_task(name="backoffice.tasks.retry_deliveries")
def retry_deliveries():
    """Send again the emails and SMS whose retry time has come."""
    return delivery.retry_due_deliveries()


@recorded_task(name="backoffice.tasks.prune_task_runs")
def prune_task_runs():
    """Delete job runs older than TASK_RUN_RETENTION_DAYS; returns how many."""
    return prune_older_than(TaskRun.objects.all(), field="started_at", days=settings.TASK_RUN_RETENTION_DAYS)


@recorded_task(name="backoffice.tasks.prune_deliveries")
def prune_deliveries():
    """Delete sent and failed deliveries older than DELIVERY_RETENTION_DAYS; returns how many."""
    return delivery.prune_deliveries()
