"""`kmsg db init | schema | purge | copy | check`."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.errors import StoreError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Create, check, copy and purge the database; print its schema.",
    no_args_is_help=True,
    rich_markup_mode="rich",
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
    data = {
        "database": store.describe(),
        "schema_version": store.schema_version(),
        "tracking_rows": store.count_tracking(),
        "jobs": store.count_jobs(),
    }

    def render(console: Console) -> None:
        console.print(
            f"Database ready: {data['database']} (schema version {data['schema_version']}, "
            f"{data['tracking_rows']} tracking rows, {data['jobs']} jobs)",
            markup=False,
        )

    runtime.out.result(data, render)


@app.command("schema")
@reports_errors
def schema(
    ctx: typer.Context,
    dialect: Annotated[
        Dialect, typer.Option("--dialect", help="SQL dialect to print.", case_sensitive=False)
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
    older_than: Annotated[
        str, typer.Option("--older-than", metavar="AGE", help="Age, e.g. 90d, 12w, 36h.")
    ] = "90d",
) -> None:
    """Delete terminal tracking rows and finished jobs older than AGE (retention).

    Rows still being tracked (PENDING/SENT) and jobs not finished are never deleted.

    [dim]Examples:[/]

      kmsg db purge --older-than 90d

      kmsg db purge --older-than 30d --json
    """
    from kmsg_cli.models import epoch_ms
    from kmsg_cli.when import parse_duration

    runtime = runtime_of(ctx)
    # Nothing is older than 1970: a longer age deletes nothing, and 0 keeps the SQL in range.
    cutoff = max(0, epoch_ms(runtime.now()) - parse_duration(older_than, field="older-than"))
    store = runtime.store()
    total_tracking, total_jobs = store.count_purgeable(older_than_ms=cutoff)
    deleted = [0, 0]
    out = runtime.out

    def loop(advance: Any) -> None:
        while True:
            tracking, jobs = store.purge(older_than_ms=cutoff)
            if not tracking and not jobs:
                return
            deleted[0] += tracking
            deleted[1] += jobs
            advance(tracking + jobs)

    if out.human and not out.quiet and out.err.is_terminal and total_tracking + total_jobs:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(
            TextColumn("purging"), BarColumn(), MofNCompleteColumn(), console=out.err
        ) as progress:
            task = progress.add_task("purge", total=total_tracking + total_jobs)
            loop(lambda n: progress.advance(task, n))
    else:
        loop(lambda n: None)
    data = {"older_than": older_than, "tracking_deleted": deleted[0], "jobs_deleted": deleted[1]}
    runtime.out.result(
        data,
        lambda console: console.print(
            f"deleted {deleted[0]:,} tracking rows and {deleted[1]:,} jobs older than {older_than}",
            markup=False,
        ),
    )


@app.command("copy")
@reports_errors
def copy(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Option("--from", metavar="DB", help="Source: a SQLite path/URL or postgresql://..."),
    ],
    target: Annotated[str, typer.Option("--to", metavar="DB", help="Target database.")],
) -> None:
    """Copy the whole history and queue from one database to another (safe to re-run).

    Rows already in the target are kept as they are, so a second run copies only what is new.

    [dim]Examples:[/]

      kmsg db copy --from ~/.local/share/kmsg/kmsg.sqlite --to postgresql://kmsg@db.internal/kmsg
    """
    from kmsg_cli.store import describe_target, open_store, prepare, same_database
    from kmsg_cli.store.copy import copy_store

    runtime = runtime_of(ctx)
    out = runtime.out
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
    runtime.out.result(
        data,
        lambda console: console.print(
            f"copied {counts['jobs_copied']:,} jobs ({counts['jobs_skipped']:,} already there) and "
            f"{counts['tracking_copied']:,} tracking rows ({counts['tracking_skipped']:,} already "
            f"there) from {data['from']} to {data['to']}",
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
def check(ctx: typer.Context) -> None:
    """Verify the database's invariants: schema, engine integrity, jobs and tracking rows.

    Read-only: it creates and changes nothing (a missing SQLite file is an error). Prints
    PASS/FAIL/SKIP per check with example ids; exits 2 (DB_INCONSISTENT) when a check fails.

    [dim]Examples:[/]

      kmsg db check

      kmsg --db postgresql://kmsg@db.internal/kmsg db check --json
    """
    from kmsg_cli.dbcheck import check_store
    from kmsg_cli.store import open_store

    runtime = runtime_of(ctx)
    target = runtime.db_target()
    _require_existing(target, field="db")
    with open_store(target) as store:
        findings = check_store(store)
        database = store.describe()
    failed = [finding for finding in findings if not finding.ok]
    data = {
        "database": database,
        "ok": not failed,
        "checks": [finding.to_dict() for finding in findings],
    }

    def render(console: Console) -> None:
        from rich.markup import escape

        colours = {"PASS": "green", "FAIL": "red", "SKIP": "dim"}
        console.print(f"database: {database}", markup=False)
        for finding in findings:
            detail = finding.detail
            if finding.examples:
                detail += " (e.g. " + ", ".join(finding.examples) + ")"
            console.print(
                f"  [{colours[finding.result]}]{finding.result}[/] "
                f"{escape(finding.name)}: {escape(detail)}",
                markup=True,
                highlight=False,
            )

    if not failed:
        runtime.out.result(data, render)
        return
    names = ", ".join(finding.name for finding in failed)
    runtime.out.result(
        data,
        render,
        ok=False,
        error=StoreError(
            f"{len(failed)} of {len(findings)} checks failed: {names}", code="DB_INCONSISTENT"
        ),
    )
    raise typer.Exit(2)
