"""Every duration a person types needs a unit; a bare number is exit 2 with a suggestion.
Flags named for their unit (`--max-seconds`) take a positive number of seconds."""

from __future__ import annotations

import pytest

from tests.conftest import Run


@pytest.mark.parametrize(
    ("args", "field", "suggestion"),
    [
        (("db", "purge", "--older-than", "90", "--yes"), "older-than", "90d"),
        (("queue", "purge", "--older-than", "30", "--yes"), "older-than", "30d"),
        (("queue", "process", "--drain", "--lease", "5"), "lease", "5m"),
        (("track", "watch", "--interval", "30", "--max-passes", "1"), "interval", "30s"),
    ],
    ids=["db purge", "queue purge", "queue process", "track watch"],
)
def test_a_bare_number_is_refused_with_a_suggested_unit(
    run: Run, args: tuple[str, ...], field: str, suggestion: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2
    error, hint = result.stderr.splitlines()
    number = suggestion.rstrip("smhd")
    assert error == f"error: INVALID_DURATION: '{number}' has no unit (field '{field}')"
    assert hint.startswith(f"hint: did you mean {suggestion}? a duration needs a unit")


@pytest.mark.parametrize(
    "args",
    [
        ("queue", "process", "--drain", "--lease", "90s"),
        ("queue", "process", "--drain", "--max-seconds", "5"),
        ("track", "watch", "--interval", "1ms", "--max-passes", "1"),
        ("track", "run-once", "--max-seconds", "2.5"),
    ],
    ids=["lease", "process max-seconds", "interval", "run-once max-seconds"],
)
def test_durations_with_units_and_seconds_by_name_are_taken(
    run: Run, args: tuple[str, ...]
) -> None:
    assert run(*args).exit_code == 0


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_max_seconds_must_be_a_positive_number(run: Run, value: str) -> None:
    result = run("track", "run-once", f"--max-seconds={value}")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: INVALID_DURATION: --max-seconds {float(value)} ")


def test_an_interval_longer_than_a_day_is_refused(run: Run) -> None:
    result = run("track", "watch", "--interval", "2d", "--max-passes", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: INVALID_DURATION: --interval 2d is too long")


@pytest.mark.parametrize("value", ["0d", "0", "0.0001s", "0h0m"])
def test_a_zero_duration_is_named_as_zero_not_as_no_duration(run: Run, value: str) -> None:
    result = run("db", "purge", "--older-than", value, "--dry-run")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: INVALID_DURATION: '{value}' is shorter than 1ms: a duration must be longer "
        "than zero (field 'older-than')"
    )
    assert "did you mean" not in result.stderr  # `0d` would be refused in its turn
