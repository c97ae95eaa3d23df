"""The SMS/LMS fallback of RCS and Brand Message: one fallback for a message its channel could
not reach, none otherwise, never two (the vendor's own replacement or kmsg's, not both), also
with two trackers at once and a tracker killed with SIGKILL in the middle of its pass."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli_track import _fallback_sms, make_due
from tests.conftest import Run
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi, ManualClock

PF_ID = "KA01PF0000000000000000000000"
BRAND = "BR.FAKE0001"


def solapi_config(fake: FakeSolapi, path: Path, *, env_secret: bool = False) -> Path:
    """A profile `live` on `fake` with a Kakao channel, an RCS brand and a Naver talk id
    (`env_secret`: the secret comes from SOLAPI_API_SECRET)."""
    secret = "env:SOLAPI_API_SECRET" if env_secret else DEFAULT_API_SECRET
    path.write_text(
        f"""
default_profile = "live"
[profiles.live.providers.solapi]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "{secret}"
sender = "0212345678"
kakao_pf_id = "{PF_ID}"
rcs_brand_id = "{BRAND}"
naver_talk_id = "WA.FAKE0001"
base_url = "{fake.base_url}"
read_timeout = 5.0
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


# -- on the mock --------------------------------------------------------------------------------
MOCK = """
default_profile = "p"
[profiles.p]
default_provider = "sms"
[profiles.p.routing]
RCS_LMS = "channel"
BMS_FREE = "channel"
[profiles.p.providers.channel]
type = "mock"
[profiles.p.providers.sms]
type = "mock"
"""


@pytest.mark.parametrize(
    ("kind", "to", "path"),
    [
        ("BMS_FREE", "010-5555-3104", "api"),  # not a KakaoTalk user
        ("RCS_LMS", "010-5555-3043", "api"),  # handset off: the SMS waits for it
        ("BMS_FREE", "010-5555-3043", "none"),  # Kakao reached, the handset is off
        ("RCS_LMS", "010-5555-1234", None),  # delivered
    ],
    ids=["bms-non-user", "rcs-unreachable", "bms-other-failure", "rcs-delivered"],
)
def test_a_failed_message_gets_one_fallback_only_when_its_channel_could_not_reach(
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    to: str,
    path: str | None,
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(MOCK, encoding="utf-8")
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    sent = run(
        "send", "--type", kind, "--to", to, "--text", "본문", "--fallback-text", "문자로 대신"
    )
    assert sent.exit_code == 0, sent.stderr
    (row,) = run.rows()
    assert json.loads(row["metadata"])["failover"]["native"] is False
    for _ in range(2):  # a second pass never adds another
        make_due(run.db)
        code, doc = run.json("track", "run-once")
        assert code == 0, doc
    original = next(r for r in run.rows() if r["type"] == kind)
    failover = json.loads(original["metadata"])["failover"]
    assert failover.get("path") == path
    backups = [r for r in run.rows() if r["message_id"].endswith(":api-fallback")]
    if path == "api":
        (backup,) = backups
        assert backup["type"] == "SMS" and backup["provider_id"] == "sms"
        assert failover["outcome"] == "sent"
    else:
        assert backups == []


def test_extra_codes_from_the_profile_earn_a_fallback(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    extra = '\n[profiles.p.tracking]\nnon_kakao_codes = ["3043"]\n'
    config.write_text(MOCK + extra, encoding="utf-8")
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    for to, fallback in (("010-6666-3043", []), ("010-7777-3043", ["--fallback-text", "y"])):
        sent = run("send", "--type", "BMS_FREE", "--to", to, "--text", "x", *fallback)
        assert sent.exit_code == 0, sent.stderr
    make_due(run.db)
    assert run("track", "run-once").exit_code == 0
    backups = [r for r in run.rows() if r["message_id"].endswith(":api-fallback")]
    assert [r["to"] for r in backups] == ["01077773043"]  # none without a fallback text


# -- against the fake SOLAPI ----------------------------------------------------------------------
@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    clock = ManualClock()
    fake = FakeSolapi(clock=clock, kakao_non_users={"01044443104"})
    fake.rcs_non_users = {"01044443050"}
    fake.start()
    monkeypatch.setenv("KMSG_CONFIG", str(solapi_config(fake, tmp_path / "c.toml")))
    yield fake, clock
    fake.stop()


def test_rcs_that_cannot_reach_falls_back_through_kmsg_exactly_once(
    run: Run, live: tuple[FakeSolapi, ManualClock]
) -> None:
    fake, clock = live
    result = run(
        "send",
        "--type",
        "RCS_LMS",
        "--to",
        "010-4444-3050",
        "--text",
        "RCS 안내",
        "--fallback-text",
        "문자 안내",
        "--id",
        "r1",
    )
    assert result.exit_code == 0, result.stderr
    (entry,) = fake.requests[0]["body"]["messages"]
    assert entry["rcsOptions"]["disableSms"] is True  # SOLAPI must not replace it as well
    clock.advance(60)
    for _ in range(3):
        make_due(run.db)
        assert run("track", "run-once").exit_code == 0
    _, shown = run.json("track", "show", "r1")
    assert shown["data"]["status"] == "FAILED" and shown["data"]["provider_status_code"] == "3050"
    assert shown["data"]["metadata"]["failover"]["path"] == "api"
    assert _fallback_sms(fake) == {"r1:api-fallback": 1}
    (sms,) = [m for m in fake.accepted_messages() if m["type"] == "SMS"]
    assert sms["text"] == "문자 안내" and sms["to"] == "01044443050"


def test_rcs_replaced_by_the_vendor_is_recorded_not_doubled(
    run: Run, live: tuple[FakeSolapi, ManualClock], tmp_path: Path
) -> None:
    fake, clock = live
    options = tmp_path / "o.json"
    options.write_text('{"disableSms": false}', encoding="utf-8")
    result = run(
        "send",
        "--type",
        "RCS_LMS",
        "--to",
        "010-4444-3050",
        "--text",
        "x",
        "--options",
        str(options),
    )
    assert result.exit_code == 0, result.stderr
    clock.advance(60)
    make_due(run.db)
    _, doc = run.json("track", "run-once")
    assert doc["data"]["fallbacks"]["queued"] == 0
    (row,) = run.rows()
    assert row["status"] == "DELIVERED"
    assert json.loads(row["metadata"])["failover"]["path"] == "native"
    assert len(fake.accepted_messages()) == 1


@pytest.mark.rule("SOLAPI-BMS-NOFALLBACK")
def test_brand_message_to_a_non_kakao_user_falls_back_exactly_once(
    run: Run, live: tuple[FakeSolapi, ManualClock]
) -> None:
    fake, clock = live
    for to, message_id in (("010-4444-3104", "b1"), ("010-4444-0001", "b2")):
        result = run(
            "send",
            "--type",
            "BMS_FREE",
            "--to",
            to,
            "--text",
            "브랜드 메시지",
            "--fallback-text",
            "가" * 50,  # over 90 bytes: an LMS
            "--id",
            message_id,
        )
        assert result.exit_code == 0, result.stderr
    assert result.exit_code == 0
    clock.advance(60)
    for _ in range(2):
        make_due(run.db)
        assert run("track", "run-once").exit_code == 0
    assert _fallback_sms(fake) == {"b1:api-fallback": 1}
    (lms,) = [m for m in fake.accepted_messages() if m["type"] == "LMS"]
    assert lms["to"] == "01044443104"
    statuses = {r["message_id"]: (r["type"], r["status"]) for r in run.rows()}
    assert statuses["b1"] == ("BMS_FREE", "FAILED") and statuses["b2"] == ("BMS_FREE", "DELIVERED")
    assert statuses["b1:api-fallback"][0] == "LMS"


# -- several trackers and a SIGKILL ---------------------------------------------------------------
ROWS = 150


def _seed(tmp_path: Path, fake: FakeSolapi) -> dict[str, str]:
    """ROWS RCS messages to handsets without RCS and ROWS Brand Messages to non-Kakao users,
    every one with a fallback text, accepted by the fake with their final status at once."""
    fake.progress_after = (0.0, 0.0)
    fake.rcs_non_users = {f"0105{n:03d}3050" for n in range(ROWS)}
    fake.kakao_non_users = {f"0106{n:03d}3104" for n in range(ROWS)}
    env = dict(
        os.environ,
        KMSG_CONFIG=str(solapi_config(fake, tmp_path / "c.toml")),
        KMSG_DB=str(tmp_path / "k.sqlite"),
        HOME=str(tmp_path),
    )
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "to,type,text,failover_text\n"
        + "".join(f"010-5{n:03d}-3050,RCS_LMS,RCS {n},대체 {n}\n" for n in range(ROWS))
        + "".join(f"010-6{n:03d}-3104,BMS_FREE,BMS {n},대체 {n}\n" for n in range(ROWS)),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", "send-many", str(rows), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    make_due(tmp_path / "k.sqlite")
    return env


def _kmsg(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmsg_cli", *args, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lookups(fake: FakeSolapi) -> int:
    return sum(1 for r in fake.requests if r["path"] == "/messages/v4/list")


def _fallback_sends(fake: FakeSolapi) -> int:
    return sum(
        1
        for r in fake.requests
        if r["path"] == "/messages/v4/send-many/detail"
        and any(":api-fallback" in str(m.get("customFields")) for m in r["body"]["messages"])
    )


@pytest.mark.parametrize(
    "kill",
    [None, "lookup", "fallback-send"],
    ids=["two-trackers", "sigkill-during-lookups", "sigkill-during-fallback-send"],
)
def test_rcs_and_brand_message_fall_back_exactly_once_across_trackers_and_a_kill(
    tmp_path: Path, kill: str | None
) -> None:
    with FakeSolapi() as fake:
        env = _seed(tmp_path, fake)
        fake.reset_log()
        db = tmp_path / "k.sqlite"
        if kill is None:
            runners = [_kmsg(env, "track", "run-once"), _kmsg(env, "track", "run-once")]
            for proc in runners:
                _, err = proc.communicate(timeout=180)
                assert proc.returncode == 0, err
        else:
            # slow answers leave room to kill the tracker half-way; a request it sent before
            # dying is still processed by the vendor
            fake.latency = 0.2
            victim = _kmsg(env, "track", "run-once")
            reached = _lookups if kill == "lookup" else _fallback_sends
            deadline = time.monotonic() + 60
            while reached(fake) < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            victim.send_signal(signal.SIGKILL)
            _, err = victim.communicate(timeout=60)
            assert victim.returncode == -signal.SIGKILL, err
            fake.latency = 0.0
            # what the dead runner held comes back at once (its process is gone): the next
            # passes check its rows again and send, or find at the vendor, its fallbacks
            for _ in range(3):
                make_due(db)
                again = _kmsg(env, "track", "run-once")
                _, err = again.communicate(timeout=180)
                assert again.returncode == 0, err
            with sqlite3.connect(db) as conn:
                left = conn.execute(
                    "SELECT count(*) FROM kmsg_jobs WHERE id LIKE '%:api-fallback' "
                    "AND status != 'completed'"
                ).fetchone()[0]
            assert left == 0
        sent = _fallback_sms(fake)
        assert len(sent) == 2 * ROWS and set(sent.values()) == {1}
        with sqlite3.connect(db) as conn:
            paths = Counter(
                (json.loads(meta)["failover"]["path"], json.loads(meta)["failover"]["outcome"])
                for (meta,) in conn.execute(
                    "SELECT metadata FROM kmsg_delivery_tracking "
                    "WHERE type IN ('RCS_LMS', 'BMS_FREE')"
                )
            )
        assert paths == {("api", "sent"): 2 * ROWS}  # whoever sent it wrote it down
