"""The recovery soak: queue workers and tracking passes killed mid-request, then resumed.

Like tests/hardening/test_fault_soak.py (its helpers are in tests/hardening/soak.py): the three
fake vendors answer 20 % of the send requests, and of SOLAPI's lookups, with seeded faults
(5xx, 429, an HTML gateway page, hangs, resets, a 200 whose JSON body is cut off, accepted
then the connection dropped). Then the faults stop, the backoff of the lookups still waiting
is over (the test moves their due time, as the clock would), and kmsg resumes
(docs/recovery.md). The fakes' logs judge:

- queue workers, on SQLite and on PostgreSQL: two `kmsg queue process` workers share the
  queue; each is killed with SIGKILL once, at a moment a fake is processing one of its
  requests, and started again. Every queued message is accepted exactly once, or failed with
  its reason; none is left pending or claimed; no message of SOLAPI, which can be asked, is
  left unknown;
- tracking passes: AlimTalk messages (the mock; every recipient a non-KakaoTalk user) fail,
  and each gets one SMS fallback through SOLAPI; `kmsg track run-once` is killed mid-request
  and re-run. Every recipient gets exactly one fallback, and every original row records its
  outcome ("sent").

Sizes: 400 queued messages per engine and 80 fallbacks by default; KMSG_SOAK=full: 10 times
as many. KMSG_SOAK_SEED=N draws another fault sequence.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.soak import (
    FULL,
    RUN_TIMEOUT_S,
    Fakes,
    accepted_at_least,
    accepted_by_fakes,
    accepted_so_far,
    environment,
    in_flight,
    kmsg,
    wait_until,
    write_config,
    write_input,
)
from tests.store.conftest import postgres_schema

QUEUED = 4_000 if FULL else 400
FALLBACKS = 800 if FULL else 80


# -- the database -----------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "soak.sqlite")
        return
    with postgres_schema() as (_name, url):
        yield url


def sql(target: str, statement: str) -> list[tuple[Any, ...]]:
    """Run one statement on the soak's database, SQLite file or PostgreSQL URL."""
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target, autocommit=True) as conn:
            cursor = conn.execute(statement)
            return list(cursor.fetchall()) if cursor.description else []
    with closing(sqlite3.connect(target)) as conn, conn:
        return list(conn.execute(statement))


def time_passes(target: str) -> None:
    """The backoff of every job still waiting is over (retries and unknown outcomes)."""
    sql(target, "UPDATE kmsg_jobs SET process_at = 0 WHERE status IN ('pending', 'processing')")


def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmsg_cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )


def kill_mid_request(proc: subprocess.Popen[bytes], fakes: Fakes) -> None:
    wait_until(lambda: bool(in_flight(fakes)), 5, 0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def stats(env: dict[str, str]) -> dict[str, int]:
    doc = json.loads(kmsg(env, "queue", "stats", "--json").stdout)
    return {k: v for k, v in doc["data"]["counts"].items() if v}


# -- queue workers ----------------------------------------------------------------------------
def test_queue_workers_killed_mid_request_send_every_message_once(
    fakes: Fakes, tmp_path: Path, database: str
) -> None:
    source = tmp_path / "queue.csv"
    rows = write_input(source, QUEUED)
    valid = {n: r for n, r in rows.items() if r.kind != "invalid"}
    env = environment(tmp_path, write_config(tmp_path / "soak.toml", fakes))
    env["KMSG_DB"] = database
    queued = kmsg(env, "send-many", str(source), "--queue", "--yes", "--json")
    assert queued.returncode == 5, queued.stderr  # the invalid rows
    worker = ("queue", "process", "--concurrency", "4", "--lease", "5m")
    workers = [start(env, *worker), start(env, *worker)]
    last_start = time.monotonic()
    try:
        for index, fraction in enumerate((0.25, 0.6)):
            target = int(len(valid) * fraction)
            assert wait_until(accepted_at_least(fakes, target), RUN_TIMEOUT_S, 0.02)
            kill_mid_request(workers[index], fakes)
            workers[index] = start(env, *worker)  # a new worker takes the dead one's jobs
            last_start = time.monotonic()
        settled = wait_until(lambda: "pending" not in stats(env), RUN_TIMEOUT_S, 0.5)
        assert settled, stats(env)
    finally:
        # A signal that comes while the interpreter itself starts, before kmsg's first line,
        # kills the process (nothing is claimed yet): give a worker just started a moment.
        time.sleep(max(0.0, 1.0 - (time.monotonic() - last_start)))
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # a clean stop: 130
                assert proc.wait(timeout=60) == 130
    # The resume: no more faults, the waiting jobs are due, one worker drains the queue.
    fakes.set_faults(0.0)
    for _ in range(3):
        time_passes(database)
        drained = kmsg(env, "queue", "process", "--drain", "--json")
        assert drained.returncode in (0, 3, 5), drained.stderr
        if set(stats(env)) <= {"completed", "failed"}:
            break
    assert set(stats(env)) <= {"completed", "failed"}, stats(env)
    judge(fakes, env, rows)


def judge(fakes: Fakes, env: dict[str, str], rows: dict[int, Any]) -> None:
    fake = accepted_by_fakes(fakes)
    twice = {p: c for p, c in fake.count.items() if c > 1}
    assert not twice, f"accepted more than once: {sorted(twice.items())[:10]}"
    jobs = json.loads(kmsg(env, "queue", "list", "--limit", str(len(rows) + 10), "--json").stdout)[
        "data"
    ]["jobs"]
    by_phone = {job["to"]: job for job in jobs}
    for row in rows.values():
        if row.kind == "invalid":
            continue
        job = by_phone[row.phone]
        accepted_at = fake.vendor.get(row.phone)
        if job["status"] == "completed":
            assert accepted_at is not None, ("completed, yet no fake has it", job)
            continue
        error = job["error"] or {}
        assert job["status"] == "failed" and error.get("code") and error.get("message"), job
        if error["code"] != "UNKNOWN_OUTCOME":
            assert accepted_at is None, ("failed with a reason, yet a fake accepted it", job)
        else:  # only where the provider cannot be asked
            assert "cannot be asked" in error["message"], job
            assert accepted_at != "solapi", job
    assert kmsg(env, "db", "check").returncode == 0


# -- tracking passes --------------------------------------------------------------------------
def fallback_config(path: Path, fakes: Fakes) -> Path:
    text = write_config(path, fakes).read_text(encoding="utf-8")
    text = text.replace(
        'ALIMTALK = "solapi"\nstrategy = "round_robin"',
        'ALIMTALK = "kakao"\n\n[profiles.soak.providers.kakao]\ntype = "mock"',
    ).replace('SMS = ["solapi", "iwinv", "aligo"]', 'SMS = "solapi"')
    path.write_text(text, encoding="utf-8")
    return path


def test_tracking_passes_killed_mid_request_send_each_fallback_once(
    fakes: Fakes, tmp_path: Path
) -> None:
    env = environment(tmp_path, fallback_config(tmp_path / "soak.toml", fakes))
    phones = [f"010{n:04d}3104" for n in range(7000, 7000 + FALLBACKS)]  # not KakaoTalk users
    source = tmp_path / "alimtalk.csv"
    source.write_text(
        "to,template,failover_text\n"
        + "".join(f"{p},TPL_WELCOME,카카오톡 대신 문자로 알려드립니다\n" for p in phones),
        encoding="utf-8",
    )
    sent = kmsg(env, "send-many", str(source), "--yes", "--json")
    assert sent.returncode == 0, sent.stderr
    database = env["KMSG_DB"]
    sql(database, "UPDATE kmsg_delivery_tracking SET next_check_at = 0")
    first = start(env, "track", "run-once")
    wait_until(lambda: accepted_so_far(fakes) >= FALLBACKS // 4 or first.poll() is not None, 60)
    if first.poll() is None:
        kill_mid_request(first, fakes)
    for _ in range(3):  # passes with the faults still on, each resuming what is left
        assert kmsg(env, "track", "run-once").returncode == 0
    fakes.set_faults(0.0)
    for _ in range(3):
        time_passes(database)
        assert kmsg(env, "track", "run-once").returncode == 0
    fake = accepted_by_fakes(fakes)
    assert Counter(fake.count) == Counter(dict.fromkeys(phones, 1)), "not exactly one fallback"
    assert set(fake.vendor.values()) == {"solapi"} and set(fake.type.values()) == {"SMS"}
    outcomes = Counter(
        json.loads(meta)["failover"].get("outcome")
        for (meta,) in sql(
            database, "SELECT metadata FROM kmsg_delivery_tracking WHERE type = 'ALIMTALK'"
        )
    )
    assert outcomes == Counter({"sent": FALLBACKS}), outcomes
    assert set(stats(env)) <= {"completed"}, stats(env)
    assert kmsg(env, "db", "check").returncode == 0
