"""`kmsg db init | schema | purge | copy | check`."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kmsg_cli.cli import options, purging, tables
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.framework import KmsgTyper
from kmsg_cli.cli.output import count_column, counted
from kmsg_cli.errors import StoreError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

app = KmsgTyper(help="Create, check, copy and purge the database; print its schema.")

CHECKS = tables.Listing(
    fields=tables.fields("check", "result", "ok:bool", "count:int", "detail", "examples:list"),
    default=("result", "check", "count", "detail", "examples"),
    key="checks",
)


class Dialect(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"
    mysql = "mysql"


@app.command("init")
@reports_errors
def init(ctx: typer.Context) -> None:
    """Create the tables and indexes if they are missing (safe to re-run).

    [dim]Examples:[/]
      kmsg db init
      kmsg --db ./kmsg.sqlite db init --json
    """
    runtime = runtime_of(ctx)
    store = runtime.store()
    tracking_rows, jobs = store.count_tracking(), store.count_jobs()
    data = {
        "database": store.describe(),
        "schema_version": store.schema_version(),
        "tracking_rows": tracking_rows,
        "jobs": jobs,
    }

    def render(console: Console) -> None:
        console.print(
            f"Database ready: {data['database']} (schema version {data['schema_version']}, "
            f"{counted(tracking_rows, 'tracking row')}, {counted(jobs, 'job')})",
            markup=False,
        )

    runtime.out.result(data, render)


@app.command("schema")
@reports_errors
def schema(
    ctx: typer.Context,
    dialect: Annotated[
        Dialect,
        typer.Option(
            "--dialect",
            metavar="sqlite|postgres|mysql",
            help="SQL dialect to print.",
            case_sensitive=False,
        ),
    ] = Dialect.sqlite,
) -> None:
    """Print the DDL of kmsg's tables for SQLite, PostgreSQL or MySQL.

    [dim]Examples:[/]
      kmsg db schema
      kmsg db schema --dialect postgres | psql "$DATABASE_URL"
    """
    from kmsg_cli.store import schema as ddl

    runtime = runtime_of(ctx)
    text = ddl.ddl_text(dialect.value)
    data = {"dialect": dialect.value, "statements": ddl.ddl_statements(dialect.value)}
    runtime.out.result(data, lambda console: console.print(text, markup=False, highlight=False))


@app.command("purge")
@reports_errors
def purge(
    ctx: typer.Context,
    older_than: purging.OlderThanOpt = "90d",
    yes: purging.YesOpt = False,
    dry_run: purging.DryRunOpt = False,
) -> None:
    """Delete final tracking rows and finished jobs older than AGE (retention).

    Shows what it would delete (rows per table, the cut-off time) and asks first; --yes
    deletes without asking (scripts, cron), --dry-run only shows. Without a terminal and
    without --yes nothing is deleted (exit 2). Rows still being tracked (PENDING/SENT) and
    jobs not finished are never deleted.

    [dim]Examples:[/]

      kmsg db purge --older-than 90d --dry-run

      kmsg db purge --older-than 90d

      0 4 * * *  kmsg db purge --older-than 90d --yes --json
    """
    runtime = runtime_of(ctx)
    cutoff = purging.cutoff_ms(runtime, older_than)
    store = runtime.store()
    tracking, jobs = store.count_purgeable(older_than_ms=cutoff)
    plan = purging.Plan(
        older_than,
        cutoff,
        {purging.TRACKING_TABLE: tracking, purging.JOBS_TABLE: jobs},
    )
    out = runtime.out

    def delete() -> dict[str, int]:
        deleted = [0, 0]

        def loop(advance: Any) -> None:
            while True:
                tracking, jobs = store.purge(older_than_ms=cutoff)
                if not tracking and not jobs:
                    return
                deleted[0] += tracking
                deleted[1] += jobs
                advance(tracking + jobs)

        if out.human and not out.quiet and out.err.is_terminal and plan.total:
            from rich.progress import BarColumn, Progress, TextColumn

            with Progress(
                TextColumn("purging"), BarColumn(), count_column(plan.total), console=out.err
            ) as progress:
                task = progress.add_task("purge", total=plan.total)
                loop(lambda n: progress.advance(task, n))
        else:
            loop(lambda n: None)
        return {purging.TRACKING_TABLE: deleted[0], purging.JOBS_TABLE: deleted[1]}

    purging.carry_out(
        runtime, plan, yes=yes, dry_run=dry_run, command="kmsg db purge", delete=delete
    )


@app.command("copy")
@reports_errors
def copy(
    ctx: typer.Context,
    target: Annotated[
        str,
        options.option("--to", "DB", "Target: a SQLite path/URL, postgresql://... or mysql://..."),
    ],
    source: Annotated[
        str | None,
        options.option(
            "--from",
            "DB",
            "Source (default: the database kmsg uses: --db, KMSG_DB, the profile's or the "
            "default file).",
        ),
    ] = None,
) -> None:
    """Copy the whole history and queue from one database to another (safe to re-run).

    Rows already in the target are kept as they are, so a second run copies only what is new.

    [dim]Examples:[/]

      kmsg db copy --to postgresql://kmsg@db.internal/kmsg

      kmsg db copy --from old.sqlite --to new.sqlite
    """
    from kmsg_cli.store import describe_target, open_store, prepare, same_database
    from kmsg_cli.store.copy import copy_store

    runtime = runtime_of(ctx)
    out = runtime.out
    if source is None:
        source = runtime.db_target()
    if same_database(source, target):
        raise UsageError(
            f"--from and --to name the same database ({describe_target(source)})",
            code="DB_SAME",
            field="to",
            value=describe_target(target),
            hint="give --to another database",
        )
    _require_existing(source, field="from")
    with open_store(source) as src, open_store(target) as dst:
        prepare(src)
        prepare(dst)
        if out.human and not out.quiet and out.err.is_terminal:
            from rich.progress import Progress, SpinnerColumn, TextColumn

            with Progress(
                SpinnerColumn(), TextColumn("copying: {task.fields[done]:,} rows"), console=out.err
            ) as progress:
                task = progress.add_task("copy", done=0)
                counts = copy_store(src, dst, on_progress=lambda n: progress.update(task, done=n))
        else:
            counts = copy_store(src, dst)
    data = {"from": describe_target(source), "to": describe_target(target), **counts}
    clashing = [
        (counted(counts[f"{kind}_conflicting"], noun), counts["conflicts"][kind])
        for kind, noun in (("jobs", "job"), ("tracking", "tracking row"))
        if counts[f"{kind}_conflicting"]
    ]
    if clashing:
        ids = ", ".join(dict.fromkeys(i for _, shown in clashing for i in shown))
        out.warning(
            "COPY_CONFLICT",
            f"{' and '.join(what for what, _ in clashing)} of the source were not copied: the "
            f"target holds other messages under their ids ({ids}); the source keeps them",
        )
    runtime.out.result(
        data,
        lambda console: console.print(
            f"copied {counted(counts['jobs_copied'], 'job')} ({counts['jobs_skipped']:,} already "
            f"there), {counted(counts['tracking_copied'], 'tracking row')} "
            f"({counts['tracking_skipped']:,} already there) and "
            f"{counted(counts['state_copied'], 'named value')} such as batch inputs "
            f"({counts['state_skipped']:,} already there) from {data['from']} to {data['to']}",
            markup=False,
        ),
    )


def _require_existing(target: str, *, field: str) -> None:
    """StoreError DB_NOT_FOUND when `target` is a SQLite file that does not exist (opening it
    would create an empty database)."""
    import os

    from kmsg_cli.store import describe_target, sqlite_file

    path = sqlite_file(target)
    if path is not None and path != ":memory:" and not os.path.exists(path):
        raise StoreError(
            f"no database at {describe_target(target)} (field '{field}')",
            code="DB_NOT_FOUND",
            field=field,
            value=describe_target(target),
            hint="check the path; kmsg db init creates a new database",
        )


@app.command("check")
@reports_errors
def check(
    ctx: typer.Context,
    output_format: tables.FormatOpt = None,
    no_header: tables.NoHeaderOpt = False,
    fields: tables.FieldsOpt = None,
) -> None:
    """Verify the database's invariants: schema, engine integrity, jobs and tracking rows.

    Read-only: it creates and changes nothing (a missing SQLite file is an error). Prints
    PASS/FAIL/SKIP per check with example ids; exits 2 (DB_INCONSISTENT) when a check fails.

    [dim]Examples:[/]

      kmsg db check

      kmsg --db postgresql://kmsg@db.internal/kmsg db check --json

      kmsg db check --format tsv --no-header | grep ^FAIL
    """
    from kmsg_cli.dbcheck import check_store
    from kmsg_cli.store import open_store

    runtime = runtime_of(ctx)
    view = tables.view(runtime, CHECKS, format=output_format, no_header=no_header, fields=fields)
    target = runtime.db_target()
    _require_existing(target, field="db")
    with open_store(target) as store:
        findings = check_store(store)
        database = store.describe()
    failed = [finding for finding in findings if not finding.ok]
    rows = [finding.to_dict() for finding in findings]
    data = {"database": database, "ok": not failed}
    before = [f"database: {database}"]
    if not failed:
        view.emit(rows, data=data, before=before)
        return
    names = ", ".join(finding.name for finding in failed)
    view.emit(
        rows,
        data=data,
        before=before,
        ok=False,
        error=StoreError(
            f"{len(failed)} of {len(findings)} checks failed: {names}", code="DB_INCONSISTENT"
        ),
    )
    raise typer.Exit(2)
