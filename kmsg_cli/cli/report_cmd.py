"""`kmsg report`: the terminal summary, `--json`, the failure list as CSV, and `--html FILE`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from kmsg_cli.cli import options, report_view, tables
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.runtime import Runtime
from kmsg_cli.errors import InvalidInput

if TYPE_CHECKING:
    pass

HELP = """What became of a send-many batch or of the messages of a time range.

The funnel (rows -> valid -> accepted -> sent -> delivered / failed / unknown / pending), failures by provider code with their meaning, delivery latency (p50/p90/p99), per provider and per type, AlimTalk fallbacks, and what is still being tracked. Without --batch, --since or --until: the last batch. --html writes one self-contained page with charts (pip install 'kmsg\\[report]').

[dim]Examples:[/]

  kmsg report

  kmsg report --batch june-notice --html june.html

  kmsg report --since 24h --provider solapi --json

  kmsg report --since 7d --format csv > failures.csv
"""  # noqa: E501

FORMATS = ("table", "json", "csv")


@reports_errors
def report(
    ctx: typer.Context,
    batch: Annotated[str | None, options.batch_option("A send-many batch id.")] = None,
    since: Annotated[
        str | None, options.since_option("Requested at or after (24h, a date, today).", panel=None)
    ] = None,
    until: Annotated[
        str | None, options.until_option("Requested at or before.", panel=None)
    ] = None,
    provider: Annotated[
        str | None, options.provider_option("Only this provider.", panel=None)
    ] = None,
    message_type: Annotated[str | None, options.type_option("Only this type.", panel=None)] = None,
    to: Annotated[str | None, options.option("--to", "PHONE", "Only this recipient.")] = None,
    html: Annotated[
        str | None,
        options.option("--html", "FILE", "Also write a self-contained HTML page."),
    ] = None,
    output_format: Annotated[
        str | None,
        options.option("--format", "table|json|csv", "csv: the failure list."),
    ] = None,
) -> None:
    from kmsg_cli.report import Selection, build_report
    from kmsg_cli.report.figures import LocalClock

    runtime = runtime_of(ctx)
    chosen = _format(output_format, runtime)
    if html is not None:
        from kmsg_cli.report.page import check_available

        check_available()
    selection = Selection(
        batch=batch,
        since_ms=runtime.moment_ms(since, "since"),
        until_ms=runtime.moment_ms(until, "until"),
        provider_id=provider,
        type=message_type.upper() if message_type else None,
        to=_phone(to),
        # profiles may share the database: a time window, and the choice of the last batch,
        # keep to the profile's providers (a named batch is reported whole)
        providers=tuple(runtime.profile().providers) if provider is None else None,
    )
    profile = runtime.profile()
    now = runtime.now()
    figures = build_report(
        runtime.store(),
        selection,
        now_ms=_ms(now),
        provider_types={pid: p.type for pid, p in profile.providers.items()},
        utc_offset_ms=_offset_ms(now, profile.timezone),
    )
    figures.tracking.run_once = runtime.out.kmsg("track run-once")
    times = LocalClock(profile.timezone)
    data = figures.to_dict(times.iso)
    if html is not None:
        from kmsg_cli.report.page import render_page

        _write(html, render_page(figures, timezone=profile.timezone))
        data["html"] = html
    if chosen == "csv":
        report_view.write_csv(figures)
    elif chosen == "json":
        runtime.out.result(data)
    else:
        runtime.out.result(data, lambda console: report_view.render(console, figures, times, html))


def _format(value: str | None, runtime: Runtime) -> str:
    if value is None:
        return "json" if runtime.out.json_mode else "table"
    name = tables.format_name(value, FORMATS)
    if name == "json":
        runtime.out.json_mode = True
    return name


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    from kmsg_cli.normalize import normalize_phone

    return str(normalize_phone(value))


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _offset_ms(now: datetime, timezone: str) -> int:
    from kmsg_cli.when import load_zone

    offset = now.astimezone(load_zone(timezone)).utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0


def _write(path: str, text: str) -> None:
    """Write the page whole (a temporary file renamed over it), or InvalidInput naming it."""
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".kmsg-report-", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise InvalidInput(
            f"cannot write '{path}': {exc.strerror or type(exc).__name__} (field 'html')",
            code="HTML_UNWRITABLE",
            field="html",
            value=path,
            hint="choose another --html FILE",
        ) from None
