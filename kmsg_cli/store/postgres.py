"""The PostgreSQL engine (psycopg 3): pooled connections, SKIP LOCKED claims, JSONB columns.

What differs from `SqlStore`'s shared SQL (docs/storage.md, "Engines"):

- Connections come from a `psycopg_pool.ConnectionPool` (1 to `pool_size`), so the worker
  threads of `--concurrency` each get their own. They are in autocommit mode: a lone statement
  is its own transaction; units of work of several statements run inside an explicit one.
- Transient failures (the connection lost or reset, the server shutting down or restarting,
  serialization failures 40001 and deadlocks 40P01) run the whole unit of work again
  (`ServerStore._run`).
- Claims are one `UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED))
  RETURNING` (the ARRAY makes Postgres update by primary-key lookups, never by hash-joining
  the whole table), so concurrent claimers on any number of hosts skip each other's rows.
- JSON columns are JSONB (JSON text cast on the way in, decoded dicts on the way out); ids are
  compared as bytes (COLLATE "C") in tie-breaks, as SQLite's BINARY collation does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from kmsg_cli.store.dialect import Dialect, q
from kmsg_cli.store.rows import TRACKING_DUE_STATUSES
from kmsg_cli.store.schema import (
    BATCH_INDEX,
    CACHE_TABLE,
    CONTENT_KEYS_TABLE,
    INDEX_NAMES,
    JOB_COLUMNS,
    JOBS_TABLE,
    POSTGRES_WIDENED_COLUMNS,
    SCHEMA_VERSION,
    STATE_TABLE,
    TRACKING_COLUMNS,
    TRACKING_TABLE,
    VERSION_TABLE,
    batch_index_statement,
    ddl_statements,
    index_statements,
    state_statements,
)
from kmsg_cli.store.server import (
    DEFAULT_ATTEMPTS,
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_POOL_SIZE,
    DEFAULT_POOL_TIMEOUT_S,
    Failure,
    ServerStore,
)
from kmsg_cli.store.session import JOBS, TRACKING, DbApiSession, Params, Session

Connection = psycopg.Connection[TupleRow]
_T = TypeVar("_T")

# The pool reports reconnection attempts through logging; a CLI must not print them on stderr
# by Python's last-resort handler. An application that configures logging still sees them.
logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())

# SQLSTATEs worth running the whole unit of work again for: the connection was lost (class
# 08), the server is shutting down or starting (57P01-57P03), or the transaction lost a race
# (40001 serialization failure, 40P01 deadlock: Postgres rolled it back).
_GONE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
_RACE_SQLSTATES = frozenset({"40001", "40P01"})

# pg_advisory_xact_lock key serialising concurrent `initialize` calls ("kmsg" in ASCII).
_INIT_LOCK_KEY = 0x6B6D7367

_C = 'COLLATE "C"'
_JOB_LIST = ", ".join(q(c) for c in JOB_COLUMNS)
_TRACKING_LIST = ", ".join(q(c) for c in TRACKING_COLUMNS)

# No index covers metadata.batch, so Postgres guesses that a batch holds 0.5% of a priority's
# jobs and prefers reading every pending job of the priority and sorting them (a sequential
# or bitmap scan: ~100 ms per claim at 100,000 jobs) over walking idx_kmsg_jobs_dequeue in
# order until `limit` match. For send-many the batch is most of the queue and that walk stops
# almost at once (~1 ms), so the batch claim rules the full scans out for its one statement
# (SET LOCAL). No disabled node remains in the plan it gets, so its cost stays small and JIT
# stays off; `jit = off` makes sure of it.
_BATCH_CLAIM_SETTINGS = ("enable_seqscan = off", "enable_bitmapscan = off", "jit = off")


def _keys(*keys: str) -> str:
    return " - ".join(f"'{key}'::text" for key in keys)


class PostgresDialect(Dialect):
    """PostgreSQL 12+: `%(name)s` parameters, JSONB, byte-order id tie-breaks."""

    name = "postgres"
    empty_object = "'{}'::jsonb"

    def p(self, name: str) -> str:
        return f"%({name})s"

    def ids(self, column: str) -> str:
        return f"{column} {_C}"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS bigint)"

    def json_param(self, name: str) -> str:
        return f"CAST({self.p(name)} AS jsonb)"

    def json_value(self, param: str) -> str:
        return f"CAST({param} AS jsonb)"

    def json_int(self, param: str) -> str:
        return f"to_jsonb(CAST({param} AS bigint))"

    def json_set(self, column: str, key: str, value: str, *more: str) -> str:
        result = f"jsonb_set(COALESCE({column}, {self.empty_object}), '{{{key}}}', {value})"
        return self.json_set(result, *more) if more else result

    def json_remove(self, column: str, *keys: str) -> str:
        return f"({column} - {_keys(*keys)})"

    def json_absent(self, column: str, key: str) -> str:
        # A JSON null counts as absent, as SQLite's json_extract(...) IS NULL says.
        return f"COALESCE(jsonb_typeof({column} -> '{key}'), 'null') = 'null'"

    def json_text(self, column: str, *path: str) -> str:
        return f"({column} #>> '{{{','.join(path)}}}')"

    def json_equals_text(self, column: str, key: str, param: str) -> str:
        # Compared as a JSON string, as SQLite's json_extract(...) = :batch does.
        return f"{column} -> '{key}' = to_jsonb(CAST({param} AS text))"

    def in_list(self, expr: str, param: str) -> str:
        # `?`: the array holds the text as an element (psycopg's placeholders are %(...)s).
        return f"CAST({param} AS jsonb) ? {expr}"

    def json_valid(self, column: str) -> str | None:
        # No such test before PostgreSQL 16 (IS JSON): failures are classified in Python.
        return None

    def error_code(self, column: str) -> str:
        # Only text that looks like a JSON object is parsed: plain text never fails the query.
        return f"(CASE WHEN {column} ~ '^\\s*[{{]' THEN CAST({column} AS jsonb) ->> 'code' END)"

    def as_text(self, column: str) -> str:
        return f"CAST({column} AS text)"

    def limited(self, key: str, subquery: str) -> str:
        return f"{key} = ANY(ARRAY({subquery}))"

    def claim_jobs_sql(self, *, by_batch: bool, by_providers: bool = False) -> str:
        """The job claim: one UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP
        LOCKED)) RETURNING. Parameters: pending, processing, now, limit, lease_until, owner
        (JSON text) and batch when `by_batch`.

        The priorities are visited highest first, and for each one a LATERAL subquery reads the
        due jobs in index order (status, priority, process_at, created_at), locking them with
        FOR UPDATE SKIP LOCKED as they are read; the outer LIMIT stops the nested loop as soon
        as `limit` jobs are locked. So exactly the jobs taken are locked (a concurrent
        claimer's scan steps over them), lower priorities are not even read once the higher
        ones fill the claim, and a claim costs O(priorities + limit) index reads whatever the
        queue depth. Jobs tied at the limit are taken in index order.
        """
        batch = self.json_equals_text(q("metadata"), "batch", self.p("batch"))
        in_batch = f" AND {batch}" if by_batch else ""
        if by_providers:
            in_batch += f" AND {self.of_providers(self.p('providers'))}"
        return f"""UPDATE {JOBS}
SET {self.claim_set()}
WHERE "id" = ANY(ARRAY(
  WITH RECURSIVE {self.pending_levels()}
  SELECT c."id"
  FROM (SELECT p FROM levels WHERE p IS NOT NULL ORDER BY p DESC) AS l
  CROSS JOIN LATERAL (
    SELECT "id" FROM {JOBS}
    WHERE "status" = %(pending)s AND "priority" = l.p AND "process_at" <= %(now)s{in_batch}
    ORDER BY "process_at", "created_at"
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
  ) AS c
  LIMIT %(limit)s
))
RETURNING {_JOB_LIST}"""

    def claim_tracking_sql(self, *, by_provider: bool, by_providers: bool = False) -> str:
        """The tracking claim: one UPDATE ... WHERE message_id = ANY(ARRAY(SELECT ...))
        RETURNING. Parameters: due0, due1, now, limit, lease_until, provider and providers.

        As on SQLite, the first `limit` due rows of each status are read in index order and
        only those candidates are sorted: O(statuses x limit) whatever the number of due rows.
        FOR UPDATE SKIP LOCKED sits in each candidate SELECT (Postgres refuses it on a UNION
        and on the outer sort), where rows are read in index order, so a concurrent claimer's
        scan steps over locked rows and goes on. The price: a claim may lock up to statuses x
        limit candidates for the few milliseconds of its statement while taking `limit`.
        """
        provider = self.of_tracked_providers(by_provider=by_provider, by_providers=by_providers)
        candidates = "\n  UNION ALL\n  ".join(
            f"""SELECT * FROM (
    SELECT "message_id", "next_check_at" FROM {TRACKING}
    WHERE "status" = %(due{n})s AND "next_check_at" <= %(now)s{provider}
    ORDER BY "next_check_at"
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
  ) AS due{n}"""
            for n in range(len(TRACKING_DUE_STATUSES))
        )
        return f"""UPDATE {TRACKING}
SET "next_check_at" = %(lease_until)s
WHERE "message_id" = ANY(ARRAY(
  SELECT "message_id" FROM (
  {candidates}
  ) AS candidates
  ORDER BY "next_check_at", "message_id" {_C}
  LIMIT %(limit)s
))
RETURNING {_TRACKING_LIST}"""


DIALECT = PostgresDialect()


class PgSession(DbApiSession):
    """A psycopg connection as a `Session`: several updates go out in one pipeline."""

    def rowcounts(self, sql: str, rows: Sequence[Params]) -> list[int]:
        if not rows:
            return []
        counts: list[int] = []
        with self.conn.cursor() as cursor:
            cursor.executemany(sql + ' RETURNING 1 AS "changed"', rows, returning=True)
            while True:
                counts.append(len(cursor.fetchall()))
                if not cursor.nextset():
                    break
        return counts


class PostgresStore(ServerStore):
    """A `Store` in a PostgreSQL database (psycopg 3 with a connection pool)."""

    dialect = DIALECT
    engine = "PostgreSQL"
    scheme = "postgresql"

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
        try:
            given = conninfo_to_dict(url)
        except psycopg.Error:
            given = {}
        super().__init__(url, attempts=attempts, secrets=[str(given.get("password") or "")])
        self.pool_size = pool_size
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in given:
            kwargs["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT_S
        if "application_name" not in given:
            kwargs["application_name"] = "kmsg"
        # One direct connection first: a wrong URL, an unreachable server or a refused login
        # fails here at once with libpq's reason, instead of as a pool timeout later.
        try:
            psycopg.connect(url, **kwargs).close()
        except psycopg.Error as exc:
            raise self._open_failed(exc) from None
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

    # -- plumbing ----------------------------------------------------------------------------

    def _attempt(self, work: Callable[[Session], _T], transaction: bool) -> _T:
        with self._pool.connection() as conn:
            if not transaction:
                return work(PgSession(conn))
            with conn.transaction():
                return work(PgSession(conn))

    def _classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, psycopg_pool.PoolClosed):
            return Failure.CLOSED
        if isinstance(exc, psycopg_pool.PoolTimeout):
            return Failure.UNAVAILABLE  # the pool already spent its timeout (re)connecting
        if not isinstance(exc, psycopg.Error):
            return None
        state = exc.sqlstate
        if state is None:
            # Raised by the client: the connection was closed or lost (no server answer).
            lost = isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
            return Failure.LOST if lost else Failure.QUERY
        if state.startswith("08") or state in _GONE_SQLSTATES:
            return Failure.LOST
        return Failure.TRANSIENT if state in _RACE_SQLSTATES else Failure.QUERY

    def _recheck(self) -> None:
        try:
            self._pool.check()
        except psycopg.Error:
            pass

    def _claim_job_rows(self, params: dict[str, Any], batch: str | None) -> list[Sequence[Any]]:
        sql = self.dialect.claim_jobs_sql(
            by_batch=batch is not None, by_providers=params.get("providers") is not None
        )
        if batch is None:
            return self._run(lambda s: s.execute(sql, params).rows)

        def work(s: Session) -> list[Sequence[Any]]:
            # The planner settings hold for this one statement (SET LOCAL, in a transaction
            # sent with its SETs in one pipeline: still one round trip).
            conn: Connection = cast(PgSession, s).conn
            with conn.pipeline(), conn.transaction():
                for setting in _BATCH_CLAIM_SETTINGS:
                    conn.execute(f"SET LOCAL {setting}")
                cursor = conn.execute(sql, params)
            return list(cursor.fetchall())

        return self._run(work)

    # -- schema ------------------------------------------------------------------------------

    def initialize(self) -> None:
        """Create what is missing (tables, indexes, kmsg_state), widen VARCHAR(64) short-text
        columns of a reference-built table to TEXT, and record the version, in one transaction.

        When everything exists (the usual case: every kmsg command calls this) no DDL runs,
        so no table lock is taken while other processes work.
        """
        self._run(self._initialize, transaction=True)

    def _initialize(self, s: Session) -> None:
        s.execute("SELECT pg_advisory_xact_lock(%(key)s)", {"key": _INIT_LOCK_KEY})
        version, rows = self._version_rows(s)
        if version > SCHEMA_VERSION:
            raise self._too_new(version, SCHEMA_VERSION)
        names = [TRACKING_TABLE, JOBS_TABLE, VERSION_TABLE, STATE_TABLE, CACHE_TABLE]
        names.append(CONTENT_KEYS_TABLE)
        names += [statement.split('"')[1] for statement in index_statements("postgres")]
        names.append(BATCH_INDEX)
        missing = s.execute(
            "SELECT count(*) FROM unnest(CAST(%(names)s AS text[])) AS n "
            "WHERE to_regclass(quote_ident(n)) IS NULL",
            {"names": names},
        ).scalar()
        if missing:
            for statement in ddl_statements("postgres") + state_statements("postgres"):
                s.execute(statement)
            s.execute(batch_index_statement("postgres"))
        narrow = s.execute(
            "SELECT a.attname FROM pg_attribute AS a "
            "WHERE a.attrelid = to_regclass(%(table)s) AND a.attname = ANY(%(names)s) "
            "AND NOT a.attisdropped AND a.atttypid = 'character varying'::regtype",
            {"table": TRACKING, "names": list(POSTGRES_WIDENED_COLUMNS)},
        ).rows
        if narrow:
            # varchar -> text is binary compatible: no table rewrite, no index rebuild.
            changes = ", ".join(f"ALTER COLUMN {q(str(name))} TYPE TEXT" for (name,) in narrow)
            s.execute(f"ALTER TABLE {TRACKING} {changes}")
        self._record_version(s, version, rows)

    def claim_method(self) -> str:
        """How claims exclude each other here."""
        return "FOR UPDATE SKIP LOCKED"

    def close(self) -> None:
        """Close the pool; later calls raise DB_CLOSED, a second close does nothing."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close(timeout=5.0)

    # -- what `kmsg db check` reads (kmsg_cli.store.inspect) ---------------------------------

    def _table_columns(self, s: Session, table: str) -> tuple[str, ...]:
        rows = s.execute(
            "SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = to_regclass(%(t)s) "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            {"t": q(table)},
        ).rows
        return tuple(str(name) for (name,) in rows)

    def _index_names(self, s: Session) -> frozenset[str]:
        present = s.execute(
            "SELECT n FROM unnest(CAST(%(names)s AS text[])) AS n "
            "WHERE to_regclass(quote_ident(n)) IS NOT NULL",
            {"names": list(INDEX_NAMES)},
        ).rows
        return frozenset(str(name) for (name,) in present)
