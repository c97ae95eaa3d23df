"""Parse `--at WHEN` into an aware UTC datetime. Pure: the caller passes `now`.

Accepted forms: ISO 8601 with an offset or `Z`, local `YYYY-MM-DD HH:MM[:SS]` in an IANA time
zone, and relative `+10m` / `+2h` / `+1h30m` / `+1d`. A time that is not strictly after `now`
is an error (`PAST_TIME`).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote

__all__ = ["format_local", "load_zone", "parse_when"]

_FORMS_HINT = (
    "use ISO 8601 with an offset (2026-11-22T10:00:00+09:00), local 'YYYY-MM-DD HH:MM' "
    "in the profile time zone, or relative +10m, +2h, +1h30m, +1d"
)

# The date and an HH:MM time are mandatory; fromisoformat would also take a bare date (midnight)
# and compact forms, which are more likely typos than intent.
_ABSOLUTE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?"
    r"\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_RELATIVE = re.compile(r"\+(?:\s*\d+\s*[a-z]+)+\s*")
_RELATIVE_PART = re.compile(r"(\d+)\s*([a-z]+)")
_MAX_UTC_OFFSET = timedelta(hours=14)  # Pacific/Kiritimati
_UNITS: dict[str, timedelta] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
}


def load_zone(timezone: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone named `timezone`, or `InvalidInput` code INVALID_TIMEZONE."""
    try:
        return ZoneInfo(timezone.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            f"{_quote(timezone)} is not a known IANA time zone (field '{field}')",
            code="INVALID_TIMEZONE",
            field=field,
            value=timezone,
            hint="use an IANA zone name such as Asia/Seoul or UTC",
        ) from None


def format_local(moment: datetime, timezone: str) -> str:
    """`moment` as 'YYYY-MM-DD HH:MM:SS KST' in `timezone` (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(load_zone(timezone))
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def _invalid_time(
    value: str, field: str, reason: str = "is not a time kmsg understands"
) -> InvalidInput:
    return InvalidInput(
        f"{_quote(value)} {reason} (field '{field}')",
        code="INVALID_TIME",
        field=field,
        value=value,
        hint=_FORMS_HINT,
    )


def _relative(text: str, value: str, now: datetime, field: str) -> datetime:
    delta = timedelta()
    try:
        for amount, unit in _RELATIVE_PART.findall(text.lower()):
            step = _UNITS.get(unit)
            if step is None:
                raise _invalid_time(value, field, f"has an unknown unit '{unit}'")
            delta += int(amount) * step
        return now + delta
    except (OverflowError, ValueError):  # ValueError: more digits than int() converts
        raise _invalid_time(value, field, "is too far in the future") from None


def _absolute(text: str, value: str, zone: ZoneInfo, field: str) -> datetime:
    # 3.11's fromisoformat takes "Z" but not "z" nor a space before the offset.
    text = re.sub(r"\s+(?=[Z+-])", "", text.upper())
    try:
        parsed = datetime.fromisoformat(text.replace(",", "."))
    except ValueError:
        raise _invalid_time(value, field, "is not a valid date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise _invalid_time(value, field, "is out of range") from None


def parse_when(
    value: str, *, now: datetime, timezone: str = "Asia/Seoul", field: str = "at"
) -> datetime:
    """Resolve `value` against `now` to an aware UTC datetime strictly after `now`."""
    zone = load_zone(timezone)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    text = value.strip()
    if _RELATIVE.fullmatch(text.lower()):
        moment = _relative(text, value, now, field)
    elif _ABSOLUTE.fullmatch(text):
        moment = _absolute(text, value, zone, field)
    else:
        raise _invalid_time(value, field)
    moment = moment.astimezone(UTC)
    try:
        moment + _MAX_UTC_OFFSET  # every zone (and the providers' Korea time) can show it
    except OverflowError:
        raise _invalid_time(value, field, "is out of range") from None
    if moment <= now:
        where = "in the past" if moment < now else "not in the future"
        raise InvalidInput(
            f"{_quote(text)} is {where} ({_shown(moment, timezone)}) (field '{field}')",
            code="PAST_TIME",
            field=field,
            value=value,
            hint=f"it is now {_shown(now, timezone)}; give a later time, e.g. +10m",
        )
    return moment


def _shown(moment: datetime, timezone: str) -> str:
    """`format_local`, or UTC for an instant the zone cannot show (year 1 west of UTC)."""
    try:
        return format_local(moment, timezone)
    except OverflowError:
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_MAX_DIGITS = 300  # int() refuses more than 4300; no sane duration has a tenth of that
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration(value: str | int | float, *, field: str = "duration") -> int:
    """`90d`, `2h`, `1h30m`, `30s`, `500ms`, or a number of seconds -> milliseconds (> 0).

    Config values reach here unchecked (TOML gives nan, inf, lists, dates): anything that is
    not a positive, finite duration of at least 1 ms is INVALID_DURATION.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _duration_error(str(value), field)
    if isinstance(value, int | float):
        millis = value * 1000
        if (isinstance(millis, float) and not math.isfinite(millis)) or not millis >= 1:
            raise _duration_error(str(value), field)
        return int(millis)
    text = value.strip().lower().replace(" ", "")
    if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS:
        return parse_duration(int(text), field=field)
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            raise _duration_error(value, field)
        total += float(match.group(1)) * _UNIT_MS[match.group(2).lower()]
        position = match.end()
    if position != len(text) or not math.isfinite(total) or not total >= 1:
        raise _duration_error(value, field)
    return int(total)


def _duration_error(value: str, field: str) -> InvalidInput:
    return InvalidInput(
        f"'{value}' is not a duration (field '{field}')",
        code="INVALID_DURATION",
        field=field,
        value=value,
        hint="use e.g. 30s, 10m, 2h, 90d",
    )
