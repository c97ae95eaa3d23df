"""The storage contract: what the services ask of a store, whatever the engine.

Only methods with callers outside the store are here; what only `kmsg db check` asks for is in
`kmsg_cli.store.inspect`. Every engine (SQLite, PostgreSQL, MySQL/MariaDB) implements it through
`kmsg_cli.store.sql.SqlStore`; the rules it keeps are described in docs/storage.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from kmsg_cli.models import ContentMatch, Job, TrackingRow


@runtime_checkable
class Store(Protocol):
    """Durable storage of delivery tracking rows and queue jobs."""

    def initialize(self) -> None:
        """Create missing tables and indexes (idempotent) and record the schema version.

        Raises StoreError `DB_SCHEMA_TOO_NEW` when the database was written by a newer kmsg.
        """
        ...

    def schema_version(self) -> int:
        """The schema version recorded in the database (0 before `initialize`)."""
        ...

    def get_tracking(self, message_id: str) -> TrackingRow | None:
        """The tracking row of one message, or None."""
        ...

    def find_tracking(self, message_ids: Sequence[str]) -> dict[str, TrackingRow]:
        """Tracking rows by message id; ids without a row are absent from the result."""
        ...

    def insert_tracking(self, rows: Sequence[TrackingRow]) -> int:
        """Insert rows in one transaction, skipping known message ids; returns the new count."""
        ...

    def insert_jobs(self, jobs: Sequence[Job]) -> int:
        """Insert jobs in one transaction, skipping existing ids; returns how many were new."""
        ...

    def complete_jobs(
        self, job_ids: Sequence[str], tracking: Sequence[TrackingRow], *, now_ms: int
    ) -> None:
        """Mark jobs completed and insert their tracking rows, all in one transaction.

        Also removes `metadata.in_flight`; `metadata.owner` is kept as a record of the worker.
        """
        ...

    def fail_jobs(self, failures: Mapping[str, str], *, now_ms: int) -> None:
        """Mark jobs failed (job id -> error text) in one transaction.

        Also removes `metadata.in_flight`; `metadata.owner` is kept.
        """
        ...

    # -- the job ledger (docs/storage.md, "The job ledger") ------------------------------------
    #
    # Dequeue order everywhere: priority DESC, process_at ASC, created_at ASC, id ASC.
    # `metadata.owner` (who holds the claim), `metadata.in_flight` (epoch ms: the request is
    # being sent now), `metadata.batch` (str) and `metadata.row` (int) are the only metadata
    # keys the store looks at; other keys are kept as they are. A NULL metadata counts as {}.

    def claim_jobs(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        owner: Mapping[str, Any],
        limit: int,
        batch: str | None = None,
    ) -> list[Job]:
        """Atomically claim up to `limit` due jobs and return them.

        Due: status 'pending' and process_at <= now_ms (and metadata.batch == batch when
        given). The first `limit` due jobs in dequeue order are taken in ONE statement:
        status='processing', attempts+1, process_at=now_ms+lease_ms (the lease),
        metadata.owner=owner, metadata.in_flight removed. Concurrent claimers (threads,
        processes, hosts) never receive the same job. Among jobs tied on (priority, process_at,
        created_at) at the `limit` boundary, which ones are taken first is up to the backend.

        The result is sorted by (-priority, created_at, metadata.row (jobs without a row
        last), id): the values the claim does not change, since process_at is now the lease
        for all of them. An empty list means no job of the batch is due now (`next_due_ms`
        tells when one will be).
        """
        ...

    def claim_ids(
        self, job_ids: Sequence[str], *, now_ms: int, lease_ms: int, owner: Mapping[str, Any]
    ) -> list[Job]:
        """Atomically claim the listed jobs that are 'pending', whatever their process_at, as
        `claim_jobs` claims (status 'processing', attempts+1, process_at=now_ms+lease_ms,
        metadata.owner=owner, metadata.in_flight removed); returns the claimed jobs in id
        order. Other ids (unknown, or in another status) are left alone.
        """
        ...

    def mark_in_flight(
        self,
        job_ids: Sequence[str],
        *,
        now_ms: int,
        sent_to: Mapping[str, Any] | None = None,
    ) -> None:
        """Set metadata.in_flight = now_ms (and metadata.sent_to = sent_to when given: which
        provider and request) on those jobs still 'processing', in one transaction; an earlier
        metadata.unknown is removed.

        Call it right before their request goes out: from then on the outcome of a job whose
        worker dies is unknown, and it must not be re-sent automatically.
        """
        ...

    def defer_unknown(self, holds: Mapping[str, tuple[int, Mapping[str, Any]]]) -> None:
        """Jobs whose outcome is still unknown wait for their next lookup (job id ->
        (process_at ms, info)): on jobs still 'processing', process_at and metadata.unknown =
        info are set, one transaction; owner and in_flight are kept.
        """
        ...

    def retry_jobs(self, retries: Mapping[str, tuple[int, str]]) -> None:
        """Put jobs back to 'pending' (job id -> (process_at ms, error text)), one transaction.

        Sets process_at and error and removes metadata.in_flight and metadata.owner; attempts
        is kept (the failed attempt counts), whatever the job's current status.
        """
        ...

    def release_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> int:
        """Give back claimed jobs that were never sent (Ctrl-C); returns how many were released.

        Only jobs still 'processing' and without metadata.in_flight change: status 'pending',
        attempts - 1 (never below 0), process_at = now_ms, metadata.owner removed. The owner
        is not checked: pass only ids this worker claimed and still holds.
        """
        ...

    def processing_jobs(self, *, batch: str | None = None) -> list[Job]:
        """All 'processing' jobs (of the batch when given), in dequeue order.

        For crash recovery: a job whose process_at (its lease) has passed, or whose
        metadata.owner is provably dead, is abandoned; with metadata.in_flight its outcome is
        unknown. The caller decides and then uses `take_over`.
        """
        ...

    def take_over(
        self,
        job_id: str,
        *,
        expected_process_at: int,
        now_ms: int,
        lease_ms: int,
        owner: Mapping[str, Any],
    ) -> Job | None:
        """Atomically re-claim one 'processing' job whose process_at still equals the lease seen.

        Sets process_at = now_ms + lease_ms and metadata.owner = owner; attempts and
        metadata.in_flight are kept. Returns the updated job, or None when the job is gone,
        no longer 'processing', or its process_at changed (another worker was first): of
        several recoverers passing the same expected_process_at, exactly one wins.
        """
        ...

    def cancel_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> set[str]:
        """Cancel those jobs still 'pending', in one transaction; returns the ids it cancelled.

        Each becomes 'cancelled' with completed_at = now_ms (the end of its life in the queue);
        nothing else changes. Jobs in any other status are left alone, so a claim and a cancel
        of the same job never both win: the claim takes only pending jobs, and the cancel only
        jobs no claim has taken. A cancelled job is never claimed, retried (`reset_jobs`) or
        sent again; `purge` deletes it like a finished job.
        """
        ...

    def job_counts(self, *, batch: str | None = None) -> dict[str, int]:
        """Number of jobs by status (of the batch when given); absent statuses are left out."""
        ...

    def next_due_ms(self, *, batch: str | None = None) -> int | None:
        """The smallest process_at among 'pending' jobs (of the batch when given), or None."""
        ...

    def iter_jobs(
        self, *, batch: str | None = None, status: str | None = None, chunk: int = 1000
    ) -> Iterator[Job]:
        """Stream jobs in id order (the primary key), `chunk` at a time.

        Keyset pagination: at most `chunk` jobs are read at a time, and no lock or transaction
        is held between chunks, so the caller may write to the store while iterating. Jobs
        changed meanwhile may appear in their new state or not at all (a changed status), never
        twice. Each chunk is an index range of the primary key, whatever the table size.
        """
        ...

    def get_jobs(self, job_ids: Sequence[str]) -> dict[str, Job]:
        """Jobs by id; unknown ids are absent from the result."""
        ...

    # -- delivery tracking (docs/storage.md, "Delivery tracking") ------------------------------
    #
    # A row is due when its status is PENDING or SENT and next_check_at <= now. A claim leases
    # a row by pushing its next_check_at forward (no other column changes); `apply_tracking`
    # then writes the result, guarded so that terminal statuses (DELIVERED, FAILED, CANCELLED,
    # UNKNOWN) never move and a checker whose lease was taken over cannot overwrite.

    def claim_due_tracking(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        limit: int,
        provider_id: str | None = None,
    ) -> list[TrackingRow]:
        """Atomically claim up to `limit` due rows (of the provider when given) and return them.

        Due: status PENDING or SENT and next_check_at <= now_ms. The first `limit` due rows by
        (next_check_at, message_id) are taken in ONE statement that sets next_check_at =
        now_ms + lease_ms (the lease: if the checker dies, the row is due again after it) and
        changes nothing else. Concurrent claimers (threads, processes, hosts) never receive
        the same row for the same due time. Among rows tied on next_check_at at the `limit`
        boundary, which ones are taken first is up to the backend (an index order, so that a
        claim costs O(limit) even when a million rows share one next_check_at).

        The rows are returned as they are after the claim, sorted by message_id: every
        returned next_check_at is now the lease, and RETURNING sees only new values. Pass
        each row's next_check_at to `apply_tracking(expected_next_check=...)`. `limit` <= 0
        claims nothing.
        """
        ...

    def apply_tracking(
        self,
        updates: Sequence[TrackingRow],
        *,
        jobs: Sequence[Job] = (),
        expected_next_check: Mapping[str, int] | None = None,
    ) -> set[str]:
        """Write checked rows and enqueue their follow-up jobs in ONE transaction.

        For each row of `updates` (by message_id), the columns in `TRACKING_MUTABLE_COLUMNS`
        (status, provider status code and message, sent/delivered/failed_at, status_updated_at,
        attempt_count, last_checked_at, next_check_at, last_error, metadata) are written, but
        only when the stored status is not terminal (a terminal row never changes, not even its
        metadata) and, when `expected_next_check` maps the message_id to a value, only when the
        stored next_check_at still equals it (the lease seen at claim time: a checker whose
        lease expired and was re-claimed by another loses). Unknown message ids change nothing.

        Then each job of `jobs` is inserted (existing ids are left untouched) only if the row
        named by its `metadata.for_message` was updated by this very call: of several checkers
        applying "FAILED + fallback job" for one message, exactly one enqueues it.

        Returns the message ids of the rows updated. Raises ValueError, before writing
        anything, when a message_id appears twice in `updates` or a job's
        `metadata.for_message` is not the message_id of one of `updates`.
        """
        ...

    def set_tracking_metadata_key(self, message_id: str, key: str, value: Any) -> bool:
        """Set one top-level key of a row's `metadata` atomically, even on a terminal row
        (the failover outcome is recorded on a FAILED row). Returns whether the row exists."""
        ...

    def cancel_tracking(
        self,
        message_ids: Sequence[str],
        *,
        now_ms: int,
        provider_status_code: str | None,
        provider_status_message: str | None,
    ) -> set[str]:
        """Mark those rows still PENDING as CANCELLED (the vendor confirmed the cancel), one
        transaction; returns the message ids changed.

        Sets status, status_updated_at = now_ms and the provider status code and message;
        rows in any other status are left alone (a terminal status never moves).
        """
        ...

    def iter_scheduled_tracking(
        self, *, since_ms: int, provider_id: str | None = None, chunk: int = 1000
    ) -> Iterator[TrackingRow]:
        """Stream the PENDING rows whose scheduled_at >= since_ms (of the provider when given)
        in message_id order, `chunk` at a time, holding nothing between chunks."""
        ...

    def pending_in_group(self, provider_id: str, group_id: str) -> list[TrackingRow]:
        """The PENDING rows of one provider whose `metadata.group_id` equals `group_id` (the
        vendor's request or group that holds them), in message_id order."""
        ...

    def list_tracking(
        self,
        *,
        status: Sequence[str] | None = None,
        provider_id: str | None = None,
        type: str | None = None,
        to: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TrackingRow]:
        """Tracking rows matching every filter given, newest first.

        `status` is any of the statuses (an empty sequence matches nothing); `to` is compared
        with the stored number as is (normalize it first); since_ms/until_ms bound requested_at,
        both inclusive. Ordered by requested_at DESC, message_id DESC; `limit` rows after
        skipping `offset`. Raises ValueError for a negative limit or offset.
        """
        ...

    def count_tracking_by_status(
        self,
        *,
        status: Sequence[str] | None = None,
        provider_id: str | None = None,
        type: str | None = None,
        to: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> dict[str, int]:
        """Number of tracking rows by status under the `list_tracking` filters.

        Statuses without rows are absent from the result.
        """
        ...

    def iter_tracking(self, *, chunk: int = 1000) -> Iterator[TrackingRow]:
        """Stream every tracking row in message_id order (the primary key), `chunk` at a time.

        Keyset pagination like `iter_jobs`: at most `chunk` rows are read at a time and nothing
        is held between chunks (`kmsg db copy` streams a whole history with it). Raises
        ValueError when `chunk` is not positive.
        """
        ...

    def purge(self, *, older_than_ms: int, limit: int = 5000) -> tuple[int, int]:
        """Delete one chunk of old finished rows in one transaction; (tracking, jobs) deleted.

        At most `limit` tracking rows with a terminal status and status_updated_at <
        older_than_ms, and at most `limit` jobs with status completed, failed or cancelled and
        COALESCE(completed_at, failed_at) < older_than_ms. Call it again until it returns
        (0, 0). Raises ValueError when `limit` is not positive.
        """
        ...

    def count_purgeable(self, *, older_than_ms: int) -> tuple[int, int]:
        """How many (tracking rows, jobs) `purge` with this `older_than_ms` would delete in all."""
        ...

    # -- content keys (docs/duplicates.md) ---------------------------------------------------
    #
    # `insert_jobs` and `insert_tracking` record `metadata.content_key` of what they insert in
    # kmsg's own `kmsg_content_keys` table, in the same transaction; `purge` forgets keys older
    # than its cut-off.

    def content_matches(
        self, keys: Sequence[str], *, since_ms: int
    ) -> dict[str, list[ContentMatch]]:
        """Messages recorded at or after `since_ms` by content key, with their job status,
        job error code and tracking time; keys without any are absent."""
        ...

    def adopt_jobs(self, moves: Mapping[str, tuple[str, int]]) -> set[str]:
        """Move jobs still 'pending' into another batch (job id -> (batch, row): sets
        metadata.batch and metadata.row), one transaction; returns the ids moved."""
        ...

    def reserve_sequence(self, name: str, count: int) -> int:
        """Atomically take `count` consecutive numbers of a named counter (kept in kmsg's own
        `kmsg_state` table, shared by every process); returns the first (0 the first time)."""
        ...

    def cache_get(self, name: str, *, now_ms: int) -> str | None:
        """The value cached under `name` (kmsg's own `kmsg_cache` table, shared by every
        process), or None when there is none or its expiry is not after `now_ms`."""
        ...

    def cache_put(self, name: str, value: str, *, expires_at_ms: int) -> None:
        """Cache `value` under `name` until `expires_at_ms` (epoch ms), replacing any value."""
        ...

    # -- queue management (`kmsg queue ...`) -------------------------------------------------
    def list_jobs(
        self,
        *,
        status: str | None = None,
        message_type: str | None = None,
        provider_id: str | None = None,
        batch: str | None = None,
        error_code: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Job]:
        """Jobs matching every given filter (type/provider from the job data, error code from
        the error JSON), newest first (created_at DESC, id DESC)."""
        ...

    def job_stats(self) -> dict[str, Any]:
        """{"counts": by status, "oldest_due_ms": earliest process_at of a pending job (or
        None), "failures_by_code": failed jobs by error code}."""
        ...

    def reset_jobs(self, job_ids: Sequence[str], *, now_ms: int) -> int:
        """Make failed (or pending) jobs due again with a fresh set of attempts: status
        pending, attempts 0, process_at now, error/failed_at cleared, owner and in-flight
        marks removed. Completed, processing and cancelled jobs are never touched. Returns
        the count."""
        ...

    def purge_jobs(self, *, older_than_ms: int, limit: int = 5000) -> int:
        """Delete up to `limit` finished jobs (completed/failed/cancelled) finished before the
        cutoff."""
        ...

    def count_tracking(self) -> int:
        """Number of tracking rows."""
        ...

    def count_jobs(self) -> int:
        """Number of jobs, whatever their status."""
        ...

    def describe(self) -> str:
        """Where the data lives, for people (`SQLite /path/to/kmsg.db`); never a password."""
        ...

    def close(self) -> None:
        """Release the connection; calling it twice is harmless."""
        ...

    def __enter__(self) -> Self:
        """Use the store as a context manager that closes it on exit."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        ...
