"""Option values checked once: counts and durations that must be finite and positive, numbers
within their range (queue priorities that the jobs table can store, concurrency, attempts), and
names that must be one of a known list.

`float("nan")` compares false with everything, so `--max-seconds nan` would never stop a run
and `-1` would stop it before it starts; both are usage errors (exit 2) instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kmsg_cli.errors import KmsgError, UsageError, printable


def check_count(value: int | None, option: str, *, maximum: int | None = None) -> None:
    """`value` must be at least 1 (and at most `maximum`); None means "not given"."""
    if value is None:
        return
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"1..{maximum:,}" if maximum is not None else "at least 1"
        raise _out_of_range(option, value, bound, "INVALID_LIMIT")


def _out_of_range(option: str, value: int, bound: str, code: str) -> UsageError:
    return UsageError(
        f"{option} {value} is out of range ({bound})",
        code=code,
        field=option.lstrip("-"),
        value=str(value),
    )


def check_range(value: int, option: str, low: int, high: int, *, code: str) -> None:
    """UsageError `code` unless low <= value <= high."""
    if not low <= value <= high:
        raise _out_of_range(option, value, f"{low}..{high}", code)


def check_duration(
    value: str, option: str, *, suggest: str, at_most: tuple[int, str], why: str = ""
) -> int:
    """A duration with a unit (`when.parse_typed_duration`) in milliseconds, at most
    `at_most` = (milliseconds, as people read them); else UsageError INVALID_DURATION, its
    message ending with `why`."""
    from kmsg_cli.when import parse_typed_duration

    field = option.lstrip("-")
    milliseconds = parse_typed_duration(value, field=field, suggest=suggest)
    limit_ms, limit = at_most
    if milliseconds > limit_ms:
        raise UsageError(
            f"{option} {value} is too long (at most {limit}){why}",
            code="INVALID_DURATION",
            field=field,
            value=value,
        )
    return milliseconds


def check_seconds(value: float | None, option: str) -> None:
    """`value` must be a finite number of seconds above 0; None means "not given"."""
    if value is None:
        return
    if not math.isfinite(value) or value <= 0:
        raise UsageError(
            f"{option} {value} must be a positive, finite number of seconds",
            code="INVALID_DURATION",
            field=option.lstrip("-"),
            value=str(value),
        )


# kmsg_jobs.priority is an INTEGER column (32 bits on PostgreSQL).
PRIORITY_RANGE = (-(2**31), 2**31 - 1)


def check_priority(priority: int) -> None:
    """UsageError INVALID_PRIORITY outside what the jobs table stores."""
    check_range(priority, "--priority", *PRIORITY_RANGE, code="INVALID_PRIORITY")


def check_concurrency(concurrency: int) -> None:
    """`--concurrency`: 1 to 256 requests in flight (else INVALID_CONCURRENCY)."""
    check_range(concurrency, "--concurrency", 1, 256, code="INVALID_CONCURRENCY")


def check_max_attempts(max_attempts: int) -> None:
    """`--max-attempts`: 1 to 20 attempts of a message (else INVALID_MAX_ATTEMPTS)."""
    check_range(max_attempts, "--max-attempts", 1, 20, code="INVALID_MAX_ATTEMPTS")


def check_choice(
    name: str,
    choices: Sequence[str],
    what: str,
    code: str,
    *,
    field: str,
    given: str | None = None,
    hint: str | None = None,
    error: type[KmsgError] = UsageError,
) -> str:
    """`name` must be one of `choices`; else `error` with `code`: "unknown <what> '<given>'
    (field '<field>')", where `given` is the value as typed (default: `name`) and the hint
    lists the choices (default: separated by commas). Returns `name`."""
    if name not in choices:
        given = name if given is None else given
        from difflib import get_close_matches  # only for this error

        near = get_close_matches(name, choices, n=1, cutoff=0.7)  # a typo: DELIVERD
        raise error(
            f"unknown {what} '{printable(given)}' (field '{field}')"
            + (f"; did you mean {near[0]}?" if near else ""),
            code=code,
            field=field,
            value=given,
            hint=", ".join(choices) if hint is None else hint,
        )
    return name
