"""`kmsg db check`: verify the invariants kmsg keeps in its database (docs/storage.md).

`check_store(store)` runs every check and returns one `Finding` per check: PASS, FAIL (how many
rows, a short detail and at most `MAX_EXAMPLES` example ids) or SKIP (why it could not apply).
It only reads; nothing is created or changed. Only what the code itself guarantees is asserted:

- schema: kmsg's three tables with every documented column, the five indexes, and the schema
  version this kmsg writes (`Store.initialize`);
- how claims exclude each other on this engine (always PASS: it says which method is used, e.g.
  MySQL's SKIP LOCKED or its slower fallback on older servers);
- the engine's own checks: SQLite `PRAGMA integrity_check` and `foreign_key_check` (skipped on
  PostgreSQL and MySQL, which verify their pages themselves);
- jobs: a status of pending/processing/completed/failed/cancelled; a `processing` job carries
  the claim's `metadata.owner` (claims and take-overs always record it, its lease being
  `process_at`); a completed or cancelled job has `completed_at` and a failed one `failed_at`
  and an error (complete_jobs / cancel_jobs / fail_jobs write them in the same statement);
  0 <= attempts <= max_attempts, and a pending job has an attempt left (a claim adds one only
  to a due pending job, and the runner puts a job back to pending only while attempts <
  max_attempts); a completed `send` job has the tracking row of its id (complete_jobs inserts
  it in the same transaction);
- tracking rows: one of the six statuses; DELIVERED has `delivered_at`, FAILED has `failed_at`
  (the only writer of those statuses, `tracking.apply_check`, always sets them); no provider
  message id (non-empty) is held by two rows of one provider;
- JSON columns (jobs `data`/`metadata`, tracking `last_error`/`metadata`) hold JSON objects
  (`data` is never NULL): the store's own JSON functions fail on anything else.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from kmsg_cli.errors import StoreError
from kmsg_cli.models import DeliveryStatus, JobStatus
from kmsg_cli.store.contract import Store
from kmsg_cli.store.inspect import Inspector, SchemaInfo, inspector
from kmsg_cli.store.rows import JOB_JSON_COLUMNS, TRACKING_JSON_COLUMNS
from kmsg_cli.store.schema import (
    CONTENT_KEY_COLUMNS,
    CONTENT_KEYS_TABLE,
    INDEX_NAMES,
    JOB_COLUMNS,
    JOBS_TABLE,
    SCHEMA_VERSION,
    STATE_COLUMNS,
    STATE_TABLE,
    TRACKING_COLUMNS,
    TRACKING_TABLE,
)

MAX_EXAMPLES = 5

Result = Literal["PASS", "FAIL", "SKIP"]

EXPECTED_TABLES: dict[str, tuple[str, ...]] = {
    TRACKING_TABLE: TRACKING_COLUMNS,
    JOBS_TABLE: JOB_COLUMNS,
    STATE_TABLE: STATE_COLUMNS,
    CONTENT_KEYS_TABLE: CONTENT_KEY_COLUMNS,
}
JOB_STATUSES = tuple(status.value for status in JobStatus)
TRACKING_STATUSES = tuple(status.value for status in DeliveryStatus)
# DELIVERED and FAILED rows carry the time of that outcome in a column of their own.
TERMINAL_TIME_COLUMNS = {
    DeliveryStatus.DELIVERED.value: "delivered_at",
    DeliveryStatus.FAILED.value: "failed_at",
}
# Job statuses whose writer (complete_jobs, cancel_jobs) always sets completed_at.
_COMPLETED_AT = frozenset({JobStatus.COMPLETED.value, JobStatus.CANCELLED.value})
# Errors that say the database cannot be used right now, not that it is inconsistent.
_OPERATIONAL = frozenset({"DB_LOCKED", "DB_UNAVAILABLE", "DB_CLOSED"})

JOB_CHECKS = (
    "job statuses",
    "processing jobs have an owner",
    "finished jobs have their time",
    "failed jobs have an error",
    "job attempts within max_attempts",
    "job JSON columns",
)
TRACKING_CHECKS = ("tracking statuses", "terminal rows have their time", "tracking JSON columns")
DUPLICATES = "provider message ids unique"
CLAIMS = "claims"
ORPHANS = "completed jobs have a tracking row"

_T = TypeVar("_T")


@dataclass(frozen=True)
class Finding:
    """The outcome of one check."""

    name: str
    result: Result
    detail: str
    count: int = 0  # rows (or pairs, or messages) at fault
    examples: tuple[str, ...] = ()  # at most MAX_EXAMPLES ids of rows at fault

    @property
    def ok(self) -> bool:
        return self.result != "FAIL"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "result": self.result,
            "ok": self.ok,
            "count": self.count,
            "detail": self.detail,
            "examples": list(self.examples),
        }


def check_store(store: Store) -> list[Finding]:
    """Run every check on `store`, in a fixed order; see the module docstring."""
    view = inspector(store)
    findings: list[Finding] = []
    info = _guarded(findings, "schema", view.schema_info)
    if info is None:
        return findings
    findings += _schema(info)
    findings.append(Finding(CLAIMS, "PASS", view.claim_method()))
    findings += _guarded(findings, "engine integrity", lambda: _engine(view)) or []
    complete = {
        table: table in info.tables and not _missing_columns(info, table)
        for table in (JOBS_TABLE, TRACKING_TABLE)
    }
    if complete[JOBS_TABLE]:
        findings += _guarded(findings, "job rows", lambda: _scan_jobs(view)) or []
    else:
        findings += [_needs(name, JOBS_TABLE) for name in JOB_CHECKS]
    if complete[TRACKING_TABLE]:
        findings += _guarded(findings, "tracking rows", lambda: _scan_tracking(view)) or []
        findings += _guarded(findings, DUPLICATES, lambda: [_duplicates(view)]) or []
    else:
        findings += [_needs(name, TRACKING_TABLE) for name in (*TRACKING_CHECKS, DUPLICATES)]
    if complete[JOBS_TABLE] and complete[TRACKING_TABLE]:
        findings += _guarded(findings, ORPHANS, lambda: [_orphans(view)]) or []
    else:
        findings.append(_needs(ORPHANS, JOBS_TABLE if not complete[JOBS_TABLE] else TRACKING_TABLE))
    return findings


def _guarded(findings: list[Finding], name: str, work: Callable[[], _T]) -> _T | None:
    """`work()`, or None after appending a FAIL finding `name` when the database refused the
    query (a damaged file, a column of the wrong type). Operational errors (locked,
    unavailable) are raised as they are: they say nothing about consistency."""
    try:
        return work()
    except StoreError as error:
        if error.code in _OPERATIONAL:
            raise
        findings.append(Finding(name, "FAIL", f"could not run: {error.message}"))
        return None


def _needs(name: str, table: str) -> Finding:
    return Finding(name, "SKIP", f"needs the table {table} with all its columns (see schema)")


# -- schema ------------------------------------------------------------------------------------


def _missing_columns(info: SchemaInfo, table: str) -> list[str]:
    present = set(info.tables.get(table, ()))
    return [column for column in EXPECTED_TABLES[table] if column not in present]


def _schema(info: SchemaInfo) -> list[Finding]:
    problems: list[str] = []
    missing_tables = [table for table in EXPECTED_TABLES if table not in info.tables]
    if missing_tables:
        problems.append("missing tables " + ", ".join(missing_tables))
    for table in EXPECTED_TABLES:
        if table in info.tables and (columns := _missing_columns(info, table)):
            problems.append(f"{table} lacks columns " + ", ".join(columns))
    missing_indexes = [name for name in INDEX_NAMES if name not in info.indexes]
    if missing_indexes:
        problems.append("missing indexes " + ", ".join(missing_indexes))
    if problems:
        hint = "; run kmsg db init" if len(missing_tables) == len(EXPECTED_TABLES) else ""
        schema = Finding(
            "schema",
            "FAIL",
            "; ".join(problems) + hint,
            count=len(missing_tables) + len(missing_indexes),
        )
    else:
        schema = Finding(
            "schema",
            "PASS",
            f"{len(EXPECTED_TABLES)} tables with every column, {len(INDEX_NAMES)} indexes",
        )
    if info.version == SCHEMA_VERSION:
        version = Finding("schema version", "PASS", f"version {info.version}")
    elif info.version > SCHEMA_VERSION:
        version = Finding(
            "schema version",
            "FAIL",
            f"version {info.version} was written by a newer kmsg "
            f"(this one understands up to {SCHEMA_VERSION})",
        )
    else:
        version = Finding(
            "schema version",
            "FAIL",
            f"version {info.version} recorded, {SCHEMA_VERSION} expected; run kmsg db init",
        )
    return [schema, version]


def _engine(view: Inspector) -> list[Finding]:
    found = view.engine_check()
    names = ("integrity_check", "foreign_key_check")
    if found is None:
        note = "not applicable to this engine (it verifies its own pages)"
        return [Finding(name, "SKIP", note) for name in names]
    findings = []
    for name in names:
        problems = found.get(name, [])
        if problems:
            shown = "; ".join(problems[:MAX_EXAMPLES])
            more = (
                f" (and {len(problems) - MAX_EXAMPLES} more)"
                if len(problems) > MAX_EXAMPLES
                else ""
            )
            findings.append(Finding(name, "FAIL", shown + more, count=len(problems)))
        else:
            findings.append(Finding(name, "PASS", "ok"))
    return findings


# -- row checks --------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Rows at fault for one check: their number, the first ids, and why (reason -> rows)."""

    count: int = 0
    examples: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, ident: str, reason: str = "") -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(ident)
        if reason:
            self.reasons[reason] += 1

    def finding(self, name: str, passed: str, failed: str) -> Finding:
        if not self.count:
            return Finding(name, "PASS", passed)
        why = ", ".join(
            f"{reason} ({count})" for reason, count in self.reasons.most_common(MAX_EXAMPLES)
        )
        rows = f"{self.count} row{'s' if self.count != 1 else ''}"
        detail = f"{rows} {failed}" + (f": {why}" if why else "")
        return Finding(name, "FAIL", detail, count=self.count, examples=tuple(self.examples))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(value: object, *, nullable: bool = True) -> tuple[dict[str, Any] | None, str]:
    """(the decoded object or None, "" when fine, else what is wrong with it)."""
    if value is None:
        return None, "" if nullable else "NULL"
    if not isinstance(value, str | bytes | bytearray):
        return None, f"{type(value).__name__}, not JSON text"
    try:
        decoded = json.loads(value, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None, "not valid JSON"
    if not isinstance(decoded, dict):
        kind = "null" if decoded is None else type(decoded).__name__
        return None, f"JSON {kind}, not an object"
    return decoded, ""


def _json_problems(
    row: Mapping[str, Any], columns: Iterable[str], tally: _Tally, ident: str
) -> None:
    reasons = []
    for column in sorted(columns):
        _, problem = _json_object(row[column], nullable=column != "data")
        if problem:
            reasons.append(f"{column} {problem}")
    if reasons:
        tally.add(ident, "; ".join(reasons))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _scan_jobs(view: Inspector) -> list[Finding]:
    statuses, owners, times, errors, attempts, json_columns = (_Tally() for _ in range(6))
    for row in view.iter_raw(JOBS_TABLE):
        ident = str(row["id"])
        status = row["status"]
        if status not in JOB_STATUSES:
            statuses.add(ident, _shown(status))
        _json_problems(row, JOB_JSON_COLUMNS, json_columns, ident)
        metadata, _ = _json_object(row["metadata"])
        if status == JobStatus.PROCESSING.value:
            owner = (metadata or {}).get("owner")
            if not isinstance(owner, dict) or not owner:
                owners.add(ident, "no metadata.owner")
        if status in _COMPLETED_AT and row["completed_at"] is None:
            times.add(ident, f"{status} without completed_at")
        if status == JobStatus.FAILED.value:
            if row["failed_at"] is None:
                times.add(ident, "failed without failed_at")
            if row["error"] is None or not str(row["error"]).strip():
                errors.add(ident, "no error")
        done, most = _int(row["attempts"]), _int(row["max_attempts"])
        if done is None or most is None:
            attempts.add(ident, "not integers")
        elif done < 0 or most < 1:
            attempts.add(ident, "negative attempts or max_attempts below 1")
        elif done > most:
            attempts.add(ident, "attempts > max_attempts")
        elif status == JobStatus.PENDING.value and done >= most:
            attempts.add(ident, "pending with no attempt left")
    return [
        statuses.finding(
            JOB_CHECKS[0], "every job is " + "/".join(JOB_STATUSES), "with another status"
        ),
        owners.finding(
            JOB_CHECKS[1],
            "every processing job records its owner",
            "claimed without an owner (recovery cannot tell whether the worker is alive)",
        ),
        times.finding(
            JOB_CHECKS[2],
            "completed_at / failed_at set",
            "finished without their time",
        ),
        errors.finding(JOB_CHECKS[3], "every failed job says why", "failed"),
        attempts.finding(
            JOB_CHECKS[4],
            "0 <= attempts <= max_attempts, and pending jobs have an attempt left",
            "out of bounds",
        ),
        json_columns.finding(
            JOB_CHECKS[5], "data and metadata are JSON objects", "with broken JSON"
        ),
    ]


def _scan_tracking(view: Inspector) -> list[Finding]:
    statuses, times, json_columns = _Tally(), _Tally(), _Tally()
    for row in view.iter_raw(TRACKING_TABLE):
        ident = str(row["message_id"])
        status = row["status"]
        if status not in TRACKING_STATUSES:
            statuses.add(ident, _shown(status))
        column = TERMINAL_TIME_COLUMNS.get(str(status))
        if column is not None and row[column] is None:
            times.add(ident, f"{status} without {column}")
        _json_problems(row, TRACKING_JSON_COLUMNS, json_columns, ident)
    return [
        statuses.finding(
            TRACKING_CHECKS[0],
            "every row is " + "/".join(TRACKING_STATUSES),
            "with another status",
        ),
        times.finding(
            TRACKING_CHECKS[1],
            "DELIVERED rows have delivered_at, FAILED rows failed_at",
            "without the time of their outcome",
        ),
        json_columns.finding(
            TRACKING_CHECKS[2], "last_error and metadata are JSON objects", "with broken JSON"
        ),
    ]


# -- across rows -------------------------------------------------------------------------------


def _duplicates(view: Inspector) -> Finding:
    name = DUPLICATES
    count, pairs = view.duplicate_provider_message_ids(limit=MAX_EXAMPLES)
    if not count:
        return Finding(name, "PASS", "no provider message id is held by two rows of a provider")
    shown = ", ".join(
        f"{provider}/{provider_message_id} ({len(ids)} rows)"
        for provider, provider_message_id, ids in pairs
    )
    examples = tuple(dict.fromkeys(i for _, _, ids in pairs for i in ids))[:MAX_EXAMPLES]
    plural = "s are" if count != 1 else " is"
    return Finding(
        name,
        "FAIL",
        f"{count} provider message id{plural} held by several rows: {shown}",
        count=count,
        examples=examples,
    )


def _orphans(view: Inspector) -> Finding:
    name = ORPHANS
    count, ids = view.completed_jobs_without_tracking(limit=MAX_EXAMPLES)
    if not count:
        return Finding(name, "PASS", "every completed send job has its tracking row")
    return Finding(
        name,
        "FAIL",
        f"{count} completed send job{'s' if count != 1 else ''} without a tracking row "
        "(an interrupted `kmsg db purge` can leave these; re-running it removes them)",
        count=count,
        examples=tuple(ids),
    )
