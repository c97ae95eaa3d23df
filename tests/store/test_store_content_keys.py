"""Content keys in the store (docs/duplicates.md), on every engine of the contract suite."""

from __future__ import annotations

from typing import Any

from kmsg_cli.models import ContentMatch, Job
from kmsg_cli.store.contract import Store
from tests.store.conftest import DAY, LEASE, NOW, OWNER, job, row

KEY = "a" * 64
OTHER_KEY = "b" * 64


def keyed(job_id: str, key: str = KEY, **overrides: Any) -> Job:
    return job(job_id, metadata={"content_key": key}, **overrides)


def only(found: dict[str, list[ContentMatch]], key: str = KEY) -> ContentMatch:
    (match,) = found[key]
    return match


def test_inserted_jobs_record_their_keys_and_lookups_join_status(store: Store) -> None:
    store.insert_jobs([keyed("m1"), keyed("m2", OTHER_KEY), job("no-key")])
    found = store.content_matches([KEY, OTHER_KEY, "c" * 64], since_ms=NOW - DAY)
    assert set(found) == {KEY, OTHER_KEY}
    match = only(found)
    assert (match.message_id, match.created_at, match.job_status) == ("m1", NOW, "pending")
    assert match.tracked_at is None and match.job_error_code is None


def test_a_completed_job_shows_its_tracking_time(store: Store) -> None:
    store.insert_jobs([keyed("m1")])
    store.complete_jobs(["m1"], [row("m1", requested_at=NOW + 5)], now_ms=NOW + 6)
    match = only(store.content_matches([KEY], since_ms=NOW - DAY))
    assert (match.job_status, match.tracked_at, match.completed_at) == (
        "completed",
        NOW + 5,
        NOW + 6,
    )


def test_failed_jobs_carry_their_error_code(store: Store) -> None:
    store.insert_jobs([keyed("m1")])
    store.fail_jobs({"m1": '{"code": "UNKNOWN_OUTCOME", "message": "lost"}'}, now_ms=NOW)
    match = only(store.content_matches([KEY], since_ms=NOW - DAY))
    assert (match.job_status, match.job_error_code) == ("failed", "UNKNOWN_OUTCOME")


def test_tracking_rows_inserted_alone_record_their_keys(store: Store) -> None:
    store.insert_tracking([row("t1", metadata={"content_key": KEY})])
    match = only(store.content_matches([KEY], since_ms=NOW - DAY))
    assert match.job_status is None and match.tracked_at == NOW - 30_000


def test_the_window_excludes_older_keys(store: Store) -> None:
    store.insert_jobs([keyed("old", created_at=NOW - DAY - 1), keyed("new")])
    assert [m.message_id for m in store.content_matches([KEY], since_ms=NOW - DAY)[KEY]] == ["new"]


def test_a_job_inserted_twice_keeps_one_key_row(store: Store) -> None:
    store.insert_jobs([keyed("m1")])
    assert store.insert_jobs([keyed("m1")]) == 0
    assert len(store.content_matches([KEY], since_ms=0)[KEY]) == 1


def test_many_keys_are_looked_up_in_chunks(store: Store) -> None:
    keys = [f"{n:064x}" for n in range(1_200)]
    store.insert_jobs([keyed(f"m{n}", key) for n, key in enumerate(keys)])
    found = store.content_matches(keys, since_ms=0)
    assert len(found) == 1_200 and only(found, keys[777]).message_id == "m777"


def test_adopt_moves_only_pending_jobs(store: Store) -> None:
    store.insert_jobs(
        [
            job("p1", metadata={"batch": "old", "row": 3, "content_key": KEY}),
            job("p2", metadata={"batch": "old", "row": 4, "line": 5}),
            job("p3", metadata={"batch": "old", "row": 6, "line": 7}),
        ]
    )
    store.claim_jobs(now_ms=NOW, lease_ms=LEASE, owner=OWNER, limit=1)  # takes p1
    moves = {"p1": ("new", 1, 2), "p2": ("new", 2, 3), "p3": ("new", 3, None)}
    assert store.adopt_jobs(moves) == {"p2", "p3"}
    moved = store.get_jobs(["p1", "p2", "p3"])
    assert moved["p2"].metadata == {"batch": "new", "row": 2, "line": 3}
    # the new file's line unknown: the old file's line must not stand for it
    assert moved["p3"].metadata == {"batch": "new", "row": 3, "line": None}
    assert moved["p1"].metadata is not None and moved["p1"].metadata["batch"] == "old"
    assert [j.id for j in store.iter_jobs(batch="new")] == ["p2", "p3"]


def test_purge_forgets_keys_older_than_its_cutoff(store: Store) -> None:
    store.insert_jobs([keyed("old", created_at=NOW - 2 * DAY), keyed("new")])
    store.purge(older_than_ms=NOW - DAY)
    assert [m.message_id for m in store.content_matches([KEY], since_ms=0)[KEY]] == ["new"]


def test_empty_lookups_ask_nothing(store: Store) -> None:
    assert store.content_matches([], since_ms=0) == {}
    assert store.adopt_jobs({}) == set()
