"""kmsg against the fake Aligo server: every type Aligo offers, end to end through the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.fakes import aligo_fixtures
from tests.fakes.aligo import DEFAULT_SENDER_KEY, FakeAligo, ManualClock

fake_aligo = aligo_fixtures.fake_aligo

SENDER = "0212345678"


@pytest.fixture
def aligo(fake_aligo: FakeAligo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAligo:
    fake_aligo.senders.add(SENDER)
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
default_profile = "a"
[profiles.a.providers.aligo]
type = "aligo"
api_key = "env:ALIGO_API_KEY"
user_id = "env:ALIGO_USER_ID"
sender = "{SENDER}"
sender_key = "{DEFAULT_SENDER_KEY}"
sms_base_url = "{fake_aligo.sms_base_url}"
kakao_base_url = "{fake_aligo.kakao_base_url}"
read_timeout = 2.0
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    monkeypatch.setenv("ALIGO_API_KEY", fake_aligo.key)
    monkeypatch.setenv("ALIGO_USER_ID", fake_aligo.user_id)
    return fake_aligo


def test_sms_to_several_recipients_in_one_request(run: Run, aligo: FakeAligo) -> None:
    code, doc = run.json("send", "--to", "010-1111-2222,010-3333-4444", "--text", "공지입니다")
    assert code == 0, doc
    accepted = aligo.accepted_messages()
    assert {m["receiver"] for m in accepted} == {"01011112222", "01033334444"}
    assert len({m["msg_id"] for m in accepted}) == 1  # one request
    assert all(not m["testmode"] for m in accepted)
    rows = run.rows()
    assert {r["provider_message_id"].split(":")[0] for r in rows} == {"sms"}


def test_long_text_is_lms_and_image_is_mms(run: Run, aligo: FakeAligo, tmp_path: Path) -> None:
    assert run("send", "--to", "010-1111-2222", "--text", "가" * 60).exit_code == 0
    image = tmp_path / "p.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0" + bytes(4000))
    result = run("send", "--to", "010-1111-3333", "--text", "사진", "--image", str(image))
    assert result.exit_code == 0, result.stderr
    kinds = {m["receiver"]: m["msg_type"] for m in aligo.accepted_messages()}
    assert kinds == {"01011112222": "LMS", "01011113333": "MMS"}


def test_alimtalk_is_rendered_from_the_approved_template(run: Run, aligo: FakeAligo) -> None:
    result = run(
        "send",
        "--to",
        "010-1111-2222",
        "--template",
        "TPL01",
        "--vars",
        '{"name": "홍길동", "order": "A-17"}',
        "--failover-text",
        "주문 접수 A-17",
    )
    assert result.exit_code == 0, result.stderr
    (sent,) = aligo.accepted_messages()
    assert sent["channel"] == "alimtalk"
    assert sent["text"] == "홍길동님 주문이 접수되었습니다. 주문번호 A-17"
    assert sent["failover"] and sent["fmessage"] == "주문 접수 A-17"


def test_alimtalk_missing_variable_fails_before_sending(run: Run, aligo: FakeAligo) -> None:
    result = run("send", "--to", "010-1111-2222", "--template", "TPL01", "--var", "name=홍")
    assert result.exit_code == 2
    assert "MISSING_VARIABLE" in result.stderr and "order" in result.stderr
    assert aligo.accepted_messages() == []


def test_alimtalk_text_that_is_not_the_templates_is_refused(run: Run, aligo: FakeAligo) -> None:
    # Aligo is sent the template filled in: the text given would have been dropped silently
    args = ("send", "--to", "010-1111-2222", "--template", "TPL01", "--var", "name=홍")
    result = run(*args, "--var", "order=A-1", "--text", "주문 완료")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: TEMPLATE_MISMATCH: the text '주문 완료' differs from AlimTalk template 'TPL01' "
        "as Aligo has it registered"
    )
    assert aligo.accepted_messages() == []
    result = run(*args, "--var", "order=A-1", "--text", "홍님 주문이 접수되었습니다. 주문번호 A-1")
    assert result.exit_code == 0, result.stderr
    assert len(aligo.accepted_messages()) == 1


def test_friendtalk(run: Run, aligo: FakeAligo) -> None:
    result = run("send", "--to", "010-1111-2222", "--type", "FRIENDTALK", "--text", "친구 소식")
    assert result.exit_code == 0, result.stderr
    (sent,) = aligo.accepted_messages()
    assert sent["channel"] == "friendtalk"


def test_wrong_key_exits_2_without_leaking_it(
    run: Run, aligo: FakeAligo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIGO_API_KEY", "WRONG-aligo-sentinel")
    result = run("send", "--to", "010-1111-2222", "--text", "x")
    assert result.exit_code == 2
    assert "WRONG-aligo-sentinel" not in result.stdout + result.stderr


def test_delivery_is_tracked_through_aligo_history(run: Run, aligo: FakeAligo) -> None:
    aligo.progress_after = (0.0, 0.0)
    assert run("send", "--to", "010-1111-2222", "--text", "x", "--id", "t1").exit_code == 0
    with sqlite3.connect(run.db) as conn:
        conn.execute("UPDATE kmsg_delivery_tracking SET next_check_at = 0")
    code, doc = run.json("track", "run-once")
    assert code == 0, doc
    _, shown = run.json("track", "show", "t1")
    assert shown["data"]["status"] == "DELIVERED", shown


def test_balance(run: Run, aligo: FakeAligo) -> None:
    code, doc = run.json("providers", "balance")
    assert code == 0
    (row,) = doc["data"]["balances"]
    assert row["supported"] and row["currency"] == "SMS" and row["amount"] > 0


def test_bulk_send_with_different_texts(run: Run, aligo: FakeAligo, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "to,name\n" + "".join(f"010-2000-{n:04d},고객{n}\n" for n in range(1, 41)), "utf-8"
    )
    code, doc = run.json("send-many", str(source), "--text", "#{name}님 안녕하세요")
    assert code == 0, doc
    assert len(aligo.accepted_messages()) == 40
    texts = {m["receiver"]: m["text"] for m in aligo.accepted_messages()}
    assert texts["01020000007"] == "고객7님 안녕하세요"
    assert json.dumps(doc)


ALIMTALK = ["--template", "TPL01", "--vars", '{"name": "홍길동", "order": "A-17"}']
TOKEN_PATH = "/kakao/akv10/token/create/1/d/"


@pytest.mark.rule("ALIGO-KAKAO-TOKEN", "ALIGO-KAKAO-TOKEN-USE", "ALIGO-AT-SEND")
def test_the_kakao_token_is_shared_through_the_database_sealed_and_renewed_once(
    run: Run, aligo: FakeAligo
) -> None:
    clock = ManualClock(aligo.clock())
    aligo.clock = clock
    assert aligo.require_token
    for to in ("010-1111-2222", "010-1111-3333"):  # two processes, one token
        result = run("send", "--to", to, *ALIMTALK)
        assert result.exit_code == 0, result.stderr
    tokens = [r for r in aligo.requests if r["path"] == TOKEN_PATH]
    assert len(tokens) == 1
    issued = tokens[0]["response"]["token"]
    kakao = [r["form"] for r in aligo.requests if r["path"].startswith("/kakao/akv10/a")]
    assert [f["token"] for f in kakao] == [issued, issued]
    (cached,) = run.rows("SELECT name, value, expires_at FROM kmsg_cache")
    assert cached["name"].startswith("aligo:kakao-token:")
    assert issued not in cached["value"] and aligo.key not in cached["value"]
    # Aligo lets the token expire (its clock ran past a day): kmsg makes a new one, once
    clock.advance(2 * 86_400)
    result = run("send", "--to", "010-1111-4444", *ALIMTALK)
    assert result.exit_code == 0, result.stderr
    assert len([r for r in aligo.requests if r["path"] == TOKEN_PATH]) == 2
    assert [m["receiver"] for m in aligo.accepted_messages()][-1] == "01011114444"


@pytest.mark.rule("ALIGO-SMS-RESERVE", "ALIGO-TZ")
def test_an_sms_reservation_under_10_minutes_is_exit_2(run: Run, aligo: FakeAligo) -> None:
    result = run("send", "--to", "010-1111-2222", "--text", "점검", "--at", "+5m")
    assert result.exit_code == 2 and "SCHEDULE_OUTSIDE_WINDOW" in result.stderr
    assert "10 minutes" in result.stderr and "KST" in result.stderr
    assert aligo.requests == []
    assert run("send", "--to", "010-1111-2222", "--text", "점검", "--at", "+15m").exit_code == 0
    (sent,) = aligo.accepted_messages()
    assert sent["scheduled_at"] is not None


@pytest.mark.rule("ALIGO-KAKAO-TPL")
def test_providers_templates_lists_what_aligo_lists_for_the_sender_key(
    run: Run, aligo: FakeAligo
) -> None:
    aligo.templates["TPL02"] = {
        "content": "#{name}님 배송 시작",
        "name": "배송",
        "inspStatus": "REQ",
    }
    code, doc = run.json("providers", "templates")
    assert code == 0, doc
    by_code = {t["code"]: t for t in doc["data"]["templates"]}
    assert by_code["TPL01"]["usable"] is True and by_code["TPL01"]["variables"] == ["name", "order"]
    assert by_code["TPL02"] == {
        "provider": "aligo",
        "code": "TPL02",
        "status": "REQ",
        "usable": False,
        "name": "배송",
        "variables": ["name"],
        "content": "#{name}님 배송 시작",
    }
    (listing,) = [r for r in aligo.requests if r["path"].endswith("/akv10/template/list/")]
    assert "tpl_code" not in listing["form"]  # the whole list, not one template


def test_a_dry_run_shows_the_alimtalk_text_the_template_delivers(
    run: Run, aligo: FakeAligo, tmp_path: Path
) -> None:
    args = ("--template", "TPL01", "--var", "name=홍", "--var", "order=7", "--dry-run")
    code, doc = run.json("send", "--to", "010-1111-2222", *args)
    assert code == 0, doc
    (planned,) = doc["data"]["messages"]
    assert planned["template_text"] == "홍님 주문이 접수되었습니다. 주문번호 7"
    table = run("send", "--to", "010-1111-2222", *args).stdout
    # the template's text, and no size of ours for it (the vendor's text is not counted here)
    assert re.search(r"ALIMTALK │ +│ aligo +│ \(template TPL01\) 홍님 주문이", table), table
    source = tmp_path / "at.csv"
    source.write_text("to,name,order\n010-1111-2222,김,\n", encoding="utf-8")
    shown = run("send-many", str(source), "--template", "TPL01", "--dry-run")
    assert shown.exit_code == 0, shown.stderr
    # an empty cell shows as the gap the recipient would read
    assert "template TPL01: 김님 주문이 접수되었습니다. 주문번호\n" in shown.stdout
    assert [r for r in aligo.requests if "/send/" in r["path"]] == []  # nothing sent
