"""What `kmsg track` shows people: a pass in lines, the spinner of a pass, the live table of
`track watch`, and what `track show --refresh` learnt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kmsg_cli.cli.runtime import Runtime
    from kmsg_cli.models import TrackingRow
    from kmsg_cli.tracking import PassReport
    from kmsg_cli.when import TimeView

STATUSES = ("PENDING", "SENT", "DELIVERED", "FAILED", "CANCELLED", "UNKNOWN")


def pass_lines(report: PassReport, times: TimeView) -> list[str]:
    """One pass for people: what it checked and found, its lookup errors, fallbacks."""
    if not report.checked:
        if report.interrupted or report.halted:
            return ["nothing checked"]
        if report.next_check_ms is None:
            return ["nothing due: no message is waiting for its delivery report"]
        return [f"nothing due; the next check is at {times.human(report.next_check_ms)}"]
    errors = ", ".join(f"{count:,} {code}" for code, count in sorted(report.errors.items()))
    if report.looked_up_none:  # nothing was checked
        return [f"no due row could be looked up: {errors} (retried later)"]
    counts = ", ".join(f"{count:,} {status}" for status, count in sorted(report.by_status.items()))
    lines = [f"checked {report.checked:,}: {counts} ({report.changed:,} changed)"]
    if report.errors:
        lines.append(f"lookup errors (retried later): {errors}")
    if report.timed_out:
        lines.append(f"{report.timed_out:,} gave up after the tracking window (UNKNOWN)")
    if report.fallbacks_queued:
        lines.append(
            f"fallbacks (SMS/LMS): {report.fallbacks_queued:,} queued, "
            f"{report.fallbacks_sent:,} sent, {report.fallbacks_failed:,} failed"
        )
    return lines


def with_progress(runtime: Runtime, work: Any) -> PassReport:
    out = runtime.out
    if out.json_mode or out.quiet or not out.err.is_terminal:
        return work(None)  # type: ignore[no-any-return]
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("checking: {task.fields[checked]} rows"),
        console=out.err,
        transient=True,
    ) as progress:
        task = progress.add_task("check", checked=0)
        return work(lambda report: progress.update(task, checked=report.checked))  # type: ignore[no-any-return]


class WatchView:
    """The live status table of `track watch` (a plain line per pass when not on a TTY)."""

    def __init__(self, runtime: Runtime) -> None:
        self.out = runtime.out
        self.times = runtime.times()
        self.enabled = self.out.human and not self.out.quiet and self.out.err.is_terminal
        self._live: Any = None

    def __enter__(self) -> WatchView:
        if self.enabled:
            from rich.live import Live

            self._live = Live(console=self.out.err, refresh_per_second=4)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def update(
        self,
        passes: int,
        last: PassReport | None,
        counts: dict[str, int],
        errors: list[str],
        clock: str,
        left: str = "",
    ) -> None:
        """Show a pass; `counts`: the profile's rows by status; `left`: the line about the due
        rows of other profiles' providers it left alone (empty: none)."""
        summary = "; ".join(pass_lines(last, self.times)) if last else "pass failed"
        if left:
            summary += "; " + left.replace("\n", "; ")
        if self._live is None:
            if self.out.human and not self.out.quiet:
                self.out.err.print(f"{clock} pass {passes}: {summary}", markup=False)
            return
        from rich.table import Table

        table = Table(title=f"kmsg track watch — pass {passes} at {clock}")
        table.add_column("status")
        table.add_column("rows", justify="right")
        for status in STATUSES:
            table.add_row(status, f"{counts.get(status, 0):,}")
        table.caption = summary + ("\n" + "\n".join(errors) if errors else "")
        self._live.update(table)


def refresh_line(asked: PassReport, was: TrackingRow, now: TrackingRow, runtime: Runtime) -> str:
    """What `track show --refresh` learnt, in one line."""
    from kmsg_cli.models import TERMINAL_STATUSES, epoch_ms
    from kmsg_cli.tracking import not_yet_sent

    before, after, provider_id = was.status, now.status, now.provider_id
    if before in {status.value for status in TERMINAL_STATUSES}:
        return f"{after} is final: not asked again"
    if not_yet_sent(was, epoch_ms(runtime.now())):
        assert was.scheduled_at is not None
        when = runtime.times().human(was.scheduled_at)
        return f"scheduled for {when}: {provider_id} holds it until then; not asked"
    if asked.halted is not None:
        return f"asked {provider_id}: it refused the account ({asked.halted.code}); not checked"
    if not asked.checked:
        return f"a tracking pass checked it meanwhile: {after}"
    if asked.errors:
        codes = ", ".join(sorted(asked.errors))
        return f"asked {provider_id}: the lookup failed ({codes}); a later pass tries again"
    if before != after:
        return f"asked {provider_id} now: {after} (was {before})"
    return f"asked {provider_id} now: still {after}"
