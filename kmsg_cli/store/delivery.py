"""Delivery tracking in SQL: claims of due rows, guarded writes of check results with their
follow-up jobs, listing and counting, written once for every engine (docs/storage.md,
"Delivery tracking").

A row is due when its status is PENDING or SENT and next_check_at <= now. A claim leases a row
by pushing its next_check_at forward (no other column changes); `apply_tracking` then writes
the result, guarded so that terminal statuses never move and a checker whose lease was taken
over cannot overwrite.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from enum import Enum
from operator import attrgetter, itemgetter
from typing import Any, TypedDict, Unpack

from kmsg_cli.models import DeliveryStatus, Job, TrackingRow, record_fields
from kmsg_cli.store.dialect import q
from kmsg_cli.store.rows import (
    FOR_MESSAGE_KEY,
    TRACKING_DUE_STATUSES,
    TRACKING_FIELDS,
    TRACKING_JSON_COLUMNS,
    TRACKING_MUTABLE_COLUMNS,
    TRACKING_TERMINAL_STATUSES,
    check_follow_ups,
    dump_json,
    job_params,
    json_list,
    load_json,
    plain,
    tracking_from_values,
)
from kmsg_cli.store.schema import JOBS_TABLE
from kmsg_cli.store.session import JOBS, SELECT_TRACKING, TRACKING, Session, SqlBase


class TrackingFilter(TypedDict, total=False):
    """The filters `list_tracking` and `count_tracking_by_status` share; a row matches every
    one given (None: no filter). An empty `status` matches nothing; a lone string is one
    status; `since_ms` and `until_ms` bound `requested_at`, both inclusive."""

    status: Sequence[str] | None
    provider_id: str | None
    providers: Sequence[str] | None  # one of these providers (a profile's)
    type: str | None
    to: str | None
    since_ms: int | None
    until_ms: int | None
    batch: str | None  # the messages of this send-many batch (its jobs' ids)


class DeliveryLedger(SqlBase):
    """The `Store` methods of delivery tracking (see the module doc)."""

    def claim_due_tracking(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        limit: int,
        provider_id: str | None = None,
        providers: Sequence[str] | None = None,
    ) -> list[TrackingRow]:
        """Claim up to `limit` due rows atomically (of `provider_id`; of one of `providers`,
        a profile's: docs/storage.md, "Claims"); sorted by message_id."""
        if limit <= 0:
            return []
        params: dict[str, Any] = {
            "due0": TRACKING_DUE_STATUSES[0],
            "due1": TRACKING_DUE_STATUSES[1],
            "now": now_ms,
            "limit": limit,
            "lease_until": now_ms + lease_ms,
            "provider": provider_id,
            "providers": json_list(providers),
        }
        rows = self._claim_tracking_rows(params, provider_id)
        flat: dict[str, dict[str, Any]] = {}
        return [claimed_row(values, flat) for values in sorted(rows, key=_MESSAGE_ID)]

    def apply_tracking(
        self,
        updates: Sequence[TrackingRow],
        *,
        jobs: Sequence[Job] = (),
        expected_next_check: Mapping[str, int] | None = None,
    ) -> set[str]:
        """Write checked rows (terminal and lease guards) and their jobs in one transaction.

        Rows are updated in message_id order, so concurrent checkers lock shared rows in the
        same order and cannot deadlock each other; a checker that waited for another's lock
        re-reads the row, and its guarded update no longer applies if the other won.
        """
        check_follow_ups(updates, jobs)
        if not updates:
            return set()
        d, p = self.dialect, self.dialect.p
        assignments = ", ".join(
            f"{q(c)} = {d.json_param(c) if c in TRACKING_JSON_COLUMNS else p(c)}"
            for c in TRACKING_MUTABLE_COLUMNS
        )
        _, bound = self._in("terminal", TRACKING_TERMINAL_STATUSES)
        # "status" <> each terminal status, not NOT IN (...): the same test on a NOT NULL
        # column, and SQLite builds no lookup table for it at each of the row's statements.
        not_terminal = " AND ".join(f'"status" <> {p(name)}' for name in bound)
        expected_sql = d.bigint(p("expected"))
        sql = (
            f'UPDATE {TRACKING} SET {assignments} WHERE "message_id" = {p("message_id")} '
            f"AND {not_terminal} "
            f'AND ({expected_sql} IS NULL OR "next_check_at" = {expected_sql})'
        )
        expected = expected_next_check or {}
        texts: dict[tuple[Any, ...], str] = {}
        params = [
            written_params(row, expected.get(row.message_id), bound, texts)
            for row in sorted(updates, key=attrgetter("message_id"))
        ]

        def work(s: Session) -> set[str]:
            counts = s.rowcounts(sql, params)
            updated = {str(v["message_id"]) for v, n in zip(params, counts, strict=True) if n > 0}
            follow_ups = [
                job_params(job)
                for job in jobs
                if (job.metadata or {}).get(FOR_MESSAGE_KEY) in updated
            ]
            self._insert_rows(s, JOBS_TABLE, follow_ups)
            return updated

        return self._write(work)

    def set_tracking_metadata_key(self, message_id: str, key: str, value: Any) -> bool:
        """Set one top-level key of a row's metadata, atomically, whatever its status."""
        if not key.isidentifier():
            raise ValueError(f"metadata key {key!r} must be an identifier")
        d, p = self.dialect, self.dialect.p
        sql = (
            f'UPDATE {TRACKING} SET "metadata" = '
            f"{d.json_set(q('metadata'), key, d.json_value(p('value')))} "
            f'WHERE "message_id" = {p("id")}'
        )
        params = {"value": json.dumps(plain(value), ensure_ascii=False), "id": message_id}
        return self._write(lambda s: s.execute(sql, params).rowcount > 0, single=True)

    # -- scheduled rows (`kmsg cancel`, docs/cancel.md) ----------------------------------------

    def cancel_tracking(
        self,
        message_ids: Sequence[str],
        *,
        now_ms: int,
        provider_status_code: str | None,
        provider_status_message: str | None,
    ) -> set[str]:
        """Mark rows still PENDING as CANCELLED, one transaction; returns the ids changed."""
        p = self.dialect.p
        sql = (
            f'UPDATE {TRACKING} SET "status" = {p("cancelled")}, '
            f'"status_updated_at" = {p("now")}, "provider_status_code" = {p("code")}, '
            f'"provider_status_message" = {p("text")} '
            f'WHERE "message_id" = {p("id")} AND "status" = {p("pending")}'
        )
        common = {
            "cancelled": DeliveryStatus.CANCELLED.value,
            "pending": DeliveryStatus.PENDING.value,
            "now": now_ms,
            "code": provider_status_code,
            "text": provider_status_message,
        }
        # in message_id order, as apply_tracking locks rows: concurrent writers cannot deadlock
        return self._changed(sql, [{**common, "id": i} for i in sorted(set(message_ids))], "id")

    def iter_scheduled_tracking(
        self, *, since_ms: int, provider_id: str | None = None, chunk: int = 1000
    ) -> Iterator[TrackingRow]:
        """PENDING rows scheduled at or after `since_ms` (of the provider), in message_id order,
        `chunk` at a time (keyset paging like `iter_tracking`)."""
        p = self.dialect.p
        where = [f'"status" = {p("pending")}', f'"scheduled_at" >= {p("since")}']
        if provider_id is not None:
            where.append(f'"provider_id" = {p("provider")}')
        params = {
            "pending": DeliveryStatus.PENDING.value,
            "since": since_ms,
            "provider": provider_id,
        }
        for values in self._pages(SELECT_TRACKING, "message_id", where, params, chunk):
            yield tracking_from_values(values)

    def pending_in_group(self, provider_id: str, group_id: str) -> list[TrackingRow]:
        """PENDING rows of the provider whose metadata.group_id is `group_id`."""
        d, p = self.dialect, self.dialect.p
        sql = (
            f'{SELECT_TRACKING} WHERE "status" = {p("pending")} '
            f'AND "provider_id" = {p("provider")} '
            f"AND {d.json_equals_text(q('metadata'), 'group_id', p('group'))} "
            f"ORDER BY {d.ids(q('message_id'))}"
        )
        params = {
            "pending": DeliveryStatus.PENDING.value,
            "provider": provider_id,
            "group": group_id,
        }
        return [tracking_from_values(v) for v in self._run(lambda s: s.execute(sql, params).rows)]

    def _tracking_where(self, filters: TrackingFilter) -> tuple[str, dict[str, Any]] | None:
        """WHERE clause and parameters of the list/count filters; None when nothing matches."""
        p = self.dialect.p
        conditions: list[str] = []
        params: dict[str, Any] = {}
        status = filters.get("status")
        if status is not None:
            # A lone string is one status, not a sequence of one-letter ones.
            wanted = [status] if isinstance(status, str) else status
            statuses = list(dict.fromkeys(str(value) for value in wanted))
            if not statuses:
                return None
            marks, bound = self._in("status", statuses)
            conditions.append(f'"status" IN {marks}')
            params.update(bound)
        for column in ("provider_id", "type", "to"):
            value = filters.get(column)
            if value is not None:
                conditions.append(f"{q(column)} = {p(column)}")
                params[column] = value
        providers = filters.get("providers")
        if providers is not None:
            conditions.append(self.dialect.in_list('"provider_id"', p("providers")))
            params["providers"] = json_list(providers)
        batch = filters.get("batch")
        if batch is not None:  # through the jobs' batch index: the batch's size, not the table's
            in_batch = self.dialect.in_batch(p("batch"))
            conditions.append(f'"message_id" IN (SELECT "id" FROM {JOBS} WHERE {in_batch})')
            params["batch"] = batch
        for key, bound_as in (("since_ms", ">="), ("until_ms", "<=")):
            moment = filters.get(key)
            if moment is not None:
                conditions.append(f'"requested_at" {bound_as} {p(key)}')
                params[key] = moment
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return where, params

    def list_tracking(
        self, *, limit: int = 100, offset: int = 0, **filters: Unpack[TrackingFilter]
    ) -> list[TrackingRow]:
        """Matching rows, requested_at DESC then message_id DESC, one page."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        found = self._tracking_where(filters)
        if found is None or limit == 0:
            return []
        where, params = found
        d, p = self.dialect, self.dialect.p
        params.update({"limit": limit, "offset": offset})
        sql = (
            f'{SELECT_TRACKING}{where} ORDER BY "requested_at" DESC, '
            f"{d.ids(q('message_id'))} DESC LIMIT {p('limit')} OFFSET {p('offset')}"
        )
        return [tracking_from_values(v) for v in self._run(lambda s: s.execute(sql, params).rows)]

    def count_tracking_by_status(self, **filters: Unpack[TrackingFilter]) -> dict[str, int]:
        """Matching rows by status; statuses without rows are absent."""
        found = self._tracking_where(filters)
        if found is None:
            return {}
        where, params = found
        sql = f'SELECT "status", COUNT(*) FROM {TRACKING}{where} GROUP BY "status"'
        rows = self._run(lambda s: s.execute(sql, params).rows)
        # by status name, the same on every engine (PostgreSQL groups by hashing)
        return dict(sorted((str(status_), int(count)) for status_, count in rows))

    def next_check_ms(
        self, provider_id: str | None = None, providers: Sequence[str] | None = None
    ) -> int | None:
        """The earliest next_check_at of a row still tracked (PENDING or SENT; of
        `provider_id`; of one of `providers`), or None when none is: a seek of
        idx_kmsg_delivery_due per status."""
        p = self.dialect.p
        params: dict[str, Any] = {
            "due0": TRACKING_DUE_STATUSES[0],
            "due1": TRACKING_DUE_STATUSES[1],
            "provider": provider_id,
            "providers": json_list(providers),
        }
        mine = self.dialect.of_tracked_providers(
            by_provider=provider_id is not None, by_providers=providers is not None
        )
        one = f'SELECT MIN("next_check_at") AS m FROM {TRACKING} WHERE "status" = '
        sql = f"SELECT MIN(m) FROM ({one}{p('due0')}{mine} UNION ALL {one}{p('due1')}{mine}) due"
        found = self._run(lambda s: s.execute(sql, params).scalar())
        return None if found is None else int(found)

    def due_tracking_by_provider(self, *, now_ms: int) -> dict[str, int]:
        """Rows still tracked and due at `now_ms`, counted by provider id: what a pass limited
        to some providers left for the others (`kmsg track run-once`)."""
        p = self.dialect.p
        sql = (
            f'SELECT "provider_id", COUNT(*) FROM {TRACKING} WHERE "status" IN '
            f'({p("due0")}, {p("due1")}) AND "next_check_at" <= {p("now")} GROUP BY "provider_id"'
        )
        params = {"due0": TRACKING_DUE_STATUSES[0], "due1": TRACKING_DUE_STATUSES[1], "now": now_ms}
        rows = self._run(lambda s: s.execute(sql, params).rows)
        return {str(provider): int(count) for provider, count in rows}

    def iter_tracking(self, *, chunk: int = 1000) -> Iterator[TrackingRow]:
        """Tracking rows in message_id order, `chunk` at a time (keyset paging)."""
        for values in self._pages(SELECT_TRACKING, "message_id", [], {}, chunk):
            yield tracking_from_values(values)


# -- the rows of one pass, converted without generic machinery (docs/storage.md, "Delivery
# tracking"): a pass converts every claimed row once and writes it once.

# Column values (TRACKING_COLUMNS order) -> TrackingRow's positional arguments.
_MESSAGE_ID = itemgetter(TRACKING_FIELDS.index("message_id"))
_BY_FIELD = itemgetter(*(TRACKING_FIELDS.index(f.name) for f in record_fields(TrackingRow)))
_FIELD_NAMES = tuple(f.name for f in record_fields(TrackingRow))
_LAST_ERROR = _FIELD_NAMES.index("last_error")
_METADATA = _FIELD_NAMES.index("metadata")
_PLAIN_MUTABLE = tuple(c for c in TRACKING_MUTABLE_COLUMNS if c not in TRACKING_JSON_COLUMNS)
_PLAIN_VALUES = itemgetter(*_PLAIN_MUTABLE)
_PLAIN_TYPES = frozenset({str, int, type(None)})
if set(TRACKING_MUTABLE_COLUMNS) - set(_PLAIN_MUTABLE) != {"last_error", "metadata"}:
    raise AssertionError("the JSON columns changed: update written_params")


def claimed_row(
    values: Sequence[Any], flat: dict[str, dict[str, Any]] | None = None
) -> TrackingRow:
    """What `tracking_from_values` makes of a claimed row's values. `flat` remembers, for one
    claim, the metadata texts that decode to objects of plain values (rows sent together share
    theirs): each row still gets its own object, copied instead of decoded again."""
    args = list(_BY_FIELD(values))
    args[_LAST_ERROR] = load_json(args[_LAST_ERROR], column="last_error")
    text = args[_METADATA]
    known = flat.get(text) if flat is not None and type(text) is str else None
    if known is not None:
        args[_METADATA] = dict(known)
    else:
        metadata = args[_METADATA] = load_json(text, column="metadata")
        if flat is not None and type(text) is str and metadata is not None:
            if _FLAT_TYPES.issuperset(map(type, metadata.values())):
                flat[text] = dict(metadata)
    return TrackingRow(*args)


# Values a shared object may hold: immutable, and written back as they were read (no floats:
# 0.0 and -0.0 are equal but not written alike).
_FLAT_TYPES = frozenset({str, int, bool, type(None)})


def _metadata_text(value: dict[str, Any] | None, texts: dict[tuple[Any, ...], str] | None) -> Any:
    """`dump_json(value)`; `texts` remembers, for one write, the text of each object of plain
    values, keyed by its keys, values and their types (True and 1 are equal, not alike)."""
    if texts is None or type(value) is not dict:
        return dump_json(value)
    plain_values = tuple(value.values())
    types = tuple(map(type, plain_values))
    if not _FLAT_TYPES.issuperset(types):
        return dump_json(value)
    key = (tuple(value), plain_values, types)
    text = texts.get(key)
    if text is None:
        text = dump_json(value)
        if text is not None:
            texts[key] = text
    return text


def written_params(
    row: TrackingRow,
    expected: int | None,
    bound: Mapping[str, Any],
    texts: dict[tuple[Any, ...], str] | None = None,
) -> dict[str, Any]:
    """The parameters of `apply_tracking`'s UPDATE for one row: its TRACKING_MUTABLE_COLUMNS
    (JSON as text, enums as their value), the row's key, its expected lease and `bound` (the
    terminal statuses); `texts` is shared by the rows of one write (`_metadata_text`)."""
    values = _PLAIN_VALUES(vars(row))
    params = dict(zip(_PLAIN_MUTABLE, values, strict=True))
    if not _PLAIN_TYPES.issuperset(map(type, values)):  # an enum member is written as its value
        params = {c: v.value if isinstance(v, Enum) else v for c, v in params.items()}
    params["last_error"] = dump_json(row.last_error)
    params["metadata"] = _metadata_text(row.metadata, texts)
    params.update(bound)
    params["message_id"] = row.message_id
    params["expected"] = expected
    return params
