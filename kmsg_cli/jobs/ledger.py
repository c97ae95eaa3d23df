"""One request's life in the job ledger (`kmsg_jobs`), shared by `kmsg send` and the runner.

    claimed --mark in flight (provider, request)--> request --answer--> completed | failed
                                                               \\--lost--> unknown: looked up
                                                                        again later (deferred)

- `record`: a write made after the provider answered is retried while the database is busy
  (locked, unreachable, full) before kmsg gives up; `not_recorded` then turns the failure into
  `NotRecorded` (exit 6) when the provider accepted messages: they went out, and the error
  says so, with their ids, instead of "try again".
- `DirectLedger`: the rows of a direct `kmsg send` (metadata.origin "direct"), written already
  claimed before the first request, so that a second `kmsg send --id` (or a worker) can never
  send the same message while the first is in flight, and a crash leaves a trace to look up.
- An unknown outcome that the provider can still be asked about stays claimed with
  metadata.unknown {since, checks, reason} and is looked up again after 30 s, 2 min, 10 min,
  30 min, then every 2 h, for at most 24 h (`recheck_at`).

The rules, states and exit codes are described in docs/recovery.md.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kmsg_cli.errors import NotRecorded, StoreError, scrub
from kmsg_cli.jobs.codec import message_from_data, send_job
from kmsg_cli.models import (
    CONTENT_KEY,
    DeliveryStatus,
    Job,
    JobStatus,
    Message,
    SendResult,
    TrackingRow,
)
from kmsg_cli.store.contract import Store

log = logging.getLogger("kmsg.ledger")

UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
NOT_SENT = "NOT_SENT"
DIRECT = "direct"
RECORD_BUDGET_S = 60.0
# Failures that may pass: the lock is released, the server comes back, space is freed.
_TRANSIENT = frozenset({"DB_LOCKED", "DB_UNAVAILABLE", "DB_IO_ERROR", "DB_FULL"})
_OTHER_TRIES = 3
RECHECK_MS = (30_000, 120_000, 600_000, 1_800_000, 7_200_000)
GIVE_UP_MS = 86_400_000


def error_text(code: str, message: str, **extra: Any) -> str:
    """The `kmsg_jobs.error` column: a small JSON object, readable by people and scripts.
    The message often is the vendor's own text: secrets it echoes are masked first."""
    return json.dumps({"code": code, "message": scrub(message), **extra}, ensure_ascii=False)


def result_error(result: SendResult) -> str:
    """The error text of a message the provider did not accept."""
    return error_text(
        result.error_code or "SEND_FAILED",
        result.error_message or "not accepted",
        provider_code=result.provider_code,
        # a failure that may work later: a re-run of the batch tries it again
        **({"retryable": True} if result.retryable else {}),
    )


def is_direct(job: Job) -> bool:
    return (job.metadata or {}).get("origin") == DIRECT


def unknown_info(job: Job) -> dict[str, Any] | None:
    """metadata.unknown of a claimed job whose outcome waits for another lookup, or None."""
    info = (job.metadata or {}).get("unknown")
    return dict(info) if isinstance(info, dict) and (job.metadata or {}).get("in_flight") else None


def unknown_result(job: Job, message: Message, provider_id: str) -> SendResult:
    """The result of a job taken over while in flight: its outcome is unknown until looked up."""
    return SendResult(
        message_id=message.message_id,
        provider_id=provider_id,
        accepted=False,
        status=DeliveryStatus.UNKNOWN,
        error_code=UNKNOWN_OUTCOME,
        error_message=(unknown_info(job) or {}).get("reason")
        or "the worker sending it stopped before the answer was recorded",
        outcome_unknown=True,
    )


Taken = tuple[dict[tuple[str, ...], list[tuple[Job, Message]]], dict[str, int], dict[str, str]]


def group_taken(jobs: Sequence[Job]) -> Taken:
    """Jobs of unknown outcome taken over after a crash, grouped by the providers to ask (the
    one the in-flight mark names first, then the other suspects), with the time each request
    began, and the error text of those whose message cannot be read.

    A mark without a provider (an older kmsg) leaves every provider of the routing list a
    suspect."""
    groups: dict[tuple[str, ...], list[tuple[Job, Message]]] = {}
    started: dict[str, int] = {}
    unreadable: dict[str, str] = {}
    for job in jobs:
        meta = job.metadata or {}
        sent_to = meta.get("sent_to") if isinstance(meta.get("sent_to"), dict) else None
        if sent_to and sent_to.get("provider"):
            key: tuple[str, ...] = (str(sent_to["provider"]),)
        else:
            provider_id = str(job.data.get("provider"))
            others = [str(p) for p in job.data.get("candidates", []) if p != provider_id]
            key = (provider_id, *others)
        started[job.id] = int((sent_to or {}).get("at") or meta.get("in_flight") or 0)
        try:
            message = message_from_data(job.data["message"])
        except (KeyError, TypeError, ValueError) as exc:
            unreadable[job.id] = error_text("BAD_JOB", f"unreadable job: {exc}")
            continue
        groups.setdefault(key, []).append((job, message))
    return groups, started, unreadable


def recheck_at(
    info: Mapping[str, Any] | None, *, now_ms: int, reason: str
) -> tuple[int, dict[str, Any]]:
    """(when to look again, the new metadata.unknown) after one more inconclusive lookup."""
    checks = int((info or {}).get("checks") or 0) + 1
    since = int((info or {}).get("since") or now_ms)
    delay = RECHECK_MS[min(checks - 1, len(RECHECK_MS) - 1)]
    return now_ms + delay, {"since": since, "checks": checks, "reason": scrub(reason)}


def gave_up(info: Mapping[str, Any] | None, *, now_ms: int) -> bool:
    """True once an outcome has been unknown for GIVE_UP_MS."""
    return info is not None and now_ms - int(info.get("since") or now_ms) >= GIVE_UP_MS


def record(
    write: Callable[[], None],
    *,
    what: str,
    budget_s: float = RECORD_BUDGET_S,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run `write`, retrying a StoreError: transient ones for up to `budget_s` seconds, others
    a few times. Raises the last StoreError."""
    deadline = time.monotonic() + budget_s
    delay = 0.2
    tries = 0
    while True:
        tries += 1
        try:
            write()
            return
        except StoreError as error:
            if time.monotonic() >= deadline or (
                error.code not in _TRANSIENT and tries >= _OTHER_TRIES
            ):
                raise
            log.warning("could not record %s (%s); retrying in %.1f s", what, error.message, delay)
        sleep(delay)
        delay = min(delay * 2, 5.0)


def not_recorded(error: StoreError, accepted: Sequence[SendResult]) -> NotRecorded:
    """The error for accepted messages the database could not record (exit 6)."""
    listed = [
        {
            "message_id": r.message_id,
            "provider_id": r.provider_id,
            "provider_message_id": r.provider_message_id,
        }
        for r in accepted
    ]
    first = accepted[0]
    what = (
        f"provider {first.provider_id} accepted message {first.message_id} "
        f"(provider message id {first.provider_message_id or 'not given'})"
    )
    if len(accepted) > 1:
        what = f"{len(accepted)} messages were accepted (the first: {what})"
    return NotRecorded(
        f"{what}, but the database could not record it: {error.message}; "
        "it was sent: do not send it again",
        hint="once the database works, re-run the same command or `kmsg queue process --drain`: "
        "kmsg looks the message up and records it, and never sends an id twice",
        details={"accepted": listed, "database_error": error.code},
    )


def request_mark(provider_id: str, now_ms: int) -> dict[str, Any]:
    """metadata.sent_to of one request: the provider asked, an id for the request, the time."""
    return {"provider": provider_id, "request": uuid.uuid4().hex[:16], "at": now_ms}


TAKEN_OVER = "TAKEN_OVER"


def taken_over(pending: Sequence[Message], held: Sequence[Message]) -> dict[str, SendResult]:
    """The results of the messages of `pending` this command no longer holds when their
    request is due: the lease ran out (the command was paused or stuck that long) and another
    process took them over, which records what becomes of them (docs/recovery.md). Nothing of
    them was sent here."""
    kept = {message.message_id for message in held}
    return {
        message.message_id: SendResult(
            message_id=message.message_id,
            provider_id=message.provider_id or "",
            accepted=False,
            status=DeliveryStatus.FAILED,
            error_code=TAKEN_OVER,
            error_message=(
                f"message {message.message_id} was taken over by another kmsg process after "
                "this one's lease ran out; not sent here (kmsg queue list shows what became "
                "of it)"
            ),
        )
        for message in pending
        if message.message_id not in kept
    }


class DirectLedger:
    """The ledger rows of one `kmsg send` invocation (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        now_ms: int,
        owner: Mapping[str, Any],
        max_attempts: int = 3,
        lease_ms: int = 300_000,
        content_keys: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.content_keys = dict(content_keys or {})
        self.now_ms = now_ms
        self.owner = dict(owner)
        self.max_attempts = max_attempts
        self.lease_ms = lease_ms

    def open(self, items: Sequence[tuple[Message, Sequence[str]]]) -> dict[str, Job]:
        """Claim a row for every message before anything is sent (StoreError: nothing sent).

        New ids are inserted already claimed; an earlier row that surely did not go out
        (queued and still pending, or failed with a definite answer) is claimed again.
        Returns, by message id, the earlier rows that keep their message from being sent now:
        completed, claimed by another process, or of unknown outcome.
        """
        ids = [message.message_id for message, _ in items]
        earlier = self.store.get_jobs(ids)
        fresh = [
            self._job(message, candidates)
            for message, candidates in items
            if message.message_id not in earlier
        ]
        self.store.insert_jobs(fresh)
        failed = [
            job.id
            for job in earlier.values()
            if job.status == JobStatus.FAILED.value and not _unknown_failure(job)
        ]
        self.store.reset_jobs(failed, now_ms=self.now_ms)
        retaken = [job.id for job in earlier.values() if job.status != JobStatus.COMPLETED.value]
        self.store.claim_ids(retaken, now_ms=self.now_ms, lease_ms=self.lease_ms, owner=self.owner)
        now = self.store.get_jobs(ids)
        return {
            job_id: job
            for job_id, job in now.items()
            if job.status != JobStatus.PROCESSING.value
            or (job.metadata or {}).get("owner") != self.owner
        }

    def _job(self, message: Message, candidates: Sequence[str]) -> Job:
        return send_job(
            message,
            candidates,
            status=JobStatus.PROCESSING,
            attempts=1,
            max_attempts=self.max_attempts,
            created_at=self.now_ms,
            process_at=self.now_ms + self.lease_ms,
            metadata=self._metadata(message.message_id),
        )

    def _metadata(self, message_id: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {"origin": DIRECT, "owner": self.owner}
        key = self.content_keys.get(message_id)
        if key:
            metadata[CONTENT_KEY] = key  # recorded with the row (docs/duplicates.md)
        return metadata

    def mark(self, messages: Sequence[Message], provider_id: str) -> list[Message]:
        """Right before a request: these messages are in flight to `provider_id`. Returns
        those this command still holds, the only ones it may send."""
        held = set(
            self.store.mark_in_flight(
                [m.message_id for m in messages],
                now_ms=self.now_ms,
                sent_to=request_mark(provider_id, self.now_ms),
                owner=self.owner,
            )
        )
        return [m for m in messages if m.message_id in held]

    def settle(
        self,
        results: Sequence[SendResult],
        rows: Sequence[TrackingRow],
        *,
        askable: bool,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Record one batch's answers; an unknown outcome waits for a later lookup when the
        provider can be asked (`askable`), else it fails as UNKNOWN_OUTCOME for good.
        NotRecorded when accepted messages cannot be recorded."""
        accepted = [r.message_id for r in results if r.accepted]
        failures: dict[str, str] = {}
        holds: dict[str, tuple[int, dict[str, Any]]] = {}
        for result in results:
            if result.accepted:
                continue
            if not result.outcome_unknown:
                failures[result.message_id] = result_error(result)
            elif askable:
                reason = result.error_message or "the provider's answer was lost"
                holds[result.message_id] = recheck_at(None, now_ms=self.now_ms, reason=reason)
            else:
                failures[result.message_id] = error_text(
                    UNKNOWN_OUTCOME,
                    result.error_message or "the provider's answer was lost",
                    unknown=True,
                )

        def write() -> None:
            self.store.complete_jobs(accepted, rows, now_ms=self.now_ms)
            self.store.fail_jobs(failures, now_ms=self.now_ms)
            self.store.defer_unknown(holds)

        try:
            record(write, what=f"{len(results)} message(s)", sleep=sleep)
        except StoreError as error:
            sent = [r for r in results if r.accepted]
            if sent:
                raise not_recorded(error, sent) from None
            raise


def _unknown_failure(job: Job) -> bool:
    """A failed job whose message may have been accepted (UNKNOWN_OUTCOME): never re-sent
    without `kmsg queue retry --unknown`."""
    try:
        error = json.loads(job.error or "")
    except ValueError:
        return False
    return isinstance(error, dict) and error.get("code") == UNKNOWN_OUTCOME
