"""Options that several commands share, declared once: name, placeholder, completion, panel.

A command passes the help sentence that fits it (`--provider` picks the provider of a send,
filters a listing) and the panel of its help page it belongs to; everything else about the
option is the same wherever it appears. The `*Filter` types are the listings' filters.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli.bounds import check_count

FILTERS = "Filters"
MAX_LIST = 1_000_000
"""Rows a listing shows at most (and what the database takes as LIMIT)."""


def provider_option(help: str = "Only this provider id.", *, panel: str | None = FILTERS) -> Any:
    """`--provider ID`, completed from the providers of the active profile."""
    return typer.Option(
        "--provider",
        metavar="ID",
        help=help,
        autocompletion=cv.provider_ids,
        rich_help_panel=panel,
    )


def type_option(
    help: str = "Only this message type (SMS, LMS, ALIMTALK, ...).", *, panel: str | None = FILTERS
) -> Any:
    """`--type TYPE`, completed from the message types."""
    return typer.Option(
        "--type",
        metavar="TYPE",
        help=help,
        autocompletion=cv.message_types,
        rich_help_panel=panel,
    )


def limit_option(
    help: str = "Show at most N, newest first.", *, panel: str | None = FILTERS
) -> Any:
    """`--limit N`."""
    return typer.Option("--limit", metavar="N", help=help, rich_help_panel=panel)


def concurrency_option(
    help: str = "HTTP requests in flight at most.", *, panel: str | None = None
) -> Any:
    """`--concurrency N`: requests to the providers in flight at once."""
    return typer.Option("--concurrency", metavar="N", help=help, rich_help_panel=panel)


def since_option(help: str, *, panel: str | None = FILTERS) -> Any:
    """`--since WHEN`: a time filter (a duration ago, a date, a date-time)."""
    return typer.Option("--since", metavar="WHEN", help=help, rich_help_panel=panel)


def until_option(help: str, *, panel: str | None = FILTERS) -> Any:
    """`--until WHEN`: the other end of `--since`."""
    return typer.Option("--until", metavar="WHEN", help=help, rich_help_panel=panel)


def older_than_option(help: str) -> Any:
    """`--older-than AGE`: what a purge removes (an age with a unit)."""
    return typer.Option("--older-than", metavar="AGE", help=help)


def batch_option(help: str, *, panel: str | None = None, complete: bool = False) -> Any:
    """`--batch ID`: a send-many batch (completed from the database when `complete`)."""
    return typer.Option(
        "--batch",
        metavar="ID",
        help=help,
        autocompletion=cv.batch_ids if complete else None,
        rich_help_panel=panel,
    )


ProviderFilter = Annotated[str | None, provider_option()]
TypeFilter = Annotated[str | None, type_option()]
LimitFilter = Annotated[int, limit_option()]


def list_limit(limit: int) -> int:
    """`--limit` of a listing: 1 to MAX_LIST (else INVALID_LIMIT)."""
    check_count(limit, "--limit", maximum=MAX_LIST)
    return limit
