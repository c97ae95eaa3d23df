"""The store's part of `kmsg cancel` (docs/cancel.md), on every engine: cancelled
jobs, CANCELLED tracking rows, scheduled rows by time and by vendor group, and the race a
cancel runs against claiming workers.
"""

from __future__ import annotations

import threading

from kmsg_cli.dbcheck import check_store
from kmsg_cli.models import Job, JobStatus
from kmsg_cli.store.contract import Store
from tests.store.conftest import (
    CANCELLED,
    DAY,
    NOW,
    PENDING,
    SENT,
    Backend,
    batch_job,
    claim,
    ids,
    job,
    loaded_job,
    loaded_row,
    mids,
    run_threads,
    sent,
)

HOUR = 3_600_000


def scheduled(message_id: str, at: int, *, group: str | None = "G1", provider: str = "solapi"):
    metadata = {"origin": "send", **({"group_id": group} if group else {})}
    return sent(
        message_id,
        status=PENDING,
        provider_id=provider,
        scheduled_at=at,
        next_check_at=at + 120_000,
        metadata=metadata,
    )


# -- cancel_jobs ---------------------------------------------------------------------------------


def test_cancel_jobs_takes_only_pending_jobs_and_records_when(store: Store) -> None:
    later = job("p2", process_at=NOW + HOUR)
    store.insert_jobs([job("p1"), later, job("busy", priority=5), job("done"), job("bad")])
    assert ids(claim(store, limit=1, now_ms=NOW)) == ["busy"]
    store.complete_jobs(["done"], [sent("done")], now_ms=NOW)
    store.fail_jobs({"bad": '{"code":"X"}'}, now_ms=NOW)
    won = store.cancel_jobs(["p1", "p2", "busy", "done", "bad", "nope", "p2"], now_ms=NOW + 5)
    assert won == {"p1", "p2"}
    assert loaded_job(store, "busy").status == "processing"
    for job_id in won:
        cancelled = loaded_job(store, job_id)
        assert cancelled.status == JobStatus.CANCELLED.value and cancelled.completed_at == NOW + 5
    assert loaded_job(store, "done").status == "completed"
    assert loaded_job(store, "bad").status == "failed"
    assert store.cancel_jobs(list(won), now_ms=NOW + 6) == set()  # a second cancel wins nothing
    assert store.cancel_jobs([], now_ms=NOW) == set()


def test_cancelled_jobs_are_never_claimed_retried_or_due(store: Store) -> None:
    store.insert_jobs([job("a"), job("b", process_at=NOW + HOUR)])
    assert store.cancel_jobs(["a", "b"], now_ms=NOW) == {"a", "b"}
    assert claim(store, now_ms=NOW + 2 * HOUR) == []
    assert store.next_due_ms() is None
    assert store.reset_jobs(["a", "b"], now_ms=NOW) == 0
    assert store.job_counts() == {"cancelled": 2}
    assert {j.id for j in store.list_jobs(status="cancelled")} == {"a", "b"}
    assert store.job_stats()["counts"] == {"cancelled": 2}


def test_cancelled_jobs_are_purged_like_finished_ones(store: Store) -> None:
    store.insert_jobs([job("old"), job("new"), job("waiting")])
    store.cancel_jobs(["old"], now_ms=NOW - 10 * DAY)
    store.cancel_jobs(["new"], now_ms=NOW)
    assert store.count_purgeable(older_than_ms=NOW - DAY) == (0, 1)
    assert store.purge_jobs(older_than_ms=NOW - DAY) == 1
    assert store.get_jobs(["old", "new", "waiting"]).keys() == {"new", "waiting"}


def test_a_claim_and_a_cancel_of_the_same_jobs_never_both_win(backend: Backend) -> None:
    """Two claimers and a canceller on their own connections, started together, many times."""
    stores = [backend.open() for _ in range(3)]
    stores[0].initialize()
    try:
        for round_ in range(15):
            _race_round(stores, [f"r{round_}-{n:02d}" for n in range(12)])
    finally:
        for opened in stores:
            opened.close()


def _race_round(stores: list[Store], names: list[str]) -> None:
    stores[0].insert_jobs([job(name) for name in names])
    claimed: list[Job] = []
    won: set[str] = set()
    lock = threading.Lock()

    def act(n: int) -> None:
        if n == 2:
            got = stores[2].cancel_jobs(names, now_ms=NOW)
            with lock:
                won.update(got)
        else:
            taken = claim(stores[n], limit=4, now_ms=NOW)
            with lock:
                claimed.extend(taken)

    assert run_threads(3, act) == []
    taken = set(ids(claimed))
    assert len(taken) == len(claimed)  # no job claimed twice
    assert taken.isdisjoint(won)
    statuses = {j.id: j.status for j in stores[0].get_jobs(names).values()}
    assert {n for n, s in statuses.items() if s == "cancelled"} == won
    assert {n for n, s in statuses.items() if s == "processing"} == taken
    # the canceller tried every job: each one was either claimed or cancelled
    assert taken | won == set(names)


# -- tracking ------------------------------------------------------------------------------------


def test_cancel_tracking_changes_only_pending_rows(store: Store) -> None:
    store.insert_tracking(
        [scheduled("s1", NOW + HOUR), scheduled("s2", NOW + HOUR), sent("gone", status=SENT)]
    )
    changed = store.cancel_tracking(
        ["s1", "gone", "nope"],
        now_ms=NOW + 7,
        provider_status_code="PENDING",
        provider_status_message="SOLAPI cancelled group G1",
    )
    assert changed == {"s1"}
    row = loaded_row(store, "s1")
    assert (row.status, row.status_updated_at) == (CANCELLED, NOW + 7)
    assert row.provider_status_code == "PENDING"
    assert row.provider_status_message == "SOLAPI cancelled group G1"
    assert row.metadata == {"origin": "send", "group_id": "G1"}
    assert loaded_row(store, "s2").status == PENDING
    assert loaded_row(store, "gone").status == SENT
    # terminal: a checker's later write cannot move it
    assert store.apply_tracking([loaded_row(store, "s2"), sent("s1", status=SENT)]) == {"s2"}
    assert loaded_row(store, "s1").status == CANCELLED
    assert (
        store.cancel_tracking(
            ["s1"], now_ms=NOW, provider_status_code=None, provider_status_message=None
        )
        == set()
    )
    assert store.count_tracking_by_status() == {CANCELLED: 1, PENDING: 1, SENT: 1}


def test_scheduled_rows_at_or_after_a_time_by_provider(store: Store) -> None:
    store.insert_tracking(
        [
            scheduled("early", NOW + HOUR),
            scheduled("late", NOW + 3 * HOUR),
            scheduled("other", NOW + 3 * HOUR, provider="aligo"),
            scheduled("edge", NOW + 2 * HOUR),
            sent("now", status=PENDING),  # accepted, not scheduled
            sent("done", status=SENT, scheduled_at=NOW + 5 * HOUR),
        ]
    )
    found = list(store.iter_scheduled_tracking(since_ms=NOW + 2 * HOUR, chunk=2))
    assert mids(found) == ["edge", "late", "other"]
    by_provider = store.iter_scheduled_tracking(since_ms=NOW, provider_id="solapi")
    assert mids(list(by_provider)) == ["early", "edge", "late"]


def test_pending_rows_of_one_vendor_group(store: Store) -> None:
    store.insert_tracking(
        [
            scheduled("a", NOW + HOUR, group="G1"),
            scheduled("b", NOW + HOUR, group="G1"),
            scheduled("c", NOW + HOUR, group="G2"),
            scheduled("d", NOW + HOUR, group="G1", provider="aligo"),
            scheduled("e", NOW + HOUR, group=None),
            sent("f", status=SENT, metadata={"group_id": "G1"}),
        ]
    )
    assert mids(store.pending_in_group("solapi", "G1")) == ["a", "b"]
    assert mids(store.pending_in_group("aligo", "G1")) == ["d"]
    assert store.pending_in_group("solapi", "G9") == []


def test_batch_jobs_and_their_cancel(store: Store) -> None:
    store.insert_jobs([batch_job(f"b{n}", "camp", n) for n in range(3)] + [job("x")])
    assert store.cancel_jobs([j.id for j in store.iter_jobs(batch="camp")], now_ms=NOW) == {
        "b0",
        "b1",
        "b2",
    }
    assert store.job_counts(batch="camp") == {"cancelled": 3}
    assert store.job_counts() == {"cancelled": 3, "pending": 1}


# -- kmsg db check ---------------------------------------------------------------------------------


def test_db_check_knows_the_cancelled_status_and_its_time(store: Store) -> None:
    store.insert_jobs([job("cancelled-by-kmsg")])
    store.cancel_jobs(["cancelled-by-kmsg"], now_ms=NOW)
    store.insert_tracking([scheduled("s1", NOW + HOUR)])
    store.cancel_tracking(
        ["s1"], now_ms=NOW, provider_status_code="PENDING", provider_status_message=None
    )
    clean = {f.name: f for f in check_store(store)}
    for name in ("job statuses", "finished jobs have their time", "tracking statuses"):
        assert clean[name].ok, clean[name]

    # a cancelled job as no kmsg writes it: no completed_at
    store.insert_jobs([job("odd", status="cancelled")])
    broken = {f.name: f for f in check_store(store)}
    times = broken["finished jobs have their time"]
    assert not times.ok and "odd" in times.examples
    assert broken["job statuses"].ok
