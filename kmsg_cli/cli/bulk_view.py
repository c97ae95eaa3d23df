"""How `kmsg send-many` shows its work: progress on a TTY, problems, summary, exit code."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kmsg_cli.cli.bulk_lines import counts_text, hint_lines, problem_line, skipped_line, where_text
from kmsg_cli.cli.output import Output, count_column, counted, them, unread_template, were
from kmsg_cli.errors import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROVIDER,
    KmsgError,
)
from kmsg_cli.jobs.enqueue import EnqueueReport
from kmsg_cli.jobs.outcomes import BatchState, FailedRow
from kmsg_cli.jobs.stats import Halt, Stats
from kmsg_cli.normalize.phone import format_phone
from kmsg_cli.providers.base import SIMULATED_NOTE

SHOWN_PROBLEMS = 10


class BulkView:
    def __init__(
        self,
        out: Output,
        *,
        batch_id: str,
        total_rows: int,
        timezone: str = "Asia/Seoul",
        input_format: str = "csv",
    ) -> None:
        self.out = out
        self.batch_id = batch_id
        self.total_rows = total_rows
        self.timezone = timezone
        # what a person fixing a row looks for: the sheet's row number, or the file's line
        self.place = "sheet row" if input_format == "xlsx" else "line"

    def shown_ms(self, epoch_ms: int) -> str:
        from datetime import UTC, datetime

        from kmsg_cli.when import format_local

        return format_local(datetime.fromtimestamp(epoch_ms / 1000, UTC), self.timezone)

    def shown_iso(self, moment: str) -> str:
        """An ISO 8601 time of the preview (`scheduled_at`) as every other time is shown."""
        from datetime import datetime

        from kmsg_cli.when import format_local

        return format_local(datetime.fromisoformat(moment), self.timezone)

    @property
    def live(self) -> bool:
        """Progress bars only for a person watching: a TTY, no --json, no --quiet."""
        return self.out.human and not self.out.quiet and self.out.err.is_terminal

    @contextmanager
    def reading(self) -> Iterator[Callable[[int], None]]:
        if not self.live:
            yield lambda count: None
            return
        from rich.progress import BarColumn, Progress, TextColumn

        with Progress(
            TextColumn("checking rows"),
            BarColumn(),
            count_column(self.total_rows),
            console=self.out.err,
            transient=True,
        ) as progress:
            task = progress.add_task("rows", total=self.total_rows or None)
            yield lambda count: progress.update(task, completed=count)

    @contextmanager
    def sending(self, before: BatchState, stats: Stats) -> Iterator[Callable[[Stats], None]]:
        to_do = before.pending + before.processing
        if not self.live or to_do == 0:
            yield lambda s: None
            return
        from rich.progress import Progress

        started = time.monotonic()
        columns = sending_columns(to_do, self.out.err.width)
        with Progress(*columns, console=self.out.err) as progress:
            task = progress.add_task("send", total=to_do, accepted=0, failed=0, rate="0")

            def update(current: Stats) -> None:
                done = current.accepted + current.failed + current.unknown
                elapsed = max(time.monotonic() - started, 1e-6)
                progress.update(
                    task,
                    completed=done,
                    accepted=current.accepted,
                    failed=current.failed + current.unknown,
                    rate=f"{current.accepted / elapsed:,.0f}",
                )

            yield update
            update(stats)

    def problems(self, report: EnqueueReport) -> None:
        if not self.out.human or self.out.quiet:
            return
        for problem in report.problems[:SHOWN_PROBLEMS]:
            self.out.err.print(problem_line(problem, self.place), markup=False, highlight=False)
        if report.invalid > SHOWN_PROBLEMS:
            more = report.invalid - SHOWN_PROBLEMS
            self.out.err.print(
                f"... and {more:,} more invalid rows (--results PATH lists every row)", markup=False
            )
        for line in hint_lines(report):
            self.out.err.print(line, markup=False, highlight=False)
        # Rows repeating a message accepted before are what a fixed file run again expects:
        # the summary counts them; the others (a repeated row, one being sent) are listed.
        for skip in report.listed_skips[:SHOWN_PROBLEMS]:
            where = where_text(skip.row, skip.line, self.place)
            self.out.err.print(f"{where}: skipped: {skip.message}", markup=False, highlight=False)
        listed = report.skipped - report.accepted_before
        if listed > SHOWN_PROBLEMS:
            self.out.err.print(
                f"... and {listed - SHOWN_PROBLEMS:,} more skipped rows", markup=False
            )

    def row_warnings(self, report: EnqueueReport) -> None:
        """Once per kind, the warnings of the rows that go out, before anything is sent and in
        a dry run (docs/bulk-input.md, "Warnings"): a placeholder that some rows fill with an
        empty cell (their messages go out without it), and each warning code of the messages
        (NON_KS_CHARACTERS, NOT_MOBILE, ...) with the first row's words; and an input
        without a row (a list exported empty: nothing to send, not an error)."""
        if not report.rows:
            self.out.warning("EMPTY_INPUT", "the input has no rows: nothing to send")
        for name, (count, first) in report.empty.items():
            self.out.warning(
                "EMPTY_VARIABLE",
                f"#{{{name}}} is empty in {counted(count, 'row')}: {self._places(count, first)}; "
                f"{'its message goes' if count == 1 else 'their messages go'} out without it",
            )
        for code, (count, first, text) in report.warnings.items():
            row, line = first[0]
            where = where_text(row, line, self.place)
            also = (
                f" (and {counted(count - 1, 'more row')}: {self._places(count - 1, first[1:])})"
                if count > 1
                else ""
            )
            self.out.warning(code, f"{where}: {text}{also}")

    def _places(self, count: int, first: list[tuple[int, int | None]]) -> str:
        places = ", ".join(where_text(row, line, self.place) for row, line in first)
        return places + (", ..." if count > len(first) else "")

    def skipped_line(self, report: EnqueueReport) -> str | None:
        return skipped_line(report, self.shown_ms)

    def _failures(self, console: Any, state: BatchState, results: str | None) -> None:
        not_sent = state.failed + state.unknown
        if not state.failures:
            return
        if state.one_reason is not None and not state.unknown and not_sent > 1:
            # the same words on every row: said once, with the first row
            where = f"see {results}" if results else "--results PATH lists them"
            said = f"not sent: {not_sent:,} rows, all for one reason ({where}); the first:"
            console.print(said, markup=False)
            console.print(f"  {self._row(state.one_reason)}", markup=False, highlight=False)
            return
        console.print("not sent:", markup=False)
        for failure in state.failures:
            console.print(f"  {self._row(failure)}", markup=False, highlight=False)
        more = not_sent - len(state.failures)
        if more > 0:
            where = f"see {results}" if results else "--results PATH lists every row"
            console.print(f"  ... {more:,} more: {where}", markup=False)

    def _row(self, failure: FailedRow) -> str:
        """`row 4 (line 5)  010-2000-0000  CODE: message` of a row not sent."""
        where = (
            where_text(failure.row, failure.line, self.place)
            if failure.row is not None
            else "(no row)"
        )
        reason = failure.message if len(failure.message) <= 100 else failure.message[:97] + "..."
        kind = " (unknown outcome)" if failure.unknown else ""
        to = format_phone(failure.to) if failure.to else "-"
        return f"{where}  {to}  {failure.code}{kind}: {reason}"

    def dry_run(
        self,
        report: EnqueueReport,
        *,
        profile_name: str,
        results: str | None = None,
        result_lines: int | None = None,
    ) -> None:
        for (provider_id, template), readable in report.templates.items():
            if not readable:
                codes = report.template_codes.get(provider_id)
                self.out.warning("TEMPLATE_UNREAD", unread_template(provider_id, template, codes))
        data = {
            "dry_run": True,
            "batch_id": self.batch_id,
            "profile": profile_name,
            **_row_counts(report),
            "by_type": dict(report.by_type),
            "by_provider": dict(report.by_provider),
            "problems": [p.to_dict() for p in report.problems],
            "preview": report.preview,
            "already_sent": report.already_sent,
            **_skips(report),
            "results": results,
        }

        def render(console: Any) -> None:
            rows = f"{counted(report.rows, 'row')}, {report.valid:,} valid"
            console.print(
                f"Dry run of batch {self.batch_id}: {rows}, {report.invalid:,} invalid; "
                f"nothing sent (profile {profile_name}).",
                markup=False,
            )
            if report.by_type:
                console.print("by type: " + counts_text(report.by_type), markup=False)
                console.print("by provider: " + counts_text(report.by_provider), markup=False)
            for item in report.preview:
                console.print(_preview_line(item, self.shown_iso), markup=False, highlight=False)
            if report.valid > len(report.preview):
                console.print(f"  ... {report.valid - len(report.preview):,} more", markup=False)
            for problem in report.problems[:SHOWN_PROBLEMS]:
                console.print(problem_line(problem, self.place), markup=False, highlight=False)
            if report.invalid > SHOWN_PROBLEMS:
                more = f"... and {report.invalid - SHOWN_PROBLEMS:,} more invalid rows"
                listed = " (--results PATH lists every one)" if not results else ""
                console.print(more + listed, markup=False)
            for line in hint_lines(report):
                console.print(line, markup=False, highlight=False)
            if report.already_sent:
                console.print(
                    f"{report.already_sent:,} already sent earlier by this batch (not sent again)",
                    markup=False,
                )
            skipped = self.skipped_line(report)
            if skipped:
                console.print(
                    "would be " + skipped.replace(" skipped:", " skipped as", 1), markup=False
                )
                for skip in report.skips[:SHOWN_PROBLEMS]:
                    console.print(f"  row {skip.row}: {skip.message}", markup=False)
            if results:
                unsent = counted(result_lines or 0, "row")
                console.print(f"results: {results} ({unsent} invalid or skipped)", markup=False)

        self.row_warnings(report)
        self.out.result(
            data, render, ok=dry_run_exit_code(report) == EXIT_OK, error=_dry_run_error(report)
        )

    def queued(
        self,
        report: EnqueueReport,
        *,
        inserted: int,
        jobs: Mapping[str, int],
        profile_name: str,
    ) -> None:
        """`send-many --queue`: what this run queued and, by `jobs` (the batch's jobs by
        status), what waits in the queue now: a re-run of a batch already sent queues
        nothing, and is not told to run `kmsg queue process`."""
        waiting = jobs.get("pending", 0) + jobs.get("processing", 0)
        data = {
            "batch_id": self.batch_id,
            "profile": profile_name,
            "simulated": _simulated(report),
            "queued": True,
            **_row_counts(report),
            "new_jobs": inserted,
            "batch_jobs": dict(sorted(jobs.items())),
            "problems": [p.to_dict() for p in report.problems],
            **_skips(report),
        }

        def render(console: Any) -> None:
            rows = f"{counted(report.valid, 'valid row')} ({inserted:,} newly queued)"
            line = f"batch {self.batch_id}: {rows}, {report.invalid:,} invalid; "
            if waiting:
                line += f"{waiting:,} waiting in the queue: "
                line += f"`{self.out.kmsg('queue process --drain')}` sends "
                line += them(waiting)
            else:
                done = ", ".join(
                    f"{jobs[status]:,} {status}"
                    for status in ("completed", "failed", "cancelled")
                    if jobs.get(status)
                )
                line += "nothing waits in the queue" + (f" (the batch: {done})" if done else "")
            console.print(line, markup=False)
            skipped = self.skipped_line(report)
            if skipped:
                console.print(skipped, markup=False)

        error = None
        if report.rows and not report.valid:  # as a run that sends says it (exit 2)
            error = KmsgError("no row is valid; nothing was queued", code="NO_VALID_ROWS")
        elif report.invalid:
            invalid = f"{counted(report.invalid, 'row')} {were(report.invalid)} invalid"
            error = KmsgError(invalid, code="PARTIAL_FAILURE")
        self.out.result(data, render, ok=error is None, error=error)

    def summary(
        self,
        report: EnqueueReport,
        state: BatchState,
        stats: Stats,
        *,
        before: BatchState,
        elapsed: float,
        send_elapsed: float,
        results: str | None,
        result_lines: int | None,
        interrupted: bool,
        profile_name: str,
        halted: Halt | None = None,
        again: str = "",
    ) -> dict[str, Any]:
        """The run's summary; `halted`, the account refusal that stopped it, and `again`, how
        to send the rest once its cause is fixed."""
        already = before.accepted
        # another run of the same batch at the same time (a second terminal, a cron overlap)
        # sends what it claims: counted, so the figures add up to the rows
        others = max(0, state.accepted - already - stats.accepted)
        data: dict[str, Any] = {
            "batch_id": self.batch_id,
            "profile": profile_name,
            "simulated": _simulated(report),
            **_row_counts(report),
            "accepted": stats.accepted,
            "already_sent": already,
            "accepted_by_others": others,
            "accepted_total": state.accepted,
            "failed": state.failed,
            "unknown": state.unknown,
            "pending": state.pending + state.processing,
            "requests": stats.requests,
            "reconciled": stats.reconciled,
            "retried": stats.retried,
            "elapsed_s": round(elapsed, 3),
            "send_elapsed_s": round(send_elapsed, 3),
            "messages_per_s": round(stats.accepted / elapsed, 1) if elapsed > 0 else None,
            "interrupted": interrupted,
            "halted": halted.to_dict() if halted else None,
            "results": results,
            "by_type": dict(report.by_type),
            "problems": [p.to_dict() for p in report.problems],
            **_skips(report),
            "adopted": report.adopted,
            "failures": [dataclasses.asdict(f) for f in state.failures],
            "retry": retry_advice(self.batch_id, state),
        }

        def render(console: Any) -> None:
            console.print(
                f"batch {self.batch_id}: {counted(report.rows, 'row')}, {report.valid:,} valid, "
                f"{report.invalid:,} invalid (profile {profile_name})",
                markup=False,
            )
            parts = [f"{stats.accepted:,} accepted"]
            if already:
                parts.append(f"{already:,} already sent earlier (not sent again)")
            if others:
                parts.append(f"{others:,} sent meanwhile by another run of this batch")
            parts.append(f"{state.failed:,} failed")
            if state.unknown:
                parts.append(f"{state.unknown:,} unknown outcome")
            if state.pending or state.processing:
                parts.append(f"{state.pending + state.processing:,} not sent yet")
            rate = data["messages_per_s"]  # none when nothing went out: no rate to speak of
            console.print(
                ", ".join(parts)
                + f" in {elapsed:.1f} s"
                + (f" ({rate:,.0f} msg/s)" if stats.accepted and rate else ""),
                markup=False,
            )
            skipped = self.skipped_line(report)
            if skipped:
                console.print(skipped, markup=False)
            self._failures(console, state, results)
            if results:
                rows = counted(result_lines or 0, "row")
                console.print(f"results: {results} ({rows})", markup=False)
            for line in retry_advice(self.batch_id, state):
                console.print(line, markup=False, highlight=False)
            _simulated_note(console, report)

        error = _summary_error(report, state, interrupted)
        if halted is not None and not interrupted:
            waiting = state.pending + state.processing
            error = halted.error(f"{counted(waiting, 'row')} not sent yet", again)
        self.out.result(data, render, ok=error is None, error=error)
        return data


def _simulated(report: EnqueueReport) -> bool:
    """Every valid row went to a simulated provider (the sandbox's mock): nothing was real."""
    return report.valid > 0 and report.real == 0


def _simulated_note(console: Any, report: EnqueueReport) -> None:
    """The sandbox says so, as `kmsg send` does; a mixed profile says how many were mock."""
    mock = report.valid - report.real
    if _simulated(report):
        console.print(f"[yellow]note:[/] {SIMULATED_NOTE}.", markup=True)
    elif mock:
        rows = counted(mock, "row")
        console.print(
            f"[yellow]note:[/] {rows} went to the mock provider: not delivered.", markup=True
        )


def _dry_run_error(report: EnqueueReport) -> KmsgError | None:
    if report.valid == 0 and report.rows:
        return KmsgError("no row is valid", code="NO_VALID_ROWS")
    if report.invalid:
        return KmsgError(
            f"{counted(report.invalid, 'row')} {'is' if report.invalid == 1 else 'are'} invalid "
            "and would not be sent",
            code="PARTIAL_FAILURE",
            hint=f"fix {them(report.invalid)}, or send the valid rows as they are",
        )
    return None


def sending_columns(total: int, width: int) -> list[Any]:
    """The columns of send-many's progress line: the counts, the rate and the time left, and
    the bar and the time spent where the terminal has room for them (100 columns): on 80, rich
    would squeeze the times to `0:00:…`."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    roomy = width >= 100
    columns: list[Any] = [
        TextColumn("sending"),
        *([BarColumn()] if roomy else []),
        count_column(total),
        TextColumn(
            "[green]{task.fields[accepted]:,} accepted[/] [red]{task.fields[failed]:,} failed[/]"
        ),
        TextColumn("{task.fields[rate]} msg/s"),
    ]
    if roomy:
        columns.append(TimeElapsedColumn())
    columns.append(TimeRemainingColumn())
    return columns


def dry_run_exit_code(report: EnqueueReport) -> int:
    """The code the real run would end with as far as the rows decide: 2 none valid, 5 some."""
    if report.rows and report.valid == 0:
        return EXIT_INPUT
    return EXIT_PARTIAL if report.invalid else EXIT_OK


def _preview_line(item: dict[str, Any], shown: Callable[[str], str]) -> str:
    what = item["text"] or (f"template {item['template']}" if item["template"] else "(no text)")
    if item.get("template_text"):  # the text the AlimTalk delivers, as the vendor has it
        what = f"template {item['template']}: {item['template_text']}"
    if item.get("checks"):
        what = f"[{'; '.join(item['checks'])}] {what}"
    what = " ".join(what.split())
    if len(what) > 60:
        what = what[:57] + "..."
    subject = f" [{item['subject']}]" if item["subject"] else ""
    when = f" at {shown(item['scheduled_at'])}" if item["scheduled_at"] else ""
    # a template's text is the vendor's; a fax has documents (in its checks), no text
    untold = (item["template"] or item["type"] == "FAX") and not item["bytes"]
    size = "" if untold else f" ({counted(item['bytes'], 'byte')})"
    return (
        f"  row {item['row']}: {format_phone(item['to'])} {item['type']} via {item['provider']}"
        f"{when}{size}{subject}: {what}"
    )


def retry_advice(batch_id: str, state: BatchState) -> list[str]:
    """How to retry what was not sent, saying only what is true of this batch."""
    advice: list[str] = []
    if state.temporary:
        advice.append(
            f"retry: {state.temporary:,} failed for a reason that may pass (network, busy "
            f"provider); re-running the same command tries {them(state.temporary)} again"
        )
    refused = state.failed - state.temporary
    if refused:
        advice.append(
            f"retry: the provider refused {refused:,}; a wrong row: fix it in the file and "
            "re-run (what was sent is not sent again); a cause elsewhere (sender number, "
            f"balance, template): `kmsg queue retry --failed --batch {batch_id}`, then the "
            "same command again"
        )
    if state.unknown:
        advice.append(
            f"check: {state.unknown:,} may or may not have been accepted; kmsg asks the provider "
            "again on the next run (`kmsg queue retry --unknown` forces a send that may duplicate)"
        )
    return advice


def _summary_error(report: EnqueueReport, state: BatchState, interrupted: bool) -> KmsgError | None:
    if interrupted:
        return KmsgError(
            "interrupted; what was sent is recorded",
            code="INTERRUPTED",
            hint="re-run the same command to send the rest",
        )
    if report.valid == 0 and report.rows:
        return KmsgError("no row is valid; nothing was sent", code="NO_VALID_ROWS")
    if state.unknown:
        return KmsgError(
            f"{counted(state.unknown, 'message')} may or may not have been accepted",
            code="UNKNOWN_OUTCOME",
            hint="they are never re-sent blindly: kmsg looks them up again where the provider "
            "can be asked (re-run the command, or kmsg queue process); "
            "kmsg queue list --error UNKNOWN_OUTCOME lists the others",
        )
    if state.failed or report.invalid:
        unsent = state.failed + report.invalid
        return KmsgError(
            f"{counted(unsent, 'row')} {were(unsent)} not sent",
            code="PARTIAL_FAILURE" if state.accepted else "SEND_FAILED",
            hint=(
                f"fix the {'row' if report.invalid == 1 else 'rows'} listed above and run the "
                "same command again: rows already accepted are skipped, not sent twice; "
                "--results PATH lists every row"
                if report.invalid
                else "--results PATH lists every row with its outcome"
            ),
        )
    return None


def exit_code(
    report: EnqueueReport, state: BatchState, *, interrupted: bool, halted: Halt | None = None
) -> int:
    if interrupted:
        return EXIT_INTERRUPTED
    if report.rows and report.valid == 0:
        return EXIT_INPUT
    problems = state.failed + state.unknown + report.invalid + state.pending + state.processing
    if problems == 0:
        return EXIT_OK
    if state.accepted == 0:
        return EXIT_PROVIDER if halted is None else halted.exit_code
    return EXIT_PARTIAL


def _row_counts(report: EnqueueReport) -> dict[str, int]:
    """The rows of the input, in the JSON of every outcome of send-many."""
    return {"rows": report.rows, "valid": report.valid, "invalid": report.invalid}


def _skips(report: EnqueueReport) -> dict[str, Any]:
    """The rows skipped as duplicates, in the JSON of every outcome of send-many."""
    return {"skipped": report.skipped, "skips": [p.to_dict() for p in report.skips]}
