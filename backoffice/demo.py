"""Demo data for the accounts: one staff user per role and a few hundred members who joined over the last 90 days.

Also the calendar every app's demo shares (`moment`, `after`): activity grows over the period and follows a weekly
rhythm (busier at weekends, in the evening), so every chart and report shows a trend, not a spike on the last day.
"""

import datetime
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

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
DAYS = 90
VERIFIED_SHARE = 0.8
WEEKDAY_WEIGHT = [1.0, 0.95, 1.0, 1.05, 1.2, 1.6, 1.5]  # Monday..Sunday
HOUR_WEIGHT = [1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 8, 9, 8, 7, 7, 8, 9, 11, 13, 14, 12, 8, 4]
FIRST_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Dan",
    "Ella",
    "Finn",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kai",
    "Lena",
    "Milo",
    "Nora",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
]


def demo_days():
    """The demo's days, oldest first, with a weight each: a steady growth trend times the weekday rhythm."""
    today = timezone.localdate()
    days = [today - datetime.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    return days, [(0.35 + 0.65 * i / (DAYS - 1)) * WEEKDAY_WEIGHT[day.weekday()] for i, day in enumerate(days)]


def moment(rng, *, not_before=None):
    """A random moment of the demo period following its rhythm, after `not_before` when given, never in the future."""
    now = timezone.now()
    days, weights = demo_days()
    if not_before is not None:
        first = timezone.localtime(not_before).date()
        pairs = [(day, weight) for day, weight in zip(days, weights, strict=True) if day >= first]
        days, weights = [d for d, _ in pairs], [w for _, w in pairs]
    for _ in range(20):
        day = rng.choices(days, weights)[0]
        hour = rng.choices(range(24), HOUR_WEIGHT)[0]
        when = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, rng.randrange(60))))
        if when <= now and (not_before is None or when > not_before):
            return when
    return min(now, (not_before or now) + datetime.timedelta(minutes=rng.randint(1, 60)))


def after(rng, start, *, min_minutes, max_minutes):
    """A moment between `min_minutes` and `max_minutes` after `start`, or None when that is still in the future."""
    when = start + datetime.timedelta(minutes=rng.uniform(min_minutes, max_minutes))
    return when if when <= timezone.now() else None


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
    rng = random.Random(1)
    password = make_password(MEMBER_PASSWORD)
    new_members = []
    for i in range(1, MEMBER_COUNT + 1):
        joined = moment(rng)
        verified = after(rng, joined, min_minutes=2, max_minutes=600) if rng.random() < VERIFIED_SHARE else None
        if i == 1:  # the demo login: an early, verified, active member, so every member page has something to show
            joined = timezone.now() - datetime.timedelta(days=DAYS - 5)
            verified = joined + datetime.timedelta(minutes=4)
        email = f"user{i}@example.com"
        if email in existing:
            continue
        new_members.append(
            User(
                email=email,
                password=password,
                first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
                last_name=f"{chr(65 + i % 26)}.",
                display_name=f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {chr(65 + i % 26)}.",
                phone=f"+1555{i:07d}",
                date_joined=joined,
                phone_verified_at=verified,
            )
        )
    User.objects.bulk_create(new_members)
    out(f"accounts: {len(STAFF)} staff, {User.objects.filter(is_staff=False).count()} members")


def logins():
    return [(email, password, group or "superuser") for email, password, group in STAFF] + [
        ("user1@example.com", MEMBER_PASSWORD, "member (public site)")
    ]


def summary():
    return f"{get_user_model().objects.filter(is_staff=False).count()} members"
