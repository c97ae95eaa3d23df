"""Deleting history safely (`kmsg db purge`, `kmsg queue purge`): show, ask, then delete.

Both commands first say what they would delete (rows per table and the cut-off time in the
profile's zone). `--dry-run` stops there. A person at a terminal is asked to confirm; a script
passes `--yes`; without a terminal and without `--yes` nothing is deleted and the command
exits 2, so a cron line can never delete on a guess (docs/cli.md, "Purging").
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from kmsg_cli.cli.options import dry_run_option, option, yes_option
from kmsg_cli.cli.output import counted
from kmsg_cli.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from kmsg_cli.cli.runtime import Runtime

TRACKING_TABLE = "kmsg_delivery_tracking"
JOBS_TABLE = "kmsg_jobs"
WHAT = {
    TRACKING_TABLE: "tracking rows with a final status (DELIVERED, FAILED, CANCELLED, UNKNOWN)",
    JOBS_TABLE: "jobs that finished (completed, failed or cancelled)",
}

OlderThanOpt = Annotated[
    str,
    option("--older-than", "AGE", "Age with a unit: 90d, 12w, 36h (not a bare number)."),
]
YesOpt = Annotated[
    bool,
    yes_option("Delete without asking (for scripts and cron)."),
]
DryRunOpt = Annotated[
    bool,
    dry_run_option("Only show what would be deleted."),
]


# An age in minutes: `6m` (not `6ms`). A retention age is days or weeks; `m` typed for months
# would delete nearly all history, so minutes are refused and hours asked for instead.
_MINUTES = re.compile(r"(?i)(\d+(?:\.\d+)?)\s*m(?!s)")


@dataclass(frozen=True)
class Plan:
    """What a purge deletes: rows finished before `cutoff_ms`, counted per table."""

    older_than: str
    cutoff_ms: int
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def cutoff_ms(runtime: Runtime, older_than: str) -> int:
    """Now minus `older_than` (a unit is required), in epoch milliseconds."""
    from kmsg_cli.models import epoch_ms
    from kmsg_cli.when import parse_typed_duration

    age = parse_typed_duration(older_than, field="older-than", suggest="d")
    minutes = _MINUTES.search(older_than)
    if minutes is not None:  # `6m` typed for six months would delete almost everything
        whole = _MINUTES.fullmatch(older_than.strip())
        months = (
            f"for about {minutes[1]} months write {float(minutes[1]) * 30:g}d; " if whole else ""
        )
        raise UsageError(
            f"--older-than {older_than} would be an age in minutes: m means minutes, not months "
            "(field 'older-than')",
            code="INVALID_DURATION",
            field="older-than",
            value=older_than,
            hint=f"{months}a retention age is written in days or weeks (90d, 12w), or hours",
        )
    # Nothing is older than 1970: a longer age deletes nothing, and 0 keeps the SQL in range.
    return max(0, epoch_ms(runtime.now()) - age)


def describe(plan: Plan, runtime: Runtime) -> list[str]:
    """The plan for people: the cut-off in the profile's zone and the rows per table."""
    when = runtime.times().human(plan.cutoff_ms)
    lines = [f"finished before {when} (older than {plan.older_than}):"]
    width = max(len(f"{count:,}") for count in plan.counts.values())
    for table, count in plan.counts.items():
        lines.append(f"  {table:<24}{count:>{width},} {WHAT[table]}")
    return lines


def carry_out(
    runtime: Runtime,
    plan: Plan,
    *,
    yes: bool,
    dry_run: bool,
    command: str,
    delete: Callable[[], dict[str, int]],
) -> None:
    """Show the plan; delete after --yes or a 'y' at the terminal; report the result."""
    out = runtime.out
    times = runtime.times()
    data: dict[str, Any] = {
        "older_than": plan.older_than,
        "cutoff": times.iso(plan.cutoff_ms),
        "dry_run": dry_run,
        "would_delete": dict(plan.counts),
    }
    lines = describe(plan, runtime)
    if dry_run:
        data["deleted"] = dict.fromkeys(plan.counts, 0)
        out.result(data, lambda console: _print(console, [*lines, "dry run: nothing deleted"]))
        return
    if not yes:
        if not _stdin_is_terminal():
            raise UsageError(
                f"{command} asks before it deletes ({counted(plan.total, 'row')} now), but "
                "there is no terminal to ask on (field 'yes')",
                code="CONFIRMATION_REQUIRED",
                field="yes",
                value="",
                hint=f"{command} --older-than {plan.older_than} --dry-run shows what it "
                "would delete; add --yes to delete without asking",
            )
        if plan.total and not _confirmed(runtime, lines, plan.total):
            data["deleted"] = dict.fromkeys(plan.counts, 0)
            data["declined"] = True
            out.result(data, lambda console: _print(console, ["nothing deleted"]))
            return
    deleted = delete()
    data["deleted"] = deleted
    summary = ", ".join(f"{deleted.get(table, 0):,} from {table}" for table in plan.counts)
    when = times.human(plan.cutoff_ms)
    out.result(
        data,
        lambda console: _print(console, [f"deleted {summary} (finished before {when})"]),
    )


def _confirmed(runtime: Runtime, lines: list[str], total: int) -> bool:
    err = runtime.out.err
    for line in lines:
        err.print(line, markup=False, highlight=False)
    question = f"Delete {counted(total, 'row')}? This cannot be undone. [y/N] "
    err.print(question, end="", markup=False)
    answer = sys.stdin.readline()
    if not answer:  # end of input: no answer is no
        err.print("", markup=False)
    return answer.strip().lower() in ("y", "yes")


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _print(console: Console, lines: list[str]) -> None:
    for line in lines:
        console.print(line, markup=False, highlight=False)
