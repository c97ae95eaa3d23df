"""kmsg against the fake IWINV server: AlimTalk and SMS/LMS/MMS end to end through the CLI."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.fakes import iwinv_fixtures
from tests.fakes.iwinv import (
    DEFAULT_API_KEY,
    DEFAULT_SMS_API_KEY,
    DEFAULT_SMS_AUTH_KEY,
    DEFAULT_SMS_COMPANY_ID,
    FakeIwinv,
)

fake_iwinv = iwinv_fixtures.fake_iwinv

SENDER = "0212345678"
WELCOME = "#{name}님 가입을 환영합니다. 인증번호 #{code}"
WELCOME_ARGS = ["--template", "WELCOME", "--text", WELCOME, "--var", "name=홍", "--var", "code=1"]


@pytest.fixture
def iwinv(fake_iwinv: FakeIwinv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIwinv:
    fake_iwinv.sms_api_key = DEFAULT_SMS_API_KEY
    fake_iwinv.sms_auth_key = DEFAULT_SMS_AUTH_KEY
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
default_profile = "i"
[profiles.i.providers.iwinv]
api_key = "env:IWINV_API_KEY"
sms_api_key = "{DEFAULT_SMS_API_KEY}"
sms_auth_key = "env:IWINV_SMS_AUTH_KEY"
sms_company_id = "{DEFAULT_SMS_COMPANY_ID}"
sender = "{SENDER}"
alimtalk_base_url = "{fake_iwinv.alimtalk_base_url}"
sms_base_url = "{fake_iwinv.sms_base_url}"
read_timeout = 2.0
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    monkeypatch.setenv("IWINV_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("IWINV_SMS_AUTH_KEY", DEFAULT_SMS_AUTH_KEY)
    return fake_iwinv


def test_sms_batch_goes_out_in_one_request(run: Run, iwinv: FakeIwinv) -> None:
    code, doc = run.json("send", "--to", "010-1111-2222,010-3333-4444", "--text", "점검 안내")
    assert code == 0, doc
    sent = iwinv.accepted_messages()
    assert {m["phone"] for m in sent} == {"01011112222", "01033334444"}
    assert len({m["requestNo"] for m in sent}) == 1


def test_lms_and_mms(run: Run, iwinv: FakeIwinv, tmp_path: Path) -> None:
    assert run("send", "--to", "010-1111-2222", "--text", "가" * 60).exit_code == 0
    image = tmp_path / "p.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0" + bytes(3000))
    result = run("send", "--to", "010-1111-3333", "--text", "사진", "--image", str(image))
    assert result.exit_code == 0, result.stderr
    assert len(iwinv.accepted_messages()) == 2


def test_mms_over_100_kb_is_refused_before_sending(
    run: Run, iwinv: FakeIwinv, tmp_path: Path
) -> None:
    image = tmp_path / "big.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100 * 1024))
    result = run("send", "--to", "010-1111-3333", "--text", "사진", "--image", str(image))
    assert result.exit_code == 2 and "IMAGE_TOO_LARGE" in result.stderr
    assert iwinv.requests == []


def test_alimtalk_parameters_follow_the_template_order(run: Run, iwinv: FakeIwinv) -> None:
    result = run(
        "send",
        "--to",
        "010-1111-2222",
        "--template",
        "WELCOME",
        "--text",
        WELCOME,
        "--vars",
        '{"code": "1234", "name": "홍길동"}',  # dict order differs from the template
    )
    assert result.exit_code == 0, result.stderr
    (sent,) = iwinv.accepted_messages()
    assert sent["channel"] == "alimtalk"
    assert sent["templateParam"] == ["홍길동", "1234"]
    assert sent.get("reSend") in (None, "N")  # no paid SMS re-send unless asked


TWO_VARIABLES = ("--template", "WELCOME", "--vars", '{"code": "1234", "name": "홍길동"}')


@pytest.mark.rule("IWINV-AT-TEMPLATES")
def test_alimtalk_variables_take_the_order_of_the_registered_template(
    run: Run, iwinv: FakeIwinv
) -> None:
    result = run("send", "--to", "010-1111-2222", *TWO_VARIABLES)  # no --text to order them
    assert result.exit_code == 0, result.stderr
    (sent,) = iwinv.accepted_messages()
    assert sent["templateParam"] == ["홍길동", "1234"]  # #{name} first, as registered


def test_alimtalk_refuses_a_template_under_review_or_a_missing_variable(
    run: Run, iwinv: FakeIwinv
) -> None:
    result = run(
        "send", "--to", "010-1111-2222", "--template", "WELCOME", "--var", "name=홍", "--var", "x=1"
    )
    assert result.exit_code == 2
    assert "MISSING_VARIABLE: missing variable for template 'WELCOME': code" in result.stderr
    one = run("send", "--to", "010-1111-2222", "--template", "WELCOME", "--var", "name=홍")
    assert one.exit_code == 2  # IWINV would refuse it (508): the template has two variables
    assert "MISSING_VARIABLE: missing variable for template 'WELCOME': code" in one.stderr
    iwinv.template_info["WELCOME"] = {"name": "WELCOME", "status": "I", "created": 0, "buttons": []}
    result = run("send", "--to", "010-1111-2222", *TWO_VARIABLES)
    assert result.exit_code == 2
    assert "TEMPLATE_NOT_APPROVED: AlimTalk template 'WELCOME' is not approved" in result.stderr
    assert iwinv.accepted_messages() == []


def test_alimtalk_with_two_variables_and_no_readable_template_is_refused(
    run: Run, iwinv: FakeIwinv
) -> None:
    iwinv.templates.pop("WELCOME")  # not listed: kmsg cannot learn the order
    result = run("send", "--to", "010-1111-2222", *TWO_VARIABLES)
    assert result.exit_code == 2 and "VARIABLE_ORDER_UNKNOWN" in result.stderr
    assert iwinv.accepted_messages() == []


def test_alimtalk_failover_uses_iwinv_resend(run: Run, iwinv: FakeIwinv) -> None:
    iwinv.kakao_non_users.add("01044440000")
    result = run(
        "send", "--to", "010-4444-0000", *WELCOME_ARGS, "--failover-text", "홍님 환영합니다"
    )
    assert result.exit_code == 0, result.stderr
    (sent,) = iwinv.accepted_messages()
    assert sent["reSend"] == "Y"


def test_ip_not_registered_is_explained(run: Run, iwinv: FakeIwinv) -> None:
    iwinv.allowed_ips = {"10.0.0.1"}
    result = run("send", "--to", "010-1111-2222", "--text", "x")
    assert result.exit_code in (2, 3)
    assert "IP_NOT_ALLOWED" in result.stderr


def test_gateway_html_is_retried_not_a_bad_request(run: Run, iwinv: FakeIwinv) -> None:
    iwinv.script = ["html", "ok"]
    result = run("send", "--to", "010-1111-2222", "--text", "x")
    assert result.exit_code == 0, result.stderr
    assert len(iwinv.accepted_messages()) == 1


def test_delivery_is_tracked_by_id_not_by_list_position(run: Run, iwinv: FakeIwinv) -> None:
    iwinv.progress_after = 0.0
    assert (
        run("send", "--to", "010-1111-2222,010-1111-3333", "--text", "x", "--id", "s").exit_code
        == 0
    )
    with sqlite3.connect(run.db) as conn:
        conn.execute("UPDATE kmsg_delivery_tracking SET next_check_at = 0")
    code, doc = run.json("track", "run-once")
    assert code == 0, doc
    assert doc["data"]["by_status"] == {"DELIVERED": 2}


def test_balance(run: Run, iwinv: FakeIwinv) -> None:
    code, doc = run.json("providers", "balance")
    assert code == 0, doc
    (row,) = doc["data"]["balances"]
    assert row["supported"] and row["amount"] == iwinv.balance


@pytest.mark.rule("IWINV-AT-REPLY", "IWINV-AT-HIST", "IWINV-AT-STATUS")
def test_alimtalk_is_tracked_without_a_seqno_in_the_send_reply(run: Run, iwinv: FakeIwinv) -> None:
    iwinv.progress_after = 0.0
    iwinv.kakao_non_users.add("01055550000")
    for phone, mid in (("010-1111-2222", "ok"), ("010-5555-0000", "nonuser")):
        result = run("send", "--to", phone, *WELCOME_ARGS, "--id", mid)
        assert result.exit_code == 0, result.stderr
    rows = {r["message_id"]: r for r in run.rows()}
    assert all(r["provider_message_id"].startswith("atp:") for r in rows.values())
    with sqlite3.connect(run.db) as conn:
        conn.execute("UPDATE kmsg_delivery_tracking SET next_check_at = 0")
    code, doc = run.json("track", "run-once")
    assert code == 0, doc
    rows = {r["message_id"]: r for r in run.rows()}
    assert rows["ok"]["status"] == "DELIVERED"
    assert rows["nonuser"]["status"] == "FAILED"
    assert "미사용" in rows["nonuser"]["provider_status_message"]


@pytest.mark.rule("IWINV-SMS-TITLE")
def test_lms_without_subject_gets_a_title_iwinv_accepts(run: Run, iwinv: FakeIwinv) -> None:
    text = "[공지] 서버 점검: 12/24 02:00~04:00, 이용에 참고 바랍니다! " * 3
    result = run("send", "--to", "010-1111-2222", "--text", text)
    assert result.exit_code == 0, result.stderr
    (sent,) = iwinv.accepted_messages()
    assert sent["msgType"] == "LMS" and sent["title"].startswith("[공지] 서버 점검 12")


@pytest.mark.rule("IWINV-SMS-TITLE")
def test_a_subject_iwinv_refuses_is_exit_2_naming_the_characters(
    run: Run, iwinv: FakeIwinv, tmp_path: Path
) -> None:
    text = "가" * 60
    result = run("send", "--to", "010-1111-2222", "--text", text, "--subject", "공지: 점검!")
    assert result.exit_code == 2
    assert "INVALID_SUBJECT" in result.stderr and "':' '!'" in result.stderr
    rows = tmp_path / "rows.csv"
    rows.write_text(f"to,text,subject\n01011112222,{text},공지\n01011113333,{text},할인!\n")
    code, doc = run.json("send-many", str(rows))
    assert code == 5, doc
    assert [m["phone"] for m in iwinv.accepted_messages()] == ["01011112222"]
    assert [r["title"] for r in iwinv.accepted_messages()] == ["공지"]


@pytest.mark.rule("IWINV-SMS-WINDOW", "IWINV-AT-WINDOW")
def test_a_reservation_outside_iwinvs_window_is_exit_2_with_the_range_in_kst(
    run: Run, iwinv: FakeIwinv
) -> None:
    for at in ("+5m", "+40d"):
        result = run("send", "--to", "010-1111-2222", "--text", "점검", "--at", at)
        assert result.exit_code == 2, result.stderr
        assert "SCHEDULE_OUTSIDE_WINDOW" in result.stderr
        assert "KST" in result.stderr and "15 minutes" in result.stderr
    result = run("send", "--to", "010-1111-2222", *WELCOME_ARGS, "--at", "+3d")
    assert result.exit_code == 2 and "2 days" in result.stderr
    assert iwinv.requests == []
    result = run("send", "--to", "010-1111-2222", "--text", "점검", "--at", "+20m")
    assert result.exit_code == 0, result.stderr
    (sent,) = iwinv.accepted_messages()
    assert sent["date"] is not None


@pytest.mark.rule("IWINV-SMS-WINDOW")
def test_routing_passes_over_iwinv_outside_its_window_and_the_dry_run_says_so(
    run: Run, iwinv: FakeIwinv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "routed.toml"
    config.write_text(
        f"""
default_profile = "r"
[profiles.r.routing]
SMS = ["iwinv", "sim"]
[profiles.r.providers.sim]
type = "mock"
[profiles.r.providers.iwinv]
api_key = "{DEFAULT_API_KEY}"
sms_api_key = "{DEFAULT_SMS_API_KEY}"
sms_auth_key = "{DEFAULT_SMS_AUTH_KEY}"
sender = "{SENDER}"
alimtalk_base_url = "{iwinv.alimtalk_base_url}"
sms_base_url = "{iwinv.sms_base_url}"
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    code, doc = run.json(
        "send", "--to", "010-1111-2222", "--text", "점검", "--at", "+5m", "--dry-run"
    )
    assert code == 0, doc
    (row,) = doc["data"]["messages"]
    assert row["provider_id"] == "sim"
    (passed,) = row["passed_over"]
    assert passed["provider_id"] == "iwinv" and "IWINV-SMS-WINDOW" in passed["reason"]
    human = run("send", "--to", "010-1111-2222", "--text", "점검", "--at", "+5m", "--dry-run")
    assert "010-1111-2222: sim instead of iwinv" in human.stdout
    code, doc = run.json(
        "send", "--to", "010-1111-2222", "--text", "점검", "--at", "+30m", "--dry-run"
    )
    assert doc["data"]["messages"][0]["provider_id"] == "iwinv"
    assert iwinv.requests == []


@pytest.mark.rule("IWINV-NO-FT")
def test_friendtalk_through_iwinv_names_brand_message(run: Run, iwinv: FakeIwinv) -> None:
    result = run("send", "--to", "010-1111-2222", "--type", "FRIENDTALK", "--text", "친구")
    assert result.exit_code == 4
    assert "Brand Message" in result.stderr and "FRIENDTALK" in result.stderr
    assert iwinv.requests == []


@pytest.mark.rule("IWINV-AT-CHARGE")
def test_alimtalk_balance_is_asked_with_get(run: Run, iwinv: FakeIwinv) -> None:
    code, doc = run.json("providers", "balance")
    assert code == 0, doc
    assert [r["method"] for r in iwinv.requests] == ["GET"]


def test_a_base_url_without_its_path_is_named_in_the_hint(
    run: Run, iwinv: FakeIwinv, tmp_path: Path
) -> None:
    # `sms_base_url` set to the server's root: its web server answers 404 with an HTML page
    config = tmp_path / "c.toml"
    text = config.read_text(encoding="utf-8")
    assert f'sms_base_url = "{iwinv.sms_base_url}"' in text
    text = text.replace(
        f'sms_base_url = "{iwinv.sms_base_url}"', f'sms_base_url = "{iwinv.base_url}"'
    )
    config.write_text(text, encoding="utf-8")
    result = run("send", "--to", "010-1111-2222", "--text", "hi")
    assert result.exit_code == 3, result.stderr
    error, hint = result.stderr.splitlines()[-2:]
    assert error.startswith("error: PROVIDER_REJECTED: IWINV SMS HTTP 404")
    assert hint.startswith(f"hint: {iwinv.base_url}/") and "is not an address of" in hint
    assert "check the base URL settings of provider 'iwinv'" in hint
    assert iwinv.accepted_messages() == []


@pytest.mark.rule("IWINV-AT-TEMPLATES")
def test_providers_templates_reads_every_page(run: Run, iwinv: FakeIwinv) -> None:
    iwinv.templates = {f"T{n:04d}": f"#{{name}}님 #{{code}} {n}" for n in range(1001)}
    iwinv.template_info["T0002"] = {"name": "반려", "status": "R", "created": 0, "buttons": []}
    code, doc = run.json("providers", "templates", "--provider", "iwinv")
    assert code == 0, doc
    listed = doc["data"]["templates"]
    assert len(listed) == 1001 and len({t["code"] for t in listed}) == 1001
    rejected = next(t for t in listed if t["code"] == "T0002")
    assert rejected["status"] == "R" and rejected["usable"] is False
    assert rejected["name"] == "반려" and rejected["variables"] == ["name", "code"]
    pages = [r for r in iwinv.requests if r["path"].endswith("/api/template/")]
    assert len(pages) == 2


def test_providers_templates_skips_an_iwinv_without_its_alimtalk_key(
    run: Run, iwinv: FakeIwinv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IWINV_API_KEY")  # the file's api_key = "env:IWINV_API_KEY"
    listed = run("providers", "templates")
    assert listed.exit_code == 0, listed.stderr
    assert "iwinv: skipped: " in listed.stderr and "IWINV_API_KEY" in listed.stderr
    named = run("providers", "templates", "--provider", "iwinv")
    assert named.exit_code == 2 and "IWINV_API_KEY" in named.stderr


def test_a_dry_run_shows_the_alimtalk_text_the_template_delivers(
    run: Run, iwinv: FakeIwinv
) -> None:
    code, doc = run.json(
        "send",
        "--to",
        "010-1111-2222",
        *WELCOME_ARGS[:2],
        "--dry-run",
        "--var",
        "name=홍",
        "--var",
        "code=5",
    )
    assert code == 0, doc
    (planned,) = doc["data"]["messages"]
    assert planned["template_text"] == "홍님 가입을 환영합니다. 인증번호 5"
