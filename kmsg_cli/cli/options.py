"""Options that several commands share, declared once: the filters of the listings."""

from __future__ import annotations

from typing import Annotated

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli.bounds import check_count

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
    """`--limit` of a listing: 1 to MAX_LIST (else INVALID_LIMIT)."""
    check_count(limit, "--limit", maximum=MAX_LIST)
    return limit
