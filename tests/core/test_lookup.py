"""After a lost answer: `lookup.look_up` asks a provider about each recipient, several at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from kmsg_cli.errors import ProviderError
from kmsg_cli.lookup import ABSENCE_MARGIN_MS, look_up
from kmsg_cli.models import DeliveryStatus, Message, MessageDraft, StatusUpdate
from kmsg_cli.normalize import build_message
from kmsg_cli.providers.mock import MockProvider

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


class Finder(MockProvider):
    """A provider that lists what it holds, per recipient, and counts the lookups under way
    at once; the numbers in `broken` fail. With `together`, its first lookups wait for each
    other: they return only if that many run at once (else the barrier breaks)."""

    def __init__(self, held: set[str], broken: frozenset[str], together: int) -> None:
        super().__init__("finder", {"type": "mock"})
        self.held = held
        self.broken = broken
        self.asked: list[str | None] = []
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()
        self._together = threading.Barrier(together) if together > 1 else None

    def find_sent(
        self, to: str | None, *, since: datetime, until: datetime
    ) -> dict[str, tuple[str, StatusUpdate]]:
        with self._lock:
            self.asked.append(to)
            turn = len(self.asked)
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self._together is not None and turn <= self._together.parties:
                self._together.wait(timeout=10)
            if to in self.broken:
                raise ProviderError("lookup failed", code="PROVIDER_UNAVAILABLE")
            return {
                mid: (f"P-{mid}", StatusUpdate(f"P-{mid}", DeliveryStatus.SENT))
                for mid in self.held
                if mid.endswith(to or "")
            }
        finally:
            with self._lock:
                self.running -= 1


def message(n: int) -> Message:
    to = f"010{10000000 + n}"
    draft = MessageDraft(to=to, text="점검 안내", message_id=f"m{n}-{to}")
    return build_message(draft, default_id="unused", now=NOW)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_each_recipient_is_asked_once_and_the_verdicts_do_not_depend_on_concurrency(
    concurrency: int,
) -> None:
    messages = [message(n) for n in range(12)]
    held = {m.message_id for m in messages[:5]}
    broken = frozenset({messages[5].to.number})
    finder = Finder(held, broken, together=concurrency)
    started = NOW_MS - ABSENCE_MARGIN_MS  # asked late enough: a message not listed is absent
    items = [(m, started) for m in messages[:11]] + [(messages[11], NOW_MS - 1)]
    verdicts = look_up(finder, items, now_ms=NOW_MS, concurrency=concurrency)
    assert sorted(finder.asked) == sorted(m.to.number for m in messages)
    assert set(verdicts.found) == held
    first = messages[0].message_id
    assert verdicts.found[first].provider_message_id == f"P-{first}"
    assert verdicts.absent == {m.message_id for m in messages[6:11]}
    assert verdicts.early == {messages[11].message_id}  # asked too soon after its request
    # the failed lookup leaves its message in none of the three: unknown
    assert finder.most == (1 if concurrency == 1 else 4)
