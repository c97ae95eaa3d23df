"""when.py: --at times, typed durations, --since/--until moments and how times are shown,
all against a fixed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kmsg_cli.errors import InvalidInput
from kmsg_cli.when import (
    EPOCH,
    TimeView,
    format_local,
    load_zone,
    parse_moment,
    parse_typed_duration,
    parse_when,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 2026-11-21 21:00 KST


def assert_invalid(err: InvalidInput, code: str, field: str, value: str) -> None:
    assert err.code == code
    assert err.field == field
    text = str(err)
    assert value.strip().replace("\n", "\\n")[:70] in text
    assert "\n" not in text
    assert "\n" not in err.message


@pytest.mark.parametrize(
    ("value", "timezone", "expected"),
    [
        ("2026-11-22T10:00:00+09:00", "Asia/Seoul", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
        ("2026-11-22T01:00Z", "Asia/Seoul", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
        ("2026-11-22T01:00:00z", "Asia/Seoul", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
        ("2026-11-22 10:00+09:00", "UTC", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
        ("2026-11-22 10:00 +09:00", "UTC", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
        ("2026-11-22T10:00-05:00", "Asia/Seoul", datetime(2026, 11, 22, 15, 0, tzinfo=UTC)),
        ("2026-11-22 10:00", "Asia/Seoul", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
        ("2026-11-22 10:00:30", "Asia/Seoul", datetime(2026, 11, 22, 1, 0, 30, tzinfo=UTC)),
        ("2026-11-22T10:00", "Asia/Seoul", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
        ("  2026-11-22 10:00  ", "Asia/Seoul", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
        ("2026-11-22 10:00", "UTC", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22 10:00", "America/New_York", datetime(2026, 11, 22, 15, 0, tzinfo=UTC)),
        ("2026-11-21 21:00:01", "Asia/Seoul", NOW + timedelta(seconds=1)),
        ("2026-11-22 9:05", "Asia/Seoul", datetime(2026, 11, 22, 0, 5, tzinfo=UTC)),
        ("2026-11-22 9:05:00", "Asia/Seoul", datetime(2026, 11, 22, 0, 5, tzinfo=UTC)),
        ("2026-11-22 9:05 +09:00", "UTC", datetime(2026, 11, 22, 0, 5, tzinfo=UTC)),
        ("2026-11-22 오후 3:00", "Asia/Seoul", datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),
        ("2026-11-22 오전 12:30:05", "Asia/Seoul", datetime(2026, 11, 21, 15, 30, 5, tzinfo=UTC)),
        ("2026-11-22 오후 12:30", "Asia/Seoul", datetime(2026, 11, 22, 3, 30, tzinfo=UTC)),
        ("2026-11-22 3:00 pm", "Asia/Seoul", datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),
    ],
    ids=[
        "iso-offset",
        "iso-Z",
        "iso-lower-z",
        "space-offset",
        "space-before-offset",
        "negative-offset",
        "local-seoul",
        "local-seconds",
        "local-T",
        "surrounding-spaces",
        "local-utc",
        "local-new-york",
        "one-second-ahead",
        "excel-one-digit-hour",
        "excel-one-digit-hour-seconds",
        "one-digit-hour-offset",
        "excel-korean-pm",
        "excel-korean-midnight-hour",
        "excel-korean-noon-hour",
        "english-pm",
    ],
)
def test_absolute_times(value: str, timezone: str, expected: datetime) -> None:
    result = parse_when(value, now=NOW, timezone=timezone)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "delta"),
    [
        ("+10m", timedelta(minutes=10)),
        ("+2h", timedelta(hours=2)),
        ("+1h30m", timedelta(hours=1, minutes=30)),
        ("+30s", timedelta(seconds=30)),
        ("+1d", timedelta(days=1)),
        ("+1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("+1h 30m", timedelta(hours=1, minutes=30)),
        ("+2 hours", timedelta(hours=2)),
        ("+90min", timedelta(minutes=90)),
        ("+1D", timedelta(days=1)),
    ],
    ids=["10m", "2h", "1h30m", "30s", "1d", "all-units", "spaced", "long-unit", "min", "upper"],
)
def test_relative_times(value: str, delta: timedelta) -> None:
    assert parse_when(value, now=NOW) == NOW + delta


def test_naive_now_is_taken_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert parse_when("+10m", now=naive) == NOW + timedelta(minutes=10)


@pytest.mark.parametrize(
    "value",
    ["2020-01-01 10:00", "2026-11-21 20:59", "2026-11-21 21:00", "+0m", "2026-11-21T11:00Z"],
    ids=["long-ago", "a-minute-ago", "exactly-now", "zero-duration", "iso-past"],
)
def test_past_times_are_rejected(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(value, now=NOW)
    assert_invalid(info.value, "PAST_TIME", "at", value)
    assert "KST" in str(info.value)


def test_past_time_names_the_resolved_local_time() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when("2020-01-01 10:00", now=NOW)
    assert "2020-01-01 10:00:00 KST" in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow",
        "",
        "+10",
        "+10x",
        "10m",
        "+1h30",
        "2026-13-01 10:00",
        "2026-11-31 10:00",
        "2026-11-22",
        "2026/11/22 10:00",
        "+99999999999d",
        "line\nbreak",
        "2026-11-2212:00 PM",
    ],
    ids=[
        "word",
        "empty",
        "no-unit",
        "unknown-unit",
        "no-plus",
        "trailing-number",
        "month-13",
        "day-31",
        "date-only",
        "slashes",
        "overflow",
        "newline",
        "date-glued-to-twelve-hour-time",
    ],
)
def test_garbage_is_rejected(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(value, now=NOW)
    assert_invalid(info.value, "INVALID_TIME", "at", value)
    assert info.value.hint is not None
    assert "+10m" in info.value.hint


@pytest.mark.parametrize(
    ("value", "timezone", "suggested", "named"),
    [
        ("22:30", "Asia/Seoul", "2026-11-21 22:30", "today 22:30"),  # later today (21:00 KST)
        ("09:00", "Asia/Seoul", "2026-11-22 09:00", "tomorrow 09:00"),  # gone today
        ("21:00", "Asia/Seoul", "2026-11-22 21:00", "tomorrow 21:00"),  # now is not the future
        ("9:05", "UTC", "2026-11-22 09:05", "tomorrow 09:05"),  # 12:00 UTC now
    ],
)
def test_a_time_of_day_alone_gets_the_next_one_with_its_date(
    value: str, timezone: str, suggested: str, named: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(value, now=NOW, timezone=timezone)
    assert_invalid(info.value, "INVALID_TIME", "at", value)
    assert "is a time of day without a date" in info.value.message
    assert info.value.hint is not None and f"'{suggested}'" in info.value.hint
    assert f"'{named}'" in info.value.hint
    assert timezone in info.value.hint
    # both suggestions are forms parse_when takes, naming the same moment ahead
    moment = parse_when(suggested, now=NOW, timezone=timezone)
    assert moment > NOW and parse_when(named, now=NOW, timezone=timezone) == moment


@pytest.mark.parametrize(
    ("value", "timezone", "expected"),
    [
        ("tomorrow 09:00", "Asia/Seoul", datetime(2026, 11, 22, 0, 0, tzinfo=UTC)),
        ("  Tomorrow 9:30 ", "Asia/Seoul", datetime(2026, 11, 22, 0, 30, tzinfo=UTC)),
        ("내일 09:00", "Asia/Seoul", datetime(2026, 11, 22, 0, 0, tzinfo=UTC)),
        ("today 23:59", "Asia/Seoul", datetime(2026, 11, 21, 14, 59, tzinfo=UTC)),
        ("오늘23:00", "Asia/Seoul", datetime(2026, 11, 21, 14, 0, tzinfo=UTC)),
        # the day is the profile zone's: 12:00 UTC is already tomorrow in Auckland
        ("today 09:00", "Pacific/Auckland", datetime(2026, 11, 21, 20, 0, tzinfo=UTC)),
        ("tomorrow 00:00", "UTC", datetime(2026, 11, 22, 0, 0, tzinfo=UTC)),
        ("내일 오후 3:00", "Asia/Seoul", datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),
        ("내일오전 9:30", "Asia/Seoul", datetime(2026, 11, 22, 0, 30, tzinfo=UTC)),
        ("tomorrow 3:00 pm", "Asia/Seoul", datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),
        ("today 11:30 PM", "Asia/Seoul", datetime(2026, 11, 21, 14, 30, tzinfo=UTC)),
        # the Korean clock in words: 시 (hour), 분 (minutes), 반 (half past)
        ("내일 오전 9시", "Asia/Seoul", datetime(2026, 11, 22, 0, 0, tzinfo=UTC)),
        ("내일오전9시", "Asia/Seoul", datetime(2026, 11, 22, 0, 0, tzinfo=UTC)),
        ("내일 0시 30분", "Asia/Seoul", datetime(2026, 11, 21, 15, 30, tzinfo=UTC)),
        ("내일 오후 3시 30분", "Asia/Seoul", datetime(2026, 11, 22, 6, 30, tzinfo=UTC)),
        ("내일 오전 9시 5분", "Asia/Seoul", datetime(2026, 11, 22, 0, 5, tzinfo=UTC)),
        ("내일 오후 3시 반", "Asia/Seoul", datetime(2026, 11, 22, 6, 30, tzinfo=UTC)),
        ("내일 15시", "Asia/Seoul", datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),
        ("2026-11-22 오후 3시", "Asia/Seoul", datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),
        ("2026-11-22 21시", "Asia/Seoul", datetime(2026, 11, 22, 12, 0, tzinfo=UTC)),
    ],
)
def test_today_and_tomorrow_name_a_day_in_the_profile_zone(
    value: str, timezone: str, expected: datetime
) -> None:
    assert parse_when(value, now=NOW, timezone=timezone) == expected


@pytest.mark.parametrize("value", ["today 20:00", "오늘 21:00"])  # 21:00 KST now
def test_today_at_an_hour_gone_is_in_the_past(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(value, now=NOW, timezone="Asia/Seoul")
    assert_invalid(info.value, "PAST_TIME", "at", value)


@pytest.mark.parametrize("value", ["tomorrow 24:00", "tomorrow", "yesterday 09:00", "내일 9시"])
def test_other_day_words_are_not_guessed(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(value, now=NOW, timezone="Asia/Seoul")
    assert_invalid(info.value, "INVALID_TIME", "at", value)


def test_a_past_twelve_hour_time_is_quoted_as_typed() -> None:
    with pytest.raises(InvalidInput, match="'오늘 오전 9:00' is in the past") as caught:
        parse_when("오늘 오전 9:00", now=NOW)
    assert caught.value.code == "PAST_TIME"


@pytest.mark.parametrize("value", ["2026-11-22 오후 13:00", "2026-11-22 0:30 AM"])
def test_a_twelve_hour_time_takes_hours_1_to_12(value: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid 12-hour time") as caught:
        parse_when(value, now=NOW)
    assert caught.value.code == "INVALID_TIME"


def test_field_name_is_reported() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when("soon", now=NOW, field="process_at")
    assert_invalid(info.value, "INVALID_TIME", "process_at", "soon")


@pytest.mark.parametrize("timezone", ["Mars/Base", "KST", "", "../etc/passwd"])
def test_unknown_timezone(timezone: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when("+10m", now=NOW, timezone=timezone)
    assert_invalid(info.value, "INVALID_TIMEZONE", "timezone", timezone)


def test_load_zone() -> None:
    assert str(load_zone("Asia/Seoul")) == "Asia/Seoul"


@pytest.mark.parametrize(
    ("moment", "timezone", "expected"),
    [
        (datetime(2026, 11, 22, 1, 0, tzinfo=UTC), "Asia/Seoul", "2026-11-22 10:00:00 KST"),
        (datetime(2026, 11, 22, 1, 0), "Asia/Seoul", "2026-11-22 10:00:00 KST"),
        (datetime(2026, 11, 22, 1, 0, 5, tzinfo=UTC), "UTC", "2026-11-22 01:00:05 UTC"),
    ],
    ids=["seoul", "naive-is-utc", "utc"],
)
def test_format_local(moment: datetime, timezone: str, expected: str) -> None:
    assert format_local(moment, timezone) == expected


# -- durations a person types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "millis"),
    [("90d", 90 * 86_400_000), ("2h", 7_200_000), ("1h30m", 5_400_000), (" 500ms ", 500)],
)
def test_typed_durations_with_a_unit(value: str, millis: int) -> None:
    assert parse_typed_duration(value, field="older-than") == millis


@pytest.mark.parametrize(("value", "suggest"), [("90", "d"), ("30", "s"), ("1.5", "h")])
def test_a_bare_number_has_no_unit_and_gets_a_suggestion(value: str, suggest: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_typed_duration(value, field="older-than", suggest=suggest)
    assert_invalid(caught.value, "INVALID_DURATION", "older-than", value)
    assert caught.value.message == f"'{value}' has no unit (field 'older-than')"
    assert caught.value.hint is not None
    assert caught.value.hint.startswith(f"did you mean {value}{suggest}?")


@pytest.mark.parametrize("value", ["", "soon", "0d", "1y", "-5m"])
def test_other_bad_durations_name_the_units(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_typed_duration(value, field="lease")
    assert caught.value.code == "INVALID_DURATION"
    assert caught.value.hint is not None and "30s, 10m, 2h, 90d" in caught.value.hint


# -- moments for --since / --until -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "timezone", "expected"),
    [
        ("24h", "Asia/Seoul", NOW - timedelta(hours=24)),
        ("1h30m", "UTC", NOW - timedelta(minutes=90)),
        ("2026-11-21", "Asia/Seoul", datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
        ("2026-11-21", "UTC", datetime(2026, 11, 21, 0, 0, tzinfo=UTC)),
        ("2026-11-21 09:30", "Asia/Seoul", datetime(2026, 11, 21, 0, 30, tzinfo=UTC)),
        ("2026-11-21T09:30:00+09:00", "UTC", datetime(2026, 11, 21, 0, 30, tzinfo=UTC)),
        ("2026-12-25 10:00", "Asia/Seoul", datetime(2026, 12, 25, 1, 0, tzinfo=UTC)),  # future
        ("1969-07-20", "UTC", EPOCH),
        ("9" * 300 + "d", "UTC", EPOCH),
        ("today", "Asia/Seoul", datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
        (" Yesterday ", "Asia/Seoul", datetime(2026, 11, 19, 15, 0, tzinfo=UTC)),
        ("어제 18:00", "Asia/Seoul", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        ("today 9:30", "UTC", datetime(2026, 11, 21, 9, 30, tzinfo=UTC)),
        ("tomorrow", "UTC", datetime(2026, 11, 22, 0, 0, tzinfo=UTC)),
        ("오늘", "America/Los_Angeles", datetime(2026, 11, 21, 8, 0, tzinfo=UTC)),
    ],
    ids=[
        "hours-ago",
        "compound-ago",
        "date-seoul-midnight",
        "date-utc-midnight",
        "local-time",
        "offset",
        "future-is-fine",
        "before-1970",
        "absurd-age",
        "today-seoul-midnight",
        "yesterday-any-case",
        "korean-yesterday-with-time",
        "today-with-time",
        "tomorrow",
        "korean-today-west-of-utc",
    ],
)
def test_moments(value: str, timezone: str, expected: datetime) -> None:
    assert parse_moment(value, now=NOW, timezone=timezone, field="since") == expected


@pytest.mark.parametrize("value", ["now", " NOW ", "지금"])
def test_now_is_the_moment_itself(value: str) -> None:
    assert parse_moment(value, now=NOW, timezone="Asia/Seoul", field="until") == NOW
    assert parse_moment(value, now=NOW.replace(tzinfo=None), field="until") == NOW


def test_today_is_the_day_in_the_profile_zone_not_in_utc() -> None:
    # 16:00 UTC is already 01:00 on the next day in Seoul: "today" starts at that day's midnight
    late = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    expected = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)  # 2026-11-22 00:00 KST
    assert parse_moment("today", now=late, timezone="Asia/Seoul") == expected
    assert parse_moment("today", now=late, timezone="UTC") == datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("24", "has no unit"),
        ("2026-02-30", "is not a valid date"),
        ("last week", "is not a time kmsg understands"),
        ("today 25:00", "is not a time kmsg understands"),
        ("2026-13-01 10:00", "is not a valid date and time"),
    ],
)
def test_bad_moments(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_moment(value, now=NOW, field="until")
    assert_invalid(caught.value, "INVALID_TIME", "until", value)
    assert reason in caught.value.message
    assert caught.value.hint is not None and "2026-12-05" in caught.value.hint


# -- showing times -------------------------------------------------------------------------------

MOMENT_MS = 1_796_601_600_000  # 2026-12-07 00:00:00 UTC


@pytest.mark.parametrize(
    ("timezone", "human", "iso"),
    [
        ("Asia/Seoul", "2026-12-07 09:00:00 KST", "2026-12-07T09:00:00+09:00"),
        ("UTC", "2026-12-07 00:00:00 UTC", "2026-12-07T00:00:00+00:00"),
        ("America/New_York", "2026-12-06 19:00:00 EST", "2026-12-06T19:00:00-05:00"),
    ],
)
def test_time_view_shows_epoch_millis_and_datetimes_alike(
    timezone: str, human: str, iso: str
) -> None:
    view = TimeView(timezone)
    moment = datetime(2026, 12, 7, tzinfo=UTC)
    assert view.human(MOMENT_MS) == view.human(moment) == human
    assert view.iso(MOMENT_MS) == view.iso(moment) == iso
    assert view.clock(MOMENT_MS) == human.split(" ", 1)[1]


def test_time_view_of_nothing_and_of_absurd_numbers() -> None:
    view = TimeView()
    assert view.human(None) == "" and view.iso(None) is None and view.clock(None) == ""
    assert view.human(10**20) == str(10**20) and view.iso(10**20) == str(10**20)
    assert view.iso(datetime(2026, 12, 7)) == "2026-12-07T09:00:00+09:00"  # naive = UTC


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("내일 오전 9시 75분", "is not a valid time (minutes 0 to 59)"),
        ("내일 25시", "is not a time kmsg understands"),
        ("내일 오후 13시", "is not a valid 12-hour time (1 to 12)"),
        ("9시", "is a time of day without a date"),
        ("내일 9:00시", "is not a time kmsg understands"),
    ],
)
def test_a_korean_clock_in_words_is_checked_like_digits(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(value, now=NOW)
    assert caught.value.message == f"'{value}' {reason} (field 'at')"
    assert caught.value.code == "INVALID_TIME"


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("내일 9시", "write '내일 오전 9시' or '내일 오후 9시'"),
        ("2026-11-22 3시 반", "write '2026-11-22 오전 3시 반' or '2026-11-22 오후 3시 반'"),
        ("오늘 12시", "write '오늘 오전 12시' or '오늘 오후 12시'"),
    ],
)
def test_an_hour_in_words_from_1_to_12_needs_morning_or_evening(value: str, hint: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(value, now=NOW)
    assert caught.value.message == f"'{value}' does not say 오전 or 오후 (field 'at')"
    assert caught.value.hint == hint
