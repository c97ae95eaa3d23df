"""send-many, part two: work off a batch's jobs exactly once (docs/recovery.md).

The cycle of one job (docs/recovery.md):

    pending --claim (lease, owner)--> processing --mark in flight (provider, request)--> request
        --accepted-------------------> completed  (+ tracking row, same transaction)
        --refused, final-------------> failed     (provider code and text)
        --refused, may work later----> pending    (process_at = now + backoff, Retry-After)
        --account refused------------> pending    (attempt given back; the run stops/pauses)
        --answer lost (unknown)------> looked up at that provider by our id: completed when
                                       found, pending when surely absent; else it stays
                                       claimed (metadata.unknown) and is looked up again with
                                       backoff; failed UNKNOWN_OUTCOME only when the provider
                                       cannot be asked, or after 24 h (never re-sent silently)

Crash recovery: a `processing` job whose owner is provably dead (same host, process gone) or
whose lease has expired is taken over. Without the in-flight mark it was never sent and goes
back to pending (a direct `kmsg send` row fails NOT_SENT: its command is gone); with it the
outcome is unknown, resolved as above. Ctrl-C: no new claims, requests in flight finish and
are recorded, unsent claims are released. One task per provider batch runs in the pool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from kmsg_cli import owner as owners
from kmsg_cli.errors import ACCOUNT_REFUSALS, KmsgError, ProviderError, StoreError
from kmsg_cli.failover import Alternates, Refusals, failover_eligible
from kmsg_cli.jobs.codec import message_from_data
from kmsg_cli.jobs.ledger import (
    NOT_SENT,
    UNKNOWN_OUTCOME,
    error_text,
    gave_up,
    group_taken,
    is_direct,
    not_recorded,
    recheck_at,
    record,
    request_mark,
    result_error,
    unknown_info,
    unknown_result,
)
from kmsg_cli.jobs.rate import RateLimiter
from kmsg_cli.jobs.stats import Halt, Stats
from kmsg_cli.lookup import ABSENCE_MARGIN_MS, Verdicts, ask_all, not_there
from kmsg_cli.models import Job, Message, SendResult, TrackingRow, epoch_ms
from kmsg_cli.providers.base import Provider, ProviderSource
from kmsg_cli.sending import backoff, failure_result, tracking_row
from kmsg_cli.store.contract import Store
from kmsg_cli.tracking import record_fallback_outcomes

log = logging.getLogger("kmsg.runner")

# How long send-many waits for an unknown outcome due for another lookup (longer: later runs)
WAIT_FOR_RECHECK_MS = ABSENCE_MARGIN_MS + 5_000
HALT_PAUSE_S = 60  # a worker service whose account was refused tries again after this


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
        providers: Sequence[str] | None = None,
    ) -> None:
        """`until`: "done" (send-many: every job of the batch finished, retries included),
        "drain" (stop when nothing is due now; cron), or "forever" (a worker service).
        `providers`: the provider ids of the profile; jobs of other providers (queued under
        another profile of a shared database) are neither claimed nor waited for."""
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
        self.providers = None if providers is None else tuple(providers)
        self.claimed = 0
        self.halted: Halt | None = None  # an account refusal stopped (or paused) the run
        self._paused = False
        self.refusals = Refusals()  # not asked again for a while when another can send
        self._last_recovery = time.monotonic()

    def now_ms(self) -> int:
        return epoch_ms(self.clock())

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> Stats:
        """Process the batch until no job is pending or held by this run; Ctrl-C stops cleanly.
        A send-many run (until "done") is a resume: its unknown outcomes are looked up at once."""
        self.recover(force_unknown=self.until == "done")
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
                if self._paused and self.halted is not None:  # a worker service waits it out
                    wait(running)
                    what = "%s refused the account (%s: %s); trying again in %d s"
                    log.warning(what, *self.halted, HALT_PAUSE_S)
                    self.sleep(HALT_PAUSE_S)
                    self._paused = False
                    continue
                jobs = self.store.claim_jobs(
                    now_ms=self.now_ms(),
                    lease_ms=self.lease_ms,
                    owner=self.owner,
                    limit=limit,
                    batch=self.batch_id,
                    providers=self.providers,
                )
                if jobs:  # one task per provider batch: the threads share requests evenly
                    self.claimed += len(jobs)
                    size = self._batch_size(jobs[0]) or len(jobs)
                    for start in range(0, len(jobs), size):
                        running.add(executor.submit(self._work, jobs[start : start + size]))
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
            self.stats.add(unknown=self._still_unknown())
        return self.stats

    def _still_unknown(self) -> int:
        """Jobs this run put off for another lookup, still waiting for it (0 if unreadable)."""
        try:
            jobs = self.store.processing_jobs(batch=self.batch_id)
        except StoreError:
            return 0
        return sum(
            1
            for job in jobs
            if unknown_info(job) is not None
            and owners.is_current((job.metadata or {}).get("owner"))
        )

    def _wait_for_more(self) -> bool:
        """Nothing claimable: wait for retries, other owners, lookups due soon ("drain": only
        those); False when done."""
        if self.until == "forever":
            if time.monotonic() - self._last_recovery >= 30:
                self._last_recovery = time.monotonic()
                self.recover()
            due = self._next_due()
            pause = self.poll_seconds
            if due is not None:
                pause = min(max((due - self.now_ms()) / 1000, 0.01), self.poll_seconds)
            self.sleep(pause)
            return True
        # The next due time and the batch's claimed jobs, both read through the status index;
        # never a count of every job of the batch (a full scan on SQLite), as this runs after
        # every wait for retries.
        due = self._next_due() if self.until == "done" else None
        held = soon = 0
        horizon = self.now_ms() + WAIT_FOR_RECHECK_MS
        for job in self.store.processing_jobs(batch=self.batch_id):
            if not self._ours(job):
                continue
            if unknown_info(job) is None:
                # claimed by another worker, or by a dead one not yet taken over
                held += 1 if self.until == "done" else 0
            elif job.process_at <= horizon:
                soon += 1  # looked up again in a moment: worth waiting for
        if due is None and not held and not soon:
            return False  # outcomes still unknown are looked up by later runs and workers
        if held or soon:
            self.recover()
            if due is not None:
                due = self._next_due()
        pause = 0.5
        if due is not None:
            pause = min(max((due - self.now_ms()) / 1000, 0.01), 1.0)
        self.sleep(pause)
        return True

    def _ours(self, job: Job) -> bool:
        """Whether the job's provider is one of this run's (all are without `providers`)."""
        return self.providers is None or job.data.get("provider") in self.providers

    def _next_due(self) -> int | None:
        return self.store.next_due_ms(batch=self.batch_id, providers=self.providers)

    def left_for_others(self) -> dict[str, int]:
        """Due jobs of providers outside `providers`, by provider (as `Tracker` counts rows);
        counted only when none of this run's own is due (cheap seeks first)."""
        now_ms, mine = self.now_ms(), self.providers or ()
        due_any, due_mine = self.store.next_due_ms(), self._next_due()
        if due_any is None or due_any > now_ms or (due_mine is not None and due_mine <= now_ms):
            return {}
        found = self.store.due_by_provider(now_ms=now_ms)
        return {provider: n for provider, n in sorted(found.items()) if provider not in mine}

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

    def _batch_size(self, job: Job) -> int | None:
        try:  # messages per request of the job's provider (None: left to `_work`)
            return max(1, self.clients.get(str(job.data["provider"])).batch_size)
        except (KmsgError, KeyError, TypeError, AttributeError):
            return None

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
                bad = error_text("BAD_JOB", f"unreadable job data: {exc}")
                self._settle_failures({job.id: bad})
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
                if self._paused:  # an account refusal: not sent, due again after the pause
                    self.store.release_jobs([job.id for job, _ in chunk], now_ms=self.now_ms())
                    continue
                self._send(client, chunk, Alternates(self.clients, others))

    def _send(
        self,
        client: Provider,
        chunk: Sequence[tuple[Job, Message]],
        alternates: Alternates | None = None,
    ) -> None:
        self.rate.acquire(len(chunk))
        if alternates is not None:  # docs/routing.md, "Failover"
            client = alternates.avoiding(client, [m for _, m in chunk], self.refusals.recent)
        while True:
            # Right before the request: in flight, to this provider (recovery asks only it),
            # and only what this run still holds: a job taken over after the lease ran out (a
            # run paused or stuck that long) is the other worker's to send.
            ids = [job.id for job, _ in chunk]
            started = self.now_ms()
            mark = request_mark(client.id, started)
            held = self.store.mark_in_flight(ids, now_ms=started, sent_to=mark, owner=self.owner)
            if len(held) < len(ids):
                chunk = self._still_held(chunk, held)
                if not chunk:
                    return
                ids = held
            messages = [message for _, message in chunk]
            self.stats.add(requests=1)
            try:
                results = client.send(messages)
                error: ProviderError | None = None
            except ProviderError as exc:
                error = exc
                results = [failure_result(m, client.id, exc) for m in messages]
                self.refusals.heard(client.id, exc)
                # The request surely was not accepted: the next provider of the routing list.
                alternate = (
                    alternates.next_for(messages) if failover_eligible(exc) and alternates else None
                )
                if alternate is not None:
                    log.warning("%s; failing over to provider %s", exc.message, alternate.id)
                    client = alternate
                    continue
            break
        self._settle(
            client,
            chunk,
            results,
            started=dict.fromkeys(ids, started),
            retry_after=error.retry_after if error else None,
        )

    @staticmethod
    def _still_held(
        chunk: Sequence[tuple[Job, Message]], held: Sequence[str]
    ) -> list[tuple[Job, Message]]:
        """The part of `chunk` this run still holds; the rest is logged and left alone."""
        kept = set(held)
        lost = [job.id for job, _ in chunk if job.id not in kept]
        log.warning(
            "%d job(s) (%s) were taken over by another worker after this run's lease ran out; "
            "not sent here",
            len(lost),
            ", ".join(lost[:5]) + (", ..." if len(lost) > 5 else ""),
        )
        return [item for item in chunk if item[0].id in kept]

    def _settle(
        self,
        client: Provider,
        chunk: Sequence[tuple[Job, Message]],
        results: Sequence[SendResult],
        *,
        started: Mapping[str, int],
        retry_after: float | None = None,
        suspects: Sequence[str] = (),
    ) -> None:
        """Record a chunk's results. `started`: job id -> when its request began. `suspects`:
        other providers its request may have gone to (jobs marked before the provider was
        recorded in the in-flight mark)."""
        now = self.clock()
        now_ms = epoch_ms(now)
        completed: list[str] = []
        accepted: list[SendResult] = []
        tracking: list[TrackingRow] = []
        failures: dict[str, str] = {}
        unknown_ids: set[str] = set()
        holds: dict[str, tuple[int, dict[str, Any]]] = {}
        retries: dict[str, tuple[int, str]] = {}
        refused: set[str] = set()  # the account was refused: their attempts are given back
        unknown = [
            (job, m) for (job, m), r in zip(chunk, results, strict=True) if r.outcome_unknown
        ]
        verdicts, askable = (
            self._ask(client, unknown, started, suspects) if unknown else (Verdicts(), False)
        )
        for (job, message), result in zip(chunk, results, strict=True):
            if result.outcome_unknown:
                key = message.message_id
                if key in verdicts.found:
                    result = verdicts.found[key]
                    self.stats.add(reconciled=1)
                elif key in verdicts.absent and is_direct(job):
                    text = f"provider {client.id} does not have it: it was not sent"
                    failures[job.id] = error_text(NOT_SENT, text)
                    continue
                elif key in verdicts.absent:
                    result = not_there(result, client.id)
                else:
                    unknown_ids.add(job.id)
                    reason = result.error_message or "the provider's answer was lost"
                    info = unknown_info(job)
                    if askable and not gave_up(info, now_ms=now_ms):
                        if key in verdicts.early:  # complete, but asked too soon to be sure
                            fresh = {"since": now_ms, "checks": 0, "reason": reason}
                            at = started[job.id] + ABSENCE_MARGIN_MS
                            holds[job.id] = (max(at, now_ms + 1), info or fresh)
                        else:
                            holds[job.id] = recheck_at(info, now_ms=now_ms, reason=reason)
                        continue
                    why = (
                        "no lookup could confirm it within 24 h"
                        if askable
                        else f"provider {client.id} cannot be asked what it accepted"
                    )
                    failures[job.id] = error_text(UNKNOWN_OUTCOME, f"{reason}; {why}", unknown=True)
                    continue
            if result.accepted:
                completed.append(job.id)
                accepted.append(result)
                tracking.append(tracking_row(message, result, now=now))
                continue
            error = result_error(result)
            if result.error_code in ACCOUNT_REFUSALS:  # the next requests would be refused too
                self._halt(client.id, result)
                retries[job.id] = (now_ms, error)  # not sent: due again once it is fixed
                refused.add(job.id)
                continue
            if result.retryable and job.attempts < job.max_attempts:
                wait_s = backoff(job.attempts, retry_after)
                retries[job.id] = (now_ms + int(wait_s * 1000), error)
            else:
                failures[job.id] = error

        def write() -> None:
            self.store.complete_jobs(completed, tracking, now_ms=now_ms)
            self.store.retry_jobs(retries, refund=refused)
            self.store.fail_jobs(failures, now_ms=now_ms)
            self.store.defer_unknown(holds)

        try:
            record(write, what=f"{len(chunk)} job(s)", sleep=self.sleep)
        except StoreError as error:
            if accepted:
                raise not_recorded(error, accepted) from None
            raise
        fallbacks = [
            job.id
            for job, _ in chunk
            if (job.metadata or {}).get("for_message")
            and (job.id in failures or job.id in completed)
        ]
        if fallbacks:  # whoever sends a fallback writes its outcome to the original row
            record_fallback_outcomes(self.store, fallbacks)
        if completed and self._paused is False and self.until == "forever":
            self.halted = None  # a worker service's account works again
        final_unknown = unknown_ids - holds.keys()  # failed as UNKNOWN_OUTCOME
        self.stats.add(
            accepted=len(completed),
            failed=len(failures) - len(final_unknown),
            unknown=len(final_unknown),
            deferred=len(holds),
            retried=len(retries),
        )
        log.info(  # -v: a line per request, for a worker's log (docs/cli.md)
            "%d job(s) through %s: %d accepted, %d failed, %d to retry, %d outcome unknown",
            *(len(chunk), client.id, len(completed), len(failures) - len(final_unknown)),
            *(len(retries), len(final_unknown) + len(holds)),
        )
        if self.on_progress is not None:
            self.on_progress(self.stats)

    def _halt(self, provider_id: str, result: SendResult) -> None:
        """No new requests (docs/recovery.md, "Account refusals"): a run stops, its claims
        released; a worker service (until "forever") pauses, then tries again."""
        if self.halted is None:
            self.halted = Halt(provider_id, str(result.error_code), result.error_message or "")
        if self.until == "forever":
            self._paused = True
        else:
            self.stop.set()

    def _settle_failures(self, failures: dict[str, str]) -> None:
        self.store.fail_jobs(failures, now_ms=self.now_ms())
        self.stats.add(failed=len(failures))

    # -- unknown outcomes --------------------------------------------------------------------
    def _ask(
        self,
        client: Provider,
        items: Sequence[tuple[Job, Message]],
        started: Mapping[str, int],
        suspects: Sequence[str],
    ) -> tuple[Verdicts, bool]:
        """What `client` and the `suspects` (providers the request may have gone to) say about
        jobs whose answer was lost; see `lookup.ask_all`."""
        providers: list[Provider | None] = [client]
        for provider_id in suspects:
            try:
                providers.append(self.clients.get(provider_id))
            except KmsgError:
                providers.append(None)  # cannot be asked: whatever it holds stays unknown
        asked = [(m, started[job.id]) for job, m in items]
        return ask_all(providers, asked, now_ms=self.now_ms(), concurrency=self.concurrency)

    # -- crash recovery ----------------------------------------------------------------------
    def recover(self, *, ids: set[str] | None = None, force_unknown: bool = False) -> int:
        """Take over jobs of dead owners or expired leases, and unknown outcomes due for
        another lookup (`force_unknown`: at once when their holder is this process or a dead
        one, as on a resume); `ids` limits it to those jobs. Returns how many were taken."""
        now_ms = self.now_ms()
        taken_unknown: list[Job] = []
        never_sent: dict[str, str] = {}
        taken = 0
        for job in self.store.processing_jobs(batch=self.batch_id):
            if (ids is not None and job.id not in ids) or not self._ours(job):
                continue
            holder = (job.metadata or {}).get("owner")
            if unknown_info(job) is not None:
                mine_or_dead = owners.is_current(holder) or owners.provably_dead(holder)
                if job.process_at > now_ms and not (force_unknown and mine_or_dead):
                    continue  # looked up again later, with backoff
            elif owners.is_current(holder):
                continue
            elif job.process_at > now_ms and not owners.provably_dead(holder):
                continue  # a live worker, or another host within its lease
            elif (job.metadata or {}).get("in_flight") and owners.alive_here(holder):
                # Its process still exists here (paused with Ctrl-Z, stuck): its request may
                # still go out when it goes on, so a lookup cannot prove absence yet.
                continue
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
            elif is_direct(mine):  # its `kmsg send` stopped before sending it
                text = "the kmsg send that claimed it stopped before sending it"
                never_sent[mine.id] = error_text(NOT_SENT, text)
            else:
                self.store.release_jobs([mine.id], now_ms=now_ms)
        if never_sent:
            self._settle_failures(never_sent)
        if taken_unknown:
            log.info("looking up %d job(s) whose outcome is unknown", len(taken_unknown))
            self._resolve_taken(taken_unknown)
        return taken

    def _resolve_taken(self, jobs: Sequence[Job]) -> None:
        groups, started, unreadable = group_taken(jobs)
        if unreadable:
            self._settle_failures(unreadable)
        for (provider_id, *others), items in groups.items():
            try:
                client = self.clients.get(provider_id)
            except KmsgError as error:
                self._settle_failures(
                    {j.id: error_text(error.code, error.message) for j, _ in items}
                )
                continue
            results = [unknown_result(j, m, provider_id) for j, m in items]
            self._settle(client, items, results, started=started, suspects=others)


def _raise_from(future: Future[None]) -> bool:
    """Re-raise a worker's exception in the main loop (a bug or a database failure)."""
    future.result()
    return False
