"""The ledger operations recovery relies on, on every backend (SQLite, PostgreSQL, MySQL/MariaDB).

`claim_ids` (a direct `kmsg send` takes its own ids), `mark_in_flight(sent_to=...)` (which
provider and request a job went to) and `defer_unknown` (an unknown outcome waits for its next
lookup while staying claimed). See docs/recovery.md.
"""

from __future__ import annotations

import threading

from kmsg_cli.models import JobStatus
from kmsg_cli.store.contract import Store
from tests.store.conftest import LEASE, NOW, OTHER, OWNER, Backend, job


def test_claim_ids_takes_only_the_listed_pending_jobs(store: Store) -> None:
    store.insert_jobs(
        [
            job("a", process_at=NOW + 3_600_000),  # due later: a direct send takes it anyway
            job("b"),
            job("c"),
            job("done", status=JobStatus.COMPLETED.value),
            job("busy", status=JobStatus.PROCESSING.value, metadata={"owner": OTHER}),
        ]
    )
    claimed = store.claim_ids(
        ["c", "a", "done", "busy", "missing"], now_ms=NOW, lease_ms=LEASE, owner=OWNER
    )
    assert [j.id for j in claimed] == ["a", "c"]
    for claimed_job in claimed:
        assert claimed_job.status == JobStatus.PROCESSING.value
        assert claimed_job.attempts == 1 and claimed_job.process_at == NOW + LEASE
        assert (claimed_job.metadata or {})["owner"] == OWNER
    jobs = store.get_jobs(["b", "done", "busy"])
    assert jobs["b"].status == JobStatus.PENDING.value
    assert jobs["done"].status == JobStatus.COMPLETED.value
    assert (jobs["busy"].metadata or {})["owner"] == OTHER
    assert store.claim_ids(["a", "c"], now_ms=NOW, lease_ms=LEASE, owner=OTHER) == []


def test_claim_ids_gives_each_job_to_one_claimer(backend: Backend, store: Store) -> None:
    ids = [f"j{n:03d}" for n in range(200)]
    store.insert_jobs([job(i) for i in ids])
    won: list[list[str]] = [[], [], [], []]

    def claimer(index: int) -> None:
        with backend.open() as own:
            owner = {**OWNER, "pid": index}
            won[index] = [j.id for j in own.claim_ids(ids, now_ms=NOW, lease_ms=LEASE, owner=owner)]

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(i for ids_won in won for i in ids_won) == ids


def test_mark_in_flight_records_where_the_request_went_and_drops_an_old_unknown(
    store: Store,
) -> None:
    store.insert_jobs([job("a"), job("b")])
    store.claim_ids(["a", "b"], now_ms=NOW, lease_ms=LEASE, owner=OWNER)
    store.defer_unknown({"a": (NOW + 60_000, {"since": NOW, "checks": 1})})
    sent_to = {"provider": "solapi", "request": "r-1", "at": NOW + 5}
    store.mark_in_flight(["a", "b"], now_ms=NOW + 5, sent_to=sent_to)
    for item in store.get_jobs(["a", "b"]).values():
        meta = item.metadata or {}
        assert meta["in_flight"] == NOW + 5 and meta["sent_to"] == sent_to
        assert "unknown" not in meta and meta["owner"] == OWNER
    store.mark_in_flight(["b"], now_ms=NOW + 9)  # without sent_to: the last one is kept
    meta = store.get_jobs(["b"])["b"].metadata or {}
    assert meta["in_flight"] == NOW + 9 and meta["sent_to"] == sent_to


def test_defer_unknown_keeps_the_job_claimed_until_its_next_lookup(store: Store) -> None:
    store.insert_jobs([job("a"), job("b"), job("p")])
    store.claim_ids(["a", "b"], now_ms=NOW, lease_ms=LEASE, owner=OWNER)
    store.mark_in_flight(["a", "b"], now_ms=NOW)
    info = {"since": NOW, "checks": 2, "reason": "the listing was cut off"}
    store.defer_unknown({"a": (NOW + 600_000, info), "p": (NOW + 1, info)})
    jobs = store.get_jobs(["a", "b", "p"])
    held = jobs["a"]
    assert held.status == JobStatus.PROCESSING.value and held.process_at == NOW + 600_000
    meta = held.metadata or {}
    assert meta["unknown"] == info and meta["owner"] == OWNER and meta["in_flight"] == NOW
    assert "unknown" not in (jobs["b"].metadata or {})
    assert jobs["p"].status == JobStatus.PENDING.value  # not claimed: untouched
    assert "unknown" not in (jobs["p"].metadata or {}) and jobs["p"].process_at == NOW
    # the hold is a lease like any other: one recoverer takes it over once it is due
    taken = store.take_over(
        "a", expected_process_at=NOW + 600_000, now_ms=NOW + 600_001, lease_ms=LEASE, owner=OTHER
    )
    assert taken is not None and (taken.metadata or {})["unknown"] == info
