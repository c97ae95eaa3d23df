"""A provider that refuses the account rather than a message (no balance left, credentials
refused): every later request would be refused the same way, so the run stops at the first,
leaves what it did not send pending, and the same command sends it once the cause is fixed,
nothing twice (docs/recovery.md, "Account refusals")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, SEND_PATHS, FakeSolapi

fake_solapi = fixtures.fake_solapi
SMS_PRICE = 18  # the fake's price of an SMS (tests/fakes/solapi/state.py)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_solapi: FakeSolapi) -> Path:
    """Profile `p`: the fake SOLAPI, five messages per request."""
    path = tmp_path / "config.toml"
    table = fixtures.solapi_table(fake_solapi, "p")
    path.write_text(f'default_profile = "p"\n{table}batch_size = 5\n', encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(path))
    return path


def rows(tmp_path: Path, count: int) -> str:
    source = tmp_path / "in.csv"
    lines = [f"010-3000-{n:04d}" for n in range(count)]
    source.write_text("to\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return str(source)


def send_requests(fake: FakeSolapi) -> int:
    return sum(1 for r in fake.requests if r["path"] in SEND_PATHS)


def numbers(fake: FakeSolapi) -> list[str]:
    return sorted(m["to"] for m in fake.accepted_messages())


@pytest.mark.usefixtures("config")
def test_a_balance_that_runs_out_stops_the_run_and_a_re_run_sends_the_rest(
    run: Run, tmp_path: Path, fake_solapi: FakeSolapi
) -> None:
    fake_solapi.balance = SMS_PRICE * 7 + 2  # seven messages' worth
    source = rows(tmp_path, 20)
    many = ("send-many", source, "--text", "점검 안내", "--concurrency", "1")
    code, doc = run.json(*many)
    assert code == 5, doc
    data = doc["data"]
    assert (data["accepted"], data["failed"], data["pending"]) == (7, 0, 13)
    assert data["halted"]["code"] == "INSUFFICIENT_BALANCE"
    assert data["halted"]["provider_id"] == "solapi"
    # the request whose last three were refused was the last one: no request after it
    assert send_requests(fake_solapi) == 2
    assert doc["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert doc["error"]["message"].endswith("; stopped with 13 rows not sent yet")
    assert doc["error"]["hint"] == (
        "top up the account, then run the same command: what was not sent goes out then, "
        "nothing twice"
    )
    # topped up: the same command sends the thirteen, and none of the seven again
    fake_solapi.balance = 100_000
    code, doc = run.json(*many)
    assert code == 0, doc
    assert (doc["data"]["accepted"], doc["data"]["already_sent"]) == (13, 7)
    assert doc["data"]["halted"] is None
    assert numbers(fake_solapi) == sorted(f"0103000{n:04d}" for n in range(20))


@pytest.mark.usefixtures("config")
def test_an_empty_balance_before_anything_was_accepted_exits_3(
    run: Run, tmp_path: Path, fake_solapi: FakeSolapi
) -> None:
    fake_solapi.balance = 0
    code, doc = run.json("send-many", rows(tmp_path, 3), "--text", "점검 안내")
    assert code == 3, doc  # a provider's refusal, not a config to fix (refused keys exit 2)
    assert doc["data"]["halted"]["code"] == "INSUFFICIENT_BALANCE"
    assert (doc["data"]["accepted"], doc["data"]["pending"]) == (0, 3)


def test_refused_credentials_stop_at_the_first_request(
    run: Run, tmp_path: Path, config: Path, fake_solapi: FakeSolapi
) -> None:
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace(DEFAULT_API_KEY, "WRONGKEY000000000"), encoding="utf-8")
    source = rows(tmp_path, 20)
    many = ("send-many", source, "--text", "점검 안내", "--concurrency", "1")
    code, doc = run.json(*many)
    assert code == 2, doc  # refused credentials: the config is to be fixed, as for `kmsg send`
    assert (doc["data"]["accepted"], doc["data"]["failed"], doc["data"]["pending"]) == (0, 0, 20)
    assert doc["error"]["code"] == "AUTHENTICATION_FAILED"
    assert "`kmsg providers doctor` checks them" in doc["error"]["hint"]
    assert send_requests(fake_solapi) == 1  # not one request per batch of the file
    result = run(*many)  # for people: the rows wait, said once
    assert "0 accepted, 0 failed, 20 not sent yet" in result.stdout
    assert "stopped with 20 rows not sent yet" in result.stderr
    config.write_text(good, encoding="utf-8")
    code, doc = run.json(*many)
    assert code == 0, doc
    assert doc["data"]["accepted"] == 20 and len(numbers(fake_solapi)) == 20


def test_a_queue_worker_stops_too_and_leaves_the_jobs_pending(
    run: Run, config: Path, fake_solapi: FakeSolapi
) -> None:
    queued = run("send", "--to", "010-3000-0001,010-3000-0002", "--text", "x", "--queue")
    assert queued.exit_code == 0, queued.stderr
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace(DEFAULT_API_KEY, "WRONGKEY000000000"), encoding="utf-8")
    code, doc = run.json("queue", "process", "--drain")
    assert code == 2, doc
    assert doc["data"]["halted"]["code"] == "AUTHENTICATION_FAILED"
    assert (doc["data"]["accepted"], doc["data"]["failed"], doc["data"]["pending"]) == (0, 0, 2)
    assert doc["error"]["hint"].endswith(
        "then run `kmsg queue process --drain`: what was not sent goes out then, nothing twice"
    )
    config.write_text(good, encoding="utf-8")
    code, doc = run.json("queue", "process", "--drain")
    assert code == 0 and doc["data"]["accepted"] == 2
    assert numbers(fake_solapi) == ["01030000001", "01030000002"]


def make_due(run: Run) -> None:
    import sqlite3

    with sqlite3.connect(run.db) as conn:
        conn.execute("UPDATE kmsg_delivery_tracking SET next_check_at = 0 WHERE status = 'SENT'")


def test_a_tracking_pass_stops_and_its_rows_stay_due(
    run: Run, config: Path, fake_solapi: FakeSolapi
) -> None:
    sent = run("send", "--to", "010-3000-0001,010-3000-0002", "--text", "x", "--id", "t")
    assert sent.exit_code == 0, sent.stderr
    make_due(run)
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace(DEFAULT_API_KEY, "WRONGKEY000000000"), encoding="utf-8")
    before = len(fake_solapi.requests)
    code, doc = run.json("track", "run-once")
    assert code == 2, doc  # a cron line with broken credentials is not a success
    assert doc["data"]["checked"] == 0 and doc["data"]["requests"] == 1
    assert doc["data"]["halted"]["code"] == "AUTHENTICATION_FAILED"
    assert doc["error"]["hint"].endswith("then run `kmsg track run-once`: they are due at once")
    assert len(fake_solapi.requests) == before + 1
    # not counted as a check, and due at once rather than after a backoff
    tracked = run.rows(
        "SELECT attempt_count, next_check_at, last_error FROM kmsg_delivery_tracking"
    )
    assert all(r["attempt_count"] == 0 and r["last_error"] is None for r in tracked)
    assert all(r["next_check_at"] <= doc["data"]["next_check_ms"] for r in tracked)
    shown = run("track", "show", "t:01030000001", "--refresh")
    assert "asked solapi: it refused the account (AUTHENTICATION_FAILED); not checked" in (
        shown.stderr
    )
    text = run("track", "run-once")
    assert text.exit_code == 2 and text.stdout == "nothing checked\n"
    config.write_text(good, encoding="utf-8")
    code, doc = run.json("track", "run-once")
    assert code == 0 and doc["data"]["checked"] == 2 and doc["data"]["halted"] is None
