import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from catalog.models import App
from growth.models import Campaign
from moderation.models import Download, ScreenshotProof

pytestmark = pytest.mark.django_db


def counts():
    return (
        get_user_model().objects.count(),
        App.objects.count(),
        Download.objects.count(),
        ScreenshotProof.objects.count(),
        Campaign.objects.count(),
    )


def test_demo_data_has_staff_for_each_role_and_hundreds_of_members(capsys):
    call_command("load_demo_data")
    User = get_user_model()
    assert User.objects.filter(is_staff=False).count() >= 300
    for email in ["admin@example.com", "moderator@example.com", "marketer@example.com"]:
        assert User.objects.get(email=email).groups.exists()
    assert App.objects.exclude(image="").count() == App.objects.count() > 0
    assert "demo-admin-pass" in capsys.readouterr().out


def test_loading_demo_data_twice_adds_nothing_the_second_time():
    call_command("load_demo_data")
    first = counts()
    call_command("load_demo_data")
    assert counts() == first


def test_demo_data_refuses_production_settings(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production settings"):
        call_command("load_demo_data")
    assert counts() == (0, 0, 0, 0, 0)


def test_demo_data_loads_under_production_settings_when_forced(settings):
    settings.PRODUCTION = True
    call_command("load_demo_data", "--force", stdout=io.StringIO())
    assert get_user_model().objects.filter(email="admin@example.com").exists()
