"""parse_when / format_local: absolute, local and relative times against a fixed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kmsg_cli.errors import InvalidInput
from kmsg_cli.when import format_local, load_zone, parse_when

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
    ],
)
def test_garbage_is_rejected(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(value, now=NOW)
    assert_invalid(info.value, "INVALID_TIME", "at", value)
    assert info.value.hint is not None
    assert "+10m" in info.value.hint


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
