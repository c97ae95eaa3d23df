"""Options that several commands share, declared once: the filters of the listings."""

from __future__ import annotations

from typing import Annotated

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.errors import UsageError

FILTERS = "Filters"
MAX_LIST = 1_000_000
"""Rows a listing shows at most (and what the database takes as LIMIT)."""

ProviderFilter = Annotated[
    str | None,
    typer.Option(
        "--provider",
        metavar="ID",
        help="Only this provider id.",
        autocompletion=cv.provider_ids,
        rich_help_panel=FILTERS,
    ),
]
TypeFilter = Annotated[
    str | None,
    typer.Option(
        "--type",
        metavar="TYPE",
        help="Only this message type (SMS, LMS, ALIMTALK, ...).",
        autocompletion=cv.message_types,
        rich_help_panel=FILTERS,
    ),
]
LimitFilter = Annotated[
    int,
    typer.Option(
        "--limit", metavar="N", help="Show at most N, newest first.", rich_help_panel=FILTERS
    ),
]


def list_limit(limit: int) -> int:
    """`--limit` as the database takes it: at least 1, at most MAX_LIST (else INVALID_LIMIT)."""
    if limit > MAX_LIST:
        raise UsageError(
            f"--limit {limit} is out of range (at most {MAX_LIST:,})",
            code="INVALID_LIMIT",
            field="limit",
            value=str(limit),
        )
    return max(1, limit)
