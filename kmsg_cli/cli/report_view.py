"""How `kmsg report` looks in a terminal (rich) and as CSV: the view of a `Report`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kmsg_cli.cli.tables import excel_mark, print_table

if TYPE_CHECKING:
    from rich.console import Console

    from kmsg_cli.report import Report
    from kmsg_cli.report.figures import LocalClock

FAILURE_FIELDS = (
    "stage",
    "provider_id",
    "code",
    "kmsg_code",
    "count",
    "meaning",
    "meaning_ko",
    "example",
)
LABELS = {
    "rows": "rows read",
    "valid": "valid",
    "accepted": "accepted",
    "sent": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "unknown": "unknown",
    "cancelled": "cancelled",
    "pending": "still pending",
}


def write_csv(figures: Report) -> None:
    import csv

    excel_mark(sys.stdout)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(FAILURE_FIELDS)
    for failure in figures.failures:
        values = vars(failure)
        writer.writerow(["" if values[name] is None else values[name] for name in FAILURE_FIELDS])
    sys.stdout.flush()


def _ms_text(ms: int | None) -> str:
    from kmsg_cli.report.figures import duration_text

    return duration_text(ms, (" s", " min", " h"))


TITLE_WORDS = {
    "batch": "batch",
    "last_batch": "the last one",
    "no_batch": "the last batch (there is none yet)",
    "period": "from {start}, to {end}",
    "start": "the start",
    "end": "now",
    "provider_id": "provider",
    "providers": "providers",
    "type": "type",
    "to": "to",
}


def _title(figures: Report, times: LocalClock) -> str:
    return "kmsg report: " + (
        ", ".join(figures.selection_parts(times, TITLE_WORDS)) or "all messages"
    )


def render(console: Console, figures: Report, times: LocalClock, html: str | None) -> None:
    from rich.table import Table

    console.print(_title(figures, times), markup=False, style="bold")
    if figures.batch_input and figures.batch_input.started_ms:
        console.print(f"started {times.text(figures.batch_input.started_ms)}", markup=False)
    for note in figures.notes:
        console.print(f"note: {note}", markup=False)
    if figures.empty:
        console.print("no messages match", markup=False)
        if html:
            console.print(f"page written: {html}", markup=False)
        return
    funnel = vars(figures.funnel)
    top = max([v for k, v in funnel.items() if k in LABELS and isinstance(v, int)] or [1]) or 1
    table = Table(title="funnel", title_justify="left", show_edge=False, header_style="bold")
    for name, justify in (("stage", "left"), ("messages", "right"), ("", "left"), ("", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for key, label in LABELS.items():
        value = funnel[key]
        if value is None:
            continue
        bar = "█" * max(1 if value else 0, round(24 * value / top))
        table.add_row(label, f"{value:,}", bar, _aside(figures, key))
    print_table(console, table)
    _failures(console, figures)
    lat = figures.latency
    if lat.count:
        p = lat.percentiles_ms
        console.print(
            f"delivery latency ({lat.count:,} delivered): p50 {_ms_text(p.get(50))}, "
            f"p90 {_ms_text(p.get(90))}, p99 {_ms_text(p.get(99))}, max {_ms_text(lat.max_ms)}",
            markup=False,
        )
    for title, rows in (("by provider", figures.by_provider), ("by type", figures.by_type)):
        _breakdown(console, title, rows)
    fb = figures.fallbacks
    if fb.requested:
        console.print(
            f"fallbacks: {fb.requested:,} sent with fallback text; {fb.sent:,} fallbacks sent "
            f"({fb.api_sent:,} by kmsg, {fb.native:,} by the provider), {fb.api_failed:,} "
            f"failed, {fb.api_queued:,} queued, {fb.not_sent:,} not needed or not possible",
            markup=False,
        )
    tr = figures.tracking
    if tr.still_tracked:
        line = f"still tracked: {tr.still_tracked:,}, due now: {tr.due:,}"
        if tr.hint:
            line += f" — {tr.hint}"
        elif tr.next_check_ms is not None:
            line += f"; next check {times.text(tr.next_check_ms)}"
        console.print(line, markup=False)
    if html:
        console.print(f"page written: {html}", markup=False)


def _aside(figures: Report, key: str) -> str:
    f = figures.funnel
    if key == "valid" and (f.invalid or f.skipped):
        parts = [f"{f.invalid:,} invalid"] if f.invalid else []
        if f.skipped:
            parts.append(f"{f.skipped:,} skipped as repeats")
        return ", ".join(parts)
    if key == "accepted":
        missed = f.rejected + f.unknown_outcome + f.queued + f.withdrawn
        if missed:
            parts = [f"{f.rejected:,} rejected"] if f.rejected else []
            if f.unknown_outcome:
                parts.append(f"{f.unknown_outcome:,} outcome unknown")
            if f.queued:
                parts.append(f"{f.queued:,} not sent yet")
            if f.withdrawn:
                parts.append(f"{f.withdrawn:,} cancelled before sending")
            return "not accepted: " + ", ".join(parts)
        if f.untracked:
            return f"{f.untracked:,} without a tracking row"
    if key in ("delivered", "failed") and f.accepted:
        return f"{100 * getattr(f, key) / f.accepted:.1f}% of accepted"
    return ""


def _failures(console: Console, figures: Report) -> None:
    if not figures.failures:
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title="failures", title_justify="left", show_edge=False, header_style="bold")
    for name in ("stage", "provider", "code", "count", "meaning", "example"):
        table.add_column(name, justify="right" if name == "count" else "left", overflow="fold")
    for f in figures.failures:
        code = f.code + (f" ({f.kmsg_code})" if f.kmsg_code else "")
        cells = (f.stage, f.provider_id, code, f"{f.count:,}", f.meaning or "", f.example or "")
        table.add_row(*(Text(cell) for cell in cells))
    print_table(console, table)


def _breakdown(console: Console, title: str, rows: list[Any]) -> None:
    if len(rows) < 1:
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    shown = ("accepted", "delivered", "failed", "unknown", "pending", "cancelled")
    for name in ("", *shown, "not accepted", "rate"):
        table.add_column(name, justify="left" if not name else "right")
    for row in rows:
        rate = row.delivery_rate
        counts = (row.accepted, row.delivered, row.failed, row.unknown, row.pending, row.cancelled)
        table.add_row(
            Text(row.key),
            *(f"{n:,}" for n in counts),
            f"{row.not_accepted + row.queued:,}",
            "—" if rate is None else f"{100 * rate:.1f}%",
        )
    print_table(console, table)
