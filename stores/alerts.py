"""Staff alerts routed per user: which alert goes where (AlertPreference), the notification centre, Telegram.

Alerts are raised through the project's one mechanism, `backoffice.alerts.alert_staff` (in-app notification and
email to the Admins, repeats within the hour folded). Its `staff_alert_raised` hook calls `route` here, which
writes one UserAlert per recipient who wants that kind in the admin or by Telegram: the notification centre lists
them, the live stream (server-sent events, stores.live) pushes them to open admin pages, and Telegram messages
leave from a retrying Celery task queued after the transaction commits, so no request waits on the Bot API.
"""

from django.conf import settings
from django.db import transaction

from backoffice.alerts import alert_staff
from backoffice.roles import ADMINS

from .models import AlertKind, AlertPreference, RepricingDecision, TelegramChat, UserAlert

UNDERCUT, AT_FLOOR, FEED_FAILING, NEW_ORDER, JOB_FAILED = (
    AlertKind.UNDERCUT,
    AlertKind.AT_FLOOR,
    AlertKind.FEED_FAILING,
    AlertKind.NEW_ORDER,
    AlertKind.JOB_FAILED,
)
DEFAULT_CHANNELS = {"in_app": True, "telegram": False}


def notify(kind, subject, body="", url="", groups=(ADMINS,)):
    """Raise a staff alert (backoffice.alerts.alert_staff); returns it, or None when it repeated a recent one."""
    return alert_staff(kind=str(kind), subject=subject, body=body, url=url, groups=groups)


def preference_kind(kind):
    """Kinds staff can route; any other kind (a missed schedule...) follows the "job failed" choice."""
    return kind if kind in AlertKind.values else AlertKind.JOB_FAILED


def channels_for(users, kind):
    """{user_id: {"in_app": bool, "telegram": bool}} from each user's preference (or the default)."""
    chosen = {
        pref.user_id: {"in_app": pref.in_app, "telegram": pref.telegram}
        for pref in AlertPreference.objects.filter(user__in=users, kind=preference_kind(kind))
    }
    return {user.pk: chosen.get(user.pk, DEFAULT_CHANNELS) for user in users}


def route(alert, recipients):
    """The `staff_alert_raised` hook: one UserAlert per recipient who wants this kind somewhere."""
    users = [user for user in recipients if user.is_staff]
    channels = channels_for(users, alert.kind)
    chats = dict(TelegramChat.objects.filter(user__in=users).values_list("user_id", "chat_id"))
    user_alerts = UserAlert.objects.bulk_create(
        UserAlert(
            user=user,
            kind=alert.kind,
            subject=alert.subject,
            body=alert.body,
            url=alert.url[:300],
            in_app=channels[user.pk]["in_app"],
        )
        for user in users
        if channels[user.pk]["in_app"] or (channels[user.pk]["telegram"] and user.pk in chats)
    )
    for user_alert in user_alerts:
        if channels[user_alert.user_id]["telegram"] and user_alert.user_id in chats:
            transaction.on_commit(lambda pk=user_alert.pk: _queue_telegram(pk))
    return user_alerts


def _queue_telegram(user_alert_id):
    from .tasks import send_telegram_alert

    send_telegram_alert.delay(user_alert_id)


def telegram_text(alert):
    """The message: subject, body and the link back into the admin."""
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
