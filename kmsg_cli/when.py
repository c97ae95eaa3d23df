"""Times and durations as people type them and as kmsg shows them. Pure: callers pass `now`.

- `parse_when` (`--at`): ISO 8601 with an offset or `Z`, local `YYYY-MM-DD HH:MM[:SS]` in an
  IANA time zone, or relative `+10m` / `+2h` / `+1h30m` / `+1d`; strictly after `now`.
- `parse_moment` (`--since`, `--until`): a duration back from now (`24h`), a bare date or
  `today` / `yesterday` (midnight in the zone), or a date-time (`2026-12-05 09:00`,
  `today 09:00`).
- `parse_typed_duration` (flags such as `--older-than`): a unit is required, `90` is an error
  that suggests `90d`. `parse_duration` also takes a plain number of seconds, for the config
  values docs/configuration.md lists.
- `TimeView`: the one way times are shown: `2026-12-07 09:00:00 KST` for people, ISO 8601 with
  the zone's offset (`2026-12-07T09:00:00+09:00`) for `--json`, TSV and CSV (docs/cli.md).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = [
    "TimeView",
    "format_local",
    "load_zone",
    "parse_duration",
    "parse_moment",
    "parse_typed_duration",
    "parse_when",
]

_FORMS_HINT = (
    "use ISO 8601 with an offset (2026-11-22T10:00:00+09:00), local 'YYYY-MM-DD HH:MM' "
    "or 'tomorrow HH:MM' in the profile time zone, or relative +10m, +2h, +1h30m, +1d"
)
# `today 18:00`, `tomorrow 09:00` (오늘, 내일): the day named, the time in the profile's zone
_NAMED_DAY = r"(?i)(today|tomorrow|오늘|내일)\s*([01]?\d|2[0-3]):([0-5]\d)"
# `--since yesterday`, `--until today 09:00`: a filter may also name yesterday (어제), and the
# time is optional (midnight, the start of that day)
_MOMENT_DAY = r"(?i)(yesterday|today|tomorrow|어제|오늘|내일)(?:\s*([01]?\d|2[0-3]):([0-5]\d))?"
_DAY_OFFSETS = {"yesterday": -1, "어제": -1, "today": 0, "오늘": 0, "tomorrow": 1, "내일": 1}

# The date and an H:MM time are mandatory; fromisoformat would also take a bare date (midnight)
# and compact forms, which are more likely typos than intent. The hour may have one digit:
# Excel shows a date-time cell as `2026-12-09 9:00`, and so writes it to a CSV file.
_ABSOLUTE = (
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?"
    r"\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
# Excel in Korean shows a 12-hour clock as `2026-12-09 오후 3:00` (and writes it so to a CSV
# file); English spells it `2026-12-09 3:00 PM`. Both are read as the 24-hour time they name,
# after a date or a day word (`내일 오후 3:00`, `tomorrow 3:00 pm`).
_TWELVE_HOUR = (
    r"(?i)(\d{4}-\d{2}-\d{2}(?=\s)|today|tomorrow|yesterday|오늘|내일|어제)\s*"
    r"(?:(오전|오후|AM|PM)\s*(\d{1,2})(:\d{2}(?::\d{2})?)|(\d{1,2})(:\d{2}(?::\d{2})?)\s*(AM|PM))"
)
# Korean says the clock in words: `내일 오전 9시`, `오후 3시 30분`, `15시`, `3시 반` (half past).
# The hour and minutes become `9:00`, `3:30` where they end the text. An hour from 1 to 12
# needs 오전 or 오후: `내일 9시` is said of 9 in the morning and 9 in the evening alike.
_KOREAN_CLOCK = r"(?<![\d:])(\d{1,2})\s*시(?:\s*(?:(\d{1,2})\s*분|(반)))?$"
_RELATIVE = r"\+(?:\s*\d+\s*[a-z]+)+\s*"
_RELATIVE_PART = r"(\d+)\s*([a-z]+)"
_MAX_UTC_OFFSET = timedelta(hours=14)  # Pacific/Kiritimati
_UNITS: dict[str, timedelta] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
}


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled, on first use: most runs parse no time or duration at all."""
    return re.compile(pattern)


def load_zone(timezone: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone named `timezone`, or `InvalidInput` code INVALID_TIMEZONE."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    return _stamp(moment.astimezone(load_zone(timezone)))


def _stamp(local: datetime) -> str:
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def _invalid_time(
    value: str,
    field: str,
    reason: str = "is not a time kmsg understands",
    hint: str = _FORMS_HINT,
) -> InvalidInput:
    return InvalidInput(
        f"{_quote(value)} {reason} (field '{field}')",
        code="INVALID_TIME",
        field=field,
        value=value,
        hint=hint,
    )


def _relative(text: str, value: str, now: datetime, field: str) -> datetime:
    delta = timedelta()
    try:
        for amount, unit in _pattern(_RELATIVE_PART).findall(text.lower()):
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
    text = re.sub(r"(?<=[T ])(\d):", r"0\1:", text)  # `9:00` as fromisoformat wants it
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


def _korean_clock(text: str, value: str, field: str) -> str:
    """`내일 오전 9시`, `오후 3시 30분`, `15시` with the clock as digits (`내일 오전 9:00`)."""
    if "시" not in text:
        return text
    found = _pattern(_KOREAN_CLOCK).search(text)
    if found is None:
        return text
    hour, minute = int(found[1]), 30 if found[3] else int(found[2] or 0)
    if minute > 59:
        raise _invalid_time(value, field, "is not a valid time (minutes 0 to 59)")
    before, words = text[: found.start()].rstrip(), text[found.start() :]
    if before and 1 <= hour <= 12 and not before.endswith(("오전", "오후")):
        # `9시` is said of the morning and the evening alike: which one is not guessed
        raise _invalid_time(
            value,
            field,
            "does not say 오전 or 오후",
            f"write '{before} 오전 {words}' or '{before} 오후 {words}'",
        )
    clock = f"{hour}:{minute:02d}"
    return f"{before} {clock}" if before else clock


def _twenty_four_hour(text: str, value: str, field: str) -> str:
    """`2026-12-09 오후 3:00` / `2026-12-09 3:00 PM` as `2026-12-09 15:00`, and the Korean
    clock in words (`내일 오후 3시`) so too; other text as it is."""
    text = _korean_clock(text, value, field)
    found = _pattern(_TWELVE_HOUR).fullmatch(text)
    if found is None:
        return text
    day, marker, hour, rest = (
        found.group(1, 2, 3, 4) if found[2] else (found[1], found[7], found[5], found[6])
    )
    if not 1 <= int(hour) <= 12:
        raise _invalid_time(value, field, "is not a valid 12-hour time (1 to 12)")
    afternoon = marker.upper() in ("오후", "PM")
    return f"{day} {int(hour) % 12 + (12 if afternoon else 0):02d}{rest}"


def _named_day(found: re.Match[str], now: datetime, zone: ZoneInfo) -> datetime:
    """The day `found` names (today, 내일, ...) at its time, midnight when it gives none."""
    local = now.astimezone(zone) + timedelta(days=_DAY_OFFSETS[found[1].lower()])
    hour, minute = (int(found[2]), int(found[3])) if found[2] else (0, 0)
    # a wall-clock time of that date (a Korean day has no DST gap; fold 0 elsewhere)
    at = datetime(local.year, local.month, local.day, hour, minute, tzinfo=zone)
    return at.astimezone(UTC)


def _time_of_day(
    text: str, value: str, now: datetime, zone: ZoneInfo, field: str
) -> InvalidInput | None:
    """`09:00` alone: which day is a guess kmsg does not make for a send time; the hint
    names the next such moment with its date, ready to paste."""
    found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if found is None:
        return None
    local = now.astimezone(zone)
    at = local.replace(hour=int(found[1]), minute=int(found[2]), second=0, microsecond=0)
    day = "today"
    if at <= local:
        at += timedelta(days=1)
        day = "tomorrow"
    return _invalid_time(
        value,
        field,
        "is a time of day without a date",
        f"give the day too, e.g. '{day} {at:%H:%M}' or '{at:%Y-%m-%d %H:%M}' (the next "
        f"{at:%H:%M} in {zone.key}), or a relative time such as +2h",
    )


def parse_when(
    value: str,
    *,
    now: datetime,
    timezone: str = "Asia/Seoul",
    field: str = "at",
    future: bool = True,
) -> datetime:
    """Resolve `value` against `now` to an aware UTC datetime, strictly after `now` unless
    `future` is False (a filter: `+0m` is now)."""
    zone = load_zone(timezone)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    text = _twenty_four_hour(value.strip(), value, field)
    if _pattern(_RELATIVE).fullmatch(text.lower()):
        moment = _relative(text, value, now, field)
    elif _pattern(_ABSOLUTE).fullmatch(text):
        moment = _absolute(text, value, zone, field)
    elif named := _pattern(_NAMED_DAY).fullmatch(text):
        moment = _named_day(named, now, zone)
    else:
        raise _time_of_day(text, value, now, zone, field) or _invalid_time(value, field)
    moment = moment.astimezone(UTC)
    try:
        moment + _MAX_UTC_OFFSET  # every zone (and the providers' Korea time) can show it
    except OverflowError:
        raise _invalid_time(value, field, "is out of range") from None
    if future and moment <= now:
        where = "in the past" if moment < now else "not in the future"
        raise InvalidInput(
            f"{_quote(value.strip())} is {where} ({_shown(moment, timezone)}) (field '{field}')",
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


_DURATION_PART = r"(?i)(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)"
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
            raise _duration_error(str(value), field, zero=0 <= millis < 1)
        return int(millis)
    text = value.strip().lower().replace(" ", "")
    if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS:
        return parse_duration(int(text), field=field)
    position = 0
    total = 0.0
    for match in _pattern(_DURATION_PART).finditer(text):
        if match.start() != position:
            raise _duration_error(value, field)
        total += float(match.group(1)) * _UNIT_MS[match.group(2).lower()]
        position = match.end()
    if position != len(text) or not math.isfinite(total) or not total >= 1:
        raise _duration_error(value, field, zero=position == len(text) > 0 and 0 <= total < 1)
    return int(total)


def _duration_error(value: str, field: str, *, zero: bool = False) -> InvalidInput:
    if zero:  # `0d`, `0.5ms`: a duration, but under the 1 ms every duration must last
        message = f"'{value}' is shorter than 1ms: a duration must be longer than zero"
    else:
        message = f"'{value}' is not a duration"
    return InvalidInput(
        f"{message} (field '{field}')",
        code="INVALID_DURATION",
        field=field,
        value=value,
        hint="use e.g. 30s, 10m, 2h, 90d",
    )


_BARE_NUMBER = r"\d+(?:\.\d+)?"
DURATION_UNITS_HINT = "a duration needs a unit: 500ms, 30s, 10m, 2h, 90d, 2w"


def parse_typed_duration(value: str, *, field: str, suggest: str = "d") -> int:
    """A duration a person typed (`90d`, `2h`, `1h30m`) -> milliseconds (> 0).

    A bare number is refused: `--older-than 90` could mean seconds or days, and a wrong guess
    deletes history. The hint suggests the number with `suggest` as its unit.
    """
    text = value.strip()
    if _pattern(_BARE_NUMBER).fullmatch(text) and float(text) > 0:
        raise _no_unit(value, field, "INVALID_DURATION", f"{text}{suggest}", DURATION_UNITS_HINT)
    try:
        return parse_duration(text, field=field)
    except InvalidInput as error:
        error.hint = DURATION_UNITS_HINT
        raise


def _no_unit(value: str, field: str, code: str, suggestion: str, forms: str) -> InvalidInput:
    """A bare number where a duration belongs: name it, suggest it with a unit."""
    return InvalidInput(
        f"'{value.strip()}' has no unit (field '{field}')",
        code=code,
        field=field,
        value=value,
        hint=f"did you mean {suggestion}? {forms}",
    )


_DATE = r"\d{4}-\d{2}-\d{2}"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MOMENT_HINT = (
    "use a duration back from now (24h, 7d), a date (2026-12-05 or today, yesterday: midnight "
    "in the profile time zone), a date-time (2026-12-05 09:00, today 09:00, "
    "2026-12-05T09:00:00+09:00) or now"
)


def parse_moment(
    value: str, *, now: datetime, timezone: str = "Asia/Seoul", field: str = "since"
) -> datetime:
    """A point in time for a filter, as an aware UTC datetime (never before 1970).

    `24h` / `7d` / `1h30m`: that long before `now`; `2026-12-05`: midnight of that day in
    `timezone`; `2026-12-05 09:00[:SS]` in `timezone`, or with an offset / `Z`; `today`,
    `yesterday`, `tomorrow` (오늘, 어제, 내일): midnight of that day in `timezone`, or the time
    given after it (`yesterday 18:00`); `now` (지금): `now`. A bare number is an error (no
    unit), as for every duration.
    """
    zone = load_zone(timezone)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if value.strip().lower() in ("now", "지금"):
        return now
    text = _twenty_four_hour(value.strip(), value, field)
    if _pattern(_BARE_NUMBER).fullmatch(text):
        raise _no_unit(value, field, "INVALID_TIME", f"{text}d", _MOMENT_HINT)
    if _pattern(_DATE).fullmatch(text):
        try:
            day = datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            raise _moment_error(value, field, "is not a valid date") from None
        return max(EPOCH, _to_utc(day.replace(tzinfo=zone), value, field))
    if _pattern(_ABSOLUTE).fullmatch(text):
        try:
            moment = _absolute(text, value, zone, field)
        except InvalidInput as error:
            error.hint = _MOMENT_HINT
            raise
        return max(EPOCH, moment)
    if named := _pattern(_MOMENT_DAY).fullmatch(text):
        return _named_day(named, now, zone)
    try:
        millis = parse_duration(text, field=field)
    except InvalidInput:
        raise _moment_error(value, field) from None
    try:
        return max(EPOCH, now - timedelta(milliseconds=millis))
    except OverflowError:  # further back than datetime reaches: before 1970 all the same
        return EPOCH


def _to_utc(moment: datetime, value: str, field: str) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _moment_error(value, field, "is out of range") from None


def _moment_error(
    value: str, field: str, reason: str = "is not a time kmsg understands"
) -> InvalidInput:
    return _invalid_time(value, field, reason, hint=_MOMENT_HINT)


Moment = datetime | int | None
"""What a TimeView shows: an aware (or UTC-naive) datetime, epoch milliseconds, or nothing."""


class TimeView(NamedTuple):
    """Shows instants in one time zone: `human` for people, `iso` for machines.

    Every command renders times through one of these (built from the profile's `timezone`),
    so a table, `track show`, a summary and `--json` never disagree about a moment. (A named
    tuple: immutable, and nothing to build at import, unlike a dataclass.)
    """

    timezone: str = "Asia/Seoul"

    def local(self, moment: datetime | int) -> datetime | None:
        """`moment` in this zone, or None when it is outside what a datetime can hold."""
        try:
            if isinstance(moment, int):
                moment = datetime.fromtimestamp(moment / 1000, UTC)
            elif moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(load_zone(self.timezone))
        except (OverflowError, OSError, ValueError):
            return None

    def human(self, moment: Moment) -> str:
        """`2026-12-07 09:00:00 KST`; '' for no time; the raw number for an absurd one."""
        if moment is None:
            return ""
        local = self.local(moment)
        return str(moment) if local is None else _stamp(local)

    def iso(self, moment: Moment) -> str | None:
        """`2026-12-07T09:00:00+09:00` (seconds; the zone's offset); None for no time."""
        if moment is None:
            return None
        local = self.local(moment)
        if local is None:
            return str(moment)
        return local.isoformat(timespec="seconds")

    def clock(self, moment: Moment) -> str:
        """`09:00:05 KST`: the time of day, for progress lines."""
        local = self.local(moment) if moment is not None else None
        return "" if local is None else f"{local:%H:%M:%S} {local.tzname()}"
