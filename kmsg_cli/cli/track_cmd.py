"""`kmsg track run-once | watch | show | list`: what became of accepted messages."""

from __future__ import annotations

import shlex
import signal
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli import options, tables, track_view
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.bounds import check_choice, check_duration, check_seconds
from kmsg_cli.cli.framework import KmsgTyper
from kmsg_cli.cli.options import FILTERS, LimitFilter, ProviderFilter, TypeFilter, list_limit
from kmsg_cli.cli.output import counted, matching, them
from kmsg_cli.cli.runtime import Runtime
from kmsg_cli.cli.stopping import run_until_stopped
from kmsg_cli.cli.track_view import STATUSES
from kmsg_cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_PROVIDER,
    Interrupted,
    InvalidInput,
    KmsgError,
    ProviderError,
    UsageError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from kmsg_cli.store.delivery import TrackingFilter
    from kmsg_cli.tracking import PassReport, Tracker

app = KmsgTyper(
    help="Check delivery status: one pass for cron, a live loop, one message, a listing."
)

MAX_INTERVAL = (86_400_000, "1d")

TRACKING = tables.Listing(
    fields=tables.fields(
        "message_id",
        "status",
        "type",
        "to:phone",
        "from:phone",
        "provider_id",
        "provider_message_id",
        "provider_status_code",
        "provider_status_message",
        "requested_at:time",
        "scheduled_at:time",
        "sent_at:time",
        "delivered_at:time",
        "failed_at:time",
        "status_updated_at:time",
        "checks:int",
        "last_checked_at:time",
        "next_check_at:time",
        "last_error",
        "metadata:json",
    ),
    default=(
        "requested_at",
        "message_id",
        "to",
        "type",
        "status",
        "provider_id",
        "provider_status_code",
    ),
    key="rows",
)


def _tracker(runtime: Runtime) -> Tracker:
    from kmsg_cli.sending import plan
    from kmsg_cli.tracking import Tracker

    runtime.refuse_ambiguous_providers()
    profile = runtime.profile()

    def route(message: Any) -> str:
        (planned,) = plan([message], profile)
        runtime.clients().get(planned.provider_id).validate(message)
        return planned.provider_id

    return Tracker(
        store=runtime.store(),
        clients=runtime.clients(),
        provider_types={pid: p.type for pid, p in profile.providers.items()},
        settings=profile.tracking,
        route_fallback=route,
        providers=list(profile.providers),
    )


def _fallback_sender(runtime: Runtime) -> Any:
    def send() -> tuple[int, int]:
        from kmsg_cli.jobs.worker import BatchRunner
        from kmsg_cli.tracking import FALLBACK_BATCH

        # Every due fallback: this pass's, and those a killed pass left (owner dead, lease
        # expired); "drain": what is due now, the rest is for the next pass.
        runner = BatchRunner(
            store=runtime.store(),
            clients=runtime.clients(),
            batch_id=FALLBACK_BATCH,
            until="drain",
            providers=list(runtime.profile().providers),
        )
        stats = runner.run()
        return stats.accepted, stats.failed + stats.unknown

    return send


@app.command("run-once")
@reports_errors
def run_once(
    ctx: typer.Context,
    limit: Annotated[int, options.limit_option("Check at most N rows.", panel=None)] = 100_000,
    provider: ProviderFilter = None,
    max_seconds: Annotated[
        float | None,
        options.option(
            "--max-seconds",
            "S",
            "Stop claiming new rows after S seconds (a number: the unit is in the name).",
        ),
    ] = None,
) -> None:
    """One bounded pass over the rows that are due (for cron); safe to overlap with others.

    [dim]Examples:[/]

      kmsg track run-once

      */5 * * * *  kmsg track run-once --max-seconds 240 --json >> track.log
    """
    check_seconds(max_seconds, "--max-seconds")
    if limit < 1:
        raise UsageError(f"--limit {limit} must be at least 1", field="limit", value=str(limit))
    runtime = runtime_of(ctx)
    runtime.provider_ids(provider)  # one of the profile's: it does the lookups
    tracker = _tracker(runtime)
    passes: list[PassReport] = []

    def work() -> None:  # SIGTERM stops the pass like Ctrl-C (tracker.run_once catches it)
        passes.append(
            track_view.with_progress(
                runtime,
                lambda on_progress: tracker.run_once(
                    limit=limit,
                    provider_id=provider,
                    max_seconds=max_seconds,
                    send_fallbacks=_fallback_sender(runtime),
                    on_progress=on_progress,
                ),
            )
        )

    stopped = run_until_stopped(work)
    report = passes[0] if passes else None
    if report is None or stopped:
        from kmsg_cli.tracking import PassReport as Report

        report = report or Report(interrupted=True)
        report.interrupted = True

    def render(console: Console) -> None:
        for line in track_view.pass_lines(report, runtime.times()):
            console.print(line, markup=False)
        if report.other_providers:
            line = runtime.left_for_others(report.other_providers, "due row", "track run-once")
            console.print(line, markup=False)

    error: KmsgError | None = None
    if report.interrupted:
        error = Interrupted(
            "interrupted; the rows checked so far are recorded, the others are due again "
            "after a short lease",
            hint="run kmsg track run-once again",
        )
    elif report.halted is not None:  # the rows it could not check are due again at once
        again = f"run `{runtime.out.kmsg('track run-once')}`: they are due at once"
        error = report.halted.error("the due rows not checked", again)
    elif report.looked_up_none:  # cron says so: the provider could not be asked
        error = ProviderError(
            f"no due row could be looked up ({counted(report.checked, 'row')}); they are "
            "due again after a short wait",
            code="LOOKUP_FAILED",
            hint=f"`{runtime.out.kmsg('providers doctor')}` checks the provider and its address",
        )
    runtime.out.result(report.to_dict(), render, ok=error is None, error=error)
    if error is not None:
        if report.interrupted:
            raise typer.Exit(EXIT_INTERRUPTED)
        raise typer.Exit(EXIT_PROVIDER if report.halted is None else report.halted.exit_code)


@app.command("watch")
@reports_errors
def watch(
    ctx: typer.Context,
    interval: Annotated[
        str,
        options.option("--interval", "DURATION", "Time between passes, with a unit: 5s, 1m."),
    ] = "5s",
    provider: ProviderFilter = None,
    max_passes: Annotated[
        int | None,
        typer.Option("--max-passes", metavar="N", help="Stop after N passes.", hidden=True),
    ] = None,
) -> None:
    """Run passes every --interval with a live view; Ctrl-C/SIGTERM stop cleanly (130).

    [dim]Examples:[/]

      kmsg track watch

      kmsg track watch --interval 30s --provider solapi
    """
    interval_ms = check_duration(interval, "--interval", suggest="s", at_most=MAX_INTERVAL)
    seconds = interval_ms / 1000
    runtime = runtime_of(ctx)
    runtime.provider_ids(provider)  # one of the profile's: it does the lookups
    tracker = _tracker(runtime)
    stop = {"requested": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["requested"] = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    totals: dict[str, int] = {}
    passes = 0
    last: PassReport | None = None
    errors: list[str] = []
    times = runtime.times()
    live = track_view.WatchView(runtime)
    try:
        with live:
            while not stop["requested"]:
                last = None  # a pass that fails shows as failed, and adds nothing to the totals
                try:
                    last = tracker.run_once(
                        provider_id=provider, send_fallbacks=_fallback_sender(runtime)
                    )
                except Exception as exc:  # one failed pass does not end the watch
                    errors.append(f"{times.clock(runtime.now())} {type(exc).__name__}: {exc}")
                if last is not None and last.halted is not None:  # said until it is fixed
                    halt = last.halted
                    errors.append(f"{times.clock(runtime.now())} {halt.code}: {halt.message}")
                errors[:] = errors[-5:]
                passes += 1
                if last is not None:
                    for status, count in last.by_status.items():
                        totals[status] = totals.get(status, 0) + count
                # the profile's rows, as `track list` counts them (profiles share a database)
                counts = runtime.store().count_tracking_by_status(
                    provider_id=provider, providers=runtime.listing_scope(provider, False)
                )
                left = ""
                if last is not None and last.other_providers:
                    left = runtime.left_for_others(last.other_providers, "due row", "track watch")
                live.update(passes, last, counts, errors, times.clock(runtime.now()), left)
                if max_passes is not None and passes >= max_passes:
                    break
                deadline = time.monotonic() + seconds
                while not stop["requested"] and time.monotonic() < deadline:
                    time.sleep(min(0.2, seconds))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    data = {"passes": passes, "checked_by_status": totals, "stopped": stop["requested"]}
    if stop["requested"]:
        runtime.out.result(
            data,
            lambda console: console.print(
                f"stopped after {counted(passes, 'pass', 'passes')}", markup=False
            ),
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    runtime.out.result(
        data, lambda console: console.print(counted(passes, "pass", "passes"), markup=False)
    )


@app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    message_id: Annotated[
        str, typer.Argument(metavar="ID", help="Message id.", autocompletion=cv.message_ids)
    ],
    refresh: Annotated[
        bool,
        options.option(
            "--refresh", "", "Ask the provider now, due or not (one lookup), then show the row."
        ),
    ] = False,
) -> None:
    """Show one message's tracking row, with its failover record.

    [dim]Examples:[/]

      kmsg track show order-42

      kmsg track show order-42 --refresh

      kmsg track show b1a2c3d4e5f6a7b8c:17 --json
    """
    runtime = runtime_of(ctx)
    store = runtime.store()
    row = store.get_tracking(message_id)
    if row is None:
        raise _not_tracked(runtime, message_id)
    asked: PassReport | None = None
    if refresh and row.provider_id not in runtime.profile().providers:
        # another profile's message (a shared database): its lookup is that profile's to make,
        # and a failed one would give the row an error and a backoff
        from kmsg_cli.config import profiles_with
        from kmsg_cli.tracking import PassReport as Report

        asked = Report()
        homes = profiles_with(runtime.config(), row.provider_id)
        line = (
            f"not asked: it went through {row.provider_id}, which profile "
            f"'{runtime.profile().name}' does not have"
        )
        if len(homes) == 1:
            line += f": kmsg -p {homes[0]} track show {shlex.quote(message_id)} --refresh"
        runtime.out.note(line)
    elif refresh:  # _tracker refuses an ambiguous provider id first
        before = row
        asked = _tracker(runtime).check_now(row, send_fallbacks=_fallback_sender(runtime))
        row = store.get_tracking(message_id) or row
        runtime.out.note(track_view.refresh_line(asked, before, row, runtime))
    raw = _row_data(row)
    # the listing's own rules for each field: ISO times for --json; for people, local times
    # and numbers as they are written (the same cells `track list` shows)
    view = tables.View(runtime.out, TRACKING, "table", None, True, runtime.times())
    data = {key: view.machine(key, value) for key, value in raw.items()}
    if asked is not None:
        done = asked.to_dict()
        data["refresh"] = {key: done[key] for key in ("checked", "changed", "errors", "requests")}
        data["refresh"]["fallbacks"] = done["fallbacks"]

    def render(console: Console) -> None:
        for key, value in raw.items():
            if value is None or key == "metadata":
                continue
            console.print(f"{key:<24}{view.text(key, value)}", markup=False)
        if raw.get("metadata"):
            import json

            console.print(
                f"{'metadata':<24}{json.dumps(raw['metadata'], ensure_ascii=False)}", markup=False
            )

    runtime.out.result(data, render)


def _row_data(row: Any) -> dict[str, Any]:
    return {
        "message_id": row.message_id,
        "status": row.status,
        "type": row.type,
        "to": row.to,
        "from": row.sender,
        "provider_id": row.provider_id,
        "provider_message_id": row.provider_message_id,
        "provider_status_code": row.provider_status_code,
        "provider_status_message": row.provider_status_message,
        "requested_at": row.requested_at,
        "scheduled_at": row.scheduled_at,
        "sent_at": row.sent_at,
        "delivered_at": row.delivered_at,
        "failed_at": row.failed_at,
        "status_updated_at": row.status_updated_at,
        "checks": row.attempt_count,
        "last_checked_at": row.last_checked_at,
        "next_check_at": row.next_check_at if row.status in ("PENDING", "SENT") else None,
        "last_error": _keys_sorted(row.last_error),
        "metadata": _keys_sorted(row.metadata),
    }


def _keys_sorted(value: Any) -> Any:
    """A JSON column's object with its keys sorted, at every depth: PostgreSQL's JSONB keeps
    them in an order of its own, the other engines as written; shown, they read alike."""
    if isinstance(value, dict):
        return {key: _keys_sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_keys_sorted(item) for item in value]
    return value


@app.command("list")
@reports_errors
def list_rows(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        options.status_option("Only this status; repeatable.", cv.delivery_statuses),
    ] = None,
    provider: ProviderFilter = None,
    all_profiles: options.AllProfilesFilter = False,
    message_type: TypeFilter = None,
    to: Annotated[
        str | None,
        options.option("--to", "PHONE", "Only messages to this number.", FILTERS),
    ] = None,
    since: Annotated[
        str | None,
        options.since_option(
            "Requested at or after: 24h (ago), 2026-12-05 or today/yesterday (midnight, "
            "profile time zone) or a date-time."
        ),
    ] = None,
    until: Annotated[
        str | None, options.until_option("Requested before: the same forms as --since.")
    ] = None,
    batch: Annotated[
        str | None,
        options.batch_option("Only messages of this send-many batch.", panel=FILTERS),
    ] = None,
    limit: LimitFilter = 50,
    output_format: tables.FormatOpt = None,
    no_header: tables.NoHeaderOpt = False,
    fields: tables.FieldsOpt = None,
) -> None:
    """List tracking rows, newest first, with counts by status.

    Messages a provider refused when they were sent have no tracking row: they are failed
    jobs of the queue (`kmsg queue list --status failed`); `--status FAILED` says how many.
    Only the profile's providers' rows are listed, unless --provider or --all-profiles.

    [dim]Examples:[/]

      kmsg track list --status FAILED --since 24h

      kmsg track list --since 2026-12-05 --until 2026-12-06 --format csv > day.csv

      kmsg track list --to 010-1234-5678 --fields message_id,status --no-header

      kmsg track list --batch b1a2c3d4e5f6a7b8c --status FAILED
    """
    from kmsg_cli.normalize import normalize_phone

    runtime = runtime_of(ctx)
    view = tables.view(runtime, TRACKING, format=output_format, no_header=no_header, fields=fields)
    statuses = [s.upper() for s in status or []]
    for value, given in zip(statuses, status or [], strict=True):
        check_choice(
            value,
            STATUSES,
            "status",
            "INVALID_STATUS",
            field="status",
            given=given,
            error=InvalidInput,
        )
    number = str(normalize_phone(to)) if to else None
    scope = runtime.listing_scope(provider, all_profiles)
    filters: TrackingFilter = {
        "status": statuses or None,
        "provider_id": provider,
        "providers": scope,
        "type": message_type.upper() if message_type else None,
        "to": number,
        "since_ms": runtime.moment_ms(since, "since"),
        "until_ms": runtime.moment_ms(until, "until"),
        "batch": batch,
    }
    limit = list_limit(limit)
    store = runtime.store()
    rows = [_row_data(r) for r in store.list_tracking(**filters, limit=limit)]
    counts = store.count_tracking_by_status(**filters)
    if "FAILED" in statuses:
        _point_to_failed_jobs(runtime)
    total = sum(counts.values())
    lines = [matching(counts, "row", len(rows))]
    others = 0
    if scope is not None:  # what the same filters find among other profiles' providers
        everyone: TrackingFilter = {**filters, "providers": None}
        others = sum(store.count_tracking_by_status(**everyone).values()) - total
        if others:
            lines.append(runtime.not_listed(others, "matching row"))
    data = {"counts": counts, "providers": scope, "other_profiles": others}
    view.emit(rows, data=data, after=lines)


def _point_to_failed_jobs(runtime: Runtime) -> None:
    """Refused-at-send messages are failed jobs, not tracking rows: say where they are."""
    failed = runtime.store().job_counts().get("failed", 0)
    if failed:
        runtime.out.warning(
            "FAILED_JOBS",
            f"{counted(failed, 'message')} failed before a provider accepted "
            f"{'it and has' if failed == 1 else 'them and have'} no tracking row; list "
            f"{them(failed)} with `kmsg queue list --status failed`",
        )


def _not_tracked(runtime: Runtime, message_id: str) -> InvalidInput:
    """NOT_FOUND for a message without a tracking row, saying where its job stands if any."""
    from kmsg_cli.jobs.outcomes import standing

    job = runtime.store().get_job(message_id)
    return InvalidInput(
        f"no tracking row for message id '{message_id}'{standing(job) if job else ''}",
        code="NOT_FOUND",
        field="id",
        value=message_id,
        hint=f"kmsg queue list --status {job.status}" if job else "kmsg track list",
    )
