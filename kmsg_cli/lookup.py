"""After a lost answer: ask the provider whether it has our messages (docs/recovery.md).

Only a provider that can list what it accepted (`SentFinder`: SOLAPI keeps our id in
`customFields`) can be asked. Each recipient is asked on its own, for a window around the time
its request went out, so the answers stay small and one failed lookup leaves only its own
messages unknown; several recipients are asked at once (a worker: as many as it sends at once).
A message is

- found: listed with our id (accepted; the provider's message id is recorded);
- absent: not listed by a lookup that completed (every page, well-formed) and that was made at
  least `ABSENCE_MARGIN_MS` after the request began: a request the provider is still working
  on would not be listed yet;
- early: not listed, but asked too soon to be sure; look again once the margin has passed;
- unknown (in none of the three): the lookup failed, was cut short, or cannot be made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kmsg_cli.errors import ProviderError
from kmsg_cli.models import (
    DeliveryStatus,
    Message,
    Notice,
    SendResult,
    StatusUpdate,
    native_fallback,
)
from kmsg_cli.providers.base import Provider, SentFinder

log = logging.getLogger("kmsg.lookup")

ABSENCE_MARGIN_MS = 10_000
LOOKUPS_AT_ONCE = 4  # recipients asked about at once (the default tracking.concurrency)
# The provider dates a message when it registers it: within the request's time, give or take
# the clocks' difference (SOLAPI refuses requests more than 15 minutes off).
WINDOW = timedelta(minutes=15)


Listed = dict[str, tuple[str, StatusUpdate]]  # what `SentFinder.find_sent` returns


@dataclass
class Verdicts:
    found: dict[str, SendResult] = field(default_factory=dict)  # by message id
    absent: set[str] = field(default_factory=set)
    early: set[str] = field(default_factory=set)


def can_look_up(client: Provider | None) -> bool:
    return isinstance(client, SentFinder)


def look_up(
    client: Provider,
    items: Sequence[tuple[Message, int]],
    *,
    now_ms: int,
    concurrency: int = LOOKUPS_AT_ONCE,
) -> Verdicts:
    """Ask `client` about each (message, epoch ms its request began); see the module docstring.
    Up to `concurrency` recipients are asked at once: a crash with a thousand messages in
    flight is a thousand lookups."""
    verdicts = Verdicts()
    if not isinstance(client, SentFinder):
        return verdicts
    finder = client
    by_recipient: dict[str, list[tuple[Message, int]]] = {}
    for message, at_ms in items:
        by_recipient.setdefault(message.to.number, []).append((message, at_ms))

    def ask(number: str) -> Listed | None:
        group = by_recipient[number]
        first = min(at for _, at in group)
        last = max(max(at for _, at in group), now_ms)
        try:
            return finder.find_sent(
                number, since=_moment(first) - WINDOW, until=_moment(last) + WINDOW
            )
        except ProviderError as error:
            log.warning("looking up %d message(s) at %s failed: %s", len(group), client.id, error)
            return None

    numbers = list(by_recipient)
    workers = max(1, min(concurrency, len(numbers)))
    if workers == 1:
        answers: Iterable[Listed | None] = map(ask, numbers)
    else:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kmsg-lookup")
        with pool:
            answers = list(pool.map(ask, numbers))
    for number, listed in zip(numbers, answers, strict=True):
        if listed is None:
            continue
        group = by_recipient[number]
        for message, at_ms in group:
            match = listed.get(message.message_id)
            if match is not None:
                verdicts.found[message.message_id] = _found(client, message, *match)
            elif now_ms - at_ms >= ABSENCE_MARGIN_MS:
                verdicts.absent.add(message.message_id)
            else:
                verdicts.early.add(message.message_id)
    return verdicts


def ask_all(
    providers: Sequence[Provider | None],
    items: Sequence[tuple[Message, int]],
    *,
    now_ms: int,
    concurrency: int = LOOKUPS_AT_ONCE,
) -> tuple[Verdicts, bool]:
    """`look_up` at several providers (None: one that cannot be built, so cannot be asked),
    and whether every one of them can be asked. A message found at any of them was accepted
    there; it is absent only when every one of them says so."""
    askable = all(can_look_up(p) for p in providers)
    merged = Verdicts()
    absent: list[set[str]] = []
    for provider in providers:
        if provider is None or not can_look_up(provider):
            continue
        answer = look_up(provider, items, now_ms=now_ms, concurrency=concurrency)
        for key, found in answer.found.items():
            merged.found.setdefault(key, found)
        absent.append(answer.absent)
        merged.early |= answer.early
    if askable and absent:
        merged.absent = set.intersection(*absent) - merged.found.keys()
    merged.early -= merged.found.keys() | merged.absent
    return merged, askable


def _found(
    client: Provider, message: Message, provider_message_id: str, update: StatusUpdate
) -> SendResult:
    group_id = update.raw.get("groupId") if update.raw else None
    return SendResult(
        message_id=message.message_id,
        provider_id=client.id,
        accepted=True,
        status=DeliveryStatus.PENDING if message.scheduled_at else DeliveryStatus.SENT,
        provider_message_id=provider_message_id,
        group_id=str(group_id) if group_id else None,
        native_failover=client.native_failover and native_fallback(message),
        warnings=(
            Notice("RECONCILED", "the answer was lost; the provider confirms it accepted it"),
        ),
    )


def not_there(result: SendResult, provider_id: str) -> SendResult:
    """An unknown outcome the provider's own complete listing proves was not accepted."""
    return SendResult(
        message_id=result.message_id,
        provider_id=provider_id,
        accepted=False,
        status=DeliveryStatus.FAILED,
        error_code=result.error_code,
        error_message=(result.error_message or "the answer was lost")
        + f" (provider {provider_id} does not have it: not sent)",
        retryable=True,
    )


def _moment(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)
