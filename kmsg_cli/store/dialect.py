"""How one SQL engine spells what `SqlStore` needs: placeholders, JSON access, id collation,
"insert or skip", the purge's limited delete, and the two claim statements.

The defaults are the SQL/JSON-path spelling SQLite and MySQL share (`json_extract`,
`json_set`, `json_remove` on JSON kept as text); an engine overrides what it spells otherwise.
Identifiers are double-quoted everywhere (MySQL sessions run with ANSI_QUOTES). Every argument
named `column` or `expr` is SQL the store wrote itself, never caller input
(docs/storage.md, "Engines").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from kmsg_cli.store.schema import Dialect as DialectName


def q(identifier: str) -> str:
    """A double-quoted identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def _path(*keys: str) -> str:
    for key in keys:
        if not key.replace("_", "").isalnum():
            raise ValueError(f"not a plain JSON key: {key!r}")
    return "'$." + ".".join(keys) + "'"


class Dialect:
    """The SQL one engine speaks (see the module doc); subclasses live in the engine modules."""

    name: ClassVar[DialectName]
    # UPDATE/INSERT ... RETURNING: MySQL has none (MariaDB only on INSERT and DELETE).
    returning: ClassVar[bool] = True
    empty_object: ClassVar[str] = "'{}'"

    def p(self, name: str) -> str:
        """The placeholder of the named parameter `name`."""
        return f":{name}"

    def ids(self, column: str) -> str:
        """An id column as ORDER BY compares it: by bytes, whatever the database's locale."""
        return column

    def unindexed(self, column: str) -> str:
        """`column` in a condition that must not choose the index: an UPDATE of listed ids
        that also checks their status should seek each id, not walk every row of that status
        (an engine without statistics may guess the status index is the better one)."""
        return column

    def bigint(self, expr: str) -> str:
        """An integer parameter that may be NULL, typed for engines that need to know."""
        return expr

    # -- JSON --------------------------------------------------------------------------------

    def json_param(self, name: str) -> str:
        """A JSON text parameter written to a JSON column."""
        return self.p(name)

    def json_value(self, param: str) -> str:
        """A JSON text parameter as a JSON value inside `json_set`."""
        return f"json({param})"

    def json_int(self, param: str) -> str:
        """An integer parameter as a JSON number inside `json_set`."""
        return param

    def json_set(self, column: str, key: str, value: str, *more: str) -> str:
        """The object in `column` (NULL counts as {}) with top-level `key` set to `value`, and
        each further key of `more` (key, value, key, value, ...) set to the value after it: one
        call, so the object is parsed once however many keys change."""
        pairs = ", ".join(
            f"{_path(k)}, {v}" for k, v in zip((key, *more[::2]), (value, *more[1::2]), strict=True)
        )
        return f"json_set(COALESCE({column}, {self.empty_object}), {pairs})"

    def json_remove(self, column: str, *keys: str) -> str:
        """The object in `column` without `keys` (NULL stays NULL)."""
        return f"json_remove({column}, {', '.join(_path(key) for key in keys)})"

    def json_absent(self, column: str, key: str) -> str:
        """True when the object in `column` has no `key`, or a JSON null there."""
        return f"json_extract({column}, {_path(key)}) IS NULL"

    def json_text(self, column: str, *path: str) -> str:
        """The scalar at `path` of the object in `column`, as SQL text (NULL when absent)."""
        return f"json_extract({column}, {_path(*path)})"

    def json_equals_text(self, column: str, key: str, param: str) -> str:
        """True when `key` of the object in `column` is the JSON string `param`. Text that is
        not JSON matches nothing instead of failing the query; `metadata.batch` is compared
        as `idx_kmsg_jobs_batch` indexes it (schema.batch_index_statement)."""
        value = f"json_extract({column}, {_path(key)})"
        return f"CASE WHEN json_valid({column}) THEN {value} END = {param}"

    def in_list(self, expr: str, param: str) -> str:
        """True when the text `expr` is one of the JSON array of strings `param` (one
        parameter, whatever the length of the list)."""
        return f"{expr} IN (SELECT value FROM json_each({param}))"

    def of_providers(self, param: str) -> str:
        """True when the job's `data.provider` is one of the JSON array of strings `param`: a
        worker claims only the jobs of its profile's providers (docs/storage.md, "Claims")."""
        return self.in_list(self.json_text(q("data"), "provider"), param)

    def of_tracked_providers(self, *, by_provider: bool, by_providers: bool) -> str:
        """The conditions (each after AND) narrowing tracking rows to one provider (parameter
        `provider`) and to a list of them (`providers`, a JSON array): a pass under one
        profile leaves the rows of another profile's providers alone."""
        conditions = f' AND "provider_id" = {self.p("provider")}' if by_provider else ""
        if by_providers:
            conditions += f" AND {self.in_list(q('provider_id'), self.p('providers'))}"
        return conditions

    def in_batch(self, param: str, table: str = "") -> str:
        """True when the job's `metadata.batch` (of `table`, an alias such as `j.`) is the
        JSON string `param`, written so that `idx_kmsg_jobs_batch` serves it."""
        return self.json_equals_text(f'{table}"metadata"', "batch", param)

    def json_valid(self, column: str) -> str | None:
        """1 when `column` holds valid JSON, else 0 (NULL for NULL); None: no SQL test."""
        return f"json_valid({column})"

    def error_code(self, column: str) -> str:
        """`code` of a JSON error text; NULL for plain text (never a query failure)."""
        return f"CASE WHEN json_valid({column}) THEN {self.json_text(column, 'code')} END"

    def as_text(self, column: str) -> str:
        """A JSON column as the text it stores (`kmsg db check` reads it undecoded)."""
        return column

    # -- statements ----------------------------------------------------------------------------

    def insert_ignore(
        self, table: str, columns: Iterable[str], key: str, json_columns: Iterable[str]
    ) -> str:
        """INSERT of one row that leaves an existing `key` untouched (and counts it as 0)."""
        names = list(columns)
        json_names = set(json_columns)
        values = ", ".join(
            self.json_param(name) if name in json_names else self.p(name) for name in names
        )
        column_list = ", ".join(q(name) for name in names)
        return (
            f"INSERT INTO {q(table)} ({column_list}) VALUES ({values}) "
            f"ON CONFLICT ({q(key)}) DO NOTHING"
        )

    def add_on_conflict(self, table: str, key: str, column: str) -> str:
        """The tail of an INSERT of (key, n) that adds n to the existing row's `column`."""
        return (
            f"ON CONFLICT ({q(key)}) DO UPDATE "
            f"SET {q(column)} = {q(table)}.{q(column)} + excluded.{q(column)}"
        )

    def limited(self, key: str, subquery: str) -> str:
        """`key` among the ids a `SELECT key ... LIMIT n` subquery yields (purge's chunks)."""
        return f"{key} IN ({subquery})"

    def pending_levels(self) -> str:
        """A recursive CTE `levels(p)`: the distinct priorities of pending jobs, highest first,
        each found by one seek in idx_kmsg_jobs_dequeue(status, priority, process_at,
        created_at) (a loose index scan). The dequeue order mixes priority DESC with process_at
        ASC, which no single scan of that index yields: ORDER BY over all due jobs would read
        and sort every one of them, so claims visit the priorities one by one instead."""
        jobs, pending = q("kmsg_jobs"), self.p("pending")
        return f"""levels(p) AS (
  SELECT MAX("priority") FROM {jobs} WHERE "status" = {pending}
  UNION ALL
  SELECT (SELECT MAX("priority") FROM {jobs} WHERE "status" = {pending} AND "priority" < levels.p)
  FROM levels WHERE levels.p IS NOT NULL
)"""

    def next_due_sql(self, and_batch: str) -> str:
        """The smallest process_at of pending jobs (AND `and_batch`, which may also narrow them
        to some providers): one seek per priority."""
        return f"""WITH RECURSIVE {self.pending_levels()}
SELECT MIN((SELECT MIN("process_at") FROM {q("kmsg_jobs")}
  WHERE "status" = {self.p("pending")} AND "priority" = levels.p{and_batch}))
FROM levels"""

    def owned(self) -> str:
        """The job's metadata with `owner` set to the `owner` parameter (JSON text): a claim
        or a take-over of its lease."""
        return self.json_set(q("metadata"), "owner", self.json_value(self.p("owner")))

    def claim_set(self) -> str:
        """The SET list of every job claim: processing (parameter `processing`), one attempt
        more, leased until `lease_until`, owned (see `owned`), and no in_flight mark left by
        an earlier attempt."""
        p = self.p
        return (
            f'"status" = {p("processing")}, "attempts" = "attempts" + 1, '
            f'"process_at" = {p("lease_until")}, '
            f'"metadata" = {self.json_remove(self.owned(), "in_flight")}'
        )

    def claim_jobs_sql(self, *, by_batch: bool, by_providers: bool = False) -> str:
        """The job claim as one UPDATE ... RETURNING (engines with RETURNING only)."""
        raise NotImplementedError

    def claim_tracking_sql(self, *, by_provider: bool, by_providers: bool = False) -> str:
        """The tracking claim as one UPDATE ... RETURNING (engines with RETURNING only)."""
        raise NotImplementedError
