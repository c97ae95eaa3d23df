"""The Store contract (kmsg_cli/store/contract.py), specified once and run on every engine.

Each test runs on every engine: a SQLite file, PostgreSQL (a fresh schema of the local server
per test, dropped afterwards) and MySQL/MariaDB (a fresh database per test, dropped afterwards);
tests/store/conftest.py says how to point them at other servers. Engine-specific matters live
beside this file: PRAGMAs, file modes, EXPLAIN QUERY PLAN and process-level claimers in
test_store_sqlite.py / test_store_ledger.py / test_store_tracking.py; JSONB, the version table,
retries and EXPLAIN in test_store_postgres.py; URLs, sessions, version detection, the fallback
claims and retries in test_store_mysql.py.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.errors import StoreError
from kmsg_cli.models import DeliveryStatus, Job, JobStatus, TrackingRow
from kmsg_cli.store.contract import Store
from kmsg_cli.store.rows import MAX_IN_PARAMS, TRACKING_MUTABLE_COLUMNS
from tests.store.conftest import (
    CANCELLED,
    DAY,
    DELIVERED,
    FAILED,
    LEASE,
    NOW,
    OTHER,
    OWNER,
    PENDING,
    SENT,
    TRACK_LEASE,
    UNKNOWN,
    Backend,
    batch_job,
    claim,
    claim_rows,
    failed,
    fallback_job,
    ids,
    job,
    loaded_job,
    loaded_row,
    mids,
    row,
    run_threads,
    sent,
)

# -- opening, schema -----------------------------------------------------------------------------


def _methods() -> list[str]:
    return [n for n, _ in inspect.getmembers(Store, inspect.isfunction) if not n.startswith("_")]


def test_every_engine_is_the_store_and_documents_every_method(store: Store) -> None:
    assert isinstance(store, Store)
    assert "claim_jobs" in _methods()
    for name in _methods():
        assert getattr(Store, name).__doc__, name
        assert callable(getattr(store, name)), name


def test_docs_storage_describes_every_method() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "storage.md").read_text("utf-8")
    section = page.split("## The `Store` methods", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in _methods() if f"`{name}(" not in section]
    assert missing == []


def test_initialize_records_version_1_and_is_idempotent(backend: Backend) -> None:
    with backend.open() as fresh:
        assert fresh.schema_version() == 0
        fresh.initialize()
        assert fresh.schema_version() == 1
        fresh.insert_jobs([job("j1")])
        fresh.insert_tracking([sent("m1")])
        fresh.initialize()
    with backend.open() as again:
        again.initialize()
        assert again.schema_version() == 1
        assert (again.count_jobs(), again.count_tracking()) == (1, 1)


def test_concurrent_initialize_calls_all_succeed(backend: Backend) -> None:
    def initialize(_n: int) -> None:
        with backend.open() as own:
            own.initialize()

    assert run_threads(3, initialize) == []
    with backend.open() as opened:
        assert opened.schema_version() == 1


def test_a_closed_store_refuses_work_and_closing_twice_is_harmless(backend: Backend) -> None:
    opened = backend.open()
    opened.initialize()
    opened.close()
    opened.close()
    with pytest.raises(StoreError) as caught:
        opened.count_jobs()
    assert caught.value.code == "DB_CLOSED"


def test_describe_names_the_backend(store: Store, backend: Backend) -> None:
    assert store.describe().startswith(
        {"sqlite": ("SQLite ",), "postgres": ("PostgreSQL ",), "mysql": ("MySQL ", "MariaDB ")}[
            backend.name
        ]
    )


# -- tracking rows: insert, read -----------------------------------------------------------------


def test_insert_tracking_counts_new_rows_and_never_overwrites(store: Store) -> None:
    assert store.insert_tracking([sent("m1"), sent("m2")]) == 2
    assert store.insert_tracking([sent("m1", status=DELIVERED), sent("m3")]) == 1
    assert store.insert_tracking([]) == 0
    assert store.insert_tracking([sent("m4"), sent("m4")]) == 1  # duplicates in one batch
    assert store.count_tracking() == 4
    assert loaded_row(store, "m1").status == SENT


def test_tracking_round_trips_every_field(store: Store) -> None:
    full = sent(
        "m1",
        sender="0212345678",
        provider_status_code="3000",
        provider_status_message="전송 중",
        sent_at=NOW + 1,
        delivered_at=NOW + 2,
        failed_at=None,
        scheduled_at=NOW + 3,
        attempt_count=2,
        last_checked_at=NOW + 4,
        last_error={"code": "E1", "message": "실패"},
        metadata={"failover": {"path": "native"}, "n": 1, "list": [1, "둘"]},
    )
    bare = sent("m2", provider_message_id="")
    store.insert_tracking([full, bare])
    assert store.get_tracking("m1") == full
    assert store.get_tracking("m2") == bare
    assert store.get_tracking("missing") is None


def test_enum_values_are_stored_as_their_plain_value(store: Store) -> None:
    store.insert_tracking([sent("m1", status=DeliveryStatus.PENDING)])
    store.insert_jobs([job("j1", status=JobStatus.PENDING)])
    stored = loaded_row(store, "m1")
    assert stored.status == "PENDING" and type(stored.status) is str
    assert loaded_job(store, "j1").status == "pending"
    assert store.count_tracking_by_status(status=["PENDING"]) == {"PENDING": 1}


def test_counts_by_status_come_in_the_order_of_the_status_names(store: Store) -> None:
    statuses = ["SENT", "CANCELLED", "UNKNOWN", "DELIVERED", "SENT", "FAILED", "PENDING"]
    store.insert_tracking([sent(f"m{n}", status=s) for n, s in enumerate(statuses)])
    counted = store.count_tracking_by_status()
    assert list(counted.items()) == sorted({s: statuses.count(s) for s in statuses}.items())
    jobs = ["pending", "failed", "completed", "pending", "cancelled", "processing"]
    store.insert_jobs([job(f"j{n}", status=s) for n, s in enumerate(jobs)])
    assert list(store.job_counts()) == sorted(set(jobs))


def test_find_tracking_returns_known_ids_across_in_chunks(store: Store) -> None:
    rows = [sent(f"m{i:04d}") for i in range(MAX_IN_PARAMS * 2 + 200)]
    assert store.insert_tracking(rows) == len(rows)
    wanted = [f"m{i:04d}" for i in range(0, len(rows), 2)] + ["nope", "m0000"]
    found = store.find_tracking(wanted)
    assert set(found) == {f"m{i:04d}" for i in range(0, len(rows), 2)}
    assert found["m0002"] == rows[2]
    assert store.find_tracking([]) == {}
    assert store.tracked_ids(wanted) == set(found)
    assert store.tracked_ids([]) == set()


def test_a_bad_row_is_rejected_and_nothing_of_its_batch_is_written(store: Store) -> None:
    with pytest.raises(StoreError) as caught:
        store.insert_tracking([sent("m1"), sent("m2", provider_id=None)])
    assert caught.value.code == "DB_QUERY_FAILED"
    assert "\n" not in caught.value.message
    assert store.count_tracking() == 0


def test_iter_tracking_streams_every_row_in_id_order(store: Store) -> None:
    rows = [sent(f"r{n:03d}", metadata={"n": n}) for n in range(23)]
    store.insert_tracking(list(reversed(rows)))
    streamed = list(store.iter_tracking(chunk=5))
    assert streamed == rows
    assert list(store.iter_tracking(chunk=100)) == rows
    with pytest.raises(ValueError):
        list(store.iter_tracking(chunk=0))


# -- jobs: insert, read, complete, fail ------------------------------------------------------------


def test_insert_jobs_counts_new_jobs_and_get_job_round_trips(store: Store) -> None:
    first = job("j1", metadata={"owner": {"host": "h", "pid": 1}}, priority=5, max_attempts=7)
    assert store.insert_jobs([first, job("j2")]) == 2
    assert store.insert_jobs([job("j1", type="other"), job("j3"), job("j3")]) == 1
    assert store.insert_jobs([]) == 0
    assert store.count_jobs() == 3
    assert store.get_job("j1") == first
    plain = loaded_job(store, "j2")
    assert (plain.status, plain.metadata) == ("pending", None)
    assert plain.data == {"to": "01012345678", "text": "안녕하세요"}
    assert store.get_job("missing") is None


def test_complete_jobs_marks_jobs_and_inserts_their_tracking_rows(store: Store) -> None:
    store.insert_jobs([job("j1"), job("j2"), job("j3")])
    store.insert_tracking([sent("j2")])
    store.complete_jobs(["j1", "j2"], [sent("j1"), sent("j2", status=DELIVERED)], now_ms=NOW + 5)
    for job_id in ("j1", "j2"):
        done = loaded_job(store, job_id)
        assert (done.status, done.completed_at) == ("completed", NOW + 5)
    untouched = loaded_job(store, "j3")
    assert (untouched.status, untouched.completed_at) == ("pending", None)
    assert set(store.find_tracking(["j1", "j2", "j3"])) == {"j1", "j2"}
    assert loaded_row(store, "j2").status == SENT  # an existing row is kept
    store.complete_jobs([], [], now_ms=NOW)


def test_complete_jobs_is_atomic_with_its_tracking_rows(store: Store) -> None:
    store.insert_jobs([job("j1")])
    claim(store)
    store.mark_in_flight(["j1"], now_ms=NOW + 1)
    broken = sent("j1", requested_at=None)  # violates NOT NULL
    with pytest.raises(StoreError) as caught:
        store.complete_jobs(["j1"], [broken], now_ms=NOW + 2)
    assert caught.value.code == "DB_QUERY_FAILED"
    # SQLite and PostgreSQL say "NOT NULL", MySQL "cannot be null"
    assert re.search(r"not null|cannot be null", caught.value.message.lower().replace("-", " "))
    still = loaded_job(store, "j1")
    assert (still.status, still.completed_at) == ("processing", None)
    assert still.metadata == {"owner": OWNER, "in_flight": NOW + 1}
    assert store.count_tracking() == 0
    store.complete_jobs(["j1"], [sent("j1")], now_ms=NOW + 3)
    done = loaded_job(store, "j1")
    assert (done.status, done.metadata) == ("completed", {"owner": OWNER, "in_flight": NOW + 1})
    assert store.get_tracking("j1") == sent("j1")


def test_fail_jobs_records_error_and_time(store: Store) -> None:
    store.insert_jobs([job("j1"), job("j2")])
    store.fail_jobs({"j1": "INVALID_NUMBER: 수신번호 오류"}, now_ms=NOW + 9)
    store.fail_jobs({}, now_ms=NOW)
    bad = loaded_job(store, "j1")
    assert (bad.status, bad.failed_at, bad.error) == (
        "failed",
        NOW + 9,
        "INVALID_NUMBER: 수신번호 오류",
    )
    other = loaded_job(store, "j2")
    assert (other.status, other.error) == ("pending", None)


def test_complete_and_fail_keep_null_metadata_null(store: Store) -> None:
    store.insert_jobs([job("done"), job("bad")])
    store.complete_jobs(["done"], [], now_ms=NOW)
    store.fail_jobs({"bad": "E"}, now_ms=NOW)
    assert loaded_job(store, "done").metadata is None
    assert loaded_job(store, "bad").metadata is None


def test_one_store_object_can_be_shared_by_threads(store: Store) -> None:
    def insert(n: int) -> None:
        for i in range(n * 100, n * 100 + 50):
            store.insert_jobs([job(f"t{i}")])
            assert store.get_job(f"t{i}") is not None
            store.insert_tracking([sent(f"t{i}")])

    assert run_threads(4, insert) == []
    assert (store.count_jobs(), store.count_tracking()) == (200, 200)


# -- claim_jobs ----------------------------------------------------------------------------------


def test_claim_takes_jobs_by_priority_then_process_at_then_created_at(store: Store) -> None:
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


def test_one_claim_spans_several_priorities(store: Store) -> None:
    store.insert_jobs(
        [
            job(f"p{priority}-{n}", priority=priority, created_at=NOW + n)
            for priority in (3, 2, 1)
            for n in range(3)
        ]
    )
    assert ids(claim(store, limit=5)) == ["p3-0", "p3-1", "p3-2", "p2-0", "p2-1"]
    assert ids(claim(store, limit=5)) == ["p2-2", "p1-0", "p1-1", "p1-2"]


def test_claim_takes_at_most_limit_jobs(store: Store) -> None:
    store.insert_jobs([job(f"j{n}") for n in range(10)])
    assert len(claim(store, limit=4)) == 4
    assert claim(store, limit=0) == []
    assert len(claim(store, limit=100)) == 6
    assert claim(store, limit=100) == []


def test_jobs_not_yet_due_and_finished_jobs_are_not_claimed(store: Store) -> None:
    store.insert_jobs(
        [
            job("due", process_at=NOW),
            job("later", process_at=NOW + 1, priority=9),
            job("done", status="completed", process_at=NOW - 1),
            job("dead", status="failed", process_at=NOW - 1),
        ]
    )
    assert ids(claim(store)) == ["due"]
    assert claim(store) == []
    assert ids(claim(store, now_ms=NOW + 1)) == ["later"]


def test_claim_increments_attempts_and_sets_the_lease(store: Store) -> None:
    store.insert_jobs([job("j1", attempts=1, process_at=NOW - 1_000)])
    (claimed,) = claim(store)
    assert (claimed.status, claimed.attempts, claimed.process_at) == ("processing", 2, NOW + LEASE)
    assert loaded_job(store, "j1") == claimed


def test_claim_merges_the_owner_into_existing_metadata(store: Store) -> None:
    store.insert_jobs(
        [
            job("kept", metadata={"batch": "b1", "row": 7, "note": "한글", "in_flight": NOW - 1}),
            job("empty", metadata=None),
        ]
    )
    claimed = {j.id: j for j in claim(store)}
    assert claimed["kept"].metadata == {"batch": "b1", "row": 7, "note": "한글", "owner": OWNER}
    assert claimed["empty"].metadata == {"owner": OWNER}
    assert loaded_job(store, "kept").metadata == claimed["kept"].metadata


def test_claim_with_a_batch_takes_only_that_batch(store: Store) -> None:
    store.insert_jobs(
        [
            batch_job("a1", "A", 1),
            batch_job("b1", "B", 1, priority=9),
            job("loose", priority=9),
            batch_job("a2", "A", 2),
            job("numeric", priority=9, metadata={"batch": 7}),
        ]
    )
    assert ids(claim(store, batch="A")) == ["a1", "a2"]
    assert claim(store, batch="A") == []
    assert claim(store, batch="missing") == []
    assert claim(store, batch="7") == []  # metadata.batch is compared as a string
    assert ids(claim(store)) == ["b1", "loose", "numeric"]


def test_claim_with_providers_takes_only_their_jobs_and_next_due_sees_only_them(
    store: Store,
) -> None:
    """A worker of one profile leaves the jobs of another profile's providers alone: they are
    neither claimed nor waited for (docs/storage.md, "Claims")."""
    data = {"to": "01012345678", "text": "x"}
    store.insert_jobs(
        [
            job("mine", data={**data, "provider": "solapi"}, priority=1),
            job("theirs", data={**data, "provider": "mock"}, priority=9),
            job("later", data={**data, "provider": "solapi"}, process_at=NOW + DAY),
            job("unnamed", data=data, priority=9),
            batch_job("b1", "A", 1, data={**data, "provider": "mock"}),
            batch_job("b2", "A", 2, data={**data, "provider": "aligo"}),
            job("like", data={**data, "provider": "solapi2"}, priority=9),
        ]
    )
    assert store.next_due_ms(providers=["solapi"]) == NOW
    assert ids(claim(store, providers=["solapi"])) == ["mine"]
    assert claim(store, providers=["solapi"]) == []
    assert store.next_due_ms(providers=["solapi"]) == NOW + DAY  # only "later" is left
    assert store.next_due_ms(providers=["iwinv"]) is None
    assert ids(claim(store, batch="A", providers=["aligo", "iwinv"])) == ["b2"]
    assert store.next_due_ms(batch="A", providers=["aligo"]) is None
    assert ids(claim(store)) == ["like", "theirs", "unnamed", "b1"]


def test_a_batch_is_read_exactly_through_the_batch_index(store: Store) -> None:
    """The batch reads (counts, jobs) match the JSON string exactly: a batch id longer than
    MySQL's indexed 255 characters, one sharing those 255, and a number are told apart."""
    long = "b" * 300
    store.insert_jobs(
        [
            batch_job("long", long, 1),
            batch_job("prefix", long[:255], 1),
            batch_job("sibling", long[:299] + "c", 1, status="failed"),
            job("numeric", metadata={"batch": 7}),
            job("loose"),
        ]
    )
    assert store.job_counts(batch=long) == {"pending": 1}
    assert [j.id for j in store.iter_jobs(batch=long)] == ["long"]
    assert [j.id for j in store.iter_jobs(batch=long[:255])] == ["prefix"]
    assert [j.id for j in store.iter_jobs(batch=long[:299] + "c", status="failed")] == ["sibling"]
    assert store.job_counts(batch="7") == {}  # metadata.batch is compared as a string


def test_claimed_jobs_are_returned_in_row_order_within_a_batch(store: Store) -> None:
    store.insert_jobs([batch_job(f"id-{9 - r}", "B", r) for r in range(10)] + [job("no-row")])
    claimed = claim(store)
    assert [j.metadata.get("row") for j in claimed if j.metadata] == [*range(10), None]


def test_claimed_jobs_are_not_claimed_again_until_retried_or_released(store: Store) -> None:
    store.insert_jobs([job("r"), job("x")])
    assert ids(claim(store)) == ["r", "x"]
    later = NOW + 10 * LEASE  # even after the lease: recovery goes through take_over
    assert claim(store, now_ms=later) == []
    store.retry_jobs({"r": (NOW + 1_000, "NETWORK: reset")})
    assert store.release_jobs(["x"], now_ms=NOW + 2_000) == 1
    assert ids(claim(store, now_ms=later)) == ["r", "x"]


def test_a_retry_can_give_back_the_attempt_a_refused_request_used(store: Store) -> None:
    # A refusal of the account (credentials, balance) says nothing of the message
    store.insert_jobs([job("kept"), job("back"), job("zero", attempts=0)])
    claimed = {j.id: j.attempts for j in claim(store, limit=2)}
    assert claimed == {"back": 1, "kept": 1}
    error = "INSUFFICIENT_BALANCE: no balance"
    store.retry_jobs(
        {"kept": (NOW, error), "back": (NOW, error), "zero": (NOW, error)}, refund={"back", "zero"}
    )
    held = store.get_jobs(["kept", "back", "zero"])
    assert {i: (j.status, j.attempts) for i, j in held.items()} == {
        "kept": ("pending", 1),
        "back": ("pending", 0),
        "zero": ("pending", 0),  # never below zero
    }
    assert held["back"].error == error


def test_concurrent_claimers_each_with_its_own_store_claim_each_job_once(
    store: Store, backend: Backend
) -> None:
    all_ids = {f"t{n:05d}" for n in range(2000)}
    store.insert_jobs([job(job_id, priority=n % 3) for n, job_id in enumerate(sorted(all_ids))])
    results: list[list[str]] = [[] for _ in range(4)]

    def claimer(n: int) -> None:
        with backend.open() as own:
            while batch := own.claim_jobs(now_ms=NOW, lease_ms=LEASE, owner=OWNER, limit=7):
                assert len(batch) <= 7
                results[n].extend(ids(batch))

    assert run_threads(4, claimer) == []
    claimed = [job_id for result in results for job_id in result]
    assert len(claimed) == len(set(claimed)) == 2000
    assert set(claimed) == all_ids
    assert store.job_counts() == {"processing": 2000}


# -- in flight, retry, release -------------------------------------------------------------------


def test_mark_in_flight_marks_only_processing_jobs(store: Store) -> None:
    store.insert_jobs([job("a"), job("b"), job("waiting", process_at=NOW + 1)])
    claim(store)
    store.mark_in_flight(["a", "waiting", "unknown", "a"], now_ms=NOW + 5)
    store.mark_in_flight([], now_ms=NOW + 6)
    assert loaded_job(store, "a").metadata == {"owner": OWNER, "in_flight": NOW + 5}
    assert loaded_job(store, "b").metadata == {"owner": OWNER}
    assert loaded_job(store, "waiting").metadata is None


def test_mark_in_flight_with_an_owner_marks_only_what_that_owner_still_holds(
    store: Store,
) -> None:
    # Run A claimed both jobs, was paused past its lease, and run B took j2 over: when A wakes
    # up, its mark takes j1 only, and leaves B's job as B left it (docs/storage.md).
    run_a, run_b = {**OWNER, "run": "a1"}, {**OTHER, "run": "b2"}
    store.insert_jobs([job("j1"), job("j2"), job("j3")])
    claim(store, owner=run_a)
    seen = {j.id: j.process_at for j in store.processing_jobs()}
    later = NOW + LEASE + 1
    taken = store.take_over(
        "j2", expected_process_at=seen["j2"], now_ms=later, lease_ms=LEASE, owner=run_b
    )
    assert taken is not None
    store.complete_jobs(["j3"], [sent("j3")], now_ms=later)  # finished meanwhile
    held = store.mark_in_flight(["j2", "j1", "j3", "j1"], now_ms=later + 1, owner=run_a)
    assert held == ["j1"]
    assert loaded_job(store, "j1").metadata == {"owner": run_a, "in_flight": later + 1}
    assert loaded_job(store, "j2").metadata == {"owner": run_b}  # untouched
    assert store.mark_in_flight(["j2"], now_ms=later + 2, owner=run_b) == ["j2"]
    assert store.mark_in_flight(["j2", "j1"], now_ms=later + 3) == ["j2", "j1"]  # no owner test
    assert store.mark_in_flight([], now_ms=later + 4, owner=run_a) == []


def test_complete_keeps_the_marks_and_fail_and_retry_clear_in_flight(store: Store) -> None:
    store.insert_jobs([job("done"), job("bad"), job("again")])
    claim(store)
    store.mark_in_flight(["done", "bad", "again"], now_ms=NOW + 1)
    store.complete_jobs(["done"], [sent("done")], now_ms=NOW + 2)
    store.fail_jobs({"bad": "INVALID_NUMBER: 수신번호 오류"}, now_ms=NOW + 3)
    store.retry_jobs({"again": (NOW + 60_000, "TIMEOUT: before sending")})
    done, bad, again = (loaded_job(store, i) for i in ("done", "bad", "again"))
    assert (done.status, done.completed_at, done.metadata) == (
        "completed",
        NOW + 2,
        {"owner": OWNER, "in_flight": NOW + 1},  # who sent it and when: a record now
    )
    assert (bad.status, bad.failed_at, bad.error, bad.metadata) == (
        "failed",
        NOW + 3,
        "INVALID_NUMBER: 수신번호 오류",
        {"owner": OWNER},
    )
    assert (again.status, again.process_at, again.error, again.metadata) == (
        "pending",
        NOW + 60_000,
        "TIMEOUT: before sending",
        {},
    )


def test_retry_jobs_keeps_attempts_and_other_metadata(store: Store) -> None:
    store.insert_jobs([batch_job("j1", "B", 3), job("j2")])
    claim(store)
    store.retry_jobs({"j1": (NOW + 4_000, "HTTP 503: retryable"), "j2": (NOW + 8_000, "429")})
    store.retry_jobs({})
    first = loaded_job(store, "j1")
    assert (first.status, first.process_at, first.error, first.attempts) == (
        "pending",
        NOW + 4_000,
        "HTTP 503: retryable",
        1,
    )
    assert first.metadata == {"batch": "B", "row": 3}
    assert loaded_job(store, "j2").metadata == {}
    assert claim(store, now_ms=NOW + 3_999) == []
    assert ids(claim(store, now_ms=NOW + 8_000)) == ["j1", "j2"]
    assert loaded_job(store, "j1").attempts == 2


def test_release_jobs_gives_back_unsent_claims_and_ignores_in_flight_ones(store: Store) -> None:
    store.insert_jobs(
        [
            batch_job("unsent", "B", 1, attempts=2),
            job("sending"),
            job("odd", attempts=0, status="processing", metadata={"owner": OTHER}),
            job("null-mark", status="processing", metadata={"owner": OTHER, "in_flight": None}),
            job("never-claimed", created_at=NOW + 10),
        ]
    )
    claim(store, limit=2)  # unsent (attempts 3), sending (attempts 1)
    store.mark_in_flight(["sending"], now_ms=NOW + 1)
    released = store.release_jobs(
        ["unsent", "sending", "odd", "null-mark", "never-claimed", "unsent", "missing"],
        now_ms=NOW + 9,
    )
    assert released == 3
    unsent = loaded_job(store, "unsent")
    assert (unsent.status, unsent.attempts, unsent.process_at, unsent.metadata) == (
        "pending",
        2,
        NOW + 9,
        {"batch": "B", "row": 1},
    )
    odd = loaded_job(store, "odd")
    assert (odd.status, odd.attempts, odd.metadata) == ("pending", 0, {})
    assert loaded_job(store, "null-mark").status == "pending"  # a JSON null mark is no mark
    sending = loaded_job(store, "sending")
    assert (sending.status, sending.attempts) == ("processing", 1)
    assert sending.metadata == {"owner": OWNER, "in_flight": NOW + 1}
    assert loaded_job(store, "never-claimed").process_at == NOW
    assert store.release_jobs([], now_ms=NOW) == 0


# -- recovery ------------------------------------------------------------------------------------


def test_processing_jobs_lists_claimed_jobs_of_the_batch_in_dequeue_order(store: Store) -> None:
    store.insert_jobs(
        [
            batch_job("a1", "A", 1),
            batch_job("a2", "A", 2),
            batch_job("b1", "B", 1),
            job("x", priority=2, created_at=NOW + 5),
            job("y"),
        ]
    )
    assert store.processing_jobs() == []
    claim(store, limit=4)  # x, a1, a2, b1
    store.fail_jobs({"a2": "E"}, now_ms=NOW)
    assert ids(store.processing_jobs()) == ["x", "a1", "b1"]
    assert ids(store.processing_jobs(batch="A")) == ["a1"]
    assert store.processing_jobs(batch="none") == []
    (a1,) = store.processing_jobs(batch="A")
    assert a1 == loaded_job(store, "a1")


def test_take_over_wins_once_for_two_callers_with_the_same_lease(
    store: Store, backend: Backend
) -> None:
    store.insert_jobs([job("j1")])
    claim(store)
    store.mark_in_flight(["j1"], now_ms=NOW + 1)
    (seen,) = store.processing_jobs()
    later = NOW + LEASE + 1
    with backend.open() as other:
        first = store.take_over(
            "j1", expected_process_at=seen.process_at, now_ms=later, lease_ms=LEASE, owner=OTHER
        )
        second = other.take_over(
            "j1", expected_process_at=seen.process_at, now_ms=later, lease_ms=LEASE, owner=OWNER
        )
    assert first is not None and second is None
    assert (first.status, first.attempts, first.process_at) == ("processing", 1, later + LEASE)
    assert first.metadata == {"owner": OTHER, "in_flight": NOW + 1}
    assert loaded_job(store, "j1") == first


def test_concurrent_take_overs_have_exactly_one_winner(store: Store, backend: Backend) -> None:
    store.insert_jobs([job(f"j{n}") for n in range(20)])
    claim(store)
    seen = {j.id: j.process_at for j in store.processing_jobs()}
    wins: list[list[str]] = [[] for _ in range(4)]

    def recoverer(n: int) -> None:
        with backend.open() as own:
            for job_id, lease in seen.items():
                owner = {**OTHER, "pid": n}
                taken = own.take_over(
                    job_id,
                    expected_process_at=lease,
                    now_ms=NOW + LEASE,
                    lease_ms=LEASE,
                    owner=owner,
                )
                if taken is not None:
                    wins[n].append(job_id)

    assert run_threads(4, recoverer) == []
    won = [job_id for result in wins for job_id in result]
    assert sorted(won) == sorted(seen)


def test_take_over_loses_after_the_job_changed(store: Store) -> None:
    store.insert_jobs([job("j1"), job("j2")])
    claim(store)
    (seen1, seen2) = store.processing_jobs()
    store.complete_jobs(["j1"], [], now_ms=NOW + 1)
    store.release_jobs(["j2"], now_ms=NOW + 1)
    claim(store, now_ms=NOW + 2)  # j2 claimed again: a new lease
    for seen in (seen1, seen2):
        taken = store.take_over(
            seen.id,
            expected_process_at=seen.process_at,
            now_ms=NOW + 3,
            lease_ms=LEASE,
            owner=OTHER,
        )
        assert taken is None
    assert (
        store.take_over("missing", expected_process_at=0, now_ms=NOW, lease_ms=LEASE, owner=OTHER)
        is None
    )
    assert loaded_job(store, "j2").metadata == {"owner": OWNER}


# -- counts, next due, iteration, bulk reads and deletes -------------------------------------------


def test_job_counts_by_status_of_all_jobs_or_one_batch(store: Store) -> None:
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


def test_next_due_ms_is_the_earliest_pending_process_at(store: Store) -> None:
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


def test_iter_jobs_streams_every_job_by_id_in_chunks(store: Store) -> None:
    jobs = [batch_job(f"r{n:02d}", "A", row=(n * 7) % 24) for n in range(24)]
    jobs += [job("z-no-row"), job("a-no-row", metadata={"batch": "A"})]
    store.insert_jobs(list(reversed(jobs)))
    for chunk in (1, 3, 26, 1000):
        streamed = list(store.iter_jobs(chunk=chunk))
        assert [j.id for j in streamed] == sorted(j.id for j in jobs)
        assert streamed == sorted(jobs, key=lambda j: j.id)


def test_iter_jobs_filters_by_batch_and_status(store: Store) -> None:
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


def test_iter_jobs_lets_the_caller_write_between_chunks(store: Store) -> None:
    store.insert_jobs([batch_job(f"j{n}", "A", row=n) for n in range(6)])
    seen: list[str] = []
    for item in store.iter_jobs(chunk=2):
        seen.append(item.id)
        if item.id == "j0":
            store.delete_jobs(["j4"])
            store.complete_jobs(["j5"], [], now_ms=NOW)
            store.insert_jobs([job("j00-new")])  # before the cursor: not seen
    assert seen == ["j0", "j1", "j2", "j3", "j5"]


def test_get_jobs_returns_known_ids_across_in_chunks(store: Store) -> None:
    count = MAX_IN_PARAMS * 2 + 3
    store.insert_jobs([job(f"g{n:05d}") for n in range(count)])
    wanted = [f"g{n:05d}" for n in range(0, count, 2)] + ["missing", "g00000"]
    found = store.get_jobs(wanted)
    assert set(found) == {f"g{n:05d}" for n in range(0, count, 2)}
    assert found["g00002"] == job("g00002")
    assert store.get_jobs([]) == {}


def test_delete_jobs_counts_deleted_rows_whatever_their_status(store: Store) -> None:
    count = MAX_IN_PARAMS + 10
    store.insert_jobs([job(f"d{n:05d}") for n in range(count)])
    claim(store, limit=3)
    doomed = [f"d{n:05d}" for n in range(count - 5)] + ["missing", "d00000"]
    assert store.delete_jobs(doomed) == count - 5
    assert store.count_jobs() == 5
    assert store.delete_jobs([]) == 0
    assert store.delete_jobs(["missing"]) == 0


# -- claim_due_tracking --------------------------------------------------------------------------


def test_tracking_claim_with_providers_takes_only_their_rows(store: Store) -> None:
    """A pass of one profile leaves the rows of another profile's providers alone, and counts
    them by provider when asked (docs/storage.md, "Claims")."""
    store.insert_tracking(
        [
            row("s1", provider_id="solapi"),
            row("m1", provider_id="mock", next_check_at=NOW - 5),
            row("m2", provider_id="mock", status=PENDING),
            row("a1", provider_id="aligo", next_check_at=NOW + DAY),
            row("d1", provider_id="mock", status=DELIVERED),
        ]
    )
    assert store.next_check_ms(providers=["solapi", "iwinv"]) == NOW
    assert store.next_check_ms() == NOW - 5
    assert store.due_tracking_by_provider(now_ms=NOW) == {"mock": 2, "solapi": 1}
    taken = claim_rows(store, providers=["solapi", "iwinv"])
    assert [r.message_id for r in taken] == ["s1"]
    assert claim_rows(store, providers=["solapi", "iwinv"]) == []
    assert store.next_check_ms(providers=["aligo"]) == NOW + DAY
    assert [r.message_id for r in claim_rows(store, provider_id="mock", providers=["mock"])] == [
        "m1",
        "m2",
    ]
    assert store.due_tracking_by_provider(now_ms=NOW) == {}


def test_due_by_provider_counts_the_due_pending_jobs_of_each_provider(store: Store) -> None:
    data = {"to": "01012345678", "text": "x"}
    store.insert_jobs(
        [
            job("a", data={**data, "provider": "mock"}),
            job("b", data={**data, "provider": "mock"}, priority=5),
            job("c", data={**data, "provider": "solapi"}, process_at=NOW + DAY),
            job("d", data=data),
            job("e", data={**data, "provider": "solapi"}, status="failed"),
        ]
    )
    assert store.due_by_provider(now_ms=NOW) == {"mock": 2, "": 1}
    assert store.due_by_provider(now_ms=NOW + DAY) == {"mock": 2, "": 1, "solapi": 1}


def test_tracking_claim_takes_the_most_overdue_rows_first_up_to_the_limit(store: Store) -> None:
    store.insert_tracking(
        [
            row("e", next_check_at=NOW),
            row("d", status=PENDING, next_check_at=NOW - 100),
            row("c", next_check_at=NOW - 200),
            row("b", status=PENDING, next_check_at=NOW - 300),
            row("a", next_check_at=NOW - 50),
        ]
    )
    assert mids(claim_rows(store, limit=3)) == ["b", "c", "d"]  # by message_id
    assert mids(claim_rows(store, limit=3)) == ["a", "e"]
    assert claim_rows(store, limit=3) == []


def test_tracking_claim_breaks_ties_between_statuses_by_message_id(store: Store) -> None:
    store.insert_tracking([row("m3", status=PENDING), row("m1"), row("m2")])
    taken = []
    while batch := claim_rows(store, limit=1):
        taken.extend(mids(batch))
    assert taken == ["m1", "m2", "m3"]


def test_rows_tied_on_next_check_at_are_each_claimed_once(store: Store) -> None:
    store.insert_tracking([row(f"m{n:03d}", status=(PENDING, SENT)[n % 2]) for n in range(100)])
    taken = []
    while batch := claim_rows(store, limit=7):
        assert len(batch) <= 7
        assert mids(batch) == sorted(mids(batch))
        taken.extend(mids(batch))
    assert sorted(taken) == [f"m{n:03d}" for n in range(100)]


def test_tracking_claim_with_a_zero_limit_claims_nothing(store: Store) -> None:
    store.insert_tracking([row("a")])
    assert claim_rows(store, limit=0) == []
    assert claim_rows(store, limit=-1) == []
    assert loaded_row(store, "a").next_check_at == NOW


def test_rows_not_yet_due_and_terminal_rows_are_not_claimed(store: Store) -> None:
    terminal = (DELIVERED, FAILED, CANCELLED, UNKNOWN)
    store.insert_tracking(
        [
            row("due", next_check_at=NOW),
            row("later", next_check_at=NOW + 1),
            *(row(f"done-{s}", status=s, next_check_at=NOW - 1_000) for s in terminal),
        ]
    )
    assert mids(claim_rows(store)) == ["due"]
    assert claim_rows(store) == []
    assert mids(claim_rows(store, now_ms=NOW + 1)) == ["later"]
    for status in terminal:
        assert loaded_row(store, f"done-{status}").next_check_at == NOW - 1_000


def test_the_tracking_lease_pushes_next_check_at_and_changes_nothing_else(store: Store) -> None:
    original = row(
        "a",
        status=PENDING,
        next_check_at=NOW - 5_000,
        attempt_count=2,
        last_checked_at=NOW - 10_000,
        scheduled_at=NOW - 200_000,
        last_error={"code": "TIMEOUT"},
        metadata={"campaign": "봄"},
    )
    store.insert_tracking([original])
    (claimed,) = claim_rows(store)
    expected = dataclasses.replace(original, next_check_at=NOW + TRACK_LEASE)
    assert claimed == expected
    assert loaded_row(store, "a") == expected


def test_a_claimed_row_is_due_again_after_its_lease(store: Store) -> None:
    store.insert_tracking([row("a")])
    assert mids(claim_rows(store)) == ["a"]
    assert claim_rows(store, now_ms=NOW + TRACK_LEASE - 1) == []
    (again,) = claim_rows(store, now_ms=NOW + TRACK_LEASE)
    assert again.next_check_at == NOW + 2 * TRACK_LEASE


def test_tracking_claim_with_a_provider_takes_only_its_rows(store: Store) -> None:
    store.insert_tracking(
        [
            row("s1", provider_id="solapi", next_check_at=NOW - 10),
            row("i1", provider_id="iwinv", next_check_at=NOW - 20),
            row("s2", provider_id="solapi", status=PENDING),
            row("i2", provider_id="iwinv", status=PENDING),
        ]
    )
    assert mids(claim_rows(store, provider_id="iwinv")) == ["i1", "i2"]
    assert claim_rows(store, provider_id="iwinv") == []
    assert claim_rows(store, provider_id="aligo") == []
    assert mids(claim_rows(store)) == ["s1", "s2"]


def test_concurrent_tracking_claimers_each_with_its_own_store_claim_each_row_once(
    store: Store, backend: Backend
) -> None:
    # Half PENDING, half SENT, a spread of due times with many ties.
    rows = [
        row(f"t{n:05d}", status=PENDING if n % 2 else SENT, next_check_at=NOW - (n % 17) * 1_000)
        for n in range(3000)
    ]
    store.insert_tracking(rows)
    results: list[list[str]] = [[] for _ in range(4)]

    def claimer(n: int) -> None:
        with backend.open() as own:
            while batch := own.claim_due_tracking(now_ms=NOW, lease_ms=TRACK_LEASE, limit=13):
                results[n].extend(mids(batch))

    assert run_threads(4, claimer) == []
    claimed = [message_id for result in results for message_id in result]
    assert len(claimed) == len(set(claimed)) == 3000
    assert set(claimed) == {r.message_id for r in rows}
    assert {r.next_check_at for r in store.iter_tracking()} == {NOW + TRACK_LEASE}


# -- apply_tracking ------------------------------------------------------------------------------


def test_apply_tracking_writes_the_mutable_columns_only(store: Store) -> None:
    original = row("a", scheduled_at=NOW - 90_000, metadata={"campaign": "spring"})
    store.insert_tracking([original])
    changed = TrackingRow(
        message_id="a",
        provider_id="iwinv",
        provider_message_id="OTHER",
        type="LMS",
        to="01099998888",
        sender="0311112222",
        status=DELIVERED,
        requested_at=1,
        status_updated_at=NOW + 5_000,
        next_check_at=NOW + 7_000,
        provider_status_code="4000",
        provider_status_message="전송 완료",
        sent_at=NOW + 1_000,
        delivered_at=NOW + 4_000,
        failed_at=None,
        scheduled_at=2,
        attempt_count=3,
        last_checked_at=NOW + 5_000,
        last_error={"code": "PREVIOUS"},
        metadata={"campaign": "spring", "checked": True},
    )
    assert store.apply_tracking([changed]) == {"a"}
    stored = loaded_row(store, "a")
    for column in TRACKING_MUTABLE_COLUMNS:
        assert getattr(stored, column) == getattr(changed, column), column
    for field in ("provider_id", "provider_message_id", "type", "to", "sender"):
        assert getattr(stored, field) == getattr(original, field), field
    assert (stored.requested_at, stored.scheduled_at) == (original.requested_at, NOW - 90_000)


def test_claimed_rows_own_their_metadata_and_writes_keep_each_value_as_it_is(
    store: Store,
) -> None:
    # Rows sent together share a metadata text; each claimed row still has its own object,
    # and values that compare equal (True and 1, "1" and 1) are each written as they are.
    same = {"origin": "send", "group_id": "G1"}
    store.insert_tracking(
        [row("a", metadata=same), row("b", metadata=same), row("c", metadata={"x": {"n": 1}})]
    )
    a, b, c = store.claim_due_tracking(now_ms=NOW, lease_ms=TRACK_LEASE, limit=10)
    assert a.metadata == b.metadata == same and a.metadata is not b.metadata
    a.metadata["group_id"] = "changed"  # type: ignore[index]
    assert b.metadata == same
    values: list[dict[str, Any]] = [{"v": True}, {"v": 1}, {"v": "1"}]
    checked = [
        dataclasses.replace(r, status=DELIVERED, metadata=m)
        for r, m in zip((a, b, c), values, strict=True)
    ]
    expected = {r.message_id: r.next_check_at for r in (a, b, c)}
    assert store.apply_tracking(checked, expected_next_check=expected) == {"a", "b", "c"}
    stored = [loaded_row(store, mid).metadata for mid in ("a", "b", "c")]
    assert stored == [{"v": True}, {"v": 1}, {"v": "1"}]
    assert [type(m["v"]) for m in stored] == [bool, int, str]  # type: ignore[index]


def test_apply_tracking_never_moves_a_terminal_status(store: Store) -> None:
    store.insert_tracking(
        [
            row("failed", status=FAILED, metadata={"failover": {"path": "api"}}),
            row("done", status=DELIVERED),
        ]
    )
    back_to_sent = dataclasses.replace(
        loaded_row(store, "failed"), status=SENT, metadata={"overwritten": True}, attempt_count=9
    )
    delivered_to_failed = failed(loaded_row(store, "done"))
    assert store.apply_tracking([back_to_sent, delivered_to_failed]) == set()
    assert loaded_row(store, "failed") == row(
        "failed", status=FAILED, metadata={"failover": {"path": "api"}}
    )
    assert loaded_row(store, "done") == row("done", status=DELIVERED)


def test_apply_tracking_moves_a_live_row_to_a_terminal_status_once(store: Store) -> None:
    store.insert_tracking([row("a")])
    first = failed(loaded_row(store, "a"))
    assert store.apply_tracking([first]) == {"a"}
    assert store.apply_tracking([dataclasses.replace(first, status=UNKNOWN)]) == set()
    assert loaded_row(store, "a").status == FAILED


def test_apply_tracking_with_a_stale_expected_next_check_is_not_applied(store: Store) -> None:
    store.insert_tracking([row("a"), row("b"), row("c")])
    claimed = {r.message_id: r for r in claim_rows(store)}
    seen = {message_id: r.next_check_at for message_id, r in claimed.items()}
    guards = {"a": seen["a"] - 1, "b": seen["b"]}  # c: no guard at all
    updates = [
        dataclasses.replace(r, attempt_count=1, next_check_at=NOW + 120_000)
        for r in claimed.values()
    ]
    assert store.apply_tracking(updates, expected_next_check=guards) == {"b", "c"}
    assert loaded_row(store, "a") == claimed["a"]
    assert loaded_row(store, "b").attempt_count == 1
    assert loaded_row(store, "c").next_check_at == NOW + 120_000


def test_a_checker_whose_lease_was_taken_over_cannot_overwrite(store: Store) -> None:
    store.insert_tracking([row("a")])
    (slow,) = claim_rows(store)  # checker 1, then stalls past its lease
    (fast,) = claim_rows(store, now_ms=NOW + TRACK_LEASE)  # checker 2 re-claims the row
    delivered = dataclasses.replace(fast, status=DELIVERED, delivered_at=NOW + TRACK_LEASE)
    assert store.apply_tracking([delivered], expected_next_check={"a": fast.next_check_at}) == {"a"}
    late = dataclasses.replace(slow, attempt_count=1, next_check_at=NOW + 120_000)
    assert store.apply_tracking([late], expected_next_check={"a": slow.next_check_at}) == set()
    assert loaded_row(store, "a").status == DELIVERED


def test_apply_tracking_of_an_unknown_or_no_row_updates_nothing(store: Store) -> None:
    assert store.apply_tracking([]) == set()
    assert store.apply_tracking([row("ghost")], jobs=[fallback_job("ghost")]) == set()
    assert (store.count_tracking(), store.count_jobs()) == (0, 0)


def test_jobs_are_inserted_only_for_rows_this_call_updated(store: Store) -> None:
    store.insert_tracking([row("live"), row("done", status=FAILED)])
    updates = [failed(loaded_row(store, "live")), failed(loaded_row(store, "done"))]
    jobs = [fallback_job("live"), fallback_job("done")]
    assert store.apply_tracking(updates, jobs=jobs) == {"live"}
    assert store.get_job("live:api-fallback") == fallback_job("live")
    assert store.get_job("done:api-fallback") is None


def test_two_checkers_failing_one_message_enqueue_its_fallback_once(
    store: Store, backend: Backend
) -> None:
    store.insert_tracking([row("a")])
    seen = loaded_row(store, "a")
    with backend.open() as other:
        results = [
            len(checker.apply_tracking([failed(seen)], jobs=[fallback_job("a")]))
            for checker in (store, other)
        ]
    assert sorted(results) == [0, 1]
    assert store.count_jobs() == 1
    assert store.get_job("a:api-fallback") == fallback_job("a")


def test_concurrent_checkers_failing_the_same_messages_enqueue_each_fallback_once(
    store: Store, backend: Backend
) -> None:
    message_ids = [f"m{n:03d}" for n in range(200)]
    store.insert_tracking([row(message_id) for message_id in message_ids])
    snapshot = store.find_tracking(message_ids)
    updates = [failed(snapshot[message_id]) for message_id in message_ids]
    jobs = [fallback_job(message_id) for message_id in message_ids]
    counts: list[int] = []

    def checker(n: int) -> None:
        # Each checker walks the chunks in its own order, so they collide in many ways.
        starts = list(range(0, len(updates), 20))
        starts = starts[n:] + starts[:n] if n % 2 else list(reversed(starts))
        with backend.open() as own:
            for start in starts:
                done = own.apply_tracking(
                    updates[start : start + 20], jobs=jobs[start : start + 20]
                )
                counts.append(len(done))

    assert run_threads(4, checker) == []
    assert sum(counts) == 200
    assert store.count_jobs() == 200
    assert store.count_tracking_by_status() == {FAILED: 200}


def test_an_existing_job_id_is_left_untouched(store: Store) -> None:
    store.insert_tracking([row("a")])
    existing = job("a:api-fallback", data={"text": "original"}, metadata={"for_message": "a"})
    store.insert_jobs([existing])
    assert store.apply_tracking([failed(loaded_row(store, "a"))], jobs=[fallback_job("a")]) == {"a"}
    assert store.get_job("a:api-fallback") == existing
    assert store.count_jobs() == 1


@pytest.mark.parametrize(
    "bad_job",
    [
        job("no-metadata"),
        job("no-target", metadata={"batch": "x"}),
        job("other-message", metadata={"for_message": "b"}),
        job("not-a-string", metadata={"for_message": 7}),
    ],
)
def test_a_job_not_tied_to_one_of_the_updates_is_refused(store: Store, bad_job: Job) -> None:
    store.insert_tracking([row("a"), row("b")])
    before = loaded_row(store, "a")
    with pytest.raises(ValueError, match="for_message"):
        store.apply_tracking([failed(before)], jobs=[fallback_job("a"), bad_job])
    assert loaded_row(store, "a") == before
    assert store.count_jobs() == 0


def test_a_message_id_repeated_in_updates_is_refused(store: Store) -> None:
    store.insert_tracking([row("a")])
    before = loaded_row(store, "a")
    with pytest.raises(ValueError, match="more than once"):
        store.apply_tracking([failed(before), before])
    assert loaded_row(store, "a") == before


def test_json_columns_round_trip_as_objects(store: Store) -> None:
    metadata = {
        "failover": {"path": "native", "text": "카카오톡 미사용자 대체 문자", "bytes": 44},
        "tags": ["봄", "세일"],
        "nested": {"empty": {}, "none": None, "flag": False, "ratio": 0.5, "big": 2**53},
    }
    last_error = {"code": "TIMEOUT", "message": "조회 시간 초과", "attempt": 2}
    store.insert_tracking([row("a", metadata={"k": "v"}), row("b", metadata={})])
    store.insert_jobs([job("j", data=metadata, metadata={"row": 1, "batch": "봄"})])
    (claimed_a, claimed_b) = claim_rows(store)
    assert (claimed_a.metadata, claimed_b.metadata) == ({"k": "v"}, {})
    assert store.apply_tracking(
        [
            dataclasses.replace(claimed_a, metadata=metadata, last_error=last_error),
            dataclasses.replace(claimed_b, metadata=None, last_error=None),
        ]
    ) == {"a", "b"}
    a = loaded_row(store, "a")
    assert (a.metadata, a.last_error) == (metadata, last_error)
    assert isinstance(a.metadata, dict) and isinstance(a.last_error, dict)
    b = loaded_row(store, "b")
    assert (b.metadata, b.last_error) == (None, None)
    assert {r.message_id: r.metadata for r in store.list_tracking()} == {"a": metadata, "b": None}
    stored_job = loaded_job(store, "j")
    assert (stored_job.data, stored_job.metadata) == (metadata, {"row": 1, "batch": "봄"})
    assert [j.data for j in store.iter_jobs()] == [metadata]


def test_set_tracking_metadata_key_writes_one_key_even_on_a_terminal_row(store: Store) -> None:
    store.insert_tracking([row("a"), row("bare", metadata=None)])
    store.apply_tracking([failed(loaded_row(store, "a"))])
    assert store.set_tracking_metadata_key("a", "failover", {"outcome": "sent", "n": 1})
    stored = loaded_row(store, "a")
    assert stored.status == FAILED
    assert stored.metadata == {"failover": {"outcome": "sent", "n": 1}}
    assert store.set_tracking_metadata_key("bare", "note", "한글")
    assert store.set_tracking_metadata_key("bare", "flag", None)
    assert loaded_row(store, "bare").metadata == {"note": "한글", "flag": None}
    assert not store.set_tracking_metadata_key("missing", "failover", {})
    with pytest.raises(ValueError):
        store.set_tracking_metadata_key("a", "not a key", 1)


# -- list_tracking and count_tracking_by_status ----------------------------------------------------


@pytest.fixture
def listed(store: Store) -> Store:
    store.insert_tracking(
        [
            row("r1", requested_at=NOW - 3_000, status=DELIVERED),
            row("r2", requested_at=NOW - 2_000, status=FAILED, provider_id="iwinv"),
            row("r3", requested_at=NOW - 2_000, status=SENT, type="ALIMTALK"),
            row("r4", requested_at=NOW - 1_000, status=SENT, to="01099998888"),
            row("r5", requested_at=NOW, status=PENDING, provider_id="iwinv", type="LMS"),
        ]
    )
    return store


def test_list_tracking_is_newest_first_then_by_message_id_descending(listed: Store) -> None:
    assert mids(listed.list_tracking()) == ["r5", "r4", "r3", "r2", "r1"]
    assert mids(listed.list_tracking(limit=2)) == ["r5", "r4"]
    assert mids(listed.list_tracking(limit=2, offset=2)) == ["r3", "r2"]
    assert mids(listed.list_tracking(limit=2, offset=4)) == ["r1"]
    assert listed.list_tracking(limit=0) == []
    assert listed.list_tracking(offset=10) == []
    assert listed.list_tracking()[0] == row(
        "r5", requested_at=NOW, status=PENDING, provider_id="iwinv", type="LMS"
    )


def test_list_tracking_filters_combine(listed: Store) -> None:
    assert mids(listed.list_tracking(status=[SENT, PENDING])) == ["r5", "r4", "r3"]
    assert mids(listed.list_tracking(status=(FAILED,))) == ["r2"]
    assert listed.list_tracking(status=[]) == []
    assert mids(listed.list_tracking(status=SENT)) == ["r4", "r3"]  # a lone string is one status
    assert mids(listed.list_tracking(provider_id="iwinv")) == ["r5", "r2"]
    assert mids(listed.list_tracking(type="ALIMTALK")) == ["r3"]
    assert mids(listed.list_tracking(to="01099998888")) == ["r4"]
    assert mids(listed.list_tracking(since_ms=NOW - 2_000)) == ["r5", "r4", "r3", "r2"]
    assert mids(listed.list_tracking(until_ms=NOW - 2_000)) == ["r3", "r2", "r1"]
    assert mids(listed.list_tracking(since_ms=NOW - 2_000, until_ms=NOW - 2_000)) == ["r3", "r2"]
    assert mids(listed.list_tracking(provider_id="iwinv", status=[FAILED, SENT])) == ["r2"]
    assert listed.list_tracking(provider_id="iwinv", type="ALIMTALK") == []


def test_list_tracking_of_a_batch_is_the_rows_of_its_jobs(listed: Store) -> None:
    listed.insert_jobs(
        [batch_job("r2", "b1", 1), batch_job("r4", "b1", 2), batch_job("r5", "b2", 1)]
    )
    listed.insert_jobs([job("r1", metadata={"batch": "b10"}), job("r3")])
    assert mids(listed.list_tracking(batch="b1")) == ["r4", "r2"]
    assert mids(listed.list_tracking(batch="b1", status=[FAILED])) == ["r2"]
    assert listed.count_tracking_by_status(batch="b1") == {SENT: 1, FAILED: 1}
    assert listed.list_tracking(batch="b") == []  # a batch is named whole
    assert listed.count_tracking_by_status(batch="none") == {}


def test_list_tracking_keeps_to_a_profiles_providers(listed: Store) -> None:
    assert mids(listed.list_tracking(providers=["iwinv"])) == ["r5", "r2"]
    assert mids(listed.list_tracking(providers=["solapi", "iwinv"])) == mids(listed.list_tracking())
    assert listed.list_tracking(providers=[]) == []  # a profile without providers has none
    assert listed.count_tracking_by_status(providers=["iwinv"]) == {PENDING: 1, FAILED: 1}
    assert listed.count_tracking_by_status(providers=["aligo"]) == {}


def test_list_tracking_refuses_a_negative_limit_or_offset(listed: Store) -> None:
    with pytest.raises(ValueError):
        listed.list_tracking(limit=-1)
    with pytest.raises(ValueError):
        listed.list_tracking(offset=-1)


def test_count_tracking_by_status_uses_the_same_filters(listed: Store) -> None:
    assert listed.count_tracking_by_status() == {DELIVERED: 1, FAILED: 1, SENT: 2, PENDING: 1}
    assert listed.count_tracking_by_status(provider_id="iwinv") == {FAILED: 1, PENDING: 1}
    assert listed.count_tracking_by_status(status=[SENT, CANCELLED]) == {SENT: 2}
    assert listed.count_tracking_by_status(status=[]) == {}
    assert listed.count_tracking_by_status(since_ms=NOW - 1_000) == {SENT: 1, PENDING: 1}
    assert listed.count_tracking_by_status(until_ms=NOW - 3_000, type="SMS") == {DELIVERED: 1}
    assert listed.count_tracking_by_status(to="01000000000") == {}
    assert listed.count_tracking() == 5


def test_next_check_ms_is_the_earliest_check_of_a_row_still_tracked(store: Store) -> None:
    assert store.next_check_ms() is None  # nothing tracked
    store.insert_tracking(
        [
            row("done", status=DELIVERED, next_check_at=NOW - 9_000),  # final: never checked
            row("gone", status=FAILED, next_check_at=NOW - 8_000, provider_id="iwinv"),
        ]
    )
    assert store.next_check_ms() is None
    store.insert_tracking(
        [
            row("s1", status=SENT, next_check_at=NOW + 5_000),
            row("p1", status=PENDING, next_check_at=NOW + 7_000, provider_id="iwinv"),
            row("s2", status=SENT, next_check_at=NOW + 9_000, provider_id="iwinv"),
        ]
    )
    assert store.next_check_ms() == NOW + 5_000
    assert store.next_check_ms("iwinv") == NOW + 7_000  # PENDING counts as much as SENT
    assert store.next_check_ms("aligo") is None


# -- purge -----------------------------------------------------------------------------------------

CUTOFF = NOW - 90 * DAY


def _purge_fixture(store: Store) -> tuple[set[str], set[str]]:
    """Old and new rows and jobs; returns the ids that must survive a purge at CUTOFF."""
    old, new = CUTOFF - 1, CUTOFF
    terminal = (DELIVERED, FAILED, CANCELLED, UNKNOWN)
    tracking = [
        *(row(f"old-{s}-{n}", status=s, status_updated_at=old) for s in terminal for n in range(3)),
        row("old-sent", status=SENT, status_updated_at=old - DAY),
        row("old-pending", status=PENDING, status_updated_at=old - DAY),
        row("new-delivered", status=DELIVERED, status_updated_at=new),
        row("new-failed", status=FAILED, status_updated_at=NOW),
    ]
    completed, failed_status = JobStatus.COMPLETED.value, JobStatus.FAILED.value
    jobs = [
        *(job(f"old-done-{n}", status=completed, completed_at=old) for n in range(5)),
        *(job(f"old-failed-{n}", status=failed_status, failed_at=old) for n in range(2)),
        job("old-pending", status=JobStatus.PENDING.value, process_at=old - DAY),
        job("old-processing", status=JobStatus.PROCESSING.value, process_at=old - DAY),
        job("new-done", status=completed, completed_at=new),
        job("new-failed", status=failed_status, failed_at=NOW),
        job("done-without-time", status=completed),
    ]
    store.insert_tracking(tracking)
    store.insert_jobs(jobs)
    keep_tracking = {"old-sent", "old-pending", "new-delivered", "new-failed"}
    keep_jobs = {"old-pending", "old-processing", "new-done", "new-failed", "done-without-time"}
    return keep_tracking, keep_jobs


def test_purge_deletes_only_old_terminal_rows_and_finished_jobs_in_chunks(store: Store) -> None:
    keep_tracking, keep_jobs = _purge_fixture(store)
    assert store.count_purgeable(older_than_ms=CUTOFF) == (12, 7)
    chunks = []
    while (deleted := store.purge(older_than_ms=CUTOFF, limit=5)) != (0, 0):
        chunks.append(deleted)
    assert chunks == [(5, 5), (5, 2), (2, 0)]
    assert store.count_purgeable(older_than_ms=CUTOFF) == (0, 0)
    assert {r.message_id for r in store.list_tracking(limit=1000)} == keep_tracking
    assert {j.id for j in store.iter_jobs()} == keep_jobs


def test_count_purgeable_matches_what_purge_deletes(store: Store) -> None:
    _purge_fixture(store)
    for cutoff in (CUTOFF - 1, CUTOFF, CUTOFF + 1, NOW + 1):
        expected = store.count_purgeable(older_than_ms=cutoff)
        tracking_before, jobs_before = store.count_tracking(), store.count_jobs()
        total = [0, 0]
        while (deleted := store.purge(older_than_ms=cutoff, limit=3)) != (0, 0):
            total[0] += deleted[0]
            total[1] += deleted[1]
        assert tuple(total) == expected, cutoff
        assert store.count_tracking() == tracking_before - expected[0]
        assert store.count_jobs() == jobs_before - expected[1]
    assert store.count_tracking_by_status() == {SENT: 1, PENDING: 1}
    assert {j.id for j in store.iter_jobs()} == {
        "old-pending",
        "old-processing",
        "done-without-time",
    }


def test_purge_refuses_a_limit_that_would_never_finish(store: Store) -> None:
    with pytest.raises(ValueError):
        store.purge(older_than_ms=NOW, limit=0)
    with pytest.raises(ValueError):
        store.purge_jobs(older_than_ms=NOW, limit=0)


def test_purge_jobs_deletes_only_old_finished_jobs(store: Store) -> None:
    _keep_tracking, keep_jobs = _purge_fixture(store)
    assert store.purge_jobs(older_than_ms=CUTOFF, limit=4) == 4
    assert store.purge_jobs(older_than_ms=CUTOFF) == 3
    assert store.purge_jobs(older_than_ms=CUTOFF) == 0
    assert {j.id for j in store.iter_jobs()} == keep_jobs
    assert store.count_tracking() == 16  # tracking rows are not purge_jobs' business


# -- kmsg_state counters ---------------------------------------------------------------------------


def test_reserve_sequence_hands_out_consecutive_numbers_per_name(store: Store) -> None:
    assert store.reserve_sequence("route:default", 1) == 0
    assert store.reserve_sequence("route:default", 3) == 1
    assert store.reserve_sequence("route:default", 1) == 4
    assert store.reserve_sequence("다른", 2) == 0
    assert store.reserve_sequence("route:default", 1) == 5


def test_insert_state_counts_only_the_names_it_added(store: Store) -> None:
    assert store.reserve_sequence("route:default", 3) == 0  # the value is now 3
    added = store.insert_state([("route:default", 99), ("batch.rows:b1", 7), ("다른", 1)])
    assert added == 2  # the existing name is left as it is, and not counted
    assert dict(store.iter_state()) == {"route:default": 3, "batch.rows:b1": 7, "다른": 1}
    assert store.insert_state([("batch.rows:b1", 8), ("다른", 2)]) == 0
    assert store.insert_state([]) == 0


def test_concurrent_reservations_never_overlap(store: Store, backend: Backend) -> None:
    taken: list[list[int]] = [[] for _ in range(4)]

    def reserver(n: int) -> None:
        with backend.open() as own:
            for _ in range(25):
                first = own.reserve_sequence("shared", 2)
                taken[n].extend((first, first + 1))

    assert run_threads(4, reserver) == []
    numbers = sorted(number for numbers in taken for number in numbers)
    assert numbers == list(range(200))


# -- queue management ------------------------------------------------------------------------------


def _queued(message_id: str, kind: str, provider: str, **overrides: Any) -> Job:
    data = {"message": {"type": kind, "to": "01012345678", "text": "x"}, "provider": provider}
    return job(message_id, data=data, **overrides)


def _error(code: str) -> str:
    return f'{{"code": "{code}", "message": "실패 {code}"}}'


@pytest.fixture
def queue(store: Store) -> Store:
    store.insert_jobs(
        [
            _queued("q1", "SMS", "solapi", created_at=NOW - 5, metadata={"batch": "B"}),
            _queued("q2", "LMS", "solapi", created_at=NOW - 4),
            _queued("q3", "ALIMTALK", "iwinv", created_at=NOW - 3, metadata={"batch": "B"}),
            _queued("q4", "SMS", "iwinv", created_at=NOW - 2, process_at=NOW + 50),
            _queued("q5", "SMS", "solapi", created_at=NOW - 2),
            _queued("q6", "SMS", "aligo", created_at=NOW - 1),
        ]
    )
    claim(store, limit=1)  # q1 (the oldest due)
    store.fail_jobs({"q2": _error("INVALID_NUMBER"), "q3": _error("TEMPLATE")}, now_ms=NOW)
    store.fail_jobs({"q5": "plain text, not JSON"}, now_ms=NOW)
    store.complete_jobs(["q6"], [], now_ms=NOW)
    return store


def test_list_jobs_filters_combine_newest_first(queue: Store) -> None:
    assert ids(queue.list_jobs()) == ["q6", "q5", "q4", "q3", "q2", "q1"]
    assert ids(queue.list_jobs(limit=2, offset=1)) == ["q5", "q4"]
    assert ids(queue.list_jobs(status="failed")) == ["q5", "q3", "q2"]
    assert ids(queue.list_jobs(message_type="SMS")) == ["q6", "q5", "q4", "q1"]
    assert ids(queue.list_jobs(provider_id="iwinv")) == ["q4", "q3"]
    assert ids(queue.list_jobs(batch="B")) == ["q3", "q1"]
    assert ids(queue.list_jobs(status="failed", error_code="TEMPLATE")) == ["q3"]
    assert ids(queue.list_jobs(status="failed", error_code="INVALID_NUMBER")) == ["q2"]
    assert queue.list_jobs(status="pending", provider_id="solapi") == []
    assert queue.list_jobs(limit=0) == []
    with pytest.raises(ValueError):
        queue.list_jobs(limit=-1)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"processing": 1, "failed": 3, "pending": 1, "completed": 1}),
        ({"status": "failed"}, {"failed": 3}),
        ({"message_type": "SMS"}, {"processing": 1, "failed": 1, "pending": 1, "completed": 1}),
        ({"provider_id": "iwinv"}, {"failed": 1, "pending": 1}),
        ({"batch": "B"}, {"processing": 1, "failed": 1}),
        ({"status": "failed", "error_code": "TEMPLATE"}, {"failed": 1}),
        ({"providers": ["solapi", "aligo"]}, {"processing": 1, "failed": 2, "completed": 1}),
        ({"status": "pending", "provider_id": "solapi"}, {}),
    ],
)
def test_count_jobs_by_status_counts_what_list_jobs_matches(
    queue: Store, filters: dict[str, Any], expected: dict[str, int]
) -> None:
    assert queue.count_jobs_by_status(**filters) == expected
    listed = queue.list_jobs(**filters, limit=100)
    assert len(listed) == sum(expected.values())  # the same filters as the listing


def test_job_stats_counts_statuses_oldest_due_and_failures_by_code(queue: Store) -> None:
    stats = queue.job_stats()
    assert stats["counts"] == {"processing": 1, "failed": 3, "pending": 1, "completed": 1}
    assert stats["oldest_due_ms"] == NOW + 50
    assert stats["failures_by_code"] == {"INVALID_NUMBER": 1, "TEMPLATE": 1, "ERROR": 1}


def test_list_jobs_and_job_stats_keep_to_a_profiles_providers(queue: Store) -> None:
    assert ids(queue.list_jobs(providers=["iwinv", "aligo"])) == ["q6", "q4", "q3"]
    assert ids(queue.list_jobs(providers=["iwinv"], status="failed")) == ["q3"]
    assert queue.list_jobs(providers=[]) == []
    assert queue.job_counts(providers=["iwinv", "aligo"]) == {
        "failed": 1,
        "pending": 1,
        "completed": 1,
    }
    assert queue.job_counts(batch="B", providers=["iwinv"]) == {"failed": 1}
    stats = queue.job_stats(providers=["iwinv"])
    assert stats["counts"] == {"failed": 1, "pending": 1}
    assert stats["oldest_due_ms"] == NOW + 50
    assert stats["failures_by_code"] == {"TEMPLATE": 1}
    solapi = queue.job_stats(providers=["solapi"])
    assert solapi["counts"] == {"processing": 1, "failed": 2}
    assert solapi["oldest_due_ms"] is None
    assert solapi["failures_by_code"] == {"INVALID_NUMBER": 1, "ERROR": 1}


def test_job_stats_of_an_empty_queue(store: Store) -> None:
    assert store.job_stats() == {"counts": {}, "oldest_due_ms": None, "failures_by_code": {}}


def test_job_stats_counts_json_errors_without_a_code_as_unknown(store: Store) -> None:
    store.insert_jobs([job("a"), job("b"), job("c")])
    store.fail_jobs({"a": '{"message": "no code"}', "b": "[1, 2]", "c": _error("X")}, now_ms=NOW)
    assert store.job_stats()["failures_by_code"] == {"UNKNOWN": 2, "X": 1}


def test_reset_jobs_makes_failed_and_pending_jobs_due_with_fresh_attempts(queue: Store) -> None:
    queue.mark_in_flight(["q1"], now_ms=NOW)
    assert queue.reset_jobs(["q1", "q2", "q3", "q4", "q6", "missing", "q2"], now_ms=NOW + 7) == 3
    for job_id in ("q2", "q3", "q4"):
        again = loaded_job(queue, job_id)
        assert (again.status, again.attempts, again.process_at) == ("pending", 0, NOW + 7)
        assert (again.error, again.failed_at) == (None, None)
        assert again.metadata is not None and "owner" not in again.metadata
    assert loaded_job(queue, "q3").metadata == {"batch": "B"}
    assert loaded_job(queue, "q4").metadata == {}
    assert loaded_job(queue, "q1").status == "processing"  # claimed: never touched
    assert loaded_job(queue, "q6").status == "completed"
    assert queue.reset_jobs([], now_ms=NOW) == 0


# -- kmsg_cache (a vendor token shared by processes) -------------------------------------------


def test_cached_values_expire_and_are_replaced(backend: Backend, store: Store) -> None:
    assert store.cache_get("aligo:token", now_ms=NOW) is None
    store.cache_put("aligo:token", "sealed-1", expires_at_ms=NOW + 60_000)
    assert store.cache_get("aligo:token", now_ms=NOW) == "sealed-1"
    with backend.open() as other:  # another process sees it
        assert other.cache_get("aligo:token", now_ms=NOW + 59_999) == "sealed-1"
        assert other.cache_get("aligo:token", now_ms=NOW + 60_000) is None  # expired
        other.cache_put("aligo:token", "sealed-2", expires_at_ms=NOW + 120_000)
    assert store.cache_get("aligo:token", now_ms=NOW + 60_000) == "sealed-2"
    assert store.cache_get("other", now_ms=NOW) is None
    store.cache_put("긴 이름 " * 20, "x" * 5000, expires_at_ms=NOW + 1)
    assert store.cache_get("긴 이름 " * 20, now_ms=NOW) == "x" * 5000
