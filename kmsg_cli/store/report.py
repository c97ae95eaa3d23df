"""The aggregate queries behind `kmsg report`, written once in SQL for every engine.

`report_queries(store)` gives the read side (`SqlReports`): one grouped pass over the selected
tracking rows (statuses, failure codes, latency buckets, failover outcomes, what is due), one
over the selected jobs (what never became a tracking row), the latency percentiles, and the
delivery timeline. Everything is counted by the database; Python only receives the groups,
a few dozen rows whatever the number of messages (docs/report.md, "How it is computed").

It also keeps what only send-many knows: the input counts of a batch (rows read, valid,
invalid) and when it started, in kmsg's own `kmsg_state` table, because invalid rows never
reach the job ledger.

The SQL is portable on purpose (SQLite, PostgreSQL, MySQL/MariaDB): plain GROUP BY, CASE,
ROW_NUMBER() and ORDER BY ... LIMIT; no FILTER clause, no percentile functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from kmsg_cli.models import DeliveryStatus, JobStatus
from kmsg_cli.store.contract import Store
from kmsg_cli.store.dialect import Dialect, q
from kmsg_cli.store.rows import json_list
from kmsg_cli.store.schema import STATE_TABLE
from kmsg_cli.store.session import JOBS, TRACKING, Session

# Upper bounds (exclusive, ms) of the latency buckets; a last bucket holds everything above.
LATENCY_BOUNDS_MS: tuple[int, ...] = (
    1_000,
    5_000,
    10_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    1_800_000,
    3_600_000,
    10_800_000,
    86_400_000,
)

_STATE = q(STATE_TABLE)
_BATCH_KEYS = ("rows", "valid", "invalid", "skipped", "started", "updated")
_DELIVERED = DeliveryStatus.DELIVERED.value
_FAILED = DeliveryStatus.FAILED.value
_UNKNOWN = DeliveryStatus.UNKNOWN.value
_TRACKED = (DeliveryStatus.PENDING.value, DeliveryStatus.SENT.value)
_OPEN_JOBS = (
    JobStatus.PENDING.value,
    JobStatus.PROCESSING.value,
    JobStatus.FAILED.value,
    JobStatus.CANCELLED.value,
)


@dataclass(frozen=True)
class Selection:
    """Which messages a report covers: a send-many batch and/or the `track list` filters.

    since_ms/until_ms bound requested_at (inclusive) of tracking rows and created_at of jobs;
    `to` is compared with the stored number as is (normalize it first). `providers`: only the
    messages of these provider ids (the profile's: profiles may share a database).
    """

    batch: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    provider_id: str | None = None
    type: str | None = None
    to: str | None = None
    providers: tuple[str, ...] | None = None

    @property
    def narrowed(self) -> bool:
        """True when filters other than the batch apply (a batch's input counts then do not)."""
        values = (self.since_ms, self.until_ms, self.provider_id, self.type, self.to)
        return any(value is not None for value in values)


@dataclass(frozen=True)
class BatchInput:
    """What send-many read for a batch; None where it was not recorded (older batches)."""

    batch: str
    rows: int | None = None
    valid: int | None = None
    invalid: int | None = None
    skipped: int | None = None  # valid rows not sent: repeats of other messages
    started_ms: int | None = None
    updated_ms: int | None = None


@dataclass(frozen=True)
class TrackingGroup:
    """One group of selected tracking rows that agree on every dimension below.

    `code` is the provider's status code of FAILED rows and the `last_error` code of UNKNOWN
    rows (None otherwise); `latency_bucket` indexes LATENCY_BOUNDS_MS for DELIVERED rows with a
    delivery time; the failover fields come from `metadata.failover`; `due` marks PENDING/SENT
    rows whose next check time has come.
    """

    provider_id: str
    type: str
    status: str
    code: str | None
    latency_bucket: int | None
    failover_type: str | None
    failover_path: str | None
    failover_outcome: str | None
    due: bool
    count: int
    message: str | None  # one provider status message of the group (FAILED rows)
    latency_sum_ms: int  # sum of the latencies of the group (DELIVERED rows)
    latency_max_ms: int | None
    next_check_ms: int | None  # the earliest next check of the group (PENDING/SENT rows)
    first_done_ms: int | None  # earliest/latest delivered_at or failed_at
    last_done_ms: int | None


@dataclass(frozen=True)
class JobGroup:
    """Selected jobs that agree on status, planned provider, type and error codes."""

    status: str
    provider_id: str | None
    type: str | None
    code: str | None  # kmsg's error code (failed jobs)
    provider_code: str | None  # the vendor's own code, when it gave one
    count: int
    error: str | None  # one error text of the group


Group = TypeVar("Group", TrackingGroup, JobGroup)


def report_queries(store: Store) -> SqlReports:
    """The report queries of a store opened by `open_store`."""
    return SqlReports(store)


def latency_sql(alias: str = "t") -> str:
    """Milliseconds from acceptance (or the scheduled time, when later) to delivery, never
    negative (a vendor clock a little behind ours would make it so)."""
    # A scheduled message is accepted before its time: it is late only after that time.
    raw = f'{alias}."delivered_at" - COALESCE({alias}."scheduled_at", {alias}."requested_at")'
    return f"CASE WHEN {raw} < 0 THEN 0 ELSE {raw} END"


def bucket_sql(latency: str, low: int = 0, high: int = len(LATENCY_BOUNDS_MS)) -> str:
    """The index of the latency bucket (LATENCY_BOUNDS_MS) of `latency`, by bisection: about
    four comparisons per row instead of thirteen."""
    if low == high:
        return str(low)
    middle = (low + high) // 2
    below = bucket_sql(latency, low, middle)
    above = bucket_sql(latency, middle + 1, high)
    return f"CASE WHEN {latency} < {LATENCY_BOUNDS_MS[middle]:d} THEN {below} ELSE {above} END"


def _error_key(d: Dialect, column: str, key: str) -> str:
    """`key` of the JSON object kept as text in `column` (kmsg_jobs.error); NULL for plain
    text, never a query failure (as `Dialect.error_code` does for `code`)."""
    valid = d.json_valid(column)
    if valid is not None:
        return f"CASE WHEN {valid} THEN {d.json_text(column, key)} END"
    # PostgreSQL has no validity test before 16: parse only what looks like an object.
    return f"(CASE WHEN {column} ~ '^\\s*[{{]' THEN CAST({column} AS jsonb) ->> '{key}' END)"


class SqlReports:
    """The report's queries over one `SqlStore` (see the module doc)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = store.dialect

    # -- batch input counts (kmsg_state) ---------------------------------------------------------

    @staticmethod
    def _name(key: str, batch: str) -> str:
        return f"batch.{key}:{batch}"

    def record_batch(
        self, batch: str, *, rows: int, valid: int, invalid: int, skipped: int = 0, now_ms: int
    ) -> None:
        """Record a send-many run's input counts, in one transaction: rows/valid/invalid/skipped
        and `updated` are this run's; `started` is kept from the batch's first run."""
        p = self.dialect.p
        values = {
            "rows": rows,
            "valid": valid,
            "invalid": invalid,
            "skipped": skipped,
            "updated": now_ms,
        }
        names = [self._name(key, batch) for key in values]
        marks, bound = self.store._in("n", names)
        delete = f'DELETE FROM {_STATE} WHERE "name" IN {marks}'
        insert = f'INSERT INTO {_STATE} ("name", "value") VALUES ({p("name")}, {p("value")})'
        keep_first = self.dialect.insert_ignore(STATE_TABLE, ("name", "value"), "name", ())
        fresh = [{"name": self._name(k, batch), "value": v} for k, v in values.items()]
        started = {"name": self._name("started", batch), "value": now_ms}

        def work(s: Session) -> None:
            s.execute(delete, bound)
            s.executemany(insert, fresh)
            s.execute(keep_first, started)

        self.store._write(work)

    def batch_input(self, batch: str) -> BatchInput | None:
        """The recorded input counts of a batch, or None when none were recorded."""
        names = {self._name(key, batch): key for key in _BATCH_KEYS}
        marks, bound = self.store._in("n", list(names))
        sql = f'SELECT "name", "value" FROM {_STATE} WHERE "name" IN {marks}'
        found = {names[str(name)]: int(value) for name, value in self._rows(sql, bound)}
        if not found:
            return None
        return BatchInput(
            batch=batch,
            rows=found.get("rows"),
            valid=found.get("valid"),
            invalid=found.get("invalid"),
            skipped=found.get("skipped"),
            started_ms=found.get("started"),
            updated_ms=found.get("updated"),
        )

    def recent_batches(self, limit: int = 5) -> list[str]:
        """Recorded batches, the most recently run first."""
        p = self.dialect.p
        prefix = self._name("updated", "")
        # A range on the primary key: every name that starts with the prefix (":" + 1 = ";").
        sql = (
            f'SELECT "name" FROM {_STATE} WHERE "name" > {p("low")} AND "name" < {p("high")} '
            f'ORDER BY "value" DESC, {self.dialect.ids(q("name"))} DESC LIMIT {p("limit")}'
        )
        params = {"low": prefix, "high": prefix[:-1] + ";", "limit": max(0, limit)}
        return [str(name)[len(prefix) :] for (name,) in self._rows(sql, params)]

    def batch_has_provider(self, batch: str, providers: Sequence[str]) -> bool:
        """Whether a job of the batch is of one of `providers` (reads the batch's jobs, through
        its index, up to the first that is)."""
        d, p = self.dialect, self.dialect.p
        provider = d.in_list(d.json_text(q("data"), "provider"), p("providers"))
        sql = f"SELECT 1 FROM {JOBS} WHERE {d.in_batch(p('batch'))} AND {provider} LIMIT 1"
        return bool(self._rows(sql, {"batch": batch, "providers": json_list(providers)}))

    def last_batch_from_jobs(self, *, exclude: Sequence[str] = ()) -> str | None:
        """The batch of the newest send job that has one (databases from before batches were
        recorded); reads the whole job table, so `recent_batches` comes first."""
        d, p = self.dialect, self.dialect.p
        batch = d.json_text(q("metadata"), "batch")
        conditions = [f'"type" = {p("send")}', f"{batch} IS NOT NULL"]
        params: dict[str, Any] = {"send": "send"}
        if exclude:
            marks, bound = self.store._in("x", list(exclude))
            conditions.append(f"{batch} NOT IN {marks}")
            params.update(bound)
        sql = (
            f"SELECT {batch} FROM {JOBS} WHERE {' AND '.join(conditions)} "
            f'ORDER BY "created_at" DESC, {d.ids(q("id"))} DESC LIMIT 1'
        )
        rows = self._rows(sql, params)
        return str(rows[0][0]) if rows else None

    # -- the selection ---------------------------------------------------------------------------

    def _tracking_from(self, selection: Selection) -> tuple[str, dict[str, Any]]:
        """FROM ... WHERE of the selected tracking rows (alias t), and its parameters."""
        d, p = self.dialect, self.dialect.p
        source = f"{TRACKING} AS t"
        conditions: list[str] = []
        params: dict[str, Any] = {}
        if selection.batch is not None:
            source += f' JOIN {JOBS} AS j ON j."id" = t."message_id"'
            conditions.append(d.in_batch(p("batch"), "j."))
            params["batch"] = selection.batch
        for column, value in (
            ("provider_id", selection.provider_id),
            ("type", selection.type),
            ("to", selection.to),
        ):
            if value is not None:
                conditions.append(f"t.{q(column)} = {p('t_' + column)}")
                params["t_" + column] = value
        if selection.providers is not None:
            conditions.append(d.in_list('t."provider_id"', p("t_providers")))
            params["t_providers"] = json_list(selection.providers)
        self._window('t."requested_at"', selection, conditions, params)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f"FROM {source}{where}", params

    def _jobs_from(self, selection: Selection, *, completed: bool) -> tuple[str, dict[str, Any]]:
        """FROM ... WHERE of the selected jobs (alias j): the jobs of the batch, or the send
        jobs created in the window; completed ones only when asked (a completed job is a
        tracking row, counted there). Without them the status index finds the few others."""
        d, p = self.dialect, self.dialect.p
        data = 'j."data"'
        conditions: list[str] = []
        params: dict[str, Any] = {}
        if selection.batch is not None:
            conditions.append(d.in_batch(p("batch"), "j."))
            params["batch"] = selection.batch
        else:
            conditions.append(f'j."type" = {p("send")}')
            params["send"] = "send"
        if not completed or selection.batch is None:
            marks, bound = self.store._in("open", _OPEN_JOBS)
            conditions.append(f'j."status" IN {marks}')
            params.update(bound)
        for path, value in (
            (("provider",), selection.provider_id),
            (("message", "type"), selection.type),
            (("message", "to"), selection.to),
        ):
            if value is not None:
                name = "j_" + "_".join(path)
                conditions.append(f"{d.json_text(data, *path)} = {p(name)}")
                params[name] = value
        if selection.providers is not None:
            conditions.append(d.in_list(d.json_text(data, "provider"), p("j_providers")))
            params["j_providers"] = json_list(selection.providers)
        self._window('j."created_at"', selection, conditions, params)
        return f"FROM {JOBS} AS j WHERE {' AND '.join(conditions)}", params

    def _window(
        self, column: str, selection: Selection, conditions: list[str], params: dict[str, Any]
    ) -> None:
        """The selection's time bounds on `column`, both inclusive, where it has them."""
        p = self.dialect.p
        bounds = (("since", ">=", selection.since_ms), ("until", "<=", selection.until_ms))
        for name, compare, bound in bounds:
            if bound is not None:
                conditions.append(f"{column} {compare} {p(name)}")
                params[name] = bound

    # -- the aggregates --------------------------------------------------------------------------

    def tracking_groups(self, selection: Selection, *, now_ms: int) -> list[TrackingGroup]:
        """The selected tracking rows in groups (one pass; see `TrackingGroup`)."""
        d, p = self.dialect, self.dialect.p
        source, params = self._tracking_from(selection)
        failed, unknown, delivered = p("failed"), p("unknown"), p("delivered")
        tracked, bound = self.store._in("tracked", _TRACKED)
        params.update(bound, failed=_FAILED, unknown=_UNKNOWN, delivered=_DELIVERED, now=now_ms)
        latency = latency_sql()
        with_latency = f't."status" = {delivered} AND t."delivered_at" IS NOT NULL'
        done = f't."status" IN ({delivered}, {failed})'
        done_at = f'CASE WHEN {done} THEN COALESCE(t."delivered_at", t."failed_at") END'
        metadata = 't."metadata"'
        # Most rows have no failover: its path and outcome are read only where it exists.
        failover = d.json_text(metadata, "failover", "type")
        path, outcome = (d.json_text(metadata, "failover", key) for key in ("path", "outcome"))
        # Buckets need no clamp: a negative latency falls in the first one.
        raw_latency = 't."delivered_at" - COALESCE(t."scheduled_at", t."requested_at")'
        last_error_code = d.json_text('t."last_error"', "code")
        dimensions = [
            't."provider_id"',
            't."type"',
            't."status"',
            f'CASE WHEN t."status" = {failed} THEN t."provider_status_code" '
            f'WHEN t."status" = {unknown} THEN {last_error_code} END',
            f"CASE WHEN {with_latency} THEN {bucket_sql(raw_latency)} END",
            failover,
            f"CASE WHEN {failover} IS NOT NULL THEN {path} END",
            f"CASE WHEN {failover} IS NOT NULL THEN {outcome} END",
            f'CASE WHEN t."status" IN {tracked} AND t."next_check_at" <= {p("now")} '
            "THEN 1 ELSE 0 END",
        ]
        measures = [
            "COUNT(*)",
            f'MIN(CASE WHEN t."status" = {failed} THEN t."provider_status_message" END)',
            f"SUM(CASE WHEN {with_latency} THEN {latency} ELSE 0 END)",
            f"MAX(CASE WHEN {with_latency} THEN {latency} END)",
            f'MIN(CASE WHEN t."status" IN {tracked} THEN t."next_check_at" END)',
            f"MIN({done_at})",
            f"MAX({done_at})",
        ]
        return self._grouped(TrackingGroup, dimensions, measures, source, params)

    def job_groups(self, selection: Selection, *, completed: bool = False) -> list[JobGroup]:
        """The selected jobs in groups (see `JobGroup`); `completed` adds the completed jobs
        of a batch, which costs a pass over all of its jobs."""
        d, p = self.dialect, self.dialect.p
        source, params = self._jobs_from(selection, completed=completed)
        params["failed"] = JobStatus.FAILED.value
        is_failed = f'j."status" = {p("failed")}'
        error = 'j."error"'
        dimensions = [
            'j."status"',
            d.json_text('j."data"', "provider"),
            d.json_text('j."data"', "message", "type"),
            f"CASE WHEN {is_failed} THEN {d.error_code(error)} END",
            f"CASE WHEN {is_failed} THEN {_error_key(d, error, 'provider_code')} END",
        ]
        measures = ["COUNT(*)", f"MIN(CASE WHEN {is_failed} THEN {error} END)"]
        return self._grouped(JobGroup, dimensions, measures, source, params)

    def latency_ranks(self, selection: Selection, ranks: Sequence[int]) -> dict[int, int]:
        """The latency (ms) at each 1-based rank of the delivered rows ordered by latency:
        one sort in the database (ROW_NUMBER), whatever the number of rows."""
        wanted = sorted({rank for rank in ranks if rank > 0})
        if not wanted:
            return {}
        p = self.dialect.p
        source, params = self._tracking_from(selection)
        params["delivered"] = _DELIVERED
        joiner = " AND " if " WHERE " in source else " WHERE "
        source += f'{joiner}t."status" = {p("delivered")} AND t."delivered_at" IS NOT NULL'
        marks, bound = self.store._in("rank", wanted)
        params.update(bound)
        latency = latency_sql()
        sql = (
            f'SELECT ranked."rn", ranked."latency" FROM (SELECT {latency} AS "latency", '
            f'ROW_NUMBER() OVER (ORDER BY {latency}) AS "rn" {source}) AS ranked '
            f'WHERE ranked."rn" IN {marks}'
        )
        return {int(rank): int(value) for rank, value in self._rows(sql, params)}

    def timeline(
        self, selection: Selection, *, bucket_ms: int, offset_ms: int = 0
    ) -> list[tuple[int, str, int]]:
        """(bucket start ms, DELIVERED or FAILED, rows) by delivered_at/failed_at, in buckets
        of `bucket_ms` aligned to local midnight by `offset_ms` (the zone's UTC offset)."""
        if bucket_ms <= 0:
            raise ValueError("bucket_ms must be positive")
        p = self.dialect.p
        source, params = self._tracking_from(selection)
        params.update(delivered=_DELIVERED, failed=_FAILED, bucket=bucket_ms, offset=offset_ms)
        joiner = " AND " if " WHERE " in source else " WHERE "
        source += f'{joiner}t."status" IN ({p("delivered")}, {p("failed")})'
        local = f'(COALESCE(t."delivered_at", t."failed_at") + {p("offset")})'
        start = f"({local} - {local} {_modulo(self.dialect)} {p('bucket')} - {p('offset')})"
        sql = (
            f'SELECT {start}, t."status", COUNT(*) {source} '
            f'AND COALESCE(t."delivered_at", t."failed_at") IS NOT NULL GROUP BY 1, 2 ORDER BY 1'
        )
        return [(int(at), str(status), int(n)) for at, status, n in self._rows(sql, params)]

    def _rows(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return self.store._run(lambda s: s.execute(sql, params).rows)

    def _grouped(
        self,
        group: type[Group],
        dimensions: list[str],
        measures: list[str],
        source: str,
        params: dict[str, Any],
    ) -> list[Group]:
        """`dimensions` then `measures` over `source` (FROM ... WHERE ...), grouped by every
        dimension: each row a `group`, whose fields take the values in their order, each as
        its annotation says (NULL stays None where the field allows it)."""
        positions = ", ".join(str(n) for n in range(1, len(dimensions) + 1))
        sql = f"SELECT {', '.join(dimensions + measures)} {source} GROUP BY {positions}"
        readers = [_READERS[str(f.type)] for f in fields(group)]
        return [
            group(*(read(value) for read, value in zip(readers, row, strict=True)))
            for row in self._rows(sql, params)
        ]


def _modulo(d: Dialect) -> str:
    """The modulo operator as written in a statement: `%%` where placeholders are %-style
    (psycopg, PyMySQL), `%` elsewhere."""
    return "%%" if d.p("x").startswith("%") else "%"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


# A grouped row's value by the annotation of its field (a SUM over no value is NULL: 0).
_READERS: dict[str, Callable[[Any], Any]] = {
    "str": str,
    "str | None": _text,
    "int": lambda value: _int(value) or 0,
    "int | None": _int,
    "bool": lambda value: bool(_int(value)),
}
