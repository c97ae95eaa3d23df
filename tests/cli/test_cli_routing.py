"""Routing across providers end to end: first vs round robin (state shared through the
database), failover to the next provider when the first is down, never after a lost answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi


def profile(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "routing.toml"
    config.write_text('default_profile = "r"\n' + body, encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))


THREE_MOCKS = """
[profiles.r.routing]
SMS = ["a", "b", "c"]
strategy = "{strategy}"
[profiles.r.providers.a]
type = "mock"
[profiles.r.providers.b]
type = "mock"
[profiles.r.providers.c]
type = "mock"
"""


def providers_used(run: Run) -> list[str]:
    rows = run.rows("SELECT provider_id FROM kmsg_delivery_tracking ORDER BY requested_at, rowid")
    return [r["provider_id"] for r in rows]


def test_first_strategy_always_uses_the_first_provider(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile(tmp_path, THREE_MOCKS.format(strategy="first"), monkeypatch)
    for n in range(4):
        assert run("send", "--to", f"010-1000-000{n + 1}", "--text", "x").exit_code == 0
    assert providers_used(run) == ["a", "a", "a", "a"]


def test_round_robin_rotates_across_separate_runs(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile(tmp_path, THREE_MOCKS.format(strategy="round_robin"), monkeypatch)
    for n in range(4):  # every invocation is a separate run: the position lives in the database
        assert run("send", "--to", f"010-1000-000{n + 1}", "--text", "x").exit_code == 0
    assert run("send", "--to", "010-2000-0001,010-2000-0002", "--text", "x").exit_code == 0
    assert providers_used(run) == ["a", "b", "c", "a", "b", "c"]


def test_round_robin_spreads_a_bulk_send(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile(tmp_path, THREE_MOCKS.format(strategy="round_robin"), monkeypatch)
    source = tmp_path / "in.csv"
    source.write_text("to\n" + "".join(f"010-3000-{n:04d}\n" for n in range(1, 31)), "utf-8")
    assert run("send-many", str(source), "--text", "x").exit_code == 0
    used = providers_used(run)
    assert {p: used.count(p) for p in "abc"} == {"a": 10, "b": 10, "c": 10}


@pytest.fixture
def second() -> Iterator[FakeSolapi]:
    with FakeSolapi() as fake:
        yield fake


def solapi_pair(
    first_url: str, second_url: str, first_key: str = DEFAULT_API_KEY, batch_size: int = 1000
) -> str:
    return f"""
[profiles.r.routing]
SMS = ["one", "two"]
[profiles.r.providers.one]
type = "solapi"
api_key = "{first_key}"
api_secret = "{DEFAULT_API_SECRET}"
sender = "0212345678"
base_url = "{first_url}"
read_timeout = 1.0
batch_size = {batch_size}
[profiles.r.providers.two]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "{DEFAULT_API_SECRET}"
sender = "0212345678"
base_url = "{second_url}"
"""


def test_a_provider_that_is_down_fails_over_to_the_next(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: FakeSolapi
) -> None:
    profile(tmp_path, solapi_pair("http://127.0.0.1:9", second.base_url), monkeypatch)
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x")
    assert code == 0, doc
    (result,) = doc["data"]["results"]
    assert result["provider_id"] == "two"  # the result says who accepted it
    assert len(second.accepted_messages()) == 1
    assert providers_used(run) == ["two"]


def test_429_before_processing_fails_over_too(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: FakeSolapi
) -> None:
    with FakeSolapi() as first:
        first.script = ["429"]
        profile(tmp_path, solapi_pair(first.base_url, second.base_url), monkeypatch)
        code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x")
        assert code == 0, doc
        assert first.accepted_messages() == [] and len(second.accepted_messages()) == 1


def test_no_failover_after_a_read_timeout(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: FakeSolapi
) -> None:
    with FakeSolapi() as first:
        first.hang_seconds = 3
        first.script = ["hang_after_accept"]
        profile(tmp_path, solapi_pair(first.base_url, second.base_url), monkeypatch)
        code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x")
        # the answer was lost, but SOLAPI has the message: found by our id, not re-sent
        assert len(first.accepted_messages()) == 1
        assert second.accepted_messages() == []
        assert code == 0 and doc["data"]["results"][0]["provider_id"] == "one"


def test_bulk_sends_fail_over_per_request(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: FakeSolapi
) -> None:
    profile(tmp_path, solapi_pair("http://127.0.0.1:9", second.base_url), monkeypatch)
    source = tmp_path / "in.csv"
    source.write_text("to\n" + "".join(f"010-3000-{n:04d}\n" for n in range(1, 21)), "utf-8")
    code, doc = run.json("send-many", str(source), "--text", "x")
    assert code == 0, doc
    assert len(second.accepted_messages()) == 20
    assert set(providers_used(run)) == {"two"}


def test_a_provider_that_refuses_the_account_fails_over_and_is_not_asked_again(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: FakeSolapi
) -> None:
    """Refused credentials: the request surely was not accepted, so the next provider of the
    routing list sends it; a send-many does not ask the refusing provider for every chunk."""
    with FakeSolapi() as first:
        body = solapi_pair(first.base_url, second.base_url, "WRONGKEY000000000", batch_size=5)
        profile(tmp_path, body, monkeypatch)
        result = run("send", "--to", "010-1234-5678", "--text", "x")
        assert result.exit_code == 0, result.stderr
        assert "failing over to provider two" in result.stderr
        assert "refused the credentials" in result.stderr
        source = tmp_path / "in.csv"
        source.write_text("to\n" + "".join(f"010-3000-{n:04d}\n" for n in range(1, 21)), "utf-8")
        code, doc = run.json("send-many", str(source), "--text", "x", "--concurrency", "1")
        assert code == 0, doc
        assert doc["data"]["accepted"] == 20 and doc["data"]["halted"] is None
        assert first.accepted_messages() == [] and len(second.accepted_messages()) == 21
        refused = [r for r in first.requests if r["path"].startswith("/messages/")]
        assert len(refused) == 2  # once for `kmsg send`, once for the four chunks of send-many
        assert set(providers_used(run)) == {"two"}


def test_every_batch_of_a_send_fails_over_not_only_the_first(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: FakeSolapi
) -> None:
    profile(tmp_path, solapi_pair("http://127.0.0.1:9", second.base_url, batch_size=2), monkeypatch)
    recipients = ",".join(f"010-3000-{n:04d}" for n in range(1, 6))  # three requests of two
    code, doc = run.json("send", "--to", recipients, "--text", "x")
    assert code == 0, doc
    assert {r["provider_id"] for r in doc["data"]["results"]} == {"two"}
    assert len(second.accepted_messages()) == 5


def test_a_send_in_several_requests_asks_a_refusing_provider_once(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: FakeSolapi
) -> None:
    with FakeSolapi() as first:
        body = solapi_pair(first.base_url, second.base_url, "WRONGKEY000000000", batch_size=2)
        profile(tmp_path, body, monkeypatch)
        recipients = ",".join(f"010-3000-{n:04d}" for n in range(1, 6))  # three requests
        code, doc = run.json("send", "--to", recipients, "--text", "x")
        assert code == 0, doc
        assert len(second.accepted_messages()) == 5
        assert len([r for r in first.requests if r["path"].startswith("/messages/")]) == 1
