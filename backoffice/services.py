from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from .models import Notification


def notify_user(user, subject, body=""):
    """Tell a user something in the app and by email; the email goes out only if the caller's transaction commits."""
    notification = Notification.objects.create(user=user, subject=subject, body=body)
    if user.email:
        transaction.on_commit(
            lambda: send_mail(subject, body or subject, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=True)
        )
    return notification
