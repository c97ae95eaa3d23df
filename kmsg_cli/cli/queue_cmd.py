"""`kmsg queue process | list | stats | retry | purge`: the durable job queue."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.bounds import check_count, check_seconds
from kmsg_cli.cli.stopping import run_until_stopped
from kmsg_cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROVIDER,
    InvalidInput,
    KmsgError,
    UsageError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from kmsg_cli.models import Job

app = typer.Typer(
    help="Work off queued jobs and manage the queue (the same ledger send-many uses).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

JOB_STATUSES = ("pending", "processing", "completed", "failed")
MAX_LEASE_MS = 7 * 86_400_000
MAX_LIST = 1_000_000  # jobs a listing shows at most (and what the database takes as LIMIT)


@app.command("process")
@reports_errors
def process(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="N", help="HTTP requests in flight at most.")
    ] = 8,
    drain: Annotated[
        bool, typer.Option("--drain", metavar="", help="Stop when no job is due (for cron).")
    ] = False,
    max_jobs: Annotated[
        int | None, typer.Option("--max-jobs", metavar="N", help="Claim at most N jobs.")
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", metavar="S", help="Stop claiming after S seconds."),
    ] = None,
    lease: Annotated[
        str,
        typer.Option(
            "--lease", metavar="AGE", help="Claim lease (a dead worker's jobs return after it)."
        ),
    ] = "5m",
) -> None:
    """Send queued jobs: claim due jobs with a lease, send in provider batches, record results.

    Without --drain it keeps running and polls for due jobs (a worker service). Ctrl-C or
    SIGTERM finishes the requests in flight, releases unsent claims and exits 130.

    [dim]Examples:[/]

      kmsg queue process --drain

      * * * * *  kmsg queue process --drain --max-seconds 50 --json

      kmsg queue process --concurrency 16
    """
    from kmsg_cli.runner import BatchRunner
    from kmsg_cli.when import parse_duration

    if not 1 <= concurrency <= 256:
        raise UsageError(
            f"--concurrency {concurrency} is out of range (1..256)",
            code="INVALID_CONCURRENCY",
            field="concurrency",
            value=str(concurrency),
        )
    if max_jobs is not None and max_jobs < 1:
        raise UsageError(f"--max-jobs {max_jobs} must be at least 1", field="max-jobs")
    check_seconds(max_seconds, "--max-seconds")
    lease_ms = parse_duration(lease, field="lease")
    if lease_ms > MAX_LEASE_MS:
        raise UsageError(
            f"--lease {lease} is too long (at most 7d): a dead worker's jobs wait that long",
            code="INVALID_DURATION",
            field="lease",
            value=lease,
        )
    runtime = runtime_of(ctx)
    store = runtime.store()
    out = runtime.out
    runner = BatchRunner(
        store=store,
        clients=runtime.pool(),
        batch_id=None,
        concurrency=concurrency,
        lease_ms=lease_ms,
        claim_size=None,
        until="drain" if drain else "forever",
        max_jobs=max_jobs,
        max_seconds=max_seconds,
    )
    started = time.monotonic()

    def work() -> None:
        with _progress(runtime, store, enabled=drain) as on_progress:
            runner.on_progress = on_progress
            runner.run()

    interrupted = run_until_stopped(work)
    stats = runner.stats
    elapsed = time.monotonic() - started
    counts = store.job_counts()
    data: dict[str, Any] = {
        "claimed": runner.claimed,
        "accepted": stats.accepted,
        "failed": stats.failed,
        "unknown": stats.unknown,
        "retried": stats.retried,
        "reconciled": stats.reconciled,
        "released": stats.released,
        "requests": stats.requests,
        "elapsed_s": round(elapsed, 3),
        "pending": counts.get("pending", 0),
        "interrupted": interrupted,
    }
    problems = stats.failed + stats.unknown
    code = EXIT_OK
    error: KmsgError | None = None
    if interrupted:
        code = EXIT_INTERRUPTED
        error = KmsgError("interrupted; unsent claims were released", code="INTERRUPTED")
    elif problems and stats.accepted:
        code = EXIT_PARTIAL
        error = KmsgError(
            f"{problems} job(s) failed in this run",
            code="PARTIAL_FAILURE",
            hint="kmsg queue list --status failed",
        )
    elif problems:
        code = EXIT_PROVIDER
        error = KmsgError(
            f"no job could be sent ({problems} failed)", code="SEND_FAILED", hint="kmsg queue stats"
        )

    def render(console: Console) -> None:
        console.print(
            f"{stats.accepted:,} sent, {stats.failed:,} failed, {stats.unknown:,} unknown outcome, "
            f"{stats.retried:,} to retry later; {data['pending']:,} pending in the queue "
            f"({elapsed:.1f} s)",
            markup=False,
        )

    out.result(data, render, ok=error is None, error=error)
    raise typer.Exit(code)


class _progress:
    """A progress bar for --drain on a TTY: jobs done out of those due at the start."""

    def __init__(self, runtime: Any, store: Any, *, enabled: bool) -> None:
        out = runtime.out
        self.enabled = enabled and out.human and not out.quiet and out.err.is_terminal
        self.out = out
        self.store = store
        self._progress: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda stats: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        total = self.store.job_counts().get("pending", 0)
        self._progress = Progress(
            TextColumn("sending queued jobs"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.out.err,
        )
        self._progress.__enter__()
        task = self._progress.add_task("drain", total=total or None)

        def update(stats: Any) -> None:
            done = stats.accepted + stats.failed + stats.unknown
            self._progress.update(task, completed=done)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)


def _job_data(job: Job) -> dict[str, Any]:
    from kmsg_cli.bulk import parse_error

    message = job.data.get("message", {}) if isinstance(job.data, dict) else {}
    meta = job.metadata or {}
    return {
        "id": job.id,
        "status": job.status,
        "type": message.get("type"),
        "to": message.get("to"),
        "provider_id": job.data.get("provider") if isinstance(job.data, dict) else None,
        "priority": job.priority,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "created_at": _iso(job.created_at),
        "process_at": _iso(job.process_at),
        "completed_at": _iso(job.completed_at),
        "failed_at": _iso(job.failed_at),
        "batch": meta.get("batch"),
        "row": meta.get("row"),
        "error": parse_error(job.error),
    }


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _check_status(status: str | None) -> str | None:
    if status is None:
        return None
    value = status.lower()
    if value not in JOB_STATUSES:
        raise InvalidInput(
            f"unknown job status '{status}' (field 'status')",
            code="INVALID_STATUS",
            field="status",
            value=status,
            hint=", ".join(JOB_STATUSES),
        )
    return value


@app.command("list")
@reports_errors
def list_jobs(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", metavar="STATUS", autocompletion=cv.job_statuses)
    ] = None,
    message_type: Annotated[
        str | None, typer.Option("--type", metavar="TYPE", autocompletion=cv.message_types)
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", metavar="ID", autocompletion=cv.provider_ids)
    ] = None,
    batch: Annotated[str | None, typer.Option("--batch", metavar="ID")] = None,
    error: Annotated[
        str | None, typer.Option("--error", metavar="CODE", help="Failed with this error code.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N")] = 50,
) -> None:
    """List jobs, newest first.

    [dim]Examples:[/]

      kmsg queue list --status failed

      kmsg queue list --error UNKNOWN_OUTCOME --json
    """
    check_count(limit, "--limit", maximum=MAX_LIST)
    runtime = runtime_of(ctx)
    jobs = runtime.store().list_jobs(
        status=_check_status(status),
        message_type=message_type.upper() if message_type else None,
        provider_id=provider,
        batch=batch,
        error_code=error,
        limit=max(1, limit),
    )
    rows = [_job_data(job) for job in jobs]

    def render(console: Console) -> None:
        from rich.table import Table

        table = Table(show_edge=False, header_style="bold")
        for column in ("id", "status", "type", "to", "provider", "attempts", "error"):
            table.add_column(column, overflow="fold")
        for row in rows:
            err = row["error"] or {}
            table.add_row(
                row["id"],
                row["status"],
                row["type"] or "",
                row["to"] or "",
                row["provider_id"] or "",
                f"{row['attempts']}/{row['max_attempts']}",
                f"{err.get('code', '')}: {err.get('message', '')}" if err else "",
            )
        console.print(table)
        console.print(f"{len(rows)} job(s)", markup=False)

    runtime.out.result({"jobs": rows}, render)


@app.command("stats")
@reports_errors
def stats(ctx: typer.Context) -> None:
    """Counts by status, the oldest due job, and failures by error code.

    [dim]Examples:[/]

      kmsg queue stats

      kmsg queue stats --json
    """
    runtime = runtime_of(ctx)
    result = runtime.store().job_stats()
    oldest = result.get("oldest_due_ms")
    data = {
        "counts": result["counts"],
        "oldest_due": _iso(oldest),
        "failures_by_code": result["failures_by_code"],
    }

    def render(console: Console) -> None:
        counts = ", ".join(f"{data['counts'].get(s, 0):,} {s}" for s in JOB_STATUSES)
        console.print(counts, markup=False)
        if oldest is not None:
            console.print(f"oldest pending job due at {data['oldest_due']}", markup=False)
        for code, count in data["failures_by_code"].items():
            console.print(f"failed with {code}: {count:,}", markup=False)

    runtime.out.result(data, render)


@app.command("retry")
@reports_errors
def retry(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        typer.Option(
            "--id",
            metavar="ID",
            help="This job; repeatable.",
            autocompletion=cv.failed_job_ids,
        ),
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", metavar="", help="Every failed job.")] = False,
    unknown: Annotated[
        bool,
        typer.Option(
            "--unknown", metavar="", help="Jobs whose outcome is unknown (may send a duplicate)."
        ),
    ] = False,
    batch: Annotated[
        str | None, typer.Option("--batch", metavar="ID", help="Only jobs of this batch.")
    ] = None,
) -> None:
    """Make failed jobs due again with fresh attempts; accepted jobs are never re-sent.

    --failed leaves jobs with an unknown outcome alone: re-sending those may deliver a message
    twice, so it takes --unknown, on purpose.

    [dim]Examples:[/]

      kmsg queue retry --failed --batch b1a2c3d4e5f6a7b8c

      kmsg queue retry --id order-42

      kmsg queue retry --unknown
    """
    from kmsg_cli.bulk import job_outcome

    if not (ids or failed or unknown):
        raise UsageError(
            "say which jobs: --id, --failed or --unknown",
            code="USAGE",
            field="id",
            hint="kmsg queue retry --failed",
        )
    runtime = runtime_of(ctx)
    store = runtime.store()
    chosen: list[str] = []
    refused: list[str] = []
    if ids:
        found = store.get_jobs(ids)
        for job_id in ids:
            job = found.get(job_id)
            if job is None:
                raise InvalidInput(
                    f"no job with id '{job_id}'", code="NOT_FOUND", field="id", value=job_id
                )
            if job.status in ("completed", "processing"):
                refused.append(job_id)
            else:
                chosen.append(job_id)
    if failed or unknown:
        for job in store.iter_jobs(batch=batch, status="failed"):
            kind = job_outcome(job)
            if (kind == "unknown" and unknown) or (kind == "failed" and failed):
                chosen.append(job.id)
    count = store.reset_jobs(chosen, now_ms=round(time.time() * 1000))
    for job_id in refused:
        runtime.out.warning(
            "NOT_RETRIED", f"job {job_id} is completed or being processed; not retried"
        )
    data = {"retried": count, "refused": refused}
    runtime.out.result(
        data,
        lambda console: console.print(
            f"{count:,} job(s) due again; run `kmsg queue process --drain`", markup=False
        ),
    )


@app.command("purge")
@reports_errors
def purge(
    ctx: typer.Context,
    older_than: Annotated[
        str, typer.Option("--older-than", metavar="AGE", help="e.g. 30d, 12h.")
    ] = "30d",
) -> None:
    """Delete finished jobs (completed or failed) older than AGE.

    [dim]Examples:[/]

      kmsg queue purge --older-than 30d
    """
    from kmsg_cli.models import epoch_ms
    from kmsg_cli.when import parse_duration

    runtime = runtime_of(ctx)
    # Nothing is older than 1970: a longer age deletes nothing, and 0 keeps the SQL in range.
    cutoff = max(0, epoch_ms(runtime.now()) - parse_duration(older_than, field="older-than"))
    store = runtime.store()
    deleted = 0
    while count := store.purge_jobs(older_than_ms=cutoff):
        deleted += count
    runtime.out.result(
        {"older_than": older_than, "jobs_deleted": deleted},
        lambda console: console.print(f"deleted {deleted:,} finished jobs", markup=False),
    )
