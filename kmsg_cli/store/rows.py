"""Rows <-> models: the column values every engine reads and writes, and the constants the
shared SQL needs (which statuses a claim or a purge takes, which columns hold JSON).

Engines read and write the columns in `TRACKING_COLUMNS` / `JOB_COLUMNS` order; the helpers
here turn such value sequences into `TrackingRow` / `Job` and back, so that every engine agrees
on JSON handling and on the `"from"` column being `sender` (docs/storage.md, "Tables").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any

from kmsg_cli.errors import StoreError
from kmsg_cli.jsontext import compact_encoder
from kmsg_cli.models import TERMINAL_STATUSES, DeliveryStatus, Job, JobStatus, TrackingRow
from kmsg_cli.store.schema import JOB_COLUMNS, TRACKING_COLUMNS

# Larger IN lists risk the engines' bound-parameter limits (SQLite builds before 3.32: 999).
MAX_IN_PARAMS = 500

TRACKING_JSON_COLUMNS = frozenset({"last_error", "metadata"})
JOB_JSON_COLUMNS = frozenset({"data", "metadata"})

# The columns `apply_tracking` writes; the identity of a message (ids, type, numbers, request
# and schedule times) never changes once it is tracked.
TRACKING_MUTABLE_COLUMNS: tuple[str, ...] = (
    "status",
    "provider_status_code",
    "provider_status_message",
    "sent_at",
    "delivered_at",
    "failed_at",
    "status_updated_at",
    "attempt_count",
    "last_checked_at",
    "next_check_at",
    "last_error",
    "metadata",
)

# Tracking statuses a claim takes (still travelling), and the finished job statuses `purge` takes.
TRACKING_DUE_STATUSES: tuple[str, ...] = (DeliveryStatus.PENDING.value, DeliveryStatus.SENT.value)
TRACKING_TERMINAL_STATUSES: tuple[str, ...] = tuple(
    sorted(status.value for status in TERMINAL_STATUSES)
)
JOB_FINISHED_STATUSES: tuple[str, ...] = (
    JobStatus.COMPLETED.value,
    JobStatus.FAILED.value,
    JobStatus.CANCELLED.value,
)

# The metadata key of a job enqueued by `apply_tracking`: the message_id it belongs to.
FOR_MESSAGE_KEY = "for_message"

# "from" is a Python keyword, so the model calls it `sender`; every other name is shared.
TRACKING_FIELDS: tuple[str, ...] = tuple(
    "sender" if column == "from" else column for column in TRACKING_COLUMNS
)


_ENCODE = compact_encoder()
_DECODER = json.JSONDecoder()
_DECODE = _DECODER.decode
_SCAN: Callable[[str, int], tuple[object, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _decode(text: str) -> object:
    """`_DECODE(text)`, directly by the scanner when it reads the whole text (compact JSON as
    kmsg writes it); anything else (surrounding spaces, bad JSON) goes to the full decoder."""
    try:
        value, end = _SCAN(text, 0)
    except (StopIteration, ValueError):
        return _DECODE(text)
    return value if end == len(text) else _DECODE(text)


def dump_json(value: Mapping[str, Any] | None) -> str | None:
    """A JSON object as compact text (UTF-8 kept readable); None stays None."""
    if value is None:
        return None
    return _ENCODE(value if type(value) is dict else dict(value))


def json_list(values: Sequence[str] | None) -> str | None:
    """A list parameter as one JSON array of its distinct strings (`Dialect.in_list`), or
    None (no list: no condition)."""
    return None if values is None else json.dumps(sorted(set(values)))


BAD_JSON_HINT = (
    "a row holds JSON that does not parse (edited by hand?): kmsg db check names it; repair or "
    "delete that row"
)


def bad_json_hint(reason: str) -> str | None:
    """BAD_JSON_HINT when a driver's error is about JSON text that does not parse (SQLite's
    "malformed JSON", MySQL's 3141 "Invalid JSON text"), else None."""
    lowered = reason.lower()
    return BAD_JSON_HINT if "malformed json" in lowered or "invalid json" in lowered else None


def load_json(value: object, *, column: str) -> dict[str, Any] | None:
    """A JSON column's value as a dict: text (SQLite, MySQL) or a decoded object (JSONB)."""
    if value is None:
        return None
    decoded: object = value
    if isinstance(value, str | bytes | bytearray):
        try:
            decoded = _decode(value) if isinstance(value, str) else json.loads(value)
        except ValueError as exc:
            raise StoreError(
                f"column {column} holds invalid JSON: {exc}",
                code="DB_BAD_JSON",
                hint=BAD_JSON_HINT,
            ) from None
    if not isinstance(decoded, dict):
        raise StoreError(
            f"column {column} holds JSON {type(decoded).__name__}, expected an object",
            code="DB_BAD_JSON",
            hint=BAD_JSON_HINT,
        )
    return decoded


def plain(value: Any) -> Any:
    """StrEnum members as their value: every driver then writes the same text."""
    return value.value if isinstance(value, Enum) else value


def _text_values(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """`values` with the StrEnum members among `names` replaced by their value."""
    for name in names:
        value = values[name]
        if value.__class__ is not str and isinstance(value, Enum):
            values[name] = value.value
    return values


# Text columns a caller may fill with a StrEnum member (the statuses and types).
_TRACKING_ENUMS = ("type", "status")
_JOB_ENUMS = ("type", "status")


def tracking_params(row: TrackingRow) -> dict[str, Any]:
    """Column name -> value of a tracking row, JSON as text (every write of an accepted
    message makes one: the fields are copied at once, then the few that differ fixed)."""
    values = vars(row).copy()
    values["from"] = values.pop("sender")
    values["last_error"] = dump_json(values["last_error"])
    values["metadata"] = dump_json(values["metadata"])
    return _text_values(values, _TRACKING_ENUMS)


def tracking_from_values(values: Sequence[Any]) -> TrackingRow:
    """A TrackingRow from column values in `TRACKING_COLUMNS` order."""
    kwargs = dict(zip(TRACKING_FIELDS, values, strict=True))
    kwargs["last_error"] = load_json(kwargs["last_error"], column="last_error")
    kwargs["metadata"] = load_json(kwargs["metadata"], column="metadata")
    return TrackingRow(**kwargs)


def job_params(job: Job) -> dict[str, Any]:
    """Column name -> value of a job, JSON as text (copied at once, like `tracking_params`)."""
    values = vars(job).copy()
    values["data"] = dump_json(values["data"])
    values["metadata"] = dump_json(values["metadata"])
    return _text_values(values, _JOB_ENUMS)


_DATA_AT = JOB_COLUMNS.index("data")
_METADATA_AT = JOB_COLUMNS.index("metadata")
# The models' field names in declaration order (their annotations: no dataclass machinery).
if tuple(Job.__annotations__) != JOB_COLUMNS:  # job_from_values passes them in order
    raise AssertionError("Job's fields and JOB_COLUMNS differ in order: update rows.py")
if TRACKING_JSON_COLUMNS != {"last_error", "metadata"}:  # the tracking converters name them
    raise AssertionError("TRACKING_JSON_COLUMNS changed: update the tracking converters")
if JOB_JSON_COLUMNS != {"data", "metadata"}:  # job_params names them
    raise AssertionError("JOB_JSON_COLUMNS changed: update rows.job_params")
if set(TrackingRow.__annotations__) != set(TRACKING_FIELDS):
    # tracking_params copies the model's fields: the columns must be exactly those
    raise AssertionError("TrackingRow's fields and its table's columns differ: update rows.py")


def job_from_values(values: Sequence[Any]) -> Job:
    """A Job from column values in `JOB_COLUMNS` order (every claim reads thousands)."""
    row = list(values)
    # NOT NULL in the schema, but a hand-edited row should not crash the queue.
    row[_DATA_AT] = load_json(row[_DATA_AT], column="data") or {}
    metadata = row[_METADATA_AT]
    row[_METADATA_AT] = None if metadata is None else load_json(metadata, column="metadata")
    return Job(*row)


def chunked(items: Sequence[str], size: int = MAX_IN_PARAMS) -> list[Sequence[str]]:
    """Split items into slices of at most `size` (for IN lists)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def job_row(job: Job) -> int | None:
    """`metadata.row` when it is a JSON integer (send-many's input row number), else None."""
    row = (job.metadata or {}).get("row")
    return row if isinstance(row, int) and not isinstance(row, bool) else None


def claimed_order(job: Job) -> tuple[int, int, bool, int, str]:
    """Sort key of claimed jobs: (-priority, created_at, metadata.row (None last), id).

    process_at is left out because a claim sets it to the lease for every job it takes.
    """
    row = job_row(job)
    return (-job.priority, job.created_at, row is None, row or 0, job.id)


def check_follow_ups(updates: Sequence[TrackingRow], jobs: Sequence[Job]) -> None:
    """ValueError when a message_id repeats in `updates` or a job of `jobs` is not tied (by
    `metadata.for_message`) to one of them: `apply_tracking` refuses such calls up front."""
    message_ids = [row.message_id for row in updates]
    if len(set(message_ids)) != len(message_ids):
        raise ValueError("apply_tracking: a message_id appears more than once in updates")
    known = set(message_ids)
    for job in jobs:
        target = (job.metadata or {}).get(FOR_MESSAGE_KEY)
        if not isinstance(target, str) or target not in known:
            raise ValueError(
                f"apply_tracking: job {job.id!r} has metadata.{FOR_MESSAGE_KEY} "
                f"{target!r}, which is not the message_id of one of the updates"
            )
