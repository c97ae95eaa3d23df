"""`kmsg send-many FILE`: bulk sends through the job ledger, safe to re-run after a crash."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kmsg_cli.cli import options
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.bounds import check_concurrency, check_max_attempts, check_priority
from kmsg_cli.cli.options import MESSAGE, SENDING
from kmsg_cli.cli.output import counted
from kmsg_cli.cli.stopping import run_until_stopped
from kmsg_cli.errors import EXIT_INTERRUPTED, InvalidInput, UsageError, quoted

if TYPE_CHECKING:
    from kmsg_cli.config import Profile
    from kmsg_cli.store.contract import Store

HELP = """Send many messages from a CSV/TSV file (with a header), an Excel workbook or JSON Lines; '-' reads standard input.

Columns: to (required), text, type, subject, from, template, image, provider, at, failover_text, failover_type, failover_subject, options; every other column is a #{variable} (a column called id too, unless --id-column names it). --text, --template, --type, --from, --at and the --failover-* options fill rows that lack them.

Every valid row is written to the job ledger before anything is sent. Re-running the same command after a crash, Ctrl-C or kill -9 finishes what is left and never sends an accepted row again.

[dim]Examples:[/]

  kmsg send-many customers.csv --text "#{name}님, 점검 안내" --concurrency 16

  kmsg send-many orders.jsonl --template ORDER_SHIPPED --results results.jsonl

  kmsg send-many big.csv --rate 50/s --yes

  kmsg send-many customers.csv --text "#{name}님, 점검" --at "tomorrow 09:00"

  kmsg send-many customers.csv --dry-run
"""  # noqa: E501

CONFIRM_ABOVE = 100
MAX_STDIN_BYTES = 2 << 30  # what `-` copies to a private spool file at most
MAX_BATCH_ID = 150  # + ":<row>" stays within the 200 characters of a message id


_PER = {"s": 1, "m": 60, "h": 3600}  # a rate's unit (`/s`, `/min`, `/h`) in seconds


def _parse_rate(value: str | None) -> float | None:
    """`--rate N/s` (or `/min`, `/h`; a bare N is per second) as messages per second."""
    if value is None:
        return None
    match = re.fullmatch(
        r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hr|hour))?\s*",
        value,
        re.IGNORECASE,
    )
    if not match or float(match.group(1)) <= 0:
        raise InvalidInput(
            f"'{value}' is not a rate (field 'rate')",
            code="INVALID_RATE",
            field="rate",
            value=value,
            hint="use messages per second or minute, e.g. --rate 50/s or --rate 600/min",
        )
    return float(match.group(1)) / _PER[(match.group(2) or "s")[0].lower()]


def _check_batch_id(value: str | None) -> str | None:
    """`--batch-id`: it starts every message id (`<batch>:<row>`), so it follows the rules of
    `--id`: 1-150 characters, no whitespace or control characters."""
    if value is None:
        return None
    import unicodedata

    problem = None
    if not value.strip():
        problem = "is empty"
    elif len(value) > MAX_BATCH_ID:
        problem = f"is {len(value)} characters; at most {MAX_BATCH_ID} allowed"
    elif any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in value):
        problem = "contains whitespace or control characters"
    if problem is None:
        return value
    raise UsageError(
        f"batch id {quoted(value, 60)} {problem} (field 'batch-id')",
        code="INVALID_BATCH_ID",
        field="batch-id",
        value=value,
        hint="use letters, digits and punctuation, e.g. --batch-id june-notice",
    )


@reports_errors
def send_many(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="CSV, TSV, Excel (.xlsx) or JSON Lines file; '-' = stdin."
        ),
    ],
    text: Annotated[str | None, options.text_option("Text for rows without one.")] = None,
    template: Annotated[
        str | None, options.template_option("AlimTalk template for rows without one.")
    ] = None,
    message_type: Annotated[
        str | None, options.type_option("Type for rows without one.", panel=MESSAGE)
    ] = None,
    sender: Annotated[str | None, options.sender_option("Sender for rows without one.")] = None,
    at: Annotated[
        str | None,
        options.at_option(
            "Send rows without an at column later: 'YYYY-MM-DD HH:MM' (profile timezone), "
            "'tomorrow 09:00', +2h or ISO time; one moment for every row.",
            panel=SENDING,
        ),
    ] = None,
    failover_text: Annotated[
        str | None,
        options.failover_text_option(
            "Failover SMS/LMS text for AlimTalk/RCS/Brand Message rows without one.",
            panel=MESSAGE,
        ),
    ] = None,
    failover_type: Annotated[
        str | None,
        options.failover_type_option(
            "Failover as SMS or LMS for rows with a failover text (default: by length).",
            panel=MESSAGE,
        ),
    ] = None,
    failover_subject: Annotated[
        str | None,
        options.failover_subject_option(
            "Failover LMS subject for rows with a failover text and none of their own.",
            panel=MESSAGE,
        ),
    ] = None,
    concurrency: Annotated[int, options.concurrency_option(panel=SENDING)] = 8,
    rate: Annotated[
        str | None,
        options.option("--rate", "N/s", "At most N messages per second (or N/min).", "Sending"),
    ] = None,
    batch_id: Annotated[
        str | None,
        options.option(
            "--batch-id", "ID", "Batch id (default: a hash of the input and options).", "Sending"
        ),
    ] = None,
    resume: Annotated[
        bool,
        options.option("--resume", "", "Resume a batch (implicit when it exists).", "Sending"),
    ] = False,
    dry_run: Annotated[
        bool, options.dry_run_option("Validate every row; send nothing.", panel=SENDING)
    ] = False,
    results: Annotated[
        Path | None,
        options.option(
            "--results",
            "PATH",
            "Write a line per row (JSON Lines; CSV for a .csv PATH); with --dry-run, the rows "
            "it would not send.",
            "Output",
        ),
    ] = None,
    yes: Annotated[
        bool, options.yes_option("Do not ask before sending many real messages.", panel=SENDING)
    ] = False,
    encoding: Annotated[
        str | None,
        options.option(
            "--encoding", "NAME", "CSV encoding (default: detect UTF-8/CP949).", "Input"
        ),
    ] = None,
    input_format: Annotated[
        str | None,
        options.option(
            "--format", "csv|tsv|jsonl|xlsx", "Input format (default: detect).", "Input"
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        options.option(
            "--delimiter",
            "CHAR",
            "CSV delimiter: ',', ';', '|' or tab (default: comma, or tab when the header "
            "has tabs and no commas).",
            "Input",
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        options.option(
            "--sheet", "NAME|N", "Sheet of an .xlsx file (default: the first).", "Input"
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        options.option(
            "--column",
            "NAME=HEADER",
            "Read a recognised column from another header, e.g. --column to=전화번호 (repeatable).",
            "Input",
        ),
    ] = None,
    window: Annotated[
        str | None,
        options.option(
            "--window",
            "DURATION",
            "Skip rows whose same content went to the same number this recently "
            "(default: the profile's duplicate_window, 24h).",
            "Sending",
        ),
    ] = None,
    allow_duplicates: Annotated[
        bool,
        options.option(
            "--allow-duplicates",
            "",
            "Send rows even when the same content went to the same number recently.",
            "Sending",
        ),
    ] = False,
    id_column: Annotated[
        str | None,
        options.option(
            "--id-column",
            "HEADER",
            "Take each row's message id from this column (default: generated; a column "
            "named 'id' is ordinary data).",
            "Input",
        ),
    ] = None,
    max_attempts: Annotated[
        int,
        options.max_attempts_option("Attempts per message for temporary failures.", panel=SENDING),
    ] = 3,
    queue: Annotated[
        bool, options.queue_option("Only enqueue; `kmsg queue process` sends.")
    ] = False,
    priority: Annotated[int, options.priority_option("Queue priority.")] = 0,
) -> None:
    from kmsg_cli.bulk_input import ColumnMap, Row, open_rows
    from kmsg_cli.cli import bulk_view
    from kmsg_cli.jobs import enqueue as bulk
    from kmsg_cli.jobs import outcomes
    from kmsg_cli.jobs.placeholders import check_failover_source, check_placeholders
    from kmsg_cli.normalize.message import parse_failover_type
    from kmsg_cli.results_file import ResultsFile
    from kmsg_cli.when import parse_when

    del resume  # resuming is what a re-run does; the flag documents intent
    check_concurrency(concurrency)
    check_max_attempts(max_attempts)
    per_second = _parse_rate(rate)
    read_options: dict[str, Any] = {
        "encoding": encoding,
        "format": input_format,
        "columns": ColumnMap.parse(column or [], id_column),
        "delimiter": delimiter,
        "sheet": sheet,
    }
    check_priority(priority)
    batch_id = _check_batch_id(batch_id)
    runtime = runtime_of(ctx)
    out = runtime.out
    profile = runtime.profile()
    if failover_type is not None:  # refused before any row is read, not once per row
        parse_failover_type(failover_type, field="failover-type")
    if at is not None:  # likewise: a past or unreadable --at is one error, not one per row
        parse_when(at, now=runtime.now(), timezone=profile.timezone)
    if sender is not None:  # and a bad --from or --type, which every row would repeat
        from kmsg_cli.normalize import normalize_sender

        normalize_sender(sender, field="from")
    if message_type is not None:
        from kmsg_cli.normalize import parse_type

        parse_type(message_type, field="type")
    defaults = bulk.Defaults(
        text=text,
        template=template,
        type=message_type,
        sender=sender,
        failover_text=failover_text,
        failover_type=failover_type,
        failover_subject=failover_subject,
        at=at,
    )
    started = time.monotonic()

    # Pass 1: read everything once for its content hash (the default batch id) and row count.
    spool = _Spool(file)
    ctx.call_on_close(spool.close)  # the copy of stdin holds phone numbers: never left behind
    with open_rows(spool.path, stdin=spool.stdin, **read_options) as rows:
        if rows.columns is not None:  # a header: every #{name} of --text must have a column
            check_placeholders(rows.columns, read_options["columns"], text)
            check_placeholders(
                rows.columns, read_options["columns"], failover_text, "failover-text"
            )
            check_placeholders(
                rows.columns, read_options["columns"], failover_subject, "failover-subject"
            )
            check_failover_source(
                rows.columns,
                read_options["columns"],
                text=failover_text,
                kind=failover_type,
                subject=failover_subject,
            )
            total_rows = sum(1 for _ in rows)
        else:  # JSON Lines: each record has its own keys, read whole before deciding
            total_rows, shaped = 0, False
            for item in rows:
                total_rows += 1
                shaped = shaped or (isinstance(item, Row) and "failover_text" in item.fields)
            if not shaped:
                check_failover_source(
                    [], None, text=failover_text, kind=failover_type, subject=failover_subject
                )
        digest = rows.digest()
    batch = batch_id or bulk.batch_id_for(digest, defaults, profile.name)
    if (known := runtime.existing_store()) is not None:  # before asking anything
        ran_before = _refuse_other_profiles_batch(known, batch, profile)
        if batch_id is not None and ran_before:
            # a --batch-id run before, perhaps by a profile that gives one of this profile's
            # provider ids to another account: its waiting jobs would go out with this one's
            runtime.refuse_ambiguous_providers()
    view = bulk_view.BulkView(
        out,
        batch_id=batch,
        total_rows=total_rows,
        timezone=profile.timezone,
        input_format=rows.format,
    )

    from kmsg_cli.providers.catalog import any_real

    real = any_real(p.type for p in profile.providers.values())
    if (
        not dry_run
        and real
        and total_rows > CONFIRM_ABOVE
        and not yes
        and not out.json_mode
        and sys.stdin is not None
        and sys.stdin.isatty()
        and out.err.is_terminal
    ):
        if not typer.confirm(
            f"Send up to {total_rows:,} real messages with profile '{profile.name}'?", err=True
        ):
            out.note("cancelled: nothing was sent")
            raise typer.Exit(EXIT_INTERRUPTED)

    if results is not None:
        _check_results(str(results), file, runtime.db_target())
    # A dry run reads the ledger (when there is one) as the run would, and writes nothing.
    store = runtime.existing_store() if dry_run else runtime.store()
    duplicates = None
    if not allow_duplicates and store is not None:
        duplicates = _duplicate_filter(store, profile, window, batch, runtime.now())
    if not dry_run and (id_column or batch_id):
        runtime.warn_if_new_database("--id-column" if id_column else "--batch-id")
    result_file = ResultsFile(str(results)) if results else None
    try:
        with open_rows(spool.path, stdin=spool.stdin, **read_options) as rows:
            with view.reading() as on_rows:
                report = bulk.enqueue(
                    rows,
                    defaults,
                    profile=profile,
                    clients=runtime.clients(),
                    store=store,
                    batch_id=batch,
                    now=runtime.now(),
                    max_attempts=max_attempts,
                    priority=priority,
                    rotation=(
                        store.reserve_sequence(f"round_robin:{profile.name}", total_rows)
                        if store is not None and not dry_run and profile.strategy == "round_robin"
                        else 0
                    ),
                    on_problem=result_file.invalid if result_file else None,
                    on_rows=on_rows,
                    duplicates=duplicates,
                    on_skip=result_file.skipped if result_file else None,
                    dry_run=dry_run,
                )
    finally:
        spool.close()
        if duplicates is not None:
            duplicates.close()
    if dry_run:  # --results: the rows that would not be sent: invalid, skipped (docs/bulk-input.md)
        lines = result_file.write(None, batch) if result_file else None
        view.dry_run(
            report,
            profile_name=profile.name,
            results=str(results) if results else None,
            result_lines=lines,
        )
        raise typer.Exit(bulk_view.dry_run_exit_code(report))
    assert store is not None
    view.problems(report)
    view.row_warnings(report)
    if queue:
        if result_file is not None:
            result_file.discard()
        jobs = store.job_counts(batch=batch)
        view.queued(report, inserted=report.inserted, jobs=jobs, profile_name=profile.name)
        raise typer.Exit(2 if report.rows and not report.valid else (5 if report.invalid else 0))

    from kmsg_cli.jobs.stats import AGAIN
    from kmsg_cli.jobs.worker import BatchRunner

    runner = BatchRunner(
        store=store,
        clients=runtime.clients(),
        batch_id=batch,
        concurrency=concurrency,
        rate=per_second,
        claim_size=1000 if per_second is None else max(1, min(1000, int(per_second))),
        # every job of the batch is this profile's: another profile's batch id was refused
        # above, and the default id differs per profile
    )
    retried = outcomes.retry_temporary_failures(store, batch, now_ms=_ms(runtime.now()))
    if retried:
        out.note(
            f"{counted(retried, 'row')} that failed temporarily in an earlier run "
            f"{'is' if retried == 1 else 'are'} tried again"
        )
    before = outcomes.batch_state(store, batch)
    send_started = time.monotonic()

    def work() -> None:
        with view.sending(before, runner.stats) as on_progress:
            runner.on_progress = on_progress
            runner.run()

    interrupted = run_until_stopped(work)
    state = outcomes.batch_state(store, batch)
    lines = result_file.write(store, batch) if result_file else None
    view.summary(
        report,
        state,
        runner.stats,
        before=before,
        elapsed=time.monotonic() - started,
        send_elapsed=time.monotonic() - send_started,
        results=str(results) if results else None,
        result_lines=lines,
        interrupted=interrupted,
        profile_name=profile.name,
        halted=runner.halted,
        again=f"run the same command: {AGAIN}",
    )
    raise typer.Exit(
        bulk_view.exit_code(report, state, interrupted=interrupted, halted=runner.halted)
    )


def _refuse_other_profiles_batch(store: Store, batch_id: str, profile: Profile) -> bool:
    """A batch that another profile ran (a `--batch-id` tried on the sandbox, now used for
    real; a default id from before ids depended on the profile): its rows would count as sent
    already, and its queued jobs are not this profile's to send. Refused before anything is
    read or sent. True when the batch has jobs (it ran before)."""
    jobs = store.list_jobs(batch=batch_id, limit=1)
    for job in jobs:
        provider = job.data.get("provider")
        if isinstance(provider, str) and provider not in profile.providers:
            raise UsageError(
                f"batch '{batch_id}' was run under another profile (provider {provider}, which "
                f"profile '{profile.name}' does not have): its rows would count as sent "
                "(field 'batch-id')",
                code="BATCH_OF_OTHER_PROFILE",
                field="batch-id",
                value=batch_id,
                hint="give this run a --batch-id of its own",
            )
    return bool(jobs)


def _check_results(path: str, source: str, db_target: str) -> None:
    """--results must never overwrite the database or the input (under any name)."""
    import os

    from kmsg_cli.errors import StoreError
    from kmsg_cli.results_file import check_results_target, results_refused
    from kmsg_cli.store import same_database

    try:
        is_database = same_database(path, db_target)
    except StoreError:  # not a path a database could have
        is_database = False
    if is_database:
        raise results_refused(path, "it is the database")
    if source != "-" and os.path.exists(source) and os.path.exists(path):
        if os.path.samefile(source, path):
            raise results_refused(path, "it is the input file")
    check_results_target(path)


def _duplicate_filter(store: Any, profile: Any, window: str | None, batch: str, now: Any) -> Any:
    from kmsg_cli.dedupe import DuplicateFilter
    from kmsg_cli.when import format_local, parse_typed_duration

    if window is not None:
        window_ms = parse_typed_duration(window, field="window", suggest="h")
    else:
        window_ms = profile.duplicate_window_ms
    return DuplicateFilter(
        store,
        window_ms=window_ms,
        now_ms=_ms(now),
        shown_time=lambda moment: format_local(moment, profile.timezone),
        batch=batch,
    )


def _ms(moment: Any) -> int:
    from kmsg_cli.models import epoch_ms

    return epoch_ms(moment)


class _Spool:
    """Standard input is read twice (hash, then rows): keep a private copy on disk."""

    def __init__(self, file: str) -> None:
        self.stdin = None
        self._temp: Any = None
        if file == "-":
            import tempfile

            self._temp = tempfile.NamedTemporaryFile(prefix="kmsg-stdin-", delete=False)
            self.path = self._temp.name
            source = sys.stdin.buffer if sys.stdin is not None else None
            if source is None:
                self.close()
                raise UsageError("'-' needs standard input", field="file", value="-")
            size = 0
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > MAX_STDIN_BYTES:  # `yes | kmsg send-many -` must not fill the disk
                    self.close()
                    raise InvalidInput(
                        f"standard input is larger than {MAX_STDIN_BYTES >> 30} GiB",
                        code="INPUT_TOO_LARGE",
                        field="file",
                        value="-",
                        hint="split the input into several files and send them one by one",
                    )
                self._temp.write(chunk)
            self._temp.close()
        else:
            self.path = file

    def close(self) -> None:
        if self._temp is not None:
            self._temp.close()
            Path(self._temp.name).unlink(missing_ok=True)
