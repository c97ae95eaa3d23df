"""`kmsg db purge` and `kmsg queue purge`: they show what they would delete, ask on a terminal,
delete with --yes, and refuse (exit 2) without either; an age needs a unit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli import terminal
from tests.conftest import Run

OLD_MS = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC: long before any cut-off used here


def _history(run: Run) -> None:
    """Three final tracking rows and three finished jobs (one queued, and the ledger rows of
    the two sent at once), all old; one fresh pending message."""
    assert (
        run("send", "--to", "010-1111-2222,010-1111-3333", "--text", "x", "--id", "old").exit_code
        == 0
    )
    assert (
        run("send", "--to", "010-1111-4444", "--text", "x", "--queue", "--id", "q").exit_code == 0
    )
    assert run("queue", "process", "--drain").exit_code == 0
    with sqlite3.connect(run.db) as conn:
        conn.execute(
            "UPDATE kmsg_delivery_tracking SET status = 'DELIVERED', status_updated_at = ?",
            (OLD_MS,),
        )
        conn.execute("UPDATE kmsg_jobs SET completed_at = ?", (OLD_MS,))
    assert (
        run("send", "--to", "010-1111-5555", "--text", "x", "--queue", "--id", "fresh").exit_code
        == 0
    )


def _counts(run: Run) -> tuple[int, int]:
    tracking = len(run.rows("SELECT message_id FROM kmsg_delivery_tracking"))
    return tracking, len(run.rows("SELECT id FROM kmsg_jobs"))


def test_without_a_terminal_and_without_yes_nothing_is_deleted(run: Run) -> None:
    _history(run)
    result = run("db", "purge", "--older-than", "90d")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: CONFIRMATION_REQUIRED: kmsg db purge asks before it deletes (6 rows now)"
    )
    assert "hint: kmsg db purge --older-than 90d --dry-run" in result.stderr
    assert "--yes" in result.stderr
    assert _counts(run) == (3, 4)


def test_without_yes_a_script_is_refused_even_when_nothing_is_old_enough(run: Run) -> None:
    # The same answer whatever the count: a cron line that lacks --yes fails on its first run,
    # not on the first day it would have deleted something.
    result = run("db", "purge", "--older-than", "90d")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: CONFIRMATION_REQUIRED: kmsg db purge asks before it deletes (0 rows now)"
    )


def test_dry_run_shows_rows_per_table_and_the_cut_off_in_kst(run: Run) -> None:
    _history(run)
    result = run("db", "purge", "--older-than", "90d", "--dry-run")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("finished before ") and lines[0].endswith(" KST (older than 90d):")
    assert lines[1].split()[:2] == ["kmsg_delivery_tracking", "3"]
    assert lines[2].split()[:2] == ["kmsg_jobs", "3"]
    assert lines[-1] == "dry run: nothing deleted"
    assert _counts(run) == (3, 4)


def test_dry_run_json_gives_counts_and_an_iso_cut_off(run: Run) -> None:
    _history(run)
    code, doc = run.json("queue", "purge", "--older-than", "30d", "--dry-run")
    assert code == 0
    data = doc["data"]
    assert data["dry_run"] is True
    assert data["would_delete"] == {"kmsg_jobs": 3} and data["deleted"] == {"kmsg_jobs": 0}
    assert data["cutoff"].endswith("+09:00") and "T" in data["cutoff"]
    assert _counts(run) == (3, 4)


def test_yes_deletes_final_rows_and_finished_jobs_only(run: Run) -> None:
    _history(run)
    code, doc = run.json("db", "purge", "--older-than", "90d", "--yes")
    assert code == 0
    assert doc["data"]["would_delete"] == {"kmsg_delivery_tracking": 3, "kmsg_jobs": 3}
    assert doc["data"]["deleted"] == {"kmsg_delivery_tracking": 3, "kmsg_jobs": 3}
    assert [r["id"] for r in run.rows("SELECT id FROM kmsg_jobs")] == ["fresh"]


def test_queue_purge_with_yes_deletes_finished_jobs(run: Run) -> None:
    _history(run)
    result = run("queue", "purge", "--older-than", "30d", "--yes")
    assert result.exit_code == 0
    assert result.stdout.startswith("deleted 3 from kmsg_jobs (finished before ")
    assert result.stdout.rstrip().endswith(" KST)")
    assert _counts(run) == (3, 1)


@pytest.mark.parametrize(
    ("command", "suggestion"),
    [(("db", "purge"), "90d"), (("queue", "purge"), "90d")],
    ids=["db", "queue"],
)
def test_an_age_without_a_unit_is_refused_with_a_hint(
    run: Run, command: tuple[str, ...], suggestion: str
) -> None:
    _history(run)
    result = run(*command, "--older-than", "90", "--yes")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: INVALID_DURATION: '90' has no unit (field 'older-than')",
        f"hint: did you mean {suggestion}? a duration needs a unit: 500ms, 30s, 10m, 2h, 90d, 2w",
    ]
    assert _counts(run) == (3, 4)


@pytest.mark.parametrize("command", [("db", "purge"), ("queue", "purge")], ids=["db", "queue"])
@pytest.mark.parametrize(
    ("age", "months"),
    [
        ("6m", "for about 6 months write 180d; "),
        ("6M", "for about 6 months write 180d; "),
        ("1h30m", ""),
    ],
)
def test_an_age_in_minutes_is_refused_as_a_likely_month(
    run: Run, command: tuple[str, ...], age: str, months: str
) -> None:
    _history(run)  # rows finished minutes ago: `6m` as minutes would delete them all
    result = run(*command, "--older-than", age, "--yes")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: INVALID_DURATION: --older-than {age} would be an age in minutes: m means "
        "minutes, not months (field 'older-than')",
        f"hint: {months}a retention age is written in days or weeks (90d, 12w), or hours",
    ]
    assert _counts(run) == (3, 4)  # nothing deleted
    assert run(*command, "--older-than", "500ms", "--dry-run").exit_code == 0  # ms: not minutes


# -- a real process, with and without a terminal ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "answer", "shown", "left"),
    [
        (
            ("db", "purge", "--older-than", "90d"),
            "y",
            [
                " KST (older than 90d):",
                "Delete 6 rows? This cannot be undone. [y/N]",
                "deleted 3 from kmsg_delivery_tracking, 3 from kmsg_jobs",
            ],
            (0, 1),
        ),
        (
            ("queue", "purge", "--older-than", "30d"),
            "n",
            ["kmsg_jobs", "Delete 3 rows? This cannot be undone. [y/N]", "nothing deleted"],
            (3, 4),
        ),
    ],
    ids=["yes deletes", "anything else keeps"],
)
def test_on_a_terminal_it_asks_first(
    run: Run,
    tmp_path: Path,
    args: tuple[str, ...],
    answer: str,
    shown: list[str],
    left: tuple[int, int],
) -> None:
    _history(run)
    env = terminal.environment(tmp_path / "home")
    code, output = terminal.on_terminal(["--db", str(run.db), *args], env, answer=answer)
    assert code == 0, output
    for text in shown:
        assert text in output
    assert _counts(run) == left


def test_in_a_pipe_without_yes_it_refuses(run: Run, tmp_path: Path) -> None:
    _history(run)
    env = terminal.environment(tmp_path / "home")
    # "y" on a piped stdin is no confirmation: a script cannot answer by accident
    result = terminal.in_pipe(
        ["--db", str(run.db), "db", "purge", "--older-than", "90d"], env, stdin="y\n"
    )
    assert result.returncode == 2
    assert "CONFIRMATION_REQUIRED" in result.stderr
    assert _counts(run) == (3, 4)
