"""The tracking state machine and one pass, with an injected clock and scripted providers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from kmsg_cli.channels.fallback import is_non_kakao_user
from kmsg_cli.config import TrackingSettings
from kmsg_cli.errors import ProviderError
from kmsg_cli.models import DeliveryStatus, Message, StatusUpdate, TrackingRow
from kmsg_cli.providers.catalog import CATALOG
from kmsg_cli.store.sqlite import SqliteStore
from kmsg_cli.tracking import (
    FALLBACK_BATCH,
    Tracker,
    apply_check,
    next_delay_ms,
)

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)
SETTINGS = TrackingSettings()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Scripted:
    """A provider whose statuses the test sets; counts lookups."""

    id = "p"
    type = "solapi"
    capabilities = CATALOG["solapi"]
    batch_size = 100
    native_failover = False

    def __init__(self) -> None:
        self.statuses: dict[str, StatusUpdate] = {}
        self.lookups: list[list[str]] = []
        self.fail_with: ProviderError | None = None

    def fetch_statuses(self, ids: Sequence[str]) -> dict[str, StatusUpdate]:
        self.lookups.append(list(ids))
        if self.fail_with is not None:
            raise self.fail_with
        return {i: self.statuses[i] for i in ids if i in self.statuses}

    def validate(self, message: Message) -> None:
        pass

    def send(self, messages: Sequence[Message]) -> list:
        raise AssertionError("not used")

    def close(self) -> None:
        pass


class Source:
    def __init__(self, **clients: object) -> None:
        self.clients = clients

    def get(self, provider_id: str) -> object:
        return self.clients[provider_id]


def row(mid: str, *, provider: str = "p", status: str = "SENT", **extra: object) -> TrackingRow:
    values: dict[str, object] = {
        "message_id": mid,
        "provider_id": provider,
        "provider_message_id": f"P-{mid}",
        "type": "SMS",
        "to": "01012345678",
        "status": status,
        "requested_at": T0_MS,
        "status_updated_at": T0_MS,
        "next_check_at": T0_MS + 30_000,
    }
    values.update(extra)
    return TrackingRow(**values)  # type: ignore[arg-type]


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    with SqliteStore(":memory:") as s:
        s.initialize()
        yield s


def tracker(store: SqliteStore, clock: Clock, **clients: object) -> Tracker:
    return Tracker(
        store=store,
        clients=Source(**clients),  # type: ignore[arg-type]
        provider_types={"p": "solapi", "kakao": "mock"},
        settings=SETTINGS,
        route_fallback=lambda message: "p",
        clock=clock,
    )


# -- the pure state machine --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("checks", "delay"),
    [(1, 30_000), (2, 120_000), (3, 600_000), (4, 1_800_000), (5, 7_200_000), (9, 7_200_000)],
)
def test_backoff_after_the_nth_check(checks: int, delay: int) -> None:
    assert next_delay_ms(checks, SETTINGS) == delay


def test_backoff_is_configurable() -> None:
    custom = TrackingSettings(backoff_ms=(1000, 5000))
    assert [next_delay_ms(n, custom) for n in (1, 2, 3)] == [1000, 5000, 5000]


def test_a_terminal_status_is_final_and_timestamped() -> None:
    update = StatusUpdate("P-a", DeliveryStatus.DELIVERED, "4000", "ok", sent_at=1, delivered_at=2)
    new = apply_check(row("a"), update, now_ms=T0_MS + 60_000, settings=SETTINGS)
    assert (new.status, new.delivered_at, new.sent_at, new.attempt_count) == ("DELIVERED", 2, 1, 1)
    assert new.status_updated_at == T0_MS + 60_000 and new.next_check_at == T0_MS + 60_000


def test_an_unknown_code_is_kept_and_checked_again() -> None:
    update = StatusUpdate("P-a", None, "TEST1000", "test mode")
    new = apply_check(row("a"), update, now_ms=T0_MS + 30_000, settings=SETTINGS)
    assert new.status == "SENT" and new.provider_status_code == "TEST1000"
    assert new.status_updated_at == T0_MS  # unchanged status, unchanged time
    assert new.next_check_at == T0_MS + 30_000 + 30_000


@pytest.mark.rule("SOLAPI-SEND-RETENTION")
def test_tracking_gives_up_after_24_hours() -> None:
    late = T0_MS + 24 * 3_600_000
    new = apply_check(row("a", attempt_count=16), None, now_ms=late, settings=SETTINGS)
    assert new.status == "UNKNOWN" and new.last_error == {
        "code": "TRACKING_TIMEOUT",
        "message": "no final status within the tracking window",
    }


def test_a_scheduled_message_times_out_from_its_scheduled_time() -> None:
    scheduled = T0_MS + 10 * 3_600_000
    r = row("a", scheduled_at=scheduled, status="PENDING")
    new = apply_check(r, None, now_ms=T0_MS + 24 * 3_600_000, settings=SETTINGS)
    assert new.status == "PENDING"


@pytest.mark.parametrize(
    ("provider", "code", "text", "expected"),
    [
        ("solapi", "3104", None, True),
        ("solapi", "3107", None, True),
        ("solapi", "3043", "전원 꺼짐", False),
        ("solapi", "3999", "카카오톡 미사용자", True),
        ("iwinv", "K101", "카카오톡 미사용 사용자", True),
        ("iwinv", "K101", "카카오톡 차단", False),
        ("aligo", "3108", None, False),
    ],
)
def test_non_kakao_user_classification(
    provider: str, code: str, text: str | None, expected: bool
) -> None:
    assert is_non_kakao_user(provider, code, text) is expected


def test_extra_non_kakao_codes_are_configurable() -> None:
    assert is_non_kakao_user("aligo", "3108", None, ("3108",))


# -- passes over the store ---------------------------------------------------------------------
def test_due_rows_are_checked_in_one_lookup_and_backed_off(store: SqliteStore) -> None:
    clock = Clock()
    provider = Scripted()
    store.insert_tracking([row("a"), row("b"), row("later", next_check_at=T0_MS + 10**9)])
    provider.statuses["P-a"] = StatusUpdate("P-a", DeliveryStatus.DELIVERED, "4000")
    clock.advance(seconds=30)
    report = tracker(store, clock, p=provider).run_once()
    assert report.checked == 2 and report.by_status == {"DELIVERED": 1, "SENT": 1}
    assert provider.lookups == [["P-a", "P-b"]]
    b = store.get_tracking("b")
    assert b is not None and b.attempt_count == 1
    assert b.next_check_at == T0_MS + 30_000 + 30_000
    # nothing is due until then; then only b is asked again
    assert tracker(store, clock, p=provider).run_once().checked == 0
    clock.advance(seconds=30)
    tracker(store, clock, p=provider).run_once()
    assert provider.lookups[-1] == ["P-b"]
    b = store.get_tracking("b")
    assert b is not None and b.next_check_at == T0_MS + 60_000 + 120_000


def test_a_failing_lookup_affects_only_its_rows(store: SqliteStore) -> None:
    clock = Clock()
    broken, fine = Scripted(), Scripted()
    broken.fail_with = ProviderError("timeout", code="NETWORK_TIMEOUT", retryable=True)
    fine.statuses["P-b"] = StatusUpdate("P-b", DeliveryStatus.DELIVERED, "4000")
    store.insert_tracking([row("a", provider="x"), row("b", provider="p")])
    clock.advance(seconds=30)
    report = tracker(store, clock, p=fine, x=broken).run_once()
    assert report.errors == {"NETWORK_TIMEOUT": 1}
    assert not report.looked_up_none  # one of two looked up: the pass is no failure
    a, b = store.get_tracking("a"), store.get_tracking("b")
    assert a is not None and b is not None
    assert a.status == "SENT" and a.last_error == {"code": "NETWORK_TIMEOUT", "message": "timeout"}
    assert a.next_check_at == T0_MS + 60_000
    assert b.status == "DELIVERED"


def test_check_now_asks_at_once_and_backs_off_as_a_pass_would(store: SqliteStore) -> None:
    clock = Clock()
    provider = Scripted()
    store.insert_tracking([row("a")])  # due only in 30 s
    provider.statuses["P-a"] = StatusUpdate("P-a", DeliveryStatus.SENT, "3000")
    first = store.get_tracking("a")
    assert first is not None
    report = tracker(store, clock, p=provider).check_now(first)
    assert report.checked == 1 and provider.lookups == [["P-a"]]
    again = store.get_tracking("a")
    assert again is not None and again.attempt_count == 1
    assert again.next_check_at == T0_MS + 30_000  # the back-off starts from this check
    provider.statuses["P-a"] = StatusUpdate("P-a", DeliveryStatus.DELIVERED, "4000")
    assert tracker(store, clock, p=provider).check_now(again).by_status == {"DELIVERED": 1}
    final = store.get_tracking("a")
    assert final is not None and final.status == "DELIVERED"
    assert tracker(store, clock, p=provider).check_now(final).checked == 0  # final: not asked
    assert len(provider.lookups) == 2
    store.insert_tracking([row("later", status="PENDING", scheduled_at=T0_MS + 3_600_000)])
    scheduled = store.get_tracking("later")
    assert scheduled is not None
    assert tracker(store, clock, p=provider).check_now(scheduled).checked == 0
    assert len(provider.lookups) == 2  # nothing to ask before its time


def test_check_now_leaves_a_row_a_pass_has_claimed_to_that_pass(store: SqliteStore) -> None:
    clock = Clock()
    kakao = Scripted()
    kakao.statuses["P-k"] = StatusUpdate("P-k", DeliveryStatus.FAILED, "3104", "카카오톡 미사용자")
    store.insert_tracking([_alimtalk("k", native=False)])
    seen = store.get_tracking("k")  # what `track show --refresh` read
    assert seen is not None
    clock.advance(seconds=30)
    claimed = store.claim_due_tracking(now_ms=T0_MS + 30_000, lease_ms=60_000, limit=10)
    assert [r.message_id for r in claimed] == ["k"]  # a pass holds it now
    report = tracker(store, clock, kakao=kakao).check_now(seen)
    assert report.checked == 0 and report.fallbacks_queued == 0  # not written: the pass writes
    assert store.get_job("k:api-fallback") is None
    kept = store.get_tracking("k")
    assert kept is not None and kept.status == "SENT"


def test_check_now_queues_a_fallback_once_however_often_it_is_asked(store: SqliteStore) -> None:
    clock = Clock()
    kakao = Scripted()
    kakao.statuses["P-k"] = StatusUpdate("P-k", DeliveryStatus.FAILED, "3104", "카카오톡 미사용자")
    store.insert_tracking([_alimtalk("k", native=False)])
    seen = store.get_tracking("k")
    assert seen is not None
    sent: list[int] = []

    def send_fallbacks() -> tuple[int, int]:
        sent.append(1)
        return 1, 0

    first = tracker(store, clock, kakao=kakao).check_now(seen, send_fallbacks=send_fallbacks)
    assert (first.fallbacks_queued, first.fallbacks_sent) == (1, 1)
    second = tracker(store, clock, kakao=kakao).check_now(seen)  # the same, stale row again
    assert second.checked == 0 and second.fallbacks_queued == 0
    assert store.get_job("k:api-fallback") is not None and sent == [1]


def test_terminal_rows_never_move_back(store: SqliteStore) -> None:
    clock = Clock()
    provider = Scripted()
    store.insert_tracking([row("a")])
    provider.statuses["P-a"] = StatusUpdate("P-a", DeliveryStatus.FAILED, "3043")
    clock.advance(seconds=30)
    tracker(store, clock, p=provider).run_once()
    provider.statuses["P-a"] = StatusUpdate("P-a", DeliveryStatus.SENT, "3000")
    clock.advance(hours=3)
    assert tracker(store, clock, p=provider).run_once().checked == 0  # terminal: not due
    a = store.get_tracking("a")
    assert a is not None and a.status == "FAILED" and a.failed_at is not None


def test_scheduled_messages_are_not_checked_before_their_time_plus_grace(
    store: SqliteStore,
) -> None:
    clock = Clock()
    provider = Scripted()
    at = T0_MS + 3_600_000
    store.insert_tracking([row("s", status="PENDING", scheduled_at=at, next_check_at=at + 120_000)])
    clock.advance(minutes=61)
    assert tracker(store, clock, p=provider).run_once().checked == 0
    clock.advance(minutes=1)
    assert tracker(store, clock, p=provider).run_once().checked == 1


def _alimtalk(mid: str, *, native: bool, provider: str = "kakao") -> TrackingRow:
    failover = {
        "requested": True,
        "type": "SMS",
        "text": "대체 문자",
        "subject": None,
        "native": native,
    }
    return row(mid, provider=provider, type="ALIMTALK", metadata={"failover": failover})


def test_a_non_kakao_user_failure_queues_one_fallback_in_the_same_write(store: SqliteStore) -> None:
    clock = Clock()
    kakao = Scripted()
    kakao.statuses["P-k"] = StatusUpdate("P-k", DeliveryStatus.FAILED, "3104", "카카오톡 미사용자")
    store.insert_tracking([_alimtalk("k", native=False)])
    clock.advance(seconds=30)
    report = tracker(store, clock, kakao=kakao).run_once()
    assert report.fallbacks_queued == 1
    job = store.get_job("k:api-fallback")
    assert job is not None and job.metadata is not None
    assert job.metadata["batch"] == FALLBACK_BATCH and job.metadata["for_message"] == "k"
    message = job.data["message"]
    assert (message["type"], message["text"], message["to"]) == ("SMS", "대체 문자", "01012345678")
    original = store.get_tracking("k")
    assert original is not None and original.metadata is not None
    assert original.metadata["failover"]["path"] == "api"


def test_native_failover_is_relied_on_not_doubled(store: SqliteStore) -> None:
    clock = Clock()
    kakao = Scripted()
    kakao.statuses["P-k"] = StatusUpdate("P-k", DeliveryStatus.FAILED, "3104")
    store.insert_tracking([_alimtalk("k", native=True)])
    clock.advance(seconds=30)
    assert tracker(store, clock, kakao=kakao).run_once().fallbacks_queued == 0
    assert store.get_job("k:api-fallback") is None
    original = store.get_tracking("k")
    assert original is not None and original.metadata is not None
    assert original.metadata["failover"]["path"] == "native"


def test_other_failures_do_not_fall_back(store: SqliteStore) -> None:
    clock = Clock()
    kakao = Scripted()
    kakao.statuses["P-k"] = StatusUpdate("P-k", DeliveryStatus.FAILED, "3043", "power off")
    store.insert_tracking([_alimtalk("k", native=False)])
    clock.advance(seconds=30)
    assert tracker(store, clock, kakao=kakao).run_once().fallbacks_queued == 0
    assert store.get_job("k:api-fallback") is None


def test_limit_bounds_a_pass(store: SqliteStore) -> None:
    clock = Clock()
    store.insert_tracking([row(f"r{n}") for n in range(30)])
    clock.advance(seconds=30)
    report = tracker(store, clock, p=Scripted()).run_once(limit=7)
    assert report.checked == 7


class Slow(Scripted):
    """Lookups that take a while; records how many were in flight at once."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.in_flight = 0
        self.most = 0
        self._lock = threading.Lock()

    def fetch_statuses(self, ids: Sequence[str]) -> dict[str, StatusUpdate]:
        with self._lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            time.sleep(self.seconds)
            return super().fetch_statuses(ids)
        finally:
            with self._lock:
                self.in_flight -= 1


def _due_rows(store: SqliteStore, count: int) -> None:
    store.insert_tracking([row(f"m{n:05d}", next_check_at=T0_MS) for n in range(count)])


@pytest.mark.parametrize("concurrency", [1, 4])
def test_lookups_overlap_up_to_the_tracking_concurrency(
    store: SqliteStore, concurrency: int
) -> None:
    clock = Clock()
    slow = Slow(0.3)
    for n in range(2000):
        slow.statuses[f"P-m{n:05d}"] = StatusUpdate(f"P-m{n:05d}", DeliveryStatus.DELIVERED)
    _due_rows(store, 2000)  # four claimed chunks of 500
    t = tracker(store, clock, p=slow)
    t.settings = TrackingSettings(concurrency=concurrency)
    report = t.run_once()
    assert report.checked == 2000 and report.by_status == {"DELIVERED": 2000}
    assert sorted(i for ids in slow.lookups for i in ids) == sorted(slow.statuses)  # each once
    assert slow.most == (1 if concurrency == 1 else 4)
    assert store.claim_due_tracking(now_ms=T0_MS + 10**9, lease_ms=1, limit=10) == []


def test_a_concurrent_pass_respects_its_limit(store: SqliteStore) -> None:
    clock = Clock()
    slow = Slow(0.01)
    _due_rows(store, 1800)
    t = tracker(store, clock, p=slow)
    t.settings = TrackingSettings(concurrency=4)
    report = t.run_once(limit=1200)
    assert report.checked == 1200
    assert sum(len(ids) for ids in slow.lookups) == 1200


class LazySource:
    """Builds each provider on first use, like ProviderClients: not locked, so threads that
    ask at once for a provider not built yet would each build one."""

    def __init__(self) -> None:
        self.built: list[tuple[str, str]] = []  # (provider id, thread that built it)
        self._clients: dict[str, Scripted] = {}

    def get(self, provider_id: str) -> Scripted:
        client = self._clients.get(provider_id)
        if client is None:
            self.built.append((provider_id, threading.current_thread().name))
            time.sleep(0.05)  # a client takes a while to build (credentials, HTTP pool, TLS)
            client = self._clients[provider_id] = Slow(0.05)
        return client


def test_a_concurrent_pass_builds_each_provider_client_once(store: SqliteStore) -> None:
    clock = Clock()
    _due_rows(store, 2000)  # four chunks, looked up at once
    source = LazySource()
    t = tracker(store, clock)
    t.clients = source  # type: ignore[assignment]
    t.settings = TrackingSettings(concurrency=4)
    report = t.run_once()
    assert report.checked == 2000
    assert source.built == [("p", threading.current_thread().name)]  # one client, one pool


class Gated(Scripted):
    """Lookups that wait until the test opens the gate; counts those begun."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.begun = 0
        self._lock = threading.Lock()

    def fetch_statuses(self, ids: Sequence[str]) -> dict[str, StatusUpdate]:
        with self._lock:
            self.begun += 1
        assert self.gate.wait(30), "the test never opened the gate"
        return super().fetch_statuses(ids)


def _leased(store: SqliteStore, count: int) -> int:
    """How many of the `_due_rows` rows a claim has pushed past their due time."""
    rows = (store.get_tracking(f"m{n:05d}") for n in range(count))
    return sum(1 for r in rows if r is not None and r.next_check_at != T0_MS)


def test_the_next_chunk_is_claimed_while_every_lookup_slot_is_busy(store: SqliteStore) -> None:
    """Claiming ahead: the claim is not on the path of a lookup slot that has just come free."""
    clock = Clock()
    gated = Gated()
    _due_rows(store, 1500)  # three chunks of 500
    t = tracker(store, clock, p=gated)
    t.settings = TrackingSettings(concurrency=2)
    reports: list[object] = []
    runner = threading.Thread(target=lambda: reports.append(t.run_once()))
    runner.start()
    try:
        deadline = time.monotonic() + 5
        while (gated.begun < 2 or _leased(store, 1500) < 1500) and time.monotonic() < deadline:
            time.sleep(0.02)
        # two chunks are looked up (both slots busy) and the third is already claimed
        assert (gated.begun, _leased(store, 1500)) == (2, 1500)
    finally:
        gated.gate.set()
        runner.join(30)
    assert len(reports) == 1 and getattr(reports[0], "checked", None) == 1500
    assert gated.begun == 3


class InterruptedThird:
    """A semaphore whose third acquire is cut short by Ctrl-C."""

    def __init__(self, value: int) -> None:
        self._inner = threading.Semaphore(value)
        self.acquires = 0

    def acquire(self) -> bool:
        self.acquires += 1
        if self.acquires == 3:
            raise KeyboardInterrupt
        return self._inner.acquire()

    def release(self) -> None:
        self._inner.release()


def test_a_chunk_claimed_ahead_and_interrupted_is_due_again_at_once(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kmsg_cli.tracking as tracking_module

    monkeypatch.setattr(
        tracking_module, "threading", type("T", (), {"Semaphore": InterruptedThird})
    )
    clock = Clock()
    slow = Slow(0.05)
    _due_rows(store, 1500)
    t = tracker(store, clock, p=slow)
    t.settings = TrackingSettings(concurrency=2)
    report = t.run_once()
    assert report.interrupted and report.checked == 1000  # the two chunks that had a slot
    # the third was claimed but never looked up: due now, not when its lease runs out
    again = store.claim_due_tracking(now_ms=T0_MS, lease_ms=1, limit=2000)
    assert len(again) == 500
    looked_up = {i for ids in slow.lookups for i in ids}
    assert not looked_up & {r.provider_message_id for r in again}


def test_a_lookup_failing_alike_for_every_chunk_is_warned_of_once_a_pass(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    scripted = Scripted()
    scripted.fail_with = ProviderError("cannot reach p", code="NETWORK_ERROR")
    _due_rows(store, 1200)  # three claimed chunks of at most 500 rows
    track = tracker(store, clock, p=scripted)
    with caplog.at_level(logging.DEBUG, logger="kmsg"):
        report = track.run_once()
    assert report.errors == {"NETWORK_ERROR": 1200} and len(scripted.lookups) == 3
    assert report.looked_up_none  # what `track run-once` exits 3 on
    said = [r for r in caplog.records if "status lookup at p failed" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    # the next pass warns again: once a pass, not once a process
    _due_rows_again(store)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kmsg"):
        track.run_once()
    assert sum("status lookup at p failed" in r.getMessage() for r in caplog.records) == 1


def _due_rows_again(store: SqliteStore) -> None:
    with store._connection() as conn:
        conn.execute('UPDATE "kmsg_delivery_tracking" SET "next_check_at" = 0')
