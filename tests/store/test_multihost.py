"""Several hosts on one PostgreSQL or MySQL/MariaDB database (simulated by separate processes):
four queue workers and two tracking runners over 10,000 jobs through the fake SOLAPI server.
Every message is submitted exactly once, every tracking row is checked once per due time, every
AlimTalk fallback is sent exactly once — also when a worker is killed with SIGKILL midway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi
from tests.store.conftest import mysql_admin, mysql_database, postgres_schema

fake_solapi = fixtures.fake_solapi


@pytest.fixture(params=["postgres", "mysql"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(engine, URL) of a fresh schema (PostgreSQL) or database (MariaDB)."""
    if request.param == "postgres":
        with postgres_schema() as (_name, url):
            yield "postgres", url
    else:
        with mysql_database() as (_name, url):
            yield "mysql", url


def _env(tmp_path: Path, fake: FakeSolapi, db: str) -> dict[str, str]:
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
default_profile = "multi"
[profiles.multi.routing]
ALIMTALK = "kakao"
SMS = "solapi"
[profiles.multi.providers.kakao]
type = "mock"
[profiles.multi.providers.solapi]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "{DEFAULT_API_SECRET}"
sender = "0212345678"
base_url = "{fake.base_url}"
batch_size = 100
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    env = dict(os.environ, KMSG_CONFIG=str(config), KMSG_DB=db, HOME=str(tmp_path))
    return env


def _kmsg(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmsg_cli", *args, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], *, allow_kill: bool = False) -> dict[str, Any] | None:
    out, err = proc.communicate(timeout=300)
    if allow_kill and proc.returncode == -signal.SIGKILL:
        return None
    assert proc.returncode == 0, err
    return json.loads(out)["data"]  # type: ignore[no-any-return]


def _seed(tmp_path: Path, env: dict[str, str]) -> None:
    sms = tmp_path / "sms.csv"
    sms.write_text(
        "to\n" + "".join(f"010-6{n // 10000:03d}-{n % 10000:04d}\n" for n in range(9500)), "utf-8"
    )
    kakao = tmp_path / "kakao.csv"
    kakao.write_text(
        "to,type,template,failover_text\n"
        + "".join(f"010-8{n:03d}-3104,ALIMTALK,T1,대체 문자 {n}\n" for n in range(500)),
        encoding="utf-8",
    )
    assert _finish(_kmsg(env, "send-many", str(sms), "--text", "hello", "--queue"))
    assert _finish(_kmsg(env, "send-many", str(kakao), "--queue"))


def _sql(server: tuple[str, str], query: str) -> list[tuple[Any, ...]]:
    engine, url = server
    if engine == "mysql":
        return [tuple(row) for row in mysql_admin(query, url.rsplit("/", 1)[1])]
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query)  # type: ignore[arg-type]
        return list(cursor.fetchall()) if cursor.description else []


@pytest.mark.parametrize("kill", [False, True])
def test_four_workers_and_two_trackers_on_one_database(
    fake_solapi: FakeSolapi, tmp_path: Path, server: tuple[str, str], kill: bool
) -> None:
    fake_solapi.progress_after = (0.0, 0.0)
    fake_solapi.balance = 1e9
    env = _env(tmp_path, fake_solapi, server[1])
    _seed(tmp_path, env)
    fake_solapi.latency = 0.01
    workers = [
        _kmsg(env, "queue", "process", "--drain", "--concurrency", "2", "--lease", "5s")
        for _ in range(4)
    ]
    if kill:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(fake_solapi.accepted_messages()) < 2000:
            time.sleep(0.01)
        workers[0].send_signal(signal.SIGKILL)
    for n, proc in enumerate(workers):
        _finish(proc, allow_kill=kill and n == 0)
    if kill:  # a re-run picks up what the dead worker held (after its lease on other hosts)
        time.sleep(5)
        _finish(_kmsg(env, "queue", "process", "--drain", "--lease", "5s"))
    submitted = Counter(m["customFields"]["kmsgId"] for m in fake_solapi.accepted_messages())
    assert len(submitted) == 9500 and set(submitted.values()) == {1}
    assert _sql(server, "SELECT status, count(*) FROM kmsg_jobs GROUP BY 1") == [
        ("completed", 10_000)
    ]

    # two tracking runners at once over every row
    _sql(server, "UPDATE kmsg_delivery_tracking SET next_check_at = 0")
    fake_solapi.reset_log()
    trackers = [_kmsg(env, "track", "run-once") for _ in range(2)]
    passes = [_finish(proc) for proc in trackers]
    looked_up = Counter(
        i
        for r in fake_solapi.requests
        if r["path"] == "/messages/v4/list"
        for i in r["query"].get("messageIds", [])
    )
    assert len(looked_up) == 9500 and set(looked_up.values()) == {1}
    assert sum(p["checked"] for p in passes if p) == 10_000
    fallbacks = Counter(
        m["customFields"]["kmsgId"]
        for m in fake_solapi.accepted_messages()
        if m["customFields"]["kmsgId"].endswith(":api-fallback")
    )
    assert len(fallbacks) == 500 and set(fallbacks.values()) == {1}
    path = (
        "JSON_UNQUOTE(JSON_EXTRACT(metadata, '$.failover.path'))"
        if server[0] == "mysql"
        else "metadata->'failover'->>'path'"
    )
    paths = _sql(
        server,
        f"SELECT {path}, count(*) FROM kmsg_delivery_tracking WHERE type = 'ALIMTALK' GROUP BY 1",
    )
    assert paths == [("api", 500)]
