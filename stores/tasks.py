"""Scheduled jobs of store operations (schedules registered by migration 0002, edited under Schedules).

Feeds fan out one retrying task per store or shop, so one failing feed delays no other: network errors and
5xx retry with exponential back-off; an unusable feed (FeedInvalid) fails at once. Either way the failure is
written on the shop/account and staff are alerted.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import alerts, feeds, repricing, telegram
from .models import CompetitorStore, MarketplaceAccount, StaffAlert

logger = logging.getLogger(__name__)
RETRY = {
    "autoretry_for": (feeds.FeedUnavailable,),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 5,
}


def _fan_out(task, ids):
    for pk in ids:
        try:
            task.delay(pk)
        except Exception:
            # Only reachable when tasks run inline (eager mode): keep going with the others.
            logger.exception("%s(%s) failed", task.name, pk)
    return list(ids)


@shared_task(name="stores.tasks.import_competitor_listings")
def import_competitor_listings():
    shops = CompetitorStore.objects.filter(active=True).exclude(feed_url="")
    stale = list(shops.filter(Q(last_import_at__lt=repricing.offer_cutoff()) | Q(last_import_at=None)))
    if stale:  # before this run: a shop nothing was imported from for too long (its offers are now ignored)
        names = ", ".join(str(shop) for shop in stale[:10])
        alerts.notify(
            alerts.FEED_FAILING,
            f"{len(stale)} competitor feed(s) stale",
            f"No listings imported for over {settings.REPRICING_STALE_OFFER_HOURS} h: {names}",
            url="/admin/competitor_shops/",
        )
    return _fan_out(import_competitor_shop_feed, shops.values_list("pk", flat=True))


@shared_task(bind=True, name="stores.tasks.import_competitor_shop_feed", **RETRY)
def import_competitor_shop_feed(self, shop_id):
    shop = CompetitorStore.objects.filter(pk=shop_id, active=True).exclude(feed_url="").first()
    if shop is None:
        return None
    try:
        return feeds.import_competitor_shop(shop)
    except (feeds.FeedInvalid, feeds.FeedUnavailable) as exc:
        if isinstance(exc, feeds.FeedInvalid) or self.request.retries >= self.max_retries:
            alerts.notify(alerts.FEED_FAILING, f"Competitor feed of {shop} is failing", str(exc))
        raise


@shared_task(name="stores.tasks.import_marketplace_orders")
def import_marketplace_orders():
    accounts = MarketplaceAccount.objects.exclude(orders_feed_url="").values_list("pk", flat=True)
    return _fan_out(import_store_orders_feed, accounts)


@shared_task(bind=True, name="stores.tasks.import_store_orders_feed", **RETRY)
def import_store_orders_feed(self, account_id):
    account = (
        MarketplaceAccount.objects.select_related("store").filter(pk=account_id).exclude(orders_feed_url="").first()
    )
    if account is None:
        return None
    try:
        summary = feeds.import_store_orders(account)
    except (feeds.FeedInvalid, feeds.FeedUnavailable) as exc:
        if isinstance(exc, feeds.FeedInvalid) or self.request.retries >= self.max_retries:
            alerts.notify(alerts.FEED_FAILING, f"Order feed of {account.store} is failing", str(exc))
        raise
    if summary["created"]:
        alerts.notify(alerts.NEW_ORDER, f"{summary['created']} new order(s) for {account.store}", url="/admin/orders/")
    return summary


@shared_task(name="stores.tasks.run_repricing")
def run_repricing():
    try:
        run = repricing.run_repricing()
    except Exception as exc:
        alerts.notify(alerts.JOB_FAILED, "The repricing run failed", f"{type(exc).__name__}: {exc}"[:500])
        raise
    alerts.after_repricing(run)
    return {"products": run.products_checked, "changed": run.prices_changed, "suggestions": run.suggestions}


@shared_task(
    bind=True,
    name="stores.tasks.send_telegram_alert",
    autoretry_for=(telegram.TelegramUnavailable,),
    retry_backoff=10,
    retry_backoff_max=10 * 60,
    retry_jitter=True,
    max_retries=6,
)
def send_telegram_alert(self, alert_id):
    """Deliver one alert by Telegram; a failure that retrying will not fix is written on the alert."""
    alert = StaffAlert.objects.select_related("user__telegram_chat").filter(pk=alert_id, telegram_sent_at=None).first()
    if alert is None or not hasattr(alert.user, "telegram_chat"):
        return None
    try:
        telegram.send_message(alert.user.telegram_chat.chat_id, alerts.telegram_text(alert))
    except telegram.TelegramRefused as exc:
        alert.telegram_error = str(exc)[:300]
        alert.save(update_fields=["telegram_error"])
        return False
    alert.telegram_sent_at, alert.telegram_error = timezone.now(), ""
    alert.save(update_fields=["telegram_sent_at", "telegram_error"])
    return True
