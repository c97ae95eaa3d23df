"""The job ledger in SQL: claims, leases, in-flight marks, retries, recovery and queue
management, written once for every engine (docs/storage.md, "The job ledger").

Dequeue order everywhere: priority DESC, process_at ASC, created_at ASC, id ASC.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, TypedDict, Unpack

from kmsg_cli.models import Job
from kmsg_cli.store.dialect import q
from kmsg_cli.store.rows import chunked, claimed_order, dump_json, job_from_values, json_list
from kmsg_cli.store.session import (
    CANCELLED,
    FAILED,
    JOB_LIST,
    JOBS,
    PENDING,
    PROCESSING,
    SELECT_JOB,
    Params,
    Session,
    SqlBase,
)


def _lease(now_ms: int, lease_ms: int, owner: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters `processing`, `lease_until` and `owner` of a claim or a take-over."""
    return {"processing": PROCESSING, "lease_until": now_ms + lease_ms, "owner": dump_json(owner)}


class JobFilter(TypedDict, total=False):
    """The filters `list_jobs` and `count_jobs_by_status` share; a job matches every one given
    (None: no filter). `message_type` and `provider_id` are read from the job data,
    `error_code` from the error JSON; `providers`: the job's provider is one of them."""

    status: str | None
    message_type: str | None
    provider_id: str | None
    batch: str | None
    error_code: str | None
    providers: Sequence[str] | None  # a profile's providers


class JobLedger(SqlBase):
    """The `Store` methods of the job ledger (see the module doc)."""

    def claim_jobs(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        owner: Mapping[str, Any],
        limit: int,
        batch: str | None = None,
        providers: Sequence[str] | None = None,
    ) -> list[Job]:
        """Claim up to `limit` due jobs atomically; sorted by `rows.claimed_order`. With
        `providers`, only jobs whose provider is one of them: a worker leaves the jobs of
        another profile's providers alone (docs/storage.md, "Claims")."""
        if limit <= 0:
            return []
        params: dict[str, Any] = {
            "pending": PENDING,
            "now": now_ms,
            "limit": limit,
            "batch": batch,
            "providers": json_list(providers),
            **_lease(now_ms, lease_ms, owner),
        }
        rows = self._claim_job_rows(params, batch)
        return sorted(map(job_from_values, rows), key=claimed_order)

    def claim_ids(
        self, job_ids: Sequence[str], *, now_ms: int, lease_ms: int, owner: Mapping[str, Any]
    ) -> list[Job]:
        """Claim the listed pending jobs (a direct `kmsg send` taking its own ids)."""
        d = self.dialect
        status = d.unindexed(q("status"))
        sql = f'UPDATE {JOBS} SET {d.claim_set()} WHERE {status} = {d.p("pending")} AND "id" IN'
        params = {"pending": PENDING, **_lease(now_ms, lease_ms, owner)}
        if not self._update_ids(sql, job_ids, params):
            return []
        # What this claim took: the rows now held by `owner` under this very lease.
        jobs = map(job_from_values, self._run(self._by_ids(SELECT_JOB, "id", job_ids)))
        mine = [
            job
            for job in jobs
            if job.status == PROCESSING
            and job.process_at == now_ms + lease_ms
            and (job.metadata or {}).get("owner") == dict(owner)
        ]
        return sorted(mine, key=lambda job: job.id)

    def mark_in_flight(
        self,
        job_ids: Sequence[str],
        *,
        now_ms: int,
        sent_to: Mapping[str, Any] | None = None,
        owner: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Set metadata.in_flight (and sent_to) on the jobs still processing — and, given an
        `owner`, still held by it (the same `run`) — in one transaction; an earlier
        metadata.unknown goes (docs/recovery.md). Returns the ids marked, in the order given:
        a worker sends only those, never a job another worker took over after its lease ran
        out (docs/storage.md, "Exactly-once rules")."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return []
        d, p = self.dialect, self.dialect.p
        params: dict[str, Any] = {"now": now_ms, "processing": PROCESSING}
        marks = ["in_flight", d.json_int(p("now"))]
        if sent_to is not None:
            marks += ["sent_to", d.json_value(p("sent_to"))]
            params["sent_to"] = dump_json(sent_to)
        held = f"{d.unindexed(q('status'))} = {p('processing')}"
        if owner is not None:
            held += f" AND {d.json_text(q('metadata'), 'owner', 'run')} = {p('run')}"
            params["run"] = str(owner.get("run"))
        marked = d.json_set(q("metadata"), *marks)
        update = f'UPDATE {JOBS} SET "metadata" = {d.json_remove(marked, "unknown")} WHERE {held}'

        def work(s: Session) -> list[str]:
            changed = 0
            chunks = chunked(unique)
            for chunk in chunks:
                bound, ids = self._ids_in("k", chunk)
                changed += s.execute(f'{update} AND "id" IN {bound}', {**params, **ids}).rowcount
            if changed == len(unique):
                return unique
            # Fewer rows changed (or an engine counts an unchanged row as none): read which.
            found: set[str] = set()
            for chunk in chunks:
                bound, ids = self._ids_in("k", chunk)
                select = f'SELECT "id" FROM {JOBS} WHERE {held} AND "id" IN {bound}'
                found.update(str(row[0]) for row in s.execute(select, {**params, **ids}).rows)
            return [job_id for job_id in unique if job_id in found]

        return self._write(work, single=False)

    def defer_unknown(self, holds: Mapping[str, tuple[int, Mapping[str, Any]]]) -> None:
        """Keep jobs of unknown outcome claimed until their next lookup, one transaction."""
        if not holds:
            return
        d, p = self.dialect, self.dialect.p
        held = d.json_set(q("metadata"), "unknown", d.json_value(p("info")))
        sql = (
            f'UPDATE {JOBS} SET "process_at" = {p("process_at")}, "metadata" = {held} '
            f'WHERE "id" = {p("id")} AND "status" = {p("processing")}'
        )
        rows = [
            {"process_at": at, "info": dump_json(info), "id": job_id, "processing": PROCESSING}
            for job_id, (at, info) in sorted(holds.items())
        ]
        self._write(lambda s: s.executemany(sql, rows))

    def cancel_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> set[str]:
        """Cancel the jobs still pending, one transaction; returns the ids this call cancelled.

        One conditional UPDATE per id: a claim takes only pending jobs and locks what it
        takes, so of a claim and a cancel of the same job exactly one changes it.
        """
        p = self.dialect.p
        sql = (
            f'UPDATE {JOBS} SET "status" = {p("cancelled")}, "completed_at" = {p("now")} '
            f'WHERE "id" = {p("id")} AND "status" = {p("pending")}'
        )
        common = {"cancelled": CANCELLED, "now": now_ms, "pending": PENDING}
        # in id order: two cancels of overlapping jobs lock them in the same order
        return self._changed(sql, [{**common, "id": i} for i in sorted(set(job_ids))], "id")

    def retry_jobs(
        self, retries: Mapping[str, tuple[int, str]], *, refund: Collection[str] = ()
    ) -> None:
        """Put jobs back to pending at their new process_at with their error, one transaction.
        Jobs in `refund` get back the attempt their request used: a refusal of the account
        says nothing of the message (docs/recovery.md, "Account refusals")."""
        p = self.dialect.p
        self._update_each_job(
            f'"status" = {p("pending")}, "process_at" = {p("process_at")}, "error" = {p("error")}, '
            f'"attempts" = CASE WHEN "attempts" > {p("refund")} '
            f'THEN "attempts" - {p("refund")} ELSE 0 END, '
            f'"metadata" = {self.dialect.json_remove(q("metadata"), "in_flight", "owner")}',
            [
                {
                    "pending": PENDING,
                    "process_at": process_at,
                    "error": error,
                    "refund": int(job_id in refund),
                    "id": job_id,
                }
                for job_id, (process_at, error) in sorted(retries.items())
            ],
        )

    def release_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> int:
        """Release claimed, never-sent jobs; returns how many were released."""
        d, p = self.dialect, self.dialect.p
        sql = (
            f'UPDATE {JOBS} SET "status" = {p("pending")}, "process_at" = {p("now")}, '
            '"attempts" = CASE WHEN "attempts" > 0 THEN "attempts" - 1 ELSE 0 END, '
            f'"metadata" = {d.json_remove(q("metadata"), "owner")} '
            f"WHERE {d.unindexed(q('status'))} = {p('processing')} "
            f'AND {d.json_absent(q("metadata"), "in_flight")} AND "id" IN'
        )
        params = {"pending": PENDING, "processing": PROCESSING, "now": now_ms}
        return self._update_ids(sql, job_ids, params)

    def processing_jobs(self, *, batch: str | None = None) -> list[Job]:
        """All processing jobs (of the batch), in dequeue order."""
        d, p = self.dialect, self.dialect.p
        where = f'"status" = {p("processing")}' + self._and_batch(batch)
        order = f'"priority" DESC, "process_at", "created_at", {d.ids(q("id"))}'
        sql = f"{SELECT_JOB} WHERE {where} ORDER BY {order}"
        params = {"processing": PROCESSING, "batch": batch}
        return [job_from_values(v) for v in self._run(lambda s: s.execute(sql, params).rows)]

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
        d, p = self.dialect, self.dialect.p
        update = (
            f'UPDATE {JOBS} SET "process_at" = {p("lease_until")}, "metadata" = {d.owned()} '
            f'WHERE "id" = {p("id")} AND "status" = {p("processing")} '
            f'AND "process_at" = {p("expected")}'
        )
        params = {"id": job_id, "expected": expected_process_at, **_lease(now_ms, lease_ms, owner)}
        select = f'{SELECT_JOB} WHERE "id" = {p("id")}'
        values = self._write(self._returning(update, select, JOB_LIST, params), single=True)
        return None if values is None else job_from_values(values)

    def _returning(
        self, update: str, select: str, columns: str, params: Params
    ) -> Callable[[Session], Sequence[Any] | None]:
        """Work that runs a one-row UPDATE and returns the row as it became, or None when it
        changed nothing: RETURNING where the engine has it, else the UPDATE then a SELECT in
        the same transaction (the row stays locked by the UPDATE until the commit)."""

        def work(s: Session) -> Sequence[Any] | None:
            if self.dialect.returning:
                return s.execute(f"{update} RETURNING {columns}", params).first()
            if s.execute(update, params).rowcount < 1:
                return None
            return s.execute(select, params).first()

        return work

    def job_counts(
        self, *, batch: str | None = None, providers: Sequence[str] | None = None
    ) -> dict[str, int]:
        """Jobs by status (of the batch; of these providers); statuses without jobs are
        absent."""
        conditions = [] if batch is None else [self._batch_condition()]
        listed = json_list(providers)
        if listed is not None:
            conditions.append(self.dialect.of_providers(self.dialect.p("providers")))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f'SELECT "status", COUNT(*) FROM {JOBS}{where} GROUP BY "status"'
        params = {"batch": batch, "providers": listed}
        rows = self._run(lambda s: s.execute(sql, params).rows)
        return dict(sorted((str(status), int(count)) for status, count in rows))

    def next_due_ms(
        self, *, batch: str | None = None, providers: Sequence[str] | None = None
    ) -> int | None:
        """The earliest process_at of a pending job (of the batch; of these providers), or
        None."""
        listed = json_list(providers)
        value = self._run(lambda s: self._next_due(s, batch, listed))
        return None if value is None else int(value)

    def _next_due(self, s: Session, batch: str | None, providers: str | None = None) -> Any:
        """The earliest process_at of a pending job (of the batch; of the providers, a JSON
        array): one seek per priority."""
        sql = self.dialect.next_due_sql(self._and_batch(batch) + self._and_providers(providers))
        params = {"pending": PENDING, "batch": batch, "providers": providers}
        return s.execute(sql, params).scalar()

    def _and_providers(self, providers: str | None) -> str:
        if providers is None:
            return ""
        return f" AND {self.dialect.of_providers(self.dialect.p('providers'))}"

    def due_by_provider(self, *, now_ms: int) -> dict[str, int]:
        """Pending jobs due at `now_ms`, counted by their provider id ("" for none): what a
        worker restricted to some providers left for the others (`kmsg queue process`)."""
        d, p = self.dialect, self.dialect.p
        provider = d.json_text(q("data"), "provider")
        sql = (
            f'SELECT {provider}, COUNT(*) FROM {JOBS} WHERE "status" = {p("pending")} '
            f'AND "process_at" <= {p("now")} GROUP BY {provider}'
        )
        rows = self._run(lambda s: s.execute(sql, {"pending": PENDING, "now": now_ms}).rows)
        return {str(found or ""): int(count) for found, count in rows}

    def iter_jobs(
        self, *, batch: str | None = None, status: str | None = None, chunk: int = 1000
    ) -> Iterator[Job]:
        """Jobs in id order, read `chunk` at a time (keyset paging on the primary key)."""
        where = [] if batch is None else [self._batch_condition()]
        if status is not None:
            where.append(f'"status" = {self.dialect.p("status")}')
        params = {"batch": batch, "status": status}
        for values in self._pages(SELECT_JOB, "id", where, params, chunk):
            yield job_from_values(values)

    def _batch_condition(self) -> str:
        return self.dialect.in_batch(self.dialect.p("batch"))

    def _and_batch(self, batch: str | None) -> str:
        return "" if batch is None else f" AND {self._batch_condition()}"

    def list_jobs(
        self, *, limit: int = 100, offset: int = 0, **filters: Unpack[JobFilter]
    ) -> list[Job]:
        """Matching jobs, newest first, one page."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where, params = self._jobs_where(filters)
        d, p = self.dialect, self.dialect.p
        params.update(limit=limit, offset=offset)
        order = f'"created_at" DESC, {d.ids(q("id"))} DESC'
        sql = f"{SELECT_JOB}{where} ORDER BY {order} LIMIT {p('limit')} OFFSET {p('offset')}"
        return [job_from_values(v) for v in self._run(lambda s: s.execute(sql, params).rows)]

    def count_jobs_by_status(self, **filters: Unpack[JobFilter]) -> dict[str, int]:
        """The jobs `list_jobs` would match, counted by status (absent statuses left out)."""
        where, params = self._jobs_where(filters)
        sql = f'SELECT "status", COUNT(*) FROM {JOBS}{where} GROUP BY "status"'
        rows = self._run(lambda s: s.execute(sql, params).rows)
        return dict(sorted((str(status_), int(count)) for status_, count in rows))

    def _jobs_where(self, given: JobFilter) -> tuple[str, dict[str, Any]]:
        """The WHERE clause (empty without filters) and parameters of a listing or a count."""
        d, p = self.dialect, self.dialect.p
        filters = {
            "status": ('"status"', given.get("status")),
            "type": (d.json_text(q("data"), "message", "type"), given.get("message_type")),
            "provider": (d.json_text(q("data"), "provider"), given.get("provider_id")),
            "code": (d.error_code(q("error")), given.get("error_code")),
        }
        conditions = [
            f"{expr} = {p(name)}" for name, (expr, value) in filters.items() if value is not None
        ]
        params: dict[str, Any] = {name: value for name, (_expr, value) in filters.items()}
        batch, providers = given.get("batch"), given.get("providers")
        if batch is not None:
            conditions.append(self._batch_condition())
        if providers is not None:
            conditions.append(d.of_providers(p("providers")))
        params.update(batch=batch, providers=json_list(providers))
        return (f" WHERE {' AND '.join(conditions)}" if conditions else ""), params

    def job_stats(self, *, providers: Sequence[str] | None = None) -> dict[str, Any]:
        """Counts by status, the oldest due pending job, failures by error code (of the jobs
        of `providers`, when given).

        Failed jobs whose error is JSON are counted by its `code` (UNKNOWN without one); the
        others (plain text, or no error) as ERROR.
        """
        listed = json_list(providers)
        of_providers = self.dialect.of_providers(self.dialect.p("providers"))
        where = "" if listed is None else f" WHERE {of_providers}"

        def work(s: Session) -> dict[str, Any]:
            sql = f'SELECT "status", COUNT(*) FROM {JOBS}{where} GROUP BY "status"'
            counts = s.execute(sql, {"providers": listed}).rows
            first = self._next_due(s, None, listed)
            return {
                "counts": {str(k): int(v) for k, v in counts},
                "oldest_due_ms": None if first is None else int(first),
                "failures_by_code": self._failures_by_code(s, listed),
            }

        return self._run(work)

    def _failures_by_code(self, s: Session, providers: str | None) -> dict[str, int]:
        p = self.dialect.p
        valid = self.dialect.json_valid(q("error"))
        failed = f'"status" = {p("failed")}{self._and_providers(providers)}'
        bound = {"failed": FAILED, "providers": providers}
        if valid is None:
            # No SQL test of JSON validity on this engine: the distinct texts are read here.
            texts = s.execute(
                f'SELECT "error", COUNT(*) FROM {JOBS} WHERE {failed} GROUP BY "error"', bound
            ).rows
            failures: dict[str, int] = {}
            for text, n in texts:
                key = _error_key(text)
                failures[key] = failures.get(key, 0) + int(n)
            return dict(sorted(failures.items(), key=lambda item: (-item[1], item[0])))
        code = f"COALESCE({self.dialect.json_text(q('error'), 'code')}, 'UNKNOWN')"
        rows = s.execute(
            f"SELECT {code}, COUNT(*) FROM {JOBS} WHERE {failed} "
            f"AND COALESCE({valid}, 0) = 1 GROUP BY {code} ORDER BY COUNT(*) DESC, {code}",
            bound,
        ).rows
        failures = {str(found): int(n) for found, n in rows}
        plain_errors = s.execute(
            f"SELECT COUNT(*) FROM {JOBS} WHERE {failed} AND COALESCE({valid}, 0) = 0", bound
        ).scalar()
        if plain_errors:
            failures["ERROR"] = failures.get("ERROR", 0) + int(plain_errors)
        return failures

    def reset_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> int:
        """Failed or pending jobs due again with fresh attempts (never completed/processing)."""
        d, p = self.dialect, self.dialect.p
        fresh = d.json_remove(f'COALESCE("metadata", {d.empty_object})', "owner", "in_flight")
        sql = (
            f'UPDATE {JOBS} SET "status" = {p("pending")}, "attempts" = 0, '
            f'"process_at" = {p("now")}, "error" = NULL, "failed_at" = NULL, "metadata" = {fresh} '
            f'WHERE {d.unindexed(q("status"))} IN ({p("failed")}, {p("pending")}) AND "id" IN'
        )
        return self._update_ids(sql, job_ids, {"pending": PENDING, "failed": FAILED, "now": now_ms})


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (the engines' JSON functions refuse them too).
    raise ValueError(f"{name} is not JSON")


def _error_key(text: object) -> str:
    """How `job_stats` counts one failed job's error: its JSON code, UNKNOWN, or ERROR."""
    if text is None:
        return "ERROR"
    try:
        decoded = json.loads(str(text), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return "ERROR"
    code = decoded.get("code") if isinstance(decoded, dict) else None
    return "UNKNOWN" if code is None else str(code)
