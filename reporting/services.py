"""Write paths of the reporting app: daily rollups and the daily list download."""

import csv
import datetime
import io
import json

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from backoffice import outbound
from backoffice.jobs import PermanentJobError

from .models import DailyAppStat, DailyListEntry, DailyStat, WeeklyAppStat
from .selectors import APP_FIGURES, days_between, raw_app_figures, raw_daily_figures, week_start

DAILY_LIST_MAX_BYTES = 10 * 1024 * 1024
DAILY_LIST_TIMEOUT_SECONDS = 30


def rollup_day(*, day):
    """Recompute and store the figures of one finished day; running it again for the same day gives the same rows.

    Returns the number of rows written (the day's row and one per app with activity).
    """
    if day >= timezone.localdate():
        raise PermanentJobError(f"{day} is not over yet: only past days can be rolled up (today is computed live).")
    figures = raw_daily_figures(day, day)[day]
    app_figures = raw_app_figures(day, day)
    with transaction.atomic():
        DailyStat.objects.update_or_create(date=day, defaults=figures)
        DailyAppStat.objects.filter(date=day).delete()
        DailyAppStat.objects.bulk_create(
            DailyAppStat(date=day, app_id=app_id, **counts) for (_, app_id), counts in sorted(app_figures.items())
        )
        _rewrite_week(week_start(day))
    return 1 + len(app_figures)


def _rewrite_week(monday):
    WeeklyAppStat.objects.filter(week_start=monday).delete()
    week = (
        DailyAppStat.objects.filter(date__gte=monday, date__lte=monday + datetime.timedelta(days=6))
        .values("app_id")
        .annotate(**{name: Sum(name) for name in APP_FIGURES})
        .order_by("app_id")
    )
    WeeklyAppStat.objects.bulk_create(WeeklyAppStat(week_start=monday, **row) for row in week)


def rollup_days(*, start, end):
    """Roll up every day from `start` to `end` inclusive; returns the rows written."""
    return sum(rollup_day(day=day) for day in days_between(start, end))


def fetch_daily_list(url, *, timeout=DAILY_LIST_TIMEOUT_SECONDS):
    """Download the list and parse it into a list of dicts (CSV with a header row, or a JSON array of objects).

    Network failures, timeouts and 5xx answers raise `outbound.OutboundRetryable` (the job retries them); a
    refused address, a 4xx, an oversize or malformed body is a PermanentJobError.
    """
    if not url:
        raise PermanentJobError("No daily list URL: set DAILY_LIST_URL or pass the task a `url` argument.")
    try:
        response = outbound.fetch(url, timeout=timeout, max_bytes=DAILY_LIST_MAX_BYTES)
    except outbound.OutboundRefused as exc:
        raise PermanentJobError(f"The daily list could not be used: {exc}") from exc
    body, content_type = response.body, response.headers.get("content-type", "")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PermanentJobError("The daily list is not UTF-8 text.") from exc
    if "json" in content_type or text.lstrip().startswith("["):
        return _parse_json_list(text)
    return _parse_csv_list(text)


def _parse_json_list(text):
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PermanentJobError(f"The daily list is not valid JSON: {exc}") from exc
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise PermanentJobError("The daily list JSON must be an array of objects.")
    return rows


def _parse_csv_list(text):
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise PermanentJobError("The daily list CSV has no header row.")
    header = [cell.strip() for cell in header]
    if len(set(header)) != len(header):
        raise PermanentJobError("The daily list CSV header repeats a column name.")
    rows = []
    for line_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise PermanentJobError(
                f"Line {line_number} of the daily list has {len(cells)} cells; the header has {len(header)}."
            )
        rows.append(dict(zip(header, (cell.strip() for cell in cells), strict=True)))
    return rows


def download_daily_list(*, url=None, list_date=None):
    """Fetch the daily list and store its rows for `list_date` (default today), replacing that day's rows."""
    url = url if url is not None else settings.DAILY_LIST_URL
    list_date = list_date or timezone.localdate()
    rows = fetch_daily_list(url)
    with transaction.atomic():
        DailyListEntry.objects.filter(list_date=list_date).delete()
        DailyListEntry.objects.bulk_create(
            DailyListEntry(list_date=list_date, line_number=number, data=row) for number, row in enumerate(rows, 1)
        )
    return len(rows)
