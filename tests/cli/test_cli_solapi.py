"""`kmsg send` / `providers` end to end against the fake SOLAPI server (real HTTP on loopback)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

fake_solapi = fixtures.fake_solapi

SENDER = "0212345678"
PF_ID = "KA01PF0000000000000000000000"


@pytest.fixture
def solapi(fake_solapi: FakeSolapi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSolapi:
    """A profile `live` pointing at the fake, credentials in the environment."""
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
default_profile = "live"
[profiles.live.providers.solapi]
type = "solapi"
api_key = "env:SOLAPI_API_KEY"
api_secret = "env:SOLAPI_API_SECRET"
sender = "{SENDER}"
kakao_pf_id = "{PF_ID}"
base_url = "{fake_solapi.base_url}"
read_timeout = 1.0
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    monkeypatch.setenv("SOLAPI_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("SOLAPI_API_SECRET", DEFAULT_API_SECRET)
    return fake_solapi


def sends(fake: FakeSolapi) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["path"] == "/messages/v4/send-many/detail"]


def test_sms_is_accepted_and_tracked_with_provider_and_group_ids(
    run: Run, solapi: FakeSolapi
) -> None:
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "hello", "--id", "n-1")
    assert code == 0, doc
    (result,) = doc["data"]["results"]
    assert result["simulated"] is False and result["status"] == "SENT"
    (stored,) = solapi.accepted_messages()
    assert stored["to"] == "01012345678" and stored["type"] == "SMS" and stored["from"] == SENDER
    assert stored["customFields"] == {"kmsgId": "n-1"}
    (row,) = run.rows()
    assert row["provider_id"] == "solapi"
    assert row["provider_message_id"] == stored["messageId"]
    assert json.loads(row["metadata"])["group_id"] == stored["groupId"]
    # the same id is not submitted again
    assert run("send", "--to", "010-1234-5678", "--text", "hello", "--id", "n-1").exit_code == 0
    assert len(solapi.accepted_messages()) == 1


def test_long_korean_text_goes_out_as_lms(run: Run, solapi: FakeSolapi) -> None:
    assert run("send", "--to", "010-1234-5678", "--text", "가" * 46).exit_code == 0
    (stored,) = solapi.accepted_messages()
    assert stored["type"] == "LMS" and stored["text"] == "가" * 46


def test_mms_uploads_the_image_then_sends(run: Run, solapi: FakeSolapi, tmp_path: Path) -> None:
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0" + bytes(2048))
    result = run("send", "--to", "010-1234-5678", "--text", "사진", "--image", str(image))
    assert result.exit_code == 0, result.stderr
    assert [r["path"] for r in solapi.requests] == [
        "/storage/v1/files",
        "/messages/v4/send-many/detail",
    ]
    (stored,) = solapi.accepted_messages()
    assert stored["type"] == "MMS" and stored["imageId"].startswith("ST01")


def test_alimtalk_with_variables_and_failover_text(run: Run, solapi: FakeSolapi) -> None:
    result = run(
        "send",
        "--to",
        "010-1234-5678",
        "--template",
        "TPL_WELCOME",
        "--vars",
        '{"name": "홍길동", "code": "1234"}',
        "--failover-text",
        "#{name}님 인증번호는 #{code}입니다",
    )
    assert result.exit_code == 0, result.stderr
    (request,) = sends(solapi)
    (entry,) = request["body"]["messages"]
    assert entry["type"] == "ATA"
    assert entry["kakaoOptions"]["variables"] == {"#{name}": "홍길동", "#{code}": "1234"}
    assert entry["kakaoOptions"]["disableSms"] is False
    assert entry["text"] == "홍길동님 인증번호는 1234입니다"
    assert solapi.accepted_messages()[0]["type"] == "ATA"


def template_reads(fake: FakeSolapi) -> list[str]:
    return [r["path"] for r in fake.requests if r["path"].startswith("/kakao/v2/templates/")]


@pytest.mark.rule("SOLAPI-ATA-TEMPLATE-GET")
def test_a_missing_template_variable_is_refused_before_sending(
    run: Run, solapi: FakeSolapi
) -> None:
    result = run("send", "--to", "010-1234-5678", "--template", "TPL_WELCOME", "--var", "name=홍")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: MISSING_VARIABLE: missing variable for template 'TPL_WELCOME': code"
    )
    assert sends(solapi) == []  # nothing went out
    assert template_reads(solapi) == ["/kakao/v2/templates/TPL_WELCOME"]


@pytest.mark.rule("SOLAPI-ATA-TEMPLATE-GET")
def test_a_text_that_is_not_the_templates_is_refused_before_sending(
    run: Run, solapi: FakeSolapi
) -> None:
    # SOLAPI delivers the registered template, not the request's text: "다른 내용" would not be
    # what the recipient reads
    args = ("send", "--to", "010-1234-5678", "--template", "TPL_WELCOME")
    args += ("--var", "name=홍", "--var", "code=1")
    code, doc = run.json(*args, "--text", "다른 내용")
    assert code == 2, doc
    error = doc["error"]
    assert (error["code"], error["field"], error["value"]) == (
        "TEMPLATE_MISMATCH",
        "text",
        "다른 내용",
    )
    assert "#{name}님 가입을 환영합니다" in error["hint"]
    assert sends(solapi) == []
    # the template's own text, written with its placeholders or filled in, other blanks aside
    for text in (
        "#{name}님 가입을 환영합니다.\n인증번호는 #{code}입니다.",
        "홍님 가입을 환영합니다. 인증번호는 1입니다. ",
    ):
        result = run(*args, "--text", text)
        assert result.exit_code == 0, result.stderr
    assert len(sends(solapi)) == 2


def test_a_template_that_cannot_be_read_is_left_to_the_vendor(run: Run, solapi: FakeSolapi) -> None:
    solapi.fault_paths = {"/kakao/v2/templates/TPL_WELCOME"}
    solapi.script = ["500"] * 6  # every attempt to read the template fails
    result = run("send", "--to", "010-1234-5678", "--template", "TPL_WELCOME", "--var", "name=홍")
    assert result.exit_code == 3  # sent, and refused by SOLAPI itself
    assert "TEMPLATE_MISMATCH" in result.stderr and "1043" in result.stderr
    assert len(sends(solapi)) == 1


@pytest.mark.rule("SOLAPI-ATA-TEMPLATE-GET")
def test_a_template_under_review_is_refused_before_sending(run: Run, solapi: FakeSolapi) -> None:
    solapi.template_statuses["TPL_WELCOME"] = "INSPECTING"
    result = run(
        "send", "--to", "010-1234-5678", "--template", "TPL_WELCOME",
        "--var", "name=홍", "--var", "code=1",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: TEMPLATE_NOT_APPROVED: AlimTalk template 'TPL_WELCOME' is not approved "
        "(status INSPECTING at SOLAPI)"
    )
    assert sends(solapi) == []


@pytest.mark.rule("SOLAPI-ATA-TEMPLATE-GET")
def test_send_many_reads_a_template_once_per_run_and_a_dry_run_checks_it(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    short = tmp_path / "short.csv"  # no `code` column: no row can fill the template
    short.write_text("to,name\n010-5555-1000,가\n010-5555-1001,나\n", encoding="utf-8")
    dry = run("send-many", str(short), "--template", "TPL_WELCOME", "--dry-run")
    assert dry.exit_code == 2, dry.stdout
    assert (
        "row 1 (line 2): MISSING_VARIABLE: missing variable for template 'TPL_WELCOME': code"
        in (dry.stdout)
    )
    rows = ["to,name,code"] + [f"0105555{i:04d},고객{i},{i}" for i in range(1000, 1050)]
    full = tmp_path / "full.csv"
    full.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, doc = run.json("send-many", str(full), "--template", "TPL_WELCOME")
    assert code == 0, doc
    assert template_reads(solapi) == ["/kakao/v2/templates/TPL_WELCOME"] * 2  # once per run
    assert len(solapi.accepted_messages()) == 50


def test_scheduled_send_passes_the_time_to_solapi(run: Run, solapi: FakeSolapi) -> None:
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "later", "--at", "+2h")
    assert code == 0, doc
    (request,) = sends(solapi)
    assert request["body"]["scheduledDate"].endswith("Z")
    (row,) = run.rows()
    assert row["status"] == "PENDING" and row["next_check_at"] == row["scheduled_at"] + 120_000


def test_a_rejected_recipient_beside_accepted_ones_exits_5(run: Run, solapi: FakeSolapi) -> None:
    solapi.blocked.add("01099990000")
    code, doc = run.json("send", "--to", "010-1234-5678,010-9999-0000", "--text", "x")
    assert code == 5
    failed = [r for r in doc["data"]["results"] if not r["accepted"]]
    assert failed[0]["to"] == "01099990000"
    assert failed[0]["error"]["code"] == "BLOCKED_RECIPIENT"
    assert "1060" in failed[0]["error"]["message"]
    assert [r["to"] for r in run.rows()] == ["01012345678"]


def test_all_recipients_rejected_exits_3(run: Run, solapi: FakeSolapi) -> None:
    result = run("send", "--to", "010-1234-5678", "--text", "x", "--from", "0299999999")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: SENDER_NOT_REGISTERED: SOLAPI 1062")
    assert result.stderr.splitlines()[1] == (
        "hint: register the sender number with the provider, or send --from a number "
        "registered there (kmsg providers doctor checks the default sender)"
    )
    assert run.rows() == []


@pytest.mark.rule("SOLAPI-SENDERID-ACTIVE")
def test_send_many_from_a_number_the_account_lacks_sends_nothing(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("to,from\n010-1111-2222,\n010-1111-3333,02-9999-9999\n", encoding="utf-8")
    wrong = run("send-many", str(source), "--text", "x", "--from", "0299999999")
    assert wrong.exit_code == 2 and "error: NO_VALID_ROWS" in wrong.stderr
    assert "SENDER_NOT_REGISTERED: sender 0299999999 is not an active sender number" in wrong.stderr
    assert sends(solapi) == [] and run.rows() == []
    # a row's own `from` is checked alike; the others go out from the default sender
    code, doc = run.json("send-many", str(source), "--text", "y")
    assert code == 5 and doc["data"]["accepted"] == 1
    assert [(p["row"], p["code"]) for p in doc["data"]["problems"]] == [
        (2, "SENDER_NOT_REGISTERED")
    ]
    assert len(sends(solapi)) == 1


def test_wrong_key_exits_2_without_showing_the_secret(
    run: Run, solapi: FakeSolapi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLAPI_API_SECRET", "WRONG-SECRET-sentinel-42")
    for args in (("send", "--to", "010-1234-5678", "--text", "x"), ("providers", "doctor")):
        for extra in ((), ("--json",), ("-vv",)):
            result = run(*args, *extra)
            assert result.exit_code == 2, (args, extra, result.stdout, result.stderr)
            assert "WRONG-SECRET-sentinel-42" not in result.stdout + result.stderr
            assert DEFAULT_API_SECRET not in result.stdout + result.stderr
    result = run("send", "--to", "010-1234-5678", "--text", "x")
    assert "AUTHENTICATION_FAILED" in result.stderr and "api_secret" in result.stderr
    assert solapi.accepted_messages() == []


def test_rate_limit_then_success_sends_once(run: Run, solapi: FakeSolapi) -> None:
    solapi.script = ["429", "ok"]
    result = run("send", "--to", "010-1234-5678", "--text", "x")
    assert result.exit_code == 0, result.stderr
    assert [r["status"] for r in sends(solapi)] == [429, 200]
    assert len(solapi.accepted_messages()) == 1


def test_server_error_page_is_retried(run: Run, solapi: FakeSolapi) -> None:
    solapi.script = ["html", "ok"]
    result = run("send", "--to", "010-1234-5678", "--text", "x")
    assert result.exit_code == 0, result.stderr
    assert len(solapi.accepted_messages()) == 1


def test_timeout_before_processing_is_looked_up_and_proven_not_sent(
    run: Run, solapi: FakeSolapi
) -> None:
    """The request hangs without being processed: the outcome is unknown, the lookup (after
    the absence margin) proves SOLAPI does not have it, so it failed for sure; never re-sent
    blindly, and a re-run of the same --id sends it once."""
    solapi.hang_seconds = 3
    solapi.script = ["hang"]
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x", "--id", "h-1")
    assert code == 3
    (result,) = doc["data"]["results"]
    assert result["status"] == "FAILED" and result["error"]["outcome_unknown"] is False
    assert "does not have it" in result["error"]["message"]
    assert len(sends(solapi)) == 1  # never re-sent blindly
    assert run.rows() == []
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x", "--id", "h-1")
    assert code == 0, doc
    assert len(sends(solapi)) == 2 and len(solapi.accepted_messages()) == 1


def test_timeout_after_acceptance_is_reconciled_by_our_id(run: Run, solapi: FakeSolapi) -> None:
    solapi.hang_seconds = 3
    solapi.script = ["hang_after_accept"]
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x", "--id", "r-1")
    assert code == 0, doc
    (result,) = doc["data"]["results"]
    assert result["accepted"] is True
    assert any(w["code"] == "RECONCILED" for w in result["warnings"])
    (stored,) = solapi.accepted_messages()
    (row,) = run.rows()
    assert row["message_id"] == "r-1" and row["provider_message_id"] == stored["messageId"]
    assert len(sends(solapi)) == 1


def env_only(monkeypatch: pytest.MonkeyPatch, base_url: str, *, sender: bool = True) -> None:
    """Environment-only mode (no config file), as a CI step would run it."""
    monkeypatch.setenv("KMSG_PROVIDER", "solapi")
    monkeypatch.setenv("SOLAPI_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("SOLAPI_API_SECRET", DEFAULT_API_SECRET)
    monkeypatch.setenv("SOLAPI_BASE_URL", base_url)
    if sender:
        monkeypatch.setenv("KMSG_SENDER", SENDER)


def test_unreachable_server_exits_3(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    env_only(monkeypatch, "http://127.0.0.1:9")  # discard port: connection refused
    result = run("send", "--to", "010-1234-5678", "--text", "x")
    assert result.exit_code == 3
    assert "NETWORK_ERROR" in result.stderr


def test_environment_only_mode_sends_through_solapi(
    run: Run, fake_solapi: FakeSolapi, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_only(monkeypatch, fake_solapi.base_url)
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "ci build failed")
    assert code == 0, doc
    assert doc["data"]["profile"] == "env"
    assert len(fake_solapi.accepted_messages()) == 1


def test_missing_sender_is_refused_before_any_request(
    run: Run, fake_solapi: FakeSolapi, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_only(monkeypatch, fake_solapi.base_url, sender=False)
    result = run("send", "--to", "010-1234-5678", "--text", "x")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: MISSING_SENDER:")
    assert "export KMSG_SENDER=" in result.stderr  # the way to set it with no config file
    assert fake_solapi.requests == []


def test_balance_and_doctor_pass_with_good_keys(run: Run, solapi: FakeSolapi) -> None:
    code, doc = run.json("providers", "balance")
    assert code == 0
    assert doc["data"]["balances"] == [
        {"id": "solapi", "supported": True, "amount": 100000.0, "currency": "KRW", "point": 0.0}
    ]
    result = run("providers", "doctor")
    assert result.exit_code == 0, result.stdout
    assert "PASS authentication" in result.stdout
    assert "100,000 KRW" in result.stdout


@pytest.mark.rule("SOLAPI-SENDERID-ACTIVE")
def test_doctor_checks_the_sender_against_the_accounts_active_numbers(
    run: Run, solapi: FakeSolapi
) -> None:
    result = run("providers", "doctor")
    assert "PASS sender: default sender 02-1234-5678 is an active number of the account" in (
        result.stdout
    )
    solapi.senders = {"01000000000"}  # the number was deregistered at the vendor
    result = run("providers", "doctor")
    assert result.exit_code == 2  # a blocker: every SMS from it would be refused (1062)
    assert (
        "FAIL sender: default sender 02-1234-5678 is not an active sender number of this account"
        " (active: 010-0000-0000)" in result.stdout
    )
    code, doc = run.json("providers", "doctor")
    (provider,) = doc["data"]["providers"]
    (sender,) = [check for check in provider["checks"] if check["check"] == "sender"]
    assert code == 2 and sender["result"] == "FAIL" and "register it" in sender["next"]


@pytest.mark.rule("SOLAPI-KAKAO-CHANNEL-GET")
def test_doctor_looks_up_the_kakao_channel(run: Run, solapi: FakeSolapi) -> None:
    result = run("providers", "doctor")
    assert "PASS kakao channel: kakao_pf_id is set: channel @kmsg-test" in result.stdout
    solapi.pf_ids = {"KA01PF0000000000000000000001"}  # the configured channel is not the account's
    result = run("providers", "doctor")
    assert result.exit_code == 0  # kmsg cannot tell what SOLAPI would answer: a warning
    assert (
        "WARN kakao channel: kakao_pf_id is set, but the vendor did not confirm the channel"
        in result.stdout
    )
    assert "next: check kakao_pf_id" in result.stdout


def test_doctor_names_an_active_number_when_no_sender_is_set(
    run: Run, fake_solapi: FakeSolapi, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_only(monkeypatch, fake_solapi.base_url, sender=False)
    fake_solapi.senders = {"0212345678"}
    result = run("providers", "doctor")
    assert result.exit_code == 0  # a warning, not a blocker
    assert "WARN sender: no default sender" in result.stdout
    assert "next: set sender = \"0212345678\" in provider 'solapi' (active: 02-1234-5678)" in (
        result.stdout
    )


def test_doctor_warns_when_the_sender_numbers_cannot_be_listed(
    run: Run, solapi: FakeSolapi
) -> None:
    solapi.fault_paths = {"/senderid/v1/numbers/active"}
    solapi.script = ["503"] * 6  # every attempt of the listing fails
    result = run("providers", "doctor")
    assert result.exit_code == 0, result.stdout  # kmsg could not tell: not a blocker
    assert "PASS authentication" in result.stdout
    assert "WARN sender: default sender 02-1234-5678; the account's sender numbers could not" in (
        result.stdout
    )


def test_doctor_reports_missing_variables_with_next_hints(
    run: Run, solapi: FakeSolapi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOLAPI_API_SECRET")
    result = run("providers", "doctor")
    assert result.exit_code == 2
    assert "FAIL credentials" in result.stdout
    assert "next: export SOLAPI_API_SECRET=" in result.stdout


def test_providers_list_shows_solapi_capabilities(run: Run, solapi: FakeSolapi) -> None:
    _, doc = run.json("providers", "list")
    (row,) = doc["data"]["providers"]
    assert row["id"] == "solapi" and row["available"] and row["status_lookup"] and row["balance"]


LONG_ID = "batch-2026-12-05/" + "가나다라마" * 20 + "x" * 83  # 200 characters


@pytest.mark.rule("SOLAPI-CF-LEN", "SOLAPI-CF-SHAPE", "SOLAPI-LIST-PAGING")
def test_a_200_character_id_is_sent_reconciled_and_tracked(run: Run, solapi: FakeSolapi) -> None:
    assert len(LONG_ID) == 200
    solapi.progress_after = (0.0, 0.0)
    solapi.hang_seconds = 3
    solapi.script = ["hang_after_accept"]
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x", "--id", LONG_ID)
    assert code == 0, doc
    (result,) = doc["data"]["results"]
    assert result["accepted"] is True and result["message_id"] == LONG_ID
    assert any(w["code"] == "RECONCILED" for w in result["warnings"])  # found by our id
    (stored,) = solapi.accepted_messages()
    (value,) = stored["customFields"].values()
    assert len(value) <= 100 and value != LONG_ID[:100]
    (row,) = run.rows()
    assert row["message_id"] == LONG_ID and row["provider_message_id"] == stored["messageId"]
    with sqlite3.connect(run.db) as conn:
        conn.execute("UPDATE kmsg_delivery_tracking SET next_check_at = 0")
    code, doc = run.json("track", "run-once")
    assert code == 0, doc
    assert [r["status"] for r in run.rows()] == ["DELIVERED"]
    # a second send under the same id is recognised, not sent again
    assert run("send", "--to", "010-1234-5678", "--text", "x", "--id", LONG_ID).exit_code == 0
    assert len(solapi.accepted_messages()) == 1


@pytest.mark.rule("SOLAPI-ATA-VARS", "SOLAPI-ATA-OPTIONS")
def test_alimtalk_variable_keys_already_written_as_placeholders_are_not_wrapped_again(
    run: Run, solapi: FakeSolapi
) -> None:
    variables = '{"#{name}": "홍길동", "code": "1234"}'  # one key written as a placeholder
    result = run("send", "--to", "010-1234-5678", "--template", "TPL_WELCOME", "--vars", variables)
    assert result.exit_code == 0, result.stderr
    (request,) = sends(solapi)
    (entry,) = request["body"]["messages"]
    assert entry["kakaoOptions"]["variables"] == {"#{name}": "홍길동", "#{code}": "1234"}


def test_a_rate_is_kept_request_by_request_and_may_be_per_minute(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    csv = tmp_path / "paced.csv"
    csv.write_text("to\n" + "".join(f"0105555{i:04d}\n" for i in range(1000, 1007)), "utf-8")
    code, doc = run.json("send-many", str(csv), "--text", "x", "--rate", "180/min")
    assert code == 0, doc
    sizes = [len(request["body"]["messages"]) for request in sends(solapi)]
    # one second's worth (3/s) per request, not one batch of 7; the worker threads may take
    # their turns in either order, so the last request is not always the short one
    assert sorted(sizes) == [1, 3, 3]
    sent = [m["to"] for request in sends(solapi) for m in request["body"]["messages"]]
    assert sorted(sent) == [f"0105555{i:04d}" for i in range(1000, 1007)]  # each once
    result = run("send-many", str(csv), "--text", "x", "--rate", "3/day")
    assert result.exit_code == 2 and "INVALID_RATE" in result.stderr
    assert "--rate 600/min" in result.stderr


@pytest.mark.rule("SOLAPI-ATA-TEMPLATE-LIST")
def test_providers_templates_reads_every_page_of_the_channel(run: Run, solapi: FakeSolapi) -> None:
    solapi.templates = {f"T{n:04d}": f"#{{name}}님 안내 {n}" for n in range(501)}
    solapi.template_statuses["T0007"] = "INSPECTING"
    code, doc = run.json("providers", "templates")
    assert code == 0, doc
    listed = doc["data"]["templates"]
    assert [t["code"] for t in listed] == sorted(solapi.templates)  # both pages, once each
    seventh = listed[7]
    assert seventh == {
        "provider": "solapi",
        "code": "T0007",
        "status": "INSPECTING",
        "usable": False,
        "name": "T0007",
        "variables": ["name"],
        "content": "#{name}님 안내 7",
    }
    pages = [r for r in solapi.requests if r["path"] == "/kakao/v2/templates"]
    assert len(pages) == 2
    assert {r["query"]["channelId"][0] for r in pages} == {PF_ID}  # kakao_pf_id's channel
    assert "startKey" not in pages[0]["query"] and pages[1]["query"]["startKey"] == ["T0500"]
    plain = run("providers", "templates", "--fields", "code,usable", "--no-header")
    assert plain.stdout.splitlines()[7] == "T0007\tfalse"
    assert plain.stderr == "501 templates, 500 usable (profile live)\n"


def test_a_dry_run_shows_the_template_text_or_only_its_code_when_unreadable(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    source = tmp_path / "at.csv"
    source.write_text("to,name,code\n010-1111-2222,홍,42\n", encoding="utf-8")
    code, doc = run.json("send-many", str(source), "--template", "TPL_WELCOME", "--dry-run")
    assert code == 0, doc
    (row,) = doc["data"]["preview"]
    assert row["template_text"] == "홍님 가입을 환영합니다. 인증번호는 42입니다."
    # a template SOLAPI does not answer for is left to SOLAPI: its code alone is shown
    unknown = run("send-many", str(source), "--template", "TPL_NONE", "--dry-run")
    assert unknown.exit_code == 0, unknown.stderr
    assert "ALIMTALK via solapi: template TPL_NONE\n" in unknown.stdout
    # ... and said once, with where to look
    (said,) = [line for line in unknown.stderr.splitlines() if "TEMPLATE_UNREAD" in line]
    assert "AlimTalk template TPL_NONE could not be read at provider 'solapi'" in said
    assert "nor is it among the 1 it lists:" in said  # the list was read: no close one
    assert "kmsg providers templates --provider solapi" in said
    code, one = run.json("send", "--to", "010-1111-2222", "--template", "TPL_NONE", "--dry-run")
    assert code == 0 and [w["code"] for w in one["warnings"]] == ["TEMPLATE_UNREAD"]
    # a code one letter off: the one the channel has is suggested, by send-many and by send
    typo = run("send-many", str(source), "--template", "TPL_WELCOM", "--dry-run")
    assert "nor is it among the 1 it lists (did you mean TPL_WELCOME?)" in typo.stderr
    two = ("--to", "010-1111-2222,010-1111-3333", "--template", "TPL_WELCOM", "--dry-run")
    code, doc = run.json("send", *two, "--var", "name=홍", "--var", "code=1")
    assert code == 0 and len(doc["warnings"]) == 1  # once, however many recipients
    assert "did you mean TPL_WELCOME?" in doc["warnings"][0]["message"]
    assert "template_text" not in one["data"]["messages"][0]
    _, known = run.json("send-many", str(source), "--template", "TPL_WELCOME", "--dry-run")
    assert known["warnings"] == []
    assert sends(solapi) == []
    # a real run leaves the code to SOLAPI: no listing of the templates to suggest one
    listings = len([r for r in solapi.requests if r["path"] == "/kakao/v2/templates"])
    run("send-many", str(source), "--template", "TPL_WELCOM")
    assert len([r for r in solapi.requests if r["path"] == "/kakao/v2/templates"]) == listings
