import datetime
import io
from collections import defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from catalog.models import App
from growth.models import Campaign, Redemption, Referral, ReferralVisit
from moderation.models import Download, RewardEntry, ScreenshotProof
from reporting.models import DailyStat

# The demo is loaded once for this module (conftest.demo_data); each test reads it, or loads it again. One worker
# runs the module (xdist_group). Loading the whole demo takes seconds: `make test` runs these, `make test-fast` not.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("demo_data"),
    pytest.mark.xdist_group("demo"),
    pytest.mark.slow,
]


def load(verbosity=1):
    call_command("load_demo_data", verbosity=verbosity)


def counts():
    return (
        get_user_model().objects.count(),
        App.objects.count(),
        Download.objects.count(),
        ScreenshotProof.objects.count(),
        RewardEntry.objects.count(),
        Campaign.objects.count(),
        Redemption.objects.count(),
        Referral.objects.count(),
        ReferralVisit.objects.count(),
    )


def test_demo_data_has_staff_for_each_role_members_and_app_icons():
    User = get_user_model()
    assert User.objects.filter(is_staff=False).count() == 80
    for email in ["admin@example.com", "moderator@example.com", "marketer@example.com"]:
        assert User.objects.get(email=email).groups.exists()
    assert App.objects.exclude(image="").exclude(thumbnail="").count() == App.objects.count() > 0


def test_loading_demo_data_again_adds_nothing():
    first = counts()
    load()
    assert counts() == first


def test_demo_data_refuses_production_settings(settings):
    before = counts()
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production settings"):
        call_command("load_demo_data", "-v", "2", stdout=io.StringIO())
    assert counts() == before


def test_demo_data_loads_under_production_settings_when_forced(settings):
    settings.PRODUCTION = True
    out = io.StringIO()
    call_command("load_demo_data", "--force", stdout=out)
    assert "Demo data ready: 80 members" in out.getvalue()


def test_it_prints_a_short_summary_and_the_logins_and_each_step_only_with_verbosity_2(capsys):
    load()
    short = capsys.readouterr().out
    assert "Demo data ready: 80 members, 21 apps" in short and "demo-admin-pass" in short
    assert len(short.splitlines()) <= 8
    assert "moderation:" not in short
    load(verbosity=2)
    assert "moderation: " in capsys.readouterr().out


def test_apps_sit_in_categories_that_fit_them():
    placed = {app.name: (app.category.name, app.subcategory.name) for app in App.objects.select_related("category")}
    assert placed["Run Club"] == ("Health & Fitness", "Fitness")
    assert placed["Budget Bee"] == ("Finance", "Budgeting")
    assert placed["FreshBasket"] == ("Shopping", "Groceries")
    assert placed["Block Drop"] == ("Games", "Puzzle")
    assert all(app.subcategory.parent_id == app.category_id for app in App.objects.select_related("subcategory"))


def test_proofs_look_like_phone_screenshots_of_their_app():
    proof = ScreenshotProof.objects.select_related("download__app").first()
    with Image.open(proof.image.path) as image:
        assert image.size == (360, 740) and image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0  # rounded corners
        assert image.getpixel((6, 60))[:3] != (255, 255, 255)  # the app's coloured header, left of its icon


def test_activity_spreads_over_ninety_days_and_grows():
    today = timezone.localdate()
    by_day = defaultdict(int)
    for when in Download.objects.values_list("created_at", flat=True):
        by_day[timezone.localtime(when).date()] += 1
    for when in get_user_model().objects.filter(is_staff=False).values_list("date_joined", flat=True):
        by_day[timezone.localtime(when).date()] += 1
    assert min(by_day) >= today - datetime.timedelta(days=90)
    assert len(by_day) >= 45
    first_month = sum(n for day, n in by_day.items() if day < today - datetime.timedelta(days=60))
    last_month = sum(n for day, n in by_day.items() if day >= today - datetime.timedelta(days=30))
    assert last_month > first_month * 1.5
    assert ScreenshotProof.objects.filter(status="pending").exists()
    assert ScreenshotProof.objects.filter(
        status="approved", reviewed_at__lt=timezone.now() - datetime.timedelta(days=30)
    )
    assert ReferralVisit.objects.count() >= Referral.objects.count()


def test_the_demo_period_is_rolled_up_and_every_ledger_line_shows_its_running_balance():
    assert DailyStat.objects.count() >= 89
    running = defaultdict(int)
    for entry in RewardEntry.objects.order_by("user_id", "created_at", "pk"):
        running[entry.user_id] += entry.amount
        assert entry.balance_after == running[entry.user_id]


def test_members_inbox_news_is_dated_with_the_review_and_old_news_is_read():
    from backoffice.models import Notification

    proof = ScreenshotProof.objects.filter(status="approved").select_related("download__app").order_by("reviewed_at")[0]
    notice = Notification.objects.get(
        user=proof.download.user, subject=f"Your proof for {proof.download.app.name} was approved"
    )
    assert notice.created_at == proof.reviewed_at and notice.read_at is not None
