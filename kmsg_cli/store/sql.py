"""One SQL implementation of the storage contract, shared by every engine.

`SqlStore` is `Store` written once, against `_run(work)` (a unit of work on one connection,
inside a transaction when asked) and a `Dialect` (how one engine spells placeholders, JSON
access, id collation, "insert or skip" and the purge's limited delete). Its parts: the job
ledger (ledger.py), delivery tracking (delivery.py), and here the plain reads and writes,
completion, purging and counters. An engine module (sqlite.py, postgres.py, mysql.py) adds
connection handling, error mapping, retries, schema creation and the statements that truly
differ: the claims (docs/storage.md, "Engines").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from kmsg_cli.models import Job, TrackingRow
from kmsg_cli.store.content import ContentKeys
from kmsg_cli.store.delivery import DeliveryLedger
from kmsg_cli.store.dialect import q
from kmsg_cli.store.ledger import JobLedger
from kmsg_cli.store.rows import (
    JOB_FINISHED_STATUSES,
    TRACKING_TERMINAL_STATUSES,
    chunked,
    job_from_values,
    job_params,
    tracking_from_values,
    tracking_params,
)
from kmsg_cli.store.schema import CACHE_TABLE, JOBS_TABLE, STATE_TABLE, TRACKING_TABLE
from kmsg_cli.store.session import (
    COMPLETED,
    FAILED,
    JOBS,
    SELECT_JOB,
    SELECT_TRACKING,
    TRACKING,
    Params,
    Session,
)


class SqlStore(JobLedger, DeliveryLedger, ContentKeys):
    """The `Store` contract written once in SQL; engines subclass it (see the module doc)."""

    def get_tracking(self, message_id: str) -> TrackingRow | None:
        """The tracking row of one message, or None."""
        found = self.find_tracking([message_id])
        return found.get(message_id)

    def find_tracking(self, message_ids: Sequence[str]) -> dict[str, TrackingRow]:
        """Tracking rows by message id, queried in IN lists of at most 500 ids."""
        rows = self._rows_by_ids(SELECT_TRACKING, "message_id", message_ids)
        return {row.message_id: row for row in map(tracking_from_values, rows)}

    def tracked_ids(self, message_ids: Sequence[str]) -> set[str]:
        """Which of `message_ids` have a tracking row (the ids alone: no row is decoded)."""
        rows = self._rows_by_ids(f'SELECT "message_id" FROM {TRACKING}', "message_id", message_ids)
        return {str(row[0]) for row in rows}

    def insert_tracking(self, rows: Sequence[TrackingRow]) -> int:
        """Insert rows in one transaction; existing message ids are left untouched."""
        return self._insert_keyed(TRACKING_TABLE, rows, [tracking_params(r) for r in rows])

    def insert_jobs(self, jobs: Sequence[Job]) -> int:
        """Insert jobs in one transaction; existing ids are left untouched."""
        return self._insert_keyed(JOBS_TABLE, jobs, [job_params(j) for j in jobs])

    def _insert_keyed(
        self, table: str, items: Sequence[Job | TrackingRow], params: Sequence[Params]
    ) -> int:
        """Insert `params` into `table` and record the content keys of `items` in the same
        transaction, so a row never lacks its key; returns the number of rows inserted."""
        if not items:
            return 0

        def work(s: Session) -> int:
            inserted = self._insert_rows(s, table, params)
            self._record_keys(s, items)
            return inserted

        return self._write(work)

    def get_job(self, job_id: str) -> Job | None:
        """One job, or None."""
        return self.get_jobs([job_id]).get(job_id)

    def get_jobs(self, job_ids: Sequence[str]) -> dict[str, Job]:
        """Jobs by id, queried in IN lists of at most 500 ids."""
        rows = self._rows_by_ids(SELECT_JOB, "id", job_ids)
        return {job.id: job for job in map(job_from_values, rows)}

    def _rows_by_ids(self, select: str, key: str, ids: Sequence[str]) -> list[Sequence[Any]]:
        return self._run(self._by_ids(select, key, ids)) if ids else []

    def delete_jobs(self, job_ids: Sequence[str]) -> int:
        """Delete jobs in one transaction, whatever their status."""
        return self._update_ids(f'DELETE FROM {JOBS} WHERE "id" IN', job_ids, {})

    def complete_jobs(
        self, job_ids: Sequence[str], tracking: Sequence[TrackingRow], *, now_ms: int
    ) -> None:
        """Mark jobs completed and insert their tracking rows in one transaction. The metadata
        is left as it is (owner, in_flight, sent_to: who sent it, when and where): not writing it
        spares each engine its JSON and the index of jobs by batch (docs/storage.md)."""
        if not job_ids and not tracking:
            return
        p = self.dialect.p
        update = (
            f'UPDATE {JOBS} SET "status" = {p("completed")}, "completed_at" = {p("now")} '
            'WHERE "id" IN'
        )
        rows = [tracking_params(r) for r in tracking]
        unique = list(dict.fromkeys(job_ids))

        def work(s: Session) -> None:
            for chunk in chunked(unique):
                marks, bound = self._ids_in("k", chunk)
                s.execute(f"{update} {marks}", {"completed": COMPLETED, "now": now_ms, **bound})
            self._insert_rows(s, TRACKING_TABLE, rows)

        self._write(work)

    def fail_jobs(self, failures: Mapping[str, str], *, now_ms: int) -> None:
        """Mark jobs failed with their error text in one transaction."""
        p = self.dialect.p
        self._update_each_job(
            f'"status" = {p("failed")}, "failed_at" = {p("now")}, "error" = {p("error")}, '
            f'"metadata" = {self.dialect.json_remove(q("metadata"), "in_flight")}',
            [
                {"failed": FAILED, "now": now_ms, "error": error, "id": job_id}
                for job_id, error in sorted(failures.items())
            ],
        )

    # -- purging old rows (docs/storage.md, "Purging") ---------------------------------------

    def _purgeable(self) -> tuple[str, str, dict[str, Any]]:
        """(FROM ... WHERE of old terminal rows, the same of old finished jobs, parameters)."""
        p = self.dialect.p
        terminal, params = self._in("terminal", TRACKING_TERMINAL_STATUSES)
        finished, more = self._in("finished", JOB_FINISHED_STATUSES)
        params.update(more)
        tracking = (
            f'FROM {TRACKING} WHERE "status" IN {terminal} '
            f'AND "status_updated_at" < {p("older_than")}'
        )
        jobs = (
            f'FROM {JOBS} WHERE "status" IN {finished} '
            f'AND COALESCE("completed_at", "failed_at") < {p("older_than")}'
        )
        return tracking, jobs, params

    def _purge_statements(self) -> tuple[str, str, dict[str, Any]]:
        d, p = self.dialect, self.dialect.p
        tracking, jobs, params = self._purgeable()
        limit = f"LIMIT {p('limit')}"
        return (
            f"DELETE FROM {TRACKING} WHERE "
            + d.limited('"message_id"', f'SELECT "message_id" {tracking} {limit}'),
            f"DELETE FROM {JOBS} WHERE " + d.limited('"id"', f'SELECT "id" {jobs} {limit}'),
            params,
        )

    def purge(self, *, older_than_ms: int, limit: int = 5000) -> tuple[int, int]:
        """Delete up to `limit` old terminal rows and `limit` old finished jobs, one transaction."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        tracking, jobs, params = self._purge_statements()
        params.update(older_than=older_than_ms, limit=limit)

        def work(s: Session) -> tuple[int, int]:
            # content keys older than the cut-off are past any duplicate window
            self._forget_keys(s, older_than_ms)
            return s.execute(tracking, params).rowcount, s.execute(jobs, params).rowcount

        return self._write(work)

    def purge_jobs(self, *, older_than_ms: int, limit: int = 5000) -> int:
        """Delete up to `limit` finished jobs older than the cutoff."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        _tracking, jobs, params = self._purge_statements()
        params.update(older_than=older_than_ms, limit=limit)
        return self._write(lambda s: s.execute(jobs, params).rowcount, single=True)

    def count_purgeable(self, *, older_than_ms: int) -> tuple[int, int]:
        """How many tracking rows and jobs `purge` would delete in all."""
        tracking, jobs, params = self._purgeable()
        params["older_than"] = older_than_ms

        def work(s: Session) -> tuple[int, int]:
            counted = s.execute(f"SELECT COUNT(*) {tracking}", params).scalar()
            return int(counted), int(s.execute(f"SELECT COUNT(*) {jobs}", params).scalar())

        return self._run(work)

    # -- counters, queue management ------------------------------------------------------------

    def reserve_sequence(self, name: str, count: int) -> int:
        """Atomically take `count` numbers of the named counter; returns the first one."""
        d, p = self.dialect, self.dialect.p
        upsert = (
            f'INSERT INTO {q(STATE_TABLE)} ("name", "value") VALUES ({p("name")}, {p("count")}) '
            + d.add_on_conflict(STATE_TABLE, "name", "value")
        )
        select = f'SELECT "value" FROM {q(STATE_TABLE)} WHERE "name" = {p("name")}'
        params = {"name": name, "count": count}

        def work(s: Session) -> int:
            if d.returning:
                return int(s.execute(f'{upsert} RETURNING "value"', params).scalar())
            s.execute(upsert, params)
            return int(s.execute(select, params).scalar())

        return self._write(work, single=d.returning) - count

    def iter_state(self, *, chunk: int = 1000) -> Iterator[tuple[str, int]]:
        """The named values of `kmsg_state` (counters, send-many's batch inputs) by name,
        `chunk` at a time (keyset paging)."""
        select = f'SELECT "name", "value" FROM {q(STATE_TABLE)}'
        for name, value in self._pages(select, "name", [], {}, chunk):
            yield str(name), int(value)

    def insert_state(self, rows: Sequence[tuple[str, int]]) -> int:
        """Insert named values in one transaction, leaving names that exist untouched; returns
        how many were new (`db copy`)."""
        if not rows:
            return 0
        params = [{"name": name, "value": value} for name, value in rows]
        return int(self._write(lambda s: self._insert_rows(s, STATE_TABLE, params)))

    def cache_get(self, name: str, *, now_ms: int) -> str | None:
        """The cached value of `name`, or None when there is none or it expired."""
        p = self.dialect.p
        sql = (
            f'SELECT "value" FROM {q(CACHE_TABLE)} '
            f'WHERE "name" = {p("name")} AND "expires_at" > {p("now")}'
        )
        value = self._run(lambda s: s.execute(sql, {"name": name, "now": now_ms}).scalar())
        return None if value is None else str(value)

    def cache_put(self, name: str, value: str, *, expires_at_ms: int) -> None:
        """Cache `value` under `name` until `expires_at_ms`, replacing what was there (one
        transaction; when two processes race, one of their values stays)."""
        delete = f'DELETE FROM {q(CACHE_TABLE)} WHERE "name" = {self.dialect.p("name")}'
        insert = self.dialect.insert_ignore(
            CACHE_TABLE, ("name", "value", "expires_at"), "name", ()
        )
        params = {"name": name, "value": value, "expires_at": expires_at_ms}

        def work(s: Session) -> None:
            s.execute(delete, {"name": name})
            s.execute(insert, params)

        self._write(work)

    def count_tracking(self) -> int:
        """Number of tracking rows."""
        return int(self._run(lambda s: s.execute(f"SELECT COUNT(*) FROM {TRACKING}").scalar()))

    def count_jobs(self) -> int:
        """Number of jobs."""
        return int(self._run(lambda s: s.execute(f"SELECT COUNT(*) FROM {JOBS}").scalar()))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
