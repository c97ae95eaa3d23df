"""SqliteStore's job ledger: claims, leases, in-flight marks, recovery, streaming (SPEC §7-8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.errors import StoreError
from kmsg_cli.models import DeliveryStatus, Job, TrackingRow
from kmsg_cli.store.base import MAX_IN_PARAMS, Store
from kmsg_cli.store.sqlite import SqliteStore, claim_statement

REPO = Path(__file__).resolve().parent.parent
NOW = 1_700_000_000_000
LEASE = 300_000
OWNER = {"host": "host-a", "pid": 4242, "started": NOW - 5_000}
OTHER = {"host": "host-b", "pid": 77, "started": NOW - 1_000}


def job(job_id: str, **overrides: Any) -> Job:
    values: dict[str, Any] = {
        "id": job_id,
        "type": "send",
        "data": {"to": "01012345678", "text": "안녕하세요"},
        "created_at": NOW,
        "process_at": NOW,
    }
    values.update(overrides)
    return Job(**values)


def batch_job(job_id: str, batch: str, row: int, **overrides: Any) -> Job:
    return job(job_id, metadata={"batch": batch, "row": row}, **overrides)


def tracking(message_id: str) -> TrackingRow:
    return TrackingRow(
        message_id=message_id,
        provider_id="solapi",
        provider_message_id=f"P-{message_id}",
        type="SMS",
        to="01012345678",
        status=DeliveryStatus.SENT.value,
        requested_at=NOW,
        status_updated_at=NOW,
        next_check_at=NOW + 30_000,
    )


def claim(store: SqliteStore, limit: int = 100, **overrides: Any) -> list[Job]:
    kwargs: dict[str, Any] = {"now_ms": NOW, "lease_ms": LEASE, "owner": OWNER, "limit": limit}
    kwargs.update(overrides)
    return store.claim_jobs(**kwargs)


def ids(jobs: list[Job]) -> list[str]:
    return [j.id for j in jobs]


def loaded(store: SqliteStore, job_id: str) -> Job:
    found = store.get_job(job_id)
    assert found is not None
    return found


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path) as opened:
        opened.initialize()
        yield opened


def test_sqlite_store_still_satisfies_the_protocol(store: SqliteStore) -> None:
    assert isinstance(store, Store)


# -- claim_jobs ----------------------------------------------------------------------------------


def test_claim_takes_jobs_by_priority_then_process_at_then_created_at(store: SqliteStore) -> None:
    store.insert_jobs(
        [
            job("low-early", priority=0, process_at=NOW - 9_000, created_at=NOW - 9_000),
            job("high-late", priority=5, process_at=NOW - 10, created_at=NOW - 10),
            job("high-early", priority=5, process_at=NOW - 500, created_at=NOW - 10),
            job("mid-b", priority=1, process_at=NOW - 100, created_at=NOW - 50),
            job("mid-a", priority=1, process_at=NOW - 100, created_at=NOW - 60),
            job("negative", priority=-3, process_at=NOW - 99_000, created_at=NOW - 99_000),
        ]
    )
    taken: list[str] = []
    while batch := claim(store, limit=1):
        taken.extend(ids(batch))
    assert taken == ["high-early", "high-late", "mid-a", "mid-b", "low-early", "negative"]


def test_one_claim_spans_several_priorities(store: SqliteStore) -> None:
    store.insert_jobs(
        [
            job(f"p{priority}-{n}", priority=priority, created_at=NOW + n)
            for priority in (3, 2, 1)
            for n in range(3)
        ]
    )
    first = claim(store, limit=5)
    assert ids(first) == ["p3-0", "p3-1", "p3-2", "p2-0", "p2-1"]
    assert ids(claim(store, limit=5)) == ["p2-2", "p1-0", "p1-1", "p1-2"]


def test_claim_takes_at_most_limit_jobs(store: SqliteStore) -> None:
    store.insert_jobs([job(f"j{n}") for n in range(10)])
    assert len(claim(store, limit=4)) == 4
    assert claim(store, limit=0) == []
    assert len(claim(store, limit=100)) == 6
    assert claim(store, limit=100) == []


def test_jobs_not_yet_due_are_not_claimed(store: SqliteStore) -> None:
    store.insert_jobs([job("due", process_at=NOW), job("later", process_at=NOW + 1, priority=9)])
    assert ids(claim(store)) == ["due"]
    assert claim(store) == []
    assert ids(claim(store, now_ms=NOW + 1)) == ["later"]


def test_claim_increments_attempts_and_sets_the_lease(store: SqliteStore) -> None:
    store.insert_jobs([job("j1", attempts=1, process_at=NOW - 1_000)])
    (claimed,) = claim(store)
    assert (claimed.status, claimed.attempts, claimed.process_at) == (
        "processing",
        2,
        NOW + LEASE,
    )
    assert loaded(store, "j1") == claimed


def test_claim_merges_the_owner_into_existing_metadata(store: SqliteStore) -> None:
    store.insert_jobs(
        [
            job("kept", metadata={"batch": "b1", "row": 7, "note": "한글", "in_flight": NOW - 1}),
            job("empty", metadata=None),
        ]
    )
    claimed = {j.id: j for j in claim(store)}
    assert claimed["kept"].metadata == {"batch": "b1", "row": 7, "note": "한글", "owner": OWNER}
    assert claimed["empty"].metadata == {"owner": OWNER}
    assert loaded(store, "kept").metadata == claimed["kept"].metadata


def test_claim_with_a_batch_takes_only_that_batch(store: SqliteStore) -> None:
    store.insert_jobs(
        [
            batch_job("a1", "A", 1),
            batch_job("b1", "B", 1, priority=9),
            job("loose", priority=9),
            batch_job("a2", "A", 2),
        ]
    )
    assert ids(claim(store, batch="A")) == ["a1", "a2"]
    assert claim(store, batch="A") == []
    assert claim(store, batch="missing") == []
    assert ids(claim(store)) == ["b1", "loose"]


def test_claimed_jobs_are_returned_in_row_order_within_a_batch(store: SqliteStore) -> None:
    store.insert_jobs([batch_job(f"id-{9 - row}", "B", row) for row in range(10)])
    assert [j.metadata["row"] for j in claim(store) if j.metadata] == list(range(10))


def test_claimed_jobs_are_not_claimed_again_until_retried_or_released(store: SqliteStore) -> None:
    store.insert_jobs([job("r"), job("x")])
    assert ids(claim(store)) == ["r", "x"]
    later = NOW + 10 * LEASE  # even after the lease: recovery goes through take_over
    assert claim(store, now_ms=later) == []
    store.retry_jobs({"r": (NOW + 1_000, "NETWORK: reset")})
    assert store.release_jobs(["x"], now_ms=NOW + 2_000) == 1
    assert ids(claim(store, now_ms=later)) == ["r", "x"]


def _claim_until_empty(path: Path, out: list[str], errors: list[BaseException]) -> None:
    try:
        with SqliteStore(path) as own:
            while batch := own.claim_jobs(now_ms=NOW, lease_ms=LEASE, owner=OWNER, limit=7):
                out.extend(ids(batch))
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def test_concurrent_claimers_in_threads_claim_each_job_once(
    store: SqliteStore, db_path: Path
) -> None:
    all_ids = {f"t{n:05d}" for n in range(2000)}
    store.insert_jobs([job(job_id) for job_id in sorted(all_ids)])
    results: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_claim_until_empty, args=(db_path, results[n], errors))
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    claimed = [job_id for result in results for job_id in result]
    assert len(claimed) == len(set(claimed)) == 2000
    assert set(claimed) == all_ids
    assert store.job_counts() == {"processing": 2000}


_CLAIMER = """
import json, sys
from kmsg_cli.store.sqlite import SqliteStore
path, now, start_flag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import os, time
while not os.path.exists(start_flag):
    time.sleep(0.001)
claimed = []
with SqliteStore(path) as store:
    owner = {"host": "test", "pid": os.getpid(), "started": now}
    while batch := store.claim_jobs(now_ms=now, lease_ms=60000, owner=owner, limit=5):
        claimed.extend(job.id for job in batch)
print(json.dumps(claimed))
"""


def test_concurrent_claimers_in_processes_claim_each_job_once(
    store: SqliteStore, db_path: Path, tmp_path: Path
) -> None:
    all_ids = {f"p{n:05d}" for n in range(2000)}
    store.insert_jobs([job(job_id) for job_id in sorted(all_ids)])
    start = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, str(db_path), str(NOW), str(start)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    start.touch()
    outputs = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr
        outputs.append(json.loads(stdout))
    claimed = [job_id for output in outputs for job_id in output]
    assert len(claimed) == len(set(claimed)) == 2000
    assert set(claimed) == all_ids
    assert store.job_counts() == {"processing": 2000}


def test_claim_uses_the_dequeue_index(store: SqliteStore, db_path: Path) -> None:
    # Not a timing test: the claim's plan must seek idx_kmsg_jobs_dequeue, never scan the
    # table, so its cost does not grow with the number of pending jobs.
    store.insert_jobs([job(f"j{n}") for n in range(50)])
    params = {
        "pending": "pending",
        "processing": "processing",
        "now": NOW,
        "limit": 10,
        "lease_until": NOW + LEASE,
        "owner": json.dumps(OWNER),
    }
    with store._connection() as conn:
        plan = [
            str(row[3])
            for row in conn.execute("EXPLAIN QUERY PLAN " + claim_statement(by_batch=False), params)
        ]
    assert any("USING INDEX idx_kmsg_jobs_dequeue" in line for line in plan), plan
    assert any("priority=? AND process_at<?" in line for line in plan), plan
    assert not any(line.startswith("SCAN") and "kmsg_jobs" in line for line in plan), plan
    assert not any(line == "SCAN c" for line in plan), plan


# -- in flight, complete, fail, retry, release ---------------------------------------------------


def test_mark_in_flight_marks_only_processing_jobs(store: SqliteStore) -> None:
    store.insert_jobs([job("a"), job("b"), job("waiting", process_at=NOW + 1)])
    claim(store)
    store.mark_in_flight(["a", "waiting", "unknown"], now_ms=NOW + 5)
    store.mark_in_flight([], now_ms=NOW + 6)
    assert loaded(store, "a").metadata == {"owner": OWNER, "in_flight": NOW + 5}
    assert loaded(store, "b").metadata == {"owner": OWNER}
    assert loaded(store, "waiting").metadata is None


def test_mark_in_flight_then_complete_fail_or_retry_clears_it(store: SqliteStore) -> None:
    store.insert_jobs([job("done"), job("bad"), job("again")])
    claim(store)
    store.mark_in_flight(["done", "bad", "again"], now_ms=NOW + 1)
    store.complete_jobs(["done"], [tracking("done")], now_ms=NOW + 2)
    store.fail_jobs({"bad": "INVALID_NUMBER: 수신번호 오류"}, now_ms=NOW + 3)
    store.retry_jobs({"again": (NOW + 60_000, "TIMEOUT: before sending")})
    done, bad, again = (loaded(store, i) for i in ("done", "bad", "again"))
    assert (done.status, done.completed_at, done.metadata) == (
        "completed",
        NOW + 2,
        {"owner": OWNER},
    )
    assert (bad.status, bad.failed_at, bad.error, bad.metadata) == (
        "failed",
        NOW + 3,
        "INVALID_NUMBER: 수신번호 오류",
        {"owner": OWNER},
    )
    assert (again.status, again.process_at, again.metadata) == ("pending", NOW + 60_000, {})


def test_complete_and_fail_keep_null_metadata_null(store: SqliteStore) -> None:
    store.insert_jobs([job("done"), job("bad")])
    store.complete_jobs(["done"], [], now_ms=NOW)
    store.fail_jobs({"bad": "E"}, now_ms=NOW)
    assert loaded(store, "done").metadata is None
    assert loaded(store, "bad").metadata is None


def test_complete_jobs_is_atomic_with_its_tracking_rows(store: SqliteStore) -> None:
    store.insert_jobs([job("j1")])
    claim(store)
    store.mark_in_flight(["j1"], now_ms=NOW + 1)
    broken = tracking("j1")
    broken.requested_at = None  # type: ignore[assignment]  # violates NOT NULL
    with pytest.raises(StoreError, match="NOT NULL"):
        store.complete_jobs(["j1"], [broken], now_ms=NOW + 2)
    still = loaded(store, "j1")
    assert (still.status, still.completed_at) == ("processing", None)
    assert still.metadata == {"owner": OWNER, "in_flight": NOW + 1}
    assert store.count_tracking() == 0
    store.complete_jobs(["j1"], [tracking("j1")], now_ms=NOW + 3)
    done = loaded(store, "j1")
    assert (done.status, done.metadata) == ("completed", {"owner": OWNER})
    assert store.get_tracking("j1") == tracking("j1")


def test_retry_jobs_sets_pending_process_at_error_and_removes_the_owner(
    store: SqliteStore,
) -> None:
    store.insert_jobs([batch_job("j1", "B", 3), job("j2")])
    claim(store)
    store.retry_jobs({"j1": (NOW + 4_000, "HTTP 503: retryable"), "j2": (NOW + 8_000, "429")})
    store.retry_jobs({})
    first = loaded(store, "j1")
    assert (first.status, first.process_at, first.error, first.attempts) == (
        "pending",
        NOW + 4_000,
        "HTTP 503: retryable",
        1,
    )
    assert first.metadata == {"batch": "B", "row": 3}
    assert loaded(store, "j2").metadata == {}
    assert claim(store, now_ms=NOW + 3_999) == []
    assert ids(claim(store, now_ms=NOW + 8_000)) == ["j1", "j2"]
    assert loaded(store, "j1").attempts == 2


def test_release_jobs_gives_back_unsent_claims_and_ignores_in_flight_ones(
    store: SqliteStore,
) -> None:
    store.insert_jobs(
        [
            batch_job("unsent", "B", 1, attempts=2),
            job("sending"),
            job("odd", attempts=0, status="processing", metadata={"owner": OTHER}),
            job("never-claimed", created_at=NOW + 10),
        ]
    )
    claim(store, limit=2)  # unsent (attempts 3), sending (attempts 1)
    store.mark_in_flight(["sending"], now_ms=NOW + 1)
    released = store.release_jobs(
        ["unsent", "sending", "odd", "never-claimed", "unsent", "missing"], now_ms=NOW + 9
    )
    assert released == 2
    unsent = loaded(store, "unsent")
    assert (unsent.status, unsent.attempts, unsent.process_at, unsent.metadata) == (
        "pending",
        2,
        NOW + 9,
        {"batch": "B", "row": 1},
    )
    odd = loaded(store, "odd")
    assert (odd.status, odd.attempts, odd.metadata) == ("pending", 0, {})
    sending = loaded(store, "sending")
    assert (sending.status, sending.attempts) == ("processing", 1)
    assert sending.metadata == {"owner": OWNER, "in_flight": NOW + 1}
    assert loaded(store, "never-claimed").process_at == NOW
    assert store.release_jobs([], now_ms=NOW) == 0


# -- recovery ------------------------------------------------------------------------------------


def test_processing_jobs_lists_claimed_jobs_of_the_batch(store: SqliteStore) -> None:
    store.insert_jobs(
        [batch_job("a1", "A", 1), batch_job("a2", "A", 2), batch_job("b1", "B", 1), job("x")]
    )
    assert store.processing_jobs() == []
    claim(store, limit=3)
    store.fail_jobs({"a2": "E"}, now_ms=NOW)
    assert ids(store.processing_jobs()) == ["a1", "b1"]
    assert ids(store.processing_jobs(batch="A")) == ["a1"]
    assert store.processing_jobs(batch="none") == []
    (a1,) = store.processing_jobs(batch="A")
    assert a1 == loaded(store, "a1")


def test_take_over_wins_once_for_two_callers_with_the_same_lease(
    store: SqliteStore, db_path: Path
) -> None:
    store.insert_jobs([job("j1")])
    claim(store)
    store.mark_in_flight(["j1"], now_ms=NOW + 1)
    (seen,) = store.processing_jobs()
    later = NOW + LEASE + 1
    with SqliteStore(db_path) as other:
        first = store.take_over(
            "j1", expected_process_at=seen.process_at, now_ms=later, lease_ms=LEASE, owner=OTHER
        )
        second = other.take_over(
            "j1", expected_process_at=seen.process_at, now_ms=later, lease_ms=LEASE, owner=OWNER
        )
    assert first is not None and second is None
    assert (first.status, first.attempts, first.process_at) == ("processing", 1, later + LEASE)
    assert first.metadata == {"owner": OTHER, "in_flight": NOW + 1}
    assert loaded(store, "j1") == first


def test_take_over_loses_after_the_job_changed(store: SqliteStore) -> None:
    store.insert_jobs([job("j1"), job("j2")])
    claim(store)
    (seen1, seen2) = store.processing_jobs()
    store.complete_jobs(["j1"], [], now_ms=NOW + 1)
    store.release_jobs(["j2"], now_ms=NOW + 1)
    claim(store, now_ms=NOW + 2)  # j2 claimed again: a new lease
    for seen in (seen1, seen2):
        assert (
            store.take_over(
                seen.id,
                expected_process_at=seen.process_at,
                now_ms=NOW + 3,
                lease_ms=LEASE,
                owner=OTHER,
            )
            is None
        )
    assert (
        store.take_over("missing", expected_process_at=0, now_ms=NOW, lease_ms=LEASE, owner=OTHER)
        is None
    )
    assert loaded(store, "j2").metadata == {"owner": OWNER}


# -- counts, next due ----------------------------------------------------------------------------


def test_job_counts_by_status_of_all_jobs_or_one_batch(store: SqliteStore) -> None:
    assert store.job_counts() == {}
    store.insert_jobs(
        [batch_job(f"a{n}", "A", n, created_at=NOW + n) for n in range(5)]
        + [batch_job("b1", "B", 1), job("x")]
    )
    claim(store, limit=2, batch="A")
    store.fail_jobs({"a0": "E"}, now_ms=NOW)
    store.complete_jobs(["b1"], [], now_ms=NOW)
    assert store.job_counts() == {"pending": 4, "processing": 1, "failed": 1, "completed": 1}
    assert store.job_counts(batch="A") == {"pending": 3, "processing": 1, "failed": 1}
    assert store.job_counts(batch="none") == {}


def test_next_due_ms_is_the_earliest_pending_process_at(store: SqliteStore) -> None:
    assert store.next_due_ms() is None
    store.insert_jobs(
        [
            batch_job("a1", "A", 1, process_at=NOW + 500, priority=2),
            batch_job("a2", "A", 2, process_at=NOW + 300),
            batch_job("b1", "B", 1, process_at=NOW + 100, priority=-1),
            job("x", process_at=NOW + 50, priority=7),
        ]
    )
    assert store.next_due_ms() == NOW + 50
    assert store.next_due_ms(batch="A") == NOW + 300
    assert store.next_due_ms(batch="B") == NOW + 100
    assert store.next_due_ms(batch="none") is None
    claim(store, now_ms=NOW + 300)  # x, b1, a2
    assert store.next_due_ms() == NOW + 500
    assert store.next_due_ms(batch="B") is None


# -- iter_jobs, get_jobs, delete_jobs ------------------------------------------------------------


def test_iter_jobs_streams_by_id_in_bounded_chunks(store: SqliteStore) -> None:
    jobs = [batch_job(f"r{n:02d}", "A", row=(n * 7) % 24) for n in range(24)]
    jobs += [job("z-no-row"), job("a-no-row", metadata={"batch": "A"})]
    store.insert_jobs(list(reversed(jobs)))
    queries: list[str] = []
    store._conn.set_trace_callback(queries.append)
    streamed: list[str] = []
    for item in store.iter_jobs(chunk=3):
        assert not store._lock.locked()  # nothing held between chunks
        streamed.append(item.id)
    store._conn.set_trace_callback(None)
    assert streamed == sorted(j.id for j in jobs)
    assert len([q for q in queries if q.lstrip().upper().startswith("SELECT")]) == 9


def test_iter_jobs_filters_by_batch_and_status(store: SqliteStore) -> None:
    store.insert_jobs(
        [batch_job(f"a{n}", "A", row=10 - n, created_at=NOW + n) for n in range(10)]
        + [batch_job("b1", "B", 1), job("x")]
    )
    claim(store, limit=4, batch="A")  # a0..a3, the oldest
    assert [j.id for j in store.iter_jobs(batch="A", chunk=4)] == [f"a{n}" for n in range(10)]
    assert [j.id for j in store.iter_jobs(batch="A", status="pending", chunk=2)] == [
        f"a{n}" for n in range(4, 10)
    ]
    assert [j.id for j in store.iter_jobs(status="processing")] == ["a0", "a1", "a2", "a3"]
    assert list(store.iter_jobs(batch="none")) == []
    with pytest.raises(ValueError):
        list(store.iter_jobs(chunk=0))


def test_iter_jobs_lets_the_caller_write_between_chunks(store: SqliteStore) -> None:
    store.insert_jobs([batch_job(f"j{n}", "A", row=n) for n in range(6)])
    seen: list[str] = []
    for item in store.iter_jobs(chunk=2):
        seen.append(item.id)
        if item.id == "j0":
            store.delete_jobs(["j4"])
            store.complete_jobs(["j5"], [], now_ms=NOW)
    assert seen == ["j0", "j1", "j2", "j3", "j5"]


def test_get_jobs_returns_known_ids_across_in_chunks(store: SqliteStore) -> None:
    count = MAX_IN_PARAMS * 2 + 3
    store.insert_jobs([job(f"g{n:05d}") for n in range(count)])
    wanted = [f"g{n:05d}" for n in range(0, count, 2)] + ["missing", "g00000"]
    found = store.get_jobs(wanted)
    assert set(found) == {f"g{n:05d}" for n in range(0, count, 2)}
    assert found["g00002"] == job("g00002")
    assert store.get_jobs([]) == {}


def test_delete_jobs_counts_deleted_rows_across_in_chunks(store: SqliteStore) -> None:
    count = MAX_IN_PARAMS + 10
    store.insert_jobs([job(f"d{n:05d}") for n in range(count)])
    doomed = [f"d{n:05d}" for n in range(count - 5)] + ["missing", "d00000"]
    assert store.delete_jobs(doomed) == count - 5
    assert store.count_jobs() == 5
    assert store.delete_jobs([]) == 0
    assert store.delete_jobs(["missing"]) == 0
