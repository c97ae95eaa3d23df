"""SqliteStore's delivery tracking: due claims, guarded updates, listing, purge (SPEC §7, §9)."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.models import DeliveryStatus, Job, JobStatus, TrackingRow
from kmsg_cli.store.base import TRACKING_MUTABLE_COLUMNS, Store
from kmsg_cli.store.sqlite import SqliteStore, tracking_claim_statement

REPO = Path(__file__).resolve().parent.parent
NOW = 1_700_000_000_000
LEASE = 60_000
DAY = 86_400_000

PENDING = DeliveryStatus.PENDING.value
SENT = DeliveryStatus.SENT.value
DELIVERED = DeliveryStatus.DELIVERED.value
FAILED = DeliveryStatus.FAILED.value
CANCELLED = DeliveryStatus.CANCELLED.value
UNKNOWN = DeliveryStatus.UNKNOWN.value


def row(message_id: str, **overrides: Any) -> TrackingRow:
    values: dict[str, Any] = {
        "message_id": message_id,
        "provider_id": "solapi",
        "provider_message_id": f"P-{message_id}",
        "type": "SMS",
        "to": "01012345678",
        "sender": "0212345678",
        "status": SENT,
        "requested_at": NOW - 30_000,
        "status_updated_at": NOW - 30_000,
        "next_check_at": NOW,
    }
    values.update(overrides)
    return TrackingRow(**values)


def job(job_id: str, **overrides: Any) -> Job:
    values: dict[str, Any] = {
        "id": job_id,
        "type": "send",
        "data": {"to": "01012345678", "text": "대체 문자"},
        "created_at": NOW,
        "process_at": NOW,
    }
    values.update(overrides)
    return Job(**values)


def fallback_job(message_id: str) -> Job:
    return job(f"{message_id}:api-fallback", metadata={"for_message": message_id})


def claim(store: SqliteStore, limit: int = 100, **overrides: Any) -> list[TrackingRow]:
    kwargs: dict[str, Any] = {"now_ms": NOW, "lease_ms": LEASE, "limit": limit}
    kwargs.update(overrides)
    return store.claim_due_tracking(**kwargs)


def ids(rows: list[TrackingRow]) -> list[str]:
    return [r.message_id for r in rows]


def loaded(store: SqliteStore, message_id: str) -> TrackingRow:
    found = store.get_tracking(message_id)
    assert found is not None
    return found


def failed(current: TrackingRow, **overrides: Any) -> TrackingRow:
    """The row as a checker writes it when the provider reports a failure."""
    values: dict[str, Any] = {
        "status": FAILED,
        "provider_status_code": "3104",
        "provider_status_message": "카카오톡 미사용자",
        "failed_at": NOW + 1_000,
        "status_updated_at": NOW + 1_000,
        "attempt_count": current.attempt_count + 1,
        "last_checked_at": NOW + 1_000,
        "metadata": {"failover": {"path": "api", "job": f"{current.message_id}:api-fallback"}},
    }
    values.update(overrides)
    return dataclasses.replace(current, **values)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tracking.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path) as opened:
        opened.initialize()
        yield opened


def test_sqlite_store_satisfies_the_protocol_with_tracking_methods(store: SqliteStore) -> None:
    assert isinstance(store, Store)
    for name in (
        "claim_due_tracking",
        "apply_tracking",
        "list_tracking",
        "count_tracking_by_status",
        "purge",
        "count_purgeable",
    ):
        assert getattr(Store, name).__doc__, name


# -- claim_due_tracking ------------------------------------------------------------------------


def test_claim_takes_the_most_overdue_rows_first_up_to_the_limit(store: SqliteStore) -> None:
    store.insert_tracking(
        [
            row("e", next_check_at=NOW),
            row("d", status=PENDING, next_check_at=NOW - 100),
            row("c", next_check_at=NOW - 200),
            row("b", status=PENDING, next_check_at=NOW - 300),
            row("a", next_check_at=NOW - 50),
        ]
    )
    first = claim(store, limit=3)
    # the three oldest next_check_at (b, c, d), returned by message_id
    assert ids(first) == ["b", "c", "d"]
    assert ids(claim(store, limit=3)) == ["a", "e"]
    assert claim(store, limit=3) == []


def test_claim_breaks_next_check_at_ties_between_statuses_by_message_id(
    store: SqliteStore,
) -> None:
    # Within one status, ties at the limit are taken in index order (backend-defined, see
    # Store.claim_due_tracking); between the statuses' candidates, by message_id.
    store.insert_tracking(
        [row("m3", status=PENDING), row("m1", status=SENT), row("m2", status=SENT)]
    )
    taken = []
    while batch := claim(store, limit=1):
        taken.extend(ids(batch))
    assert taken == ["m1", "m2", "m3"]


def test_rows_tied_on_next_check_at_are_each_claimed_once(store: SqliteStore) -> None:
    store.insert_tracking([row(f"m{n:03d}", status=(PENDING, SENT)[n % 2]) for n in range(100)])
    taken = []
    while batch := claim(store, limit=7):
        assert len(batch) <= 7
        assert ids(batch) == sorted(ids(batch))
        taken.extend(ids(batch))
    assert sorted(taken) == [f"m{n:03d}" for n in range(100)]


def test_claim_with_a_zero_limit_claims_nothing(store: SqliteStore) -> None:
    store.insert_tracking([row("a")])
    assert claim(store, limit=0) == []
    assert loaded(store, "a").next_check_at == NOW


def test_rows_not_yet_due_and_terminal_rows_are_not_claimed(store: SqliteStore) -> None:
    store.insert_tracking(
        [
            row("due", next_check_at=NOW),
            row("later", next_check_at=NOW + 1),
            *(
                row(f"done-{status}", status=status, next_check_at=NOW - 1_000)
                for status in (DELIVERED, FAILED, CANCELLED, UNKNOWN)
            ),
        ]
    )
    assert ids(claim(store)) == ["due"]
    assert claim(store) == []
    assert ids(claim(store, now_ms=NOW + 1)) == ["later"]
    for status in (DELIVERED, FAILED, CANCELLED, UNKNOWN):
        assert loaded(store, f"done-{status}").next_check_at == NOW - 1_000


def test_the_lease_pushes_next_check_at_and_changes_nothing_else(store: SqliteStore) -> None:
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
    (claimed,) = claim(store)
    expected = dataclasses.replace(original, next_check_at=NOW + LEASE)
    assert claimed == expected
    assert loaded(store, "a") == expected


def test_a_claimed_row_is_due_again_after_its_lease(store: SqliteStore) -> None:
    store.insert_tracking([row("a")])
    assert ids(claim(store)) == ["a"]
    assert claim(store, now_ms=NOW + LEASE - 1) == []
    (again,) = claim(store, now_ms=NOW + LEASE)
    assert again.next_check_at == NOW + 2 * LEASE


def test_claim_with_a_provider_takes_only_that_providers_rows(store: SqliteStore) -> None:
    store.insert_tracking(
        [
            row("s1", provider_id="solapi", next_check_at=NOW - 10),
            row("i1", provider_id="iwinv", next_check_at=NOW - 20),
            row("s2", provider_id="solapi", status=PENDING),
            row("i2", provider_id="iwinv", status=PENDING),
        ]
    )
    assert ids(claim(store, provider_id="iwinv")) == ["i1", "i2"]
    assert claim(store, provider_id="iwinv") == []
    assert claim(store, provider_id="aligo") == []
    assert ids(claim(store)) == ["s1", "s2"]


def _claim_until_empty(path: Path, out: list[str], errors: list[BaseException]) -> None:
    try:
        with SqliteStore(path) as own:
            while batch := own.claim_due_tracking(now_ms=NOW, lease_ms=LEASE, limit=13):
                out.extend(ids(batch))
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def _due_rows(prefix: str, count: int) -> list[TrackingRow]:
    # Half PENDING, half SENT, a spread of due times with many ties.
    return [
        row(
            f"{prefix}{n:05d}",
            status=PENDING if n % 2 else SENT,
            next_check_at=NOW - (n % 17) * 1_000,
        )
        for n in range(count)
    ]


def test_concurrent_claimers_in_threads_claim_each_row_once(
    store: SqliteStore, db_path: Path
) -> None:
    rows = _due_rows("t", 5000)
    store.insert_tracking(rows)
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
    claimed = [message_id for result in results for message_id in result]
    assert len(claimed) == len(set(claimed)) == 5000
    assert set(claimed) == {r.message_id for r in rows}
    assert {r.next_check_at for r in store.list_tracking(limit=10_000)} == {NOW + LEASE}


_CLAIMER = """
import json, os, sys, time
from kmsg_cli.store.sqlite import SqliteStore
path, now, lease, start_flag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
while not os.path.exists(start_flag):
    time.sleep(0.001)
claimed = []
with SqliteStore(path) as store:
    while batch := store.claim_due_tracking(now_ms=now, lease_ms=lease, limit=11):
        claimed.extend(row.message_id for row in batch)
print(json.dumps(claimed))
"""


def test_concurrent_claimers_in_processes_claim_each_row_once(
    store: SqliteStore, db_path: Path, tmp_path: Path
) -> None:
    rows = _due_rows("p", 5000)
    store.insert_tracking(rows)
    start = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, str(db_path), str(NOW), str(LEASE), str(start)],
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
        assert "locked" not in stderr
        outputs.append(json.loads(stdout))
    claimed = [message_id for output in outputs for message_id in output]
    assert len(claimed) == len(set(claimed)) == 5000
    assert set(claimed) == {r.message_id for r in rows}


@pytest.mark.parametrize("by_provider", [False, True])
def test_claim_seeks_the_due_index_without_scanning_the_table(
    store: SqliteStore, by_provider: bool
) -> None:
    # Not a timing test: each candidate SELECT must seek idx_kmsg_delivery_due by
    # (status, next_check_at) and never scan the table, so a claim's cost does not grow with
    # the number of tracked messages.
    store.insert_tracking(_due_rows("x", 50))
    params: dict[str, Any] = {
        "due0": PENDING,
        "due1": SENT,
        "now": NOW,
        "limit": 10,
        "lease_until": NOW + LEASE,
    }
    if by_provider:
        params["provider"] = "solapi"
    sql = tracking_claim_statement(by_provider=by_provider)
    with store._connection() as conn:
        plan = [str(line[3]) for line in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    seeks = [
        line
        for line in plan
        if "USING INDEX idx_kmsg_delivery_due (status=? AND next_check_at<?)" in line
    ]
    assert len(seeks) == 2, plan
    assert not any(line.startswith("SCAN") and "kmsg_delivery_tracking" in line for line in plan), (
        plan
    )
    # the claim itself updates by primary key
    assert any("kmsg_delivery_tracking" in line and "(message_id=?)" in line for line in plan)


# -- apply_tracking ----------------------------------------------------------------------------


def test_apply_tracking_writes_the_mutable_columns_only(store: SqliteStore) -> None:
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
    assert len(store.apply_tracking([changed])) == 1
    stored = loaded(store, "a")
    for column in TRACKING_MUTABLE_COLUMNS:
        assert getattr(stored, column) == getattr(changed, column), column
    for field in ("provider_id", "provider_message_id", "type", "to", "sender"):
        assert getattr(stored, field) == getattr(original, field), field
    assert stored.requested_at == original.requested_at
    assert stored.scheduled_at == original.scheduled_at


def test_apply_tracking_never_moves_a_terminal_status(store: SqliteStore) -> None:
    store.insert_tracking(
        [
            row("failed", status=FAILED, metadata={"failover": {"path": "api"}}),
            row("delivered", status=DELIVERED),
        ]
    )
    back_to_sent = dataclasses.replace(
        loaded(store, "failed"), status=SENT, metadata={"overwritten": True}, attempt_count=9
    )
    delivered_to_failed = failed(loaded(store, "delivered"))
    assert len(store.apply_tracking([back_to_sent, delivered_to_failed])) == 0
    assert loaded(store, "failed") == row(
        "failed", status=FAILED, metadata={"failover": {"path": "api"}}
    )
    assert loaded(store, "delivered") == row("delivered", status=DELIVERED)


def test_apply_tracking_moves_a_live_row_to_a_terminal_status_once(store: SqliteStore) -> None:
    store.insert_tracking([row("a")])
    first = failed(loaded(store, "a"))
    assert len(store.apply_tracking([first])) == 1
    assert len(store.apply_tracking([dataclasses.replace(first, status=UNKNOWN)])) == 0
    assert loaded(store, "a").status == FAILED


def test_apply_tracking_with_a_stale_expected_next_check_is_not_applied(
    store: SqliteStore,
) -> None:
    store.insert_tracking([row("a"), row("b")])
    claimed = {r.message_id: r for r in claim(store)}
    seen = {message_id: r.next_check_at for message_id, r in claimed.items()}
    stale = {"a": seen["a"] - 1, "b": seen["b"]}
    updates = [
        dataclasses.replace(r, attempt_count=1, next_check_at=NOW + 120_000)
        for r in claimed.values()
    ]
    assert len(store.apply_tracking(updates, expected_next_check=stale)) == 1
    assert loaded(store, "a") == claimed["a"]
    assert loaded(store, "b").attempt_count == 1
    assert loaded(store, "b").next_check_at == NOW + 120_000


def test_a_checker_whose_lease_was_taken_over_cannot_overwrite(store: SqliteStore) -> None:
    store.insert_tracking([row("a")])
    (slow,) = claim(store)  # checker 1, then stalls past its lease
    (fast,) = claim(store, now_ms=NOW + LEASE)  # checker 2 re-claims the row
    delivered = dataclasses.replace(fast, status=DELIVERED, delivered_at=NOW + LEASE)
    assert (
        len(store.apply_tracking([delivered], expected_next_check={"a": fast.next_check_at})) == 1
    )
    late = dataclasses.replace(slow, attempt_count=1, next_check_at=NOW + 120_000)
    assert len(store.apply_tracking([late], expected_next_check={"a": slow.next_check_at})) == 0
    assert loaded(store, "a").status == DELIVERED


def test_apply_tracking_of_an_unknown_or_no_row_updates_nothing(store: SqliteStore) -> None:
    assert len(store.apply_tracking([])) == 0
    assert len(store.apply_tracking([row("ghost")], jobs=[fallback_job("ghost")])) == 0
    assert store.count_tracking() == 0
    assert store.count_jobs() == 0


def test_jobs_are_inserted_only_for_rows_this_call_updated(store: SqliteStore) -> None:
    store.insert_tracking([row("live"), row("done", status=FAILED)])
    updates = [failed(loaded(store, "live")), failed(loaded(store, "done"))]
    jobs = [fallback_job("live"), fallback_job("done")]
    assert len(store.apply_tracking(updates, jobs=jobs)) == 1
    assert store.get_job("live:api-fallback") == fallback_job("live")
    assert store.get_job("done:api-fallback") is None


def test_two_checkers_failing_one_message_enqueue_its_fallback_once(
    store: SqliteStore, db_path: Path
) -> None:
    store.insert_tracking([row("a")])
    seen = loaded(store, "a")
    with SqliteStore(db_path) as other:
        results = [
            len(checker.apply_tracking([failed(seen)], jobs=[fallback_job("a")]))
            for checker in (store, other)
        ]
    assert sorted(results) == [0, 1]
    assert store.count_jobs() == 1
    assert store.get_job("a:api-fallback") == fallback_job("a")


def test_concurrent_checkers_failing_the_same_messages_enqueue_each_fallback_once(
    store: SqliteStore, db_path: Path
) -> None:
    message_ids = [f"m{n:03d}" for n in range(200)]
    store.insert_tracking([row(message_id) for message_id in message_ids])
    snapshot = store.find_tracking(message_ids)
    updates = [failed(snapshot[message_id]) for message_id in message_ids]
    jobs = [fallback_job(message_id) for message_id in message_ids]
    counts: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def checker() -> None:
        try:
            with SqliteStore(db_path) as own:
                barrier.wait()
                for start in range(0, len(updates), 20):
                    counts.append(
                        len(
                            own.apply_tracking(
                                updates[start : start + 20], jobs=jobs[start : start + 20]
                            )
                        )
                    )
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=checker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(counts) == 200
    assert store.count_jobs() == 200
    assert store.count_tracking_by_status() == {FAILED: 200}


def test_an_existing_job_id_is_left_untouched(store: SqliteStore) -> None:
    store.insert_tracking([row("a")])
    existing = job("a:api-fallback", data={"text": "original"}, metadata={"for_message": "a"})
    store.insert_jobs([existing])
    assert len(store.apply_tracking([failed(loaded(store, "a"))], jobs=[fallback_job("a")])) == 1
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
def test_a_job_not_tied_to_one_of_the_updates_is_refused(store: SqliteStore, bad_job: Job) -> None:
    store.insert_tracking([row("a"), row("b")])
    before = loaded(store, "a")
    with pytest.raises(ValueError, match="for_message"):
        store.apply_tracking([failed(before)], jobs=[fallback_job("a"), bad_job])
    assert loaded(store, "a") == before
    assert store.count_jobs() == 0


def test_a_message_id_repeated_in_updates_is_refused(store: SqliteStore) -> None:
    store.insert_tracking([row("a")])
    before = loaded(store, "a")
    with pytest.raises(ValueError, match="more than once"):
        store.apply_tracking([failed(before), before])
    assert loaded(store, "a") == before


def test_json_columns_round_trip_as_objects_and_are_stored_as_json_text(
    store: SqliteStore, db_path: Path
) -> None:
    metadata = {
        "failover": {"path": "native", "text": "카카오톡 미사용자 대체 문자", "bytes": 44},
        "tags": ["봄", "세일"],
        "nested": {"empty": {}, "none": None, "flag": False, "ratio": 0.5},
    }
    last_error = {"code": "TIMEOUT", "message": "조회 시간 초과", "attempt": 2}
    store.insert_tracking([row("a", metadata={"k": "v"}), row("b", metadata={"k": "v"})])
    (claimed_a, claimed_b) = claim(store)
    assert claimed_a.metadata == {"k": "v"}
    assert store.apply_tracking(
        [
            dataclasses.replace(claimed_a, metadata=metadata, last_error=last_error),
            dataclasses.replace(claimed_b, metadata=None, last_error=None),
        ]
    ) == {"a", "b"}
    assert loaded(store, "a").metadata == metadata
    assert loaded(store, "a").last_error == last_error
    assert loaded(store, "b").metadata is None
    assert loaded(store, "b").last_error is None
    assert {r.message_id: r.metadata for r in store.list_tracking()} == {"a": metadata, "b": None}
    with closing(sqlite3.connect(db_path)) as conn:
        text, kind, code = conn.execute(
            "SELECT metadata, json_type(metadata), json_extract(last_error, '$.code') "
            "FROM kmsg_delivery_tracking WHERE message_id = 'a'"
        ).fetchone()
    assert isinstance(text, str) and "카카오톡" in text  # readable UTF-8, not \\u escapes
    assert json.loads(text) == metadata
    assert (kind, code) == ("object", "TIMEOUT")


# -- list_tracking and count_tracking_by_status --------------------------------------------


@pytest.fixture
def listed(store: SqliteStore) -> SqliteStore:
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


def test_list_tracking_is_newest_first_then_by_message_id_descending(
    listed: SqliteStore,
) -> None:
    assert ids(listed.list_tracking()) == ["r5", "r4", "r3", "r2", "r1"]
    assert ids(listed.list_tracking(limit=2)) == ["r5", "r4"]
    assert ids(listed.list_tracking(limit=2, offset=2)) == ["r3", "r2"]
    assert ids(listed.list_tracking(limit=2, offset=4)) == ["r1"]
    assert listed.list_tracking(limit=0) == []
    assert listed.list_tracking(offset=10) == []
    assert listed.list_tracking()[0] == row(
        "r5", requested_at=NOW, status=PENDING, provider_id="iwinv", type="LMS"
    )


def test_list_tracking_filters_combine(listed: SqliteStore) -> None:
    assert ids(listed.list_tracking(status=[SENT, PENDING])) == ["r5", "r4", "r3"]
    assert ids(listed.list_tracking(status=(FAILED,))) == ["r2"]
    assert listed.list_tracking(status=[]) == []
    assert ids(listed.list_tracking(status=SENT)) == ["r4", "r3"]  # a lone string is one status
    assert ids(listed.list_tracking(provider_id="iwinv")) == ["r5", "r2"]
    assert ids(listed.list_tracking(type="ALIMTALK")) == ["r3"]
    assert ids(listed.list_tracking(to="01099998888")) == ["r4"]
    assert ids(listed.list_tracking(since_ms=NOW - 2_000)) == ["r5", "r4", "r3", "r2"]
    assert ids(listed.list_tracking(until_ms=NOW - 2_000)) == ["r3", "r2", "r1"]
    assert ids(listed.list_tracking(since_ms=NOW - 2_000, until_ms=NOW - 2_000)) == ["r3", "r2"]
    assert ids(listed.list_tracking(provider_id="iwinv", status=[FAILED, SENT])) == ["r2"]
    assert listed.list_tracking(provider_id="iwinv", type="ALIMTALK") == []


def test_list_tracking_refuses_a_negative_limit_or_offset(listed: SqliteStore) -> None:
    with pytest.raises(ValueError):
        listed.list_tracking(limit=-1)
    with pytest.raises(ValueError):
        listed.list_tracking(offset=-1)


def test_count_tracking_by_status_uses_the_same_filters(listed: SqliteStore) -> None:
    assert listed.count_tracking_by_status() == {
        DELIVERED: 1,
        FAILED: 1,
        SENT: 2,
        PENDING: 1,
    }
    assert listed.count_tracking_by_status(provider_id="iwinv") == {FAILED: 1, PENDING: 1}
    assert listed.count_tracking_by_status(status=[SENT, CANCELLED]) == {SENT: 2}
    assert listed.count_tracking_by_status(status=[]) == {}
    assert listed.count_tracking_by_status(since_ms=NOW - 1_000) == {SENT: 1, PENDING: 1}
    assert listed.count_tracking_by_status(until_ms=NOW - 3_000, type="SMS") == {DELIVERED: 1}
    assert listed.count_tracking_by_status(to="01000000000") == {}


# -- purge -------------------------------------------------------------------------------------


CUTOFF = NOW - 90 * DAY


def _purge_fixture(store: SqliteStore) -> tuple[set[str], set[str]]:
    """Old and new rows and jobs; returns the ids that must survive a purge at CUTOFF."""
    old, new = CUTOFF - 1, CUTOFF
    tracking = [
        *(row(f"old-{s}-{n}", status=s, status_updated_at=old) for s in (DELIVERED, FAILED,
          CANCELLED, UNKNOWN) for n in range(3)),
        row("old-sent", status=SENT, status_updated_at=old - DAY),
        row("old-pending", status=PENDING, status_updated_at=old - DAY),
        row("new-delivered", status=DELIVERED, status_updated_at=new),
        row("new-failed", status=FAILED, status_updated_at=NOW),
    ]  # fmt: skip
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


def test_purge_deletes_only_old_terminal_rows_and_finished_jobs_in_chunks(
    store: SqliteStore,
) -> None:
    keep_tracking, keep_jobs = _purge_fixture(store)
    assert store.count_purgeable(older_than_ms=CUTOFF) == (12, 7)
    chunks = []
    while (deleted := store.purge(older_than_ms=CUTOFF, limit=5)) != (0, 0):
        chunks.append(deleted)
    assert chunks == [(5, 5), (5, 2), (2, 0)]
    assert store.count_purgeable(older_than_ms=CUTOFF) == (0, 0)
    assert {r.message_id for r in store.list_tracking(limit=1000)} == keep_tracking
    assert {j.id for j in store.iter_jobs()} == keep_jobs


def test_count_purgeable_matches_what_purge_deletes(store: SqliteStore) -> None:
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
    # everything terminal or finished with a time is gone; live rows and jobs remain
    assert store.count_tracking_by_status() == {SENT: 1, PENDING: 1}
    assert {j.id for j in store.iter_jobs()} == {
        "old-pending",
        "old-processing",
        "done-without-time",
    }


def test_purge_refuses_a_limit_that_would_never_finish(store: SqliteStore) -> None:
    with pytest.raises(ValueError):
        store.purge(older_than_ms=NOW, limit=0)


def test_set_tracking_metadata_key_writes_one_key_even_on_a_terminal_row(
    store: SqliteStore,
) -> None:
    store.insert_tracking([row("a")])
    store.apply_tracking([failed(loaded(store, "a"))])
    assert store.set_tracking_metadata_key("a", "failover", {"outcome": "sent", "n": 1})
    stored = loaded(store, "a")
    assert stored.status == "FAILED"
    assert stored.metadata is not None and stored.metadata["failover"] == {
        "outcome": "sent",
        "n": 1,
    }
    assert not store.set_tracking_metadata_key("missing", "failover", {})
