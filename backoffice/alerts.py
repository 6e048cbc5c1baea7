"""Telling staff that something needs them: `alert_staff(kind=..., subject=...)`.

Each active member of the given groups (superusers always) gets an in-app Notification and an email (sent on
commit, through the project's one email path). The same kind and subject raised again within
ALERT_REPEAT_SECONDS of the last one sent only counts a repeat on that StaffAlert row, so a job failing every five
minutes sends one alert an hour, not twelve.

`users` names particular people instead of (or besides) groups, e.g. whoever started a long job:
`alert_staff(kind="job_finished", subject=..., groups=(), users=[uploader])`. Such an alert answers that person's
own request, so it is never folded into an earlier one.

Apps add channels with the Wagtail hook `staff_alert_raised`: `fn(alert, recipients)` is called in the same
transaction for each new alert (stores routes it per user: notification centre, live stream, Telegram).
"""

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from wagtail import hooks

from .models import Notification, StaffAlert
from .roles import ADMINS

logger = logging.getLogger(__name__)


def staff_recipients(groups):
    """Active members of `groups`, and every active superuser."""
    return (
        get_user_model()
        .objects.filter(Q(groups__name__in=groups) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("pk")
    )


def alert_recipients(groups, users):
    """Active members of `groups` (with every superuser, when any group is named) and the active `users`."""
    recipients = list(staff_recipients(groups)) if groups else []
    known = {user.pk for user in recipients}
    for user in users:
        if user is not None and user.is_active and user.pk not in known:
            recipients.append(user)
            known.add(user.pk)
    return recipients


def alert_staff(*, kind, subject, body="", url="", groups=(ADMINS,), users=()):
    """Raise an alert for staff; returns the StaffAlert, or None when it only repeated a recent one."""
    now = timezone.now()
    subject = subject[:200]
    cutoff = now - datetime.timedelta(seconds=settings.ALERT_REPEAT_SECONDS)
    with transaction.atomic():
        recent = None
        if not users:
            recent = (
                StaffAlert.objects.select_for_update()
                .filter(kind=kind, subject=subject, raised_at__gte=cutoff)
                .order_by("-raised_at")
                .first()
            )
        if recent is not None:
            StaffAlert.objects.filter(pk=recent.pk).update(repeats=F("repeats") + 1, last_raised_at=now)
            logger.info("staff alert repeated (not sent again): %s: %s", kind, subject)
            return None
        alert = StaffAlert.objects.create(
            kind=kind, subject=subject, body=body, url=url, groups=list(groups), last_raised_at=now
        )
        text = "\n\n".join(part for part in (body, _absolute(url)) if part)
        recipients = alert_recipients(groups, users)
        Notification.objects.bulk_create([Notification(user=user, subject=subject, body=text) for user in recipients])
        # One email per person, so staff addresses are not shown to each other.
        emails = [(subject, text or subject, settings.DEFAULT_FROM_EMAIL, [u.email]) for u in recipients if u.email]
        if emails:
            send_mass_mail(emails, fail_silently=True)  # Deliveries, sent once this commits
        for channel in hooks.get_hooks("staff_alert_raised"):
            channel(alert, recipients)
    logger.warning("staff alert: %s: %s", kind, subject)
    return alert


def alert_staff_or_log(*, kind, subject, **alert):
    """alert_staff for a caller whose own outcome is already recorded (a failed job run, a failed delivery): an
    alert that cannot be raised is logged, never raised over that outcome."""
    try:
        return alert_staff(kind=kind, subject=subject, **alert)
    except Exception:
        logger.exception("could not alert staff (%s): %s", kind, subject)
        return None


def _absolute(url):
    if url.startswith("/"):
        return settings.SITE_URL.rstrip("/") + url
    return url
