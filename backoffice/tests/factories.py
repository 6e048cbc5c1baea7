import datetime

import factory
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.mail import EmailMessage

from backoffice.delivery import email_to_dict
from backoffice.models import Delivery
from backoffice.roles import ADMINS, MARKETERS, MODERATORS, sync_roles

PASSWORD = "correct-horse-battery-staple"


def numbered(label):
    """A unique, readable name for each row a factory makes: "Client 0", "Client 1"..."""
    return factory.Sequence(lambda n: f"{label} {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    phone = factory.Sequence(lambda n: f"+1555{n:07d}")
    password = factory.django.Password(PASSWORD)

    class Params:
        verified = factory.Trait(phone_verified_at=factory.Faker("past_datetime", tzinfo=datetime.UTC))


class StaffFactory(UserFactory):
    """A staff member in one role group: StaffFactory(role=MODERATORS)."""

    is_staff = True
    email = factory.Sequence(lambda n: f"staff{n}@example.test")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            if not Group.objects.filter(name=extracted).exists():
                sync_roles(apps)  # transactional tests flush the groups the data migration made
            self.groups.add(Group.objects.get(name=extracted))


def moderator():
    return StaffFactory(role=MODERATORS)


def admin():
    return StaffFactory(role=ADMINS)


def marketer():
    return StaffFactory(role=MARKETERS)


def email_delivery(**fields):
    """A Delivery of a real email's stored message; by default one that failed for good (Deliveries' "Send again")."""
    email = EmailMessage("Your proof was approved", "Well done", "from@example.test", ["member@example.test"])
    values = {
        "channel": Delivery.Channel.EMAIL,
        "to": "member@example.test",
        "subject": email.subject,
        "message": email_to_dict(email),
        "status": Delivery.Status.FAILED,
        "attempts": 5,
        "last_error": "ConnectionRefusedError: [Errno 111] Connection refused",
    }
    return Delivery.objects.create(**{**values, **fields})
