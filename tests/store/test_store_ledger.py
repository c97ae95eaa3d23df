"""SqliteStore's job ledger, SQLite-only matters: claimers in separate processes, the claim's
query plan, and chunked reads seen through the statement trace (docs/storage.md).

The ledger's behaviour on every backend is specified in test_store_contract.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kmsg_cli.store.sqlite import DIALECT, SqliteStore
from tests.store.conftest import LEASE, NOW, OWNER, batch_job, job

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path) as opened:
        opened.initialize()
        yield opened


# -- claim_jobs ----------------------------------------------------------------------------------


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
            for row in conn.execute(
                "EXPLAIN QUERY PLAN " + DIALECT.claim_jobs_sql(by_batch=False), params
            )
        ]
    assert any("USING INDEX idx_kmsg_jobs_dequeue" in line for line in plan), plan
    assert any("priority=? AND process_at<?" in line for line in plan), plan
    assert not any(line.startswith("SCAN") and "kmsg_jobs" in line for line in plan), plan
    assert not any(line == "SCAN c" for line in plan), plan


# -- in flight, complete, fail, retry, release ---------------------------------------------------


# -- recovery ------------------------------------------------------------------------------------


# -- counts, next due ----------------------------------------------------------------------------


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
