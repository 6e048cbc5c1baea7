"""Demo data for the accounts: one staff user per role and a few hundred members."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from .roles import ADMINS, MARKETERS, MODERATORS

STAFF = [
    # email, password, group (None: superuser)
    ("superuser@example.com", "demo-superuser-pass", None),
    ("admin@example.com", "demo-admin-pass", ADMINS),
    ("moderator@example.com", "demo-moderator-pass", MODERATORS),
    ("marketer@example.com", "demo-marketer-pass", MARKETERS),
]
MEMBER_PASSWORD = "demo-user-pass"
MEMBER_COUNT = 300


def load(out):
    User = get_user_model()
    for email, password, group in STAFF:
        user, created = User.objects.get_or_create(
            email=email, defaults={"is_staff": True, "is_superuser": group is None, "first_name": email.split("@")[0]}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        if group:
            user.groups.add(Group.objects.get(name=group))
    existing = set(User.objects.filter(email__startswith="user").values_list("email", flat=True))
    password = make_password(MEMBER_PASSWORD)
    new_members = [
        User(email=email, password=password, first_name=f"User {i}", display_name=f"User {i}", phone=f"+1555{i:07d}")
        for i in range(1, MEMBER_COUNT + 1)
        if (email := f"user{i}@example.com") not in existing
    ]
    User.objects.bulk_create(new_members)
    out(f"accounts: {len(STAFF)} staff, {User.objects.filter(is_staff=False).count()} members")


def logins():
    return [(email, password, group or "superuser") for email, password, group in STAFF] + [
        ("user1@example.com", MEMBER_PASSWORD, "member (public site)")
    ]
