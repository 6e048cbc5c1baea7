"""Numbers and times as people read them, for every template (admin and public)."""

import datetime

from django import template

register = template.Library()


@register.filter
def duration(value):
    """A timedelta (or seconds) the way people say it: "45 s", "7 min", "2 h 5 min", "3 d 4 h"; "" for None."""
    if value is None or value == "":
        return ""
    seconds = int(value.total_seconds() if isinstance(value, datetime.timedelta) else float(value))
    seconds = max(seconds, 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


@register.filter
def percent(value):
    """A 0..1 share as a whole percentage ("37 %"); "—" for None."""
    if value is None:
        return "—"
    return f"{round(value * 100)} %"
