"""The MySQL/MariaDB engine (PyMySQL): pooled connections, SKIP LOCKED claims, JSON as text.

What differs from `SqlStore`'s shared SQL (docs/storage.md, "Engines"):

- Sessions run with ANSI_QUOTES (the shared SQL's double-quoted identifiers), strict mode (a
  value that does not fit is an error, never silently cut), READ COMMITTED, utf8mb4 with a
  binary collation (ids compare byte by byte, as on SQLite), and CLIENT_FOUND_ROWS, so an
  UPDATE counts the rows it matched, as the other engines do.
- No UPDATE ... RETURNING: a claim is SELECT ... FOR UPDATE SKIP LOCKED (one priority, or one
  due status, at a time), the UPDATE of the ids it locked and a SELECT of them, in one
  transaction. Servers without SKIP LOCKED (MySQL before 8.0.1, MariaDB before 10.6) first lock
  one row of `kmsg_state`, so claimers take turns: correct, and slower.
- "Insert or skip" reads which ids exist and inserts the others with a plain INSERT (INSERT
  IGNORE would also turn a NOT NULL violation into a warning); a concurrent insert of the same id
  fails with 1062, and the unit of work runs again, now skipping it.
- Deadlocks (1213), lock wait timeouts (1205), lost connections (2006, 2013) and a refused
  reconnection run the whole unit of work again (`ServerStore._run`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeAlias, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql
from pymysql.constants import CLIENT

from kmsg_cli.errors import StoreError
from kmsg_cli.store.dialect import Dialect, q
from kmsg_cli.store.pool import ConnectionPool, PoolClosed, PoolTimeout
from kmsg_cli.store.rows import TRACKING_DUE_STATUSES, chunked
from kmsg_cli.store.schema import (
    BATCH_COLUMN,
    BATCH_INDEX,
    BATCH_KEY_LENGTH,
    INDEX_NAMES,
    JOBS_TABLE,
    SCHEMA_VERSION,
    STATE_TABLE,
    batch_index_statement,
    ddl_statements,
    mysql_collation,
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
from kmsg_cli.store.session import (
    INSERTED,
    JOBS,
    PENDING,
    SELECT_JOB,
    SELECT_TRACKING,
    TRACKING,
    DbApiSession,
    Params,
    Session,
)

_T = TypeVar("_T")
# PyMySQL ships no type information: its connections are typed loosely here.
Connection: TypeAlias = Any

DEFAULT_PORT = 3306
_SCHEMES = frozenset({"mysql", "mariadb"})
_QUERY_KEYS = frozenset({"connect_timeout", "unix_socket", "ssl_ca"})

# Server errors after which the whole unit of work is run again: deadlock (1213, the
# transaction was rolled back), lock wait timeout (1205), a concurrent insert of the same id
# (1062, see the module doc), too many connections (1040).
_RACE_ERRORS = frozenset({1213, 1205, 1062, 1040})
# The connection is gone: server gone away, lost during a query, cannot connect (restarting),
# closed by the server for inactivity (MySQL 8: 4031), shutdown in progress (1053).
_GONE_ERRORS = frozenset({2006, 2013, 2003, 2002, 4031, 1053, 1927})

_SESSION_SETUP = (
    "SET SESSION sql_mode = "
    "'ANSI_QUOTES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET NAMES utf8mb4 COLLATE utf8mb4_bin",
)

# GET_LOCK name serialising concurrent `initialize` calls (DDL commits implicitly in MySQL, so
# initialize cannot be one transaction), and the kmsg_state rows the fallback claims lock.
_INIT_LOCK = "kmsg.initialize"
_CLAIM_LOCKS = {"jobs": "kmsg:claim:jobs", "tracking": "kmsg:claim:tracking"}


def _path(key: str) -> str:
    return f"'$.{key}'"


class MysqlDialect(Dialect):
    """MySQL 5.7+/MariaDB 10.2+: `%(name)s` parameters, JSON functions on TEXT, no RETURNING."""

    name = "mysql"
    returning = False

    def p(self, name: str) -> str:
        return f"%({name})s"

    def json_value(self, param: str) -> str:
        return f"JSON_EXTRACT({param}, '$')"

    def json_absent(self, column: str, key: str) -> str:
        found = f"JSON_EXTRACT({column}, {_path(key)})"
        return f"({found} IS NULL OR JSON_TYPE({found}) = 'NULL')"

    def json_text(self, column: str, *path: str) -> str:
        # JSON_UNQUOTE makes the text 'null' of a JSON null: NULL there, as on the others
        found = f"JSON_EXTRACT({column}, '$.{'.'.join(path)}')"
        return f"CASE WHEN JSON_TYPE({found}) <> 'NULL' THEN JSON_UNQUOTE({found}) END"

    def json_equals_text(self, column: str, key: str, param: str) -> str:
        # A JSON string equal to the parameter, byte for byte (a number 5 is not "5").
        found = f"JSON_EXTRACT({column}, {_path(key)})"
        return (
            f"(JSON_TYPE({found}) = 'STRING' "
            f"AND CAST(JSON_UNQUOTE({found}) AS BINARY) = CAST({param} AS BINARY))"
        )

    def in_list(self, expr: str, param: str) -> str:
        return f"JSON_CONTAINS({param}, JSON_QUOTE({expr}))"

    def in_batch(self, param: str, table: str = "") -> str:
        # The indexed generated column narrows the rows; the JSON test decides (the column
        # holds at most BATCH_KEY_LENGTH characters, and a number 5 there reads as "5").
        column = f'{table}"{BATCH_COLUMN}"'
        exact = self.json_equals_text(f'{table}"metadata"', "batch", param)
        return f"({column} = LEFT({param}, {BATCH_KEY_LENGTH}) AND {exact})"

    def limited(self, key: str, subquery: str) -> str:
        # MySQL refuses LIMIT in an IN subquery, but not in a derived table inside one.
        return f"{key} IN (SELECT {key} FROM ({subquery}) AS picked)"

    def add_on_conflict(self, table: str, key: str, column: str) -> str:
        return f"ON DUPLICATE KEY UPDATE {q(column)} = {q(column)} + VALUES({q(column)})"

    def insert_ignore(
        self, table: str, columns: Iterable[str], key: str, json_columns: Iterable[str]
    ) -> str:
        # A no-op update of the key instead of ON CONFLICT (MySQL has none) or INSERT IGNORE
        # (which would also turn a NOT NULL violation into a warning). With CLIENT_FOUND_ROWS a
        # skipped row counts 1, not 0: the ledger's own inserts count through _insert_rows.
        insert = super().insert_ignore(table, columns, key, json_columns)
        head = insert[: insert.index(" ON CONFLICT")]
        return f"{head} ON DUPLICATE KEY UPDATE {q(key)} = {q(key)}"


DIALECT = MysqlDialect()

# The next lower priority of pending jobs: one backward seek in idx_kmsg_jobs_dequeue. MySQL
# and MariaDB do not turn the recursive CTE of the other engines into such seeks (its MAX
# depends on the previous row), so the priorities are visited one query at a time instead.
_NEXT_LEVEL = (
    f'SELECT MAX("priority") FROM {JOBS} WHERE "status" = %(pending)s AND "priority" < %(below)s'
)
_TOP_LEVEL = f'SELECT MAX("priority") FROM {JOBS} WHERE "status" = %(pending)s'


def _levels(s: Session) -> Iterator[int]:
    """The priorities of pending jobs, highest first, found lazily (see _NEXT_LEVEL)."""
    level = s.execute(_TOP_LEVEL, {"pending": PENDING}).scalar()
    while level is not None:
        yield int(level)
        level = s.execute(_NEXT_LEVEL, {"pending": PENDING, "below": level}).scalar()


def _due_jobs(*, by_batch: bool, by_providers: bool, skip_locked: bool) -> str:
    in_batch = (
        f" AND {DIALECT.json_equals_text(q('metadata'), 'batch', '%(batch)s')}" if by_batch else ""
    )
    if by_providers:
        in_batch += f" AND {DIALECT.of_providers('%(providers)s')}"
    return (
        f'SELECT "id" FROM {JOBS} WHERE "status" = %(pending)s AND "priority" = %(level)s '
        f'AND "process_at" <= %(now)s{in_batch} ORDER BY "process_at", "created_at" '
        f"LIMIT %(want)s FOR UPDATE{' SKIP LOCKED' if skip_locked else ''}"
    )


def _due_rows(*, by_provider: bool, skip_locked: bool, by_providers: bool = False) -> str:
    provider = DIALECT.of_tracked_providers(by_provider=by_provider, by_providers=by_providers)
    return (
        f'SELECT "message_id", "next_check_at" FROM {TRACKING} WHERE "status" = %(due)s '
        f'AND "next_check_at" <= %(now)s{provider} ORDER BY "next_check_at" '
        f"LIMIT %(limit)s FOR UPDATE{' SKIP LOCKED' if skip_locked else ''}"
    )


def parse_url(url: str) -> dict[str, Any]:
    """PyMySQL connection arguments of a `mysql://` / `mariadb://` URL:
    USER[:PASSWORD]@HOST[:PORT]/DATABASE[?connect_timeout=S&unix_socket=PATH&ssl_ca=FILE].
    StoreError DB_URL_INVALID for anything else (a password shows only as ****)."""
    from kmsg_cli.errors import mask_url_passwords

    shown = mask_url_passwords(url)
    hint = "use mysql://USER@HOST[:PORT]/DATABASE (USER:PASSWORD@ or USER:env:NAME@ for a password)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise StoreError(
            f"invalid MySQL URL {shown}: {exc}", code="DB_URL_INVALID", hint=hint
        ) from None
    database = unquote(parts.path.lstrip("/"))
    if parts.scheme.lower() not in _SCHEMES or not database or "/" in database:
        raise StoreError(
            f"invalid MySQL URL {shown}: expected a database name after the host",
            code="DB_URL_INVALID",
            hint=hint,
        )
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - _QUERY_KEYS)
    if unknown:
        raise StoreError(
            f"invalid MySQL URL {shown}: unknown parameter {unknown[0]!r}",
            code="DB_URL_INVALID",
            hint="the parameters kmsg understands: " + ", ".join(sorted(_QUERY_KEYS)),
        )
    args: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": port or DEFAULT_PORT,
        "user": unquote(parts.username or "") or None,
        "password": unquote(parts.password or ""),
        "database": database,
        "connect_timeout": DEFAULT_CONNECT_TIMEOUT_S,
    }
    if "connect_timeout" in options:
        try:
            args["connect_timeout"] = max(1, int(options["connect_timeout"]))
        except ValueError:
            raise StoreError(
                f"invalid MySQL URL {shown}: connect_timeout must be a number of seconds",
                code="DB_URL_INVALID",
                hint=hint,
            ) from None
    if options.get("unix_socket"):
        args["unix_socket"] = options["unix_socket"]
    if options.get("ssl_ca"):
        args["ssl"] = {"ca": options["ssl_ca"]}
    return args


def server_has_skip_locked(version: str) -> bool:
    """Whether a server of this `SELECT VERSION()` has FOR UPDATE SKIP LOCKED."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("-")[0])[:3]]
    numbers += [0] * (3 - len(numbers))
    if "mariadb" in version.lower():
        return tuple(numbers[:2]) >= (10, 6)
    return tuple(numbers) >= (8, 0, 1)


def _rolled_back(conn: Connection, transaction: bool) -> bool:
    """Roll back after a failure; False when the connection is no longer usable."""
    if not transaction:
        return True
    try:
        conn.rollback()
    except pymysql.err.Error:
        return False
    return True


class MysqlStore(ServerStore):
    """A `Store` in a MySQL 8 or MariaDB database (PyMySQL with a small pool)."""

    dialect = DIALECT
    engine = "MySQL"
    scheme = "mysql"

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
        attempts: int = DEFAULT_ATTEMPTS,
        skip_locked: bool | None = None,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self._args = parse_url(url)
        super().__init__(url, attempts=attempts, secrets=[self._args["password"]])
        # One direct connection first: a wrong URL, an unreachable server or a refused login
        # fails here at once with the server's reason.
        try:
            probe = self._connect()
        except pymysql.err.Error as exc:
            raise self._open_failed(exc) from None
        try:
            with probe.cursor() as cursor:
                cursor.execute("SELECT VERSION()")
                row = cursor.fetchone()
        except pymysql.err.Error as exc:
            probe.close()
            raise self._open_failed(exc) from None
        self.server_version = str(row[0]) if row else ""
        if "mariadb" in self.server_version.lower():
            self.engine = "MariaDB"
        detected = server_has_skip_locked(self.server_version)
        self.skip_locked = detected if skip_locked is None else skip_locked
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            self._connect, pool_size, pool_timeout_s, ping=lambda conn: conn.ping(reconnect=False)
        )
        self._pool.adopt(probe)

    def _connect(self) -> Connection:
        conn: Connection = pymysql.connect(
            **self._args,
            charset="utf8mb4",
            autocommit=True,
            client_flag=CLIENT.FOUND_ROWS,
        )
        try:
            with conn.cursor() as cursor:
                for statement in _SESSION_SETUP:
                    cursor.execute(statement)
        except BaseException:
            conn.close()
            raise
        return conn

    # -- plumbing ----------------------------------------------------------------------------

    def _attempt(self, work: Callable[[Session], _T], transaction: bool) -> _T:
        conn = self._pool.get()
        healthy = False
        try:
            if transaction:
                conn.begin()
            result = work(DbApiSession(conn))
            if transaction:
                conn.commit()
            healthy = True
            return result
        except BaseException as exc:
            lost = isinstance(exc, Exception) and self._classify(exc) is Failure.LOST
            healthy = not lost and _rolled_back(conn, transaction)
            raise
        finally:
            self._pool.put(conn, broken=not healthy)

    def _reason(self, exc: BaseException) -> str:
        # PyMySQL's errors are (code, message) pairs: "message (error code)" reads better.
        args = exc.args
        if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
            return super()._reason(RuntimeError(f"{args[1]} (error {args[0]})"))
        return super()._reason(exc)

    def _classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, PoolTimeout):
            return Failure.UNAVAILABLE  # every pooled connection stayed busy
        if isinstance(exc, PoolClosed):
            return Failure.CLOSED
        if not isinstance(exc, pymysql.err.MySQLError):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        if isinstance(exc, pymysql.err.InterfaceError) or code in _GONE_ERRORS:
            return Failure.LOST
        if code in _RACE_ERRORS:
            return Failure.TRANSIENT
        return Failure.QUERY

    def _recheck(self) -> None:
        self._pool.recheck()

    def _insert_rows(self, s: Session, table: str, rows: Sequence[Params]) -> int:
        """Insert the rows whose key is not in the table yet (see the module doc)."""
        key, columns, _json = INSERTED[table]
        fresh: dict[str, Params] = {}
        for row in rows:
            fresh.setdefault(str(row[key]), row)
        for chunk in chunked(list(fresh)):
            marks, bound = self._in("k", chunk)
            found = s.execute(f"SELECT {q(key)} FROM {q(table)} WHERE {q(key)} IN {marks}", bound)
            for (existing,) in found.rows:
                fresh.pop(str(existing), None)
        if not fresh:
            return 0
        names = ", ".join(q(c) for c in columns)
        values = ", ".join(self.dialect.p(c) for c in columns)
        sql = f"INSERT INTO {q(table)} ({names}) VALUES ({values})"
        s.executemany(sql, list(fresh.values()))
        return len(fresh)

    def _lock_claims(self, s: Session, which: str) -> None:
        """Without SKIP LOCKED: take turns by locking one row of kmsg_state."""
        s.execute(
            f'INSERT INTO {q(STATE_TABLE)} ("name", "value") VALUES (%(name)s, 0) '
            'ON DUPLICATE KEY UPDATE "value" = "value"',
            {"name": _CLAIM_LOCKS[which]},
        )

    def _claim_job_rows(self, params: dict[str, Any], batch: str | None) -> list[Sequence[Any]]:
        select = _due_jobs(
            by_batch=batch is not None,
            by_providers=params.get("providers") is not None,
            skip_locked=self.skip_locked,
        )
        update = f'UPDATE {JOBS} SET {DIALECT.claim_set()} WHERE "id" IN'

        def work(s: Session) -> list[Sequence[Any]]:
            if not self.skip_locked:
                self._lock_claims(s, "jobs")
            ids: list[str] = []
            for level in _levels(s):
                want = params["limit"] - len(ids)
                if want <= 0:
                    break
                found = s.execute(select, {**params, "level": level, "want": want}).rows
                ids += [str(job_id) for (job_id,) in found]
            return self._update_and_read(s, update, SELECT_JOB, "id", ids, params)

        return self._run(work, transaction=True)

    def _next_due(self, s: Session, batch: str | None, providers: str | None = None) -> Any:
        first = f'SELECT MIN("process_at") FROM {JOBS} WHERE "status" = %(pending)s '
        first += f'AND "priority" = %(level)s{self._and_batch(batch)}'
        first += self._and_providers(providers)
        params = {"pending": PENDING, "batch": batch, "providers": providers}
        found = [s.execute(first, {**params, "level": level}).scalar() for level in _levels(s)]
        return min((value for value in found if value is not None), default=None)

    def _claim_tracking_rows(
        self, params: dict[str, Any], provider_id: str | None
    ) -> list[Sequence[Any]]:
        select = _due_rows(
            by_provider=provider_id is not None,
            by_providers=params.get("providers") is not None,
            skip_locked=self.skip_locked,
        )
        update = f'UPDATE {TRACKING} SET "next_check_at" = %(lease_until)s WHERE "message_id" IN'

        def work(s: Session) -> list[Sequence[Any]]:
            if not self.skip_locked:
                self._lock_claims(s, "tracking")
            candidates: list[tuple[int, str]] = []
            for status in TRACKING_DUE_STATUSES:
                found = s.execute(select, {**params, "due": status}).rows
                candidates += [(int(when), str(message_id)) for message_id, when in found]
            ids = [message_id for _when, message_id in sorted(candidates)[: params["limit"]]]
            return self._update_and_read(s, update, SELECT_TRACKING, "message_id", ids, params)

        return self._run(work, transaction=True)

    def _update_and_read(
        self, s: Session, update: str, select: str, key: str, ids: list[str], params: Params
    ) -> list[Sequence[Any]]:
        """Update the locked ids, then read them back (MySQL has no UPDATE ... RETURNING)."""
        if not ids:
            return []
        marks, bound = self._in("k", ids)
        s.execute(f"{update} {marks}", {**params, **bound})
        return s.execute(f"{select} WHERE {q(key)} IN {marks}", bound).rows

    # -- schema ------------------------------------------------------------------------------

    def initialize(self) -> None:
        """Create what is missing (tables, indexes, kmsg_state, the version table) and record
        the version. DDL commits by itself in MySQL, so concurrent callers are serialised
        with GET_LOCK instead of one transaction; when everything exists no DDL runs."""
        self._run(self._initialize)

    def _initialize(self, s: Session) -> None:
        if not s.execute("SELECT GET_LOCK(%(name)s, 60)", {"name": _INIT_LOCK}).scalar():
            raise StoreError(
                f"{self.engine} database {self._display}: another kmsg is creating the schema",
                code="DB_LOCKED",
                hint="try again in a minute",
            )
        try:
            version, rows = self._version_rows(s)
            if version > SCHEMA_VERSION:
                raise self._too_new(version, SCHEMA_VERSION)
            collation = mysql_collation(self.server_version)
            present = self._all_index_names(s)
            statements = ddl_statements("mysql", collation=collation)
            statements += state_statements("mysql", collation=collation)
            for statement in statements:
                # MySQL has no CREATE INDEX IF NOT EXISTS: only the missing ones are created.
                if not statement.startswith("CREATE INDEX") or statement.split("`")[1] not in (
                    present
                ):
                    s.execute(statement)
            if BATCH_INDEX not in present:
                self._add_batch_index(s)
            self._record_version(s, version, rows)
        finally:
            s.execute("SELECT RELEASE_LOCK(%(name)s)", {"name": _INIT_LOCK})

    def _add_batch_index(self, s: Session) -> None:
        """The generated column and its index (schema.batch_index_statement); only the index
        when the column is there already. A large table is read once."""
        if BATCH_COLUMN in self._table_columns(s, JOBS_TABLE):
            s.execute(f"CREATE INDEX {q(BATCH_INDEX)} ON {JOBS} ({q(BATCH_COLUMN)})")
        else:
            s.execute(batch_index_statement("mysql"))

    def describe(self) -> str:
        """`MariaDB mysql://user:****@host/db (10.11.6, SKIP LOCKED claims)`."""
        claims = "SKIP LOCKED claims" if self.skip_locked else "claims one at a time"
        return f"{super().describe()} ({self.server_version.split('-')[0]}, {claims})"

    def claim_method(self) -> str:
        """How claims exclude each other here, with the server's version."""
        if self.skip_locked:
            return f"FOR UPDATE SKIP LOCKED ({self.engine} {self.server_version})"
        return (
            f"one claim at a time through a lock row ({self.engine} {self.server_version} has "
            "no SKIP LOCKED: correct, but slower with many workers; MySQL 8.0+ or MariaDB "
            "10.6+ lets claimers skip each other's rows)"
        )

    def close(self) -> None:
        """Close the pool; later calls raise DB_CLOSED, a second close does nothing."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()

    # -- what `kmsg db check` reads (kmsg_cli.store.inspect) ---------------------------------

    def _table_columns(self, s: Session, table: str) -> tuple[str, ...]:
        rows = s.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
            "AND table_name = %(t)s ORDER BY ordinal_position",
            {"t": table},
        ).rows
        return tuple(str(name) for (name,) in rows)

    def _index_names(self, s: Session) -> frozenset[str]:
        return self._all_index_names(s) & frozenset(INDEX_NAMES)

    def _all_index_names(self, s: Session) -> frozenset[str]:
        """Every index name of this database (kmsg's own batch index included)."""
        rows = s.execute(
            "SELECT DISTINCT index_name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE()"
        ).rows
        return frozenset(str(name) for (name,) in rows)


def tracking_claim_statement(*, by_provider: bool) -> str:
    """The per-status locking SELECT of the tracking claim."""
    return _due_rows(by_provider=by_provider, skip_locked=True)


def claim_statements(*, by_batch: bool, skip_locked: bool) -> tuple[str, str, str]:
    """(the first and the next priority, the per-priority locking SELECT) of the job claim."""
    return (
        _TOP_LEVEL,
        _NEXT_LEVEL,
        _due_jobs(by_batch=by_batch, by_providers=False, skip_locked=skip_locked),
    )
