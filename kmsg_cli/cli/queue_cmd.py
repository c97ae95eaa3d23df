"""`kmsg queue process | list | stats | retry | purge`: the durable job queue."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli import options, purging, tables
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.bounds import check_choice, check_concurrency, check_duration, check_seconds
from kmsg_cli.cli.framework import SENDING_EPILOG, KmsgTyper
from kmsg_cli.cli.options import FILTERS, LimitFilter, ProviderFilter, TypeFilter, list_limit
from kmsg_cli.cli.output import count_column, counted, matching
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
from kmsg_cli.models import JobStatus
from kmsg_cli.providers.base import SIMULATED_NOTE
from kmsg_cli.providers.catalog import any_real

if TYPE_CHECKING:
    from rich.console import Console

    from kmsg_cli.cli.runtime import Runtime
    from kmsg_cli.models import Job
    from kmsg_cli.store.contract import Store
    from kmsg_cli.store.ledger import JobFilter

app = KmsgTyper(help="Work off queued jobs and manage the queue (the same ledger send-many uses).")

JOB_STATUSES = tuple(status.value for status in JobStatus)
MAX_LEASE = (7 * 86_400_000, "7d")

JOBS = tables.Listing(
    fields=tables.fields(
        "id",
        "status",
        "type",
        "to:phone",
        "provider_id",
        "priority:int",
        "attempts:int",
        "max_attempts:int",
        "created_at:time",
        "process_at:time",
        "completed_at:time",
        "failed_at:time",
        "batch",
        "row:int",
        "line:int",
        "error_code",
        "error:error",
    ),
    default=("created_at", "id", "status", "type", "to", "provider_id", "attempts", "error"),
    key="jobs",
)
STATS = tables.Listing(
    fields=tables.fields("status", "error_code", "jobs:int", "oldest_due:time"),
    default=("status", "error_code", "jobs", "oldest_due"),
    key="rows",
)


@app.command("process", epilog=SENDING_EPILOG)
@reports_errors
def process(
    ctx: typer.Context,
    concurrency: Annotated[int, options.concurrency_option()] = 8,
    drain: Annotated[
        bool, options.option("--drain", "", "Stop when no job is due (for cron).")
    ] = False,
    max_jobs: Annotated[
        int | None, options.option("--max-jobs", "N", "Claim at most N jobs.")
    ] = None,
    max_seconds: Annotated[
        float | None,
        options.option(
            "--max-seconds",
            "S",
            "Stop claiming after S seconds (a number: the unit is in the name).",
        ),
    ] = None,
    lease: Annotated[
        str,
        options.option(
            "--lease",
            "DURATION",
            "Claim lease, with a unit (a dead worker's jobs return after it).",
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
    from kmsg_cli.jobs.stats import AGAIN
    from kmsg_cli.jobs.worker import BatchRunner

    check_concurrency(concurrency)
    if max_jobs is not None and max_jobs < 1:
        raise UsageError(f"--max-jobs {max_jobs} must be at least 1", field="max-jobs")
    check_seconds(max_seconds, "--max-seconds")
    lease_ms = check_duration(
        lease,
        "--lease",
        suggest="m",
        at_most=MAX_LEASE,
        why=": a dead worker's jobs wait that long",
    )
    runtime = runtime_of(ctx)
    runtime.refuse_ambiguous_providers()
    store = runtime.store()
    out = runtime.out
    runner = BatchRunner(
        store=store,
        clients=runtime.clients(),
        batch_id=None,
        concurrency=concurrency,
        lease_ms=lease_ms,
        claim_size=None,
        until="drain" if drain else "forever",
        max_jobs=max_jobs,
        max_seconds=max_seconds,
        providers=list(runtime.profile().providers),
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
    others = {} if interrupted else runner.left_for_others()
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
        "other_providers": others,
        "interrupted": interrupted,
        "halted": runner.halted.to_dict() if runner.halted else None,
        # every provider of the profile is the mock (the sandbox): nothing real went out
        "simulated": bool(stats.accepted)
        and not any_real(p.type for p in runtime.profile().providers.values()),
    }
    problems = stats.failed + stats.unknown
    code = EXIT_OK
    error: KmsgError | None = None
    if interrupted:
        code = EXIT_INTERRUPTED
        if drain:  # a bounded run that did not finish: an error, as for send-many
            error = KmsgError("interrupted; unsent claims were released", code="INTERRUPTED")
    elif runner.halted is not None:  # an account refusal: the rest waits, pending
        code = EXIT_PARTIAL if stats.accepted else runner.halted.exit_code
        again = f"run `{out.kmsg('queue process' + (' --drain' if drain else ''))}`: {AGAIN}"
        error = runner.halted.error(f"{counted(data['pending'], 'job')} not sent yet", again)
    elif problems and stats.accepted:
        code = EXIT_PARTIAL
        error = KmsgError(
            f"{counted(problems, 'job')} failed in this run",
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
        if others:
            line = runtime.left_for_others(others, "due job", "queue process --drain")
            console.print(line, markup=False)
        if interrupted and not drain:  # a worker told to stop (systemd, Ctrl-C): not an error
            released = counted(stats.released, "unsent job")
            console.print(f"stopped; {released} released for the next worker", markup=False)
        if data["simulated"]:
            console.print(f"[yellow]note:[/] {SIMULATED_NOTE}.", markup=True)

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
        from rich.progress import BarColumn, Progress, TextColumn

        total = self.store.job_counts().get("pending", 0)
        self._progress = Progress(
            TextColumn("sending queued jobs"),
            BarColumn(),
            count_column(total),
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
    """A job as a listing row: times as epoch milliseconds, the error as kept (and its code)."""
    from kmsg_cli.jobs.outcomes import parse_error

    message = job.data.get("message", {}) if isinstance(job.data, dict) else {}
    meta = job.metadata or {}
    error = parse_error(job.error)
    return {
        "id": job.id,
        "status": job.status,
        "type": message.get("type"),
        "to": message.get("to"),
        "provider_id": job.data.get("provider") if isinstance(job.data, dict) else None,
        "priority": job.priority,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "created_at": job.created_at,
        "process_at": job.process_at,
        "completed_at": job.completed_at,
        "failed_at": job.failed_at,
        "batch": meta.get("batch"),
        "row": meta.get("row"),
        "line": meta.get("line"),  # where send-many's row stands in its file
        "error_code": error.get("code") if error else None,
        "error": error,
    }


def _check_status(status: str | None) -> str | None:
    if status is None:
        return None
    return check_choice(
        status.lower(),
        JOB_STATUSES,
        "job status",
        "INVALID_STATUS",
        field="status",
        given=status,
        error=InvalidInput,
    )


@app.command("list")
@reports_errors
def list_jobs(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        options.status_option(
            "Only jobs in this status: pending, processing, completed, failed.", cv.job_statuses
        ),
    ] = None,
    message_type: TypeFilter = None,
    provider: ProviderFilter = None,
    all_profiles: options.AllProfilesFilter = False,
    batch: Annotated[
        str | None, options.batch_option("Only jobs of this send-many batch.", panel=FILTERS)
    ] = None,
    error: Annotated[
        str | None,
        options.option("--error", "CODE", "Failed with this error code.", FILTERS),
    ] = None,
    limit: LimitFilter = 50,
    output_format: tables.FormatOpt = None,
    no_header: tables.NoHeaderOpt = False,
    fields: tables.FieldsOpt = None,
) -> None:
    """List jobs, newest first: those of the profile's providers, unless --provider or
    --all-profiles.

    [dim]Examples:[/]

      kmsg queue list --status failed

      kmsg queue list --error UNKNOWN_OUTCOME --json

      kmsg queue list --status failed --fields id,to,error_code --format csv
    """
    runtime = runtime_of(ctx)
    view = tables.view(runtime, JOBS, format=output_format, no_header=no_header, fields=fields)
    limit = list_limit(limit)
    scope = runtime.listing_scope(provider, all_profiles)
    store = runtime.store()
    filters: JobFilter = {
        "status": _check_status(status),
        "message_type": message_type.upper() if message_type else None,
        "provider_id": provider,
        "batch": batch,
        "error_code": error,
        "providers": scope,
    }
    rows = [_job_data(job) for job in store.list_jobs(**filters, limit=limit)]
    counts = store.count_jobs_by_status(**filters)
    lines = [matching(counts, "job", len(rows))]
    others = 0
    if scope is not None:  # what the same filters find among other profiles' providers
        everyone: JobFilter = {**filters, "providers": None}
        others = sum(store.count_jobs_by_status(**everyone).values()) - sum(counts.values())
        if others:
            lines.append(runtime.not_listed(others, "matching job"))
    data = {"counts": counts, "providers": scope, "other_profiles": others}
    view.emit(rows, data=data, after=lines)


def _other_profiles(store: Store, scope: list[str] | None) -> int:
    """How many jobs of the queue belong to providers outside `scope` (0 without one)."""
    if scope is None:
        return 0
    return sum(store.job_counts().values()) - sum(store.job_counts(providers=scope).values())


def _not_listed(
    runtime: Runtime, others: int, verbs: tuple[str, str] = ("listed", "lists")
) -> list[str]:
    return [runtime.not_listed(others, "job", verbs)] if others else []


@app.command("stats")
@reports_errors
def stats(
    ctx: typer.Context,
    all_profiles: options.AllProfilesFilter = False,
    output_format: tables.FormatOpt = None,
    no_header: tables.NoHeaderOpt = False,
    fields: tables.FieldsOpt = None,
) -> None:
    """Jobs by status and, for failed jobs, by error code; when the oldest pending job is due.

    Counts the jobs of the profile's providers, unless --all-profiles.

    [dim]Examples:[/]

      kmsg queue stats

      kmsg queue stats --all-profiles --json
    """
    runtime = runtime_of(ctx)
    view = tables.view(runtime, STATS, format=output_format, no_header=no_header, fields=fields)
    scope = runtime.listing_scope(None, all_profiles)
    store = runtime.store()
    result = store.job_stats(providers=scope)
    counts: dict[str, int] = result["counts"]
    by_code: dict[str, int] = result["failures_by_code"]
    oldest = result.get("oldest_due_ms")
    rows: list[dict[str, Any]] = []
    for status in JOB_STATUSES:
        if status != "failed" or not by_code:
            due = oldest if status == "pending" else None
            rows.append({"status": status, "jobs": counts.get(status, 0), "oldest_due": due})
            continue
        for code, count in by_code.items():
            rows.append({"status": status, "error_code": code, "jobs": count})
        rest = counts.get("failed", 0) - sum(by_code.values())
        if rest > 0:
            rows.append({"status": status, "jobs": rest})
    others = _other_profiles(store, scope)
    data = {
        "counts": counts,
        "oldest_due": view.times.iso(oldest),
        "failures_by_code": by_code,
        "providers": scope,
        "other_profiles": others,
    }
    view.emit(rows, data=data, after=_not_listed(runtime, others, ("counted", "counts")))


@app.command("retry")
@reports_errors
def retry(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        options.ids_option("ID", "This job; repeatable.", cv.failed_job_ids),
    ] = None,
    failed: Annotated[bool, options.option("--failed", "", "Every failed job.")] = False,
    unknown: Annotated[
        bool,
        options.option("--unknown", "", "Jobs whose outcome is unknown (may send a duplicate)."),
    ] = False,
    batch: Annotated[str | None, options.batch_option("Only jobs of this batch.")] = None,
    all_profiles: Annotated[
        bool,
        options.option(
            "--all-profiles", "", "With --failed/--unknown: also jobs of other profiles' providers."
        ),
    ] = False,
) -> None:
    """Make failed jobs due again with fresh attempts; accepted and cancelled jobs never are.

    --failed and --unknown take the jobs of the profile's providers (those its `queue process`
    sends), unless --all-profiles; --id takes the jobs named, whatever their provider, and says
    which profile sends those of another profile's providers.

    --failed leaves jobs with an unknown outcome alone: re-sending those may deliver a message
    twice, so it takes --unknown, on purpose.

    [dim]Examples:[/]

      kmsg queue retry --failed --batch b1a2c3d4e5f6a7b8c

      kmsg queue retry --id order-42

      kmsg queue retry --unknown
    """
    from kmsg_cli.jobs.outcomes import job_outcome

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
    cancelled: list[str] = []
    mine = set(runtime.profile().providers)
    elsewhere: Counter[str] = Counter()  # named jobs that another profile's worker sends
    if ids:
        found = store.get_jobs(ids)
        for job_id in ids:
            job = found.get(job_id)
            if job is None:
                raise InvalidInput(
                    f"no job with id '{job_id}'", code="NOT_FOUND", field="id", value=job_id
                )
            if job.status == JobStatus.CANCELLED.value:
                cancelled.append(job_id)
            elif job.status in ("completed", "processing"):
                refused.append(job_id)
            else:
                chosen.append(job_id)
                if (provider := str(job.data.get("provider") or "")) not in mine:
                    elsewhere[provider] += 1
    scope = runtime.listing_scope(None, all_profiles)
    others = 0
    if failed or unknown:
        for job in store.iter_jobs(batch=batch, status="failed"):
            kind = job_outcome(job)
            if (kind == "unknown" and unknown) or (kind == "failed" and failed):
                if scope is None or job.data.get("provider") in scope:
                    chosen.append(job.id)
                else:
                    others += 1
    count = store.reset_jobs(chosen, now_ms=round(time.time() * 1000))
    for line in _not_listed(runtime, others, ("retried", "retries")):
        runtime.out.note(line)
    for job_id in refused:
        runtime.out.warning(
            "NOT_RETRIED", f"job {job_id} is completed or being processed; not retried"
        )
    for job_id in cancelled:
        runtime.out.warning(
            "NOT_RETRIED", f"job {job_id} was cancelled (kmsg cancel); a cancel is final"
        )
    data = {
        "retried": count,
        "refused": refused + cancelled,
        "other_profiles": others,
        "sent_by_other_profiles": dict(elsewhere),
    }
    # `--id` takes any provider's job, but only the profile that has its provider sends it
    drain = "queue process --drain"
    worker = f"; run `{runtime.out.kmsg(drain)}`" if count > sum(elsewhere.values()) else ""

    def show(console: Console) -> None:
        console.print(f"{counted(count, 'job')} due again{worker}", markup=False)
        if elsewhere and count:
            console.print(runtime.left_for_others(elsewhere, "job", drain), markup=False)

    runtime.out.result(data, show)


@app.command("purge")
@reports_errors
def purge(
    ctx: typer.Context,
    older_than: purging.OlderThanOpt = "30d",
    yes: purging.YesOpt = False,
    dry_run: purging.DryRunOpt = False,
) -> None:
    """Delete finished jobs (completed, failed or cancelled) older than AGE.

    Shows how many jobs it would delete and the cut-off time, and asks first; --yes deletes
    without asking, --dry-run only shows. Without a terminal and without --yes nothing is
    deleted (exit 2).

    [dim]Examples:[/]

      kmsg queue purge --older-than 30d --dry-run

      kmsg queue purge --older-than 30d --yes
    """
    runtime = runtime_of(ctx)
    cutoff = purging.cutoff_ms(runtime, older_than)
    store = runtime.store()
    _, jobs = store.count_purgeable(older_than_ms=cutoff)
    plan = purging.Plan(older_than, cutoff, {purging.JOBS_TABLE: jobs})

    def delete() -> dict[str, int]:
        deleted = 0
        while count := store.purge_jobs(older_than_ms=cutoff):
            deleted += count
        return {purging.JOBS_TABLE: deleted}

    purging.carry_out(
        runtime, plan, yes=yes, dry_run=dry_run, command="kmsg queue purge", delete=delete
    )
