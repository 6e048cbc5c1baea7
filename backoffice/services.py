from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from .models import Notification


def notify_user(user, subject, body=""):
    """Tell a user something in the app and by email; the email is a Delivery sent once the caller's transaction
    commits (backoffice.delivery), so a slow or failing mail server never fails the caller."""
    notification = Notification.objects.create(user=user, subject=subject, body=body)
    if user.email:
        send_mail(subject, body or subject, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=True)
    return notification


def mark_notifications_read(*, user, notification_ids):
    """The member has seen these notifications (only their own are touched). Returns how many were unread."""
    return Notification.objects.filter(user=user, pk__in=notification_ids, read_at__isnull=True).update(
        read_at=timezone.now()
    )
