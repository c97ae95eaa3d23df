"""Delivery tracking: check due rows with their providers, in batches, exactly once.

One pass (`run_once`):
1. claim due rows (status PENDING/SENT, `next_check_at <= now`) by pushing `next_check_at`
   forward by a short lease, so overlapping runners never check a row twice for one due time;
2. ask each provider for many messages per request; a lookup that fails affects only its own
   rows, which are retried with backoff, except a refusal of the account (credentials): that
   stops the pass, and its rows, not checked, are due again at once (`halted`);
3. write the new state (terminal statuses never move back): backoff after the n-th check
   30 s, 2 min, 10 min, 30 min, then 2 h (per profile), UNKNOWN/TRACKING_TIMEOUT after 24 h;
4. API fallback: a FAILED AlimTalk, Brand Message or RCS message sent with a fallback text,
   whose failure means "not reachable on this channel" (`kmsg_cli.channels.fallback`) and
   whose provider did not fall back natively, gets one SMS/LMS job `<id>:api-fallback`,
   inserted in the same transaction that records FAILED. Every pass then sends the fallback
   jobs that are due, its own and those a killed pass left behind (their owner provably dead,
   or their lease expired); whoever sends a fallback (a pass, a queue worker) writes its
   outcome into the original row's `metadata.failover`.

Ctrl-C or SIGTERM stops a pass between steps: what was checked is written, claimed rows are
due again after their short lease, queued fallbacks wait for the next pass (docs/recovery.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from kmsg_cli.channels.fallback import falls_back, unreachable
from kmsg_cli.config.model import TrackingSettings
from kmsg_cli.errors import ACCOUNT_REFUSALS, KmsgError, scrub
from kmsg_cli.jobs.codec import message_to_data
from kmsg_cli.jobs.stats import Halt
from kmsg_cli.models import (
    TERMINAL_STATUSES,
    DeliveryStatus,
    Job,
    Message,
    MessageType,
    StatusUpdate,
    TrackingRow,
    epoch_ms,
)
from kmsg_cli.normalize import normalize_phone
from kmsg_cli.providers.base import ProviderSource, RequestCounter, StatusSource
from kmsg_cli.store.contract import Store

log = logging.getLogger("kmsg.track")

CLAIM_LEASE_MS = 120_000
CLAIM_CHUNK = 500
SCHEDULED_GRACE_MS = 120_000
FALLBACK_BATCH = "api-fallback"


@dataclass
class PassReport:
    """What one pass did; `by_status` counts the status of every checked row after the check."""

    checked: int = 0
    changed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # error code -> rows
    timed_out: int = 0
    fallbacks_queued: int = 0
    fallbacks_sent: int = 0
    fallbacks_failed: int = 0
    requests: int = 0
    next_check_ms: int | None = None  # the earliest check left after the pass; None: none left
    elapsed_s: float = 0.0
    interrupted: bool = False
    # provider id -> due rows left alone: not of the profile's providers (Tracker.providers)
    other_providers: dict[str, int] = field(default_factory=dict)
    halted: Halt | None = None  # a provider refused the account: the pass stopped there

    @property
    def looked_up_none(self) -> bool:
        """Rows were due and the lookup of every one failed (a provider out of reach)."""
        return bool(self.checked) and sum(self.errors.values()) >= self.checked

    def add(self, other: PassReport) -> None:
        """Count what another part of the same pass did (a chunk checked in a thread)."""
        self.checked += other.checked
        self.changed += other.changed
        for status, count in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + count
        for code, count in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + count
        self.timed_out += other.timed_out
        self.fallbacks_queued += other.fallbacks_queued
        self.requests += other.requests
        self.halted = self.halted or other.halted

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "changed": self.changed,
            "by_status": dict(sorted(self.by_status.items())),
            "errors": dict(sorted(self.errors.items())),
            "timed_out": self.timed_out,
            "fallbacks": {
                "queued": self.fallbacks_queued,
                "sent": self.fallbacks_sent,
                "failed": self.fallbacks_failed,
            },
            "requests": self.requests,
            "next_check_ms": self.next_check_ms,
            "elapsed_s": round(self.elapsed_s, 3),
            "interrupted": self.interrupted,
            "other_providers": dict(self.other_providers),
            "halted": self.halted.to_dict() if self.halted else None,
        }


# -- the pure state machine --------------------------------------------------------------------
def next_delay_ms(checks: int, settings: TrackingSettings) -> int:
    """Delay after the n-th check (1-based): 30 s, 2 min, 10 min, 30 min, then 2 h."""
    backoff = settings.backoff_ms
    return backoff[min(max(checks - 1, 0), len(backoff) - 1)]


def not_yet_sent(row: TrackingRow, now_ms: int) -> bool:
    """A message scheduled for a time still to come: nothing has happened to it yet."""
    return row.scheduled_at is not None and now_ms < row.scheduled_at


def tracking_start(row: TrackingRow) -> int:
    if row.scheduled_at is not None:
        return row.scheduled_at + SCHEDULED_GRACE_MS
    return row.requested_at


def apply_check(
    row: TrackingRow,
    update: StatusUpdate | None,
    *,
    now_ms: int,
    settings: TrackingSettings,
    error: KmsgError | None = None,
) -> TrackingRow:
    """The row after one check: `update` from the provider (None: not found yet), or `error`."""
    new = _copy(row)  # a shallow copy: what changes below is reassigned, never mutated
    new.attempt_count = row.attempt_count + 1
    new.last_checked_at = now_ms
    if error is not None:
        new.last_error = {"code": error.code, "message": error.message}
    elif update is None:
        new.last_error = None
    else:
        new.last_error = None
        if update.provider_status_code:
            new.provider_status_code = update.provider_status_code
        if update.provider_status_message:
            new.provider_status_message = scrub(update.provider_status_message)
        new.sent_at = update.sent_at or new.sent_at
        if update.status is not None and update.status.value != row.status:
            new.status = update.status.value
            new.status_updated_at = now_ms
        if update.status is DeliveryStatus.DELIVERED:
            new.delivered_at = update.delivered_at or now_ms
        if update.status is DeliveryStatus.FAILED:
            new.failed_at = update.failed_at or now_ms
        if update.replaced:
            meta = dict(new.metadata or {})
            failover = dict(meta.get("failover") or {})
            failover.update(path="native", outcome="replaced by the provider's SMS fallback")
            meta["failover"] = failover
            new.metadata = meta
    if _terminal(new.status):
        new.next_check_at = now_ms
        return new
    if now_ms - tracking_start(row) >= settings.max_tracking_ms:
        new.status = DeliveryStatus.UNKNOWN.value
        new.status_updated_at = now_ms
        new.next_check_at = now_ms
        new.last_error = {
            "code": "TRACKING_TIMEOUT",
            "message": "no final status within the tracking window",
        }
        return new
    new.next_check_at = now_ms + next_delay_ms(new.attempt_count, settings)
    return new


_STATUS_VALUES = frozenset(status.value for status in DeliveryStatus)
_TERMINAL_VALUES = frozenset(status.value for status in TERMINAL_STATUSES)


def _terminal(status: str) -> bool:
    if status in _STATUS_VALUES:
        return status in _TERMINAL_VALUES
    return DeliveryStatus(status) in TERMINAL_STATUSES  # not a status: raises ValueError


def _copy(row: TrackingRow) -> TrackingRow:
    """What `copy.copy` makes of a row, without its generic machinery (one per checked row)."""
    new: TrackingRow = object.__new__(TrackingRow)
    new.__dict__ = row.__dict__.copy()
    return new


def fallback_message(row: TrackingRow) -> Message | None:
    """The SMS/LMS to send instead of a failed message, from `metadata.failover`."""
    failover = (row.metadata or {}).get("failover") or {}
    text = failover.get("text")
    if not text:
        return None
    kind = MessageType(failover.get("type") or "SMS")
    try:
        recipient = normalize_phone(row.to)
    except KmsgError:
        return None
    return Message(
        message_id=f"{row.message_id}:api-fallback",
        type=kind,
        to=recipient,
        text=str(text),
        byte_length=len(str(text).encode("cp949", "replace")),
        sender=row.sender,
        subject=failover.get("subject") if kind is MessageType.LMS else None,
    )


# -- one pass ----------------------------------------------------------------------------------
@dataclass
class Tracker:
    store: Store
    clients: ProviderSource
    provider_types: dict[str, str]  # provider id -> type, of the active profile
    settings: TrackingSettings
    route_fallback: Callable[[Message], str]  # message -> provider id (routing)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # the profile's provider ids: rows of other providers (another profile's, in a shared
    # database) are neither claimed nor counted as due; None: every row
    providers: Sequence[str] | None = None
    # (provider id, words) of the lookup failures this pass has warned of: once each, not once
    # per chunk of rows (an unreachable provider fails every chunk alike)
    _warned: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)

    def run_once(
        self,
        *,
        limit: int = 100_000,
        provider_id: str | None = None,
        max_seconds: float | None = None,
        send_fallbacks: Callable[[], tuple[int, int]] | None = None,
        on_progress: Callable[[PassReport], None] | None = None,
    ) -> PassReport:
        """One bounded pass over due rows. `send_fallbacks` sends the fallback jobs that are
        due (this pass's and those an earlier, killed pass left) and returns (sent, failed).
        Ctrl-C/SIGTERM (KeyboardInterrupt) ends the pass early with `interrupted` set."""
        report = PassReport()
        started = time.monotonic()
        queued: list[str] = []
        claimed = 0
        self._warned.clear()
        # Up to `concurrency` claimed chunks are looked up at once: a chunk's requests wait for
        # the provider while the others are looked up and written (docs/configuration.md). The
        # next chunk is claimed ahead, while every slot is busy, and waits for a slot; a chunk
        # holds its slot only while it is looked up, so it is written while the next one is
        # looked up. A claimed chunk that waits keeps its lease (CLAIM_LEASE_MS).
        width = max(1, self.settings.concurrency)
        pool = ThreadPoolExecutor(2 * width, thread_name_prefix="kmsg-track") if width > 1 else None
        slots = threading.Semaphore(width)
        running: set[Future[tuple[list[str], PassReport]]] = set()

        def collect(done: set[Future[tuple[list[str], PassReport]]]) -> None:
            for future in done:
                ids, part = future.result()
                queued.extend(ids)
                report.add(part)
            if done and on_progress is not None:
                on_progress(report)

        try:
            try:
                while claimed < limit and report.halted is None:
                    if pool is not None:
                        done = {future for future in running if future.done()}
                        running -= done
                        collect(done)
                        if len(running) >= 2 * width:  # every thread looks up or writes
                            finished, _ = wait(running, return_when=FIRST_COMPLETED)
                            running -= finished
                            collect(finished)
                            continue
                    if max_seconds is not None and time.monotonic() - started >= max_seconds:
                        break
                    now_ms = epoch_ms(self.clock())
                    rows = self.store.claim_due_tracking(
                        now_ms=now_ms,
                        lease_ms=CLAIM_LEASE_MS,
                        limit=min(CLAIM_CHUNK, limit - claimed),
                        provider_id=provider_id,
                        providers=self.providers,
                    )
                    if not rows:
                        break
                    claimed += len(rows)
                    if pool is None:
                        ids, part = self._check(rows)
                        queued.extend(ids)
                        report.add(part)
                        if on_progress is not None:
                            on_progress(report)
                    else:
                        self._connect({row.provider_id for row in rows})
                        try:
                            slots.acquire()  # claimed ahead: it waits here for a lookup slot
                        except BaseException:  # Ctrl-C while waiting: not looked up at all
                            self._unclaim(rows, now_ms)
                            raise
                        running.add(pool.submit(self._check, rows, slots.release))
            finally:
                # Lookups already under way finish and are written, even after Ctrl-C.
                finished, _ = wait(running)
                running.clear()
                collect(finished)
            self._send_fallbacks(queued, send_fallbacks, report)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        if not report.interrupted:  # when to run again: cron logs and `track watch` say it
            report.next_check_ms = self.store.next_check_ms(provider_id, self.providers)
            if self.providers is not None and provider_id is None:
                report.other_providers = self._left_for_others(report.next_check_ms)
        report.elapsed_s = time.monotonic() - started
        return report

    def _left_for_others(self, mine_next: int | None) -> dict[str, int]:
        """Due rows of providers outside `providers`, by provider; counted only when none of
        the profile's own rows is due (cheap seeks first)."""
        now_ms = epoch_ms(self.clock())
        due_any = self.store.next_check_ms()
        if due_any is None or due_any > now_ms or (mine_next is not None and mine_next <= now_ms):
            return {}
        mine = set(self.providers or ())
        found = self.store.due_tracking_by_provider(now_ms=now_ms)
        return {provider: n for provider, n in sorted(found.items()) if provider not in mine}

    def check_now(
        self, row: TrackingRow, *, send_fallbacks: Callable[[], tuple[int, int]] | None = None
    ) -> PassReport:
        """Look one row up now, due or not (`kmsg track show --refresh`); a final row is not
        asked about again, nor one scheduled for later (the vendor holds it until then). It is
        written as a pass writes it: only if no pass claimed it meanwhile (that pass writes it
        then), and a fallback goes in with it, exactly once."""
        report = PassReport()
        if _terminal(row.status) or not_yet_sent(row, epoch_ms(self.clock())):
            return report
        queued, part = self._check([row])
        report.add(part)
        self._send_fallbacks(queued, send_fallbacks, report)
        return report

    def _send_fallbacks(
        self,
        queued: Sequence[str],
        send_fallbacks: Callable[[], tuple[int, int]] | None,
        report: PassReport,
    ) -> None:
        if send_fallbacks is not None:
            sent, failed = send_fallbacks()
            report.fallbacks_sent, report.fallbacks_failed = sent, failed
            record_fallback_outcomes(self.store, queued)

    def _unclaim(self, rows: Sequence[TrackingRow], now_ms: int) -> None:
        """Make claimed rows due again at once (they were not looked up), where this pass still
        holds their lease; otherwise they would wait for the lease to run out."""
        self.store.apply_tracking(
            [replace(row, next_check_at=now_ms) for row in rows],
            expected_next_check={row.message_id: row.next_check_at for row in rows},
        )

    def _connect(self, provider_ids: set[str]) -> None:
        """Build the providers' clients here, before threads look up with them: clients are
        built lazily, and threads asking for a new one at once would each build their own
        (an HTTP client and connection pool each, all but one left unused)."""
        for provider_id in sorted(provider_ids):
            try:
                self.clients.get(provider_id)
            except KmsgError:
                pass  # `_lookup` meets the same error and records it for the chunk's rows

    def _check(
        self, rows: Sequence[TrackingRow], looked_up: Callable[[], None] | None = None
    ) -> tuple[list[str], PassReport]:
        """Look up and record one claimed chunk; returns the fallback jobs it queued and what
        it did (merged into the pass's report by the caller: chunks may run in threads).
        `looked_up` is called once the chunk's lookups are over, before it is written."""
        report = PassReport()
        claimed_at = {row.message_id: row.next_check_at for row in rows}
        groups: dict[str, list[TrackingRow]] = {}
        for row in rows:
            groups.setdefault(row.provider_id, []).append(row)
        checked: list[tuple[TrackingRow, TrackingRow, KmsgError | None]] = []
        jobs: list[Job] = []
        refused: list[TrackingRow] = []  # the account was refused: not a check of theirs
        try:
            for pid, group in groups.items():
                updates, error = self._lookup(pid, group, report)
                now_ms = epoch_ms(self.clock())
                if error is not None and error.code in ACCOUNT_REFUSALS:
                    report.halted = report.halted or Halt(pid, error.code, error.message)
                    refused.extend(group)
                    continue
                for row in group:
                    update = updates.get(row.provider_message_id) if error is None else None
                    new = apply_check(
                        row, update, now_ms=now_ms, settings=self.settings, error=error
                    )
                    job = self._failover(row, new, now_ms)
                    if job is not None:
                        jobs.append(job)
                    checked.append((row, new, error))
        finally:
            if looked_up is not None:
                looked_up()
        if refused:  # due again at once, for the next pass once the account is fixed
            self._unclaim(refused, epoch_ms(self.clock()))
        # claim_due_tracking pushed next_check_at; only a checker still holding that lease
        # may write, and a fallback job goes in only with its row (exactly once).
        expected = {new.message_id: claimed_at[new.message_id] for _, new, _ in checked}
        written = self.store.apply_tracking(
            [new for _, new, _ in checked], jobs=jobs, expected_next_check=expected
        )
        for row, new, error in checked:
            if new.message_id not in written:
                continue
            report.checked += 1
            report.by_status[new.status] = report.by_status.get(new.status, 0) + 1
            if new.status != row.status:
                report.changed += 1
            if (new.last_error or {}).get("code") == "TRACKING_TIMEOUT":
                report.timed_out += 1
            if error is not None:
                report.errors[error.code] = report.errors.get(error.code, 0) + 1
        queued = [j.id for j in jobs if (j.metadata or {}).get("for_message") in written]
        report.fallbacks_queued += len(queued)
        return queued, report

    def _lookup(
        self, provider_id: str, rows: Sequence[TrackingRow], report: PassReport
    ) -> tuple[dict[str, StatusUpdate], KmsgError | None]:
        try:
            client = self.clients.get(provider_id)
        except KmsgError as error:
            return {}, error
        if not isinstance(client, StatusSource):
            return {}, KmsgError(
                f"provider '{provider_id}' cannot look up delivery status",
                code="UNSUPPORTED_PROVIDER",
            )
        ids = [row.provider_message_id for row in rows if row.provider_message_id]
        # HTTP requests, not lookup calls: one call may page or split its ids (SOLAPI: 100 per
        # request), and a provider without HTTP (mock) makes none.
        counter = client if isinstance(client, RequestCounter) else None
        before = counter.requests_made() if counter is not None else 0
        try:
            return client.fetch_statuses(ids), None
        except KmsgError as error:
            said = (provider_id, error.message)
            level = logging.INFO if error.code in ACCOUNT_REFUSALS else logging.WARNING
            level = level if said not in self._warned else logging.DEBUG
            log.log(level, "status lookup at %s failed: %s", *said)
            self._warned.add(said)
            return {}, error
        finally:
            if counter is not None:
                report.requests += counter.requests_made() - before

    def _failover(self, before: TrackingRow, after: TrackingRow, now_ms: int) -> Job | None:
        if (
            after.status != DeliveryStatus.FAILED.value
            or before.status == after.status
            or not falls_back(after.type)
        ):
            return None
        meta = dict(after.metadata or {})
        failover = dict(meta.get("failover") or {})
        if not failover.get("requested") or failover.get("path"):
            return None
        provider_type = self.provider_types.get(after.provider_id, after.provider_id)
        code, text = after.provider_status_code, after.provider_status_message
        if not unreachable(
            after.type,
            provider_type,
            code,
            text,
            kakao_codes=self.settings.non_kakao_codes,
            rcs_codes=self.settings.non_rcs_codes,
        ):
            failover.update(path="none", reason="the failure does not mean 'not reachable here'")
        elif failover.get("native"):
            failover.update(path="native", reason="the provider's own SMS fallback applies")
        else:
            message = fallback_message(after)
            if message is None:
                failover.update(path="none", reason="no failover text")
            else:
                try:
                    provider = self.route_fallback(message)
                except KmsgError as error:
                    failover.update(path="none", reason=error.message)
                else:
                    failover.update(path="api", job=message.message_id, queued_at=now_ms)
                    meta["failover"] = failover
                    after.metadata = meta
                    return Job(
                        id=message.message_id,
                        type="send",
                        data={"message": message_to_data(message), "provider": provider},
                        created_at=now_ms,
                        process_at=now_ms,
                        metadata={"batch": FALLBACK_BATCH, "for_message": after.message_id},
                    )
        meta["failover"] = failover
        after.metadata = meta
        return None


def record_fallback_outcomes(store: Store, job_ids: Sequence[str]) -> None:
    """Write each fallback job's outcome into its original row's `metadata.failover`."""
    jobs = store.get_jobs(job_ids)
    for job_id in job_ids:
        job = jobs.get(job_id)
        original = (job.metadata or {}).get("for_message") if job else None
        if job is None or not original:
            continue
        row = store.get_tracking(str(original))
        if row is None:
            continue
        failover = dict((row.metadata or {}).get("failover") or {})
        if job.status == "completed":
            fallback = store.get_tracking(job.id)
            failover.update(
                outcome="sent",
                fallback_message_id=job.id,
                fallback_provider_id=fallback.provider_id if fallback else None,
            )
        elif job.status == "failed":
            failover.update(outcome="failed", error=job.error)
        else:
            failover.update(outcome=job.status)
        store.set_tracking_metadata_key(row.message_id, "failover", failover)
