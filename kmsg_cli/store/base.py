"""The storage contract every backend implements, and row <-> model conversions they share.

Backends read and write the columns in `TRACKING_COLUMNS` / `JOB_COLUMNS` order; the helpers
here turn such value sequences into `TrackingRow` / `Job` and back, so SQLite and a later
PostgreSQL backend agree on JSON handling and on the `"from"` column being `sender`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from kmsg_cli.errors import StoreError
from kmsg_cli.models import Job, TrackingRow
from kmsg_cli.store.schema import JOB_COLUMNS, TRACKING_COLUMNS

# Larger IN lists risk the backends' bound-parameter limits (SQLite builds before 3.32: 999).
MAX_IN_PARAMS = 500

TRACKING_JSON_COLUMNS = frozenset({"last_error", "metadata"})
JOB_JSON_COLUMNS = frozenset({"data", "metadata"})

# "from" is a Python keyword, so the model calls it `sender`; every other name is shared.
TRACKING_FIELDS: tuple[str, ...] = tuple(
    "sender" if column == "from" else column for column in TRACKING_COLUMNS
)


@runtime_checkable
class Store(Protocol):
    """Durable storage of delivery tracking rows and queue jobs."""

    def initialize(self) -> None:
        """Create missing tables and indexes (idempotent) and record the schema version.

        Raises StoreError `DB_SCHEMA_TOO_NEW` when the database was written by a newer kmsg.
        """
        ...

    def schema_version(self) -> int:
        """The schema version recorded in the database (0 before `initialize`)."""
        ...

    def get_tracking(self, message_id: str) -> TrackingRow | None:
        """The tracking row of one message, or None."""
        ...

    def find_tracking(self, message_ids: Sequence[str]) -> dict[str, TrackingRow]:
        """Tracking rows by message id; ids without a row are absent from the result."""
        ...

    def insert_tracking(self, rows: Sequence[TrackingRow]) -> int:
        """Insert rows in one transaction, skipping known message ids; returns the new count."""
        ...

    def insert_jobs(self, jobs: Sequence[Job]) -> int:
        """Insert jobs in one transaction, skipping existing ids; returns how many were new."""
        ...

    def get_job(self, job_id: str) -> Job | None:
        """One job, or None."""
        ...

    def complete_jobs(
        self, job_ids: Sequence[str], tracking: Sequence[TrackingRow], *, now_ms: int
    ) -> None:
        """Mark jobs completed and insert their tracking rows, all in one transaction."""
        ...

    def fail_jobs(self, failures: Mapping[str, str], *, now_ms: int) -> None:
        """Mark jobs failed (job id -> error text) in one transaction."""
        ...

    def count_tracking(self) -> int:
        """Number of tracking rows."""
        ...

    def count_jobs(self) -> int:
        """Number of jobs, whatever their status."""
        ...

    def describe(self) -> str:
        """Where the data lives, for people (`SQLite /path/to/kmsg.db`); never a password."""
        ...

    def close(self) -> None:
        """Release the connection; calling it twice is harmless."""
        ...

    def __enter__(self) -> Self:
        """Use the store as a context manager that closes it on exit."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        ...


def dump_json(value: Mapping[str, Any] | None) -> str | None:
    """A JSON object as compact text (UTF-8 kept readable); None stays None."""
    if value is None:
        return None
    return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def load_json(value: object, *, column: str) -> dict[str, Any] | None:
    """A JSON column's value as a dict: text (SQLite) or an already decoded object (JSONB)."""
    if value is None:
        return None
    decoded: object = value
    if isinstance(value, str | bytes | bytearray):
        try:
            decoded = json.loads(value)
        except ValueError as exc:
            raise StoreError(
                f"column {column} holds invalid JSON: {exc}", code="DB_BAD_JSON"
            ) from None
    if not isinstance(decoded, dict):
        raise StoreError(
            f"column {column} holds JSON {type(decoded).__name__}, expected an object",
            code="DB_BAD_JSON",
        )
    return decoded


def tracking_params(row: TrackingRow) -> tuple[Any, ...]:
    """Column values of a tracking row, in `TRACKING_COLUMNS` order, JSON as text."""
    values: list[Any] = []
    for column, field in zip(TRACKING_COLUMNS, TRACKING_FIELDS, strict=True):
        value = getattr(row, field)
        values.append(dump_json(value) if column in TRACKING_JSON_COLUMNS else value)
    return tuple(values)


def tracking_from_values(values: Sequence[Any]) -> TrackingRow:
    """A TrackingRow from column values in `TRACKING_COLUMNS` order."""
    kwargs: dict[str, Any] = {}
    for column, field, value in zip(TRACKING_COLUMNS, TRACKING_FIELDS, values, strict=True):
        kwargs[field] = (
            load_json(value, column=column) if column in TRACKING_JSON_COLUMNS else value
        )
    return TrackingRow(**kwargs)


def job_params(job: Job) -> tuple[Any, ...]:
    """Column values of a job, in `JOB_COLUMNS` order, JSON as text."""
    values: list[Any] = []
    for column in JOB_COLUMNS:
        value = getattr(job, column)
        values.append(dump_json(value) if column in JOB_JSON_COLUMNS else value)
    return tuple(values)


def job_from_values(values: Sequence[Any]) -> Job:
    """A Job from column values in `JOB_COLUMNS` order."""
    kwargs: dict[str, Any] = {}
    for column, value in zip(JOB_COLUMNS, values, strict=True):
        kwargs[column] = load_json(value, column=column) if column in JOB_JSON_COLUMNS else value
    if kwargs["data"] is None:
        # NOT NULL in the schema, but a hand-edited row should not crash the queue.
        kwargs["data"] = {}
    return Job(**kwargs)


def chunked(items: Sequence[str], size: int = MAX_IN_PARAMS) -> list[Sequence[str]]:
    """Split items into slices of at most `size` (for IN lists)."""
    return [items[start : start + size] for start in range(0, len(items), size)]
