"""Scheduled jobs of store operations, each a recorded job (backoffice.jobs: a TaskRun row per attempt, retries
with back-off, a final failure alerts the Admins). Schedules are registered by migration 0002.

Feeds fan out one job per shop or store, so one failing feed delays no other: network errors and 5xx retry with
back-off; an unusable feed (FeedInvalid) fails at once. Either way the failure is also written on the
shop/account, where the admin listing shows it.
"""

import logging

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from backoffice.jobs import recorded_task

from . import alerts, feeds, repricing, telegram
from .models import CompetitorStore, MarketplaceAccount, UserAlert

logger = logging.getLogger(__name__)
FEED_JOB = {"max_retries": 5, "backoff_seconds": 30, "permanent": (feeds.FeedInvalid,)}


def _fan_out(task, ids):
    ids = list(ids)
    for pk in ids:
        try:
            task.delay(pk)
        except Exception:
            # Only reachable when tasks run inline (eager mode): keep going with the others.
            logger.exception("%s(%s) failed", task.name, pk)
    return ids


@recorded_task(name="stores.tasks.import_competitor_listings")
def import_competitor_listings():
    shops = CompetitorStore.objects.filter(active=True).exclude(feed_url="")
    stale = list(shops.filter(Q(last_import_at__lt=repricing.offer_cutoff()) | Q(last_import_at=None)))
    if stale:  # before this round: shops nothing was imported from for too long (their offers are now ignored)
        alerts.notify(
            alerts.FEED_FAILING,
            f"{len(stale)} competitor feed(s) stale",
            f"No listings imported for over {settings.REPRICING_STALE_OFFER_HOURS} h: "
            + ", ".join(str(shop) for shop in stale[:10]),
            url="/admin/competitor_shops/",
        )
    return _fan_out(import_competitor_shop_feed, shops.values_list("pk", flat=True))


@recorded_task(name="stores.tasks.import_competitor_shop_feed", **FEED_JOB)
def import_competitor_shop_feed(shop_id):
    shop = CompetitorStore.objects.filter(pk=shop_id, active=True).exclude(feed_url="").first()
    if shop is None:
        return None
    try:
        return _rows(feeds.import_competitor_shop, shop)
    except feeds.FeedInvalid as exc:  # fails at once (retrying won't help): tell staff what is wrong with it
        alerts.notify(
            alerts.FEED_FAILING, f"Competitor feed of {shop} is failing", str(exc), url="/admin/competitor_shops/"
        )
        raise


def _rows(importer, target):
    summary = importer(target)
    return {**summary, "rows": summary.get("listings", summary.get("created", 0))}


@recorded_task(name="stores.tasks.import_marketplace_orders")
def import_marketplace_orders():
    accounts = MarketplaceAccount.objects.exclude(orders_feed_url="").values_list("pk", flat=True)
    return _fan_out(import_store_orders_feed, accounts)


@recorded_task(name="stores.tasks.import_store_orders_feed", **FEED_JOB)
def import_store_orders_feed(account_id):
    account = MarketplaceAccount.objects.select_related("store").filter(pk=account_id).exclude(orders_feed_url="")
    account = account.first()
    if account is None:
        return None
    try:
        summary = _rows(feeds.import_store_orders, account)
    except feeds.FeedInvalid as exc:
        alerts.notify(alerts.FEED_FAILING, f"Order feed of {account.store} is failing", str(exc))
        raise
    if summary["created"]:
        alerts.notify(alerts.NEW_ORDER, f"{summary['created']} new order(s) for {account.store}", url="/admin/orders/")
    return summary


@recorded_task(name="stores.tasks.run_repricing")
def run_repricing():
    run = repricing.run_repricing()
    alerts.after_repricing(run)
    return {"rows": run.products_checked, "changed": run.prices_changed, "suggestions": run.suggestions}


@recorded_task(name="stores.tasks.send_telegram_alert", max_retries=6, backoff_seconds=10)
def send_telegram_alert(user_alert_id):
    """Deliver one alert by Telegram; a refusal (bad chat id, bot blocked) is written on the alert, not retried."""
    alert = UserAlert.objects.select_related("user__telegram_chat").filter(pk=user_alert_id, telegram_sent_at=None)
    alert = alert.first()
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
