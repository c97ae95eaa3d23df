"""The SQLite backend: one WAL-mode connection per process, short BEGIN IMMEDIATE writes."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

from kmsg_cli.errors import StoreError
from kmsg_cli.files import make_private_parents
from kmsg_cli.models import Job, JobStatus, TrackingRow
from kmsg_cli.store.base import (
    FOR_MESSAGE_KEY,
    JOB_FINISHED_STATUSES,
    TRACKING_DUE_STATUSES,
    TRACKING_JSON_COLUMNS,
    TRACKING_MUTABLE_COLUMNS,
    TRACKING_TERMINAL_STATUSES,
    SchemaInfo,
    chunked,
    claimed_order,
    dump_json,
    job_from_values,
    job_params,
    raw_table,
    tracking_from_values,
    tracking_params,
)
from kmsg_cli.store.schema import (
    INDEX_NAMES,
    JOB_COLUMNS,
    JOBS_TABLE,
    SCHEMA_VERSION,
    STATE_TABLE,
    TRACKING_COLUMNS,
    TRACKING_TABLE,
    ddl_statements,
    quote,
    state_statements,
)

MEMORY = ":memory:"
DEFAULT_BUSY_TIMEOUT_MS = 5000

_OPEN_HINT = "check the path or pass --db PATH"
_LOCKED_HINT = "another kmsg process holds the database; try again"


def _q(identifier: str) -> str:
    return quote(identifier, "sqlite")


def _select(table: str, columns: Sequence[str]) -> str:
    return f"SELECT {', '.join(_q(c) for c in columns)} FROM {_q(table)}"


def _insert_ignore(table: str, columns: Sequence[str], key: str) -> str:
    names = ", ".join(_q(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {_q(table)} ({names}) VALUES ({marks}) ON CONFLICT({_q(key)}) DO NOTHING"


_SELECT_TRACKING = _select(TRACKING_TABLE, TRACKING_COLUMNS)
_SELECT_JOB = _select(JOBS_TABLE, JOB_COLUMNS)
_INSERT_TRACKING = _insert_ignore(TRACKING_TABLE, TRACKING_COLUMNS, "message_id")
_INSERT_JOB = _insert_ignore(JOBS_TABLE, JOB_COLUMNS, "id")

# -- the job ledger ----------------------------------------------------------------------------
#
# JSON paths and status names are bound or are our own constants; nothing from the caller is
# ever formatted into SQL. Statements use named parameters because several repeat one.

_JOBS = _q(JOBS_TABLE)
_JOB_LIST = ", ".join(_q(c) for c in JOB_COLUMNS)
_DEQUEUE_ORDER = '"priority" DESC, "process_at" ASC, "created_at" ASC, "id" ASC'

_NO_IN_FLIGHT = """json_remove("metadata", '$.in_flight')"""
# With a batch the condition is evaluated row by row, on rows read in index order (there is no
# index on metadata.batch): cheap while the batch's jobs come first, a scan of the others'
# otherwise. Acceptable for send-many, which owns most of the queue while it runs.
_IN_BATCH = """json_extract("metadata", '$.batch') = :batch"""

_COMPLETE_JOB = (
    f'UPDATE {_JOBS} SET "status" = ?, "completed_at" = ?, "metadata" = {_NO_IN_FLIGHT} '
    'WHERE "id" = ?'
)
_FAIL_JOB = (
    f'UPDATE {_JOBS} SET "status" = ?, "failed_at" = ?, "error" = ?, '
    f'"metadata" = {_NO_IN_FLIGHT} WHERE "id" = ?'
)
_RETRY_JOB = f"""UPDATE {_JOBS}
SET "status" = :pending, "process_at" = :process_at, "error" = :error,
  "metadata" = json_remove("metadata", '$.in_flight', '$.owner')
WHERE "id" = :id"""
_TAKE_OVER = f"""UPDATE {_JOBS}
SET "process_at" = :lease_until,
  "metadata" = json_set(COALESCE("metadata", '{{}}'), '$.owner', json(:owner))
WHERE "id" = :id AND "status" = :processing AND "process_at" = :expected
RETURNING {_JOB_LIST}"""

# The distinct priorities of pending jobs, highest first, each found by one seek in
# idx_kmsg_jobs_dequeue(status, priority, process_at, created_at) (a loose index scan).
# The dequeue order mixes priority DESC with process_at ASC, which no single scan of that index
# yields: ORDER BY over all due jobs would read and sort every one of them (O(queue depth) per
# claim). Instead the claim reads the first :limit due jobs of each priority in index order and
# sorts only those candidates: O(priorities x limit), whatever the queue depth.
_PENDING_LEVELS = f"""levels(p) AS (
  SELECT max("priority") FROM {_JOBS} WHERE "status" = :pending
  UNION ALL
  SELECT (SELECT max("priority") FROM {_JOBS} WHERE "status" = :pending AND "priority" < levels.p)
  FROM levels WHERE levels.p IS NOT NULL
)"""


def _and_batch(batch: str | None) -> str:
    return "" if batch is None else f" AND {_IN_BATCH}"


def claim_statement(*, by_batch: bool) -> str:
    """The claim: one UPDATE ... WHERE id IN (SELECT ... LIMIT) RETURNING (SPEC §7).

    Parameters: pending, processing, now, limit, lease_until, owner (JSON text), and batch
    when `by_batch`. Ties on (priority, process_at, created_at) at the limit are taken in
    index order; the caller sorts the returned rows (RETURNING order is unspecified).
    """
    batch = f" AND {_IN_BATCH}" if by_batch else ""
    return f"""UPDATE {_JOBS}
SET "status" = :processing, "attempts" = "attempts" + 1, "process_at" = :lease_until,
  "metadata" = json_remove(
    json_set(COALESCE("metadata", '{{}}'), '$.owner', json(:owner)), '$.in_flight')
WHERE "id" IN (
  WITH RECURSIVE {_PENDING_LEVELS}
  SELECT c."id" FROM levels AS l, {_JOBS} AS c
  WHERE c."id" IN (
    SELECT "id" FROM {_JOBS}
    WHERE "status" = :pending AND "priority" = l.p AND "process_at" <= :now{batch}
    ORDER BY "process_at", "created_at"
    LIMIT :limit
  )
  ORDER BY c."priority" DESC, c."process_at", c."created_at", c."id"
  LIMIT :limit
)
RETURNING {_JOB_LIST}"""


def _next_due_statement(batch: str | None) -> str:
    # min(process_at) of each priority is one index seek (without a batch).
    return f"""WITH RECURSIVE {_PENDING_LEVELS}
SELECT min((SELECT min("process_at") FROM {_JOBS}
  WHERE "status" = :pending AND "priority" = levels.p{_and_batch(batch)}))
FROM levels"""


def _page_statement(*, batch: str | None, status: str | None, after: str | None) -> str:
    conditions: list[str] = []
    if batch is not None:
        conditions.append(_IN_BATCH)
    if status is not None:
        conditions.append('"status" = :status')
    if after is not None:
        conditions.append('"id" > :after_id')
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # Keyset paging on the primary key: each page is an index range, whatever the table size.
    return f'SELECT {_JOB_LIST} FROM {_JOBS}{where} ORDER BY "id" LIMIT :chunk'


# -- delivery tracking -------------------------------------------------------------------------
#
# Status names are bound as parameters too (:due0, :terminal0, ...), never formatted in.

_TRACKING = _q(TRACKING_TABLE)
_TRACKING_LIST = ", ".join(_q(c) for c in TRACKING_COLUMNS)


def _marks(prefix: str, count: int) -> str:
    return ", ".join(f":{prefix}{n}" for n in range(count))


def _bind(prefix: str, values: Sequence[Any]) -> dict[str, Any]:
    return {f"{prefix}{n}": value for n, value in enumerate(values)}


_TERMINAL_IN = _marks("terminal", len(TRACKING_TERMINAL_STATUSES))
_FINISHED_IN = _marks("finished", len(JOB_FINISHED_STATUSES))


def tracking_claim_statement(*, by_provider: bool) -> str:
    """The tracking claim: one UPDATE ... WHERE message_id IN (SELECT ... LIMIT) RETURNING.

    Parameters: due0, due1 (PENDING, SENT), now, limit, lease_until, and provider when
    `by_provider`. idx_kmsg_delivery_due(status, next_check_at) cannot yield "status IN (..)
    ORDER BY next_check_at" in one scan: a plain ORDER BY would read and sort every due row
    (after a large send, every claim would sort them all). Instead the first :limit due rows
    of each status are read in index order and only those candidates are sorted, so a claim
    costs O(statuses x limit) whatever the number of due rows. Ties on next_check_at at a
    candidate list's end are taken in index (rowid) order. With a provider the condition is
    checked row by row on rows read in index order (no index leads with provider_id and
    next_check_at). A PostgreSQL backend adds FOR UPDATE SKIP LOCKED to each candidate SELECT.
    """
    provider = ' AND "provider_id" = :provider' if by_provider else ""
    candidates = "\n    UNION ALL\n    ".join(
        f"""SELECT * FROM (
      SELECT "message_id", "next_check_at" FROM {_TRACKING}
      WHERE "status" = :due{n} AND "next_check_at" <= :now{provider}
      ORDER BY "next_check_at"
      LIMIT :limit
    )"""
        for n in range(len(TRACKING_DUE_STATUSES))
    )
    return f"""UPDATE {_TRACKING}
SET "next_check_at" = :lease_until
WHERE "message_id" IN (
  SELECT "message_id" FROM (
    {candidates}
  )
  ORDER BY "next_check_at", "message_id"
  LIMIT :limit
)
RETURNING {_TRACKING_LIST}"""


_APPLY_SET = ", ".join(f"{_q(c)} = :{c}" for c in TRACKING_MUTABLE_COLUMNS)
_APPLY_TRACKING = (
    f'UPDATE {_TRACKING} SET {_APPLY_SET} WHERE "message_id" = :message_id '
    f'AND "status" NOT IN ({_TERMINAL_IN})'
)
_APPLY_TRACKING_EXPECTED = f'{_APPLY_TRACKING} AND "next_check_at" = :expected'


def _tracking_filter(
    *,
    status: Sequence[str] | None,
    provider_id: str | None,
    type: str | None,
    to: str | None,
    since_ms: int | None,
    until_ms: int | None,
) -> tuple[str, dict[str, Any]] | None:
    """WHERE clause and parameters of the list/count filters; None when nothing can match."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if status is not None:
        # A lone string is one status, not a sequence of one-letter ones.
        wanted = [status] if isinstance(status, str) else status
        statuses = list(dict.fromkeys(str(value) for value in wanted))
        if not statuses:
            return None
        conditions.append(f'"status" IN ({_marks("status", len(statuses))})')
        params.update(_bind("status", statuses))
    for column, value in (("provider_id", provider_id), ("type", type), ("to", to)):
        if value is not None:
            conditions.append(f"{_q(column)} = :{column}")
            params[column] = value
    if since_ms is not None:
        conditions.append('"requested_at" >= :since_ms')
        params["since_ms"] = since_ms
    if until_ms is not None:
        conditions.append('"requested_at" <= :until_ms')
        params["until_ms"] = until_ms
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return where, params


# Purge: old terminal tracking rows (found through idx_kmsg_delivery_due by status) and old
# finished jobs (idx_kmsg_jobs_dequeue by status), a chunk at a time.
_PURGEABLE_TRACKING = (
    f'FROM {_TRACKING} WHERE "status" IN ({_TERMINAL_IN}) AND "status_updated_at" < :older_than'
)
_PURGEABLE_JOBS = (
    f'FROM {_JOBS} WHERE "status" IN ({_FINISHED_IN}) '
    'AND COALESCE("completed_at", "failed_at") < :older_than'
)
_PURGE_TRACKING = (
    f'DELETE FROM {_TRACKING} WHERE "message_id" IN '
    f'(SELECT "message_id" {_PURGEABLE_TRACKING} LIMIT :limit)'
)
_PURGE_JOBS = f'DELETE FROM {_JOBS} WHERE "id" IN (SELECT "id" {_PURGEABLE_JOBS} LIMIT :limit)'


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _is_locked(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc).lower()


def _is_not_database(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name == "SQLITE_NOTADB" or "file is not a database" in str(exc).lower()


class SqliteStore:
    """A `Store` in one SQLite file (or `":memory:"`)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self.path = os.fspath(path)
        self.busy_timeout_ms = max(0, int(busy_timeout_ms))
        self._memory = self.path == MEMORY
        self._display = self.path if self._memory else os.path.abspath(self.path)
        # One connection shared by the caller's threads; the lock serialises its use.
        self._lock = threading.Lock()
        self._closed = False
        if not self._memory:
            self._prepare_file()
        self._conn = self._connect()

    # -- opening ---------------------------------------------------------------------------

    def _open_failed(self, reason: str) -> StoreError:
        return StoreError(
            f"cannot open SQLite database {self._display}: {_one_line(reason)}",
            code="DB_OPEN_FAILED",
            hint=_OPEN_HINT,
        )

    def _prepare_file(self) -> None:
        """Create missing parent directories (0700) and the file itself (0600) before SQLite does.

        sqlite3.connect would create the file with the umask's mode (often world-readable),
        and the database holds phone numbers.
        """
        if not self.path:
            raise self._open_failed("the path is empty")
        path = self._display
        if os.path.isdir(path):
            raise self._open_failed("the path is a directory")
        if os.path.exists(path) and not os.path.isfile(path):
            raise self._open_failed("the path is not a regular file (a device or a pipe)")
        if os.path.islink(path) and not os.path.exists(path):
            # A dangling symlink: SQLite would create its target with the umask's mode.
            path = os.path.realpath(path)
        try:
            make_private_parents(path)
            if not os.path.exists(path):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
        except FileExistsError:
            pass  # another process created it first; its mode is its business
        except OSError as exc:
            raise self._open_failed(exc.strerror or str(exc)) from None

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
                timeout=self.busy_timeout_ms / 1000,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._open_failed(str(exc)) from None
        try:
            # busy_timeout takes an integer literal; PRAGMAs cannot bind parameters.
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms:d}")
            # Reading the header here turns a non-SQLite file into an error at open time.
            conn.execute("PRAGMA user_version").fetchone()
            if not self._memory:
                self._enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise self._map_error(exc, opening=True) from None
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL, waiting up to busy_timeout for other openers.

        Changing the journal mode of a new file needs an exclusive lock and SQLite reports
        SQLITE_BUSY at once instead of calling the busy handler: several processes opening
        a new database together would otherwise fail with DB_LOCKED.
        """
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        delay = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _map_error(self, exc: sqlite3.Error, *, opening: bool = False) -> StoreError:
        if _is_not_database(exc):
            return StoreError(
                f"{self._display} is not a SQLite database",
                code="DB_NOT_SQLITE",
                hint=_OPEN_HINT,
            )
        if _is_locked(exc):
            return StoreError(
                f"SQLite database {self._display} is locked (waited {self.busy_timeout_ms} ms)",
                code="DB_LOCKED",
                hint=_LOCKED_HINT,
            )
        if opening:
            return self._open_failed(str(exc))
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR"):
            # The transaction was rolled back: what was recorded before it is intact.
            return StoreError(
                f"SQLite database {self._display} could not be written: {_one_line(str(exc))}",
                code="DB_FULL" if name == "SQLITE_FULL" else "DB_IO_ERROR",
                hint="free disk space (or check the disk), then run the same command again",
            )
        return StoreError(
            f"SQLite database {self._display}: {_one_line(str(exc))}",
            code="DB_QUERY_FAILED",
        )

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with sqlite3 errors turned into StoreError."""
        with self._lock:
            if self._closed:
                raise StoreError(f"SQLite database {self._display} is closed", code="DB_CLOSED")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._map_error(exc) from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

        IMMEDIATE takes the write lock up front, so a busy database waits (busy_timeout) at
        BEGIN instead of failing half-way through, and WAL readers are never blocked.
        """
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _user_version(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("PRAGMA user_version").fetchone()
        return int(row[0]) if row else 0

    # -- Store -----------------------------------------------------------------------------

    def initialize(self) -> None:
        """Create missing tables and indexes and set `PRAGMA user_version`, atomically."""
        with self._transaction() as conn:
            version = self._user_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"SQLite database {self._display} has schema version {version}; "
                    f"this kmsg understands up to {SCHEMA_VERSION}",
                    code="DB_SCHEMA_TOO_NEW",
                    hint="upgrade kmsg, or use another database with --db PATH",
                )
            for statement in ddl_statements("sqlite") + state_statements("sqlite"):
                conn.execute(statement)
            if version < SCHEMA_VERSION:
                # user_version cannot be bound as a parameter; the value is our own constant.
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    def schema_version(self) -> int:
        """The value of `PRAGMA user_version`."""
        with self._connection() as conn:
            return self._user_version(conn)

    def get_tracking(self, message_id: str) -> TrackingRow | None:
        """The tracking row of one message, or None."""
        with self._connection() as conn:
            row = conn.execute(f'{_SELECT_TRACKING} WHERE "message_id" = ?', (message_id,))
            values = row.fetchone()
        return None if values is None else tracking_from_values(values)

    def find_tracking(self, message_ids: Sequence[str]) -> dict[str, TrackingRow]:
        """Tracking rows by message id, queried in IN lists of at most 500 ids."""
        unique = list(dict.fromkeys(message_ids))
        found: dict[str, TrackingRow] = {}
        with self._connection() as conn:
            for chunk in chunked(unique):
                marks = ", ".join("?" for _ in chunk)
                cursor = conn.execute(
                    f'{_SELECT_TRACKING} WHERE "message_id" IN ({marks})', tuple(chunk)
                )
                for values in cursor:
                    row = tracking_from_values(values)
                    found[row.message_id] = row
        return found

    def insert_tracking(self, rows: Sequence[TrackingRow]) -> int:
        """Insert rows in one transaction; existing message ids are left untouched."""
        if not rows:
            return 0
        with self._transaction() as conn:
            return self._insert(conn, _INSERT_TRACKING, [tracking_params(r) for r in rows])

    def insert_jobs(self, jobs: Sequence[Job]) -> int:
        """Insert jobs in one transaction; existing ids are left untouched."""
        if not jobs:
            return 0
        with self._transaction() as conn:
            return self._insert(conn, _INSERT_JOB, [job_params(j) for j in jobs])

    def _insert(self, conn: sqlite3.Connection, sql: str, params: list[tuple[Any, ...]]) -> int:
        # total_changes counts only rows really inserted, not the ones DO NOTHING skipped.
        before = conn.total_changes
        conn.executemany(sql, params)
        return conn.total_changes - before

    def get_job(self, job_id: str) -> Job | None:
        """One job, or None."""
        with self._connection() as conn:
            values = conn.execute(f'{_SELECT_JOB} WHERE "id" = ?', (job_id,)).fetchone()
        return None if values is None else job_from_values(values)

    def complete_jobs(
        self, job_ids: Sequence[str], tracking: Sequence[TrackingRow], *, now_ms: int
    ) -> None:
        """Mark jobs completed and insert their tracking rows in one transaction."""
        if not job_ids and not tracking:
            return
        status = JobStatus.COMPLETED.value
        job_rows = [(status, now_ms, job_id) for job_id in job_ids]
        tracking_rows = [tracking_params(row) for row in tracking]
        with self._transaction() as conn:
            conn.executemany(_COMPLETE_JOB, job_rows)
            conn.executemany(_INSERT_TRACKING, tracking_rows)

    def fail_jobs(self, failures: Mapping[str, str], *, now_ms: int) -> None:
        """Mark jobs failed with their error text in one transaction."""
        if not failures:
            return
        status = JobStatus.FAILED.value
        rows = [(status, now_ms, error, job_id) for job_id, error in failures.items()]
        with self._transaction() as conn:
            conn.executemany(_FAIL_JOB, rows)

    # -- the job ledger ----------------------------------------------------------------------

    def claim_jobs(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        owner: Mapping[str, Any],
        limit: int,
        batch: str | None = None,
    ) -> list[Job]:
        """Claim up to `limit` due jobs in one statement; sorted by `base.claimed_order`."""
        if limit <= 0:
            return []
        params: dict[str, Any] = {
            "pending": JobStatus.PENDING.value,
            "processing": JobStatus.PROCESSING.value,
            "now": now_ms,
            "limit": limit,
            "lease_until": now_ms + lease_ms,
            "owner": dump_json(owner),
        }
        if batch is not None:
            params["batch"] = batch
        with self._transaction() as conn:
            rows = conn.execute(claim_statement(by_batch=batch is not None), params).fetchall()
        return sorted((job_from_values(values) for values in rows), key=claimed_order)

    def claim_ids(
        self, job_ids: Sequence[str], *, now_ms: int, lease_ms: int, owner: Mapping[str, Any]
    ) -> list[Job]:
        """Claim the listed pending jobs, in one transaction."""
        unique = list(dict.fromkeys(job_ids))
        claimed: list[Job] = []
        if not unique:
            return claimed
        with self._transaction() as conn:
            for chunk in chunked(unique):
                marks = ", ".join("?" for _ in chunk)
                rows = conn.execute(
                    f'UPDATE {_JOBS} SET "status" = ?, "attempts" = "attempts" + 1, '
                    '"process_at" = ?, "metadata" = json_remove(json_set('
                    "COALESCE(\"metadata\", '{}'), '$.owner', json(?)), '$.in_flight') "
                    f'WHERE "status" = ? AND "id" IN ({marks}) RETURNING {_JOB_LIST}',
                    (
                        JobStatus.PROCESSING.value,
                        now_ms + lease_ms,
                        dump_json(owner),
                        JobStatus.PENDING.value,
                        *chunk,
                    ),
                ).fetchall()
                claimed += (job_from_values(values) for values in rows)
        return sorted(claimed, key=lambda job: job.id)

    def mark_in_flight(
        self,
        job_ids: Sequence[str],
        *,
        now_ms: int,
        sent_to: Mapping[str, Any] | None = None,
    ) -> None:
        """Set metadata.in_flight (and sent_to) on the jobs still processing, one transaction."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return
        marks_sent_to = ", '$.sent_to', json(?)" if sent_to is not None else ""
        extra = (dump_json(sent_to),) if sent_to is not None else ()
        with self._transaction() as conn:
            for chunk in chunked(unique):
                marks = ", ".join("?" for _ in chunk)
                conn.execute(
                    f'UPDATE {_JOBS} SET "metadata" = json_remove(json_set('
                    f"COALESCE(\"metadata\", '{{}}'), '$.in_flight', ?{marks_sent_to}), "
                    f'\'$.unknown\') WHERE "status" = ? AND "id" IN ({marks})',
                    (now_ms, *extra, JobStatus.PROCESSING.value, *chunk),
                )

    def defer_unknown(self, holds: Mapping[str, tuple[int, Mapping[str, Any]]]) -> None:
        """Set process_at and metadata.unknown on processing jobs, in one transaction."""
        if not holds:
            return
        rows = [
            (process_at, dump_json(info), job_id, JobStatus.PROCESSING.value)
            for job_id, (process_at, info) in holds.items()
        ]
        with self._transaction() as conn:
            conn.executemany(
                f'UPDATE {_JOBS} SET "process_at" = ?, "metadata" = '
                "json_set(COALESCE(\"metadata\", '{}'), '$.unknown', json(?)) "
                'WHERE "id" = ? AND "status" = ?',
                rows,
            )

    def retry_jobs(self, retries: Mapping[str, tuple[int, str]]) -> None:
        """Put jobs back to pending at their new process_at with their error, one transaction."""
        if not retries:
            return
        pending = JobStatus.PENDING.value
        rows = [
            {"pending": pending, "process_at": process_at, "error": error, "id": job_id}
            for job_id, (process_at, error) in retries.items()
        ]
        with self._transaction() as conn:
            conn.executemany(_RETRY_JOB, rows)

    def release_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> int:
        """Release claimed, never-sent jobs; returns how many were released."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return 0
        released = 0
        with self._transaction() as conn:
            for chunk in chunked(unique):
                marks = ", ".join("?" for _ in chunk)
                cursor = conn.execute(
                    f'UPDATE {_JOBS} SET "status" = ?, "process_at" = ?, '
                    '"attempts" = CASE WHEN "attempts" > 0 THEN "attempts" - 1 ELSE 0 END, '
                    '"metadata" = json_remove("metadata", \'$.owner\') '
                    f'WHERE "status" = ? AND "id" IN ({marks}) '
                    "AND json_extract(\"metadata\", '$.in_flight') IS NULL",
                    (JobStatus.PENDING.value, now_ms, JobStatus.PROCESSING.value, *chunk),
                )
                released += cursor.rowcount
        return released

    def processing_jobs(self, *, batch: str | None = None) -> list[Job]:
        """All processing jobs (of the batch), in dequeue order."""
        params: dict[str, Any] = {"processing": JobStatus.PROCESSING.value, "batch": batch}
        with self._connection() as conn:
            rows = conn.execute(
                f'{_SELECT_JOB} WHERE "status" = :processing{_and_batch(batch)} '
                f"ORDER BY {_DEQUEUE_ORDER}",
                params,
            ).fetchall()
        return [job_from_values(values) for values in rows]

    def take_over(
        self,
        job_id: str,
        *,
        expected_process_at: int,
        now_ms: int,
        lease_ms: int,
        owner: Mapping[str, Any],
    ) -> Job | None:
        """Re-claim one processing job if its lease is still the one seen; else None."""
        params = {
            "id": job_id,
            "processing": JobStatus.PROCESSING.value,
            "expected": expected_process_at,
            "lease_until": now_ms + lease_ms,
            "owner": dump_json(owner),
        }
        with self._transaction() as conn:
            values = conn.execute(_TAKE_OVER, params).fetchone()
        return None if values is None else job_from_values(values)

    def job_counts(self, *, batch: str | None = None) -> dict[str, int]:
        """Jobs by status (of the batch); statuses without jobs are absent."""
        where = "" if batch is None else f" WHERE {_IN_BATCH}"
        with self._connection() as conn:
            rows = conn.execute(
                f'SELECT "status", COUNT(1) FROM {_JOBS}{where} GROUP BY "status"',
                {"batch": batch},
            ).fetchall()
        return {str(status): int(count) for status, count in rows}

    def next_due_ms(self, *, batch: str | None = None) -> int | None:
        """The earliest process_at of a pending job (of the batch), or None."""
        params = {"pending": JobStatus.PENDING.value, "batch": batch}
        with self._connection() as conn:
            row = conn.execute(_next_due_statement(batch), params).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def iter_jobs(
        self, *, batch: str | None = None, status: str | None = None, chunk: int = 1000
    ) -> Iterator[Job]:
        """Jobs in id order, read `chunk` at a time (keyset paging on the primary key).

        The store's lock is taken per chunk only, so the caller may use the store in between.
        """
        if chunk <= 0:
            raise ValueError("chunk must be positive")
        after: str | None = None
        while True:
            params: dict[str, Any] = {"batch": batch, "status": status, "chunk": chunk}
            if after is not None:
                params["after_id"] = after
            sql = _page_statement(batch=batch, status=status, after=after)
            with self._connection() as conn:
                rows = conn.execute(sql, params).fetchall()
            page = [job_from_values(values) for values in rows]
            yield from page
            if len(page) < chunk:
                return
            after = page[-1].id

    def get_jobs(self, job_ids: Sequence[str]) -> dict[str, Job]:
        """Jobs by id, queried in IN lists of at most 500 ids."""
        unique = list(dict.fromkeys(job_ids))
        found: dict[str, Job] = {}
        with self._connection() as conn:
            for chunk in chunked(unique):
                marks = ", ".join("?" for _ in chunk)
                cursor = conn.execute(f'{_SELECT_JOB} WHERE "id" IN ({marks})', tuple(chunk))
                for values in cursor:
                    job = job_from_values(values)
                    found[job.id] = job
        return found

    def delete_jobs(self, job_ids: Sequence[str]) -> int:
        """Delete jobs in one transaction; returns how many rows went."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return 0
        deleted = 0
        with self._transaction() as conn:
            for chunk in chunked(unique):
                marks = ", ".join("?" for _ in chunk)
                cursor = conn.execute(f'DELETE FROM {_JOBS} WHERE "id" IN ({marks})', tuple(chunk))
                deleted += cursor.rowcount
        return deleted

    # -- delivery tracking -------------------------------------------------------------------

    def claim_due_tracking(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        limit: int,
        provider_id: str | None = None,
    ) -> list[TrackingRow]:
        """Claim up to `limit` due rows in one statement; sorted by message_id."""
        if limit <= 0:
            return []
        params: dict[str, Any] = {
            **_bind("due", TRACKING_DUE_STATUSES),
            "now": now_ms,
            "limit": limit,
            "lease_until": now_ms + lease_ms,
        }
        if provider_id is not None:
            params["provider"] = provider_id
        sql = tracking_claim_statement(by_provider=provider_id is not None)
        with self._transaction() as conn:
            rows = conn.execute(sql, params).fetchall()
        return sorted(
            (tracking_from_values(values) for values in rows), key=lambda row: row.message_id
        )

    def apply_tracking(
        self,
        updates: Sequence[TrackingRow],
        *,
        jobs: Sequence[Job] = (),
        expected_next_check: Mapping[str, int] | None = None,
    ) -> set[str]:
        """Write checked rows (terminal and lease guards) and their jobs in one transaction."""
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
        if not updates:
            return set()
        expected = expected_next_check or {}
        terminal = _bind("terminal", TRACKING_TERMINAL_STATUSES)
        updated: set[str] = set()
        with self._transaction() as conn:
            for row in updates:
                params: dict[str, Any] = {"message_id": row.message_id, **terminal}
                for column in TRACKING_MUTABLE_COLUMNS:
                    value = getattr(row, column)
                    params[column] = dump_json(value) if column in TRACKING_JSON_COLUMNS else value
                sql = _APPLY_TRACKING
                if row.message_id in expected:
                    sql = _APPLY_TRACKING_EXPECTED
                    params["expected"] = expected[row.message_id]
                if conn.execute(sql, params).rowcount > 0:
                    updated.add(row.message_id)
            follow_ups = [
                job_params(job)
                for job in jobs
                if (job.metadata or {}).get(FOR_MESSAGE_KEY) in updated
            ]
            if follow_ups:
                conn.executemany(_INSERT_JOB, follow_ups)
        return updated

    def set_tracking_metadata_key(self, message_id: str, key: str, value: Any) -> bool:
        """Set one top-level key of a row's metadata, atomically, whatever its status."""
        if not key.isidentifier():
            raise ValueError(f"metadata key {key!r} must be an identifier")
        with self._transaction() as conn:
            cursor = conn.execute(
                f'UPDATE {_q(TRACKING_TABLE)} SET "metadata" = '
                f"json_set(COALESCE(\"metadata\", '{{}}'), '$.{key}', json(?)) "
                'WHERE "message_id" = ?',
                (json.dumps(value, ensure_ascii=False), message_id),
            )
            return cursor.rowcount > 0

    def list_tracking(
        self,
        *,
        status: Sequence[str] | None = None,
        provider_id: str | None = None,
        type: str | None = None,
        to: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TrackingRow]:
        """Matching rows, requested_at DESC then message_id DESC, one page."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        found = _tracking_filter(
            status=status,
            provider_id=provider_id,
            type=type,
            to=to,
            since_ms=since_ms,
            until_ms=until_ms,
        )
        if found is None or limit == 0:
            return []
        where, params = found
        params.update({"limit": limit, "offset": offset})
        sql = (
            f"{_SELECT_TRACKING}{where} "
            'ORDER BY "requested_at" DESC, "message_id" DESC LIMIT :limit OFFSET :offset'
        )
        with self._connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [tracking_from_values(values) for values in rows]

    def count_tracking_by_status(
        self,
        *,
        status: Sequence[str] | None = None,
        provider_id: str | None = None,
        type: str | None = None,
        to: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> dict[str, int]:
        """Matching rows by status; statuses without rows are absent."""
        found = _tracking_filter(
            status=status,
            provider_id=provider_id,
            type=type,
            to=to,
            since_ms=since_ms,
            until_ms=until_ms,
        )
        if found is None:
            return {}
        where, params = found
        with self._connection() as conn:
            rows = conn.execute(
                f'SELECT "status", COUNT(1) FROM {_TRACKING}{where} GROUP BY "status"', params
            ).fetchall()
        return {str(status_): int(count) for status_, count in rows}

    def iter_tracking(self, *, chunk: int = 1000) -> Iterator[TrackingRow]:
        """Tracking rows in message_id order, `chunk` at a time (keyset paging, lock per chunk)."""
        if chunk <= 0:
            raise ValueError("chunk must be positive")
        after: str | None = None
        while True:
            where = "" if after is None else ' WHERE "message_id" > :after'
            sql = f'{_SELECT_TRACKING}{where} ORDER BY "message_id" LIMIT :chunk'
            with self._connection() as conn:
                rows = conn.execute(sql, {"after": after, "chunk": chunk}).fetchall()
            page = [tracking_from_values(values) for values in rows]
            yield from page
            if len(page) < chunk:
                return
            after = page[-1].message_id

    def purge(self, *, older_than_ms: int, limit: int = 5000) -> tuple[int, int]:
        """Delete up to `limit` old terminal rows and `limit` old finished jobs, one transaction."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        params = self._purge_params(older_than_ms)
        params["limit"] = limit
        with self._transaction() as conn:
            tracking_deleted = conn.execute(_PURGE_TRACKING, params).rowcount
            jobs_deleted = conn.execute(_PURGE_JOBS, params).rowcount
        return tracking_deleted, jobs_deleted

    def reserve_sequence(self, name: str, count: int) -> int:
        """Atomically take `count` numbers of the named counter; returns the first one."""
        with self._transaction() as conn:
            (end,) = conn.execute(
                f'INSERT INTO {_q(STATE_TABLE)} ("name", "value") VALUES (?, ?) '
                'ON CONFLICT("name") DO UPDATE SET "value" = "value" + excluded."value" '
                'RETURNING "value"',
                (name, count),
            ).fetchone()
        return int(end) - count

    def list_jobs(
        self,
        *,
        status: str | None = None,
        message_type: str | None = None,
        provider_id: str | None = None,
        batch: str | None = None,
        error_code: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Job]:
        """Matching jobs, newest first."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        conditions: list[str] = []
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        filters = {
            "status": ('"status" = :status', status),
            "type": ("""json_extract("data", '$.message.type') = :type""", message_type),
            "provider": ("""json_extract("data", '$.provider') = :provider""", provider_id),
            "batch": (_IN_BATCH, batch),
            # json_valid first: a plain-text error matches no code instead of failing the query
            "code": (
                'CASE WHEN json_valid("error") '
                """THEN json_extract("error", '$.code') END = :code""",
                error_code,
            ),
        }
        for name, (condition, value) in filters.items():
            if value is not None:
                conditions.append(condition)
                params[name] = value
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        order = ' ORDER BY "created_at" DESC, "id" DESC LIMIT :limit OFFSET :offset'
        sql = f"{_SELECT_JOB}{where}{order}"
        with self._connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [job_from_values(values) for values in rows]

    def job_stats(self) -> dict[str, Any]:
        """Counts by status, the oldest due pending job, failures by error code."""
        with self._connection() as conn:
            counts = dict(conn.execute(f'SELECT "status", COUNT(1) FROM {_JOBS} GROUP BY "status"'))
            oldest = conn.execute(
                f'SELECT MIN("process_at") FROM {_JOBS} WHERE "status" = ?',
                (JobStatus.PENDING.value,),
            ).fetchone()[0]
            codes = conn.execute(
                f"""SELECT COALESCE(json_extract("error", '$.code'), 'UNKNOWN'), COUNT(1)
                FROM {_JOBS} WHERE "status" = ? AND json_valid("error")
                GROUP BY 1 ORDER BY 2 DESC""",
                (JobStatus.FAILED.value,),
            ).fetchall()
            plain = conn.execute(
                f'SELECT COUNT(1) FROM {_JOBS} WHERE "status" = ? AND NOT json_valid("error")',
                (JobStatus.FAILED.value,),
            ).fetchone()[0]
        failures = {str(code): int(n) for code, n in codes}
        if plain:
            failures["ERROR"] = failures.get("ERROR", 0) + int(plain)
        return {
            "counts": {str(k): int(v) for k, v in counts.items()},
            "oldest_due_ms": oldest,
            "failures_by_code": failures,
        }

    def reset_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> int:
        """Failed or pending jobs due again with fresh attempts (never completed/processing)."""
        unique = list(dict.fromkeys(job_ids))
        changed = 0
        with self._transaction() as conn:
            for chunk in chunked(unique):
                marks = ", ".join("?" for _ in chunk)
                cursor = conn.execute(
                    f"""UPDATE {_JOBS} SET "status" = 'pending', "attempts" = 0,
                    "process_at" = ?, "error" = NULL, "failed_at" = NULL,
                    "metadata" = json_remove(COALESCE("metadata", '{{}}'), '$.owner', '$.in_flight')
                    WHERE "id" IN ({marks}) AND "status" IN ('failed', 'pending')""",
                    (now_ms, *chunk),
                )
                changed += cursor.rowcount
        return changed

    def purge_jobs(self, *, older_than_ms: int, limit: int = 5000) -> int:
        """Delete up to `limit` finished jobs older than the cutoff."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        params = self._purge_params(older_than_ms)
        params["limit"] = limit
        with self._transaction() as conn:
            return int(conn.execute(_PURGE_JOBS, params).rowcount)

    def count_purgeable(self, *, older_than_ms: int) -> tuple[int, int]:
        """How many tracking rows and jobs `purge` would delete in all."""
        params = self._purge_params(older_than_ms)
        with self._connection() as conn:
            tracking = conn.execute(f"SELECT COUNT(1) {_PURGEABLE_TRACKING}", params).fetchone()
            jobs = conn.execute(f"SELECT COUNT(1) {_PURGEABLE_JOBS}", params).fetchone()
        return int(tracking[0]), int(jobs[0])

    def _purge_params(self, older_than_ms: int) -> dict[str, Any]:
        return {
            **_bind("terminal", TRACKING_TERMINAL_STATUSES),
            **_bind("finished", JOB_FINISHED_STATUSES),
            "older_than": older_than_ms,
        }

    def count_tracking(self) -> int:
        """Number of tracking rows."""
        return self._count(TRACKING_TABLE)

    def count_jobs(self) -> int:
        """Number of jobs."""
        return self._count(JOBS_TABLE)

    def _count(self, table: str) -> int:
        with self._connection() as conn:
            row = conn.execute(f"SELECT COUNT(1) FROM {_q(table)}").fetchone()
        return int(row[0])

    def describe(self) -> str:
        """`SQLite /absolute/path` or `SQLite in memory`."""
        return "SQLite in memory" if self._memory else f"SQLite {self._display}"

    def close(self) -> None:
        """Close the connection; later calls raise DB_CLOSED, a second close does nothing."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- consistency checks (`kmsg db check`) ----------------------------------------------

    def schema_info(self) -> SchemaInfo:
        """kmsg's tables and their columns, kmsg's indexes, and `PRAGMA user_version`."""
        tables: dict[str, tuple[str, ...]] = {}
        with self._connection() as conn:
            for table in (TRACKING_TABLE, JOBS_TABLE, STATE_TABLE):
                columns = conn.execute(f"PRAGMA table_info({_q(table)})").fetchall()
                if columns:
                    tables[table] = tuple(str(column[1]) for column in columns)
            names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
            version = self._user_version(conn)
        indexes = frozenset(str(name) for (name,) in names if name in INDEX_NAMES)
        return SchemaInfo(tables=tables, indexes=indexes, version=version)

    def engine_check(self) -> dict[str, list[str]] | None:
        """`PRAGMA integrity_check` (at most 100 messages) and `PRAGMA foreign_key_check`."""
        found: dict[str, list[str]] = {}
        with self._lock:
            if self._closed:
                raise StoreError(f"SQLite database {self._display} is closed", code="DB_CLOSED")
            conn = self._conn
            try:
                lines = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(100)")]
                found["integrity_check"] = [] if lines == ["ok"] else lines
            except sqlite3.DatabaseError as exc:  # too damaged to even run the check
                found["integrity_check"] = [_one_line(str(exc))]
            try:
                found["foreign_key_check"] = [
                    f"table {row[0]} rowid {row[1]} refers to a missing row of {row[2]}"
                    for row in conn.execute("PRAGMA foreign_key_check")
                ]
            except sqlite3.DatabaseError as exc:
                found["foreign_key_check"] = [_one_line(str(exc))]
        return found

    def iter_raw(self, table: str, *, chunk: int = 1000) -> Iterator[dict[str, Any]]:
        """Rows as stored (JSON columns as text), primary-key order, `chunk` at a time."""
        columns, key, _json = raw_table(table, chunk)
        select = f"SELECT {', '.join(_q(c) for c in columns)} FROM {_q(table)}"
        after: Any = None
        while True:
            where = "" if after is None else f" WHERE {_q(key)} > :after"
            sql = f"{select}{where} ORDER BY {_q(key)} LIMIT :chunk"
            with self._connection() as conn:
                rows = conn.execute(sql, {"after": after, "chunk": chunk}).fetchall()
            page = [dict(zip(columns, values, strict=True)) for values in rows]
            yield from page
            if len(page) < chunk or page[-1][key] is None:
                return
            after = page[-1][key]

    def duplicate_provider_message_ids(
        self, *, limit: int = 5
    ) -> tuple[int, list[tuple[str, str, list[str]]]]:
        """Non-empty provider message ids held by several rows of one provider."""
        groups = (
            f'SELECT "provider_id", "provider_message_id" FROM {_TRACKING} '
            "WHERE \"provider_message_id\" <> '' "
            'GROUP BY "provider_id", "provider_message_id" HAVING COUNT(1) > 1'
        )
        with self._connection() as conn:
            (count,) = conn.execute(f"SELECT COUNT(1) FROM ({groups})").fetchone()
            pairs = conn.execute(f"{groups} ORDER BY 1, 2 LIMIT ?", (max(0, limit),)).fetchall()
            found = []
            for provider_id, provider_message_id in pairs:
                ids = conn.execute(
                    f'SELECT "message_id" FROM {_TRACKING} WHERE "provider_id" = ? '
                    'AND "provider_message_id" = ? ORDER BY "message_id" LIMIT ?',
                    (provider_id, provider_message_id, max(0, limit)),
                ).fetchall()
                names = [str(message_id) for (message_id,) in ids]
                found.append((str(provider_id), str(provider_message_id), names))
        return int(count), found

    def completed_jobs_without_tracking(self, *, limit: int = 5) -> tuple[int, list[str]]:
        """Completed 'send' jobs that have no tracking row of their id."""
        orphans = (
            f'FROM {_JOBS} AS j WHERE j."status" = ? AND j."type" = ? AND NOT EXISTS '
            f'(SELECT 1 FROM {_TRACKING} AS t WHERE t."message_id" = j."id")'
        )
        params = (JobStatus.COMPLETED.value, "send")
        with self._connection() as conn:
            (count,) = conn.execute(f"SELECT COUNT(1) {orphans}", params).fetchone()
            ids = conn.execute(
                f'SELECT j."id" {orphans} ORDER BY j."id" LIMIT ?', (*params, max(0, limit))
            ).fetchall()
        return int(count), [str(job_id) for (job_id,) in ids]

    def __repr__(self) -> str:
        return f"SqliteStore({self._display!r})"
