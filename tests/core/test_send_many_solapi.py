"""send-many against the fake SOLAPI server: exactly once through batches, kill -9 at several
points and a re-run, and a storm of mixed faults. The fake's own log is the judge."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.store.sqlite import SqliteStore
from tests.conftest import Run
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

fake_solapi = fixtures.fake_solapi

SENDER = "0212345678"


def write_rows(path: Path, count: int, *, invalid_every: int = 0) -> set[int]:
    """A CSV of `count` rows with per-row variables; returns the numbers of the valid rows."""
    valid: set[int] = set()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["to", "name", "amount"])
        for n in range(1, count + 1):
            bad = invalid_every and n % invalid_every == 0
            to = "010-12" if bad else f"010-{5000 + n // 10000:04d}-{n % 10000:04d}"
            writer.writerow([to, f"고객{n}", str(n * 100)])
            if not bad:
                valid.add(n)
    return valid


def write_config(path: Path, fake: FakeSolapi, *, batch_size: int, read_timeout: float) -> Path:
    path.write_text(
        f"""
default_profile = "live"
[profiles.live.providers.solapi]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "env:SOLAPI_API_SECRET"
sender = "{SENDER}"
base_url = "{fake.base_url}"
batch_size = {batch_size}
read_timeout = {read_timeout}
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def submitted(fake: FakeSolapi) -> Counter[str]:
    """How many times each of our ids was accepted by the fake."""
    return Counter(m["customFields"]["kmsgId"] for m in fake.accepted_messages())


def test_two_thousand_rows_each_valid_recipient_submitted_exactly_once(
    run: Run, fake_solapi: FakeSolapi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.csv"
    valid = write_rows(source, 2000, invalid_every=97)
    config = write_config(tmp_path / "c.toml", fake_solapi, batch_size=500, read_timeout=10)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    monkeypatch.setenv("SOLAPI_API_SECRET", DEFAULT_API_SECRET)
    code, doc = run.json(
        "send-many", str(source), "--text", "#{name}님 #{amount}원 결제", "--concurrency", "4"
    )
    assert code == 5, doc  # the invalid rows
    data = doc["data"]
    assert (data["valid"], data["invalid"], data["accepted"]) == (
        len(valid),
        2000 - len(valid),
        len(valid),
    )
    counts = submitted(fake_solapi)
    assert set(counts.values()) == {1}
    assert set(counts) == {f"{data['batch_id']}:{n}" for n in valid}
    sends = [r for r in fake_solapi.requests if r["path"].endswith("send-many/detail")]
    assert len(sends) == -(-len(valid) // 500)  # full batches
    texts = {m["to"]: m["text"] for m in fake_solapi.accepted_messages()}
    assert texts["01050000001"] == "고객1님 100원 결제"


# -- kill -9 and re-run ------------------------------------------------------------------------
def _environment(tmp_path: Path, config: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KMSG_CONFIG=str(config),
        KMSG_DB=str(tmp_path / "k.sqlite"),
        SOLAPI_API_SECRET=DEFAULT_API_SECRET,
        HOME=str(tmp_path),
    )
    return env


def _start(source: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "kmsg_cli", "send-many", str(source), "--text", "#{name}님"]
    return subprocess.Popen(
        [*command, "--json", "--concurrency", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError("condition not reached in time")


def _jobs(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with SqliteStore(db, busy_timeout_ms=100) as store:
            return store.count_jobs() if store.schema_version() else 0
    except Exception:
        return 0


def _in_flight(db: Path) -> int:
    with SqliteStore(db) as store:
        return sum(1 for job in store.processing_jobs() if (job.metadata or {}).get("in_flight"))


@pytest.mark.parametrize("moment", ["after-ledger", "between-batches", "mid-batch"])
def test_kill_9_then_rerun_sends_every_row_exactly_once(
    fake_solapi: FakeSolapi, tmp_path: Path, moment: str
) -> None:
    source = tmp_path / "in.csv"
    valid = write_rows(source, 600, invalid_every=0)
    config = write_config(tmp_path / "c.toml", fake_solapi, batch_size=100, read_timeout=30)
    env = _environment(tmp_path, config)
    db = Path(env["KMSG_DB"])
    fake_solapi.latency = 0.05
    fake_solapi.hang_seconds = 10
    if moment == "mid-batch":
        fake_solapi.script = ["ok", "ok", "hang_after_accept"]

    proc = _start(source, env)
    try:
        if moment == "after-ledger":
            _wait_for(lambda: _jobs(db) == len(valid))
        elif moment == "between-batches":
            _wait_for(lambda: len(fake_solapi.accepted_messages()) >= 200)
        else:
            _wait_for(lambda: len(fake_solapi.accepted_messages()) >= 300)
            time.sleep(0.3)  # the third request is registered and now hangs
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=30)  # reaps the process and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    in_flight = _in_flight(db)
    if moment == "mid-batch":
        assert in_flight == 100  # exactly the hanging request's messages: unknown outcome
    before = sum(submitted(fake_solapi).values())

    fake_solapi.script = []
    rerun = _start(source, env)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    data: dict[str, Any] = json.loads(out)["data"]
    counts = submitted(fake_solapi)
    assert set(counts.values()) == {1}, "a row was accepted twice"
    assert len(counts) == len(valid), "a row was lost"
    assert data["already_sent"] + data["accepted"] == len(valid)
    assert data["unknown"] == 0 and data["failed"] == 0
    if moment == "mid-batch":
        # the in-flight messages were found at the vendor by our id, not sent again
        assert before == 300 and data["reconciled"] == 100
    with SqliteStore(db) as store:
        assert store.job_counts() == {"completed": len(valid)}
        assert store.count_tracking() == len(valid)


def test_mixed_faults_end_every_row_accepted_or_failed_once(
    run: Run, fake_solapi: FakeSolapi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.csv"
    valid = write_rows(source, 300)
    config = write_config(tmp_path / "c.toml", fake_solapi, batch_size=20, read_timeout=1.0)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    monkeypatch.setenv("SOLAPI_API_SECRET", DEFAULT_API_SECRET)
    fake_solapi.fault_rate = 0.2
    fake_solapi.fault_kinds = ["500", "503", "429", "hang"]
    fake_solapi.script = ["500", "hang", "503", "429"]  # each kind at least once, then random
    fake_solapi.hang_seconds = 2
    results = tmp_path / "r.jsonl"
    code, doc = run.json(
        "send-many",
        str(source),
        "--text",
        "#{name}",
        "--concurrency",
        "4",
        "--max-attempts",
        "6",
        "--results",
        str(results),
    )
    assert code in (0, 5), doc
    faults = Counter(r["fault"] for r in fake_solapi.requests if r.get("fault"))
    assert set(faults) >= {"500", "503", "429", "hang"}, faults
    counts = submitted(fake_solapi)
    assert set(counts.values()) <= {1}, "a row was accepted twice"
    lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(valid)
    for line in lines:
        assert line["status"] in ("accepted", "failed"), line
        if line["status"] == "failed":
            assert line["error"]["code"] and line["error"]["message"]
        else:
            assert counts[line["id"]] == 1
    assert sum(1 for line in lines if line["status"] == "accepted") == len(counts)
