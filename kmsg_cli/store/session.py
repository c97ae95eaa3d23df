"""The unit-of-work plumbing every SQL engine shares: a `Session` over one connection, and
`SqlBase`, which the parts of `SqlStore` build on (engine hooks, transactions, IN lists, keyset
paging).

An engine runs a unit of work with `_run(work)`: one connection, inside a transaction when
asked, errors mapped and transient failures retried as the engine sees fit. Nothing from the
caller is ever formatted into SQL: values are bound as named parameters; only our own constants
(table, column and JSON key names) are written into statements (docs/storage.md, "Engines").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from kmsg_cli.models import JobStatus
from kmsg_cli.store.dialect import Dialect, q
from kmsg_cli.store.rows import JOB_JSON_COLUMNS, MAX_IN_PARAMS, TRACKING_JSON_COLUMNS, chunked
from kmsg_cli.store.schema import (
    JOB_COLUMNS,
    JOBS_TABLE,
    STATE_COLUMNS,
    STATE_TABLE,
    TRACKING_COLUMNS,
    TRACKING_TABLE,
)

_T = TypeVar("_T")
Params = Mapping[str, Any]

JOBS = q(JOBS_TABLE)
TRACKING = q(TRACKING_TABLE)
JOB_LIST = ", ".join(q(c) for c in JOB_COLUMNS)
TRACKING_LIST = ", ".join(q(c) for c in TRACKING_COLUMNS)
SELECT_JOB = f"SELECT {JOB_LIST} FROM {JOBS}"
SELECT_TRACKING = f"SELECT {TRACKING_LIST} FROM {TRACKING}"

PENDING = JobStatus.PENDING.value
PROCESSING = JobStatus.PROCESSING.value
COMPLETED = JobStatus.COMPLETED.value
FAILED = JobStatus.FAILED.value
CANCELLED = JobStatus.CANCELLED.value


class Result:
    """What one statement gave: its rows (all fetched) and how many rows it changed."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Sequence[Any]], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> Sequence[Any] | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


class Session(Protocol):
    """One connection lent to a unit of work (`SqlStore._run`)."""

    def execute(self, sql: str, params: Params | None = None) -> Result:
        """Run one statement; its rows are fetched at once."""
        ...

    def executemany(self, sql: str, rows: Sequence[Params]) -> int:
        """Run one statement per parameter set; returns the rows changed in all."""
        ...

    def rowcounts(self, sql: str, rows: Sequence[Params]) -> list[int]:
        """Run one statement per parameter set; returns the rows each one changed."""
        ...


class DbApiSession:
    """A `Session` over any DB-API 2 connection (sqlite3, psycopg, PyMySQL)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Params | None = None) -> Result:
        cursor = self.conn.cursor()
        try:
            if params is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, params)
            rows = list(cursor.fetchall()) if cursor.description is not None else []
            return Result(rows, int(cursor.rowcount))
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: Sequence[Params]) -> int:
        if not rows:
            return 0
        cursor = self.conn.cursor()
        try:
            cursor.executemany(sql, rows)
            return max(int(cursor.rowcount), 0)
        finally:
            cursor.close()

    def rowcounts(self, sql: str, rows: Sequence[Params]) -> list[int]:
        cursor = self.conn.cursor()  # one cursor for every parameter set
        try:
            counts = []
            for params in rows:
                cursor.execute(sql, params)
                counts.append(int(cursor.rowcount))
            return counts
        finally:
            cursor.close()


@lru_cache(maxsize=64)
def _in_marks(dialect: Dialect, prefix: str, count: int) -> tuple[str, tuple[str, ...]]:
    """The IN list `(prefix0, prefix1, ...)` of `count` placeholders, and their names: made
    once per size (the full lists of MAX_IN_PARAMS come again and again)."""
    names = tuple(f"{prefix}{n}" for n in range(count))
    return "(" + ", ".join(dialect.p(name) for name in names) + ")", names


def _one_in(dialect: Dialect, prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """An IN list of bound parameters `prefix0, prefix1, ...` and their values."""
    marks, names = _in_marks(dialect, prefix, len(values))
    return marks, dict(zip(names, values, strict=True))


class SqlBase:
    """What the parts of `SqlStore` share: the engine's hooks and the plumbing over them."""

    dialect: Dialect
    # True where every write needs an explicit transaction (SQLite takes its write lock with
    # BEGIN IMMEDIATE); elsewhere a lone statement runs in autocommit.
    transactional_writes = False

    # -- what an engine provides -------------------------------------------------------------

    def _run(self, work: Callable[[Session], _T], *, transaction: bool = False) -> _T:
        """Run `work` on a connection (in one transaction when asked); driver errors become
        StoreError; an engine may run it again after a transient failure."""
        raise NotImplementedError

    def initialize(self) -> None:
        """Create missing tables and indexes (idempotent) and record the schema version."""
        raise NotImplementedError

    def schema_version(self) -> int:
        """The schema version recorded in the database (0 before `initialize`)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where the data lives, for people; never a password."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the connections; calling it twice is harmless."""
        raise NotImplementedError

    def claim_method(self) -> str:
        """How concurrent claimers exclude each other on this database, for people."""
        raise NotImplementedError

    def _table_columns(self, s: Session, table: str) -> tuple[str, ...]:
        """The columns of one of kmsg's tables, () when it does not exist (`db check`)."""
        raise NotImplementedError

    def _index_names(self, s: Session) -> frozenset[str]:
        """Which of kmsg's indexes exist (`db check`)."""
        raise NotImplementedError

    def _recorded_version(self, s: Session) -> int:
        """The recorded schema version, 0 when there is none; creates nothing."""
        raise NotImplementedError

    def _engine_check(self) -> dict[str, list[str]] | None:
        """The engine's own consistency checks (`Inspector.engine_check`); None: none."""
        return None

    def _claim_job_rows(self, params: dict[str, Any], batch: str | None) -> list[Sequence[Any]]:
        """The rows (JOB_COLUMNS order) of the jobs one claim took (docs/storage.md, "Claims")."""
        sql = self.dialect.claim_jobs_sql(
            by_batch=batch is not None, by_providers=params.get("providers") is not None
        )
        return self._write(lambda s: s.execute(sql, params).rows, single=True)

    def _claim_tracking_rows(
        self, params: dict[str, Any], provider_id: str | None
    ) -> list[Sequence[Any]]:
        """The rows (TRACKING_COLUMNS order) one tracking claim took."""
        sql = self.dialect.claim_tracking_sql(
            by_provider=provider_id is not None, by_providers=params.get("providers") is not None
        )
        return self._write(lambda s: s.execute(sql, params).rows, single=True)

    # -- plumbing ----------------------------------------------------------------------------

    def _write(self, work: Callable[[Session], _T], *, single: bool = False) -> _T:
        """A write: in a transaction unless it is one statement and the engine allows that."""
        return self._run(work, transaction=self.transactional_writes or not single)

    def _in(self, prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        return _one_in(self.dialect, prefix, values)

    def _ids_in(self, prefix: str, ids: Sequence[str]) -> tuple[str, dict[str, Any]]:
        """The IN list of one chunk (at most MAX_IN_PARAMS) of ids or keys, and its parameters:
        one parameter per value (`_in`) unless the engine binds such lists otherwise."""
        return self._in(prefix, ids)

    def _by_ids(
        self, select: str, key: str, ids: Sequence[str]
    ) -> Callable[[Session], list[Sequence[Any]]]:
        def work(s: Session) -> list[Sequence[Any]]:
            rows: list[Sequence[Any]] = []
            for chunk in chunked(list(dict.fromkeys(ids))):
                marks, params = self._ids_in("k", chunk)
                rows += s.execute(f"{select} WHERE {q(key)} IN {marks}", params).rows
            return rows

        return work

    def _changed(self, sql: str, rows: Sequence[Params], key: str) -> set[str]:
        """`sql` once per parameter set of `rows`, one transaction; the `key` values of the
        rows it changed (row counts, so no engine needs RETURNING)."""
        if not rows:
            return set()
        counts = self._write(lambda s: s.rowcounts(sql, rows))
        return {str(row[key]) for row, n in zip(rows, counts, strict=True) if n > 0}

    def _update_each_job(self, assignments: str, rows: Sequence[Params]) -> None:
        """`UPDATE kmsg_jobs SET assignments WHERE id = :id` once per parameter set of `rows`,
        one transaction; nothing when `rows` is empty."""
        if rows:
            sql = f'UPDATE {JOBS} SET {assignments} WHERE "id" = {self.dialect.p("id")}'
            self._write(lambda s: s.executemany(sql, rows))

    def _update_ids(self, sql: str, ids: Sequence[str], params: Params) -> int:
        """`sql` (ending in `"id" IN`) on every id, IN lists of MAX_IN_PARAMS, one transaction."""
        unique = list(dict.fromkeys(ids))
        if not unique:
            return 0

        def work(s: Session) -> int:
            changed = 0
            for chunk in chunked(unique):
                marks, bound = self._ids_in("k", chunk)
                changed += s.execute(f"{sql} {marks}", {**params, **bound}).rowcount
            return changed

        return self._write(work, single=len(unique) <= MAX_IN_PARAMS)

    def _pages(
        self, select: str, key: str, where: list[str], params: Params, chunk: int
    ) -> Iterator[Sequence[Any]]:
        """Keyset pagination on the primary key: each page is an index range, and nothing is
        held between pages, so the caller may write to the store meanwhile."""
        if chunk <= 0:
            raise ValueError("chunk must be positive")
        p = self.dialect.p
        after: Any = None
        while True:
            conditions = [*where, f"{q(key)} > {p('after')}"] if after is not None else where
            clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            sql = f"{select}{clause} ORDER BY {q(key)} LIMIT {p('chunk')}"
            bound = {**params, "after": after, "chunk": chunk}
            rows = self._run(_fetch(sql, bound))
            yield from rows
            if len(rows) < chunk or rows[-1][0] is None:
                return
            after = rows[-1][0]

    def _insert_rows(self, s: Session, table: str, rows: Sequence[Params]) -> int:
        """Insert rows (column name -> value) into `table` (jobs, tracking or named values),
        leaving rows whose key exists untouched; returns how many were new."""
        key, columns, json_columns = INSERTED[table]
        return s.executemany(self.dialect.insert_ignore(table, columns, key, json_columns), rows)


# The tables `_insert_rows` writes: key, columns, JSON columns.
INSERTED: dict[str, tuple[str, tuple[str, ...], frozenset[str]]] = {
    JOBS_TABLE: ("id", JOB_COLUMNS, JOB_JSON_COLUMNS),
    TRACKING_TABLE: ("message_id", TRACKING_COLUMNS, TRACKING_JSON_COLUMNS),
    STATE_TABLE: ("name", STATE_COLUMNS, frozenset()),
}


def _fetch(sql: str, params: Params) -> Callable[[Session], list[Sequence[Any]]]:
    return lambda s: s.execute(sql, params).rows
