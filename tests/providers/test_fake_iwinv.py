"""The fake IWINV server, proven with raw httpx requests (built from docs/vendors/iwinv.md) on
127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.fakes import iwinv_fixtures
from tests.fakes.iwinv import (
    DEFAULT_API_KEY,
    DEFAULT_SMS_API_KEY,
    DEFAULT_SMS_AUTH_KEY,
    FakeIwinv,
    ManualClock,
    alimtalk_auth,
    sms_secret,
)
from tests.fakes.iwinv_fixtures import (
    alimtalk_headers,
    iwinv_auth_header,
    iwinv_secret_header,
    sms_headers,
)

fake_iwinv = iwinv_fixtures.fake_iwinv  # make the shared fixture visible in this module

START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # 2026-01-05 12:00:00 in Seoul
KST = timezone(timedelta(hours=9))
SENDER = "01000000000"
PHONE = "01012345678"
IP_MESSAGE = "등록하지 않은 IP에서는 발송되지 않습니다."
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\r\n\r\n--x\r\n" + b"\xff\xd9"


def kst_text(moment: datetime) -> str:
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


def alimtalk_body(
    phone: str = PHONE, params: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {"phone": phone}
    item["templateParam"] = ["홍길동", "1234"] if params is None else params
    return {"templateCode": "WELCOME", "reserve": "N", "list": [item], **extra}


def sms_body(to: list[str] | None = None, text: str = "안녕하세요", **extra: Any) -> dict[str, Any]:
    return {
        "version": "1.0",
        "from": SENDER,
        "to": [PHONE] if to is None else to,
        "text": text,
        "msgType": "SMS",
        **extra,
    }


class Api:
    """Raw requests to both hosts of the fake, with the documented headers."""

    def __init__(self, fake: FakeIwinv, http: httpx.Client) -> None:
        self.fake = fake
        self.http = http

    def alimtalk(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        sent = alimtalk_headers(self.fake) if headers is None else headers
        url = self.fake.alimtalk_base_url + path
        return self.http.post(url, json={} if body is None else body, headers=sent, **kw)

    def sms(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        sent = sms_headers(self.fake) if headers is None else headers
        url = self.fake.sms_base_url + path
        return self.http.post(url, json={} if body is None else body, headers=sent, **kw)

    def mms(
        self, fields: dict[str, Any], image: tuple[str, bytes, str] | None, part: str = "image"
    ) -> httpx.Response:
        files = {part: image} if image is not None else None
        return self.http.post(
            self.fake.sms_base_url + "/api/v2/send/",
            data=fields,
            files=files,
            headers=sms_headers(self.fake, json=False),
        )

    def ok(self, response: httpx.Response, key: str = "code", value: int = 200) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        body: dict[str, Any] = response.json()
        assert body[key] == value, body
        return body

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.ok(self.alimtalk("/api/v2/send/", body))

    def seq(self, phone: str = PHONE) -> int:
        """The seqNo the fake gave the newest AlimTalk to `phone` (the send reply has none:
        IWINV-AT-REPLY; the history shows it)."""
        numbers = [m["seqNo"] for m in self.fake.all_messages() if m.get("phone") == phone]
        return int(numbers[-1])

    def history(self, **query: Any) -> dict[str, Any]:
        return self.ok(self.alimtalk("/api/history/", {"pageNum": 1, "pageSize": 15, **query}))

    def sms_send(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.ok(self.sms("/api/v2/send/", body), "resultCode", 0)

    def sms_history(self, **query: Any) -> dict[str, Any]:
        body = {"version": "1.0", "companyid": self.fake.sms_company_id, **query}
        return self.ok(self.sms("/api/history/", body), "resultCode", 0)


def code_of(response: httpx.Response, key: str = "code") -> int:
    assert response.status_code == 200, response.text
    value = response.json()[key]
    assert isinstance(value, int)
    return value


@pytest.fixture
def clock(fake_iwinv: FakeIwinv) -> ManualClock:
    manual = ManualClock(START.timestamp())
    fake_iwinv.clock = manual
    return manual


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        yield client


@pytest.fixture
def api(fake_iwinv: FakeIwinv, http: httpx.Client, clock: ManualClock) -> Api:
    return Api(fake_iwinv, http)


# --------------------------------------------------------------------------- authentication


def test_reference_base64_examples(fake_iwinv: FakeIwinv, api: Api) -> None:
    assert alimtalk_auth("api-key") == iwinv_auth_header("api-key") == "YXBpLWtleQ=="
    expected_secret = "c21zLWFwaS1rZXkmc21zLWF1dGgta2V5"
    assert sms_secret("sms-api-key", "sms-auth-key") == expected_secret
    assert iwinv_secret_header("sms-api-key", "sms-auth-key") == expected_secret

    fake_iwinv.api_key = "api-key"
    fake_iwinv.sms_api_key, fake_iwinv.sms_auth_key = "sms-api-key", "sms-auth-key"
    for name in ("AUTH", "auth", "Auth"):
        api.ok(api.alimtalk("/api/charge/", headers={name: "YXBpLWtleQ=="}))
    for name in ("secret", "SECRET"):
        api.ok(api.sms("/api/charge/", headers={name: expected_secret}), "code", 0)


def test_authentication_errors(fake_iwinv: FakeIwinv, api: Api) -> None:
    good_auth = iwinv_auth_header(DEFAULT_API_KEY)
    good_secret = iwinv_secret_header(DEFAULT_SMS_API_KEY, DEFAULT_SMS_AUTH_KEY)
    for headers in ({}, {"AUTH": iwinv_auth_header("other")}, {"AUTH": DEFAULT_API_KEY}):
        response = api.alimtalk("/api/v2/send/", alimtalk_body(), headers=headers)
        assert code_of(response) == 201
        assert set(response.json()) == {"code", "message"}
    unpadded = {"AUTH": good_auth.rstrip("=")}
    if unpadded["AUTH"] != good_auth:
        assert code_of(api.alimtalk("/api/charge/", headers=unpadded)) == 201
    # SMS: the secret is key&auth; AUTH alone or a one-key secret are refused with 14
    for headers in (
        {},
        {"AUTH": good_auth},
        {"secret": iwinv_secret_header(DEFAULT_API_KEY, DEFAULT_SMS_AUTH_KEY)},
        {"secret": iwinv_auth_header(DEFAULT_SMS_API_KEY)},
    ):
        response = api.sms("/api/v2/send/", sms_body(), headers=headers)
        assert code_of(response, "resultCode") == 14
        assert set(response.json()) == {"resultCode", "message"}
    charge = api.sms("/api/charge/", headers={"secret": "bad"})
    assert set(charge.json()) == {"code", "message"} and charge.json()["code"] == 14
    fake_iwinv.sms_auth_key = None  # the account has no SMS keys/permission
    assert code_of(api.sms("/api/v2/send/", sms_body(), {"secret": good_secret}), "resultCode") == (
        202
    )
    assert fake_iwinv.accepted_messages() == []


@pytest.mark.rule("IWINV-IP", "IWINV-AT-CODE206")
def test_ip_refusal_and_forwarded_for(fake_iwinv: FakeIwinv, api: Api) -> None:
    fake_iwinv.allowed_ips = {"10.1.2.3"}
    refused = api.alimtalk("/api/v2/send/", alimtalk_body())
    assert refused.json() == {"code": 206, "message": IP_MESSAGE}
    assert fake_iwinv.requests[-1]["error_detail"] == "client IP 127.0.0.1"
    # the IP check comes before the credentials
    assert code_of(api.alimtalk("/api/charge/", headers={})) == 206
    assert code_of(api.sms("/api/v2/send/", sms_body()), "resultCode") == 15
    fake_iwinv.sms_ip_error_code = 206
    assert code_of(api.sms("/api/v2/send/", sms_body()), "resultCode") == 206

    forwarded = {**alimtalk_headers(fake_iwinv), "X-Forwarded-For": "10.1.2.3, 172.16.0.1"}
    assert code_of(api.alimtalk("/api/v2/send/", alimtalk_body(), headers=forwarded)) == 206
    fake_iwinv.trust_forwarded_for = True
    api.ok(api.alimtalk("/api/v2/send/", alimtalk_body(), headers=forwarded))
    assert fake_iwinv.requests[-1]["client_ip"] == "10.1.2.3"
    fake_iwinv.allowed_ips = None
    api.sms_send(sms_body())
    assert [m["channel"] for m in fake_iwinv.accepted_messages()] == ["alimtalk", "sms"]


# --------------------------------------------------------------------------- AlimTalk


@pytest.mark.rule(
    "IWINV-AT-ENDPOINT", "IWINV-AT-REPLY", "IWINV-AT-HIST", "IWINV-AT-HIST-REPLY", "IWINV-AT-AUTH"
)
def test_alimtalk_send_and_history(fake_iwinv: FakeIwinv, api: Api, clock: ManualClock) -> None:
    reply = api.send(alimtalk_body())
    assert set(reply) == {"code", "message", "success", "fail"}  # no seqNo: IWINV-AT-REPLY
    assert (reply["success"], reply["fail"]) == (1, 0)
    sent = {"seqNo": api.seq()}
    api.send(alimtalk_body("01099998888", ["김철수", "5678"]))
    other = {"seqNo": api.seq("01099998888")}
    assert isinstance(sent["seqNo"], int) and other["seqNo"] != sent["seqNo"]

    (entry, _) = fake_iwinv.accepted_messages()
    assert entry["channel"] == "alimtalk"
    assert (entry["seqNo"], entry["phone"]) == (sent["seqNo"], PHONE)
    assert entry["templateParam"] == ["홍길동", "1234"]
    assert entry["text"] == "홍길동님 가입을 환영합니다. 인증번호 1234"
    assert (entry["reSend"], entry["reserve"]) == ("N", "N")

    query = {
        "seqNo": sent["seqNo"],
        "phone": PHONE,
        "startDate": kst_text(START - timedelta(days=1)),
        "endDate": kst_text(START),
    }
    pending = api.history(**query)
    assert pending["totalCount"] == 1
    (item,) = pending["list"]
    assert set(item) >= {
        "seqNo",
        "phone",
        "callback",
        "templateCode",
        "sendMessage",
        "reserve",
        "requestDate",
        "sendDate",
        "receiveDate",
        "statusCode",
        "statusCodeName",
        "resendStatus",
        "resendStatusName",
        "buttons",
    }
    assert item["requestDate"] == "2026-01-05 12:00:00"  # KST, not the UTC 03:00
    assert (item["statusCode"], item["sendDate"]) == ("WAIT", "")
    assert set(item["buttons"]) == {f"link{i}" for i in range(1, 6)}

    clock.advance(fake_iwinv.progress_after)
    (done,) = api.history(**query)["list"]
    assert (done["statusCode"], done["statusCodeName"]) == ("OK", "성공")
    assert done["sendDate"] == done["receiveDate"] == "2026-01-05 12:00:02"
    assert done["sendMessage"] == entry["text"]

    # filters: a seqNo (also as a digit string) never returns another message
    assert api.history(seqNo=str(other["seqNo"]))["list"][0]["phone"] == "01099998888"
    assert api.history(seqNo=999)["totalCount"] == 0
    assert api.history(seqNo=sent["seqNo"], phone="01099998888") == {
        "code": 200,
        "message": "조회 성공",
        "totalCount": 0,
        "list": [],
    }
    assert api.history()["totalCount"] == 2
    assert [i["seqNo"] for i in api.history()["list"]] == [other["seqNo"], sent["seqNo"]]
    assert api.history(pageSize=1, pageNum=2)["list"][0]["seqNo"] == sent["seqNo"]
    # a UTC-formatted window (03:00) misses a message requested at 12:00 KST
    utc_window = {"startDate": "2026-01-05 02:00:00", "endDate": "2026-01-05 03:00:00"}
    assert api.history(**utc_window)["totalCount"] == 0
    assert api.history(startDate="2026-01-05", endDate="2026-01-05")["totalCount"] == 2
    assert code_of(api.alimtalk("/api/history/", {"startDate": "01/05/2026"})) == 502
    assert code_of(api.alimtalk("/api/history/", {"seqNo": "abc"})) == 502


RESEND = {"reSend": "Y", "resendCallback": SENDER}


@pytest.mark.rule("IWINV-AT-CODES", "IWINV-AT-PARAMS", "IWINV-AT-RESEND", "IWINV-AT-BATCH")
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (alimtalk_body(params=["홍길동"]), 508),
        (alimtalk_body(params=["홍길동", "1234", "extra"]), 509),
        ({"templateCode": "WELCOME", "reserve": "N", "list": [{"phone": PHONE}]}, 508),
        (alimtalk_body(params=["홍길동", 1234]), 508),  # type: ignore[list-item]
        ({**alimtalk_body(), "templateCode": "NOPE"}, 501),
        ({"reserve": "N", "list": [{"phone": PHONE}]}, 501),
        (alimtalk_body("010-1234-5678"), 513),
        (alimtalk_body("1234"), 513),
        (alimtalk_body(""), 512),
        ({"templateCode": "WELCOME", "list": []}, 502),
        ({"templateCode": "WELCOME", "list": "01012345678"}, 502),
        ({**alimtalk_body(), "reserve": "maybe"}, 506),
        ({**alimtalk_body(), "reSend": "maybe"}, 503),
        ({**alimtalk_body(), "resendType": "LMS"}, 504),
        ({**alimtalk_body(), "reSend": "Y"}, 505),
        ({**alimtalk_body(), "reSend": "Y", "resendCallback": "01055556666"}, 505),
        ({**alimtalk_body(), **RESEND, "resendType": "N"}, 504),
        ({**alimtalk_body(), **RESEND, "resendType": "N", "resendContent": "가" * 1001}, 515),
        ({**alimtalk_body(), **RESEND, "resendTitle": "가" * 20 + "a"}, 510),
        ({**alimtalk_body(), **RESEND, "resendTitle": "안내: 확인!"}, 511),
        (alimtalk_body(params=["가" * 1000, "1"]), 517),
        (
            {
                "templateCode": "WELCOME",
                "list": [{"phone": PHONE, "templateParam": ["a", "1"]}] * 10_001,
            },
            514,
        ),
    ],
)
def test_alimtalk_rejections(fake_iwinv: FakeIwinv, api: Api, body: Any, code: int) -> None:
    response = api.alimtalk("/api/v2/send/", body)
    assert code_of(response) == code
    assert set(response.json()) == {"code", "message"}
    assert fake_iwinv.all_messages() == []


def test_partial_send_counts_failures(fake_iwinv: FakeIwinv, api: Api, clock: ManualClock) -> None:
    fake_iwinv.blocked_keywords = {"도박"}
    body = alimtalk_body()
    body["list"] += [
        {"phone": "01011110000", "templateParam": ["홍길동"]},
        {"phone": "01011110001", "templateParam": ["도박", "1"]},
    ]
    sent = api.send(body)
    assert (sent["success"], sent["fail"]) == (1, 2)
    assert [m["phone"] for m in fake_iwinv.accepted_messages()] == [PHONE]
    assert len(fake_iwinv.all_messages()) == 3
    failed = api.history(seqNo=api.seq(), phone="01011110000")["list"][0]
    assert failed["statusCode"] == "508" and "실패" in failed["statusCodeName"]
    assert failed["sendDate"] == "2026-01-05 12:00:00"  # a failure has a send date at once
    blocked = api.history(seqNo=api.seq(), phone="01011110001")["list"][0]
    assert blocked["statusCode"] == "540"
    alone = alimtalk_body(params=["도박", "1"])
    assert code_of(api.alimtalk("/api/v2/send/", alone)) == 540


@pytest.mark.rule("IWINV-AT-DATE", "IWINV-AT-WINDOW")
def test_reserved_alimtalk_in_kst(fake_iwinv: FakeIwinv, api: Api, clock: ManualClock) -> None:
    at = START + timedelta(minutes=15)
    # the process-local (UTC) rendering of a future time is 9 h in the past for Seoul
    utc_text = at.strftime("%Y-%m-%d %H:%M:%S")
    for send_date, code in (
        (kst_text(START - timedelta(seconds=1)), 507),
        (kst_text(START), 507),
        (kst_text(START + timedelta(minutes=14, seconds=59)), 507),
        (kst_text(START + timedelta(days=2, seconds=1)), 507),
        (utc_text, 507),
        ("2026-01-05T12:15:00", 506),
        (None, 506),
    ):
        body = alimtalk_body(reserve="Y", sendDate=send_date)
        assert code_of(api.alimtalk("/api/v2/send/", body)) == code, send_date
    api.send(alimtalk_body("01011112222", reserve="Y", sendDate=kst_text(START + timedelta(2))))

    api.send(alimtalk_body(reserve="Y", sendDate=kst_text(at)))
    sent = {"seqNo": api.seq()}
    (_, entry) = fake_iwinv.accepted_messages()
    assert (entry["reserve"], entry["sendDate"]) == ("Y", "2026-01-05 12:15:00")
    item = api.history(seqNo=sent["seqNo"], reserve="Y")["list"][0]
    assert (item["reserve"], item["statusCodeName"], item["sendDate"]) == ("Y", "예약 대기", "")
    assert api.history(seqNo=sent["seqNo"], reserve="N")["totalCount"] == 0
    clock.advance(900)
    assert api.history(seqNo=sent["seqNo"])["list"][0]["statusCodeName"] == "발송 대기"
    clock.advance(fake_iwinv.progress_after)
    done = api.history(seqNo=sent["seqNo"])["list"][0]
    assert (done["statusCode"], done["sendDate"]) == ("OK", "2026-01-05 12:15:02")
    # a sendDate without reserve=Y is ignored: an immediate send
    api.send(alimtalk_body(sendDate="2030-01-01 00:00:00"))
    assert fake_iwinv.accepted_messages()[-1]["sendDate"] is None


def test_kakao_non_user_without_and_with_resend(
    fake_iwinv: FakeIwinv, api: Api, clock: ManualClock
) -> None:
    fake_iwinv.kakao_non_users = {"01077770000", "01077770001", "01077770002"}
    api.send(alimtalk_body("01077770000"))
    plain = {"seqNo": api.seq("01077770000")}
    api.send(alimtalk_body("01077770001", reSend="Y", resendCallback=SENDER))
    native = {"seqNo": api.seq("01077770001")}
    custom_body = alimtalk_body(
        "01077770002",
        reSend="Y",
        resendCallback=SENDER,
        resendType="N",
        resendTitle="안내",
        resendContent="카카오톡 대신 문자로 보냅니다",
    )
    api.send(custom_body)
    custom = {"seqNo": api.seq("01077770002")}
    assert fake_iwinv.resend_messages() == []  # nothing failed yet
    assert len(fake_iwinv.resend_messages(include_planned=True)) == 2
    entries = fake_iwinv.accepted_messages()
    assert [e["reSend"] for e in entries] == ["N", "Y", "Y"]
    assert entries[2]["resendContent"] == "카카오톡 대신 문자로 보냅니다"
    clock.advance(fake_iwinv.progress_after)

    failed = api.history(seqNo=plain["seqNo"])["list"][0]
    combined = f"{failed['statusCode']} {failed['statusCodeName']}"
    assert "카카오" in combined and "미사용" in combined
    assert failed["sendDate"] == "2026-01-05 12:00:02" and failed["receiveDate"] == ""
    assert (failed["resendStatus"], failed["resendStatusName"]) == ("", "")

    resent = api.history(seqNo=native["seqNo"])["list"][0]
    assert resent["statusCode"] == failed["statusCode"]  # the AlimTalk itself failed
    assert resent["callback"] == SENDER
    assert (resent["resendStatus"], resent["resendStatusName"]) == ("OK", "SMS 대체발송 성공")
    assert api.history(seqNo=custom["seqNo"])["list"][0]["resendStatusName"] == "LMS 대체발송 성공"

    first, second = fake_iwinv.resend_messages()
    assert first == {
        "channel": "sms",
        "kind": "resend",
        "seqNo": native["seqNo"],
        "phone": "01077770001",
        "from": SENDER,
        "msgType": "SMS",
        "title": None,
        "text": "홍길동님 가입을 환영합니다. 인증번호 1234",
        "at": START.timestamp() + fake_iwinv.progress_after,
    }
    assert (second["msgType"], second["title"], second["text"]) == (
        "LMS",
        "안내",
        "카카오톡 대신 문자로 보냅니다",
    )
    # a delivered AlimTalk with reSend=Y is not re-sent
    api.send(alimtalk_body(reSend="Y", resendCallback=SENDER))
    clock.advance(10)
    assert len(fake_iwinv.resend_messages()) == 2


def test_final_outcomes(fake_iwinv: FakeIwinv, api: Api, clock: ManualClock) -> None:
    fake_iwinv.final_outcomes = {
        "01011110000": "failed",
        "01011110001": "pending",
        "01011110002": ("E999", "알 수 없는 오류"),
        "01011110003": "failed",
    }
    for i in range(3):
        api.send(alimtalk_body(f"0101111000{i}"))
    seqs = [api.seq(f"0101111000{i}") for i in range(3)]
    request = api.sms_send(sms_body(["01011110003", PHONE]))["requestNo"]
    lms = {**sms_body(["01011110003"]), "msgType": "LMS", "title": "안내"}
    lms_request = api.sms_send(lms)["requestNo"]
    clock.advance(100)
    codes = [api.history(seqNo=s)["list"][0]["statusCode"] for s in seqs]
    assert codes == ["FAIL", "WAIT", "E999"]
    listed = {i["phone"]: i for i in api.sms_history(requestNo=request)["list"]}
    assert (listed["01011110003"]["sendStatusCode"], listed[PHONE]["sendStatusCode"]) == (
        "07",
        "06",
    )
    assert listed["01011110003"]["sendStatusMsg"] == "비가입자, 결번, 서비스정지"
    (failed_lms,) = api.sms_history(requestNo=lms_request)["list"]
    assert failed_lms["sendStatusCode"] == "2001"


def test_templates_api(fake_iwinv: FakeIwinv, api: Api) -> None:
    listed = api.ok(api.alimtalk("/api/template/", {"pageNum": "1", "pageSize": "15"}))
    (welcome,) = listed["list"]
    assert (welcome["templateCode"], welcome["status"]) == ("WELCOME", "Y")
    assert welcome["templateContent"] == "#{name}님 가입을 환영합니다. 인증번호 #{code}"
    added = api.ok(
        api.alimtalk(
            "/api/template/add/", {"templateName": "주문", "templateContent": "#{order} 접수"}
        )
    )
    code = added["templateCode"]
    got = api.ok(api.alimtalk("/api/template/", {"templateCode": code}))["list"][0]
    assert (got["status"], got["templateName"]) == ("I", "주문")
    send = {
        "templateCode": code,
        "reserve": "N",
        "list": [{"phone": PHONE, "templateParam": ["1"]}],
    }
    assert code_of(api.alimtalk("/api/v2/send/", send)) == 501  # not approved yet
    fake_iwinv.approve_template(code)
    api.send(send)
    modify = {"templateCode": code, "templateContent": "#{order} 주문 접수"}
    api.ok(api.alimtalk("/api/template/modify/", modify))
    assert fake_iwinv.templates[code] == "#{order} 주문 접수"
    api.ok(api.alimtalk("/api/template/delete/", {"templateCode": code}))
    assert code_of(api.alimtalk("/api/template/delete/", {"templateCode": code})) == 501
    assert code_of(api.alimtalk("/api/template/add/", {"templateName": "x"})) == 502


# --------------------------------------------------------------------------- SMS


@pytest.mark.rule("IWINV-SMS-REPLY", "IWINV-SMS-HIST", "IWINV-SMS-HIST-REPLY", "IWINV-SMS-AUTH")
def test_sms_batch_of_three_shares_one_request_no(
    fake_iwinv: FakeIwinv, api: Api, clock: ManualClock
) -> None:
    phones = ["01011112222", "01011113333", "01011114444"]
    sent = api.sms_send(sms_body(phones))
    assert set(sent) == {"resultCode", "message", "requestNo", "msgType"}
    assert (sent["message"], sent["msgType"]) == ("전송 성공", "SMS")
    assert isinstance(sent["requestNo"], str)
    entries = fake_iwinv.accepted_messages()
    assert [(e["channel"], e["phone"], e["requestNo"]) for e in entries] == [
        ("sms", p, sent["requestNo"]) for p in phones
    ]
    assert entries[0]["from"] == SENDER and entries[0]["text"] == "안녕하세요"

    window = {"startDate": "2026-01-04", "endDate": "2026-01-05"}
    pending = api.sms_history(requestNo=sent["requestNo"], pageNum=1, pageSize=15, **window)
    assert pending["totalCount"] == 3
    assert {i["sendStatusCode"] for i in pending["list"]} == {"0"}
    clock.advance(fake_iwinv.progress_after)
    one = api.sms_history(requestNo=sent["requestNo"], phone="01011113333")
    assert one["totalCount"] == 1
    (item,) = one["list"]
    assert set(item) >= {  # IWINV-SMS-HIST-REPLY
        "requestNo",
        "companyid",
        "msgType",
        "phone",
        "callback",
        "sendStatusCode",
        "sendStatusMsg",
        "sendDate",
    }
    assert (item["sendStatusCode"], item["sendStatusMsg"]) == ("06", "전송 성공")
    assert item["sendDate"] == "2026-01-05 12:00:02"
    assert api.sms_history(requestNo="123")["totalCount"] == 0
    wrong_company = api.sms("/api/history/", {"companyid": "other", "requestNo": "1"})
    assert code_of(wrong_company, "resultCode") == 14
    too_long = {"companyid": fake_iwinv.sms_company_id, "startDate": "2025-01-01"}
    too_long["endDate"] = "2026-01-05"
    assert code_of(api.sms("/api/history/", too_long), "resultCode") == 43


@pytest.mark.rule("IWINV-SMS-HIST-PAGE")
def test_sms_history_ignores_page_size(fake_iwinv: FakeIwinv, api: Api) -> None:
    phones = [f"0101111{i:04d}" for i in range(20)]
    request = api.sms_send(sms_body(phones))["requestNo"]
    first = api.sms_history(requestNo=request, pageNum=1, pageSize=1000)
    assert (first["totalCount"], len(first["list"])) == (20, 15)
    second = api.sms_history(requestNo=request, pageNum=2, pageSize=5)
    assert len(second["list"]) == 5
    seen = {i["phone"] for i in first["list"] + second["list"]}
    assert seen == set(phones)


@pytest.mark.rule("IWINV-SMS-BATCH")
def test_sms_recipient_limit(fake_iwinv: FakeIwinv, api: Api) -> None:
    phones = [f"010{i:08d}" for i in range(1001)]
    response = api.sms("/api/v2/send/", sms_body(phones))
    assert code_of(response, "resultCode") == 44
    assert "최대 1000건" in response.json()["message"]
    assert fake_iwinv.accepted_messages() == []
    api.sms_send(sms_body(phones[:1000]))
    assert len({m["requestNo"] for m in fake_iwinv.accepted_messages()}) == 1
    assert len(fake_iwinv.accepted_messages()) == 1000


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (sms_body(text="가" * 45), 0),  # exactly 90 CP949 bytes
        (sms_body(text="가" * 45 + "a"), 21),
        (sms_body(text="😀" * 45), 0),  # outside CP949: 2 bytes each
        ({**sms_body(text="가" * 1000), "msgType": "LMS", "title": "제목"}, 0),
        ({**sms_body(text="가" * 1000 + "a"), "msgType": "LMS"}, 21),
        ({**sms_body(text="x"), "typeCode": "LMS", "msgType": None, "title": "가" * 20}, 0),
        ({**sms_body(text="x"), "msgType": "LMS", "title": "가" * 20 + "a"}, 23),
        ({**sms_body(text="x"), "msgType": "LMS", "title": "제목😀"}, 22),
        ({**sms_body(text="x"), "msgType": "LMS", "title": "공지: 점검"}, 22),
        ({**sms_body(text="x"), "msgType": "LMS", "title": "Sale!"}, 22),
        ({**sms_body(text="x"), "msgType": "LMS", "title": "[공지] (v2) <안내> 1"}, 0),
        ({**sms_body(), "msgType": "GSMS"}, 0),
        ({**sms_body(), "msgType": "FAX"}, 1),
        ({**sms_body(), "msgType": "MMS"}, 33),
        ({**sms_body(), "from": "01099999999"}, 13),
        ({**sms_body(), "from": None}, 13),
        (sms_body(to=[]), 41),
        (sms_body(to=["010-1111-2222"]), 41),
        (sms_body(text="  "), 1),
        ({**sms_body(), "date": "2026-01-05 12:00:00"}, 42),  # now in KST is not the future
        ({**sms_body(), "date": "2026-01-05 03:30:00"}, 42),  # a UTC rendering: 9 h ago
        ({**sms_body(), "date": "2026-01-05 12:14:59"}, 42),  # under 15 minutes ahead
        ({**sms_body(), "date": "2026-01-05T12:30:00+09:00"}, 43),
        ({**sms_body(), "date": "2026-01-05 12:15:00"}, 0),
        ({**sms_body(), "date": "2026-02-05 11:59:59"}, 0),  # just under a month
        ({**sms_body(), "date": "2026-02-05 12:00:00"}, 42),  # a calendar month ahead
    ],
)
@pytest.mark.rule(
    "IWINV-SMS-CODES", "IWINV-SMS-TITLE", "IWINV-SMS-WINDOW", "IWINV-SMS-LEN", "IWINV-SMS-DATE"
)
def test_sms_validation(api: Api, body: dict[str, Any], code: int) -> None:
    assert code_of(api.sms("/api/v2/send/", body), "resultCode") == code


def test_sms_auto_type_and_reserved_history(
    fake_iwinv: FakeIwinv, api: Api, clock: ManualClock
) -> None:
    lms = {"version": "1.0", "from": SENDER, "to": PHONE, "text": "본문", "title": "제목"}
    assert api.sms_send(lms)["msgType"] == "LMS"  # a client may send no msgType for LMS
    auto = {"version": "1.0", "from": SENDER, "to": [PHONE], "text": "가" * 46}
    assert api.sms_send(auto)["msgType"] == "LMS"
    reserved = api.sms_send(sms_body(date="2026-01-05 13:00:00"))["requestNo"]
    assert fake_iwinv.accepted_messages()[-1]["date"] == "2026-01-05 13:00:00"
    item = api.sms_history(requestNo=reserved)["list"][0]
    assert (item["sendStatusCode"], item["sendStatusMsg"]) == ("WAIT", "예약 대기")
    clock.advance(3600 + fake_iwinv.progress_after)
    item = api.sms_history(requestNo=reserved)["list"][0]
    assert (item["sendStatusCode"], item["sendDate"]) == ("06", "2026-01-05 13:00:02")


@pytest.mark.rule("IWINV-MMS-IMAGE", "IWINV-MMS-FORM")
def test_mms_multipart_and_image_limit(fake_iwinv: FakeIwinv, api: Api) -> None:
    fields = {"version": "1.0", "from": SENDER, "to": PHONE, "title": "사진", "text": "보세요"}
    under = JPEG + b"\x00" * (100 * 1024 - 1 - len(JPEG))
    sent = api.ok(api.mms(fields, ("photo.jpg", under, "image/jpeg")), "resultCode", 0)
    assert sent["msgType"] == "MMS"
    (entry,) = fake_iwinv.accepted_messages()
    assert entry["image"]["size"] == 100 * 1024 - 1
    assert entry["image"]["data"] == under  # binary survives the multipart parser
    assert (entry["title"], entry["text"]) == ("사진", "보세요")
    logged = fake_iwinv.requests[-1]["body"]
    assert logged["files"]["image"][0] == {
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": 100 * 1024 - 1,
    }

    at_limit = api.mms(fields, ("photo.jpg", under + b"\x00", "image/jpeg"))
    assert code_of(at_limit, "resultCode") == 31  # 102,400 bytes: not under 100 KB
    assert code_of(api.mms(fields, ("photo.png", JPEG, "image/png")), "resultCode") == 32
    assert code_of(api.mms(fields, ("photo.jpeg", JPEG, "image/jpeg")), "resultCode") == 32
    assert code_of(api.mms(fields, ("photo", JPEG, "image/jpeg")), "resultCode") == 32
    assert code_of(api.mms(fields, ("gif.jpg", b"GIF89a" + JPEG, "image/jpeg")), "resultCode") == 32
    assert code_of(api.mms(fields, ("a.jpg", JPEG, "image/jpeg"), part="file"), "resultCode") == 33
    assert code_of(api.mms(fields, ("a.jpg", b"", "image/jpeg")), "resultCode") == 33
    assert code_of(api.mms(fields, None), "resultCode") == 1  # urlencoded, not multipart
    fake_iwinv.mms_extensions.add("jpeg")
    api.ok(api.mms(fields, ("photo.jpeg", JPEG, "image/jpeg")), "resultCode", 0)
    two = {**fields, "to": ["01011112222", "01011113333"]}
    api.ok(api.mms(two, ("a.jpg", JPEG, "image/jpeg")), "resultCode", 0)
    assert len(fake_iwinv.accepted_messages()) == 4


# --------------------------------------------------------------------------- charge


@pytest.mark.rule("IWINV-SMS-CHARGE", "IWINV-AT-CHARGE")
def test_charge_on_both_hosts(fake_iwinv: FakeIwinv, api: Api, http: httpx.Client) -> None:
    by_get = http.get(
        fake_iwinv.alimtalk_base_url + "/api/charge/", headers=alimtalk_headers(fake_iwinv)
    )
    assert api.ok(by_get)["charge"] == 100000
    fake_iwinv.alimtalk_charge_methods = {"POST"}
    assert http.get(fake_iwinv.alimtalk_base_url + "/api/charge/").status_code == 405
    alimtalk = api.ok(api.alimtalk("/api/charge/", {}))
    assert set(alimtalk) == {"code", "message", "charge"}
    assert alimtalk["charge"] == 100000
    sms = api.ok(api.sms("/api/charge/", {"version": "1.0"}), "code", 0)
    assert set(sms) == {"code", "message", "charge"}
    api.send(alimtalk_body())
    api.sms_send(sms_body(["01011112222", "01011113333"]))
    after = api.ok(api.alimtalk("/api/charge/"))["charge"]
    assert after < 100000
    assert api.ok(api.sms("/api/charge/"), "code", 0)["charge"] == after

    fake_iwinv.balance = 1
    assert code_of(api.alimtalk("/api/v2/send/", alimtalk_body())) == 519
    assert code_of(api.sms("/api/v2/send/", sms_body()), "resultCode") == 50
    assert len(fake_iwinv.accepted_messages()) == 3
    fake_iwinv.balance = 12.5
    assert api.ok(api.alimtalk("/api/charge/"))["charge"] == 12.5


# --------------------------------------------------------------------------- answers


def test_bare_number_and_error_status_switches(fake_iwinv: FakeIwinv, api: Api) -> None:
    fake_iwinv.bare_number = True
    for response, text in (
        (api.alimtalk("/api/v2/send/", {**alimtalk_body(), "templateCode": "NOPE"}), "501"),
        (api.alimtalk("/api/charge/", headers={}), "201"),
        (api.sms("/api/v2/send/", sms_body(), headers={}), "14"),
        (api.sms("/api/charge/", headers={}), "14"),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.text == text
    api.send(alimtalk_body())  # success stays JSON
    fake_iwinv.bare_number = False
    fake_iwinv.error_http_status = 400
    response = api.alimtalk("/api/v2/send/", alimtalk_body(params=[]))
    assert (response.status_code, response.json()["code"]) == (400, 508)


def test_routing_malformed_bodies_and_host_header(
    fake_iwinv: FakeIwinv, api: Api, http: httpx.Client
) -> None:
    base = fake_iwinv.base_url
    bad_json = {**alimtalk_headers(fake_iwinv)}
    response = http.post(f"{base}/alimtalk/api/v2/send/", content=b"{nope", headers=bad_json)
    assert code_of(response) == 502
    assert fake_iwinv.requests[-1]["body"] == "{nope"
    response = http.post(f"{base}/sms/api/v2/send/", content=b"[]", headers=sms_headers(fake_iwinv))
    assert code_of(response, "resultCode") == 1

    missing = http.post(f"{base}/alimtalk/api/nothing/", json={})
    assert (missing.status_code, missing.headers["content-type"]) == (
        404,
        "text/html; charset=utf-8",
    )
    assert http.post(f"{base}/api/v2/send/", json={}).status_code == 404
    assert http.post(f"{base}/sms/api/template/", json={}).status_code == 404
    assert http.get(f"{base}/sms/api/charge/").status_code == 405

    # no trailing slash, and routing by the real host name instead of a prefix
    api.ok(http.post(f"{base}/alimtalk/api/charge", json={}, headers=alimtalk_headers(fake_iwinv)))
    by_host = {**alimtalk_headers(fake_iwinv), "Host": "alimtalk.bizservice.iwinv.kr"}
    api.ok(http.post(f"{base}/api/v2/send/", json=alimtalk_body(), headers=by_host))
    sms_host = {**sms_headers(fake_iwinv), "Host": "sms.bizservice.iwinv.kr"}
    api.ok(http.post(f"{base}/api/v2/send/", json=sms_body(), headers=sms_host), "resultCode", 0)
    assert [r["canonical"] for r in fake_iwinv.requests[-3:]] == [
        "/alimtalk/api/charge/",
        "/alimtalk/api/v2/send/",
        "/sms/api/v2/send/",
    ]
    record = fake_iwinv.requests[-1]
    assert (record["channel"], record["endpoint"], record["status"]) == (
        "sms",
        "/api/v2/send/",
        200,
    )
    assert record["headers"]["secret"] == sms_headers(fake_iwinv)["secret"]
    assert record["response"]["resultCode"] == 0


# --------------------------------------------------------------------------- faults (IWINV)


def test_a_blind_retry_after_a_lost_answer_sends_again(fake_iwinv: FakeIwinv, api: Api) -> None:
    """IWINV has no idempotency key: what was accepted before the reset is accepted twice."""
    fake_iwinv.script = ["reset_after_accept", "reset_after_accept"]
    with pytest.raises(httpx.NetworkError):
        api.alimtalk("/api/v2/send/", alimtalk_body())
    with pytest.raises(httpx.NetworkError):
        api.sms("/api/v2/send/", sms_body(["01022223333"]))
    alim, sms = fake_iwinv.accepted_messages()
    assert (alim["channel"], alim["phone"]) == ("alimtalk", PHONE)
    assert (sms["channel"], sms["phone"]) == ("sms", "01022223333")
    first, second = fake_iwinv.requests
    assert (first["status"], first["response"]["success"]) == (None, 1)
    assert second["response"]["requestNo"] == sms["requestNo"]
    api.send(alimtalk_body())
    assert [m["phone"] for m in fake_iwinv.accepted_messages()] == [PHONE, "01022223333", PHONE]


def test_only_posts_to_known_paths_draw_faults(fake_iwinv: FakeIwinv, api: Api) -> None:
    fake_iwinv.script = ["500"]
    assert api.http.get(fake_iwinv.alimtalk_base_url + "/api/v2/send/").status_code == 405
    assert api.http.post(fake_iwinv.base_url + "/nowhere/", json={}).status_code == 404
    assert fake_iwinv.script == ["500"]
    assert [r["status"] for r in fake_iwinv.requests] == [405, 404]
    fake_iwinv.fault_paths = {"/sms/api/history/"}  # canonical paths name the host
    body = {"version": "1.0", "companyid": fake_iwinv.sms_company_id}
    assert api.sms("/api/history", body).status_code == 500  # without the trailing slash too
    assert fake_iwinv.requests[-1]["canonical"] == "/sms/api/history/"
