"""How a send-many run spreads one claim over its worker threads (kmsg_cli.jobs.worker)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from kmsg_cli.jobs.codec import message_to_data
from kmsg_cli.jobs.worker import BatchRunner
from kmsg_cli.models import DeliveryStatus, Job, Message, MessageType, Recipient, SendResult
from kmsg_cli.providers.catalog import CATALOG
from kmsg_cli.store.sqlite import SqliteStore

BATCH = "b-spread"


class Slow:
    """A provider whose requests take a while; records the requests in flight at once."""

    id = "p"
    type = "mock"
    capabilities = CATALOG["mock"]
    native_failover = False

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.requests: list[list[str]] = []
        self.in_flight = 0
        self.most = 0
        self._lock = threading.Lock()

    def validate(self, message: Message) -> None:
        pass

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        with self._lock:
            self.requests.append([m.message_id for m in messages])
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.1)
        with self._lock:
            self.in_flight -= 1
        return [
            SendResult(
                message_id=m.message_id,
                provider_id=self.id,
                accepted=True,
                status=DeliveryStatus.SENT,
                provider_message_id=f"P-{m.message_id}",
            )
            for m in messages
        ]

    def close(self) -> None:
        pass


class Source:
    def __init__(self, client: Slow) -> None:
        self.client = client

    def get(self, provider_id: str) -> Slow:
        assert provider_id == "p"
        return self.client


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    with SqliteStore(":memory:") as s:
        s.initialize()
        yield s


def _queue(store: SqliteStore, count: int) -> list[str]:
    ids = [f"{BATCH}:{n}" for n in range(count)]
    jobs = [
        Job(
            id=job_id,
            type="send",
            data={
                "message": message_to_data(
                    Message(
                        message_id=job_id,
                        type=MessageType.SMS,
                        to=Recipient(f"010{n:08d}"),
                        text="hi",
                        byte_length=2,
                    )
                ),
                "provider": "p",
                "candidates": ["p"],
            },
            created_at=1,
            process_at=1,
            metadata={"batch": BATCH, "row": n},
        )
        for n, job_id in enumerate(ids)
    ]
    store.insert_jobs(jobs)
    return ids


@pytest.mark.parametrize("concurrency", [1, 4])
def test_one_claim_of_several_batches_is_sent_by_several_threads(
    store: SqliteStore, concurrency: int
) -> None:
    slow = Slow(batch_size=100)
    ids = _queue(store, 800)
    runner = BatchRunner(
        store=store,
        clients=Source(slow),  # type: ignore[arg-type]
        batch_id=BATCH,
        concurrency=concurrency,
        claim_size=1000,  # one claim takes all 800: eight requests of 100
    )
    stats = runner.run()
    assert stats.accepted == 800 and stats.requests == 8
    assert sorted(i for request in slow.requests for i in request) == sorted(ids)  # each once
    assert all(len(request) == 100 for request in slow.requests)  # full batches
    assert slow.most == concurrency
    assert store.job_counts(batch=BATCH) == {"completed": 800}
    assert len(store.find_tracking(ids)) == 800
