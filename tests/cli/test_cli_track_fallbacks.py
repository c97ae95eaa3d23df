"""AlimTalk API fallbacks are never stranded: any pass (or worker) sends the due ones and writes
their outcome back; a killed pass leaves nothing behind; SIGTERM stops a pass with exit 130.

The AlimTalk goes through the mock (recipients ending in 3104 are not KakaoTalk users); the SMS
fallback through the fake SOLAPI, whose faults make a pass end (or die) before the fallback is
sent.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import fixtures
from tests.fakes.solapi import SEND_PATHS, FakeSolapi


@pytest.fixture
def solapi() -> Iterator[FakeSolapi]:
    fake = FakeSolapi(hang_seconds=60)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def env(tmp_path: Path, solapi: FakeSolapi) -> dict[str, str]:
    config = fixtures.mock_kakao_and_solapi_config(
        tmp_path / "c.toml", solapi, profile="kakao", extra="read_timeout = 2"
    )
    return dict(os.environ, KMSG_CONFIG=str(config), KMSG_DB=str(tmp_path / "k.sqlite"))


def kmsg(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmsg_cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def run(env: dict[str, str], *args: str) -> dict[str, Any]:
    """The --json document of a command that must succeed."""
    proc = kmsg(env, *args, "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    return dict(json.loads(out))


def code_of(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = kmsg(env, *args)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


def make_due(env: dict[str, str]) -> None:
    with closing(sqlite3.connect(env["KMSG_DB"])) as conn, conn:
        conn.execute(
            "UPDATE kmsg_delivery_tracking SET next_check_at = 0 WHERE status IN ('PENDING','SENT')"
        )


def send_alimtalk(env: dict[str, str]) -> None:
    code, out = code_of(
        env,
        "send",
        "--to",
        "010-5555-3104",
        "--template",
        "T1",
        "--var",
        "name=홍",
        "--failover-text",
        "카카오톡 대신 문자로 알려드립니다",
        "--id",
        "welcome",
    )
    assert code == 0, out
    make_due(env)


def failover(env: dict[str, str]) -> dict[str, Any]:
    doc = run(env, "track", "show", "welcome")
    return dict(doc["data"]["metadata"]["failover"])


def sends(fake: FakeSolapi) -> int:
    return sum(1 for r in fake.requests if r["path"] in SEND_PATHS)


def test_a_fallback_left_pending_is_sent_by_the_next_pass(
    env: dict[str, str], solapi: FakeSolapi
) -> None:
    send_alimtalk(env)
    solapi.script = ["503"]  # the SMS provider is busy: the fallback waits for a retry
    doc = run(env, "track", "run-once")
    assert doc["data"]["fallbacks"] == {"queued": 1, "sent": 0, "failed": 0}, doc
    assert failover(env)["outcome"] == "pending"
    time.sleep(1.2)  # the 503's Retry-After
    doc = run(env, "track", "run-once")
    assert doc["data"]["fallbacks"] == {"queued": 0, "sent": 1, "failed": 0}, doc
    record = failover(env)
    assert record["outcome"] == "sent" and record["fallback_message_id"] == "welcome:api-fallback"
    assert record["fallback_provider_id"] == "solapi"
    assert len(solapi.accepted_messages()) == 1


def test_a_fallback_sent_by_a_queue_worker_writes_its_outcome_back(
    env: dict[str, str], solapi: FakeSolapi
) -> None:
    send_alimtalk(env)
    solapi.script = ["503"]
    run(env, "track", "run-once")
    time.sleep(1.2)
    doc = run(env, "queue", "process", "--drain")
    assert doc["data"]["accepted"] == 1, doc
    record = failover(env)
    assert record["outcome"] == "sent" and record["fallback_provider_id"] == "solapi"


def test_a_killed_pass_strands_no_fallback_and_sends_none_twice(
    env: dict[str, str], solapi: FakeSolapi
) -> None:
    send_alimtalk(env)
    solapi.script = ["hang_after_accept"]  # accepted, then the answer never comes
    proc = kmsg(env, "track", "run-once")
    deadline = time.monotonic() + 60
    while not solapi.accepted_messages() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert "outcome" not in failover(env)  # the killed pass recorded nothing
    doc = run(env, "track", "run-once")  # the owner is dead: taken over at once
    assert doc["data"]["fallbacks"]["sent"] == 1, doc
    record = failover(env)
    assert record["outcome"] == "sent" and record["fallback_message_id"] == "welcome:api-fallback"
    assert len(solapi.accepted_messages()) == 1 and sends(solapi) == 1  # found, not re-sent


def test_sigterm_stops_a_pass_cleanly_with_130(env: dict[str, str], solapi: FakeSolapi) -> None:
    code, out = code_of(env, "send", "--to", "010-5555-1234", "--text", "안내", "--id", "s-1")
    assert code == 0, out
    make_due(env)
    solapi.fault_paths = None  # every path, the status lookup too
    solapi.script = ["hang"]
    proc = kmsg(env, "track", "run-once", "--json")
    deadline = time.monotonic() + 60
    while not any(r["status"] is None for r in solapi.requests) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    doc = json.loads(out)
    assert doc["ok"] is False and doc["error"]["code"] == "INTERRUPTED"
    assert doc["data"]["interrupted"] is True
