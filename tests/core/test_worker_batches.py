"""How a send-many run spreads one claim over its worker threads, and how it waits for
retries (kmsg_cli.jobs.worker)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from kmsg_cli.jobs.codec import message_to_data
from kmsg_cli.jobs.worker import BatchRunner
from kmsg_cli.models import DeliveryStatus, Job, Message, MessageType, Recipient, SendResult
from kmsg_cli.providers.catalog import CATALOG
from kmsg_cli.sending import tracking_row
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


class FlakyOnce(Slow):
    """Refuses every message's first attempt with a retryable error, accepts the second."""

    def __init__(self) -> None:
        super().__init__(batch_size=100)
        self.seen: set[str] = set()

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        results = []
        for m in messages:
            first = m.message_id not in self.seen
            self.seen.add(m.message_id)
            results.append(
                SendResult(
                    message_id=m.message_id,
                    provider_id=self.id,
                    accepted=not first,
                    status=DeliveryStatus.FAILED if first else DeliveryStatus.SENT,
                    provider_message_id="" if first else f"P-{m.message_id}",
                    error_code="RATE_LIMITED" if first else None,
                    retryable=first,
                )
            )
        self.requests.append([m.message_id for m in messages])
        return results


class NoCounting(SqliteStore):
    """A store whose whole-batch count fails: the wait between retries must not need it (it
    read every job of the batch, and on SQLite every job of the database, after each wait)."""

    def job_counts(self, *, batch: str | None = None) -> dict[str, int]:
        raise AssertionError("job_counts called while waiting for retries")


def test_waiting_for_retries_reads_only_what_is_pending_or_held() -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]

    def sleep(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)

    with NoCounting(":memory:") as store:
        store.initialize()
        ids = _queue(store, 250)
        flaky = FlakyOnce()
        runner = BatchRunner(
            store=store,
            clients=Source(flaky),  # type: ignore[arg-type]
            batch_id=BATCH,
            concurrency=2,
            clock=lambda: now[0],
            sleep=sleep,
        )
        stats = runner.run()
        assert stats.accepted == 250 and stats.retried == 250
        assert sorted(flaky.seen) == sorted(ids)
        assert now[0] > datetime(2026, 1, 1, tzinfo=UTC)  # it did wait for the retries
        assert SqliteStore.job_counts(store, batch=BATCH) == {"completed": 250}


class Broke(Slow):
    """Refuses every message for the account's balance until topped up, then accepts."""

    def __init__(self) -> None:
        super().__init__(batch_size=5)
        self.broke = True

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        if not self.broke:
            return super().send(messages)
        with self._lock:
            self.requests.append([m.message_id for m in messages])
        return [
            SendResult(
                message_id=m.message_id,
                provider_id=self.id,
                accepted=False,
                status=DeliveryStatus.FAILED,
                error_code="INSUFFICIENT_BALANCE",
                error_message="no balance",
            )
            for m in messages
        ]


def test_a_worker_service_pauses_at_an_account_refusal_and_goes_on_once_it_is_fixed(
    store: SqliteStore,
) -> None:
    from kmsg_cli.jobs.worker import HALT_PAUSE_S

    broke = Broke()
    ids = _queue(store, 12)
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if seconds == HALT_PAUSE_S:
            broke.broke = False  # topped up while the worker waits
        elif store.job_counts(batch=BATCH) == {"completed": 12}:
            runner.stop.set()  # a service runs until told to stop

    runner = BatchRunner(
        store=store,
        clients=Source(broke),  # type: ignore[arg-type]
        batch_id=BATCH,
        concurrency=1,
        claim_size=None,
        until="forever",
        sleep=sleep,
        poll_seconds=0.01,
    )
    stats = runner.run()
    # one refused request, one pause, then every message once
    assert pauses.count(HALT_PAUSE_S) == 1
    refused, *rest = broke.requests
    assert len(refused) == 5 and sorted(i for r in rest for i in r) == sorted(ids)
    assert stats.accepted == 12 and runner.halted is None
    # the refused attempt was given back: each job used one attempt, the one that went out
    assert {job.attempts for job in store.get_jobs(ids).values()} == {1}


def test_a_run_stops_at_an_account_refusal_and_leaves_its_jobs_pending(
    store: SqliteStore,
) -> None:
    broke = Broke()
    ids = _queue(store, 12)
    runner = BatchRunner(
        store=store,
        clients=Source(broke),  # type: ignore[arg-type]
        batch_id=BATCH,
        concurrency=1,
        claim_size=1000,
    )
    stats = runner.run()
    assert len(broke.requests) == 1 and stats.accepted == 0 and stats.failed == 0
    assert runner.halted is not None and runner.halted.code == "INSUFFICIENT_BALANCE"
    jobs = store.get_jobs(ids)
    assert {(job.status, job.attempts) for job in jobs.values()} == {("pending", 0)}


class Gate(Slow):
    """Holds its first request until `go` is set, so that a test can act meanwhile."""

    def __init__(self) -> None:
        super().__init__(batch_size=1)
        self.entered = threading.Event()
        self.go = threading.Event()

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        if not self.entered.is_set():
            self.entered.set()
            assert self.go.wait(10)
        return super().send(messages)


def test_a_job_taken_over_while_its_run_was_stuck_is_not_sent_by_that_run(
    store: SqliteStore,
) -> None:
    # Run A claims two jobs and is stuck in the first request past its lease; run B takes the
    # second over, sends and records it. When A goes on, it must not send the second again.
    gate = Gate()
    first, second = _queue(store, 2)
    runner = BatchRunner(
        store=store,
        clients=Source(gate),  # type: ignore[arg-type]
        batch_id=BATCH,
        concurrency=1,
        claim_size=2,
    )
    done: list[int] = []
    worker = threading.Thread(target=lambda: done.append(runner.run().accepted))
    worker.start()
    assert gate.entered.wait(10)
    (held,) = [job for job in store.processing_jobs() if job.id == second]
    other = {"host": "elsewhere", "pid": 1, "started": 1, "run": "run-b"}
    later = held.process_at + 1
    taken = store.take_over(
        second, expected_process_at=held.process_at, now_ms=later, lease_ms=60_000, owner=other
    )
    assert taken is not None
    assert store.mark_in_flight([second], now_ms=later, owner=other) == [second]  # B sends
    skipped = threading.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "taken over by another worker" in record.getMessage():
                skipped.set()

    watch = Watch()
    logging.getLogger("kmsg.runner").addHandler(watch)
    try:
        gate.go.set()
        assert skipped.wait(10)  # A reached the second job while B's request was out
    finally:
        logging.getLogger("kmsg.runner").removeHandler(watch)
    tracked = SendResult(second, "p", True, DeliveryStatus.SENT, provider_message_id="B-1")
    message = Message(second, MessageType.SMS, Recipient("01000000001"), "hi", 2)
    row = tracking_row(message, tracked, now=datetime.now(UTC))
    store.complete_jobs([second], [row], now_ms=later)  # B records its answer
    worker.join(20)
    assert not worker.is_alive()
    assert gate.requests == [[first]]  # A sent only what it still held
    assert done == [1]
    assert store.find_tracking([second])[second].provider_message_id == "B-1"
    assert store.job_counts(batch=BATCH) == {"completed": 2}
