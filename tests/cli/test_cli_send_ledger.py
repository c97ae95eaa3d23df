"""`kmsg send` writes its ledger row before the request, and never says "try again" after the
provider accepted (docs/recovery.md).

Real processes against the fake SOLAPI (and the fake IWINV, which cannot be asked what it
accepted): the database is locked, or loses its tracking table, while the request is in
flight; a second `kmsg send --id` runs while the first is still sending; an earlier send of the
same id had an unknown outcome.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import iwinv as iwinv_fake
from tests.fakes.iwinv import FakeIwinv
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, SEND_PATHS, FakeSolapi

SENDER = "0212345678"


@pytest.fixture
def solapi() -> Iterator[FakeSolapi]:
    fake = FakeSolapi()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def environment(
    tmp_path: Path, solapi: FakeSolapi, iwinv: FakeIwinv | None = None
) -> dict[str, str]:
    config = tmp_path / "c.toml"
    text = f"""
default_profile = "live"
[profiles.live.routing]
SMS = "solapi"
LMS = "{"iwinv" if iwinv else "solapi"}"
[profiles.live.providers.solapi]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "env:SOLAPI_API_SECRET"
sender = "{SENDER}"
base_url = "{solapi.base_url}"
read_timeout = 5
"""
    if iwinv is not None:
        text += f"""
[profiles.live.providers.iwinv]
type = "iwinv"
sms_api_key = "{iwinv_fake.DEFAULT_SMS_API_KEY}"
sms_auth_key = "{iwinv_fake.DEFAULT_SMS_AUTH_KEY}"
sms_company_id = "{iwinv_fake.DEFAULT_SMS_COMPANY_ID}"
sender = "{SENDER}"
sms_base_url = "{iwinv.sms_base_url}"
alimtalk_base_url = "{iwinv.alimtalk_base_url}"
read_timeout = 1
"""
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    env = dict(os.environ)
    env.update(
        KMSG_CONFIG=str(config),
        KMSG_DB=str(tmp_path / "k.sqlite"),
        SOLAPI_API_SECRET=DEFAULT_API_SECRET,
    )
    return env


def kmsg(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmsg_cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def when_in_flight(fake: FakeSolapi, action: Callable[[], None]) -> threading.Thread:
    """Run `action` as soon as the fake is processing a send request (before it answers)."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(r["path"] in SEND_PATHS and r["status"] is None for r in list(fake.requests)):
                action()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def send_requests(fake: FakeSolapi) -> int:
    return sum(1 for r in fake.requests if r["path"] in SEND_PATHS)


def db_rows(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(env["KMSG_DB"])) as conn:
        return list(conn.execute(sql))


SEND = ("send", "--to", "010-1234-5678", "--text", "점검 안내", "--id", "order-42", "--json")


def prepared(env: dict[str, str]) -> None:
    code, _, err = finish(kmsg(env, "db", "init"))
    assert code == 0, err


def test_a_database_that_cannot_be_written_first_sends_nothing(
    tmp_path: Path, solapi: FakeSolapi
) -> None:
    env = environment(tmp_path, solapi)
    prepared(env)
    with closing(sqlite3.connect(env["KMSG_DB"], isolation_level=None)) as lock:
        lock.execute("BEGIN IMMEDIATE")  # held past the busy timeout
        code, out, err = finish(kmsg(env, *SEND))
        lock.execute("ROLLBACK")
    assert code == 2, out + err
    assert json.loads(out)["error"]["code"] == "DB_LOCKED"
    assert send_requests(solapi) == 0  # try again is true: nothing went out


def test_sent_but_not_recorded_exits_6_naming_the_accepted_message(
    tmp_path: Path, solapi: FakeSolapi
) -> None:
    env = environment(tmp_path, solapi)
    prepared(env)
    solapi.latency = 0.5

    def drop_tracking_table() -> None:  # a foreign hand changes the schema mid-flight
        with closing(sqlite3.connect(env["KMSG_DB"])) as conn:
            conn.execute("ALTER TABLE kmsg_delivery_tracking RENAME TO moved_away")

    watcher = when_in_flight(solapi, drop_tracking_table)
    code, out, err = finish(kmsg(env, *SEND))
    watcher.join()
    assert code == 6, out + err
    (stored,) = solapi.accepted_messages()
    error = json.loads(out)["error"]
    assert error["code"] == "SENT_NOT_RECORDED"
    assert "accepted message order-42" in error["message"]
    assert stored["messageId"] in error["message"]
    assert "try again" not in (error["message"] + error.get("hint", "")).lower()
    assert error["details"]["accepted"] == [
        {
            "message_id": "order-42",
            "provider_id": "solapi",
            "provider_message_id": stored["messageId"],
        }
    ]

    # The same command again (kmsg re-creates its missing table): it looks the message up
    # and records it instead of sending it a second time.
    code, out, err = finish(kmsg(env, *SEND))
    assert code == 0, out + err
    (result,) = json.loads(out)["data"]["results"]
    assert result["already_sent"] is True
    assert result["provider_message_id"] == stored["messageId"]
    assert send_requests(solapi) == 1 and len(solapi.accepted_messages()) == 1
    assert db_rows(env, "SELECT status FROM kmsg_jobs") == [("completed",)]


def test_a_lock_held_past_the_busy_timeout_is_waited_out_after_acceptance(
    tmp_path: Path, solapi: FakeSolapi
) -> None:
    env = environment(tmp_path, solapi)
    prepared(env)
    solapi.latency = 0.3
    released = threading.Event()

    def hold_lock() -> None:
        conn = sqlite3.connect(env["KMSG_DB"], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(7)  # longer than SQLite's 5 s busy timeout
        conn.execute("ROLLBACK")
        conn.close()
        released.set()

    watcher = when_in_flight(solapi, lambda: threading.Thread(target=hold_lock).start())
    code, out, err = finish(kmsg(env, *SEND))
    watcher.join()
    assert released.is_set()
    assert code == 0, out + err
    assert "could not record" in err  # it said it was retrying
    (stored,) = solapi.accepted_messages()
    assert db_rows(env, "SELECT message_id, provider_message_id FROM kmsg_delivery_tracking") == [
        ("order-42", stored["messageId"])
    ]


def test_a_second_send_of_an_id_in_flight_is_refused_not_sent(
    tmp_path: Path, solapi: FakeSolapi
) -> None:
    env = environment(tmp_path, solapi)
    prepared(env)
    solapi.latency = 2.0
    first = kmsg(env, *SEND)
    deadline = time.monotonic() + 30
    while send_requests(solapi) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    code, out, err = finish(kmsg(env, *SEND))
    assert code == 3, out + err
    (result,) = json.loads(out)["data"]["results"]
    assert result["error"]["code"] == "IN_PROGRESS" and result["accepted"] is False
    code, out, err = finish(first)
    assert code == 0, out + err
    assert send_requests(solapi) == 1 and len(solapi.accepted_messages()) == 1


def test_an_unknown_outcome_nobody_can_look_up_is_never_sent_again_by_itself(
    tmp_path: Path, solapi: FakeSolapi
) -> None:
    iwinv = FakeIwinv(hang_seconds=3)
    iwinv.start()
    try:
        env = environment(tmp_path, solapi, iwinv)
        prepared(env)
        iwinv.script = ["hang_after_accept"]
        lms = ("send", "--to", "010-1234-5678", "--text", "긴 안내문입니다. " * 8, "--id", "n-1")
        code, out, err = finish(kmsg(env, *lms, "--json"))
        assert code == 3, out + err
        (result,) = json.loads(out)["data"]["results"]
        assert result["error"]["outcome_unknown"] is True
        assert json.loads(out)["error"]["hint"] == (
            "it may have gone out: do not send it again by hand; the provider cannot be asked "
            "what it accepted: check at the vendor, then `kmsg queue retry --id n-1` sends it "
            "again on purpose"
        )
        code, out, err = finish(kmsg(env, *lms, "--json"))  # the same id again
        assert code == 3, out + err
        (result,) = json.loads(out)["data"]["results"]
        assert result["error"]["code"] == "UNKNOWN_OUTCOME"
        assert "queue retry --id n-1" in json.loads(out)["error"]["hint"]
        assert len(iwinv.accepted_messages()) == 1  # not sent a second time
        # on explicit request only
        assert finish(kmsg(env, "queue", "retry", "--id", "n-1"))[0] == 0
        assert finish(kmsg(env, "queue", "process", "--drain"))[0] == 0
        assert len(iwinv.accepted_messages()) == 2
    finally:
        iwinv.stop()
