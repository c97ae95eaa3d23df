"""The fake Aligo server, proven with raw httpx form/multipart requests against 127.0.0.1.

Requests are built from docs/vendors/aligo.md (field names, shapes), never from a
client. Times: the fake clock starts at 2026-01-05 03:00 UTC = 12:00 KST.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.fakes import aligo_fixtures
from tests.fakes.aligo import (
    DEFAULT_SENDER_KEY,
    FakeAligo,
    ManualClock,
    cp949_len,
    match_template,
)
from tests.fakes.aligo_fixtures import kakao_form, render_template, sms_form

fake_aligo = aligo_fixtures.fake_aligo  # make the shared fixture visible in this module

START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # 12:00 KST
SENDER = "01000000000"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 32
TPL01 = "#{name}님 주문이 접수되었습니다. 주문번호 #{order}"
ALIMTALK = "/akv10/alimtalk/send/"
FRIENDTALK = "/akv10/friendtalk/send/"
HISTORY = "/akv10/history/detail/"
BUTTON = {
    "name": "주문 조회",
    "linkType": "WL",
    "linkTypeName": "웹링크",
    "linkMo": "https://example.com/m",
    "linkPc": "https://example.com",
}


class Api:
    """Raw form/multipart requests to both hosts of the fake."""

    def __init__(self, fake: FakeAligo, http: httpx.Client) -> None:
        self.fake = fake
        self.http = http

    def sms(self, endpoint: str, files: Any = None, **fields: Any) -> httpx.Response:
        data = sms_form(self.fake, **fields)
        return self.http.post(self.fake.sms_base_url + endpoint, data=data, files=files)

    def sms_json(self, endpoint: str, files: Any = None, **fields: Any) -> dict[str, Any]:
        response = self.sms(endpoint, files=files, **fields)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        result: dict[str, Any] = response.json()
        return result

    def kakao(self, endpoint: str, files: Any = None, **fields: Any) -> httpx.Response:
        data = kakao_form(self.fake, **fields)
        return self.http.post(self.fake.kakao_base_url + endpoint, data=data, files=files)

    def kakao_json(self, endpoint: str, files: Any = None, **fields: Any) -> dict[str, Any]:
        response = self.kakao(endpoint, files=files, **fields)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def send_sms(
        self, receiver: str = "01011112222", msg: str = "안녕하세요", **extra: Any
    ) -> dict[str, Any]:
        fields = {"sender": SENDER, "receiver": receiver, "msg": msg, **extra}
        return self.sms_json("/send/", **fields)

    def alimtalk(self, receivers: list[str], **extra: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {"tpl_code": "TPL01", "sender": SENDER}
        for index, receiver in enumerate(receivers, start=1):
            fields[f"receiver_{index}"] = receiver
            fields[f"subject_{index}"] = "알림톡"
            fields[f"message_{index}"] = render_template(
                TPL01, {"name": f"고객{index}", "order": f"A-{index}"}
            )
        fields.update(extra)
        return self.kakao_json(ALIMTALK, **fields)

    def sms_list(self, mid: str, **extra: Any) -> dict[str, Any]:
        return self.sms_json("/sms_list/", mid=mid, **extra)

    def history(self, mid: Any, **extra: Any) -> dict[str, Any]:
        return self.kakao_json(HISTORY, mid=mid, **extra)


@pytest.fixture
def clock(fake_aligo: FakeAligo) -> ManualClock:
    manual = ManualClock(START.timestamp())
    fake_aligo.clock = manual
    return manual


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        yield client


@pytest.fixture
def api(fake_aligo: FakeAligo, http: httpx.Client, clock: ManualClock) -> Api:
    return Api(fake_aligo, http)


# --------------------------------------------------------------------------- helpers


def test_template_matcher_and_independent_renderer_agree() -> None:
    rendered = render_template(TPL01, {"name": "홍길동", "order": 42})
    assert rendered == "홍길동님 주문이 접수되었습니다. 주문번호 42"
    assert match_template(TPL01, rendered) == {"name": "홍길동", "order": "42"}
    assert match_template(TPL01, TPL01) is None  # unsubstituted placeholders
    assert (
        match_template(TPL01, "홍길동\n42") is None
    )  # values joined instead of the template filled
    assert match_template("#{a}와 #{a}", "x와 y") is None
    assert match_template("#{a}와 #{a}", "x와 x") == {"a": "x"}
    assert match_template("줄1\n#{a}", "줄1\r\n값") == {"a": "값"}
    with pytest.raises(KeyError):
        render_template(TPL01, {"name": "홍길동"})
    assert cp949_len("가" * 45) == 90
    assert cp949_len("😀") == 2


# --------------------------------------------------------------------------- authentication


@pytest.mark.rule("ALIGO-CREDS")
def test_sms_auth_failure_is_minus_101(api: Api, fake_aligo: FakeAligo) -> None:
    url = fake_aligo.sms_base_url + "/send/"
    good = sms_form(fake_aligo, sender=SENDER, receiver="01011112222", msg="hi")
    for data in (
        {**good, "key": "WRONG"},
        {**good, "user_id": "someone"},
        {k: v for k, v in good.items() if k != "user_id"},
        {"apikey": fake_aligo.key, "userid": fake_aligo.user_id},  # Kakao spelling
    ):
        response = api.http.post(url, data=data)
        assert response.status_code == 200
        body = response.json()
        assert body["result_code"] == -101
        assert body["message"].startswith("인증오류")
    empty = api.http.post(fake_aligo.sms_base_url + "/remain/")
    assert (empty.status_code, empty.json()["result_code"]) == (200, -101)
    assert fake_aligo.accepted_messages() == []
    assert [r["status"] for r in fake_aligo.requests] == [200] * 5


@pytest.mark.rule(
    "ALIGO-KAKAO-TOKEN", "ALIGO-KAKAO-TOKEN-REPLY", "ALIGO-KAKAO-TOKEN-USE", "ALIGO-CREDS"
)
def test_kakao_auth_failure_and_tokens(api: Api, fake_aligo: FakeAligo, clock: ManualClock) -> None:
    bad = api.http.post(
        fake_aligo.kakao_base_url + "/akv10/heartinfo/",
        data={"key": fake_aligo.key, "user_id": fake_aligo.user_id},  # SMS spelling
    )
    assert bad.status_code == 200
    assert bad.json()["code"] == -99 and bad.json()["message"]
    assert api.kakao_json("/akv10/heartinfo/", apikey="WRONG")["code"] == -99

    issued = api.kakao_json("/akv10/token/create/30/s/", token="")
    assert issued["code"] == 0 and issued["token"] == issued["urlencode"]
    assert fake_aligo.require_token  # the default: every other Kakao call needs one
    assert api.kakao_json("/akv10/heartinfo/", token="")["code"] == -99
    assert api.kakao_json("/akv10/heartinfo/", token=issued["token"])["code"] == 0
    assert api.kakao_json("/akv10/heartinfo/", token="forged")["code"] == -99
    clock.advance(31)
    assert api.kakao_json("/akv10/heartinfo/", token=issued["token"])["code"] == -99
    fake_aligo.require_token = False
    assert api.kakao_json("/akv10/heartinfo/", token="")["code"] == 0
    assert api.kakao("/akv10/token/create/1/x/").status_code == 404


# --------------------------------------------------------------------------- SMS host


@pytest.mark.rule("ALIGO-SMS-SEND", "ALIGO-SMS-REPLY", "ALIGO-SMS-DETAIL")
def test_sms_to_three_receivers_has_one_msg_id(
    api: Api, fake_aligo: FakeAligo, clock: ManualClock
) -> None:
    fake_aligo.final_outcomes = {"010-1111-0003": "결번"}
    answer = api.send_sms("010-1111-0001,01011110002, 01011110003", msg_type="SMS")
    assert answer == {
        "result_code": "1",
        "message": "success",
        "msg_id": answer["msg_id"],
        "success_cnt": 3,
        "error_cnt": 0,
        "msg_type": "SMS",
    }
    assert answer["msg_id"].isdigit()
    accepted = fake_aligo.accepted_messages()
    assert [(m["channel"], m["msg_id"], m["receiver"]) for m in accepted] == [
        ("sms", answer["msg_id"], "01011110001"),
        ("sms", answer["msg_id"], "01011110002"),
        ("sms", answer["msg_id"], "01011110003"),
    ]
    assert all(m["text"] == "안녕하세요" and m["testmode"] is False for m in accepted)
    assert len({m["detail_id"] for m in accepted}) == 3

    def states() -> list[tuple[str, str, str]]:
        listing = api.sms_list(answer["msg_id"])
        assert listing["result_code"] == 1 and listing["next_yn"] == "N"
        return [(i["receiver"], i["sms_state"], i["reason"]) for i in listing["list"]]

    listing = api.sms_list(answer["msg_id"])["list"]
    assert set(listing[0]) == {
        "mdid",
        "type",
        "sender",
        "receiver",
        "sms_state",
        "reg_date",
        "send_date",
        "reason",
    }
    assert listing[0]["reg_date"] == "2026-01-05 12:00:00"  # KST
    assert listing[0]["send_date"] == ""
    assert [s for _, s, _ in states()] == ["대기"] * 3
    clock.advance(2)
    assert [s for _, s, _ in states()] == ["전송중"] * 3
    assert api.sms_list(answer["msg_id"])["list"][0]["send_date"] == "2026-01-05 12:00:02"
    clock.advance(3)
    assert states() == [
        ("01011110001", "발송완료", ""),
        ("01011110002", "발송완료", ""),
        ("01011110003", "수신실패", "결번"),
    ]

    paged = api.sms_list(answer["msg_id"], page=1, page_size=2)
    assert (len(paged["list"]), paged["next_yn"]) == (2, "Y")
    assert (
        api.sms_list(answer["msg_id"], page=2, page_size=2)["list"][0]["mdid"]
        == (accepted[2]["detail_id"])
    )
    assert api.sms_list("99999")["list"] == []
    assert api.sms_json("/sms_list/")["result_code"] == -103
    assert api.sms_list(answer["msg_id"], page_size=501)["result_code"] == -103
    by_msg_id = api.sms_json("/sms_list/", msg_id=answer["msg_id"])
    assert len(by_msg_id["list"]) == 3

    mixed = api.send_sms("01011112222,12345,0101111")
    assert (mixed["success_cnt"], mixed["error_cnt"]) == (1, 2)
    assert api.send_sms("12345")["result_code"] == -103
    assert api.send_sms(",".join(["01011112222"] * 1001))["result_code"] == -103


def test_sms_field_errors(api: Api, fake_aligo: FakeAligo) -> None:
    def code(**fields: Any) -> Any:
        base = {"sender": SENDER, "receiver": "01011112222", "msg": "hi"}
        return api.sms_json("/send/", **{**base, **fields})["result_code"]

    assert code(sender="") == -103
    assert code(sender="12") == -103
    assert code(sender="0299998888") == -105
    assert code(msg="") == -103
    assert code(receiver="") == -103
    assert code(msg_type="KAKAO") == -103
    assert code(testmode_yn="yes") == -103
    assert code(msg_type="sms") == "1"  # case-insensitive
    assert code(sender="02-1234-5678") == "1"
    assert fake_aligo.accepted_messages()[-1]["sender"] == "0212345678"


def test_destination_substitutes_customer_names(api: Api, fake_aligo: FakeAligo) -> None:
    api.send_sms(
        "01011110001,01011110002",
        msg="%고객명%님 안녕하세요",
        destination="010-1111-0001|홍길동,01011110002|김철수",
    )
    assert [m["text"] for m in fake_aligo.accepted_messages()] == [
        "홍길동님 안녕하세요",
        "김철수님 안녕하세요",
    ]


@pytest.mark.rule("ALIGO-SMS-TITLE", "ALIGO-SMS-SEND")
def test_cp949_byte_limits(api: Api, fake_aligo: FakeAligo) -> None:
    assert api.send_sms(msg="가" * 45, msg_type="SMS")["result_code"] == "1"  # 90 bytes
    too_long = api.send_sms(msg="가" * 46, msg_type="SMS")
    assert too_long["result_code"] == -103 and "92 bytes" in too_long["message"]
    assert api.send_sms(msg="가" * 46)["msg_type"] == "LMS"  # auto-detected
    assert api.send_sms(msg="가" * 44 + "😀")["msg_type"] == "SMS"  # emoji counts 2
    assert api.send_sms(msg="가" * 1000, msg_type="LMS")["result_code"] == "1"
    assert api.send_sms(msg="가" * 1000 + "a", msg_type="LMS")["result_code"] == -103
    lms = api.send_sms(msg="장문", msg_type="LMS", title="가" * 22)
    assert lms["result_code"] == "1"
    assert fake_aligo.accepted_messages()[-1]["title"] == "가" * 22
    assert api.send_sms(msg="장문", msg_type="LMS", title="가" * 23)["result_code"] == -103
    api.send_sms(msg="단문", msg_type="SMS", title="무시됨")
    assert fake_aligo.accepted_messages()[-1]["title"] is None


@pytest.mark.rule("ALIGO-SMS-MASS")
def test_send_mass(api: Api, fake_aligo: FakeAligo) -> None:
    fields = {
        "sender": SENDER,
        "cnt": 3,
        "msg_type": "LMS",
        "title": "공지",
        "rec_1": "01011110001",
        "msg_1": "첫 번째",
        "rec_2": "010-1111-0002",
        "msg_2": "두 번째 " + "가" * 100,
        "rec_3": "bad",
        "msg_3": "세 번째",
        "rec_4": "01011110004",  # beyond cnt: ignored
        "msg_4": "네 번째",
    }
    answer = api.sms_json("/send_mass/", **fields)
    assert answer == {
        "result_code": "1",
        "message": "success",
        "msg_id": answer["msg_id"],
        "success_cnt": 2,
        "error_cnt": 1,
        "msg_type": "LMS",
    }
    accepted = fake_aligo.accepted_messages()
    assert [(m["receiver"], m["text"][:4], m["endpoint"]) for m in accepted] == [
        ("01011110001", "첫 번째", "/send_mass/"),
        ("01011110002", "두 번째", "/send_mass/"),
    ]
    assert {m["msg_id"] for m in accepted} == {answer["msg_id"]}
    assert {m["title"] for m in accepted} == {"공지"}
    assert len(api.sms_list(answer["msg_id"])["list"]) == 2

    def code(**changes: Any) -> Any:
        merged = {k: v for k, v in {**fields, **changes}.items() if v is not None}
        return api.sms_json("/send_mass/", **merged)["result_code"]

    assert code(rec_2=None) == -103
    assert code(msg_3=None) == -103
    assert code(cnt=0) == -103
    assert code(cnt=501) == -103
    assert code(cnt="x") == -103
    assert code(msg_type=None) == -103
    assert code(msg_type="SMS") == -103  # msg_2 is over 90 bytes
    assert len(fake_aligo.accepted_messages()) == 2


@pytest.mark.rule("ALIGO-SMS-RESERVE", "ALIGO-TZ")
def test_schedule_needs_ten_minutes_in_kst(
    api: Api, fake_aligo: FakeAligo, clock: ManualClock
) -> None:
    # 03:00 UTC is 12:00 in Asia/Seoul
    assert api.send_sms(rdate="20260105", rtime="1209")["result_code"] == -103
    as_utc = api.send_sms(rdate="20260105", rtime="0310")  # 03:10 read as UTC would be fine
    assert as_utc["result_code"] == -103 and "10 minutes" in as_utc["message"]
    assert api.send_sms(rdate="20260105")["result_code"] == -103
    assert api.send_sms(rtime="1230")["result_code"] == -103
    assert api.send_sms(rdate="2026-01-05", rtime="1230")["result_code"] == -103
    assert api.send_sms(rdate="20260105", rtime="2561")["result_code"] == -103
    assert fake_aligo.accepted_messages() == []

    answer = api.send_sms(rdate="20260105", rtime="1210")  # exactly 600 s ahead
    assert answer["result_code"] == "1"
    (accepted,) = fake_aligo.accepted_messages()
    assert accepted["scheduled_at"] == (START + timedelta(minutes=10)).timestamp()
    assert api.sms_list(answer["msg_id"])["list"][0]["sms_state"] == "예약대기"
    clock.advance(600 + 5)
    item = api.sms_list(answer["msg_id"])["list"][0]
    assert (item["sms_state"], item["send_date"]) == ("발송완료", "2026-01-05 12:10:02")

    clock.set(START.timestamp() + 30)  # 12:00:30: 12:10 is only 9.5 minutes ahead
    assert api.send_sms(rdate="20260105", rtime="1210")["result_code"] == -103
    assert api.send_sms(rdate="20260106", rtime="0000")["result_code"] == "1"


@pytest.mark.rule("ALIGO-MMS-IMAGE")
def test_mms_image_parts(api: Api, fake_aligo: FakeAligo) -> None:
    jpeg = {"image": ("사진.jpg", JPEG, "image/jpeg")}
    answer = api.send_sms(msg="사진", msg_type="MMS", title="제목", files=jpeg)
    assert (answer["result_code"], answer["msg_type"]) == ("1", "MMS")
    accepted = fake_aligo.accepted_messages()[-1]
    assert accepted["images"] == [
        {"field": "image", "filename": "사진.jpg", "content_type": "image/jpeg", "size": len(JPEG)}
    ]
    assert fake_aligo.requests[-1]["files"]["image"][0]["size"] == len(JPEG)
    assert fake_aligo.requests[-1]["form"]["msg"] == "사진"

    auto = api.send_sms(msg="자동", files={"image1": ("a.png", PNG, "image/png")})
    assert auto["msg_type"] == "MMS"
    three = [
        ("image1", ("a.jpg", JPEG, "image/jpeg")),
        ("image2", ("b.png", PNG, "image/png")),
        ("image3", ("c.gif", GIF, "image/gif")),
    ]
    assert api.send_sms(msg="세 장", msg_type="MMS", files=three)["result_code"] == "1"

    def code(files: Any = None, **fields: Any) -> Any:
        return api.send_sms(msg="사진", msg_type="MMS", files=files, **fields)["result_code"]

    assert code(image="https://example.com/a.jpg") == -103  # a URL string instead of a file part
    assert code() == -103  # MMS without an image
    assert code({"image": ("a.txt", b"not an image", "image/jpeg")}) == -103
    big = JPEG + b"\x00" * (300 * 1024)
    assert code({"image": ("big.jpg", big, "image/jpeg")}) == -103
    assert code([*three, ("image", ("d.jpg", JPEG, "image/jpeg"))]) == -103
    fake_aligo.mms_image_limit = 1024 * 1024
    assert code({"image": ("big.jpg", big, "image/jpeg")}) == "1"
    ignored = api.send_sms(msg="문자", msg_type="LMS", files=jpeg)
    assert ignored["msg_type"] == "LMS"
    assert fake_aligo.accepted_messages()[-1]["images"] == []


@pytest.mark.rule("ALIGO-SMS-REMAIN")
def test_remain_and_balance(api: Api, fake_aligo: FakeAligo) -> None:
    fake_aligo.point = 84
    assert api.sms_json("/remain/") == {
        "result_code": 1,
        "message": "success",
        "SMS_CNT": 10,
        "LMS_CNT": 3,
        "MMS_CNT": 1,
    }
    api.send_sms("01011110001,01011110002")
    assert fake_aligo.point == Decimal("67.2")
    assert api.sms_json("/remain/")["SMS_CNT"] == 8
    heart = api.kakao_json("/akv10/heartinfo/")
    assert heart["code"] == 0
    assert heart["list"] == {"SMS": 8, "LMS": 2, "MMS": 1, "ALT": 10, "FTS": 6, "FTI": 3}
    fake_aligo.point = "16.7"
    refused = api.send_sms("01011110001,01011110002")
    assert refused["result_code"] == -201
    assert api.alimtalk(["01011110001", "01011110002", "01011110003"])["code"] == -201
    assert len(fake_aligo.accepted_messages()) == 2


@pytest.mark.rule("ALIGO-SMS-TEST", "ALIGO-KAKAO-TEST")
def test_testmode_is_accepted_but_not_delivered(
    api: Api, fake_aligo: FakeAligo, clock: ManualClock
) -> None:
    fake_aligo.kakao_non_users = {"01099990000"}
    before = fake_aligo.point
    sms = api.send_sms(testmode_yn="Y")
    assert sms["result_code"] == "1" and sms["msg_id"]
    kakao = api.alimtalk(
        ["01011112222", "01099990000"], testMode="Y", failover="Y", fmessage_2="대체"
    )
    assert kakao["code"] == 0 and kakao["info"]["total"] == 0
    assert fake_aligo.point == before
    accepted = fake_aligo.accepted_messages()
    assert [(m["channel"], m["testmode"], m["outcome"]) for m in accepted] == [
        ("sms", True, "testmode"),
        ("alimtalk", True, "testmode"),
        ("alimtalk", True, "testmode"),
    ]
    assert fake_aligo.requests[0]["form"]["testmode_yn"] == "Y"
    clock.advance(60)
    item = api.sms_list(sms["msg_id"])["list"][0]
    assert (item["sms_state"], item["send_date"]) == ("테스트", "")
    history = api.history(kakao["info"]["mid"])["list"]
    assert [(h["status"], h["rslt"]) for h in history] == [("테스트", ""), ("테스트", "")]
    assert fake_aligo.failover_messages() == []


# --------------------------------------------------------------------------- Kakao host


@pytest.mark.rule("ALIGO-AT-SEND", "ALIGO-AT-REPLY")
def test_alimtalk_rendered_text_accepted(
    api: Api, fake_aligo: FakeAligo, clock: ManualClock
) -> None:
    message = render_template(TPL01, {"name": "홍길동", "order": "A-1"})
    answer = api.kakao_json(
        ALIMTALK,
        tpl_code="TPL01",
        sender="010-0000-0000",
        receiver_1="010-1111-2222",
        subject_1="알림톡",
        message_1=message,
    )
    info = answer["info"]
    assert answer == {"code": 0, "message": "성공적으로 전송요청 하였습니다.", "info": info}
    assert set(info) == {"type", "mid", "current", "unit", "total", "scnt", "fcnt"}
    assert (info["type"], info["scnt"], info["fcnt"], info["unit"], info["total"]) == (
        "AT",
        1,
        0,
        6.5,
        6.5,
    )
    assert isinstance(info["mid"], int)
    assert info["current"] == float(fake_aligo.point)
    (accepted,) = fake_aligo.accepted_messages()
    assert accepted["channel"] == "alimtalk" and accepted["mid"] == str(info["mid"])
    assert accepted["variables"] == {"name": "홍길동", "order": "A-1"}
    assert (accepted["receiver"], accepted["text"], accepted["title"]) == (
        "01011112222",
        message,
        "알림톡",
    )
    assert accepted["tpl_code"] == "TPL01" and accepted["sender_key"] == DEFAULT_SENDER_KEY

    two = api.alimtalk(["01011110001", "bad", "01011110003"])
    assert (two["info"]["scnt"], two["info"]["fcnt"]) == (2, 1)

    # reserve fields are ignored; senddate (KST) schedules
    api.alimtalk(["01011110009"], reserve="Y", reserve_date="20260106", reserve_time="0900")
    assert fake_aligo.accepted_messages()[-1]["scheduled_at"] is None
    later = api.alimtalk(["01011110010"], senddate="20260105121500")
    assert (
        fake_aligo.accepted_messages()[-1]["scheduled_at"]
        == (START + timedelta(minutes=15)).timestamp()
    )
    assert api.history(later["info"]["mid"])["list"][0]["status"] == "예약대기"
    assert api.alimtalk(["01011110010"], senddate="20260105115959")["code"] == 509
    assert api.alimtalk(["01011110010"], senddate="2026-01-05 12:15")["code"] == 509


def test_alimtalk_mismatch_and_other_rejections(api: Api, fake_aligo: FakeAligo) -> None:
    good = {
        "tpl_code": "TPL01",
        "sender": SENDER,
        "receiver_1": "01011112222",
        "message_1": render_template(TPL01, {"name": "홍길동", "order": "A-1"}),
    }

    def code(**changes: Any) -> Any:
        merged = {k: v for k, v in {**good, **changes}.items() if v is not None}
        return api.kakao_json(ALIMTALK, **merged)["code"]

    assert code(message_1="홍길동\nA-1") == -502  # variable values joined, not the template filled
    assert code(message_1=TPL01) == -502  # not rendered at all
    assert code(message_1=good["message_1"].replace("되었습니다", "되었어요")) == -502
    assert code(message_1=good["message_1"].replace(". ", ".  ")) == -502
    assert code(message_1="홍길동님 주문이 접수되었습니다.") == -502
    assert code(message_1=None) == 509
    assert code(tpl_code="NOPE") == -501
    assert code(tpl_code=None) == 509
    assert code(senderkey="unknown-key") == -503
    assert code(senderkey="") == 509
    assert code(sender="0299998888") == -504
    assert code(sender=None) == 509
    assert code(receiver_1=None, receiver_2="01011112222") == 509  # no receiver_1
    assert code(receiver_3="01011113333", message_3="x") == 509  # gap at 2
    assert code(receiver_1="bad") == 509  # no valid receiver
    assert code(failover="maybe") == 509
    assert code(fmessage_1="가" * 1001) == 509
    many = {f"receiver_{i}": "01011112222" for i in range(1, 502)}
    many.update({f"message_{i}": good["message_1"] for i in range(1, 502)})
    assert code(**many) == 509
    mismatch = api.kakao_json(ALIMTALK, **{**good, "message_1": TPL01})
    assert "message_1" in mismatch["message"]

    fake_aligo.templates["TPL_PENDING"] = {"content": "검수 중", "inspStatus": "REQ"}
    assert code(tpl_code="TPL_PENDING", message_1="검수 중") == -501
    fake_aligo.templates["TPL_PLAIN"] = "고정 문구"  # a bare string is the content
    assert code(tpl_code="TPL_PLAIN", message_1="고정 문구") == 0
    assert len(fake_aligo.accepted_messages()) == 1


@pytest.mark.rule("ALIGO-AT-BUTTON")
def test_alimtalk_buttons_must_match_the_template(api: Api, fake_aligo: FakeAligo) -> None:
    fake_aligo.templates["TPL02"] = {
        "content": "#{name}님 배송이 시작되었습니다.",
        "buttons": [BUTTON],
    }
    fields = {
        "tpl_code": "TPL02",
        "sender": SENDER,
        "receiver_1": "01011112222",
        "message_1": "홍길동님 배송이 시작되었습니다.",
    }

    def code(button: Any) -> Any:
        extra = {} if button is None else {"button_1": button}
        return api.kakao_json(ALIMTALK, **fields, **extra)["code"]

    assert code(None) == -502
    assert code(json.dumps({"button": [{**BUTTON, "name": "다른 버튼"}]})) == -502
    assert code("{not json") == 509
    assert code(json.dumps({"button": [BUTTON]}, ensure_ascii=False)) == 0
    assert fake_aligo.accepted_messages()[-1]["buttons"] == [BUTTON]
    fields["tpl_code"], fields["message_1"] = (
        "TPL01",
        render_template(TPL01, {"name": "a", "order": "b"}),
    )
    assert code(json.dumps({"button": []})) == 0
    assert code(json.dumps({"button": [BUTTON]})) == -502


@pytest.mark.rule("ALIGO-AT-FAILOVER")
def test_failover_substitute_for_non_kakao_user(
    api: Api, fake_aligo: FakeAligo, clock: ManualClock
) -> None:
    fake_aligo.kakao_non_users = {"010-9999-0000", "01099990001"}
    before = fake_aligo.point
    answer = api.alimtalk(
        ["01099990000", "01011112222", "01099990001"],
        failover="Y",
        fsubject_1="주문 안내",
        fmessage_1="[대체] 주문이 접수되었습니다.",
    )
    assert (answer["code"], answer["info"]["scnt"]) == (0, 3)
    assert fake_aligo.point == before - Decimal("6.5") * 3 - Decimal("25.9")
    outcomes = [(m["receiver"], m["outcome"]) for m in fake_aligo.accepted_messages()]
    assert outcomes == [
        ("01099990000", "failover"),
        ("01011112222", "delivered"),
        ("01099990001", "non_user"),  # failover=Y but no fmessage_3
    ]
    (substitute,) = fake_aligo.failover_messages()
    assert substitute["channel"] == "sms"
    assert substitute["msg_type"] == "LMS"  # fsubject given
    assert (substitute["receiver"], substitute["sender"]) == ("01099990000", SENDER)
    assert (substitute["title"], substitute["text"]) == (
        "주문 안내",
        "[대체] 주문이 접수되었습니다.",
    )
    assert substitute["mid"] == str(answer["info"]["mid"])
    assert substitute["at"] == START.timestamp() + 5

    history = api.history(answer["info"]["mid"])
    assert [(h["status"], h["rslt"]) for h in history["list"]] == [("대기", "")] * 3
    clock.advance(5)
    final = api.history(answer["info"]["mid"])["list"]
    assert [(h["phone"], h["rslt"], h["rslt_message"], h["fsend_type"]) for h in final] == [
        ("01099990000", "3019", "톡 유저가 아님", "LMS"),
        ("01011112222", "0", "성공", ""),
        ("01099990001", "3019", "톡 유저가 아님", ""),
    ]
    assert final[0]["fsend_state"] == "발송완료"
    assert final[0]["smid"] == substitute["detail_id"]

    short = api.alimtalk(["01099990000"], failover="Y", fmessage_1="짧은 대체")
    assert short["code"] == 0
    assert fake_aligo.failover_messages()[-1]["msg_type"] == "SMS"
    no_failover = api.alimtalk(["01099990000"], fmessage_1="대체 문구")
    assert no_failover["code"] == 0
    assert fake_aligo.accepted_messages()[-1]["outcome"] == "non_user"
    assert len(fake_aligo.failover_messages()) == 2


@pytest.mark.rule("ALIGO-KAKAO-DETAIL")
def test_history_by_mid(api: Api, fake_aligo: FakeAligo, clock: ManualClock) -> None:
    fake_aligo.final_outcomes = {"01011110002": "메시지를 전송할 수 없음"}
    answer = api.alimtalk(["01011110001", "01011110002", "01011110003"])
    mid = answer["info"]["mid"]
    first = api.history(mid)
    assert (first["code"], first["message"]) == (0, "정상적으로 조회되었습니다.")
    assert (first["currentPage"], first["totalPage"], first["totalCount"]) == (1, 1, 3)
    item = first["list"][0]
    assert set(item) == {
        "msgid",
        "type",
        "sender",
        "phone",
        "status",
        "reqdate",
        "sentdate",
        "rsltdate",
        "reportdate",
        "rslt",
        "rslt_message",
        "message",
        "button_json",
        "tpl_code",
        "senderKey",
        "smid",
        "fsend_type",
        "fsend_state",
    }
    assert (item["type"], item["tpl_code"], item["senderKey"]) == (
        "AT",
        "TPL01",
        DEFAULT_SENDER_KEY,
    )
    assert (item["status"], item["reqdate"], item["sentdate"]) == (
        "대기",
        "2026-01-05 12:00:00",
        "",
    )
    assert item["message"] == render_template(TPL01, {"name": "고객1", "order": "A-1"})
    clock.advance(2)
    item = api.history(str(mid))["list"][0]
    assert (item["status"], item["sentdate"], item["rslt"]) == (
        "전송중",
        "2026-01-05 12:00:02",
        "",
    )
    clock.advance(3)
    final = api.history(mid)["list"]
    assert [(h["status"], h["rslt"], h["rslt_message"]) for h in final] == [
        ("완료", "0", "성공"),
        ("완료", "3018", "메시지를 전송할 수 없음"),
        ("완료", "0", "성공"),
    ]
    assert final[0]["rsltdate"] == "2026-01-05 12:00:05"
    paged = api.history(mid, page=2, limit=2)
    assert (len(paged["list"]), paged["totalPage"], paged["currentPage"]) == (1, 2, 2)
    assert api.history("123")["list"] == []
    assert api.kakao_json(HISTORY)["code"] == 509
    sms = api.send_sms()
    assert api.history(sms["msg_id"])["list"] == []  # SMS ids are not Kakao history


@pytest.mark.rule("ALIGO-KAKAO-TPL")
def test_template_list(api: Api, fake_aligo: FakeAligo) -> None:
    fake_aligo.templates["TPL02"] = {
        "content": "#{name}님 배송이 시작되었습니다.",
        "name": "배송 시작",
        "buttons": [BUTTON],
    }
    fake_aligo.templates["TPL03"] = {"content": "반려된 문구", "inspStatus": "REJ"}
    listed = api.kakao_json("/akv10/template/list/")
    assert (listed["code"], listed["message"]) == (0, "정상적으로 조회되었습니다.")
    assert listed["info"] == {"REG": 0, "REQ": 0, "APR": 2, "REJ": 1}
    first = listed["list"][0]
    assert first["templtCode"] == "TPL01"
    assert first["templtContent"] == TPL01
    assert first["templtName"] == "주문 접수"
    assert (first["inspStatus"], first["status"], first["buttons"]) == ("APR", "R", [])
    assert {"cdate", "udate", "comments", "senderKey"} <= set(first)
    second = listed["list"][1]
    assert second["buttons"] == [
        {"ordering": 1, **BUTTON, "linkIos": "", "linkAnd": ""},
    ]
    only = api.kakao_json("/akv10/template/list/", tpl_code="TPL02")["list"]
    assert [t["templtCode"] for t in only] == ["TPL02"]
    assert api.kakao_json("/akv10/template/list/", tpl_code="NOPE")["list"] == []
    assert api.kakao_json("/akv10/template/list/", senderkey="")["code"] == 509
    assert api.kakao_json("/akv10/template/list/", senderkey="other")["code"] == -503


@pytest.mark.rule("ALIGO-FT-SEND")
def test_friendtalk_with_an_image_part(api: Api, fake_aligo: FakeAligo) -> None:
    fields = {
        "sender": SENDER,
        "receiver_1": "01011112222",
        "subject_1": "친구톡",
        "message_1": "신상품 안내",
        "image_url": "https://example.com/landing",
        "button_1": json.dumps({"button": [BUTTON]}, ensure_ascii=False),
    }
    image = {"image": ("banner.png", PNG, "image/png")}
    answer = api.kakao_json(FRIENDTALK, files=image, **fields)
    assert answer["code"] == 0
    assert (answer["info"]["type"], answer["info"]["unit"]) == ("FT", 22.0)  # FI price
    accepted = fake_aligo.accepted_messages()[-1]
    assert (accepted["channel"], accepted["msg_type"]) == ("friendtalk", "FT")
    assert accepted["images"][0]["filename"] == "banner.png"
    assert accepted["image_url"] == "https://example.com/landing"
    assert accepted["buttons"] == [BUTTON]
    text_only = api.kakao_json("/akv10/friend/send/", **fields)  # the public-spec path
    assert (text_only["code"], text_only["info"]["unit"]) == (0, 11.0)

    def code(files: Any = None, **changes: Any) -> Any:
        return api.kakao_json(FRIENDTALK, files=files, **{**fields, **changes})["code"]

    assert code(image="https://example.com/a.png") == 509
    assert code({"image": ("a.gif", GIF, "image/gif")}) == 509
    assert code({"image": ("big.png", PNG + b"\x00" * (500 * 1024), "image/png")}) == 509
    assert code(image, message_1="가" * 401) == 509
    assert code(message_1="가" * 1000) == 0
    assert code(message_1="가" * 1001) == 509
    assert code(button_1=json.dumps({"button": [{"name": "x", "linkType": "??"}]})) == 509
    assert code(button_1=json.dumps({"button": [{"name": "x", "linkType": "WL"}]})) == 509
    assert code(button_1=json.dumps([BUTTON])) == 509


# --------------------------------------------------------------------------- HTTP-level errors


def test_malformed_requests_get_4xx(api: Api, fake_aligo: FakeAligo, http: httpx.Client) -> None:
    sms_url = fake_aligo.sms_base_url
    kakao_url = fake_aligo.kakao_base_url

    def status(response: httpx.Response) -> int:
        body = response.json()
        assert set(body) == {"status", "error", "message"}
        assert body["status"] == response.status_code
        return response.status_code

    get = http.get(sms_url + "/send/")
    assert status(get) == 405 and get.headers["allow"] == "POST"
    assert status(http.post(sms_url + ALIMTALK, data={})) == 404  # Kakao path on the SMS host
    assert status(http.post(kakao_url + "/send/", data={})) == 404
    assert status(http.post(fake_aligo.base_url + "/send/", data={})) == 404
    assert status(http.post(sms_url + "/nowhere/", data={})) == 404
    as_json = http.post(sms_url + "/send/", json=sms_form(fake_aligo, msg="hi"))
    assert status(as_json) == 415
    no_type = http.post(sms_url + "/send/", content=b"key=a", headers={"content-type": ""})
    assert status(no_type) == 415
    broken = http.post(
        sms_url + "/send/",
        content=b"--xyz\r\nContent-Disposition: form-data; name=key\r\n\r\nabc",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert status(broken) == 400
    no_boundary = http.post(
        sms_url + "/send/", content=b"x", headers={"content-type": "multipart/form-data"}
    )
    assert status(no_boundary) == 400
    bad_utf8 = http.post(
        sms_url + "/send/",
        content=b"msg=%FF%FE",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert status(bad_utf8) == 400
    assert http.post(sms_url + "/remain", data=sms_form(fake_aligo)).json()["result_code"] == 1
    assert fake_aligo.accepted_messages() == []

    with socket.create_connection(("127.0.0.1", fake_aligo.bound_port), timeout=5) as raw:
        raw.sendall(b"TRACE /sms/send/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        chunks = []
        while chunk := raw.recv(65536):  # the server closes after an error
            chunks.append(chunk)
        reply = b"".join(chunks).decode()
    head, _, body = reply.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 501") and "application/json" in head
    assert json.loads(body)["status"] == 501


def test_euc_kr_form_bodies_are_decoded(
    api: Api, fake_aligo: FakeAligo, http: httpx.Client
) -> None:
    fields = sms_form(fake_aligo, sender=SENDER, receiver="01011112222", msg="한글 메시지")
    response = http.post(
        fake_aligo.sms_base_url + "/send/",
        content=urlencode(fields, encoding="euc-kr").encode("ascii"),
        headers={"content-type": "application/x-www-form-urlencoded; charset=euc-kr"},
    )
    assert response.json()["result_code"] == "1"
    assert fake_aligo.accepted_messages()[-1]["text"] == "한글 메시지"


def test_result_code_styles_and_kmsg_compat(api: Api, fake_aligo: FakeAligo) -> None:
    fake_aligo.result_code_style = "int"
    assert api.send_sms()["result_code"] == 1
    fake_aligo.result_code_style = "str"
    assert api.sms_json("/remain/")["result_code"] == "1"
    assert api.send_sms(sender="")["result_code"] == "-103"
    fake_aligo.result_code_style = "native"
    assert api.send_sms(sender="")["result_code"] == -103
    fake_aligo.kmsg_compat = True
    answer = api.alimtalk(["01011112222"])
    assert (answer["code"], answer["result_code"]) == (0, "0")
    assert answer["msg_id"] == str(answer["info"]["mid"])
    with pytest.raises(ValueError):
        FakeAligo(result_code_style="bool")


# --------------------------------------------------------------------------- faults (Aligo)


def test_fault_paths_are_host_relative_endpoints(api: Api, fake_aligo: FakeAligo) -> None:
    fake_aligo.script = ["500", "500"]
    fake_aligo.fault_paths = {"/akv10/heartinfo/"}
    assert api.send_sms()["result_code"] == "1"  # /send/ is not listed now
    assert api.kakao("/akv10/heartinfo/").status_code == 500
    assert api.kakao("/akv10/heartinfo").status_code == 500  # without the trailing slash too
    heart = fake_aligo.requests[-1]
    assert (heart["host"], heart["endpoint"], heart["fault"]) == (
        "kakao",
        "/akv10/heartinfo/",
        "500",
    )
    assert fake_aligo.script == []
