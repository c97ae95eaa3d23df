"""Unknown outcomes are resolved, not abandoned and not re-sent blindly (docs/recovery.md).

send-many and `queue process` against the fake SOLAPI (which can be asked by our id) and the
fake IWINV (which cannot): an answer lost after acceptance whose lookup is cut off stays
claimed and is looked up again (a resume at once, a worker after its backoff) until SOLAPI
answers; a request that never got processed is proven absent and sent once; a provider that
cannot be asked leaves the job failed as UNKNOWN_OUTCOME with the reason; after 24 h of
failed lookups kmsg gives up the same way.
"""

from __future__ import annotations

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

from tests.fakes import iwinv as iwinv_fake
from tests.fakes.iwinv import FakeIwinv
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, SEND_PATHS, FakeSolapi

SENDER = "0212345678"
LIST_PATH = "/messages/v4/list"


@pytest.fixture
def solapi() -> Iterator[FakeSolapi]:
    with FakeSolapi(hang_seconds=3) as fake:
        fake.fault_paths = None  # faults may strike the lookups too
        yield fake


# send-many first reads the account's sender numbers (SOLAPI-SENDERID-ACTIVE): no fault there
LISTING = "ok"


@pytest.fixture
def iwinv() -> Iterator[FakeIwinv]:
    with FakeIwinv(hang_seconds=3) as fake:
        yield fake


@pytest.fixture
def env(tmp_path: Path, solapi: FakeSolapi, iwinv: FakeIwinv) -> dict[str, str]:
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
default_profile = "p"
[profiles.p.routing]
SMS = "solapi"
LMS = "iwinv"
[profiles.p.providers.solapi]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "{DEFAULT_API_SECRET}"
sender = "{SENDER}"
base_url = "{solapi.base_url}"
read_timeout = 1
[profiles.p.providers.iwinv]
type = "iwinv"
sms_api_key = "{iwinv_fake.DEFAULT_SMS_API_KEY}"
sms_auth_key = "{iwinv_fake.DEFAULT_SMS_AUTH_KEY}"
sms_company_id = "{iwinv_fake.DEFAULT_SMS_COMPANY_ID}"
sender = "{SENDER}"
sms_base_url = "{iwinv.sms_base_url}"
alimtalk_base_url = "{iwinv.alimtalk_base_url}"
read_timeout = 1
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    rows = tmp_path / "rows.csv"
    rows.write_text("to,text\n010-2000-0001,점검 안내\n", encoding="utf-8")
    return dict(
        os.environ, KMSG_CONFIG=str(config), KMSG_DB=str(tmp_path / "k.sqlite"), ROWS=str(rows)
    )


def kmsg(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(proc.stdout + proc.stderr) from None


def job(env: dict[str, str]) -> dict[str, Any]:
    with closing(sqlite3.connect(env["KMSG_DB"])) as conn:
        conn.row_factory = sqlite3.Row
        (row,) = conn.execute("SELECT * FROM kmsg_jobs").fetchall()
    found = dict(row)
    found["metadata"] = json.loads(found["metadata"] or "{}")
    found["error"] = json.loads(found["error"]) if found["error"] else None
    return found


def make_due(env: dict[str, str], **unknown: Any) -> None:
    """Time passes: the held job's next lookup is due (and `unknown` changes its record)."""
    with closing(sqlite3.connect(env["KMSG_DB"])) as conn, conn:
        held = job(env)["metadata"]
        held["unknown"].update(unknown)
        conn.execute("UPDATE kmsg_jobs SET process_at = 0, metadata = ?", (json.dumps(held),))


def sends(fake: FakeSolapi) -> int:
    return sum(1 for r in fake.requests if r["path"] in SEND_PATHS)


def test_a_lost_answer_whose_lookup_is_cut_off_is_kept_and_resolved_later(
    env: dict[str, str], solapi: FakeSolapi
) -> None:
    solapi.script = [LISTING, "reset_after_accept", "truncated"]  # the send, then its lookup
    code, doc = kmsg(env, "send-many", env["ROWS"])
    assert code == 3, doc  # nothing confirmed
    assert doc["data"]["unknown"] == 1
    held = job(env)
    assert held["status"] == "processing" and held["metadata"]["unknown"]["checks"] == 1
    assert held["metadata"]["sent_to"]["provider"] == "solapi"
    assert sends(solapi) == 1 and len(solapi.accepted_messages()) == 1  # never re-sent

    code, doc = kmsg(env, "queue", "process", "--drain")  # a worker respects the backoff
    assert doc["data"]["requests"] == 0 and job(env)["status"] == "processing"
    # after the sender listing, the send and its lookup: no other lookup
    assert not [r for r in solapi.requests[3:] if r["path"] == LIST_PATH]

    code, doc = kmsg(env, "send-many", env["ROWS"])  # a resume looks again at once
    assert code == 0, doc
    assert doc["data"]["accepted_total"] == 1 and doc["data"]["unknown"] == 0
    done = job(env)
    assert done["status"] == "completed"
    assert sends(solapi) == 1 and len(solapi.accepted_messages()) == 1


def test_a_kmsg_send_whose_outcome_is_unknown_says_not_to_send_it_again(
    env: dict[str, str], solapi: FakeSolapi
) -> None:
    # exit 3 alone reads as "not sent": the natural retry would send it a second time
    solapi.script = ["reset_after_accept", "500"]
    code, doc = kmsg(env, "send", "--to", "010-2000-0001", "--text", "점검")
    assert code == 3, doc
    assert doc["data"]["summary"] == {
        "total": 1, "accepted": 0, "already_sent": 0, "failed": 1, "unknown": 1,
    }  # fmt: skip
    (result,) = doc["data"]["results"]
    assert doc["error"]["hint"] == (
        "it may have gone out: do not send it again by hand; `kmsg queue process` asks the "
        f"provider from 30 s on and records the answer (`kmsg track show {result['message_id']}` "
        "says where it stands)"
    )
    # its id, asked about, is not "no such message"
    code, shown = kmsg(env, "track", "show", result["message_id"])
    assert code == 2 and shown["error"]["message"].endswith(
        ": its outcome is unknown and is being looked up at the provider; a row is written "
        "once a provider accepts it"
    )
    # and so it does
    make_due(env)
    code, doc = kmsg(env, "queue", "process", "--drain")
    assert code == 0, doc
    assert doc["data"]["reconciled"] == 1 and job(env)["status"] == "completed"
    assert sends(solapi) == 1
    # the line for people keeps its id and does not call it failed
    solapi.script = ["reset_after_accept", "500"]
    proc = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", "send", "--to", "010-2000-0002", "--text", "점검"],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 3
    first, summary = proc.stdout.splitlines()[:2]
    assert first.startswith("? 010-2000-0002  SMS (4 bytes)  outcome unknown: NETWORK_ERROR")
    assert " id " in first and summary == "0 accepted, 1 outcome unknown (profile p)"


def test_a_worker_looks_again_once_the_backoff_has_passed(
    env: dict[str, str], solapi: FakeSolapi
) -> None:
    solapi.script = [LISTING, "reset_after_accept", "500"]
    kmsg(env, "send-many", env["ROWS"])
    assert job(env)["status"] == "processing"
    make_due(env)
    code, doc = kmsg(env, "queue", "process", "--drain")
    assert code == 0, doc
    assert doc["data"]["reconciled"] == 1 and job(env)["status"] == "completed"
    assert sends(solapi) == 1


def test_after_24_hours_of_failed_lookups_the_outcome_stays_unknown_for_good(
    env: dict[str, str], solapi: FakeSolapi
) -> None:
    solapi.script = [LISTING, "reset_after_accept", "500", "500"]
    kmsg(env, "send-many", env["ROWS"])
    make_due(env, since=1)  # unknown since 1970
    _code, _doc = kmsg(env, "queue", "process", "--drain")
    failed = job(env)
    assert failed["status"] == "failed" and failed["error"]["code"] == "UNKNOWN_OUTCOME"
    assert "within 24 h" in failed["error"]["message"]
    assert sends(solapi) == 1


def test_a_request_that_never_got_processed_is_proven_absent_and_sent_once(
    env: dict[str, str], solapi: FakeSolapi
) -> None:
    solapi.script = [LISTING, "hang"]  # closed without processing, after the 1 s read timeout
    code, doc = kmsg(env, "send-many", env["ROWS"])
    assert code == 0, doc
    assert doc["data"]["accepted_total"] == 1
    assert sends(solapi) == 2 and len(solapi.accepted_messages()) == 1


def test_a_provider_that_cannot_be_asked_leaves_an_explained_unknown(
    env: dict[str, str], iwinv: FakeIwinv
) -> None:
    rows = Path(env["ROWS"])
    rows.write_text("to,text\n010-2000-0001," + "긴 안내문입니다. " * 8 + "\n", encoding="utf-8")
    iwinv.script = ["reset_after_accept"]
    code, doc = kmsg(env, "send-many", str(rows))
    assert code == 3, doc
    failed = job(env)
    assert failed["status"] == "failed" and failed["error"]["code"] == "UNKNOWN_OUTCOME"
    assert "cannot be asked" in failed["error"]["message"]
    code, doc = kmsg(env, "send-many", str(rows))  # a resume does not send it again
    assert len(iwinv.accepted_messages()) == 1
