"""The send service with the mock provider, a test double, and an in-memory store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from kmsg_cli.config import BUILTIN_SANDBOX
from kmsg_cli.errors import EXIT_PARTIAL, EXIT_PROVIDER, ProviderError
from kmsg_cli.models import DeliveryStatus, Message, MessageDraft, SendResult
from kmsg_cli.normalize import build_message
from kmsg_cli.providers import create_provider
from kmsg_cli.providers.catalog import CATALOG
from kmsg_cli.providers.mock import MockProvider
from kmsg_cli.sending import assign_ids, plan, send
from kmsg_cli.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    with SqliteStore(":memory:") as s:
        s.initialize()
        yield s


def message(to: str, text: str = "hi", **extra: str) -> Message:
    draft = MessageDraft(to=to, text=text, **extra)
    return build_message(draft, default_id=f"id-{to}", now=NOW)


class Source:
    def __init__(self, client: object) -> None:
        self.client = client
        self.asked: list[str] = []

    def get(self, provider_id: str) -> object:
        self.asked.append(provider_id)
        return self.client


class Exploding:
    """A provider whose whole request fails; `unknown` says if it may have been accepted."""

    id = "mock"
    type = "mock"
    capabilities = CATALOG["mock"]
    batch_size = 100
    native_failover = False

    def __init__(self, unknown: bool) -> None:
        self.unknown = unknown
        self.calls: list[Sequence[Message]] = []

    def validate(self, message: Message) -> None:
        pass

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        self.calls.append(messages)
        raise ProviderError(
            "read timeout", code="NETWORK_TIMEOUT", retryable=False, outcome_unknown=self.unknown
        )

    def close(self) -> None:
        pass


def test_accepted_messages_get_tracking_rows_rejected_ones_do_not(store: SqliteStore) -> None:
    mock = MockProvider("mock", {}, record=True)
    messages = [message("010-1111-2222"), message("010-3333-0000")]
    report = send(plan(messages, BUILTIN_SANDBOX), source=Source(mock), store=store, now=NOW)
    assert [o.accepted for o in report.outcomes] == [True, False]
    assert report.exit_code() == EXIT_PARTIAL
    row = store.get_tracking("id-010-1111-2222")
    assert row is not None
    assert (row.status, row.sent_at, row.next_check_at) == ("SENT", NOW_MS, NOW_MS + 30_000)
    assert store.get_tracking("id-010-3333-0000") is None
    assert [m.to.number for m in mock.sent] == ["01011112222"]


def test_an_already_tracked_id_is_not_sent_again(store: SqliteStore) -> None:
    mock = MockProvider("mock", {}, record=True)
    planned = plan([message("010-1111-2222")], BUILTIN_SANDBOX)
    send(planned, source=Source(mock), store=store, now=NOW)
    report = send(planned, source=Source(mock), store=store, now=NOW + timedelta(minutes=1))
    assert len(mock.sent) == 1
    assert report.already_sent == 1 and report.exit_code() == 0
    assert store.count_tracking() == 1


def test_a_scheduled_message_is_first_checked_after_its_time(store: SqliteStore) -> None:
    mock = MockProvider("mock", {}, record=True)
    m = message("010-1111-2222", at="+1h")
    send(plan([m], BUILTIN_SANDBOX), source=Source(mock), store=store, now=NOW)
    row = store.get_tracking(m.message_id)
    assert row is not None and row.status == DeliveryStatus.PENDING.value
    assert row.scheduled_at == NOW_MS + 3_600_000
    assert row.next_check_at == row.scheduled_at + 120_000
    assert row.sent_at is None


@pytest.mark.parametrize("unknown", [False, True])
def test_a_failed_request_fails_every_message_of_the_batch(
    store: SqliteStore, unknown: bool
) -> None:
    client = Exploding(unknown)
    messages = [message("010-1111-2222"), message("010-3333-4444")]
    report = send(plan(messages, BUILTIN_SANDBOX), source=Source(client), store=store, now=NOW)
    assert len(client.calls) == 1  # one batch request for both
    assert report.failed == 2 and report.exit_code() == EXIT_PROVIDER
    statuses = {o.result.status for o in report.outcomes if o.result}
    assert statuses == {DeliveryStatus.UNKNOWN if unknown else DeliveryStatus.FAILED}
    assert all(o.result and o.result.outcome_unknown is unknown for o in report.outcomes)
    assert store.count_tracking() == 0


def test_assign_ids_uses_the_key_alone_for_one_message() -> None:
    one = assign_ids([message("010-1111-2222")], "k")
    assert [m.message_id for m in one] == ["k"]
    two = assign_ids([message("010-1111-2222"), message("010-3333-4444")], "k")
    assert [m.message_id for m in two] == ["k:01011112222", "k:01033334444"]


def test_mock_rules_and_deterministic_ids() -> None:
    mock = create_provider(
        "demo", {"type": "mock", "reject_suffixes": ("9",), "unavailable_suffixes": ()}
    )
    ok, rejected = mock.send([message("010-1111-2222"), message("010-1111-2229")])
    assert ok.accepted and ok.simulated and ok.provider_id == "demo"
    assert ok.provider_message_id == mock.send([message("010-1111-2222")])[0].provider_message_id
    assert not rejected.accepted and rejected.error_code == "MOCK_REJECTED"
    assert not rejected.retryable


def test_mock_outage_rule_is_retryable() -> None:
    (result,) = MockProvider("mock", {}).send([message("010-1111-0503")])
    assert not result.accepted and result.retryable and result.error_code == "MOCK_UNAVAILABLE"


class Overtaken(SqliteStore):
    """A store in which another process takes `victim` over (its lease ran out while this
    command was paused) just before this command marks it in flight."""

    victim = "id-010-3333-4444"
    other: ClassVar[dict[str, Any]] = {"host": "elsewhere", "pid": 1, "started": 1, "run": "b"}

    def mark_in_flight(self, job_ids: Sequence[str], **kwargs: Any) -> list[str]:
        (held,) = [job for job in self.processing_jobs() if job.id == self.victim]
        later = held.process_at + 1
        taken = self.take_over(
            self.victim,
            expected_process_at=held.process_at,
            now_ms=later,
            lease_ms=60_000,
            owner=self.other,
        )
        assert taken is not None
        return super().mark_in_flight(job_ids, **kwargs)


def test_a_message_taken_over_before_its_request_is_neither_sent_nor_recorded_here() -> None:
    with Overtaken(":memory:") as store:
        store.initialize()
        mock = MockProvider("mock", {}, record=True)
        messages = [message("010-1111-2222"), message("010-3333-4444")]
        report = send(plan(messages, BUILTIN_SANDBOX), source=Source(mock), store=store, now=NOW)
        assert [m.to.number for m in mock.sent] == ["01011112222"]  # only what it held
        kept, lost = report.outcomes
        assert kept.accepted and not lost.accepted
        assert lost.result is not None and lost.result.error_code == "TAKEN_OVER"
        assert report.exit_code() == EXIT_PARTIAL
        (job,) = [j for j in store.processing_jobs() if j.id == Overtaken.victim]
        assert (job.metadata or {})["owner"] == Overtaken.other  # left to its new holder
        assert "in_flight" not in (job.metadata or {})
        assert store.get_tracking(Overtaken.victim) is None
