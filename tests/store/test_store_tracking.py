"""SqliteStore's delivery tracking, SQLite-only matters: claimers in separate processes, the
claim's query plan, JSON stored as text (docs/storage.md).

Tracking behaviour on every backend is specified in test_store_contract.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.models import TrackingRow
from kmsg_cli.store.sqlite import DIALECT, SqliteStore
from tests.store.conftest import (
    DAY,
    NOW,
    PENDING,
    SENT,
    row,
)
from tests.store.conftest import TRACK_LEASE as LEASE
from tests.store.conftest import claim_rows as claim
from tests.store.conftest import loaded_row as loaded

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tracking.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path) as opened:
        opened.initialize()
        yield opened


# -- claim_due_tracking ------------------------------------------------------------------------


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
    sql = DIALECT.claim_tracking_sql(by_provider=by_provider)
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


# -- purge -------------------------------------------------------------------------------------


CUTOFF = NOW - 90 * DAY
