"""Options that several commands share, declared once: name, placeholder, completion, panel.

A command passes the help sentence that fits it (`--provider` picks the provider of a send,
filters a listing) and the panel of its help page it belongs to; everything else about the
option is the same wherever it appears. `option` is how every one of them is built (a flag
takes no value: its placeholder is empty). The `*Filter` types are the listings' filters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli.bounds import check_count

FILTERS = "Filters"
MESSAGE = "Message"
SENDING = "Sending"
QUEUE = "Queue"
MAX_LIST = 1_000_000
"""Rows a listing shows at most (and what the database takes as LIMIT)."""


def option(
    flag: str,
    metavar: str,
    help: str,
    panel: str | None = None,
    *,
    alias: str | None = None,
    complete: Callable[..., Any] | None = None,
    show_default: bool = True,
) -> Any:
    """A Typer option: its flag (and `alias`), placeholder (empty for a flag without a value),
    help, the panel of the help page it is listed in, and its completion."""
    return typer.Option(
        *(flag, alias) if alias else (flag,),
        metavar=metavar,
        help=help,
        rich_help_panel=panel,
        autocompletion=complete,
        show_default=show_default,
    )


def provider_option(help: str = "Only this provider id.", *, panel: str | None = FILTERS) -> Any:
    """`--provider ID`, completed from the providers of the active profile."""
    return option("--provider", "ID", help, panel, complete=cv.provider_ids)


def type_option(
    help: str = "Only this message type (SMS, LMS, ALIMTALK, ...).", *, panel: str | None = FILTERS
) -> Any:
    """`--type TYPE`, completed from the message types."""
    return option("--type", "TYPE", help, panel, complete=cv.message_types)


def status_option(help: str, complete: Callable[..., Any]) -> Any:
    """`--status STATUS`: a listing's filter, completed from the statuses it knows."""
    return option("--status", "STATUS", help, FILTERS, complete=complete)


def ids_option(metavar: str, help: str, complete: Callable[..., Any]) -> Any:
    """`--id ID` (repeatable): what a command acts on, completed from the database."""
    return option("--id", metavar, help, complete=complete)


def limit_option(
    help: str = "Show at most N, newest first.", *, panel: str | None = FILTERS
) -> Any:
    """`--limit N`."""
    return option("--limit", "N", help, panel)


def concurrency_option(
    help: str = "HTTP requests in flight at most.", *, panel: str | None = None
) -> Any:
    """`--concurrency N`: requests to the providers in flight at once."""
    return option("--concurrency", "N", help, panel)


def since_option(help: str, *, panel: str | None = FILTERS) -> Any:
    """`--since WHEN`: a time filter (a duration ago, a date, a date-time)."""
    return option("--since", "WHEN", help, panel)


def until_option(help: str, *, panel: str | None = FILTERS) -> Any:
    """`--until WHEN`: the other end of `--since`."""
    return option("--until", "WHEN", help, panel)


def batch_option(help: str, *, panel: str | None = None, pending: bool = False) -> Any:
    """`--batch ID`: a send-many batch, completed from the database: the batches that still
    have pending jobs when `pending` (what `cancel` can take back), else the recent ones."""
    return option(
        "--batch", "ID", help, panel, complete=cv.batch_ids if pending else cv.recent_batch_ids
    )


# -- what `send` and `send-many` share ------------------------------------------------------


def text_option(help: str) -> Any:
    """`--text TEXT`: the message text."""
    return option("--text", "TEXT", help, MESSAGE)


def template_option(help: str) -> Any:
    """`--template CODE`: a template id of the vendor."""
    return option("--template", "CODE", help, MESSAGE)


def sender_option(help: str) -> Any:
    """`--from PHONE`: the sender number."""
    return option("--from", "PHONE", help, MESSAGE)


def at_option(help: str, *, panel: str | None) -> Any:
    """`--at WHEN`: when to send (docs/cli.md, "Times")."""
    return option("--at", "WHEN", help, panel)


def failover_text_option(help: str, *, panel: str | None) -> Any:
    """`--failover-text TEXT` (alias `--fallback-text`): the SMS/LMS of a fallback."""
    return option("--failover-text", "TEXT", help, panel, alias="--fallback-text")


def failover_type_option(help: str, *, panel: str | None) -> Any:
    """`--failover-type TYPE`: SMS or LMS, completed."""
    return option("--failover-type", "TYPE", help, panel, complete=cv.failover_types)


def failover_subject_option(help: str, *, panel: str | None) -> Any:
    """`--failover-subject TEXT`: the subject of an LMS fallback."""
    return option("--failover-subject", "TEXT", help, panel)


def max_attempts_option(help: str, *, panel: str) -> Any:
    """`--max-attempts N`: attempts of a queued message for temporary failures."""
    return option("--max-attempts", "N", help, panel)


def queue_option(help: str) -> Any:
    """`--queue`: only enqueue; `kmsg queue process` sends."""
    return option("--queue", "", help, QUEUE)


def priority_option(help: str) -> Any:
    """`--priority N`: the queue's order (higher first)."""
    return option("--priority", "N", help, QUEUE)


def dry_run_option(help: str, *, panel: str | None = None) -> Any:
    """`--dry-run`: say what would happen; change nothing."""
    return option("--dry-run", "", help, panel)


def yes_option(help: str, *, panel: str | None = None) -> Any:
    """`--yes`/`-y`: do not ask (for scripts)."""
    return option("--yes", "", help, panel, alias="-y")


def all_profiles_option() -> Any:
    """`--all-profiles`: a listing's rows of every provider, not only the profile's."""
    help = "Also rows of providers this profile does not have (profiles sharing a database)."
    return option("--all-profiles", "", help, FILTERS)


AllProfilesFilter = Annotated[bool, all_profiles_option()]
ProviderFilter = Annotated[str | None, provider_option()]
TypeFilter = Annotated[str | None, type_option()]
LimitFilter = Annotated[int, limit_option()]


def list_limit(limit: int) -> int:
    """`--limit` of a listing: 1 to MAX_LIST (else INVALID_LIMIT)."""
    check_count(limit, "--limit", maximum=MAX_LIST)
    return limit
