"""The SQLite engine: one WAL-mode connection per process, short BEGIN IMMEDIATE writes.

Everything but opening the file, mapping sqlite3's errors, creating the schema, the two
claim statements and how a list of ids is bound is `SqlStore`'s (docs/storage.md, "Engines").
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from kmsg_cli.errors import StoreError
from kmsg_cli.files import make_private_parents
from kmsg_cli.jsontext import compact_encoder
from kmsg_cli.store.dialect import Dialect, q
from kmsg_cli.store.rows import TRACKING_DUE_STATUSES, bad_json_hint
from kmsg_cli.store.schema import (
    INDEX_NAMES,
    JOB_COLUMNS,
    SCHEMA_VERSION,
    TRACKING_COLUMNS,
    batch_index_statement,
    ddl_statements,
    state_statements,
)
from kmsg_cli.store.session import JOBS, TRACKING, DbApiSession, Session
from kmsg_cli.store.sql import SqlStore

_T = TypeVar("_T")

MEMORY = ":memory:"
DEFAULT_BUSY_TIMEOUT_MS = 5000

_OPEN_HINT = "check the path or pass --db PATH"
_LOCKED_HINT = "another kmsg process holds the database; try again"

_JOB_LIST = ", ".join(q(c) for c in JOB_COLUMNS)
_TRACKING_LIST = ", ".join(q(c) for c in TRACKING_COLUMNS)


_ENCODE_LIST = compact_encoder()  # JSON arrays of ids (`SqliteStore._ids_in`)


def _as_null(value: None) -> None:
    return value


# sqlite3 binds a None only after looking for an adapter: in its registry, then as attributes
# of its protocol type and of the value, each failed lookup on a type raising (and formatting)
# an AttributeError. Every job and tracking row binds several NULLs. Registered, the adapter is
# found at once; it returns the None itself, bound as NULL exactly as before.
sqlite3.register_adapter(type(None), _as_null)


class SqliteDialect(Dialect):
    """SQLite 3.35+ (RETURNING): JSON as text, BINARY collation, named `:params`."""

    name = "sqlite"

    def unindexed(self, column: str) -> str:
        # Unary + keeps a term from choosing an index: SQLite has no statistics unless ANALYZE
        # ran, and would otherwise read every processing job to mark a thousand in flight.
        return f"+{column}"

    def claim_jobs_sql(self, *, by_batch: bool, by_providers: bool = False) -> str:
        """The claim: one UPDATE ... WHERE id IN (SELECT ... LIMIT) RETURNING.

        Parameters: pending, processing, now, limit, lease_until, owner (JSON text), batch
        when `by_batch` and providers (a JSON array) when `by_providers`. Under BEGIN
        IMMEDIATE a claim is alone among writers. Each priority's first :limit due jobs are
        read in index order and only those candidates are sorted: O(priorities x limit),
        whatever the queue depth. Ties on (priority, process_at,
        created_at) at the limit are taken in index order; the caller sorts the returned rows
        (RETURNING order is unspecified). With a batch the condition is checked row by row on
        rows read in index order, kept off the batch index (which would read every job of the
        batch, finished ones too, at each claim): cheap while the batch's jobs come first, as
        they do for send-many, which owns most of the queue while it runs.
        """
        in_batch = self.json_equals_text(q("metadata"), "batch", ":batch")
        batch = f" AND {self.unindexed(in_batch)}" if by_batch else ""
        if by_providers:  # like the batch: tested on the rows read in index order
            batch += f" AND {self.of_providers(':providers')}"
        return f"""UPDATE {JOBS}
SET {self.claim_set()}
WHERE "id" IN (
  WITH RECURSIVE {self.pending_levels()}
  SELECT c."id" FROM levels AS l, {JOBS} AS c
  WHERE c."id" IN (
    SELECT "id" FROM {JOBS}
    WHERE "status" = :pending AND "priority" = l.p AND "process_at" <= :now{batch}
    ORDER BY "process_at", "created_at"
    LIMIT :limit
  )
  ORDER BY c."priority" DESC, c."process_at", c."created_at", c."id"
  LIMIT :limit
)
RETURNING {_JOB_LIST}"""

    def claim_tracking_sql(self, *, by_provider: bool, by_providers: bool = False) -> str:
        """The tracking claim: one UPDATE ... WHERE message_id IN (SELECT ... LIMIT) RETURNING.

        Parameters: due0, due1 (PENDING, SENT), now, limit, lease_until, provider when
        `by_provider` and providers (a JSON array) when `by_providers`.
        idx_kmsg_delivery_due(status, next_check_at) cannot yield "status IN (..) ORDER BY
        next_check_at" in one scan: a plain ORDER BY would read and sort every due row.
        Instead the first :limit due rows of each status are read in index order and only
        those candidates are sorted: O(statuses x limit) whatever the number of due rows. Ties
        on next_check_at at a candidate list's end are taken in index (rowid) order. With a
        provider (or a list) the condition is checked row by row on rows read in index order.
        """
        provider = self.of_tracked_providers(by_provider=by_provider, by_providers=by_providers)
        candidates = "\n    UNION ALL\n    ".join(
            f"""SELECT * FROM (
      SELECT "message_id", "next_check_at" FROM {TRACKING}
      WHERE "status" = :due{n} AND "next_check_at" <= :now{provider}
      ORDER BY "next_check_at"
      LIMIT :limit
    )"""
            for n in range(len(TRACKING_DUE_STATUSES))
        )
        return f"""UPDATE {TRACKING}
SET "next_check_at" = :lease_until
WHERE "message_id" IN (
  SELECT "message_id" FROM (
    {candidates}
  )
  ORDER BY "next_check_at", "message_id"
  LIMIT :limit
)
RETURNING {_TRACKING_LIST}"""


DIALECT = SqliteDialect()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _is_locked(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc).lower()


def _is_not_database(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name == "SQLITE_NOTADB" or "file is not a database" in str(exc).lower()


class SqliteStore(SqlStore):
    """A `Store` in one SQLite file (or `":memory:"`)."""

    dialect = DIALECT
    transactional_writes = True

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
        reason = _one_line(str(exc))
        return StoreError(
            f"SQLite database {self._display}: {reason}",
            code="DB_QUERY_FAILED",
            hint=bad_json_hint(reason),
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

    def _run(self, work: Callable[[Session], _T], *, transaction: bool = False) -> _T:
        """`work` on the connection, under the lock; writes inside BEGIN IMMEDIATE."""
        with self._transaction() if transaction else self._connection() as conn:
            return work(DbApiSession(conn))

    def _ids_in(self, prefix: str, ids: Sequence[str]) -> tuple[str, dict[str, Any]]:
        """A list of ids as one parameter, a JSON array read by `json_each`: a statement with
        hundreds of named parameters costs SQLite a search of its list of names for each one
        it binds, and send-many names every id several times (tracking look-ups, the in-flight
        mark, the completion)."""
        param = self.dialect.p(prefix)
        return f"(SELECT value FROM json_each({param}))", {prefix: _ENCODE_LIST(list(ids))}

    def _user_version(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("PRAGMA user_version").fetchone()
        return int(row[0]) if row else 0

    # -- schema ------------------------------------------------------------------------------

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
            conn.execute(batch_index_statement("sqlite"))
            if version < SCHEMA_VERSION:
                # user_version cannot be bound as a parameter; the value is our own constant.
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    def schema_version(self) -> int:
        """The value of `PRAGMA user_version`."""
        with self._connection() as conn:
            return self._user_version(conn)

    def describe(self) -> str:
        """`SQLite /absolute/path` or `SQLite in memory`."""
        return "SQLite in memory" if self._memory else f"SQLite {self._display}"

    def claim_method(self) -> str:
        """How claims exclude each other here."""
        return "BEGIN IMMEDIATE (one writer at a time)"

    def close(self) -> None:
        """Close the connection; later calls raise DB_CLOSED, a second close does nothing."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    # -- what `kmsg db check` reads (kmsg_cli.store.inspect) ---------------------------------

    def _table_columns(self, s: Session, table: str) -> tuple[str, ...]:
        return tuple(str(c[1]) for c in s.execute(f"PRAGMA table_info({q(table)})").rows)

    def _index_names(self, s: Session) -> frozenset[str]:
        names = s.execute("SELECT name FROM sqlite_master WHERE type = 'index'").rows
        return frozenset(str(name) for (name,) in names if name in INDEX_NAMES)

    def _recorded_version(self, s: Session) -> int:
        return int(s.execute("PRAGMA user_version").scalar() or 0)

    def _engine_check(self) -> dict[str, list[str]] | None:
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

    def __repr__(self) -> str:
        return f"SqliteStore({self._display!r})"
