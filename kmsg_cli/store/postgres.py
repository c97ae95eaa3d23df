"""The PostgreSQL backend (psycopg 3): pooled connections, SKIP LOCKED claims, JSONB columns.

Same behaviour as `SqliteStore`, method by method (the contract is `Store` in base.py, and
tests/test_store_contract.py runs one suite on both). What differs is how it is achieved:

- Connections come from a `psycopg_pool.ConnectionPool` (1 to `pool_size`), so the worker
  threads of `--concurrency` each get their own connection instead of queueing on one. They are
  in autocommit mode: a read is one statement; writes of several statements run inside an
  explicit transaction.
- Transient failures (the connection lost or reset, the server shutting down or restarting,
  serialization failures 40001 and deadlocks 40P01) are retried: the whole transaction is run
  again on a fresh connection, a few times with a short backoff, before StoreError
  `DB_UNAVAILABLE`. A write whose commit was sent but never acknowledged is ambiguous; every
  write here is safe to run twice (inserts skip existing ids, updates are guarded by the state
  they expect), and a claim whose answer was lost leaves its jobs or rows claimed by nobody
  alive: they come back after their lease, exactly like the claims of a worker that died.
- Claims are one `UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED))
  RETURNING` (SQLite's `WHERE id IN (SELECT ...)` shape; the ARRAY makes Postgres update by
  primary-key lookups, never by hash-joining the whole table), so concurrent claimers on any
  number of hosts skip each other's rows instead of waiting for them.
- JSON columns are JSONB: written with psycopg's `Jsonb` adapter, read back as dicts.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import Enum
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import unquote, urlsplit

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from kmsg_cli.errors import StoreError
from kmsg_cli.models import Job, JobStatus, TrackingRow
from kmsg_cli.store import describe_target
from kmsg_cli.store.base import (
    FOR_MESSAGE_KEY,
    JOB_FINISHED_STATUSES,
    JOB_JSON_COLUMNS,
    TRACKING_DUE_STATUSES,
    TRACKING_FIELDS,
    TRACKING_JSON_COLUMNS,
    TRACKING_MUTABLE_COLUMNS,
    TRACKING_TERMINAL_STATUSES,
    SchemaInfo,
    chunked,
    claimed_order,
    job_from_values,
    raw_table,
    tracking_from_values,
)
from kmsg_cli.store.schema import (
    INDEX_NAMES,
    JOB_COLUMNS,
    JOBS_TABLE,
    POSTGRES_WIDENED_COLUMNS,
    SCHEMA_VERSION,
    STATE_TABLE,
    TRACKING_COLUMNS,
    TRACKING_TABLE,
    VERSION_TABLE,
    ddl_statements,
    index_statements,
    quote,
    state_statements,
)

Connection = psycopg.Connection[TupleRow]
_T = TypeVar("_T")

DEFAULT_POOL_SIZE = 10
DEFAULT_POOL_TIMEOUT_S = 10.0
DEFAULT_CONNECT_TIMEOUT_S = 10
DEFAULT_ATTEMPTS = 5

# The pool reports reconnection attempts through logging; a CLI must not print them on stderr
# by Python's last-resort handler. An application that configures logging still sees them.
logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())

_OPEN_HINT = (
    "check the URL (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE), "
    "that the server is running and that it accepts this user"
)
_UNAVAILABLE_HINT = "the PostgreSQL server could not be reached; check it and run the command again"

# SQLSTATEs worth running the whole transaction again for: the connection was lost (class 08),
# the server is shutting down or starting (57P01-57P03), or the transaction lost a race
# (40001 serialization failure, 40P01 deadlock: Postgres rolled it back).
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})

# pg_advisory_xact_lock key serialising concurrent `initialize` calls ("kmsg" in ASCII).
_INIT_LOCK_KEY = 0x6B6D7367


def _q(identifier: str) -> str:
    return quote(identifier, "postgres")


def _literal(value: str) -> str:
    """One of our own constant status names as an SQL literal (never caller input)."""
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not a plain constant: {value!r}")
    return f"'{value}'"


def _in_list(values: Sequence[str]) -> str:
    return ", ".join(_literal(value) for value in values)


_TRACKING = _q(TRACKING_TABLE)
_JOBS = _q(JOBS_TABLE)
_TRACKING_LIST = ", ".join(_q(c) for c in TRACKING_COLUMNS)
_JOB_LIST = ", ".join(_q(c) for c in JOB_COLUMNS)
_SELECT_TRACKING = f"SELECT {_TRACKING_LIST} FROM {_TRACKING}"
_SELECT_JOB = f"SELECT {_JOB_LIST} FROM {_JOBS}"


def _insert_ignore(table: str, columns: Sequence[str], key: str) -> str:
    names = ", ".join(_q(c) for c in columns)
    marks = ", ".join("%s" for _ in columns)
    return f"INSERT INTO {_q(table)} ({names}) VALUES ({marks}) ON CONFLICT ({_q(key)}) DO NOTHING"


_INSERT_TRACKING = _insert_ignore(TRACKING_TABLE, TRACKING_COLUMNS, "message_id")
_INSERT_JOB = _insert_ignore(JOBS_TABLE, JOB_COLUMNS, "id")

_PENDING = _literal(JobStatus.PENDING.value)
_PROCESSING = _literal(JobStatus.PROCESSING.value)
_COMPLETED = _literal(JobStatus.COMPLETED.value)
_FAILED = _literal(JobStatus.FAILED.value)
_TERMINAL_IN = _in_list(TRACKING_TERMINAL_STATUSES)
_FINISHED_IN = _in_list(JOB_FINISHED_STATUSES)

# Tie-breaks on ids compare bytes (COLLATE "C"), as SQLite's BINARY collation does, so both
# backends list rows in the same order whatever the database's locale.
_C = 'COLLATE "C"'

# -- the job ledger ----------------------------------------------------------------------------
#
# metadata.batch is compared as a JSON string, as SQLite's json_extract(...) = :batch does.
_IN_BATCH = """"metadata" -> 'batch' = to_jsonb(%(batch)s::text)"""
_DEQUEUE_ORDER = f'"priority" DESC, "process_at", "created_at", "id" {_C}'
_NO_IN_FLIGHT = """"metadata" - 'in_flight'::text"""
_WITH_OWNER = (
    """jsonb_set(COALESCE("metadata", '{}'::jsonb) - 'in_flight'::text, '{owner}', %(owner)s)"""
)

# The distinct priorities of pending jobs, each found by one backward seek in
# idx_kmsg_jobs_dequeue(status, priority, process_at, created_at) (a loose index scan). The
# dequeue order mixes priority DESC with process_at ASC, which no single scan of that index
# yields: ORDER BY over all due jobs would sort every job of the top priority on each claim.
_PENDING_LEVELS = f"""levels(p) AS (
  SELECT max("priority") FROM {_JOBS} WHERE "status" = {_PENDING}
  UNION ALL
  SELECT (SELECT max("priority") FROM {_JOBS}
          WHERE "status" = {_PENDING} AND "priority" < levels.p)
  FROM levels WHERE levels.p IS NOT NULL
)"""


def _and_batch(batch: str | None) -> str:
    return "" if batch is None else f" AND {_IN_BATCH}"


def claim_statement(*, by_batch: bool) -> str:
    """The job claim: one UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED))
    RETURNING.

    Parameters: now, limit, lease_until, owner (Jsonb) and batch when `by_batch`.

    The priorities are visited highest first, and for each one a LATERAL subquery reads the
    due jobs in index order (status, priority, process_at, created_at), locking them with
    FOR UPDATE SKIP LOCKED as they are read; the outer LIMIT stops the nested loop as soon as
    `limit` jobs are locked. So exactly the jobs taken are locked (a concurrent claimer's scan
    steps over them and goes on to the next ones), lower priorities are not even read once the
    higher ones fill the claim, and a claim costs O(priorities + limit) index reads whatever
    the queue depth. Jobs tied at the limit are taken in index order.
    """
    batch = f" AND {_IN_BATCH}" if by_batch else ""
    return f"""UPDATE {_JOBS}
SET "status" = {_PROCESSING}, "attempts" = "attempts" + 1, "process_at" = %(lease_until)s,
  "metadata" = {_WITH_OWNER}
WHERE "id" = ANY(ARRAY(
  WITH RECURSIVE {_PENDING_LEVELS}
  SELECT c."id"
  FROM (SELECT p FROM levels WHERE p IS NOT NULL ORDER BY p DESC) AS l
  CROSS JOIN LATERAL (
    SELECT "id" FROM {_JOBS}
    WHERE "status" = {_PENDING} AND "priority" = l.p AND "process_at" <= %(now)s{batch}
    ORDER BY "process_at", "created_at"
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
  ) AS c
  LIMIT %(limit)s
))
RETURNING {_JOB_LIST}"""


# No index covers metadata.batch, so Postgres guesses that a batch holds 0.5% of a priority's
# jobs and prefers reading every pending job of the priority and sorting them (a sequential
# or bitmap scan: ~100 ms per claim at 100,000 jobs) over walking idx_kmsg_jobs_dequeue in
# order until `limit` match. For send-many the batch is most of the queue and that walk stops
# almost at once (~1 ms), so the batch claim rules the full scans out for its one statement
# (SET LOCAL). No disabled node remains in the plan it gets, so its cost stays small and JIT
# stays off; `jit = off` makes sure of it.
_BATCH_CLAIM_SETTINGS = ("enable_seqscan = off", "enable_bitmapscan = off", "jit = off")


def _next_due_statement(batch: str | None) -> str:
    # min(process_at) of each priority is one index seek (without a batch).
    return f"""WITH RECURSIVE {_PENDING_LEVELS}
SELECT min((SELECT min("process_at") FROM {_JOBS}
  WHERE "status" = {_PENDING} AND "priority" = levels.p{_and_batch(batch)}))
FROM levels"""


_TAKE_OVER = f"""UPDATE {_JOBS}
SET "process_at" = %(lease_until)s,
  "metadata" = jsonb_set(COALESCE("metadata", '{{}}'::jsonb), '{{owner}}', %(owner)s)
WHERE "id" = %(id)s AND "status" = {_PROCESSING} AND "process_at" = %(expected)s
RETURNING {_JOB_LIST}"""

_COMPLETE_JOBS = (
    f'UPDATE {_JOBS} SET "status" = {_COMPLETED}, "completed_at" = %s, '
    f'"metadata" = {_NO_IN_FLIGHT} WHERE "id" = ANY(%s)'
)
_FAIL_JOB = (
    f'UPDATE {_JOBS} SET "status" = {_FAILED}, "failed_at" = %s, "error" = %s, '
    f'"metadata" = {_NO_IN_FLIGHT} WHERE "id" = %s'
)
_RETRY_JOB = (
    f'UPDATE {_JOBS} SET "status" = {_PENDING}, "process_at" = %s, "error" = %s, '
    """"metadata" = "metadata" - 'in_flight'::text - 'owner'::text WHERE "id" = %s"""
)
_MARK_IN_FLIGHT = f"""UPDATE {_JOBS}
SET "metadata" = (jsonb_set(COALESCE("metadata", '{{}}'::jsonb), '{{in_flight}}',
  to_jsonb(%s::bigint)) || COALESCE(%s::jsonb, '{{}}'::jsonb)) - 'unknown'::text
WHERE "status" = {_PROCESSING} AND "id" = ANY(%s)"""
_CLAIM_IDS = f"""UPDATE {_JOBS}
SET "status" = {_PROCESSING}, "attempts" = "attempts" + 1, "process_at" = %s,
  "metadata" = jsonb_set(COALESCE("metadata", '{{}}'::jsonb), '{{owner}}', %s) - 'in_flight'::text
WHERE "status" = {_PENDING} AND "id" = ANY(%s)
RETURNING {_JOB_LIST}"""
_DEFER_UNKNOWN = f"""UPDATE {_JOBS}
SET "process_at" = %s,
  "metadata" = jsonb_set(COALESCE("metadata", '{{}}'::jsonb), '{{unknown}}', %s)
WHERE "id" = %s AND "status" = {_PROCESSING}"""
# A JSON null in_flight counts as absent, as SQLite's json_extract(...) IS NULL says.
_RELEASE_JOBS = f"""UPDATE {_JOBS}
SET "status" = {_PENDING}, "process_at" = %s, "attempts" = GREATEST("attempts" - 1, 0),
  "metadata" = "metadata" - 'owner'::text
WHERE "status" = {_PROCESSING} AND "id" = ANY(%s)
  AND COALESCE(jsonb_typeof("metadata" -> 'in_flight'), 'null') = 'null'"""
_RESET_JOBS = f"""UPDATE {_JOBS}
SET "status" = {_PENDING}, "attempts" = 0, "process_at" = %s, "error" = NULL,
  "failed_at" = NULL,
  "metadata" = COALESCE("metadata", '{{}}'::jsonb) - 'owner'::text - 'in_flight'::text
WHERE "id" = ANY(%s) AND "status" IN ({_FAILED}, {_PENDING})"""


def _page_statement(*, batch: str | None, status: str | None, after: str | None) -> str:
    conditions: list[str] = []
    if batch is not None:
        conditions.append(_IN_BATCH)
    if status is not None:
        conditions.append('"status" = %(status)s')
    if after is not None:
        conditions.append('"id" > %(after_id)s')
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # Keyset paging on the primary key, in its own collation so that every page is an index
    # range (COLLATE "C" here would make Postgres sort the whole table for each page).
    return f'{_SELECT_JOB}{where} ORDER BY "id" LIMIT %(chunk)s'


# -- delivery tracking -------------------------------------------------------------------------


def tracking_claim_statement(*, by_provider: bool) -> str:
    """The tracking claim: one UPDATE ... WHERE message_id = ANY(ARRAY(SELECT ...)) RETURNING.

    Parameters: now, limit, lease_until, and provider when `by_provider`.

    As on SQLite, idx_kmsg_delivery_due(status, next_check_at) cannot yield "status IN
    (PENDING, SENT) ORDER BY next_check_at" in one scan, so the first `limit` due rows of each
    status are read in index order and only those candidates are sorted: O(statuses x limit)
    whatever the number of due rows. FOR UPDATE SKIP LOCKED sits in each candidate SELECT
    (Postgres refuses it on a UNION and on the outer sort), where rows are read in index
    order, so a concurrent claimer's scan steps over locked rows and goes on. The price: a
    claim may lock up to statuses x limit candidates for the few milliseconds of its statement
    while taking `limit` of them; a concurrent claimer skips those too.
    """
    provider = ' AND "provider_id" = %(provider)s' if by_provider else ""
    candidates = "\n  UNION ALL\n  ".join(
        f"""SELECT * FROM (
    SELECT "message_id", "next_check_at" FROM {_TRACKING}
    WHERE "status" = {_literal(status)} AND "next_check_at" <= %(now)s{provider}
    ORDER BY "next_check_at"
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
  ) AS due{n}"""
        for n, status in enumerate(TRACKING_DUE_STATUSES)
    )
    return f"""UPDATE {_TRACKING}
SET "next_check_at" = %(lease_until)s
WHERE "message_id" = ANY(ARRAY(
  SELECT "message_id" FROM (
  {candidates}
  ) AS candidates
  ORDER BY "next_check_at", "message_id" {_C}
  LIMIT %(limit)s
))
RETURNING {_TRACKING_LIST}"""


_APPLY_SET = ", ".join(f"{_q(c)} = %({c})s" for c in TRACKING_MUTABLE_COLUMNS)
_APPLY_TRACKING = f"""UPDATE {_TRACKING} SET {_APPLY_SET}
WHERE "message_id" = %(message_id)s AND "status" NOT IN ({_TERMINAL_IN})
  AND (%(expected)s::bigint IS NULL OR "next_check_at" = %(expected)s::bigint)
RETURNING "message_id\""""

_PURGEABLE_TRACKING = (
    f'FROM {_TRACKING} WHERE "status" IN ({_TERMINAL_IN}) AND "status_updated_at" < %(older_than)s'
)
_PURGEABLE_JOBS = (
    f'FROM {_JOBS} WHERE "status" IN ({_FINISHED_IN}) '
    'AND COALESCE("completed_at", "failed_at") < %(older_than)s'
)
_PURGE_TRACKING = (
    f'DELETE FROM {_TRACKING} WHERE "message_id" = ANY(ARRAY('
    f'SELECT "message_id" {_PURGEABLE_TRACKING} LIMIT %(limit)s))'
)
_PURGE_JOBS = (
    f'DELETE FROM {_JOBS} WHERE "id" = ANY(ARRAY(SELECT "id" {_PURGEABLE_JOBS} LIMIT %(limit)s))'
)

# The error code of a failed job: only text that looks like a JSON object is parsed, so plain
# error text never makes the query fail.
_ERROR_CODE = """(CASE WHEN "error" ~ '^\\s*[{]' THEN "error"::jsonb ->> 'code' END)"""


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
        wanted = [status] if isinstance(status, str) else status
        statuses = list(dict.fromkeys(str(value) for value in wanted))
        if not statuses:
            return None
        conditions.append('"status" = ANY(%(statuses)s)')
        params["statuses"] = statuses
    for column, value in (("provider_id", provider_id), ("type", type), ("to", to)):
        if value is not None:
            conditions.append(f"{_q(column)} = %({column})s")
            params[column] = value
    if since_ms is not None:
        conditions.append('"requested_at" >= %(since_ms)s')
        params["since_ms"] = since_ms
    if until_ms is not None:
        conditions.append('"requested_at" <= %(until_ms)s')
        params["until_ms"] = until_ms
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return where, params


# -- values ------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _jsonb(value: Mapping[str, Any] | None) -> Jsonb | None:
    """A JSON object for a JSONB parameter; None stays SQL NULL (not JSON null)."""
    return None if value is None else Jsonb(dict(value), dumps=_dumps)


def _plain(value: Any) -> Any:
    # StrEnum members are written as their value, as SQLite writes them.
    return value.value if isinstance(value, Enum) else value


def _tracking_values(row: TrackingRow) -> tuple[Any, ...]:
    """Column values of a tracking row in `TRACKING_COLUMNS` order, JSON as Jsonb."""
    values: list[Any] = []
    for column, field in zip(TRACKING_COLUMNS, TRACKING_FIELDS, strict=True):
        value = getattr(row, field)
        values.append(_jsonb(value) if column in TRACKING_JSON_COLUMNS else _plain(value))
    return tuple(values)


def _job_values(job: Job) -> tuple[Any, ...]:
    """Column values of a job in `JOB_COLUMNS` order, JSON as Jsonb."""
    values: list[Any] = []
    for column in JOB_COLUMNS:
        value = getattr(job, column)
        values.append(_jsonb(value) if column in JOB_JSON_COLUMNS else _plain(value))
    return tuple(values)


def _fetch_all(
    sql: str, params: Mapping[str, Any], *, settings: Sequence[str] = ()
) -> Callable[[Connection], list[TupleRow]]:
    """Work for `PostgresStore._run`: one query's rows, after `SET LOCAL` of `settings`
    (planner settings for this one statement: the query then runs in a transaction, sent
    with its SETs in one pipeline, so it still costs one round trip)."""

    def work(conn: Connection) -> list[TupleRow]:
        if not settings:
            return conn.execute(sql, params).fetchall()
        with conn.pipeline(), conn.transaction():
            for setting in settings:
                conn.execute(f"SET LOCAL {setting}")
            cursor = conn.execute(sql, params)
        return cursor.fetchall()

    return work


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _is_transient(exc: psycopg.Error) -> bool:
    """A failure that running the transaction again on a fresh connection may cure."""
    if isinstance(exc, psycopg_pool.PoolTimeout | psycopg_pool.PoolClosed):
        return False
    state = exc.sqlstate
    if state is None:
        # Raised by the client: the connection was closed or lost (no server answer).
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return state.startswith("08") or state in _RETRY_SQLSTATES


def _lost_connection(exc: psycopg.Error) -> bool:
    state = exc.sqlstate
    return state is None or state.startswith(("08", "57P"))


def _secrets(url: str) -> list[str]:
    """The password of a URL in every spelling an error message might repeat."""
    found: set[str] = set()
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        found.update({password, unquote(password)})
    try:
        value = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        value = None
    if value:
        found.add(str(value))
    return sorted(found, key=len, reverse=True)


class PostgresStore:
    """A `Store` in a PostgreSQL database (psycopg 3 with a connection pool)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.url = url
        self.pool_size = pool_size
        self.attempts = max(1, attempts)
        self._display = describe_target(url)
        self._secrets = _secrets(url)
        self._closed = False
        self._close_lock = threading.Lock()
        kwargs = self._connect_kwargs()
        # One direct connection first: a wrong URL, an unreachable server or a refused login
        # fails here at once with libpq's reason, instead of as a pool timeout later.
        try:
            probe = psycopg.connect(url, **kwargs)
        except psycopg.Error as exc:
            raise self._open_failed(exc) from None
        probe.close()
        self._pool: psycopg_pool.ConnectionPool[Connection] = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs=kwargs,
            open=False,
            timeout=pool_timeout_s,
            name="kmsg",
        )
        try:
            self._pool.open(wait=False)
        except psycopg.Error as exc:
            raise self._open_failed(exc) from None

    def _connect_kwargs(self) -> dict[str, Any]:
        try:
            given = conninfo_to_dict(self.url)
        except psycopg.Error as exc:
            raise self._open_failed(exc) from None
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in given:
            kwargs["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT_S
        if "application_name" not in given:
            kwargs["application_name"] = "kmsg"
        return kwargs

    # -- errors ------------------------------------------------------------------------------

    def _reason(self, exc: BaseException) -> str:
        text = _one_line(str(exc)) or type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return text

    def _open_failed(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"cannot open PostgreSQL database {self._display}: {self._reason(exc)}",
            code="DB_OPEN_FAILED",
            hint=_OPEN_HINT,
        )

    def _unavailable(self, exc: BaseException, tries: int) -> StoreError:
        return StoreError(
            f"PostgreSQL database {self._display} is unavailable "
            f"(tried {tries} time{'s' if tries != 1 else ''}): {self._reason(exc)}",
            code="DB_UNAVAILABLE",
            hint=_UNAVAILABLE_HINT,
        )

    def _closed_error(self) -> StoreError:
        return StoreError(f"PostgreSQL database {self._display} is closed", code="DB_CLOSED")

    def _query_failed(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"PostgreSQL database {self._display}: {self._reason(exc)}", code="DB_QUERY_FAILED"
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _run(self, work: Callable[[Connection], _T], *, transaction: bool = False) -> _T:
        """Run `work` on a pooled connection (inside one transaction when asked), retrying
        transient failures on a fresh connection; psycopg errors become StoreError."""
        tries = 0
        delay = 0.05
        while True:
            if self._closed:
                raise self._closed_error()
            tries += 1
            try:
                with self._pool.connection() as conn:
                    if not transaction:
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
            except psycopg_pool.PoolClosed:
                raise self._closed_error() from None
            except psycopg_pool.PoolTimeout as exc:
                # The pool already spent its timeout trying to (re)connect.
                raise self._unavailable(exc, tries) from None
            except psycopg.Error as exc:
                if not _is_transient(exc):
                    raise self._query_failed(exc) from None
                if tries >= self.attempts:
                    raise self._unavailable(exc, tries) from None
                if _lost_connection(exc):
                    # One connection died: the idle ones most likely died with it (a server
                    # restart, a failover). Test them now rather than fail on each in turn.
                    try:
                        self._pool.check()
                    except psycopg.Error:
                        pass
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    # -- Store -------------------------------------------------------------------------------

    def initialize(self) -> None:
        """Create what is missing (tables, indexes, kmsg_state), widen VARCHAR(64) short-text
        columns of a reference-built table to TEXT, and record the version, in one transaction.

        When everything exists (the usual case: every kmsg command calls this) no DDL runs,
        so no table lock is taken while other processes work.
        """
        self._run(self._initialize, transaction=True)

    def _initialize(self, conn: Connection) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK_KEY,))
        version, rows = self._version(conn)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"PostgreSQL database {self._display} has schema version {version}; "
                f"this kmsg understands up to {SCHEMA_VERSION}",
                code="DB_SCHEMA_TOO_NEW",
                hint="upgrade kmsg, or use another database with --db",
            )
        statements = ddl_statements("postgres") + state_statements("postgres")
        names = [TRACKING_TABLE, JOBS_TABLE, VERSION_TABLE, STATE_TABLE]
        names += [statement.split('"')[1] for statement in index_statements("postgres")]
        (missing,) = conn.execute(
            "SELECT count(*) FROM unnest(%s::text[]) AS n "
            "WHERE to_regclass(quote_ident(n)) IS NULL",
            (names,),
        ).fetchone() or (0,)
        if missing:
            for statement in statements:
                conn.execute(statement)
        narrow = [
            str(name)
            for (name,) in conn.execute(
                "SELECT a.attname FROM pg_attribute AS a "
                "WHERE a.attrelid = to_regclass(%s) AND a.attname = ANY(%s) "
                "AND NOT a.attisdropped AND a.atttypid = 'character varying'::regtype",
                (_TRACKING, list(POSTGRES_WIDENED_COLUMNS)),
            ).fetchall()
        ]
        if narrow:
            # varchar -> text is binary compatible: no table rewrite, no index rebuild.
            changes = ", ".join(f"ALTER COLUMN {_q(name)} TYPE TEXT" for name in narrow)
            conn.execute(f"ALTER TABLE {_TRACKING} {changes}")
        if rows == 0:
            conn.execute(
                f'INSERT INTO {_q(VERSION_TABLE)} ("version") VALUES (%s)', (SCHEMA_VERSION,)
            )
        elif version < SCHEMA_VERSION or rows > 1:
            # One row, always: extra rows (written by hand) are folded into one.
            conn.execute(f"DELETE FROM {_q(VERSION_TABLE)}")
            conn.execute(
                f'INSERT INTO {_q(VERSION_TABLE)} ("version") VALUES (%s)', (SCHEMA_VERSION,)
            )

    def _version(self, conn: Connection) -> tuple[int, int]:
        """(recorded version or 0, number of rows of the version table)."""
        (exists,) = conn.execute("SELECT to_regclass(%s)", (_q(VERSION_TABLE),)).fetchone() or (
            None,
        )
        if exists is None:
            return 0, 0
        row = conn.execute(f'SELECT max("version"), count(*) FROM {_q(VERSION_TABLE)}').fetchone()
        if row is None or row[0] is None:
            return 0, 0
        return int(row[0]), int(row[1])

    def schema_version(self) -> int:
        """The version in the one-row `kmsg_schema_version` table (0 when there is none)."""
        return self._run(lambda conn: self._version(conn)[0])

    def get_tracking(self, message_id: str) -> TrackingRow | None:
        """The tracking row of one message, or None."""
        values = self._run(
            lambda conn: conn.execute(
                f'{_SELECT_TRACKING} WHERE "message_id" = %s', (message_id,)
            ).fetchone()
        )
        return None if values is None else tracking_from_values(values)

    def find_tracking(self, message_ids: Sequence[str]) -> dict[str, TrackingRow]:
        """Tracking rows by message id (= ANY of arrays of at most 5,000 ids)."""
        unique = list(dict.fromkeys(message_ids))

        def work(conn: Connection) -> dict[str, TrackingRow]:
            found: dict[str, TrackingRow] = {}
            for chunk in chunked(unique, 5000):
                for values in conn.execute(
                    f'{_SELECT_TRACKING} WHERE "message_id" = ANY(%s)', (list(chunk),)
                ):
                    row = tracking_from_values(values)
                    found[row.message_id] = row
            return found

        return self._run(work) if unique else {}

    def insert_tracking(self, rows: Sequence[TrackingRow]) -> int:
        """Insert rows in one transaction; existing message ids are left untouched."""
        if not rows:
            return 0
        params = [_tracking_values(row) for row in rows]
        return self._run(
            lambda conn: self._insert(conn, _INSERT_TRACKING, params), transaction=True
        )

    def insert_jobs(self, jobs: Sequence[Job]) -> int:
        """Insert jobs in one transaction; existing ids are left untouched."""
        if not jobs:
            return 0
        params = [_job_values(job) for job in jobs]
        return self._run(lambda conn: self._insert(conn, _INSERT_JOB, params), transaction=True)

    @staticmethod
    def _insert(conn: Connection, sql: str, params: list[tuple[Any, ...]]) -> int:
        # executemany pipelines the statements (one round trip) and sums their rowcounts,
        # which count only rows really inserted, not the ones DO NOTHING skipped.
        with conn.cursor() as cursor:
            cursor.executemany(sql, params)
            return max(cursor.rowcount, 0)

    def get_job(self, job_id: str) -> Job | None:
        """One job, or None."""
        values = self._run(
            lambda conn: conn.execute(f'{_SELECT_JOB} WHERE "id" = %s', (job_id,)).fetchone()
        )
        return None if values is None else job_from_values(values)

    def complete_jobs(
        self, job_ids: Sequence[str], tracking: Sequence[TrackingRow], *, now_ms: int
    ) -> None:
        """Mark jobs completed and insert their tracking rows in one transaction."""
        if not job_ids and not tracking:
            return
        ids = list(dict.fromkeys(job_ids))
        rows = [_tracking_values(row) for row in tracking]

        def work(conn: Connection) -> None:
            if ids:
                conn.execute(_COMPLETE_JOBS, (now_ms, ids))
            if rows:
                self._insert(conn, _INSERT_TRACKING, rows)

        self._run(work, transaction=True)

    def fail_jobs(self, failures: Mapping[str, str], *, now_ms: int) -> None:
        """Mark jobs failed with their error text in one transaction."""
        if not failures:
            return
        rows = [(now_ms, error, job_id) for job_id, error in sorted(failures.items())]
        self._run(lambda conn: self._many(conn, _FAIL_JOB, rows), transaction=True)

    @staticmethod
    def _many(conn: Connection, sql: str, params: Sequence[Sequence[Any]]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(sql, params)

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
            "now": now_ms,
            "limit": limit,
            "lease_until": now_ms + lease_ms,
            "owner": Jsonb(dict(owner), dumps=_dumps),
            "batch": batch,
        }
        sql = claim_statement(by_batch=batch is not None)
        if batch is None:
            rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        else:
            rows = self._run(_fetch_all(sql, params, settings=_BATCH_CLAIM_SETTINGS))
        return sorted((job_from_values(values) for values in rows), key=claimed_order)

    def claim_ids(
        self, job_ids: Sequence[str], *, now_ms: int, lease_ms: int, owner: Mapping[str, Any]
    ) -> list[Job]:
        """Claim the listed pending jobs, in one statement."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return []
        params = (now_ms + lease_ms, Jsonb(dict(owner), dumps=_dumps), unique)
        rows = self._run(lambda conn: conn.execute(_CLAIM_IDS, params).fetchall())
        return sorted((job_from_values(values) for values in rows), key=lambda job: job.id)

    def mark_in_flight(
        self,
        job_ids: Sequence[str],
        *,
        now_ms: int,
        sent_to: Mapping[str, Any] | None = None,
    ) -> None:
        """Set metadata.in_flight (and sent_to) on the jobs still processing, one statement."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return
        extra = None if sent_to is None else Jsonb({"sent_to": dict(sent_to)}, dumps=_dumps)

        def work(conn: Connection) -> None:
            conn.execute(_MARK_IN_FLIGHT, (now_ms, extra, unique))

        self._run(work)

    def defer_unknown(self, holds: Mapping[str, tuple[int, Mapping[str, Any]]]) -> None:
        """Set process_at and metadata.unknown on processing jobs, one transaction."""
        if not holds:
            return
        rows = [
            (process_at, Jsonb(dict(info), dumps=_dumps), job_id)
            for job_id, (process_at, info) in sorted(holds.items())
        ]
        self._run(lambda conn: self._many(conn, _DEFER_UNKNOWN, rows), transaction=True)

    def retry_jobs(self, retries: Mapping[str, tuple[int, str]]) -> None:
        """Put jobs back to pending at their new process_at with their error, one transaction."""
        if not retries:
            return
        rows = [
            (process_at, error, job_id) for job_id, (process_at, error) in sorted(retries.items())
        ]
        self._run(lambda conn: self._many(conn, _RETRY_JOB, rows), transaction=True)

    def release_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> int:
        """Release claimed, never-sent jobs; returns how many were released."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return 0
        return self._run(lambda conn: conn.execute(_RELEASE_JOBS, (now_ms, unique)).rowcount)

    def processing_jobs(self, *, batch: str | None = None) -> list[Job]:
        """All processing jobs (of the batch), in dequeue order."""
        sql = (
            f'{_SELECT_JOB} WHERE "status" = {_PROCESSING}{_and_batch(batch)} '
            f"ORDER BY {_DEQUEUE_ORDER}"
        )
        rows = self._run(lambda conn: conn.execute(sql, {"batch": batch}).fetchall())
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
            "expected": expected_process_at,
            "lease_until": now_ms + lease_ms,
            "owner": Jsonb(dict(owner), dumps=_dumps),
        }
        values = self._run(lambda conn: conn.execute(_TAKE_OVER, params).fetchone())
        return None if values is None else job_from_values(values)

    def job_counts(self, *, batch: str | None = None) -> dict[str, int]:
        """Jobs by status (of the batch); statuses without jobs are absent."""
        where = "" if batch is None else f" WHERE {_IN_BATCH}"
        sql = f'SELECT "status", count(*) FROM {_JOBS}{where} GROUP BY "status"'
        rows = self._run(lambda conn: conn.execute(sql, {"batch": batch}).fetchall())
        return {str(status): int(count) for status, count in rows}

    def next_due_ms(self, *, batch: str | None = None) -> int | None:
        """The earliest process_at of a pending job (of the batch), or None."""
        sql = _next_due_statement(batch)
        row = self._run(lambda conn: conn.execute(sql, {"batch": batch}).fetchone())
        return None if row is None or row[0] is None else int(row[0])

    def iter_jobs(
        self, *, batch: str | None = None, status: str | None = None, chunk: int = 1000
    ) -> Iterator[Job]:
        """Jobs in primary-key order, `chunk` at a time (keyset paging; nothing held between).

        The order is the id column's collation, which is byte order in a C or C.UTF-8
        database, like SQLite's.
        """
        if chunk <= 0:
            raise ValueError("chunk must be positive")
        after: str | None = None
        while True:
            params: dict[str, Any] = {"batch": batch, "status": status, "chunk": chunk}
            params["after_id"] = after
            sql = _page_statement(batch=batch, status=status, after=after)
            rows = self._run(_fetch_all(sql, params))
            page = [job_from_values(values) for values in rows]
            yield from page
            if len(page) < chunk:
                return
            after = page[-1].id

    def get_jobs(self, job_ids: Sequence[str]) -> dict[str, Job]:
        """Jobs by id (= ANY of arrays of at most 5,000 ids)."""
        unique = list(dict.fromkeys(job_ids))

        def work(conn: Connection) -> dict[str, Job]:
            found: dict[str, Job] = {}
            for chunk in chunked(unique, 5000):
                for values in conn.execute(f'{_SELECT_JOB} WHERE "id" = ANY(%s)', (list(chunk),)):
                    job = job_from_values(values)
                    found[job.id] = job
            return found

        return self._run(work) if unique else {}

    def delete_jobs(self, job_ids: Sequence[str]) -> int:
        """Delete jobs in one statement; returns how many rows went."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return 0
        return self._run(
            lambda conn: (
                conn.execute(f'DELETE FROM {_JOBS} WHERE "id" = ANY(%s)', (unique,)).rowcount
            )
        )

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
            "now": now_ms,
            "limit": limit,
            "lease_until": now_ms + lease_ms,
            "provider": provider_id,
        }
        sql = tracking_claim_statement(by_provider=provider_id is not None)
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
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
        """Write checked rows (terminal and lease guards) and their jobs in one transaction.

        Rows are updated in message_id order, so concurrent checkers lock shared rows in the
        same order and cannot deadlock each other. A checker that finds a row locked by
        another waits for it, then re-reads it: if the other made it terminal, or moved its
        next_check_at, this one's update does not apply (and its job is not enqueued).
        """
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
        params: list[dict[str, Any]] = []
        for row in sorted(updates, key=lambda item: item.message_id):
            values: dict[str, Any] = {
                "message_id": row.message_id,
                "expected": expected.get(row.message_id),
            }
            for column in TRACKING_MUTABLE_COLUMNS:
                value = getattr(row, column)
                values[column] = _jsonb(value) if column in TRACKING_JSON_COLUMNS else _plain(value)
            params.append(values)

        def work(conn: Connection) -> set[str]:
            updated: set[str] = set()
            with conn.cursor() as cursor:
                cursor.executemany(_APPLY_TRACKING, params, returning=True)
                while True:
                    updated.update(str(message_id) for (message_id,) in cursor.fetchall())
                    if not cursor.nextset():
                        break
            follow_ups = [
                _job_values(job)
                for job in jobs
                if (job.metadata or {}).get(FOR_MESSAGE_KEY) in updated
            ]
            if follow_ups:
                self._insert(conn, _INSERT_JOB, follow_ups)
            return updated

        return self._run(work, transaction=True)

    def set_tracking_metadata_key(self, message_id: str, key: str, value: Any) -> bool:
        """Set one top-level key of a row's metadata, atomically, whatever its status."""
        if not key.isidentifier():
            raise ValueError(f"metadata key {key!r} must be an identifier")
        sql = (
            f'UPDATE {_TRACKING} SET "metadata" = '
            "jsonb_set(COALESCE(\"metadata\", '{}'::jsonb), %s::text[], %s) "
            'WHERE "message_id" = %s'
        )
        params = ([key], Jsonb(value, dumps=_dumps), message_id)
        return self._run(lambda conn: conn.execute(sql, params).rowcount > 0)

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
            f'ORDER BY "requested_at" DESC, "message_id" {_C} DESC '
            "LIMIT %(limit)s OFFSET %(offset)s"
        )
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
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
        sql = f'SELECT "status", count(*) FROM {_TRACKING}{where} GROUP BY "status"'
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return {str(status_): int(count) for status_, count in rows}

    def iter_tracking(self, *, chunk: int = 1000) -> Iterator[TrackingRow]:
        """Tracking rows in primary-key order, `chunk` at a time (keyset paging)."""
        if chunk <= 0:
            raise ValueError("chunk must be positive")
        after: str | None = None
        while True:
            where = "" if after is None else ' WHERE "message_id" > %(after)s'
            sql = f'{_SELECT_TRACKING}{where} ORDER BY "message_id" LIMIT %(chunk)s'
            params = {"after": after, "chunk": chunk}
            rows = self._run(_fetch_all(sql, params))
            page = [tracking_from_values(values) for values in rows]
            yield from page
            if len(page) < chunk:
                return
            after = page[-1].message_id

    def purge(self, *, older_than_ms: int, limit: int = 5000) -> tuple[int, int]:
        """Delete up to `limit` old terminal rows and `limit` old finished jobs, one transaction."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        params = {"older_than": older_than_ms, "limit": limit}

        def work(conn: Connection) -> tuple[int, int]:
            tracking_deleted = conn.execute(_PURGE_TRACKING, params).rowcount
            jobs_deleted = conn.execute(_PURGE_JOBS, params).rowcount
            return tracking_deleted, jobs_deleted

        return self._run(work, transaction=True)

    def count_purgeable(self, *, older_than_ms: int) -> tuple[int, int]:
        """How many tracking rows and jobs `purge` would delete in all."""
        params = {"older_than": older_than_ms}

        def work(conn: Connection) -> tuple[int, int]:
            tracking = conn.execute(f"SELECT count(*) {_PURGEABLE_TRACKING}", params).fetchone()
            jobs = conn.execute(f"SELECT count(*) {_PURGEABLE_JOBS}", params).fetchone()
            return int(tracking[0]) if tracking else 0, int(jobs[0]) if jobs else 0

        return self._run(work)

    def reserve_sequence(self, name: str, count: int) -> int:
        """Atomically take `count` numbers of the named counter; returns the first one."""
        sql = (
            f'INSERT INTO {_q(STATE_TABLE)} AS s ("name", "value") VALUES (%s, %s) '
            'ON CONFLICT ("name") DO UPDATE SET "value" = s."value" + excluded."value" '
            'RETURNING "value"'
        )
        row = self._run(lambda conn: conn.execute(sql, (name, count)).fetchone())
        if row is None:  # pragma: no cover - RETURNING always yields the row
            raise self._query_failed(RuntimeError("reserve_sequence returned nothing"))
        return int(row[0]) - count

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
            "status": ('"status" = %(status)s', status),
            "type": ("""("data" #>> '{message,type}') = %(type)s""", message_type),
            "provider": ("""("data" ->> 'provider') = %(provider)s""", provider_id),
            "batch": (_IN_BATCH, batch),
            "code": (f"{_ERROR_CODE} = %(code)s", error_code),
        }
        for name, (condition, value) in filters.items():
            if value is not None:
                conditions.append(condition)
                params[name] = value
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        order = f' ORDER BY "created_at" DESC, "id" {_C} DESC LIMIT %(limit)s OFFSET %(offset)s'
        sql = f"{_SELECT_JOB}{where}{order}"
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [job_from_values(values) for values in rows]

    def job_stats(self) -> dict[str, Any]:
        """Counts by status, the oldest due pending job, failures by error code.

        Failed jobs whose error is JSON are counted by its `code` (UNKNOWN without one);
        the others (plain text, or no error) as ERROR, as SqliteStore counts them.
        """

        def work(conn: Connection) -> dict[str, Any]:
            counts = conn.execute(f'SELECT "status", count(*) FROM {_JOBS} GROUP BY "status"')
            by_status = {str(status): int(n) for status, n in counts.fetchall()}
            oldest_row = conn.execute(_next_due_statement(None)).fetchone()
            oldest = None if oldest_row is None or oldest_row[0] is None else int(oldest_row[0])
            return {
                "counts": by_status,
                "oldest_due_ms": oldest,
                "failures_by_code": self._failures_by_code(conn),
            }

        return self._run(work)

    def _failures_by_code(self, conn: Connection) -> dict[str, int]:
        try:
            rows = conn.execute(
                f"""SELECT COALESCE("error"::jsonb ->> 'code', 'UNKNOWN'), count(*)
                FROM {_JOBS} WHERE "status" = {_FAILED} AND "error" IS NOT NULL
                GROUP BY 1 ORDER BY 2 DESC, 1"""
            ).fetchall()
        except psycopg.DataError:
            # Some error is not JSON: Postgres cannot test that in SQL before version 16
            # (IS JSON), so the distinct texts are classified here instead.
            return self._failures_by_code_slowly(conn)
        failures = {str(code): int(n) for code, n in rows}
        plain = conn.execute(
            f'SELECT count(*) FROM {_JOBS} WHERE "status" = {_FAILED} AND "error" IS NULL'
        ).fetchone()
        if plain and plain[0]:
            failures["ERROR"] = failures.get("ERROR", 0) + int(plain[0])
        return failures

    def _failures_by_code_slowly(self, conn: Connection) -> dict[str, int]:
        failures: dict[str, int] = {}
        rows = conn.execute(
            f'SELECT "error", count(*) FROM {_JOBS} WHERE "status" = {_FAILED} GROUP BY 1'
        )
        for text, n in rows.fetchall():
            key = "ERROR"
            if text is not None:
                try:
                    decoded = json.loads(text, parse_constant=_reject_constant)
                except ValueError:
                    decoded = _NOT_JSON
                if decoded is not _NOT_JSON:
                    code = decoded.get("code") if isinstance(decoded, dict) else None
                    key = "UNKNOWN" if code is None else str(code)
            failures[key] = failures.get(key, 0) + int(n)
        return dict(sorted(failures.items(), key=lambda item: (-item[1], item[0])))

    def reset_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> int:
        """Failed or pending jobs due again with fresh attempts (never completed/processing)."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return 0
        return self._run(lambda conn: conn.execute(_RESET_JOBS, (now_ms, unique)).rowcount)

    def purge_jobs(self, *, older_than_ms: int, limit: int = 5000) -> int:
        """Delete up to `limit` finished jobs older than the cutoff."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        params = {"older_than": older_than_ms, "limit": limit}
        return self._run(lambda conn: conn.execute(_PURGE_JOBS, params).rowcount)

    def count_tracking(self) -> int:
        """Number of tracking rows."""
        return self._count(_TRACKING)

    def count_jobs(self) -> int:
        """Number of jobs."""
        return self._count(_JOBS)

    def _count(self, table: str) -> int:
        row = self._run(lambda conn: conn.execute(f"SELECT count(*) FROM {table}").fetchone())
        return int(row[0]) if row else 0

    def describe(self) -> str:
        """`PostgreSQL postgresql://user:****@host/db` (the password masked)."""
        return f"PostgreSQL {self._display}"

    def close(self) -> None:
        """Close the pool; later calls raise DB_CLOSED, a second close does nothing."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close(timeout=5.0)

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
        """kmsg's tables (in the search path) and their columns, kmsg's indexes, the version."""

        def work(conn: Connection) -> SchemaInfo:
            tables: dict[str, tuple[str, ...]] = {}
            for table in (TRACKING_TABLE, JOBS_TABLE, STATE_TABLE):
                columns = conn.execute(
                    "SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = to_regclass(%s) "
                    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                    (_q(table),),
                ).fetchall()
                if columns:
                    tables[table] = tuple(str(name) for (name,) in columns)
            present = conn.execute(
                "SELECT n FROM unnest(%s::text[]) AS n "
                "WHERE to_regclass(quote_ident(n)) IS NOT NULL",
                (list(INDEX_NAMES),),
            ).fetchall()
            version, _rows = self._version(conn)
            indexes = frozenset(str(name) for (name,) in present)
            return SchemaInfo(tables=tables, indexes=indexes, version=version)

        return self._run(work)

    def engine_check(self) -> dict[str, list[str]] | None:
        """None: PostgreSQL checks its own pages; there is no cheap equivalent to run here."""
        return None

    def iter_raw(self, table: str, *, chunk: int = 1000) -> Iterator[dict[str, Any]]:
        """Rows as stored (JSONB columns as their text), primary-key order, `chunk` at a time."""
        columns, key, json_columns = raw_table(table, chunk)
        names = ", ".join(
            f"{_q(c)}::text AS {_q(c)}" if c in json_columns else _q(c) for c in columns
        )
        after: Any = None
        while True:
            where = "" if after is None else f" WHERE {_q(key)} > %(after)s"
            sql = f"SELECT {names} FROM {_q(table)}{where} ORDER BY {_q(key)} LIMIT %(chunk)s"
            rows = self._run(_fetch_all(sql, {"after": after, "chunk": chunk}))
            page = [dict(zip(columns, values, strict=True)) for values in rows]
            yield from page
            if len(page) < chunk:
                return
            after = page[-1][key]

    def duplicate_provider_message_ids(
        self, *, limit: int = 5
    ) -> tuple[int, list[tuple[str, str, list[str]]]]:
        """Non-empty provider message ids held by several rows of one provider."""
        groups = (
            f'SELECT "provider_id", "provider_message_id" FROM {_TRACKING} '
            "WHERE \"provider_message_id\" <> '' "
            'GROUP BY "provider_id", "provider_message_id" HAVING count(*) > 1'
        )
        wanted = max(0, limit)

        def work(conn: Connection) -> tuple[int, list[tuple[str, str, list[str]]]]:
            row = conn.execute(f"SELECT count(*) FROM ({groups}) AS d").fetchone()
            order = f'"provider_id" {_C}, "provider_message_id" {_C}'
            pairs = conn.execute(f"{groups} ORDER BY {order} LIMIT %s", (wanted,)).fetchall()
            found = []
            for provider_id, provider_message_id in pairs:
                ids = conn.execute(
                    f'SELECT "message_id" FROM {_TRACKING} WHERE "provider_id" = %s '
                    f'AND "provider_message_id" = %s ORDER BY "message_id" {_C} LIMIT %s',
                    (provider_id, provider_message_id, wanted),
                ).fetchall()
                names = [str(message_id) for (message_id,) in ids]
                found.append((str(provider_id), str(provider_message_id), names))
            return (int(row[0]) if row else 0), found

        return self._run(work)

    def completed_jobs_without_tracking(self, *, limit: int = 5) -> tuple[int, list[str]]:
        """Completed 'send' jobs that have no tracking row of their id."""
        orphans = (
            f'FROM {_JOBS} AS j WHERE j."status" = {_COMPLETED} AND j."type" = \'send\' '
            f'AND NOT EXISTS (SELECT 1 FROM {_TRACKING} AS t WHERE t."message_id" = j."id")'
        )

        def work(conn: Connection) -> tuple[int, list[str]]:
            row = conn.execute(f"SELECT count(*) {orphans}").fetchone()
            ids = conn.execute(
                f'SELECT j."id" {orphans} ORDER BY j."id" {_C} LIMIT %s', (max(0, limit),)
            ).fetchall()
            return (int(row[0]) if row else 0), [str(job_id) for (job_id,) in ids]

        return self._run(work)

    def __repr__(self) -> str:
        return f"PostgresStore({self._display!r})"


_NOT_JSON = object()


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (Postgres and SQLite refuse them too).
    raise ValueError(f"{name} is not JSON")
