"""Live staff alerts by server-sent events: `GET /staff/alerts/stream/` (an async view).

Why SSE and not a WebSocket: alerts flow one way (server → browser); SSE is plain HTTP, so it needs no
channel layer, no second protocol through proxies, and the browser's EventSource reconnects by itself,
sending `Last-Event-ID`. The database is the source of truth: the stream polls the user's alerts newer
than that id, so an alert written while a connection was down is delivered on reconnect, never lost
(a Channels group_send to a closed socket is). Each stream ends after ALERTS_STREAM_MAX_SECONDS and the
browser reconnects, so no connection lives forever. Under the ASGI server (uvicorn, see the Procfile)
an open stream costs a coroutine, not a worker.
"""

import asyncio
import datetime
import json
import math

from django.conf import settings
from django.http import HttpResponseForbidden, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from .models import UserAlert

BATCH = 50


def _rendered_at(since):
    """The page's render time from `since` (epoch seconds, written by the page's script tag), or None."""
    try:
        seconds = float(since)
        if not math.isfinite(seconds):
            return None
        rendered = datetime.datetime.fromtimestamp(max(seconds, 0), tz=datetime.UTC)
    except (ValueError, OverflowError, OSError):  # not a number, or beyond the calendar
        return None
    return min(rendered, timezone.now())


def stream_url():
    """The stream's address for a page being rendered now: an alert raised between this render and the
    browser's first connection is still delivered."""
    return f"{reverse('stores_public:alert_stream')}?since={timezone.now().timestamp():.3f}"


def _event(alert):
    data = {"id": alert.pk, "kind": alert.kind, "subject": alert.subject, "body": alert.body, "url": alert.url}
    return f"id: {alert.pk}\nevent: alert\ndata: {json.dumps(data)}\n\n"


async def alert_stream(request):
    user = await request.auser()
    if not (user.is_authenticated and user.is_staff):
        return HttpResponseForbidden("Staff only.")
    resume = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    mine = UserAlert.objects.filter(user_id=user.pk, in_app=True)
    if resume.isdigit():
        last_id = int(resume)
    else:  # a fresh page: what arrived since the page was rendered (`since`, the server's clock), or from now on
        older = mine.filter(created_at__lt=_rendered_at(request.GET.get("since", "")) or timezone.now())
        newest = await older.order_by("-pk").values_list("pk", flat=True).afirst()
        last_id = newest or 0

    # Under WSGI (runserver, `make run`) a response is sent only once its iterator ends: answer with what is
    # new and end at once; EventSource reconnects after `retry` ms, which makes it polling. Under ASGI, stream.
    lifetime = settings.ALERTS_STREAM_MAX_SECONDS if hasattr(request, "scope") else 0

    async def events():
        nonlocal last_id
        loop = asyncio.get_running_loop()
        deadline = loop.time() + lifetime
        # The id sets the browser's Last-Event-ID, so its reconnect resumes from here and misses nothing.
        yield f"id: {last_id}\nretry: {int(settings.ALERTS_STREAM_POLL_SECONDS * 1000)}\n\n"
        while True:
            async for alert in mine.filter(pk__gt=last_id).order_by("pk")[:BATCH]:
                last_id = alert.pk
                yield _event(alert)
            if loop.time() >= deadline:
                return
            yield ": waiting\n\n"
            await asyncio.sleep(settings.ALERTS_STREAM_POLL_SECONDS)

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: don't buffer the stream
    return response
