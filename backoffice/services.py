from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from . import delivery
from .models import Notification

QUEUED_EMAIL_BACKEND = "backoffice.delivery.QueuedEmailBackend"


def notify_user(user, subject, body=""):
    """Tell a user something in the app and by email; the email is a Delivery sent once the caller's transaction
    commits (backoffice.delivery), so a slow or failing mail server never fails the caller. With the queued email
    backend (always, but under a test that swaps it) the notification and its email are written in one statement."""
    notification = Notification(user=user, subject=subject, body=body)
    if user.email and settings.EMAIL_BACKEND == QUEUED_EMAIL_BACKEND:
        delivery.queue_email_beside(notification, to=[user.email], subject=subject, body=body or subject)
        return notification
    notification.save(force_insert=True)
    if user.email:
        send_mail(subject, body or subject, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=True)
    return notification


def mark_notifications_read(*, user, notification_ids):
    """The member has seen these notifications (only their own are touched). Returns how many were unread."""
    return Notification.objects.filter(user=user, pk__in=notification_ids, read_at__isnull=True).update(
        read_at=timezone.now()
    )
