"""`kmsg track ...` and `kmsg db purge` end to end (mock provider and the fake SOLAPI)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Run
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi, ManualClock

fake_solapi = fixtures.fake_solapi


def make_due(db: Path) -> None:
    """Tests do not wait 30 s: bring every pollable row's next check to now."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE kmsg_delivery_tracking SET next_check_at = 0 WHERE status IN ('PENDING','SENT')"
        )


@pytest.mark.usefixtures("two_profiles")
def test_a_pass_leaves_the_rows_of_another_profiles_providers_alone(run: Run) -> None:
    # profiles share the database: the sandbox's mock rows are not "lookup errors" of another
    # profile's pass (UNKNOWN_PROVIDER, retried with backoff, timed out at last)
    run("send", "--to", "010-1111-2222", "--text", "x", "--id", "sandbox-row")
    run("-p", "other", "send", "--to", "010-1111-3333", "--text", "y", "--id", "own-row")
    make_due(run.db)
    code, doc = run.json("-p", "other", "track", "run-once")
    assert code == 0 and doc["data"]["checked"] == 1 and doc["data"]["errors"] == {}
    assert doc["data"]["other_providers"] == {"mock": 1}
    (left,) = run.rows(
        "SELECT attempt_count, last_error FROM kmsg_delivery_tracking "
        "WHERE message_id = 'sandbox-row'"
    )
    assert left == {"attempt_count": 0, "last_error": None}
    text = run("-p", "other", "track", "run-once")
    assert text.stdout.splitlines()[-1] == (
        "1 due row of providers that profile 'other' does not have (mock 1) left for their "
        "own profile: kmsg -p sandbox track run-once"
    )
    code, doc = run.json("track", "run-once")
    assert doc["data"]["checked"] == 1 and doc["data"]["other_providers"] == {}


@pytest.mark.usefixtures("two_profiles")
def test_refresh_of_another_profiles_message_is_not_asked(run: Run) -> None:
    run("send", "--to", "010-1111-2222", "--text", "x", "--id", "sandbox-row")
    shown = run("-p", "other", "track", "show", "sandbox-row", "--refresh")
    assert shown.exit_code == 0, shown.output
    assert shown.stderr.splitlines()[-1] == (
        "not asked: it went through mock, which profile 'other' does not have: "
        "kmsg -p sandbox track show sandbox-row --refresh"
    )
    (row,) = run.rows("SELECT attempt_count, last_error, status FROM kmsg_delivery_tracking")
    assert row == {"attempt_count": 0, "last_error": None, "status": "SENT"}
    code, doc = run.json("-p", "other", "track", "show", "sandbox-row", "--refresh")
    assert code == 0 and doc["data"]["refresh"]["checked"] == 0


def test_run_once_records_delivery_and_failure_from_the_mock(run: Run) -> None:
    assert (
        run("send", "--to", "010-1234-5678,010-1234-3043", "--text", "x", "--id", "m").exit_code
        == 0
    )
    code, doc = run.json("track", "run-once")
    assert code == 0 and doc["data"]["checked"] == 0  # not due yet (30 s)
    make_due(run.db)
    code, doc = run.json("track", "run-once")
    assert code == 0
    assert doc["data"]["checked"] == 2
    assert doc["data"]["by_status"] == {"DELIVERED": 1, "FAILED": 1}
    code, doc = run.json("track", "show", "m:01012343043")
    assert doc["data"]["status"] == "FAILED" and doc["data"]["provider_status_code"] == "3043"
    code, doc = run.json("track", "list", "--status", "failed")
    assert doc["data"]["counts"] == {"FAILED": 1}
    assert [r["message_id"] for r in doc["data"]["rows"]] == ["m:01012343043"]
    code, doc = run.json("track", "list")
    assert doc["data"]["counts"] == {"DELIVERED": 1, "FAILED": 1}


def test_track_list_of_a_batch_lists_its_messages_only(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("to\n010-2000-0001\n010-2000-3043\n", encoding="utf-8")
    for batch in ("spring", "summer"):
        sent = run("send-many", str(source), "--text", batch, "--batch-id", batch)
        assert sent.exit_code == 0, sent.stderr
    assert run("send", "--to", "010-2000-0009", "--text", "x", "--id", "solo").exit_code == 0
    code, doc = run.json("track", "list", "--batch", "summer")
    assert code == 0
    assert sorted(r["message_id"] for r in doc["data"]["rows"]) == ["summer:1", "summer:2"]
    assert doc["data"]["counts"] == {"SENT": 2}
    listed = run("track", "list", "--batch", "summer", "--fields", "message_id", "--no-header")
    assert sorted(listed.stdout.split()) == ["summer:1", "summer:2"]
    assert "no rows match" in run("track", "list", "--batch", "autumn").stderr


def test_a_pass_with_nothing_due_says_when_the_next_check_is(run: Run) -> None:
    empty = run("track", "run-once")
    assert empty.exit_code == 0
    assert empty.stdout == "nothing due: no message is waiting for its delivery report\n"
    assert run("send", "--to", "010-1234-5678", "--text", "x", "--id", "n").exit_code == 0
    (tracked,) = run.rows()
    code, doc = run.json("track", "run-once")
    assert code == 0 and doc["data"]["checked"] == 0
    assert doc["data"]["next_check_ms"] == tracked["next_check_at"]  # 30 s after the send
    waiting = run("track", "run-once")
    seoul = datetime.fromtimestamp(tracked["next_check_at"] / 1000, ZoneInfo("Asia/Seoul"))
    assert waiting.stdout == f"nothing due; the next check is at {seoul:%Y-%m-%d %H:%M:%S} KST\n"
    make_due(run.db)
    code, doc = run.json("track", "run-once")
    assert doc["data"]["checked"] == 1 and doc["data"]["next_check_ms"] is None  # DELIVERED


def test_track_show_refresh_on_the_mock_says_what_it_learnt(run: Run) -> None:
    assert run("send", "--to", "010-1234-3043", "--text", "x", "--id", "r").exit_code == 0
    first = run("track", "show", "r", "--refresh")
    assert first.exit_code == 0 and first.stderr == "asked mock now: FAILED (was SENT)\n"
    again = run("track", "show", "r", "--refresh")
    assert again.stderr == "FAILED is final: not asked again\n"
    assert (
        run("send", "--to", "010-1234-5678", "--text", "x", "--id", "s", "--at", "+2h").exit_code
        == 0
    )
    later = run("track", "show", "s", "--refresh")
    assert later.stderr.startswith("scheduled for ") and "mock holds it until then" in later.stderr
    assert "status                  PENDING" in later.stdout  # the mock was not asked


def test_track_show_unknown_id_exits_2(run: Run) -> None:
    assert run("db", "init").exit_code == 0
    result = run("track", "show", "nope")
    assert result.exit_code == 2 and result.stderr.startswith("error: NOT_FOUND:")
    assert "hint: kmsg track list" in result.stderr


def test_track_show_of_a_message_not_accepted_yet_says_where_its_job_stands(run: Run) -> None:
    # The id `kmsg send` printed, before any provider took it: not "no such message"
    assert (
        run("send", "--to", "010-1111-2222", "--text", "x", "--queue", "--id", "q1").exit_code == 0
    )
    result = run("track", "show", "q1")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: NOT_FOUND: no tracking row for message id 'q1': its job is pending; a row is "
        "written once a provider accepts it",
        "hint: kmsg queue list --status pending",
    ]
    assert run("cancel", "--id", "q1", "--yes").exit_code == 0
    result = run("track", "show", "q1")
    assert "'q1': its job cancelled\n" in result.stderr


def test_track_list_rejects_a_bad_status(run: Run) -> None:
    result = run("track", "list", "--status", "lost")
    assert result.exit_code == 2 and "INVALID_STATUS" in result.stderr
    assert "unknown status 'lost' (field 'status')\n" in result.stderr  # as typed; no guess
    typo = run("track", "list", "--status", "deliverd")
    assert "unknown status 'deliverd' (field 'status'); did you mean DELIVERED?" in typo.stderr
    assert "hint: PENDING, SENT, DELIVERED" in typo.stderr
    field = run("track", "list", "--fields", "mesage_id")
    assert "unknown field 'mesage_id' (field 'fields'); did you mean message_id?" in field.stderr


FAILOVER_CONFIG = """
default_profile = "kakao"
[profiles.kakao]
default_provider = "sms"
[profiles.kakao.routing]
ALIMTALK = "kakao"
SMS = "sms"
LMS = "sms"
[profiles.kakao.providers.kakao]
type = "mock"
[profiles.kakao.providers.sms]
type = "mock"
"""


def test_alimtalk_non_user_gets_exactly_one_api_fallback(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(FAILOVER_CONFIG, encoding="utf-8")
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    sent = run(
        "send",
        "--to",
        "010-5555-3104",
        "--template",
        "T1",
        "--var",
        "name=홍",
        "--failover-text",
        "#{name}님, 카카오톡 대신 문자로 알려드립니다",
        "--id",
        "welcome",
    )
    assert sent.exit_code == 0, sent.stderr
    make_due(run.db)
    code, doc = run.json("track", "run-once")
    assert code == 0, doc
    assert doc["data"]["fallbacks"] == {"queued": 1, "sent": 1, "failed": 0}
    code, original = run.json("track", "show", "welcome")
    failover = original["data"]["metadata"]["failover"]
    assert failover["path"] == "api" and failover["outcome"] == "sent"
    assert failover["fallback_message_id"] == "welcome:api-fallback"
    assert failover["fallback_provider_id"] == "sms"
    code, fallback = run.json("track", "show", "welcome:api-fallback")
    assert fallback["data"]["type"] == "SMS" and fallback["data"]["provider_id"] == "sms"
    # later passes never send a second one
    make_due(run.db)
    code, doc = run.json("track", "run-once")
    assert doc["data"]["fallbacks"]["queued"] == 0
    assert len(run.rows("SELECT id FROM kmsg_jobs WHERE id LIKE '%api-fallback'")) == 1


def test_db_purge_deletes_old_terminal_rows_only(run: Run) -> None:
    assert (
        run("send", "--to", "010-1111-2222,010-1111-3333", "--text", "x", "--id", "p").exit_code
        == 0
    )
    make_due(run.db)
    assert run("track", "run-once").exit_code == 0
    assert run("send", "--to", "010-1111-4444", "--text", "x", "--id", "fresh").exit_code == 0
    with sqlite3.connect(run.db) as conn:
        conn.execute("UPDATE kmsg_delivery_tracking SET status_updated_at = 1, requested_at = 1")
    code, doc = run.json("db", "purge", "--older-than", "90d", "--yes")
    assert code == 0
    assert doc["data"]["deleted"]["kmsg_delivery_tracking"] == 2  # the pending one is kept
    assert [r["message_id"] for r in run.rows()] == ["fresh"]
    assert run("db", "purge", "--older-than", "soon").exit_code == 2


def _stopped_by_sigterm(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """Run `kmsg ARGS` for 1.5 s, send it SIGTERM (as a service manager does): exit code,
    stdout, stderr."""
    env = dict(os.environ, KMSG_DB=str(tmp_path / "k.sqlite"), HOME=str(tmp_path))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "cfg")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmsg_cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, err


def test_watch_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    code, out, err = _stopped_by_sigterm(
        tmp_path, "track", "watch", "--interval", "200ms", "--json"
    )
    assert code == 130, err
    data = json.loads(out)["data"]
    assert data["stopped"] is True and data["passes"] >= 2


def test_a_queue_worker_told_to_stop_says_so_without_an_error(tmp_path: Path) -> None:
    """SIGTERM is how a service manager stops a worker: exit 130 as documented, a plain line."""
    code, out, err = _stopped_by_sigterm(tmp_path, "queue", "process")
    assert code == 130, err
    assert "stopped; 0 unsent jobs released for the next worker" in out
    assert "error" not in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_stop_while_kmsg_is_still_starting_exits_130_quietly(tmp_path: Path, signum: int) -> None:
    """Stopped while it imports (a service manager stopping a worker that just started, a
    Ctrl-C typed at once): exit 130 without a traceback, as later in the run."""
    env = dict(os.environ, KMSG_DB=str(tmp_path / "k.sqlite"), HOME=str(tmp_path))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "cfg")
    # the signal is raised by the interpreter's first instruction after kmsg installed its
    # handler: importing the application, the slowest part of starting, is interrupted
    code = (
        "import os, signal, sys; import kmsg_cli.cli.entry as entry\n"
        "real = entry.main\n"
        "def main():\n"
        "    import builtins\n"
        "    original = builtins.__import__\n"
        "    def hook(name, *a, **k):\n"
        "        if name == 'kmsg_cli.cli.app':\n"
        "            builtins.__import__ = original\n"
        f"            os.kill(os.getpid(), {int(signum)})\n"
        "        return original(name, *a, **k)\n"
        "    builtins.__import__ = hook\n"
        "    real()\n"
        "sys.argv = ['kmsg', 'queue', 'process']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


# -- against the fake SOLAPI -----------------------------------------------------------------------
@pytest.fixture
def solapi_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeSolapi, ManualClock]:
    clock = ManualClock()
    fake = FakeSolapi(
        clock=clock, kakao_non_users={"01044443104"}, final_codes={"01077770000": "TEST1000"}
    )
    fake.start()
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
default_profile = "live"
[profiles.live.providers.solapi]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "env:SOLAPI_API_SECRET"
sender = "0212345678"
kakao_pf_id = "KA01PF0000000000000000000000"
base_url = "{fake.base_url}"
read_timeout = 1.0
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    monkeypatch.setenv("SOLAPI_API_SECRET", DEFAULT_API_SECRET)
    yield fake, clock
    fake.stop()


def statuses(run: Run) -> dict[str, str]:
    return {r["to"]: r["status"] for r in run.rows()}


@pytest.mark.rule("SOLAPI-STATUS-TEST", "SOLAPI-LIST-ENDPOINT", "SOLAPI-LIST-REPLY")
def test_statuses_follow_solapi_from_registered_to_delivered(
    run: Run, solapi_profile: tuple[FakeSolapi, ManualClock]
) -> None:
    fake, clock = solapi_profile
    assert run("send", "--to", "010-1111-2222,010-7777-0000", "--text", "x").exit_code == 0
    make_due(run.db)
    run("track", "run-once")
    assert statuses(run) == {"01011112222": "PENDING", "01077770000": "PENDING"}  # 2000
    clock.advance(3)
    make_due(run.db)
    run("track", "run-once")
    assert statuses(run)["01011112222"] == "SENT"  # 3000
    clock.advance(10)
    make_due(run.db)
    run("track", "run-once")
    # SOLAPI-STATUS-TEST: a test-mode code is final (UNKNOWN: never delivered), no timeout
    assert statuses(run) == {"01011112222": "DELIVERED", "01077770000": "UNKNOWN"}
    unknown = next(r for r in run.rows() if r["to"] == "01077770000")
    assert unknown["provider_status_code"] == "TEST1000"
    assert "test mode" in unknown["provider_status_message"]
    delivered = next(r for r in run.rows() if r["to"] == "01011112222")
    assert delivered["delivered_at"] and delivered["sent_at"]
    lists = [r for r in fake.requests if r["path"] == "/messages/v4/list"]
    assert all(len(r["query"].get("messageIds", [])) == 2 for r in lists)  # one lookup, both ids


def test_track_show_refresh_asks_solapi_at_once(
    run: Run, solapi_profile: tuple[FakeSolapi, ManualClock]
) -> None:
    fake, clock = solapi_profile
    assert run("send", "--to", "010-1111-2222", "--text", "x", "--id", "now").exit_code == 0
    clock.advance(13)  # SOLAPI has delivered it; kmsg's first check is 30 s away
    result = run("track", "show", "now", "--refresh")
    assert result.exit_code == 0
    assert result.stderr.endswith("\nasked solapi now: DELIVERED (was SENT)\n")
    assert "status                  DELIVERED" in result.stdout
    lists = [r for r in fake.requests if r["path"] == "/messages/v4/list"]
    assert len(lists) == 1  # one lookup
    code, doc = run.json("track", "show", "now", "--refresh")
    assert code == 0 and doc["data"]["status"] == "DELIVERED"
    assert doc["data"]["refresh"]["checked"] == 0  # final: not asked again
    assert len([r for r in fake.requests if r["path"] == "/messages/v4/list"]) == 1
    assert "refresh" not in run.json("track", "show", "now")[1]["data"]


def test_native_solapi_failover_is_recorded_not_doubled(
    run: Run, solapi_profile: tuple[FakeSolapi, ManualClock]
) -> None:
    fake, clock = solapi_profile
    result = run(
        "send",
        "--to",
        "010-4444-3104",
        "--template",
        "TPL_WELCOME",
        "--vars",
        '{"name": "홍", "code": "1"}',
        "--failover-text",
        "홍님 환영합니다",
        "--id",
        "w",
    )
    assert result.exit_code == 0, result.stderr
    clock.advance(60)
    make_due(run.db)
    _, doc = run.json("track", "run-once")
    assert doc["data"]["fallbacks"]["queued"] == 0
    _, shown = run.json("track", "show", "w")
    assert shown["data"]["status"] == "DELIVERED"
    assert shown["data"]["metadata"]["failover"]["path"] == "native"
    assert len(fake.accepted_messages()) == 1  # kmsg sent no SMS of its own


@pytest.mark.parametrize("fault", ["500", "hang"])
def test_a_failing_lookup_is_retried_later(
    run: Run, solapi_profile: tuple[FakeSolapi, ManualClock], fault: str
) -> None:
    fake, clock = solapi_profile
    assert run("send", "--to", "010-1111-2222", "--text", "x").exit_code == 0
    clock.advance(10)
    fake.fault_paths = {"/messages/v4/list"}
    fake.hang_seconds = 2
    fake.script = [fault]
    make_due(run.db)
    code, doc = run.json("track", "run-once")
    # not one due row could be looked up: exit 3, as for a send that reached no provider
    assert code == 3 and doc["data"]["errors"] and doc["error"]["code"] == "LOOKUP_FAILED"
    (row,) = run.rows()
    assert row["status"] == "SENT" and json.loads(row["last_error"])["code"]
    assert row["next_check_at"] > row["last_checked_at"]
    make_due(run.db)
    code, doc = run.json("track", "run-once")
    assert statuses(run) == {"01011112222": "DELIVERED"}


def test_a_pass_that_could_look_nothing_up_says_so_and_exits_3(
    run: Run, solapi_profile: tuple[FakeSolapi, ManualClock]
) -> None:
    fake, clock = solapi_profile
    for n in range(2):
        assert run("send", "--to", f"010-1111-222{n}", "--text", "x").exit_code == 0
    clock.advance(10)
    fake.fault_paths = {"/messages/v4/list"}
    fake.script = ["500"] * 5
    make_due(run.db)
    result = run("track", "run-once")
    assert result.exit_code == 3
    assert result.stdout.startswith("no due row could be looked up: 2 ")  # not "checked 2"
    assert "checked" not in result.stdout
    assert result.stderr.count("status lookup at solapi failed") == 1
    assert "error: LOOKUP_FAILED: no due row could be looked up (2 rows)" in result.stderr
    # the provider back: the rows are looked up, and the pass succeeds
    fake.script = []
    make_due(run.db)
    assert run("track", "run-once").exit_code == 0


# -- two runners at once, and a kill -9 ------------------------------------------------------------
def _seed(tmp_path: Path, fake: FakeSolapi) -> dict[str, str]:
    """4,500 SMS through the fake and 500 AlimTalk (mock channel, all non-KakaoTalk users)."""
    config = fixtures.mock_kakao_and_solapi_config(tmp_path / "c.toml", fake)
    env = dict(os.environ, KMSG_CONFIG=str(config), KMSG_DB=str(tmp_path / "k.sqlite"))
    env["HOME"] = str(tmp_path)
    sms = tmp_path / "sms.csv"
    sms.write_text(
        "to\n" + "".join(f"010-6{n // 10000:03d}-{n % 10000:04d}\n" for n in range(4500)),
        encoding="utf-8",
    )
    kakao = tmp_path / "kakao.csv"
    kakao.write_text(
        "to,type,template,failover_text\n"
        + "".join(f"010-8{n:03d}-3104,ALIMTALK,T1,대체 문자 {n}\n" for n in range(500)),
        encoding="utf-8",
    )
    for source, extra in ((sms, ["--text", "hello"]), (kakao, [])):
        done = subprocess.run(
            [sys.executable, "-m", "kmsg_cli", "send-many", str(source), *extra, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    make_due(tmp_path / "k.sqlite")
    return env


def _track(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmsg_cli", "track", "run-once", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lookups(fake: FakeSolapi) -> Counter[str]:
    ids: Counter[str] = Counter()
    for record in fake.requests:
        if record["path"] == "/messages/v4/list":
            ids.update(record["query"].get("messageIds", []))
    return ids


def _fallback_sms(fake: FakeSolapi) -> Counter[str]:
    return Counter(
        m["customFields"]["kmsgId"]
        for m in fake.accepted_messages()
        if m["customFields"]["kmsgId"].endswith(":api-fallback")
    )


@pytest.mark.parametrize("kill", [False, True])
def test_two_runners_check_each_row_once_and_fall_back_exactly_once(
    fake_solapi: FakeSolapi, tmp_path: Path, kill: bool
) -> None:
    fake_solapi.progress_after = (0.0, 0.0)  # final status at once
    env = _seed(tmp_path, fake_solapi)
    sent_sms = {m["messageId"] for m in fake_solapi.accepted_messages()}
    fake_solapi.reset_log()
    fake_solapi.latency = 0.05 if kill else 0.0
    first, second = _track(env), _track(env)
    if kill:
        time.sleep(0.6)
        first.send_signal(signal.SIGKILL)
    outputs: list[dict[str, Any]] = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=180)
        if proc.returncode == 0:
            outputs.append(json.loads(out)["data"])
        else:
            assert kill and proc is first and proc.returncode == -signal.SIGKILL, err
    if kill:  # the pass is re-run after the kill: rows claimed by the dead runner come back
        with sqlite_conn(tmp_path) as conn:
            conn.execute(
                "UPDATE kmsg_delivery_tracking SET next_check_at = 0 "
                "WHERE status = 'SENT' AND message_id NOT LIKE '%api-fallback'"
            )
        again = _track(env)
        out, err = again.communicate(timeout=180)
        assert again.returncode == 0, err
        outputs.append(json.loads(out)["data"])
    lookups = _lookups(fake_solapi)
    # A fallback SMS is due 30 s after it was sent. When the kill lands while the dead runner's
    # fallbacks are in flight, the other runner waits out the lookup margin for them (~30 s), so
    # the re-run may find the fallback SMS due and check them too: legitimate, and the only extra.
    fallback_ids = {
        m["messageId"]
        for m in fake_solapi.accepted_messages()
        if m["customFields"]["kmsgId"].endswith(":api-fallback")
    }
    assert set(lookups) - fallback_ids == sent_sms  # every SOLAPI row checked
    if not kill:
        assert set(lookups.values()) == {1}  # ... exactly once
        checked_fallbacks = len(fallback_ids & set(lookups))
        assert sum(o["checked"] for o in outputs) == 5000 + checked_fallbacks
    fallbacks = _fallback_sms(fake_solapi)
    assert len(fallbacks) == 500 and set(fallbacks.values()) == {1}
    with sqlite_conn(tmp_path) as conn:
        left = conn.execute(
            "SELECT count(*) FROM kmsg_delivery_tracking WHERE status IN ('SENT','PENDING') "
            "AND message_id NOT LIKE '%api-fallback'"
        ).fetchone()[0]
        assert left == 0
        failed = conn.execute(
            "SELECT metadata FROM kmsg_delivery_tracking WHERE type = 'ALIMTALK'"
        ).fetchall()
        assert len(failed) == 500
        assert {json.loads(m)["failover"]["path"] for (m,) in failed} == {"api"}


def sqlite_conn(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "k.sqlite")


@pytest.mark.parametrize("command", ["run-once", "watch"])
def test_track_passes_refuse_a_provider_the_profile_does_not_have(run: Run, command: str) -> None:
    result = run("track", command, "--provider", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: UNKNOWN_PROVIDER: --provider 'nope'")
    assert "mock" in result.stderr  # the hint lists the profile's providers


def test_requests_counts_http_requests_not_lookup_calls(
    run: Run, solapi_profile: tuple[FakeSolapi, ManualClock], tmp_path: Path
) -> None:
    """250 messages are one claimed chunk and one lookup call, but SOLAPI takes 100 ids per
    list request: the pass reports the requests the vendor saw."""
    fake, _ = solapi_profile
    source = tmp_path / "in.csv"
    numbers = [f"010-5555-{n:04d}" for n in range(1, 251)]
    source.write_text("to\n" + "\n".join(numbers) + "\n", encoding="utf-8")
    assert run("send-many", str(source), "--text", "x").exit_code == 0
    make_due(run.db)
    fake.reset_log()
    code, doc = run.json("track", "run-once")
    assert code == 0 and doc["data"]["checked"] == 250
    lists = [r for r in fake.requests if r["path"] == "/messages/v4/list"]
    assert len(lists) == 3
    assert doc["data"]["requests"] == len(lists)


def test_requests_is_zero_for_a_provider_without_http(run: Run) -> None:
    assert run("send", "--to", "010-1234-5678", "--text", "x").exit_code == 0
    make_due(run.db)
    code, doc = run.json("track", "run-once")
    assert code == 0 and doc["data"]["checked"] == 1
    assert doc["data"]["requests"] == 0  # the mock answers in process


@pytest.mark.usefixtures("two_profiles")
def test_watch_counts_the_profiles_rows_and_names_what_it_left(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("send", "--to", "010-1111-2222,010-1111-2223", "--text", "x").exit_code == 0
    assert run("-p", "other", "send", "--to", "010-1111-3333", "--text", "y").exit_code == 0
    make_due(run.db)
    monkeypatch.setenv("FORCE_COLOR", "1")  # the live table, as on a terminal
    monkeypatch.setenv("COLUMNS", "300")
    result = run("-p", "other", "track", "watch", "--interval", "1ms", "--max-passes", "1")
    assert result.exit_code == 0, result.stderr
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", result.stderr)
    table = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in shown.splitlines()
        if line.count("│") == 3
    }
    assert (table["SENT"], table["DELIVERED"]) == ("0", "1")  # not the sandbox's two rows
    assert (
        "2 due rows of providers that profile 'other' does not have (mock 2) left for their "
        "own profile: kmsg -p sandbox track watch"
    ) in shown


@pytest.mark.parametrize(("passes", "said"), [("1", "1 pass"), ("2", "2 passes")])
def test_watch_counts_its_passes_in_english(run: Run, passes: str, said: str) -> None:
    result = run("track", "watch", "--interval", "1ms", "--max-passes", passes)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == said


def test_a_pass_writes_its_counts_as_the_other_commands_do(run: Run, tmp_path: Path) -> None:
    csv = tmp_path / "many.csv"
    csv.write_text(
        "to\n" + "".join(f"0105555{i:04d}\n" for i in range(1000, 2200)), encoding="utf-8"
    )
    assert run("send-many", str(csv), "--text", "x").exit_code == 0
    make_due(run.db)
    result = run("track", "run-once")
    assert result.exit_code == 0
    assert result.stdout == "checked 1,200: 1,200 DELIVERED (1,200 changed)\n"
