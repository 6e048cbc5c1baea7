"""Staff alerts: preferences decide where each goes; the centre and the live stream; Telegram off the request."""

import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from backoffice.testing.servers import ScriptedHTTPServer
from backoffice.tests.factories import admin, moderator
from stores import alerts, live, tasks, telegram
from stores.models import AlertPreference, TelegramChat, UserAlert

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return admin()


def test_admins_get_alerts_in_the_admin_by_default_other_staff_do_not(staff):
    other = moderator()
    alerts.notify(alerts.NEW_ORDER, "2 new orders")
    assert list(UserAlert.objects.values_list("user", "in_app")) == [(staff.pk, True)]
    assert not UserAlert.objects.filter(user=other).exists()


def test_a_kind_switched_off_writes_nothing_for_that_user(staff):
    AlertPreference.objects.create(user=staff, kind=alerts.NEW_ORDER, in_app=False, telegram=False)
    alerts.notify(alerts.NEW_ORDER, "2 new orders")
    alerts.notify(alerts.AT_FLOOR, "1 product at floor")
    assert list(UserAlert.objects.values_list("kind", flat=True)) == [alerts.AT_FLOOR]


def test_telegram_is_sent_after_commit_so_no_request_waits_on_it(staff, django_capture_on_commit_callbacks):
    TelegramChat.objects.create(user=staff, chat_id="42")
    AlertPreference.objects.create(user=staff, kind=alerts.AT_FLOOR, in_app=False, telegram=True)
    telegram.ConsoleTelegramSender.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alerts.notify(alerts.AT_FLOOR, "1 product at floor")
    assert list(telegram.ConsoleTelegramSender.outbox) == []  # nothing sent inside the request's transaction
    for callback in callbacks:
        callback()
    assert telegram.ConsoleTelegramSender.outbox[-1] == {"chat_id": "42", "text": "1 product at floor"}


def test_alerts_raised_by_other_apps_reach_the_centre_too(staff):
    from backoffice.alerts import alert_staff

    alert_staff(kind="schedule_missed", subject="Daily rollup has not run")
    assert UserAlert.objects.get(user=staff).subject == "Daily rollup has not run"


def test_a_repeat_within_the_hour_is_folded_not_sent_again(staff):
    alerts.notify(alerts.NEW_ORDER, "2 new orders")
    alerts.notify(alerts.NEW_ORDER, "2 new orders")
    assert UserAlert.objects.count() == 1


def test_the_centre_lists_my_alerts_and_marks_them_read(client, staff):
    alerts.notify(alerts.FEED_FAILING, "Competitor feed of Shop is failing")
    client.force_login(staff)
    response = client.get("/admin/alerts/")
    assert b"Competitor feed of Shop is failing" in response.content
    assert UserAlert.objects.get().read_at is not None


def test_preferences_and_the_telegram_chat_are_saved(client, staff):
    client.force_login(staff)
    response = client.post(
        "/admin/alerts/preferences/",
        {"telegram_chat_id": "123456", "at_floor__telegram": "on", "new_order__in_app": "on"},
    )
    assert response.status_code == 302
    assert staff.telegram_chat.chat_id == "123456"
    assert AlertPreference.objects.get(user=staff, kind="at_floor").telegram is True
    assert AlertPreference.objects.get(user=staff, kind="undercut").in_app is False


def test_a_chat_id_that_is_not_a_number_is_refused(client, staff):
    client.force_login(staff)
    response = client.post("/admin/alerts/preferences/", {"telegram_chat_id": "@someone"})
    assert response.status_code == 400
    assert not TelegramChat.objects.exists()


# Live stream


def read_stream(user, settings, path="/staff/alerts/stream/", **headers):
    settings.ALERTS_STREAM_MAX_SECONDS = 0
    settings.ALERTS_STREAM_POLL_SECONDS = 0

    async def fetch():
        client = AsyncClient()
        await client.aforce_login(user)
        response = await client.get(path, **headers)
        if not response.streaming:
            return response, response.content.decode()
        return response, b"".join([chunk async for chunk in response.streaming_content]).decode()

    return async_to_sync(fetch)()


@pytest.mark.django_db(transaction=True)
def test_the_stream_resumes_after_the_last_alert_the_browser_saw(settings):
    staff = admin()
    alerts.notify(alerts.NEW_ORDER, "seen before")
    seen = UserAlert.objects.get(user=staff)
    alerts.notify(alerts.NEW_ORDER, "missed while reconnecting")
    response, body = read_stream(staff, settings, headers={"Last-Event-ID": str(seen.pk)})
    assert response["Content-Type"] == "text/event-stream"
    events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert [event["subject"] for event in events] == ["missed while reconnecting"]


@pytest.mark.django_db(transaction=True)
def test_the_stream_is_for_staff_only(settings):
    from backoffice.tests.factories import UserFactory

    response, _ = read_stream(UserFactory(), settings)
    assert response.status_code == 403


# Telegram against a local fake Bot API


@pytest.fixture
def bot(settings):
    with ScriptedHTTPServer() as server:
        settings.TELEGRAM_SENDER = "stores.telegram.BotApiTelegramSender"
        settings.TELEGRAM_BOT_TOKEN = "123:abc"
        settings.TELEGRAM_API_BASE_URL = server.url("")
        settings.TELEGRAM_TIMEOUT_SECONDS = 0.5
        yield server


PATH = "/bot123:abc/sendMessage"


def telegram_alert(user):
    TelegramChat.objects.get_or_create(user=user, defaults={"chat_id": "42"})
    return UserAlert.objects.create(user=user, kind=alerts.AT_FLOOR, subject="1 product at floor", in_app=False)


def test_the_bot_api_gets_the_chat_and_the_text(bot, staff):
    bot.respond(PATH, body=b'{"ok": true}')
    alert = telegram_alert(staff)
    assert tasks.send_telegram_alert.apply(args=[alert.pk], throw=True).get() is True
    payload = json.loads(bot.requests_to(PATH)[0][3])
    assert (payload["chat_id"], payload["text"]) == ("42", "1 product at floor")
    alert.refresh_from_db()
    assert alert.telegram_sent_at is not None


def test_a_failing_bot_api_is_retried_until_it_answers(bot, staff):
    bot.respond(PATH, status=502, times=2).respond(PATH, body=b'{"ok": true}')
    alert = telegram_alert(staff)
    tasks.send_telegram_alert.delay(alert.pk)
    assert len(bot.requests_to(PATH)) == 3
    alert.refresh_from_db()
    assert alert.telegram_sent_at is not None


@pytest.mark.slow  # waits out a timeout
def test_a_hanging_bot_api_times_out_and_is_retried(bot, staff):
    bot.respond(PATH, body=b'{"ok": true}', delay=5)
    started = time.monotonic()
    with pytest.raises(telegram.TelegramUnavailable):
        telegram.get_sender().send("42", "hello")
    assert time.monotonic() - started < 3  # the 0.5 s timeout, not the server's 5 s


def test_a_refused_message_is_recorded_not_retried(bot, staff):
    bot.respond(PATH, status=400, body=b'{"ok": false, "description": "chat not found"}')
    alert = telegram_alert(staff)
    assert tasks.send_telegram_alert.apply(args=[alert.pk], throw=True).get() is False
    alert.refresh_from_db()
    assert "refused" in alert.telegram_error and alert.telegram_sent_at is None
    assert len(bot.requests_to(PATH)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_fresh_stream_starts_after_the_newest_alert_and_tells_the_browser_where(settings):
    staff = admin()
    alerts.notify(alerts.NEW_ORDER, "old news")
    newest = UserAlert.objects.get(user=staff)
    _, body = read_stream(staff, settings)
    assert body.startswith(f"id: {newest.pk}\n")  # the browser's reconnect resumes here
    assert "old news" not in body


@pytest.mark.django_db(transaction=True)
def test_an_alert_raised_between_the_page_render_and_the_first_connection_is_delivered(settings):
    staff = admin()
    alerts.notify(alerts.NEW_ORDER, "before the page")
    url = live.stream_url()  # the admin page is rendered
    time.sleep(0.01)
    alerts.notify(alerts.NEW_ORDER, "while the page loads")
    _, body = read_stream(staff, settings, path=url)
    events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert [event["subject"] for event in events] == ["while the page loads"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("since", ["soon", "nan", "inf", "-1e400", "1e300", "99999999999999", ""])
def test_a_malformed_render_time_starts_from_now(settings, since):
    staff = admin()
    alerts.notify(alerts.NEW_ORDER, "old news")
    response, body = read_stream(staff, settings, path=f"/staff/alerts/stream/?since={since}")
    assert response.status_code == 200
    assert "old news" not in body


def test_the_admin_pages_load_the_stream_from_their_render_time(client, staff):
    client.force_login(staff)
    page = client.get("/admin/").content.decode()
    assert 'data-stream-url="/staff/alerts/stream/?since=' in page
