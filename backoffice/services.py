from django.conf import settings
from django.core.mail import send_mail

from .models import Notification


def notify_user(user, subject, body=""):
    """Tell a user something in the app and by email; the email is a Delivery sent once the caller's transaction
    commits (backoffice.delivery), so a slow or failing mail server never fails the caller."""
    notification = Notification.objects.create(user=user, subject=subject, body=body)
    if user.email:
        send_mail(subject, body or subject, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=True)
    return notification
