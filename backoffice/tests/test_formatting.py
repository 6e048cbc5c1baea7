import datetime

import pytest

from backoffice.templatetags.backoffice_format import duration, percent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.timedelta(minutes=7, seconds=22, microseconds=287820), "7 min"),
        (datetime.timedelta(seconds=42), "42 s"),
        (datetime.timedelta(hours=2, minutes=5, seconds=9), "2 h 5 min"),
        (datetime.timedelta(hours=3), "3 h"),
        (datetime.timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
        (datetime.timedelta(days=1), "1 d"),
        (90, "1 min"),
        (None, ""),
    ],
)
def test_durations_read_like_speech_not_like_timedelta_reprs(value, expected):
    assert duration(value) == expected


def test_percentages_are_whole_and_none_is_a_dash():
    assert percent(0.6049) == "60 %"
    assert percent(1.0) == "100 %"
    assert percent(None) == "—"
