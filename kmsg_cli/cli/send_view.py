"""How `kmsg send` shows a plan (dry run) and a report, for people and for --json."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kmsg_cli.channels import describe
from kmsg_cli.cli.output import Output, counted, them
from kmsg_cli.cli.plain import escape, plain_stream, plain_table
from kmsg_cli.config import Profile
from kmsg_cli.errors import KmsgError
from kmsg_cli.models import Job, Message
from kmsg_cli.normalize.phone import format_phone
from kmsg_cli.providers.base import SIMULATED_NOTE
from kmsg_cli.providers.catalog import capabilities
from kmsg_cli.sending import Outcome, Planned, SendReport, notices
from kmsg_cli.when import TimeView

if TYPE_CHECKING:
    from rich.console import Console


def _message_data(message: Message, times: TimeView) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "to": str(message.to),
        "type": message.type.value,
        "bytes": message.byte_length,
    }
    if message.subject:
        data["subject"] = message.subject
    if message.template_id:
        data["template"] = message.template_id
    if message.scheduled_at:
        data["scheduled_at"] = times.iso(message.scheduled_at)
    if message.failover:
        data["failover"] = {"type": message.failover.type.value, "text": message.failover.text}
    if message.options:
        data["options"] = dict(message.options)
    if message.files:
        data["files"] = list(message.files)
    return data


def _shown(recipient: object) -> str:
    """A recipient as people write it (010-1234-5678); JSON keeps the digits."""
    return format_phone(str(recipient))


def _is_simulated(profile: Profile, provider_id: str) -> bool:
    config = profile.providers.get(provider_id)
    return config is not None and capabilities(config.type).simulated


def show_plan(
    out: Output,
    planned: list[Planned],
    profile: Profile,
    template_texts: Mapping[str, str] | None = None,
) -> None:
    """A dry run's plan; `template_texts`: an AlimTalk's template as its vendor has it
    registered, filled in, by message id (those that were read)."""
    filled = template_texts or {}
    for item in planned:
        for notice in item.message.warnings:
            out.warning(notice.code, notice.message)
    times = TimeView(profile.timezone)
    rows = []
    checks = [describe(item.message) for item in planned]
    for item, checked in zip(planned, checks, strict=True):
        row = _message_data(item.message, times)
        row.update(provider_id=item.provider_id, text=item.message.text)
        if item.message.message_id in filled:
            row["template_text"] = filled[item.message.message_id]
        if len(item.candidates) > 1:
            row["failover_providers"] = list(item.candidates[1:])
        if checked:
            row["checks"] = checked
        if item.passed_over:
            row["passed_over"] = [{"provider_id": p, "reason": r} for p, r in item.passed_over]
        rows.append(row)
    data = {"dry_run": True, "profile": profile.name, "messages": rows}

    def render(console: Console) -> None:
        scheduled = any(item.message.scheduled_at for item in planned)
        columns = (
            "to",
            "type",
            "bytes",
            "provider",
            *(("at",) if scheduled else ()),
            *(("checks",) if any(checks) else ()),
            "text",
        )
        cells = []
        for item, checked in zip(planned, checks, strict=True):
            message = item.message
            text = message.text or (
                f"(template {message.template_id})" if message.template_id else "(no text)"
            )
            if message.message_id in filled:
                text = f"(template {message.template_id}) {filled[message.message_id]}"
            text = text.expandtabs(4)  # rich sizes a cell by its tab as one column, then crops
            when = (times.human(message.scheduled_at) or "now",) if scheduled else ()
            cells.append(
                (
                    _shown(message.to),
                    message.type.value,
                    # a template's text is the vendor's: its size is not ours to count
                    str(message.byte_length) if message.text or not message.template_id else "",
                    item.provider_id,
                    *when,
                    *(("; ".join(checked),) if any(checks) else ()),
                    text,
                )
            )
        drawn = plain_table(columns, cells) if plain_stream(sys.stdout) else None
        if drawn is not None:  # outside a terminal: the text rich would print, without rich
            sys.stdout.write(drawn)
            sys.stdout.flush()
        else:
            from rich.table import Table

            from kmsg_cli.cli.tables import print_table

            table = Table(title=None, show_edge=False, header_style="bold")
            for column in columns:
                table.add_column(
                    column, overflow="fold", justify="right" if column == "bytes" else "left"
                )
            for row in cells:
                table.add_row(*row)
            print_table(console, table)
        for item in planned:
            for provider_id, reason in item.passed_over:
                console.print(
                    f"{_shown(item.message.to)}: {item.provider_id} instead of {provider_id}: "
                    f"{reason}",
                    markup=False,
                )
        count = len(planned)
        console.print(
            f"Dry run: {counted(count, 'message')} validated, nothing sent "
            f"(profile {profile.name}).",
            markup=False,
        )

    out.result(data, render)


def show_queued(
    out: Output,
    planned: list[Planned],
    jobs: list[Job],
    profile: Profile,
    held: Mapping[str, Job] | None = None,
) -> None:
    """What `send --queue` queued. `held`: the jobs that existed under these ids before (an
    `--id` queued earlier): left as they were, so they are shown as they stand, not as queued."""
    times = TimeView(profile.timezone)
    held = held or {}
    rows = []
    jobs = [held.get(job.id, job) for job in jobs]
    for item, job in zip(planned, jobs, strict=True):
        row = _message_data(item.message, times)
        row.update(
            provider_id=item.provider_id,
            job_id=job.id,
            priority=job.priority,
            process_at=times.iso(job.process_at),
            deferred=item.deferred,
        )
        if job.id in held:
            row["already"] = str(held[job.id].status)
        rows.append(row)
    fresh = sum(1 for row in rows if "already" not in row)
    data = {"queued": fresh, "already_queued": len(rows) - fresh, "profile": profile.name}
    data["jobs"] = rows

    def render(console: Console) -> None:
        for row, item, job in zip(rows, planned, jobs, strict=True):
            if "already" in row:
                status = row["already"]
                then = "not queued again"
                if status == "failed":
                    then += f" (`kmsg queue retry --id {job.id}` sends it again)"
                console.print(
                    f"= {_shown(item.message.to)}  job {job.id} already exists ({status}); {then}",
                    markup=False,
                )
                continue
            when = "at " + times.human(job.process_at) if row["deferred"] else "now"
            if item.message.scheduled_at and not row["deferred"]:
                when += f", scheduled for {times.human(item.message.scheduled_at)}"
            console.print(
                f"queued {_shown(item.message.to)}  {row['type']}  via {row['provider_id']}  "
                f"({when})  id {row['job_id']}",
                markup=False,
            )
        line = f"{fresh:,} queued"
        if fresh < len(rows):
            line += f", {len(rows) - fresh:,} already in the ledger"
        line += f" (profile {profile.name})"
        waiting = fresh + sum(1 for row in rows if row.get("already") in ("pending", "processing"))
        if waiting:
            line += f"; `{out.kmsg('queue process --drain')}` sends {them(waiting)}"
        console.print(line, markup=False)

    out.result(data, render)


def _outcome_data(outcome: Outcome, times: TimeView) -> dict[str, Any]:
    data = _message_data(outcome.message, times)
    data.update(
        provider_id=outcome.provider_id,
        accepted=outcome.accepted,
        status=outcome.status,
        already_sent=outcome.previous is not None,
    )
    result = outcome.result
    if outcome.previous is not None:
        data["provider_message_id"] = outcome.previous.provider_message_id
    if result is not None:
        data["provider_message_id"] = result.provider_message_id or None
        if result.group_id:
            data["group_id"] = result.group_id
        data["simulated"] = result.simulated
        if result.simulated:
            data["note"] = SIMULATED_NOTE
        if not result.accepted:
            data["error"] = {
                "code": result.error_code,
                "message": result.error_message,
                "retryable": result.retryable,
                "outcome_unknown": result.outcome_unknown,
            }
    data["warnings"] = [n.to_dict() for n in notices(outcome)]
    return data


def show_report(out: Output, report: SendReport, profile: Profile, hint: str | None) -> None:
    """The outcome of each message and the summary; `hint`, the error's (what to do next)."""
    for outcome in report.outcomes:
        for notice in outcome.message.warnings:
            out.warning(notice.code, notice.message)
    if report.simulated:
        out.warnings.append({"code": "SIMULATED", "message": SIMULATED_NOTE})
    times = TimeView(profile.timezone)
    unknown = [o for o in report.outcomes if o.result is not None and o.result.outcome_unknown]
    summary = {
        "total": len(report.outcomes),
        "accepted": report.accepted,
        "already_sent": report.already_sent,
        "failed": report.failed,
        "unknown": len(unknown),  # of the failed, those the provider may have accepted
    }
    data = {
        "profile": profile.name,
        "simulated": report.simulated,
        "summary": summary,
        "results": [_outcome_data(o, times) for o in report.outcomes],
    }
    error = _report_error(report)
    if error is not None and hint is not None:
        error.hint = hint

    def render(console: Console) -> None:
        for outcome in report.outcomes:
            console.print(_outcome_line(outcome, times), markup=True, highlight=False)
        parts = [f"{report.accepted} accepted"]
        if report.already_sent:
            parts.append(f"{report.already_sent} already sent")
        if report.failed > len(unknown):
            parts.append(f"{report.failed - len(unknown)} failed")
        if unknown:
            parts.append(f"{len(unknown)} outcome unknown")
        console.print(f"{', '.join(parts)} (profile {profile.name})", markup=False)
        if report.simulated:
            console.print(f"[yellow]note:[/] {SIMULATED_NOTE}.", markup=True)

    out.result(data, render, ok=report.failed == 0, error=error)


def _report_error(report: SendReport) -> KmsgError | None:
    if report.failed == 0:
        return None
    total = len(report.outcomes)
    if report.failed < total:
        return KmsgError(
            f"{report.failed} of {total} messages failed; the others were accepted",
            code="PARTIAL_FAILURE",
        )
    if report.errors:
        first = report.errors[0]
        return KmsgError(first.message, code=first.code, hint=first.hint)
    return KmsgError("no message was accepted", code="SEND_FAILED")


def _outcome_line(outcome: Outcome, times: TimeView) -> str:
    message = outcome.message
    if message.template_id and not message.byte_length:
        size = f"template {escape(message.template_id)}"
    elif message.files and not message.byte_length:  # a fax: its documents, no text
        size = counted(len(message.files), "document")
    else:
        size = counted(message.byte_length, "byte")
    head = f"{_shown(message.to)}  {message.type.value} ({size})"
    if outcome.previous is not None:
        return (
            f"[cyan]=[/] {head}  already sent earlier via {escape(outcome.provider_id)} "
            f"(status {outcome.previous.status}); not sent again  id {escape(message.message_id)}"
        )
    result = outcome.result
    assert result is not None
    if result.accepted:
        verb = "accepted"
        if message.scheduled_at:
            verb = f"scheduled for {times.human(message.scheduled_at)}"
        return (
            f"[green]✓[/] {head}  {verb} by {escape(outcome.provider_id)}  "
            f"id {escape(message.message_id)}"
        )
    reason = escape(f"{result.error_code}: {result.error_message}")
    if result.outcome_unknown:  # its id is how it is followed up
        return f"[yellow]?[/] {head}  outcome unknown: {reason}  id {escape(message.message_id)}"
    return f"[red]✗[/] {head}  {reason}"


def show_all_skipped(out: Output) -> None:
    """`--no-duplicates` left nothing to send: say so, exit 0 (the warnings say why)."""
    skipped = [w for w in out.warnings if w["code"] == "DUPLICATE_CONTENT"]

    def render(console: Console) -> None:
        console.print(
            "nothing sent: every recipient got the same content recently (--no-duplicates)",
            markup=False,
        )

    out.result({"sent": 0, "skipped": len(skipped)}, render)
