"""`kmsg db init | schema`."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from kmsg_cli.cli.boundary import reports_errors, runtime_of

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Create the database and print its schema.", no_args_is_help=True, rich_markup_mode="rich"
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
