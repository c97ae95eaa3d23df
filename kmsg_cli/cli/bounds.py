"""Numeric options checked once: counts and durations that must be finite and positive, and
queue priorities that the jobs table can store.

`float("nan")` compares false with everything, so `--max-seconds nan` would never stop a run
and `-1` would stop it before it starts; both are usage errors (exit 2) instead.
"""

from __future__ import annotations

import math

from kmsg_cli.errors import UsageError


def check_count(value: int | None, option: str, *, maximum: int | None = None) -> None:
    """`value` must be at least 1 (and at most `maximum`); None means "not given"."""
    if value is None:
        return
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"1..{maximum:,}" if maximum is not None else "at least 1"
        raise UsageError(
            f"{option} {value} is out of range ({bound})",
            code="INVALID_LIMIT",
            field=option.lstrip("-"),
            value=str(value),
        )


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
    low, high = PRIORITY_RANGE
    if not low <= priority <= high:
        raise UsageError(
            f"--priority {priority} is out of range ({low}..{high})",
            code="INVALID_PRIORITY",
            field="priority",
            value=str(priority),
        )
