"""`kmsg cancel`: take back queued jobs and vendor-scheduled messages (docs/cancel.md)."""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.options import (
    ProviderFilter,
    batch_option,
    dry_run_option,
    ids_option,
    option,
    yes_option,
)
from kmsg_cli.cli.output import counted
from kmsg_cli.errors import EXIT_OK, EXIT_PARTIAL, KmsgError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from kmsg_cli.cancel import CancelReport
    from kmsg_cli.cli.runtime import Runtime

HELP = """Cancel messages that have not gone out yet: queued jobs, and sends scheduled at a vendor.

Queued or deferred jobs no worker has claimed are cancelled in the queue. Messages scheduled at SOLAPI, Aligo or IWINV (AlimTalk) are cancelled through the vendor, a whole group or request at a time, and only when every message of it is selected; the tracking row turns CANCELLED when the vendor confirms. What cannot be cancelled (sent, being sent, too close to its time, no cancel at that vendor) is listed with the reason. Every filter given must hold.

Shows the plan and asks before cancelling on a terminal (only y cancels); scripts pass --yes, and without a terminal and without --yes nothing is cancelled (exit 2). Exit 0 when everything selected was cancelled (or needed no cancel), 5 when some could not be.

[dim]Examples:[/]

  kmsg cancel --batch b1a2c3d4e5f6a7b8c --dry-run

  kmsg cancel --batch b1a2c3d4e5f6a7b8c --yes

  kmsg cancel --id order-42 --id order-43

  kmsg cancel --at-or-after "2026-12-24 09:00" --provider solapi --yes --json
"""  # noqa: E501

SHOWN = 50  # messages a human listing shows (--json lists them all)


@reports_errors
def cancel(
    ctx: typer.Context,
    batch: Annotated[str | None, batch_option("Messages of this batch.", pending=True)] = None,
    ids: Annotated[
        list[str] | None,
        ids_option("MESSAGE_ID", "This message; repeatable.", cv.cancellable_ids),
    ] = None,
    at_or_after: Annotated[
        str | None,
        option(
            "--at-or-after",
            "WHEN",
            "Messages due at or after WHEN: now, +2h, 2026-12-24 09:00, a date, 24h (ago).",
        ),
    ] = None,
    provider: ProviderFilter = None,
    dry_run: Annotated[
        bool,
        dry_run_option("Say what would be cancelled; change nothing."),
    ] = False,
    yes: Annotated[bool, yes_option("Do not ask before cancelling.")] = False,
) -> None:
    from kmsg_cli.cancel import WOULD_CANCEL, Selection
    from kmsg_cli.cancel import cancel as run_cancel

    runtime = runtime_of(ctx)
    if at_or_after is not None:
        # a selection by time takes "this profile's messages", which an ambiguous provider id
        # cannot tell; a batch or an id names its messages (and is how such a queue is cleared)
        runtime.refuse_ambiguous_providers()
    out = runtime.out
    now = runtime.now()
    selection = Selection(
        batch=batch,
        ids=tuple(ids or ()),
        at_or_after_ms=_when(at_or_after, runtime, now) if at_or_after is not None else None,
        provider_id=provider,
        providers=tuple(runtime.profile().providers),
    )
    selection.check()
    store, clients = runtime.store(), runtime.clients()
    if not dry_run and not yes:
        # what would be cancelled first: an unknown batch or id, or nothing to cancel, is
        # said as such rather than as a question that cannot be asked
        plan = run_cancel(selection, store=store, providers=clients, now=now, dry_run=True)
        if plan.counts[WOULD_CANCEL] and not _stdin_is_terminal():
            raise UsageError(
                f"kmsg cancel asks before cancelling "
                f"{counted(plan.counts[WOULD_CANCEL], 'message')}, but there is no terminal "
                "to ask on (field 'yes')",
                code="CONFIRMATION_REQUIRED",
                field="yes",
                value="",
                hint="--dry-run shows what would be cancelled; add --yes to cancel without asking",
            )
        if plan.counts[WOULD_CANCEL]:
            _render(plan, out.err)
            question = f"Cancel {counted(plan.counts[WOULD_CANCEL], 'message')}?"
            if not typer.confirm(question, err=True):
                data = {**plan.to_dict(), "declined": True}
                out.result(data, lambda console: console.print("nothing was cancelled"))
                raise typer.Exit(EXIT_OK)
    report = run_cancel(
        selection, store=store, providers=clients, now=runtime.now(), dry_run=dry_run
    )
    error = None
    if report.not_cancelled:
        hint = "the reasons are listed above (--json lists every one)"
        if report.not_cancelled < report.selected:
            text = f"{report.not_cancelled:,} of {counted(report.selected, 'selected message')}"
            error = KmsgError(f"{text} could not be cancelled", code="PARTIAL_CANCEL", hint=hint)
        else:  # not one: "1 of 1 ... (partial)" would say otherwise
            text = (
                "the selected message could not be cancelled"
                if report.selected == 1
                else f"none of the {report.selected:,} selected messages could be cancelled"
            )
            error = KmsgError(text, code="NOT_CANCELLED", hint=hint)

    def render(console: Console) -> None:
        _render(report, console)
        if report.other_providers:
            again = f"cancel --at-or-after {shlex.quote(at_or_after or '')}"
            left = runtime.left_for_others(report.other_providers, "message", again)
            console.print(left, markup=False)

    out.result(report.to_dict(), render, ok=error is None, error=error)
    raise typer.Exit(EXIT_PARTIAL if error else EXIT_OK)


def _when(value: str, runtime: Runtime, now: datetime) -> int:
    """`now`, `+2h` (from now), or a point in time as the other filters take it (`24h` ago,
    a date, a date-time in the profile's zone), in epoch milliseconds."""
    from kmsg_cli.models import epoch_ms
    from kmsg_cli.when import parse_when

    text = value.strip()
    if text.startswith("+"):
        timezone = runtime.profile().timezone
        start = parse_when(text, now=now, timezone=timezone, field="at-or-after", future=False)
        return epoch_ms(start)
    moment = runtime.moment_ms(text, "at-or-after")
    assert moment is not None
    return moment


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _render(report: CancelReport, console: Console) -> None:
    from kmsg_cli.cancel import ALREADY_CANCELLED, CANCELLED, NOTHING_TO_CANCEL, WOULD_CANCEL

    done = report.counts[WOULD_CANCEL if report.dry_run else CANCELLED]
    verb = "would cancel" if report.dry_run else "cancelled"
    console.print(
        f"{verb} {done:,} of {counted(report.selected, 'selected message')}: "
        f"{report.where['queue']:,} in the queue, {report.where['vendor']:,} at the vendor",
        markup=False,
    )
    for unit in report.units:
        state = unit.reason or unit.outcome.replace("_", " ")
        console.print(
            f"  {unit.provider_id} {unit.unit}: {counted(len(unit.rows), 'message')}, {state}",
            markup=False,
        )
    extra = [  # only the kinds that occur: a line of zeros says nothing
        f"{count:,} {what}"
        for count, what in (
            (report.counts[ALREADY_CANCELLED], "already cancelled"),
            (report.counts[NOTHING_TO_CANCEL], "with nothing to cancel (failed, never sent)"),
        )
        if count
    ]
    if extra:
        console.print("; ".join(extra), markup=False)
    problems = [item for item in report.items if item.reason and item.outcome == "not_cancelled"]
    if not problems:
        return
    from rich.table import Table

    from kmsg_cli.cli.tables import print_table

    console.print(f"could not cancel {len(problems):,}:", markup=False)
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "reason", "provider", "why"):
        table.add_column(column, overflow="fold")
    for item in problems[:SHOWN]:
        table.add_row(item.message_id, item.reason or "", item.provider_id or "", item.detail)
    print_table(console, table)
    if len(problems) > SHOWN:
        console.print(f"... and {len(problems) - SHOWN:,} more (--json lists all)", markup=False)
