"""Staff alerts: who gets which alert where (per-user preferences), the notification centre, Telegram.

`notify(kind, subject, body, url)` writes one StaffAlert per Admin (and superuser) who wants that kind in
the admin or by Telegram. The notification centre lists them; the live stream (server-sent events, see
stores.live) pushes new ones to open admin pages; Telegram messages go out from a retrying Celery task
queued after the transaction commits, so no request ever waits on the Bot API.

This is the stores side of `backoffice.alerts.alert_staff`; when that lands, it calls `notify`.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from backoffice.roles import ADMINS

from .models import AlertKind, AlertPreference, RepricingDecision, StaffAlert, TelegramChat

UNDERCUT, AT_FLOOR, FEED_FAILING, NEW_ORDER, JOB_FAILED = (
    AlertKind.UNDERCUT,
    AlertKind.AT_FLOOR,
    AlertKind.FEED_FAILING,
    AlertKind.NEW_ORDER,
    AlertKind.JOB_FAILED,
)
DEFAULT_CHANNELS = {"in_app": True, "telegram": False}


def recipients(groups=(ADMINS,)):
    User = get_user_model()
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=groups))
        .distinct()
    )


def channels_for(users, kind):
    """{user_id: {"in_app": bool, "telegram": bool}} from each user's preference (or the default)."""
    chosen = {
        pref.user_id: {"in_app": pref.in_app, "telegram": pref.telegram}
        for pref in AlertPreference.objects.filter(user__in=users, kind=kind)
    }
    return {user.pk: chosen.get(user.pk, DEFAULT_CHANNELS) for user in users}


def notify(kind, subject, body="", url="", groups=(ADMINS,)):
    """Alert every staff member of `groups` who wants `kind` somewhere. Returns the alerts written."""
    users = list(recipients(groups))
    channels = channels_for(users, kind)
    chats = dict(TelegramChat.objects.filter(user__in=users).values_list("user_id", "chat_id"))
    alerts = StaffAlert.objects.bulk_create(
        StaffAlert(
            user=user,
            kind=kind,
            subject=subject[:200],
            body=body,
            url=url[:300],
            in_app=channels[user.pk]["in_app"],
        )
        for user in users
        if channels[user.pk]["in_app"] or (channels[user.pk]["telegram"] and user.pk in chats)
    )
    for alert in alerts:
        if channels[alert.user_id]["telegram"] and alert.user_id in chats:
            transaction.on_commit(lambda pk=alert.pk: _queue_telegram(pk))
    return alerts


def _queue_telegram(alert_id):
    from .tasks import send_telegram_alert

    send_telegram_alert.delay(alert_id)


def telegram_text(alert):
    link = f"\n{settings.SITE_URL.rstrip('/')}{alert.url}" if alert.url.startswith("/") else ""
    return f"{alert.subject}\n{alert.body}{link}".strip()


def after_repricing(run):
    """One summary alert per concern after a run, not one per product."""
    decisions = run.decisions.all()
    at_floor = decisions.filter(at_floor=True).count()
    suggestions = decisions.filter(status=RepricingDecision.Status.SUGGESTED).count()
    if suggestions:
        notify(
            UNDERCUT,
            f"{suggestions} product(s) undercut: price suggestions wait",
            "A competitor is cheaper; the repricer suggests new prices for you to accept.",
            url="/admin/price-monitoring/?show=suggested",
        )
    if at_floor:
        notify(
            AT_FLOOR,
            f"{at_floor} product(s) held at their floor price",
            "A competitor sells below the floor you set; the repricer will not follow.",
            url="/admin/price-monitoring/?show=at_floor",
        )
    if run.suspicious_offers:
        notify(
            UNDERCUT,
            f"{run.suspicious_offers} suspiciously low competitor offer(s) ignored",
            "Offers far below our price (a typo or bait) are flagged and never followed.",
            url="/admin/repricing_decisions/",
        )
