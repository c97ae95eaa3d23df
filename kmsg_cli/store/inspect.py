"""What `kmsg db check` reads from a store, apart from what the services use.

`inspector(store)` gives the read-only view `kmsg_cli.dbcheck` works with: which tables,
columns and indexes exist, the engine's own consistency checks, rows as stored (JSON columns
undecoded) and the two cross-row queries. Nothing here creates or changes anything
(docs/storage.md, "Consistency checks").
"""

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from kmsg_cli.models import JobStatus
from kmsg_cli.store.contract import Store
from kmsg_cli.store.dialect import q
from kmsg_cli.store.rows import JOB_JSON_COLUMNS, TRACKING_JSON_COLUMNS
from kmsg_cli.store.schema import (
    CONTENT_KEYS_TABLE,
    JOB_COLUMNS,
    JOBS_TABLE,
    STATE_TABLE,
    TRACKING_COLUMNS,
    TRACKING_TABLE,
)
from kmsg_cli.store.session import JOBS, TRACKING, Session


class SchemaInfo(NamedTuple):
    """kmsg's tables that exist with their column names, kmsg's index names that exist, and
    the recorded schema version (0 when none)."""

    tables: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    indexes: frozenset[str] = frozenset()
    version: int = 0


class Inspector(Protocol):
    """The read-only queries of `kmsg db check`."""

    def schema_info(self) -> SchemaInfo:
        """Which of kmsg's tables (with their columns) and indexes exist, and the recorded
        schema version. Unlike `Store.initialize`, it creates nothing."""
        ...

    def engine_check(self) -> dict[str, list[str]] | None:
        """The engine's own consistency checks, each with the problems it reports (an empty
        list when it passes): SQLite's `PRAGMA integrity_check` and `foreign_key_check`.
        None when the engine has no such check to run (PostgreSQL and MySQL verify their
        pages themselves)."""
        ...

    def claim_method(self) -> str:
        """How concurrent claimers exclude each other on this database, for people."""
        ...

    def iter_raw(self, table: str, *, chunk: int = 1000) -> Iterator[dict[str, Any]]:
        """Every row of `kmsg_jobs` or `kmsg_delivery_tracking` as stored: column name ->
        value, JSON columns as their text, not decoded (a broken value is reported, not
        raised). Keyset pagination on the primary key. ValueError for another table or a
        chunk that is not positive."""
        ...

    def duplicate_provider_message_ids(
        self, *, limit: int = 5
    ) -> tuple[int, list[tuple[str, str, list[str]]]]:
        """Non-empty (provider_id, provider_message_id) pairs held by more than one tracking
        row: (how many such pairs, up to `limit` of them as (provider, id, message ids))."""
        ...

    def completed_jobs_without_tracking(self, *, limit: int = 5) -> tuple[int, list[str]]:
        """Completed jobs of type 'send' without a tracking row of the same id: (how many, up
        to `limit` of their ids, in id order)."""
        ...


def inspector(store: Store) -> Inspector:
    """The `db check` view of a store opened by `open_store`."""
    return SqlInspector(store)


class SqlInspector:
    """`Inspector` written once over a `SqlStore` and the few hooks its engine provides."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = store.dialect

    def schema_info(self) -> SchemaInfo:
        """kmsg's tables and their columns, kmsg's indexes, the recorded version."""
        store = self.store

        def work(s: Session) -> SchemaInfo:
            tables: dict[str, tuple[str, ...]] = {}
            for table in (TRACKING_TABLE, JOBS_TABLE, STATE_TABLE, CONTENT_KEYS_TABLE):
                columns = store._table_columns(s, table)
                if columns:
                    tables[table] = columns
            indexes = store._index_names(s)
            return SchemaInfo(tables=tables, indexes=indexes, version=store._recorded_version(s))

        return store._run(work)

    def engine_check(self) -> dict[str, list[str]] | None:
        """The engine's own checks (SQLite), or None."""
        return self.store._engine_check()

    def claim_method(self) -> str:
        """How claims exclude each other on this database."""
        return self.store.claim_method()

    def iter_raw(self, table: str, *, chunk: int = 1000) -> Iterator[dict[str, Any]]:
        """Rows as stored (JSON columns as text), primary-key order, `chunk` at a time."""
        if chunk <= 0:
            raise ValueError("chunk must be positive")
        if table == JOBS_TABLE:
            columns, key, json_columns = JOB_COLUMNS, "id", JOB_JSON_COLUMNS
        elif table == TRACKING_TABLE:
            columns, key, json_columns = TRACKING_COLUMNS, "message_id", TRACKING_JSON_COLUMNS
        else:
            raise ValueError(f"iter_raw reads {JOBS_TABLE} or {TRACKING_TABLE}, not {table!r}")
        # The key first, so that the pager finds it; the rows are given by column name.
        names = [key, *columns]
        select = "SELECT " + ", ".join(
            f"{self.dialect.as_text(q(c))} AS {q(c)}" if c in json_columns else q(c) for c in names
        )
        select += f" FROM {q(table)}"
        for values in self.store._pages(select, key, [], {}, chunk):
            yield dict(zip(names[1:], values[1:], strict=True))

    def duplicate_provider_message_ids(
        self, *, limit: int = 5
    ) -> tuple[int, list[tuple[str, str, list[str]]]]:
        """Non-empty provider message ids held by several rows of one provider."""
        d, p = self.dialect, self.dialect.p
        groups = (
            f'SELECT "provider_id", "provider_message_id" FROM {TRACKING} '
            "WHERE \"provider_message_id\" <> '' "
            'GROUP BY "provider_id", "provider_message_id" HAVING COUNT(*) > 1'
        )
        order = f"{d.ids(q('provider_id'))}, {d.ids(q('provider_message_id'))}"
        ids = (
            f'SELECT "message_id" FROM {TRACKING} WHERE "provider_id" = {p("provider")} '
            f'AND "provider_message_id" = {p("pmid")} '
            f"ORDER BY {d.ids(q('message_id'))} LIMIT {p('limit')}"
        )
        wanted = max(0, limit)

        def work(s: Session) -> tuple[int, list[tuple[str, str, list[str]]]]:
            count = s.execute(f"SELECT COUNT(*) FROM ({groups}) AS d").scalar()
            pairs = s.execute(f"{groups} ORDER BY {order} LIMIT {p('limit')}", {"limit": wanted})
            found = []
            for provider_id, provider_message_id in pairs.rows:
                params = {"provider": provider_id, "pmid": provider_message_id, "limit": wanted}
                names = [str(message_id) for (message_id,) in s.execute(ids, params).rows]
                found.append((str(provider_id), str(provider_message_id), names))
            return int(count or 0), found

        return self.store._run(work)

    def completed_jobs_without_tracking(self, *, limit: int = 5) -> tuple[int, list[str]]:
        """Completed 'send' jobs that have no tracking row of their id."""
        d, p = self.dialect, self.dialect.p
        orphans = (
            f'FROM {JOBS} AS j WHERE j."status" = {p("completed")} AND j."type" = {p("type")} '
            f'AND NOT EXISTS (SELECT 1 FROM {TRACKING} AS t WHERE t."message_id" = j."id")'
        )
        params = {"completed": JobStatus.COMPLETED.value, "type": "send", "limit": max(0, limit)}

        by_id = d.ids('j."id"')

        def work(s: Session) -> tuple[int, list[str]]:
            count = s.execute(f"SELECT COUNT(*) {orphans}", params).scalar()
            ids = s.execute(
                f'SELECT j."id" {orphans} ORDER BY {by_id} LIMIT {p("limit")}', params
            ).rows
            return int(count or 0), [str(job_id) for (job_id,) in ids]

        return self.store._run(work)
