"""send-many, part two: work off a batch's jobs exactly once (SPEC §7, §8).

The cycle of one job:

    pending --claim (lease, owner)--> processing --mark in flight--> request
        --accepted-------------------> completed  (+ tracking row, same transaction)
        --refused, final-------------> failed     (provider code and text)
        --refused, may work later----> pending    (process_at = now + backoff, Retry-After)
        --answer lost (unknown)------> looked up by our id: completed, or pending when the
                                       vendor surely does not have it, else failed with
                                       UNKNOWN_OUTCOME (never re-sent silently)

Crash recovery: a `processing` job whose owner is provably dead (same host, process gone) or
whose lease has expired is taken over. Without the in-flight mark it was never sent and goes
back to pending; with it the outcome is unknown and is resolved as above.
Ctrl-C: no new claims, requests in flight finish and are recorded, unsent claims are released.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kmsg_cli import owner as owners
from kmsg_cli.codec import message_from_data
from kmsg_cli.errors import KmsgError, ProviderError, scrub
from kmsg_cli.models import DeliveryStatus, Job, Message, SendResult, TrackingRow, epoch_ms
from kmsg_cli.providers.base import Provider, SentFinder
from kmsg_cli.sending import (
    Alternates,
    ProviderSource,
    backoff,
    failover_eligible,
    tracking_row,
)
from kmsg_cli.store.base import Store

log = logging.getLogger("kmsg.runner")

UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
LOOKUP_WINDOW = timedelta(minutes=15)
PER_RECIPIENT_LOOKUPS = 20


def error_text(code: str, message: str, **extra: Any) -> str:
    """The `kmsg_jobs.error` column: a small JSON object, readable by people and scripts.
    The message often is the vendor's own text: secrets it echoes are masked first."""
    return json.dumps({"code": code, "message": scrub(message), **extra}, ensure_ascii=False)


@dataclass
class Stats:
    """What this run did (thread-safe counters)."""

    accepted: int = 0
    failed: int = 0
    unknown: int = 0
    retried: int = 0
    reconciled: int = 0
    released: int = 0
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class RateLimiter:
    """A token bucket shared by all workers: at most `rate` messages per second."""

    def __init__(self, rate: float | None, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.sleep = sleep
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def acquire(self, count: int) -> None:
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + count / self.rate
        if start > now:
            self.sleep(start - now)


class BatchRunner:
    def __init__(
        self,
        *,
        store: Store,
        clients: ProviderSource,
        batch_id: str | None,
        concurrency: int = 8,
        rate: float | None = None,
        lease_ms: int = 300_000,
        claim_size: int | None = 1000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        on_progress: Callable[[Stats], None] | None = None,
        until: str = "done",
        max_jobs: int | None = None,
        max_seconds: float | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        """`until`: "done" (send-many: every job of the batch finished, retries included),
        "drain" (stop when nothing is due now; cron), or "forever" (a worker service)."""
        self.store = store
        self.clients = clients
        self.batch_id = batch_id
        self.concurrency = max(1, concurrency)
        self.lease_ms = lease_ms
        # None: claim one provider batch at a time (learned from the clients), so that several
        # workers sharing a queue each take a fair share instead of one taking everything.
        self.adaptive_claims = claim_size is None
        self.claim_size = 50 if claim_size is None else max(1, claim_size)
        self.clock = clock
        self.sleep = sleep
        self.on_progress = on_progress
        self.rate = RateLimiter(rate, sleep=sleep)
        self.stats = Stats()
        self.stop = threading.Event()
        self.owner = owners.current()
        self.until = until
        self.max_jobs = max_jobs
        self.max_seconds = max_seconds
        self.poll_seconds = poll_seconds
        self.claimed = 0
        self._last_recovery = time.monotonic()

    def now_ms(self) -> int:
        return epoch_ms(self.clock())

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> Stats:
        """Process the batch until no job is pending or held by this run; Ctrl-C stops cleanly."""
        self.recover()
        started = time.monotonic()
        executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="kmsg-send")
        running: set[Future[None]] = set()
        try:
            while not self.stop.is_set():
                running = {f for f in running if not f.done() or _raise_from(f)}
                if len(running) >= self.concurrency:
                    wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                    continue
                limit = self.claim_size
                if self.max_jobs is not None:
                    limit = min(limit, self.max_jobs - self.claimed)
                out_of_time = (
                    self.max_seconds is not None and time.monotonic() - started >= self.max_seconds
                )
                if limit <= 0 or out_of_time:  # no new claims: finish what is running
                    wait(running)
                    break
                jobs = self.store.claim_jobs(
                    now_ms=self.now_ms(),
                    lease_ms=self.lease_ms,
                    owner=self.owner,
                    limit=limit,
                    batch=self.batch_id,
                )
                if jobs:
                    self.claimed += len(jobs)
                    running.add(executor.submit(self._work, jobs))
                    continue
                if running:
                    wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                    continue
                if not self._wait_for_more():
                    break
        except BaseException:
            self.stop.set()  # Ctrl-C or a failure: no new requests; in-flight ones finish
            raise
        finally:
            wait(running)
            executor.shutdown(wait=True)
            self._release_own()
        return self.stats

    def _wait_for_more(self) -> bool:
        """Nothing claimable now: wait for due retries or other owners; False when done."""
        if self.until == "drain":
            return False
        if self.until == "forever":
            if time.monotonic() - self._last_recovery >= 30:
                self._last_recovery = time.monotonic()
                self.recover()
            due = self.store.next_due_ms(batch=self.batch_id)
            pause = self.poll_seconds
            if due is not None:
                pause = min(max((due - self.now_ms()) / 1000, 0.01), self.poll_seconds)
            self.sleep(pause)
            return True
        counts = self.store.job_counts(batch=self.batch_id)
        pending = counts.get("pending", 0)
        processing = counts.get("processing", 0)
        if not pending and not processing:
            return False
        if processing:
            self.recover()
        due = self.store.next_due_ms(batch=self.batch_id)
        pause = 0.5
        if pending and due is not None:
            pause = min(max((due - self.now_ms()) / 1000, 0.01), 1.0)
        self.sleep(pause)
        return True

    def _release_own(self) -> None:
        """After a stop: every job still claimed by this run and not in flight is released."""
        mine = [
            job.id
            for job in self.store.processing_jobs(batch=self.batch_id)
            if owners.is_current((job.metadata or {}).get("owner"))
            and not (job.metadata or {}).get("in_flight")
        ]
        if mine:
            released = self.store.release_jobs(mine, now_ms=self.now_ms())
            self.stats.add(released=released)

    # -- one claimed chunk -------------------------------------------------------------------
    def _work(self, jobs: list[Job]) -> None:
        groups: dict[tuple[str, ...], list[tuple[Job, Message]]] = {}
        readable: list[tuple[Job, Message, str, list[str]]] = []
        for job in jobs:
            try:
                message = message_from_data(job.data["message"])
                provider_id = str(job.data["provider"])
                others = [str(p) for p in job.data.get("candidates", []) if p != provider_id]
            except (KeyError, TypeError, ValueError) as exc:
                self._settle_failures(
                    {job.id: error_text("BAD_JOB", f"unreadable job data: {exc}")}
                )
                continue
            readable.append((job, message, provider_id, others))
        # A message id that already has a tracking row was accepted before (e.g. by a direct
        # `kmsg send --id` after it was queued): complete the job, never send it again.
        sent = self.store.find_tracking([message.message_id for _, message, _, _ in readable])
        if sent:
            done = [job.id for job, message, _, _ in readable if message.message_id in sent]
            log.info("%d queued message(s) were already sent; not sending again", len(done))
            self.store.complete_jobs(done, [], now_ms=self.now_ms())
            self.stats.add(accepted=len(done))
        for job, message, provider_id, others in readable:
            if message.message_id not in sent:
                groups.setdefault((provider_id, *others), []).append((job, message))
        for (provider_id, *others), items in groups.items():
            try:
                client = self.clients.get(provider_id)
            except KmsgError as error:
                failures = {job.id: error_text(error.code, error.message) for job, _ in items}
                self._settle_failures(failures)
                continue
            if self.adaptive_claims and client.batch_size > self.claim_size:
                self.claim_size = min(client.batch_size, 1000)
            size = max(1, min(client.batch_size, self.claim_size))
            for start in range(0, len(items), size):
                chunk = items[start : start + size]
                if self.stop.is_set():
                    continue  # released by _release_own
                self._send(client, chunk, Alternates(self.clients, others))

    def _send(
        self,
        client: Provider,
        chunk: Sequence[tuple[Job, Message]],
        alternates: Alternates | None = None,
    ) -> None:
        self.rate.acquire(len(chunk))
        ids = [job.id for job, _ in chunk]
        messages = [message for _, message in chunk]
        self.store.mark_in_flight(ids, now_ms=self.now_ms())
        while True:
            self.stats.add(requests=1)
            try:
                results = client.send(messages)
                error: ProviderError | None = None
            except ProviderError as exc:
                error = exc
                results = [_failure(m, client.id, exc) for m in messages]
                # The request surely was not accepted: the next provider of the routing list.
                alternate = (
                    alternates.next_for(messages) if failover_eligible(exc) and alternates else None
                )
                if alternate is not None:
                    log.warning("%s; failing over to provider %s", exc.message, alternate.id)
                    client = alternate
                    continue
            break
        self._settle(client, chunk, results, retry_after=error.retry_after if error else None)

    def _settle(
        self,
        client: Provider,
        chunk: Sequence[tuple[Job, Message]],
        results: Sequence[SendResult],
        *,
        retry_after: float | None = None,
        suspects: Sequence[str] = (),
    ) -> None:
        """Record a chunk's results. `suspects`: other providers its request may have gone to
        (recovered jobs: a failover leaves no trace in the ledger)."""
        now = self.clock()
        now_ms = epoch_ms(now)
        completed: list[str] = []
        tracking: list[TrackingRow] = []
        failures: dict[str, str] = {}
        unknown_ids: set[str] = set()
        retries: dict[str, tuple[int, str]] = {}
        unknown = [
            (job, m, r) for (job, m), r in zip(chunk, results, strict=True) if r.outcome_unknown
        ]
        resolved = (
            self._lookup(client, [(job, m) for job, m, _ in unknown], now, suspects)
            if unknown
            else {}
        )
        for (job, message), result in zip(chunk, results, strict=True):
            if result.outcome_unknown:
                found = resolved.get(job.id)
                if isinstance(found, SendResult):
                    result = found
                    self.stats.add(reconciled=1)
                elif found == "absent":
                    result = _not_accepted(result)
                else:
                    failures[job.id] = error_text(
                        UNKNOWN_OUTCOME,
                        result.error_message or "the provider's answer was lost",
                        unknown=True,
                    )
                    unknown_ids.add(job.id)
                    continue
            if result.accepted:
                completed.append(job.id)
                tracking.append(tracking_row(message, result, now=now))
                continue
            error = error_text(
                result.error_code or "SEND_FAILED",
                result.error_message or "not accepted",
                provider_code=result.provider_code,
            )
            if result.retryable and job.attempts < job.max_attempts:
                wait_s = backoff(job.attempts, retry_after)
                retries[job.id] = (now_ms + int(wait_s * 1000), error)
            else:
                failures[job.id] = error
        if completed:
            self.store.complete_jobs(completed, tracking, now_ms=now_ms)
        if retries:
            self.store.retry_jobs(retries)
        if failures:
            self.store.fail_jobs(failures, now_ms=now_ms)
        self.stats.add(
            accepted=len(completed),
            failed=len(failures) - len(unknown_ids),
            unknown=len(unknown_ids),
            retried=len(retries),
        )
        if self.on_progress is not None:
            self.on_progress(self.stats)

    def _settle_failures(self, failures: dict[str, str]) -> None:
        self.store.fail_jobs(failures, now_ms=self.now_ms())
        self.stats.add(failed=len(failures))

    # -- unknown outcomes --------------------------------------------------------------------
    def _lookup(
        self,
        client: Provider,
        items: Sequence[tuple[Job, Message]],
        now: datetime,
        suspects: Sequence[str] = (),
    ) -> dict[str, SendResult | str]:
        """Job id -> accepted result (found), "absent" (surely not there), missing = unknown.

        With `suspects` (other providers the request may have failed over to), a message
        found at any of them was accepted there, and it is "absent" only when every one of
        them, `client` included, can be asked and does not have it.
        """
        providers: list[Provider | None] = [client]
        for provider_id in suspects:
            try:
                providers.append(self.clients.get(provider_id))
            except KmsgError:
                providers.append(None)  # cannot be asked: whatever it holds stays unknown
        found: dict[str, SendResult | str] = {}
        absent: Counter[str] = Counter()
        for provider in providers:
            if provider is None:
                continue
            for job_id, answer in self._find(provider, items, now).items():
                if isinstance(answer, SendResult):
                    found.setdefault(job_id, answer)
                else:
                    absent[job_id] += 1
        for job, _ in items:
            if job.id not in found and absent[job.id] == len(providers):
                found[job.id] = "absent"
        return found

    def _find(
        self, client: Provider, items: Sequence[tuple[Job, Message]], now: datetime
    ) -> dict[str, SendResult | str]:
        """One provider's answer: job id -> accepted result or "absent"; missing = unknown."""
        if not isinstance(client, SentFinder):
            return {}
        outcome: dict[str, SendResult | str] = {}
        since = min(_created(job) for job, _ in items) - LOOKUP_WINDOW
        # Few messages: ask per recipient (small answers). Many: one listing of the window.
        queries: dict[str | None, list[tuple[Job, Message]]] = {}
        for job, message in items:
            key = message.to.number if len(items) <= PER_RECIPIENT_LOOKUPS else None
            queries.setdefault(key, []).append((job, message))
        for number, group in queries.items():
            try:
                found = client.find_sent(number, since=since, until=now + LOOKUP_WINDOW)
            except ProviderError as error:
                log.warning("lookup after an unknown outcome failed: %s", error.message)
                continue
            for job, message in group:
                match = found.get(message.message_id)
                if match is None:
                    outcome[job.id] = "absent"
                    continue
                provider_message_id, update = match
                group_id = update.raw.get("groupId") if update.raw else None
                outcome[job.id] = SendResult(
                    message_id=message.message_id,
                    provider_id=client.id,
                    accepted=True,
                    status=DeliveryStatus.PENDING if message.scheduled_at else DeliveryStatus.SENT,
                    provider_message_id=provider_message_id,
                    group_id=str(group_id) if group_id else None,
                    native_failover=client.native_failover and message.failover is not None,
                )
        return outcome

    # -- crash recovery ----------------------------------------------------------------------
    def recover(self) -> int:
        """Take over jobs of dead owners or expired leases; returns how many were taken."""
        now_ms = self.now_ms()
        taken_unknown: list[Job] = []
        taken = 0
        for job in self.store.processing_jobs(batch=self.batch_id):
            holder = (job.metadata or {}).get("owner")
            if owners.is_current(holder):
                continue
            if job.process_at > now_ms and not owners.provably_dead(holder):
                continue  # a live worker, or another host within its lease
            mine = self.store.take_over(
                job.id,
                expected_process_at=job.process_at,
                now_ms=now_ms,
                lease_ms=self.lease_ms,
                owner=self.owner,
            )
            if mine is None:
                continue
            taken += 1
            if (mine.metadata or {}).get("in_flight"):
                taken_unknown.append(mine)
            else:
                self.store.release_jobs([mine.id], now_ms=now_ms)
        if taken_unknown:
            log.info(
                "%d job(s) were in flight when their worker died; looking them up",
                len(taken_unknown),
            )
            self._resolve_taken(taken_unknown)
        return taken

    def _resolve_taken(self, jobs: Sequence[Job]) -> None:
        # The ledger does not say whether the dead worker had failed over: every provider of
        # the job's routing list may hold the message.
        groups: dict[tuple[str, ...], list[tuple[Job, Message]]] = {}
        for job in jobs:
            provider_id = str(job.data.get("provider"))
            others = [str(p) for p in job.data.get("candidates", []) if p != provider_id]
            groups.setdefault((provider_id, *others), []).append(
                (job, message_from_data(job.data["message"]))
            )
        for (provider_id, *others), items in groups.items():
            try:
                client = self.clients.get(provider_id)
            except KmsgError as error:
                self._settle_failures(
                    {j.id: error_text(error.code, error.message) for j, _ in items}
                )
                continue
            results = [
                SendResult(
                    message_id=m.message_id,
                    provider_id=provider_id,
                    accepted=False,
                    status=DeliveryStatus.UNKNOWN,
                    error_code=UNKNOWN_OUTCOME,
                    error_message="the worker sending it stopped before the answer was recorded",
                    outcome_unknown=True,
                )
                for _, m in items
            ]
            self._settle(client, items, results, suspects=others)


def _created(job: Job) -> datetime:
    return datetime.fromtimestamp(job.created_at / 1000, UTC)


def _failure(message: Message, provider_id: str, error: ProviderError) -> SendResult:
    return SendResult(
        message_id=message.message_id,
        provider_id=provider_id,
        accepted=False,
        status=DeliveryStatus.UNKNOWN if error.outcome_unknown else DeliveryStatus.FAILED,
        error_code=error.code,
        error_message=error.message,
        provider_code=error.provider_code,
        retryable=error.retryable,
        outcome_unknown=error.outcome_unknown,
    )


def _not_accepted(result: SendResult) -> SendResult:
    """An unknown outcome the vendor's own list proves was not accepted: safe to retry."""
    return SendResult(
        message_id=result.message_id,
        provider_id=result.provider_id,
        accepted=False,
        status=DeliveryStatus.FAILED,
        error_code=result.error_code,
        error_message=(result.error_message or "") + " (the provider does not have it)",
        retryable=True,
    )


def _raise_from(future: Future[None]) -> bool:
    """Re-raise a worker's exception in the main loop (a bug or a database failure)."""
    future.result()
    return False
