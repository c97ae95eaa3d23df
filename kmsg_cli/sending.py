"""The send service: route validated messages, hand them to providers, record what happened.

Everything that can be refused is refused before the first provider call (routing, missing
credentials), so a command either sends nothing or sends what it could and says exactly
which messages were accepted. Each message has its row in the job ledger before its request
(kmsg_cli.jobs.ledger); accepted messages get a `kmsg_delivery_tracking` row, written in one
transaction per provider batch. A message id that already has a tracking row was accepted
earlier and is not sent again; one whose earlier send may have been accepted is not either.
"""

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from kmsg_cli.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROVIDER,
    REFUSAL_HINTS,
    InvalidInput,
    KmsgError,
    ProviderError,
    UnsupportedFeature,
)
from kmsg_cli.failover import Alternates, Refusals, failover_eligible
from kmsg_cli.files import open_regular
from kmsg_cli.models import (
    CONTENT_KEY,
    DeliveryStatus,
    Job,
    JobStatus,
    Message,
    Notice,
    SendResult,
    TrackingRow,
    epoch_ms,
)
from kmsg_cli.providers.base import Provider, ProviderSource, SentFinder
from kmsg_cli.routing import Need, choose, route

if TYPE_CHECKING:
    from kmsg_cli.config.model import Profile
    from kmsg_cli.store.contract import Store

log = logging.getLogger("kmsg.send")

FIRST_CHECK_MS = 30_000  # first delivery check after an immediate send
SCHEDULED_GRACE_MS = 120_000  # first check after the scheduled time


class Planned(NamedTuple):
    """A message with the providers that may send it, best first.

    `deferred`: no provider can schedule it natively, so it waits in the queue until its time.
    """

    message: Message
    candidates: tuple[str, ...]
    deferred: bool = False
    passed_over: tuple[tuple[str, str], ...] = ()  # (provider id, why): outside its window

    @property
    def provider_id(self) -> str:
        return self.candidates[0]


class Outcome(NamedTuple):
    """What became of one message."""

    message: Message
    provider_id: str
    result: SendResult | None = None
    previous: TrackingRow | None = None  # accepted by an earlier run under the same id

    @property
    def accepted(self) -> bool:
        return self.previous is not None or bool(self.result and self.result.accepted)

    @property
    def status(self) -> str:
        if self.previous is not None:
            return self.previous.status
        assert self.result is not None
        return self.result.status.value


class SendReport:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.errors: list[KmsgError] = []  # whole-request failures

    @property
    def accepted(self) -> int:
        return sum(1 for o in self.outcomes if o.accepted and o.previous is None)

    @property
    def already_sent(self) -> int:
        return sum(1 for o in self.outcomes if o.previous is not None)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.accepted)

    @property
    def simulated(self) -> bool:
        return any(o.result is not None and o.result.simulated for o in self.outcomes)

    def exit_code(self) -> int:
        """0 all accepted, 5 partial, else the failure's own code (3 for provider trouble)."""
        if self.failed == 0:
            return EXIT_OK
        if self.failed < len(self.outcomes):
            return EXIT_PARTIAL
        codes = {e.exit_code for e in self.errors}
        return codes.pop() if len(codes) == 1 else EXIT_PROVIDER


def assign_ids(messages: Sequence[Message], base: str) -> list[Message]:
    """`--id X`: the id of a single message, or `X:<number>` for each of several."""
    if len(messages) == 1:
        return [replace(messages[0], message_id=base)]
    return [replace(m, message_id=f"{base}:{m.to}") for m in messages]


def check_files(messages: Sequence[Message]) -> None:
    """Every image and document must be a readable file before anything is sent."""
    images = {m.image for m in messages if m.image}
    for path in sorted(images | {f for m in messages for f in m.files}):
        try:
            os.close(open_regular(path))  # a FIFO or a device is no image
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            what = "image" if path in images else "file"
            raise InvalidInput(
                f"cannot read {what} '{path}': {reason}",
                code=f"{what.upper()}_NOT_FOUND",
                field=what,
                value=path,
            ) from None


def plan(
    messages: Iterable[Message],
    profile: "Profile",
    *,
    rotation: int = 0,
    now: datetime | None = None,
) -> list[Planned]:
    """Route every message; raises before anything is sent if one cannot be routed.

    The n-th message gets round-robin position `rotation + n`. A scheduled message goes to a
    provider whose reservation window holds its time at `now` (default: the current time).
    """
    provider_types = {pid: cfg.type for pid, cfg in profile.providers.items()}
    now = now or datetime.now(UTC)
    planned: list[Planned] = []
    for message in messages:
        need = Need(
            type=message.type,
            scheduled=message.scheduled_at is not None,
            international=not message.to.is_korean,
            at=message.scheduled_at,
        )
        options: dict[str, Any] = {
            "providers": provider_types,
            "explicit": message.provider_id,
            "routing": profile.routing,
            "strategy": profile.strategy,
            "default_provider": profile.default_provider,
            "rotation": rotation + len(planned),
            "profile_name": profile.name,
            "now": now,
        }
        try:
            choice = choose(need, **options)
            planned.append(Planned(message, tuple(choice.candidates), False, choice.passed_over))
        except UnsupportedFeature:
            if not need.scheduled:
                raise
            # Nobody schedules natively: send it later from the queue instead.
            unscheduled = need._replace(scheduled=False, at=None)
            planned.append(Planned(message, tuple(route(unscheduled, **options)), deferred=True))
    return planned


def enqueue(
    planned: Sequence[Planned],
    *,
    store: "Store",
    now: datetime,
    priority: int = 0,
    max_attempts: int = 3,
    origin: str = "send",
    content_keys: Mapping[str, str] | None = None,
) -> list[Job]:
    """Write planned messages as pending jobs (`kmsg queue process` sends them).

    A deferred message waits until its time (`process_at`) and is then sent at once.
    Returns the jobs; ids that already exist are left as they are.
    """
    from kmsg_cli.jobs.codec import send_job

    now_ms = epoch_ms(now)
    jobs = []
    for item in planned:
        message = item.message
        process_at = now_ms
        if item.deferred and message.scheduled_at is not None:
            process_at = epoch_ms(message.scheduled_at)
            message = replace(message, scheduled_at=None)
        jobs.append(
            send_job(
                message,
                item.candidates,
                priority=priority,
                max_attempts=max_attempts,
                created_at=now_ms,
                process_at=process_at,
                metadata=with_content_key({"origin": origin}, message.message_id, content_keys),
            )
        )
    store.insert_jobs(jobs)
    return jobs


def with_content_key(
    metadata: dict[str, Any], message_id: str, content_keys: Mapping[str, str] | None
) -> dict[str, Any]:
    """`metadata` with the message's content key, recorded with its job (docs/duplicates.md)."""
    key = (content_keys or {}).get(message_id)
    if key:
        metadata[CONTENT_KEY] = key
    return metadata


def send(
    planned: Sequence[Planned],
    *,
    source: ProviderSource,
    store: "Store",
    now: datetime,
    max_attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    content_keys: Mapping[str, str] | None = None,
) -> SendReport:
    """Send planned messages and record them; see the module docstring.

    Every message gets its ledger row (claimed, in kmsg_jobs) before the first request, is
    marked in flight with its provider right before it, and is settled after it, with the
    tracking row of an accepted message in the same transaction (docs/recovery.md). A row that
    cannot be written before sending stops the send (nothing went out); one that cannot be
    written after the provider accepted raises NotRecorded (exit 6), never "try again".

    Failures that surely left nothing accepted (connection refused, 429/503, a per-message
    outage) are retried up to `max_attempts` with exponential backoff and jitter, honouring
    Retry-After. An unknown outcome is never retried here.
    """
    from kmsg_cli import owner as owners
    from kmsg_cli.jobs.ledger import TAKEN_OVER, DirectLedger

    report = SendReport()
    previous = store.find_tracking([p.message.message_id for p in planned])
    todo: dict[tuple[str, ...], list[Message]] = {}
    for item in planned:
        prior = previous.get(item.message.message_id)
        if prior is not None:
            report.outcomes.append(Outcome(item.message, prior.provider_id, previous=prior))
        else:
            todo.setdefault(item.candidates, []).append(item.message)

    # Build every client and check every message first: a missing credential or sender
    # stops the run before any send.
    clients = {candidates[0]: source.get(candidates[0]) for candidates in todo}
    for candidates, messages in todo.items():
        for message in messages:
            clients[candidates[0]].validate(message)
    ledger = DirectLedger(
        store,
        now_ms=epoch_ms(now),
        owner=owners.current(),
        max_attempts=max_attempts,
        content_keys=content_keys,
    )
    blocked = ledger.open([(m, candidates) for candidates, ms in todo.items() for m in ms])
    started: dict[str, int] = {}  # message id -> when its (last) request began

    def mark(used: Provider, pending: Sequence[Message]) -> list[Message]:
        held = ledger.mark(pending, used.id)
        started.update(dict.fromkeys((m.message_id for m in held), wall_ms()))
        return held

    refusals = Refusals()  # the providers that refused the account during this send
    for candidates, messages in todo.items():
        provider_id = candidates[0]
        client = clients[provider_id]
        for message in messages:
            if message.message_id in blocked:
                report.outcomes.append(_earlier(message, blocked[message.message_id], report, now))
        messages = [m for m in messages if m.message_id not in blocked]
        size = max(1, client.batch_size)
        for start in range(0, len(messages), size):
            batch = messages[start : start + size]
            log.info("sending %d message(s) through provider %s", len(batch), provider_id)
            # each request its own failover list, starting past a provider that refused the
            # account for an earlier request (docs/routing.md, "Failover")
            alternates = Alternates(source, candidates[1:])
            first = alternates.avoiding(client, batch, refusals.recent)
            results = _send_with_retries(
                first,
                batch,
                report,
                max_attempts,
                sleep,
                alternates,
                before_request=mark,
                refusals=refusals,
            )
            used = source.get(results[0].provider_id) if results else client
            results = reconcile(used, batch, results, started=started, sleep=sleep)
            rows = [
                tracking_row(message, result, now=now)
                for message, result in zip(batch, results, strict=True)
                if result.accepted
            ]
            owned = [r for r in results if r.error_code != TAKEN_OVER]  # the taker records it
            ledger.settle(owned, rows, askable=isinstance(used, SentFinder), sleep=sleep)
            report.outcomes.extend(
                Outcome(message, result.provider_id, result=result)
                for message, result in zip(batch, results, strict=True)
            )
    order = {item.message.message_id: index for index, item in enumerate(planned)}
    report.outcomes.sort(key=lambda o: order[o.message.message_id])
    return report


def _earlier(message: Message, job: Job, report: SendReport, now: datetime) -> Outcome:
    """The outcome of a message an earlier ledger row keeps from being sent now."""
    from kmsg_cli.jobs.ledger import UNKNOWN_OUTCOME

    provider_id = str(job.data.get("provider") or "")
    if job.status == JobStatus.COMPLETED.value:  # its tracking row was purged since
        done = SendResult(message.message_id, provider_id, True, DeliveryStatus.SENT)
        return Outcome(message, provider_id, previous=tracking_row(message, done, now=now))
    meta = job.metadata or {}
    unknown = False
    if job.status == JobStatus.CANCELLED.value:
        code = "CANCELLED"
        text = f"message {message.message_id} was cancelled (kmsg cancel); not sent"
        hint = "send it under another --id if it should go out after all"
    elif job.status == JobStatus.PROCESSING.value and not meta.get("unknown"):
        holder = meta.get("owner") or {}
        code = "IN_PROGRESS"
        text = (
            f"another kmsg process (host {holder.get('host')}, pid {holder.get('pid')}) is "
            f"sending message {message.message_id} right now; not sent again"
        )
        hint = f"kmsg queue list --status processing; it settles within the {LEASE_NOTE}"
    else:
        code, unknown = UNKNOWN_OUTCOME, True
        text = (
            f"an earlier send of message {message.message_id} may have been accepted "
            "(its outcome is unknown); kmsg does not send it twice"
        )
        hint = (
            "kmsg queue process --drain looks it up again"
            if job.status == JobStatus.PROCESSING.value
            else f"kmsg queue retry --id {message.message_id} sends it again on purpose"
        )
    busy = unknown or code == "IN_PROGRESS"
    error = ProviderError(text, code=code, provider_id=provider_id, hint=hint, outcome_unknown=busy)
    report.errors.append(error)
    return Outcome(message, provider_id, result=failure_result(message, provider_id, error))


LEASE_NOTE = "5-minute lease"
RETRY_BASE_SECONDS = 0.25
RETRY_CAP_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1`: Retry-After, else 2^n with jitter."""
    import random

    if retry_after is not None:
        return max(0.0, float(retry_after))
    ceiling: float = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * float(2 ** (attempt - 1)))
    return ceiling * (0.5 + random.random() / 2)


def _send_with_retries(
    client: Provider,
    batch: Sequence[Message],
    report: SendReport,
    max_attempts: int,
    sleep: Callable[[float], None],
    alternates: Alternates | None = None,
    *,
    before_request: Callable[[Provider, Sequence[Message]], list[Message]] | None = None,
    refusals: Refusals | None = None,
) -> list[SendResult]:
    """Send `batch` through `client`, retrying what may pass and failing over to `alternates`
    when a request surely was not accepted; a provider that refuses the account for a whole
    request is heard by `refusals` (the later requests of the send start past it)."""
    from kmsg_cli.jobs.ledger import taken_over

    final: dict[str, SendResult] = {}
    whole_request: set[str] = set()  # failed with the request itself, already in report.errors
    pending = list(batch)
    attempt = 0
    while attempt < max_attempts:
        attempt += 1
        last = attempt == max_attempts
        if before_request is not None:  # the ledger: in flight to this provider
            held = before_request(client, pending)
            final.update(taken_over(pending, held))  # taken over meanwhile: not ours to send
            if not (pending := held):
                break
        try:
            results = client.send(pending)
        except ProviderError as error:
            if refusals is not None:
                refusals.heard(client.id, error)
            if failover_eligible(error) and alternates is not None:
                alternate = alternates.next_for(pending)
                if alternate is not None:
                    log.warning("%s; failing over to provider %s", error.message, alternate.id)
                    client = alternate
                    attempt -= 1  # a different provider: a fresh try, not a retry
                    continue
            wait = backoff(attempt, error.retry_after)
            if error.retryable and not error.outcome_unknown and not last:
                if wait <= MAX_RETRY_AFTER_SECONDS:
                    log.warning("%s; retrying in %.1f s", error.message, wait)
                    sleep(wait)
                    continue
            report.errors.append(error)
            final.update((m.message_id, failure_result(m, client.id, error)) for m in pending)
            whole_request.update(m.message_id for m in pending)
            break
        if len(results) != len(pending):
            raise RuntimeError(
                f"provider {client.id} returned {len(results)} results for {len(pending)}"
            )
        retry = []
        for message, result in zip(pending, results, strict=True):
            if not result.accepted and result.retryable and not result.outcome_unknown and not last:
                retry.append(message)
            else:
                final[message.message_id] = result
        if not retry:
            break
        wait = backoff(attempt)
        log.warning("%d message(s) failed temporarily; retrying in %.1f s", len(retry), wait)
        sleep(wait)
        pending = retry
    for message in batch:
        result = final[message.message_id]
        if message.message_id in whole_request:
            continue
        if not result.accepted and result.error_code:
            report.errors.append(
                ProviderError(
                    result.error_message or result.error_code,
                    code=result.error_code,
                    provider_id=client.id,
                    provider_code=result.provider_code,
                    retryable=result.retryable,
                    hint=REFUSAL_HINTS.get(result.error_code),
                )
            )
    return [final[m.message_id] for m in batch]


def reconcile(
    client: Provider,
    batch: Sequence[Message],
    results: Sequence[SendResult],
    *,
    started: Mapping[str, int],
    sleep: Callable[[float], None] = time.sleep,
) -> list[SendResult]:
    """Resolve unknown outcomes by asking the provider (kmsg_cli.lookup); `started`: epoch
    ms each message's request began. Found: accepted. Surely absent: not accepted (a later
    run may send it). Asked too early: asked once more when the margin has passed. Anything
    else stays unknown and is never re-sent from here."""
    resolved = list(results)
    unknown = [m for m, r in zip(batch, results, strict=True) if r.outcome_unknown]
    if unknown:  # else nothing to ask (the usual case), and no need of kmsg_cli.lookup
        from kmsg_cli.lookup import ABSENCE_MARGIN_MS, can_look_up, look_up, not_there
    if not unknown or not can_look_up(client):
        return resolved
    verdicts = look_up(client, [(m, started[m.message_id]) for m in unknown], now_ms=wall_ms())
    if verdicts.early:
        ready = max(started[i] for i in verdicts.early) + ABSENCE_MARGIN_MS
        sleep(max(0, ready - wall_ms()) / 1000)
        early = [m for m in unknown if m.message_id in verdicts.early]
        again = look_up(client, [(m, started[m.message_id]) for m in early], now_ms=wall_ms())
        verdicts.found.update(again.found)
        verdicts.absent |= again.absent
    for index, (message, result) in enumerate(zip(batch, results, strict=True)):
        if message.message_id in verdicts.found:
            log.info(
                "message %s was accepted after all (found at the provider)", message.message_id
            )
            resolved[index] = verdicts.found[message.message_id]
        elif message.message_id in verdicts.absent:
            resolved[index] = not_there(result, client.id)
    return resolved


def wall_ms() -> int:
    return int(time.time() * 1000)


def failure_result(message: Message, provider_id: str, error: ProviderError) -> SendResult:
    """The result of a request that raised `error`: failed, or unknown when it may have gone out."""
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


def tracking_row(message: Message, result: SendResult, *, now: datetime) -> TrackingRow:
    """The `kmsg_delivery_tracking` row for an accepted message (README, "Delivery
    tracking")."""
    now_ms = epoch_ms(now)
    scheduled_ms = epoch_ms(message.scheduled_at) if message.scheduled_at else None
    next_check = (
        scheduled_ms + SCHEDULED_GRACE_MS if scheduled_ms is not None else now_ms + FIRST_CHECK_MS
    )
    metadata: dict[str, Any] = {"origin": "send"}
    if result.simulated:
        metadata["simulated"] = True
    if result.group_id:
        metadata["group_id"] = result.group_id
    if message.template_id:
        metadata["template_id"] = message.template_id
    if message.failover is not None:
        metadata["failover"] = {
            "requested": True,
            "type": message.failover.type.value,
            "text": message.failover.text,
            "subject": message.failover.subject,
            "native": result.native_failover,
        }
    sent = result.status == DeliveryStatus.SENT
    return TrackingRow(
        message_id=message.message_id,
        provider_id=result.provider_id,
        provider_message_id=result.provider_message_id,
        type=message.type.value,
        to=str(message.to),
        sender=message.sender,
        status=result.status.value,
        requested_at=now_ms,
        status_updated_at=now_ms,
        next_check_at=next_check,
        sent_at=now_ms if sent else None,
        scheduled_at=scheduled_ms,
        metadata=metadata,
    )


def notices(outcome: Outcome) -> tuple[Notice, ...]:
    """Warnings of the message and of the provider's answer, without repeats."""
    seen: dict[str, Notice] = {}
    extra = outcome.result.warnings if outcome.result else ()
    for notice in (*outcome.message.warnings, *extra):
        seen.setdefault(notice.code, notice)
    return tuple(seen.values())
