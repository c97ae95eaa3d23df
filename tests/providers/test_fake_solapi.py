"""The fake SOLAPI server, proven with raw httpx requests against 127.0.0.1 only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakes import fixtures
from tests.fakes.fixtures import solapi_headers, solapi_signer
from tests.fakes.solapi import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_PF_ID,
    ApiError,
    FakeSolapi,
    ManualClock,
    check_signature,
    compute_signature,
    cp949_len,
)

fake_solapi = fixtures.fake_solapi  # make the shared fixture visible in this module

START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
SENDER = "01000000000"
VECTOR = "f6d7b9b3537225755930068e597fc792dd233f569053fb0399779e6b9b94ebaf"
MESSAGE_ID = r"M4V\d{14}[A-Z0-9]{18}"
GROUP_ID = r"G4V\d{14}[A-Z0-9]{18}"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GROUP_KEYS = {
    "count",
    "countForCharge",
    "balance",
    "point",
    "app",
    "log",
    "status",
    "allowDuplicates",
    "isRefunded",
    "accountId",
    "masterAccountId",
    "apiVersion",
    "groupId",
    "price",
    "dateCreated",
    "dateUpdated",
    "scheduledDate",
    "dateSent",
    "dateCompleted",
}
COUNT_KEYS = {
    "total",
    "sentTotal",
    "sentFailed",
    "sentSuccess",
    "sentPending",
    "sentReplacement",
    "refund",
    "registeredFailed",
    "registeredSuccess",
}
STORED_KEYS = {
    "messageId",
    "_id",
    "groupId",
    "type",
    "to",
    "from",
    "text",
    "subject",
    "imageId",
    "country",
    "accountId",
    "status",
    "statusCode",
    "reason",
    "networkName",
    "networkCode",
    "customFields",
    "replacement",
    "dateCreated",
    "dateUpdated",
    "dateProcessed",
    "dateReceived",
    "dateReported",
    "clusterKey",
    "kakaoOptions",
}


def sms(to: str = "01012345678", text: str = "안녕하세요", **extra: Any) -> dict[str, Any]:
    return {"to": to, "from": SENDER, "type": "SMS", "text": text, **extra}


def ata(
    to: str = "01012345678",
    variables: Any = None,
    disable_sms: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    options = {
        "pfId": DEFAULT_PF_ID,
        "templateId": "TPL_WELCOME",
        "variables": {"#{name}": "홍길동", "#{code}": "1234"} if variables is None else variables,
        "disableSms": disable_sms,
    }
    return {"to": to, "type": "ATA", "kakaoOptions": options, **extra}


def iso(moment: datetime) -> str:
    return moment.isoformat()


class Api:
    """Signed raw requests to the fake."""

    def __init__(self, fake: FakeSolapi, http: httpx.Client) -> None:
        self.fake = fake
        self.http = http

    def __call__(
        self, method: str, path: str, *, json: Any = None, params: Any = None, **kw: Any
    ) -> httpx.Response:
        headers = solapi_headers(self.fake)
        return self.http.request(method, path, json=json, params=params, headers=headers, **kw)

    def send(self, messages: list[dict[str, Any]], **extra: Any) -> httpx.Response:
        body = {"messages": messages, "showMessageList": True, **extra}
        return self("POST", "/messages/v4/send-many/detail", json=body)

    def sent(self, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        response = self.send(messages, **extra)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def listing(self, params: Any) -> dict[str, Any]:
        response = self("GET", "/messages/v4/list", params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def stored(self, message_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.listing({"messageId": message_id})["messageList"][message_id]
        return found


@pytest.fixture
def clock(fake_solapi: FakeSolapi) -> ManualClock:
    manual = ManualClock(START.timestamp())
    fake_solapi.clock = manual
    return manual


@pytest.fixture
def http(fake_solapi: FakeSolapi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_solapi.base_url, timeout=5.0, trust_env=False) as client:
        yield client


@pytest.fixture
def api(fake_solapi: FakeSolapi, http: httpx.Client, clock: ManualClock) -> Api:
    return Api(fake_solapi, http)


# --------------------------------------------------------------------------- authentication


def test_reference_vector_through_the_fakes_verification(fake_solapi: FakeSolapi) -> None:
    date, salt = "2024-01-01T00:00:00Z", "abcdefghijklmnopqrstuvwxyz012345"
    assert compute_signature("test-secret", date, salt) == VECTOR
    assert check_signature("test-secret", date, salt, VECTOR)
    assert not check_signature("test-secret", date, salt, VECTOR.upper())
    assert not check_signature("other-secret", date, salt, VECTOR)

    fake_solapi.credentials = {"vector-key": "test-secret"}
    fake_solapi.clock = ManualClock(datetime(2024, 1, 1, 0, 10, tzinfo=UTC).timestamp())
    header = solapi_signer("vector-key", "test-secret", date=date, salt=salt)
    assert header == (
        f"HMAC-SHA256 apiKey=vector-key, date={date}, salt={salt}, signature={VECTOR}"
    )
    assert fake_solapi.authenticate(header) == "vector-key"
    with pytest.raises(ApiError) as reused:
        fake_solapi.authenticate(header)
    assert (reused.value.status, reused.value.code) == (403, "DuplicatedSignature")


@pytest.mark.parametrize("python_sdk_style", [False, True])
def test_both_sdk_spellings_are_accepted(
    api: Api, http: httpx.Client, clock: ManualClock, python_sdk_style: bool
) -> None:
    header = solapi_signer(
        DEFAULT_API_KEY, DEFAULT_API_SECRET, clock=clock, python_sdk_style=python_sdk_style
    )
    assert ("ApiKey=" in header) is python_sdk_style
    response = http.get("/cash/v1/balance", headers={"Authorization": header})
    assert response.status_code == 200, response.text


@pytest.mark.rule(
    "SOLAPI-AUTH-HEADER",
    "SOLAPI-AUTH-SIG",
    "SOLAPI-AUTH-DATE",
    "SOLAPI-AUTH-SALT",
    "SOLAPI-AUTH-REPLAY",
    "SOLAPI-AUTH-ERRORS",
)
def test_authentication_errors(api: Api, http: httpx.Client, clock: ManualClock) -> None:
    now = datetime.fromtimestamp(clock(), UTC)

    def status_of(header: str | None) -> tuple[int, str | None]:
        headers = {} if header is None else {"Authorization": header}
        response = http.get("/cash/v1/balance", headers=headers)
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        body = response.json()
        if response.status_code == 200:
            return 200, None
        assert set(body) == {"errorCode", "errorMessage"}
        return response.status_code, body["errorCode"]

    def signed(key: str = DEFAULT_API_KEY, secret: str = DEFAULT_API_SECRET, **kw: Any) -> str:
        return solapi_signer(key, secret, **kw)

    assert status_of(signed("UNKNOWNKEY", date=iso(now))) == (403, "InvalidAPIKey")
    for off in (timedelta(minutes=-16), timedelta(minutes=16)):
        assert status_of(signed(date=iso(now + off))) == (403, "RequestTimeTooSkewed")
    assert status_of(signed(date="2026-01-05T03:00:00")) == (403, "RequestTimeTooSkewed")
    assert status_of(signed(date="yesterday")) == (403, "RequestTimeTooSkewed")
    assert status_of(signed(date=iso(now - timedelta(minutes=14)))) == (200, None)
    assert status_of(signed(secret="wrong", date=iso(now))) == (403, "SignatureDoesNotMatch")

    once = signed(date=iso(now))
    assert status_of(once) == (200, None)
    assert status_of(once) == (403, "DuplicatedSignature")

    assert status_of(None) == (403, "InvalidAuthorizationHeader")
    assert status_of("Bearer abc") == (403, "InvalidAuthorizationHeader")
    # HMAC-MD5 is a method too, with an MD5 signature
    md5 = signed(date=iso(now)).replace("HMAC-SHA256", "HMAC-MD5")
    assert status_of(md5) == (403, "SignatureDoesNotMatch")
    salt = "m" * 20
    digest = hmac.new(DEFAULT_API_SECRET.encode(), f"{iso(now)}{salt}".encode(), hashlib.md5)
    good_md5 = (
        f"HMAC-MD5 apiKey={DEFAULT_API_KEY}, date={iso(now)}, salt={salt}, "
        f"signature={digest.hexdigest()}"
    )
    assert status_of(good_md5) == (200, None)
    assert status_of(good_md5.replace("HMAC-MD5", "HMAC-SHA1")) == (
        403,
        "InvalidAuthorizationHeader",
    )
    assert status_of(signed(date=iso(now), salt="short")) == (403, "InvalidAuthorizationHeader")
    assert status_of(signed(date=iso(now), salt="x" * 65)) == (403, "InvalidAuthorizationHeader")


# --------------------------------------------------------------------------- registration


@pytest.mark.rule("SOLAPI-SEND-REPLY", "SOLAPI-SMS-LEN")
def test_mixed_batch_reports_rejections_and_counts(api: Api, fake_solapi: FakeSolapi) -> None:
    messages = [
        sms("010-1111-0000", "가" * 45, customFields={"orderId": "A-1"}),  # exactly 90 bytes
        sms("01011110001", "hi", **{"from": "0299998888"}),  # 1062
        sms("01011110002", "가" * 46),  # 92 bytes: 1031
        ata("01011110003", variables={"#{name}": "홍길동"}),  # #{code} missing: 1043
        ata("01011110004", customFields={"orderId": "A-5", "n": "5"}),
        {"to": "01011110005", "from": SENDER, "type": "LMS", "subject": "제목", "text": "긴" * 300},
    ]
    result = api.sent(messages)
    failed = {item["to"]: item for item in result["failedMessageList"]}
    assert {to: item["statusCode"] for to, item in failed.items()} == {
        "01011110001": "1062",
        "01011110002": "1031",
        "01011110003": "1043",
    }
    for item in failed.values():
        assert set(item) == {
            "to",
            "from",
            "type",
            "statusMessage",
            "country",
            "messageId",
            "statusCode",
            "accountId",
            "customFields",
        }
        assert item["country"] == "82"

    info = result["groupInfo"]
    assert set(info) == GROUP_KEYS
    assert set(info["count"]) == COUNT_KEYS
    assert info["count"]["total"] == 6
    assert info["count"]["registeredSuccess"] == 3
    assert info["count"]["registeredFailed"] == 3
    assert info["count"]["sentPending"] == 3
    assert info["status"] == "SENDING"
    assert info["apiVersion"] == "4"
    assert info["app"] == {"profit": {}, "appId": None}
    assert info["masterAccountId"] is None
    assert info["balance"]["requested"] == 18 + 13 + 45
    assert info["countForCharge"]["sms"] == {"82": 1}
    assert re.fullmatch(GROUP_ID, info["groupId"])

    accepted = result["messageList"]
    assert [m["to"] for m in accepted] == ["01011110000", "01011110004", "01011110005"]
    assert [m["type"] for m in accepted] == ["SMS", "ATA", "LMS"]
    assert accepted[0]["customFields"] == {"orderId": "A-1"}
    assert accepted[1]["customFields"] == {"orderId": "A-5", "n": "5"}
    for item in accepted:
        assert re.fullmatch(MESSAGE_ID, item["messageId"])
        assert item["statusCode"] == "2000"

    stored = fake_solapi.accepted_messages()
    assert [m["messageId"] for m in stored] == [m["messageId"] for m in accepted]
    assert stored[0]["customFields"] == {"orderId": "A-1"}
    assert fake_solapi.balance == 100000 - (18 + 13 + 45)
    balance = api("GET", "/cash/v1/balance").json()
    assert balance["balance"] == 100000 - (18 + 13 + 45)


@pytest.mark.rule("SOLAPI-SEND-ALLFAIL")
def test_all_rejected_is_still_200(api: Api, fake_solapi: FakeSolapi) -> None:
    bad = {"from": "0299998888"}
    result = api.sent([sms("01011110001", **bad), sms("01011110002", **bad)])
    assert result["groupInfo"]["count"]["total"] == 2
    assert result["groupInfo"]["count"]["registeredFailed"] == 2
    assert result["groupInfo"]["status"] == "FAILED"
    assert [m["statusCode"] for m in result["failedMessageList"]] == ["1062", "1062"]
    assert result["messageList"] == []
    assert fake_solapi.accepted_messages() == []
    assert fake_solapi.balance == 100000


REGISTRATION_CASES: list[tuple[str, dict[str, Any]]] = [
    ("1010", {"from": SENDER, "type": "SMS", "text": "hi"}),
    ("1010", {"to": "01012345678", "from": SENDER, "text": "hi"}),
    ("1010", {"to": "01012345678", "from": SENDER, "type": "SMS"}),
    ("1010", {"to": "01012345678", "type": "SMS", "text": "hi"}),
    ("1011", sms("010-1234-567a")),
    ("1011", sms("+821012345678")),
    ("1011", sms("010 1234 5678")),
    ("1011", sms("0101234")),
    ("1011", sms(**{"from": "02-12a"})),
    ("1013", sms(subject="제목")),
    ("1014", {**sms(), "type": "LMS", "subject": "가" * 21}),
    ("1025", {**sms(), "type": "TELEX"}),
    ("1031", {**sms(), "type": "LMS", "text": "가" * 1001}),
    ("1031", {**sms(), "type": "CTA", "text": "a" * 1001, "kakaoOptions": {"pfId": DEFAULT_PF_ID}}),
    ("1032", sms(customFields={"n": 1})),
    ("1032", sms(customFields={"kmsgId": "x" * 101})),  # SOLAPI-CF-LEN
    ("1032", sms(customFields={"k" * 31: "x"})),
    ("1043", ata(variables={"#{#{name}}": "홍길동", "#{code}": "1234"})),
    ("1033", sms(kakaoOptions={"pfId": DEFAULT_PF_ID})),
    ("1034", {**sms(), "type": "MMS"}),
    ("1023", {**sms(), "type": "MMS", "imageId": "ST01FZNOSUCHFILE"}),
    ("1041", {**ata(), "kakaoOptions": {"pfId": "KA01PFNOPE", "templateId": "TPL_WELCOME"}}),
    ("1042", {**ata(), "kakaoOptions": {"pfId": DEFAULT_PF_ID, "templateId": "NOPE"}}),
    ("1043", ata(variables={"name": "홍길동", "code": "1234"})),
    ("1043", ata(variables={"#{name}": "홍길동", "#{code}": 1234})),
    ("1062", sms(**{"from": "0311112222"})),
    ("1062", {**ata(), "from": "0311112222"}),
]


@pytest.mark.rule(
    "SOLAPI-ATA-LEN",
    "SOLAPI-STATUS-1XXX",
    "SOLAPI-CF-LEN",
    "SOLAPI-SMS-SUBJECT",
    "SOLAPI-SMS-LEN",
    "SOLAPI-SEND-PHONE",
    "SOLAPI-ATA-TEMPLATE",
    "SOLAPI-SMS-MMS",
    "SOLAPI-ATA-VARS",
)
@pytest.mark.parametrize(("code", "message"), REGISTRATION_CASES)
def test_registration_codes(api: Api, code: str, message: dict[str, Any]) -> None:
    result = api.sent([message])
    assert [m["statusCode"] for m in result["failedMessageList"]] == [code]


@pytest.mark.rule("SOLAPI-CF-LEN", "SOLAPI-CF-SHAPE")
def test_custom_fields_at_the_limits_are_stored_and_echoed(api: Api) -> None:
    fields = {"k" * 30: "v" * 100, "kmsgId": "m-1"}
    result = api.sent([sms(customFields=fields)])
    (accepted,) = result["messageList"]
    assert accepted["customFields"] == fields
    assert api.stored(accepted["messageId"])["customFields"] == fields


@pytest.mark.rule("SOLAPI-STATUS-TEST")
def test_test_mode_messages_keep_their_test_code(
    api: Api, fake_solapi: FakeSolapi, clock: ManualClock
) -> None:
    fake_solapi.test_mode = True
    (accepted,) = api.sent([sms()])["messageList"]
    clock.advance(3600)
    stored = api.stored(accepted["messageId"])
    assert (stored["statusCode"], stored["status"]) == ("TEST1000", "PENDING")


def test_blocked_duplicate_and_balance(api: Api, fake_solapi: FakeSolapi) -> None:
    fake_solapi.blocked = {"010-9999-0000"}
    assert api.sent([sms("01099990000")])["failedMessageList"][0]["statusCode"] == "1060"

    twice = [sms("01012340000"), sms("010-1234-0000")]
    result = api.sent(twice)
    assert [m["statusCode"] for m in result["failedMessageList"]] == ["1026"]
    assert len(api.sent(twice, allowDuplicates=True)["messageList"]) == 2

    fake_solapi.balance = 20
    result = api.sent([sms("01012340001"), sms("01012340002")])
    assert [m["to"] for m in result["messageList"]] == ["01012340001"]
    assert [m["statusCode"] for m in result["failedMessageList"]] == ["1030"]
    assert fake_solapi.balance == 2


@pytest.mark.rule("SOLAPI-SMS-AUTOTYPE", "SOLAPI-SMS-LEN")
def test_auto_type_detect_and_byte_counting(api: Api) -> None:
    assert cp949_len("가a") == 3
    assert cp949_len("😀") == 2
    result = api.sent(
        [
            {"to": "01012345670", "from": SENDER, "text": "짧은 문자", "autoTypeDetect": True},
            {"to": "01012345671", "from": SENDER, "text": "가" * 46, "autoTypeDetect": True},
            {**ata("01012345672"), "type": None, "autoTypeDetect": True},
        ]
    )
    assert [m["type"] for m in result["messageList"]] == ["SMS", "LMS", "ATA"]


def test_send_one_v5_shape(api: Api) -> None:
    response = api("POST", "/messages/v4/send", json={"message": sms("010-5555-1234")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "groupId",
        "messageId",
        "accountId",
        "statusMessage",
        "statusCode",
        "to",
        "from",
        "type",
        "country",
    }
    assert body["statusCode"] == "2000"
    assert body["to"] == "01055551234"
    assert api.stored(body["messageId"])["groupId"] == body["groupId"]

    rejected = api("POST", "/messages/v4/send", json={"message": sms(**{"from": "0311112222"})})
    assert rejected.status_code == 400
    assert rejected.json()["errorCode"] == "FailedToAddMessage"
    assert rejected.json()["statusCode"] == "1062"


@pytest.mark.rule("SOLAPI-ERR-VALIDATION", "SOLAPI-ERR-BODY")
@pytest.mark.rule("SOLAPI-SEND-BATCH", "SOLAPI-SEND-SIZE")
def test_one_request_takes_at_most_10000_messages(api: Api, fake_solapi: FakeSolapi) -> None:
    fake_solapi.balance = 10_000_000
    many = [sms(f"010{i:08d}") for i in range(10_001)]
    too_many = api.send(many)
    assert (too_many.status_code, too_many.json()["errorCode"]) == (400, "ValidationError")
    assert fake_solapi.all_messages() == []
    assert len(api.sent(many[:10_000])["messageList"]) == 10_000


def test_bad_requests_and_unknown_path(api: Api, http: httpx.Client) -> None:
    missing = http.get("/messages/v4/nothing")
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "NotFound"
    assert missing.headers["content-type"] == "application/json; charset=utf-8"
    assert api("GET", "/messages/v4/send").status_code == 404
    assert api("POST", "/messages/v4/send-many/detail", json={"messages": []}).status_code == 400
    garbled = api.http.post(
        "/messages/v4/send-many/detail",
        content=b"{not json",
        headers=solapi_headers(api.fake),
    )
    assert garbled.status_code == 400
    assert garbled.json()["errorCode"] == "ValidationError"


# --------------------------------------------------------------------------- progress


@pytest.mark.rule("SOLAPI-ATA-FROM", "SOLAPI-ATA-DISABLESMS", "SOLAPI-STATUS-KAKAO")
def test_status_progression_kakao_non_user_and_native_failover(
    api: Api, fake_solapi: FakeSolapi, clock: ManualClock
) -> None:
    fake_solapi.final_codes = {"010-0000-3043": "3043"}
    fake_solapi.kakao_non_users = {"01000003104", "01000004000", "01000004001"}
    failover_text = "홍길동님 가입을 환영합니다. 인증번호는 1234입니다."
    result = api.sent(
        [
            sms("01011112222"),
            sms("01000003043"),
            ata("01000003104", text=failover_text, disable_sms=True),
            ata("01000004000", text=failover_text, disable_sms=False, **{"from": SENDER}),
            ata("01000004001", text="긴" * 50, disable_sms=False, **{"from": SENDER}),
            # SOLAPI-ATA-FROM: the SMS replacement needs a sender
            ata("01000004002", text="긴" * 50, disable_sms=False),
        ]
    )
    ids = [m["messageId"] for m in result["messageList"]]
    assert len(ids) == 5
    (no_sender,) = result["failedMessageList"]
    assert (no_sender["to"], no_sender["statusCode"]) == ("01000004002", "1010")
    group_id = result["groupInfo"]["groupId"]
    failover_events = [e for e in fake_solapi.events if e["kind"] == "native_failover"]
    assert [(e["to"], e["toType"]) for e in failover_events] == [
        ("01000004000", "SMS"),
        ("01000004001", "LMS"),
    ]
    send_record = next(r for r in fake_solapi.requests if r["path"].endswith("/detail"))
    assert send_record["events"] == failover_events

    def snapshot() -> list[dict[str, Any]]:
        listing = api.listing([("messageIds", i) for i in ids])
        return [listing["messageList"][i] for i in ids]

    first = snapshot()
    assert {m["statusCode"] for m in first} == {"2000"}
    assert {m["status"] for m in first} == {"PENDING"}
    assert all(set(m) >= STORED_KEYS for m in first)
    assert all(m["dateProcessed"] is None and m["dateReported"] is None for m in first)

    clock.advance(1.9)
    assert {m["statusCode"] for m in snapshot()} == {"2000"}
    clock.advance(0.1)
    second = snapshot()
    assert {m["statusCode"] for m in second} == {"3000"}
    assert {m["status"] for m in second} == {"SENDING"}
    assert all(m["dateProcessed"] is not None and m["dateReceived"] is None for m in second)

    clock.advance(3)
    final = snapshot()
    assert [m["statusCode"] for m in final] == ["4000", "3043", "3104", "4000", "4000"]
    assert {m["status"] for m in final} == {"COMPLETE"}
    assert [m["type"] for m in final] == ["SMS", "SMS", "ATA", "SMS", "LMS"]
    assert [m["replacement"] for m in final] == [False, False, False, True, True]
    assert final[0]["dateReceived"] is not None and final[0]["dateReported"] is not None
    assert final[1]["dateReceived"] is None and final[1]["dateReported"] is not None
    assert final[2]["statusMessage"] == "카카오톡 미사용자"

    group = api("GET", f"/messages/v4/groups/{group_id}").json()
    assert group["status"] == "COMPLETE"
    assert group["count"]["sentSuccess"] == 3
    assert group["count"]["sentFailed"] == 2
    assert group["count"]["sentReplacement"] == 2
    assert group["dateCompleted"] is not None and group["dateSent"] is not None
    assert [m["statusCode"] for m in fake_solapi.accepted_messages()] == [
        m["statusCode"] for m in final
    ]


# --------------------------------------------------------------------------- list


@pytest.mark.rule("SOLAPI-LIST-ENDPOINT", "SOLAPI-LIST-DATES", "SOLAPI-LIST-OLD")
def test_list_queries(api: Api, fake_solapi: FakeSolapi, clock: ManualClock) -> None:
    first = api.sent([sms("01020000001"), sms("01020000002"), sms("01020000003")])
    clock.advance(60)
    second = api.sent([sms("01020000001"), {**sms("01020000004"), "type": "LMS"}])
    first_ids = [m["messageId"] for m in first["messageList"]]
    second_ids = [m["messageId"] for m in second["messageList"]]

    several = api.listing([("messageIds", first_ids[0]), ("messageIds", second_ids[1])])
    assert set(several["messageList"]) == {first_ids[0], second_ids[1]}
    assert several["startKey"] is None and several["nextKey"] is None and several["limit"] == 20

    by_group = api.listing({"groupId": first["groupInfo"]["groupId"]})
    assert set(by_group["messageList"]) == set(first_ids)

    both = api.listing({"to": "010-2000-0001"})
    assert set(both["messageList"]) == {first_ids[0], second_ids[0]}
    window = {
        "to": "01020000001",
        "startDate": iso(START + timedelta(seconds=30)),
        "endDate": iso(START + timedelta(seconds=90)),
    }
    assert set(api.listing(window)["messageList"]) == {second_ids[0]}
    old = api("GET", "/messages/v4/list-old", params={**window, "dateType": "CREATED"})
    assert set(old.json()["messageList"]) == {second_ids[0]}

    clock.advance(10)  # every message is final now; the first group's were updated at +5 s
    updated = {"dateType": "UPDATED", "startDate": iso(START + timedelta(seconds=61))}
    assert set(api.listing(updated)["messageList"]) == set(second_ids)

    by_criteria = api.listing(
        {
            "criteria": "groupId,type",
            "cond": "eq,eq",
            "value": f"{second['groupInfo']['groupId']},LMS",
        }
    )
    assert set(by_criteria["messageList"]) == {second_ids[1]}
    assert set(api.listing({"type": "LMS"})["messageList"]) == {second_ids[1]}
    assert len(api.listing({"statusCode": "4000"})["messageList"]) == 5

    group_messages = api("GET", f"/messages/v4/groups/{first['groupInfo']['groupId']}/messages")
    assert set(group_messages.json()["messageList"]) == set(first_ids)

    for bad in (
        {"messageIds[0]": first_ids[0]},
        {"limit": "0"},
        {"limit": "many"},
        {"startDate": "2026-01-05T03:00:00"},
        {"criteria": "to", "cond": "like", "value": "010"},
        {"criteria": "to,type", "cond": "eq", "value": "010"},
    ):
        response = api("GET", "/messages/v4/list", params=bad)
        assert response.status_code == 400, bad
        assert response.json()["errorCode"] == "ValidationError"


@pytest.mark.rule("SOLAPI-LIST-PAGING", "SOLAPI-LIST-LIMIT")
def test_paging_with_start_and_next_keys(api: Api) -> None:
    sent = api.sent([sms(f"0103000000{i}") for i in range(7)])
    all_ids = {m["messageId"] for m in sent["messageList"]}
    seen: list[str] = []
    start_key: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if start_key is not None:
            params["startKey"] = start_key
        page = api.listing(params)
        assert page["startKey"] == start_key and page["limit"] == 3
        seen.extend(page["messageList"])
        pages += 1
        start_key = page["nextKey"]
        if start_key is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == all_ids
    assert api.listing({"limit": 5000})["limit"] == 500


# --------------------------------------------------------------------------- files, cash


def upload(api: Api, data: bytes, file_type: str, **extra: Any) -> httpx.Response:
    body = {"file": base64.b64encode(data).decode(), "type": file_type, **extra}
    return api("POST", "/storage/v1/files", json=body)


@pytest.mark.rule(
    "SOLAPI-FILE-UPLOAD",
    "SOLAPI-FILE-TYPES",
    "SOLAPI-FILE-SIZE",
    "SOLAPI-FILE-MMSFMT",
    "SOLAPI-FILE-LINK",
    "SOLAPI-SMS-MMS",
)
def test_file_upload_checks_and_image_ids(api: Api) -> None:
    response = upload(api, JPEG, "MMS", name="photo.jpg")
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["fileId"].startswith("ST01FZ")
    assert {"fileId", "type", "name", "originalName", "link", "url", "accountId"} <= set(info)
    assert info["type"] == "MMS" and info["name"] == "photo.jpg"

    mms = {**sms(), "type": "MMS", "imageId": info["fileId"], "subject": "사진"}
    assert api.sent([mms])["messageList"][0]["type"] == "MMS"

    # SOLAPI-FILE-MMSFMT: JPEG, PNG or GIF
    assert upload(api, PNG, "MMS").status_code == 200
    assert upload(api, b"GIF89a" + bytes(20), "MMS").status_code == 200
    not_image = upload(api, b"BM" + bytes(60), "MMS")
    assert (not_image.status_code, not_image.json()["errorCode"]) == (400, "InvalidFileType")
    # SOLAPI-FILE-LINK: a KAKAO image says where a tap on it leads
    no_link = upload(api, PNG, "KAKAO")
    assert (no_link.status_code, no_link.json()["errorCode"]) == (400, "ValidationError")
    too_big = upload(api, JPEG[:2] + b"\x00" * (200 * 1024), "MMS")
    assert (too_big.status_code, too_big.json()["errorCode"]) == (400, "FileSizeTooLarge")
    kakao = upload(api, PNG + b"\x00" * (300 * 1024), "KAKAO", link="https://example.com")
    assert kakao.status_code == 200
    kakao_too_big = upload(api, PNG + b"\x00" * (500 * 1024), "KAKAO", link="https://a.kr")
    assert kakao_too_big.json()["errorCode"] == "FileSizeTooLarge"
    bad_b64 = api("POST", "/storage/v1/files", json={"file": "@@@", "type": "MMS"})
    assert (bad_b64.status_code, bad_b64.json()["errorCode"]) == (400, "ValidationError")

    wrong_kind = {**sms("01012345679"), "type": "MMS", "imageId": kakao.json()["fileId"]}
    assert api.sent([wrong_kind])["failedMessageList"][0]["statusCode"] == "1023"
    cti = {
        "to": "01012345670",
        "type": "CTI",
        "text": "친구톡 이미지",
        "kakaoOptions": {"pfId": DEFAULT_PF_ID, "imageId": kakao.json()["fileId"]},
    }
    assert api.sent([cti])["messageList"][0]["type"] == "CTI"


@pytest.mark.rule("SOLAPI-BAL")
def test_balance(api: Api, fake_solapi: FakeSolapi) -> None:
    fake_solapi.point = 500
    body = api("GET", "/cash/v1/balance").json()
    assert {
        "balance",
        "point",
        "deposit",
        "lowBalanceAlert",
        "minimumCash",
        "rechargeTo",
        "autoRecharge",
        "accountId",
    } <= set(body)
    assert (body["balance"], body["point"]) == (100000, 500)
    api.sent([ata()])
    assert api("GET", "/cash/v1/balance").json()["balance"] == 100000 - 13


@pytest.mark.rule("SOLAPI-SENDERID-ACTIVE")
def test_active_sender_numbers(api: Api, fake_solapi: FakeSolapi, http: httpx.Client) -> None:
    fake_solapi.senders = {"0212345678", "01000000001"}
    response = api("GET", "/senderid/v1/numbers/active")
    assert response.status_code == 200 and response.json() == ["01000000001", "0212345678"]
    assert http.get("/senderid/v1/numbers/active").status_code == 403  # signed like the others
    fake_solapi.senders = set()
    assert api("GET", "/senderid/v1/numbers/active").json() == []


@pytest.mark.rule("SOLAPI-KAKAO-CHANNEL-GET")
def test_kakao_channel(api: Api) -> None:
    body = api("GET", f"/kakao/v2/channels/{DEFAULT_PF_ID}").json()
    assert body["channelId"] == DEFAULT_PF_ID and body["searchId"].startswith("@")
    assert {"accountId", "sharedAccountIds"} <= set(body)
    assert api("GET", "/kakao/v2/channels/KA01PF9").status_code == 404


# --------------------------------------------------------------------------- scheduling


@pytest.mark.rule("SOLAPI-SCHED-CANCEL", "SOLAPI-SCHED-FIELD")
def test_schedule_and_cancel(api: Api, fake_solapi: FakeSolapi, clock: ManualClock) -> None:
    past = api.send([sms()], scheduledDate=iso(START - timedelta(minutes=1)))
    assert (past.status_code, past.json()["errorCode"]) == (400, "ValidationError")
    naive = api.send([sms()], scheduledDate="2026-01-05T05:00:00")
    assert naive.status_code == 400
    assert fake_solapi.all_messages() == []

    at = START + timedelta(hours=1)
    result = api.sent([sms("01040000001"), sms("01040000002")], scheduledDate=iso(at))
    group_id = result["groupInfo"]["groupId"]
    assert result["groupInfo"]["status"] == "SCHEDULED"
    assert result["groupInfo"]["scheduledDate"] == "2026-01-05T04:00:00.000Z"
    later = api.sent([sms("01040000003")], scheduledDate=iso(at))
    immediate = api.sent([sms("01040000004")])
    assert fake_solapi.balance == 100000 - 4 * 18

    clock.advance(30 * 60)
    ids = [m["messageId"] for m in result["messageList"]]
    assert {api.stored(i)["statusCode"] for i in ids} == {"2000"}

    cancel = api("DELETE", f"/messages/v4/groups/{group_id}/schedule")
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "PENDING"  # the 2026 documents' word (see fakes.cancel)
    assert cancel.json()["isRefunded"] is True
    assert {api.stored(i)["status"] for i in ids} == {"CANCELED"}
    assert fake_solapi.balance == 100000 - 2 * 18

    again = api("DELETE", f"/messages/v4/groups/{group_id}/schedule")
    assert (again.status_code, again.json()["errorCode"]) == (400, "InvalidGroupStatus")
    not_scheduled = api(
        "DELETE", f"/messages/v4/groups/{immediate['groupInfo']['groupId']}/schedule"
    )
    assert not_scheduled.status_code == 400
    unknown = api("DELETE", "/messages/v4/groups/G4VNOSUCHGROUP/schedule")
    assert (unknown.status_code, unknown.json()["errorCode"]) == (404, "NotFound")

    later_id = later["messageList"][0]["messageId"]
    clock.advance(30 * 60 + 1)
    assert api.stored(later_id)["statusCode"] == "2000"
    clock.advance(2)
    assert api.stored(later_id)["statusCode"] == "3000"
    clock.advance(3)
    assert api.stored(later_id)["statusCode"] == "4000"
    group = api("GET", f"/messages/v4/groups/{later['groupInfo']['groupId']}").json()
    assert group["status"] == "COMPLETE"


# --------------------------------------------------------------------------- faults (SOLAPI)


@pytest.mark.parametrize("kind", ["reset_after_accept", "truncated"])
def test_a_processed_request_has_used_up_its_signature(
    fake_solapi: FakeSolapi, http: httpx.Client, clock: ManualClock, kind: str
) -> None:
    """Faults that process the request consume the signature: a blind retry with the same
    header is refused, so a client must sign again (and find out what was accepted)."""
    fake_solapi.script = [kind]
    headers = solapi_headers(fake_solapi)
    body = {"messages": [sms("01077770000", customFields={"job": "42"})]}
    try:
        http.post("/messages/v4/send-many/detail", json=body, headers=headers)
    except httpx.NetworkError:
        assert kind == "reset_after_accept"
    accepted = fake_solapi.accepted_messages()
    assert [(m["to"], m["customFields"]) for m in accepted] == [("01077770000", {"job": "42"})]
    retry = http.post("/messages/v4/send-many/detail", json=body, headers=headers)
    assert (retry.status_code, retry.json()["errorCode"]) == (403, "DuplicatedSignature")
    assert len(fake_solapi.accepted_messages()) == 1


def test_faults_strike_before_authentication_and_only_on_send_paths(
    fake_solapi: FakeSolapi, http: httpx.Client, clock: ManualClock
) -> None:
    fake_solapi.script = ["503"]
    unsigned = http.post("/messages/v4/send", json={"message": sms()})
    assert unsigned.status_code == 503  # the fault answered before credentials were read
    fake_solapi.script = ["500"]
    assert http.get("/cash/v1/balance", headers=solapi_headers(fake_solapi)).status_code == 200
    assert fake_solapi.script == ["500"]  # the balance path is not a fault path


# --------------------------------------------------------------------------- template list


@pytest.mark.rule("SOLAPI-ATA-TEMPLATE-LIST")
def test_the_template_list_pages_by_next_key_and_filters_by_channel(
    api: Api, fake_solapi: FakeSolapi
) -> None:
    fake_solapi.templates = {f"TPL{n:02d}": f"#{{name}} {n}" for n in range(5)}
    fake_solapi.template_statuses["TPL03"] = "REJECTED"
    first = api("GET", "/kakao/v2/templates", params={"limit": "2"}).json()
    assert [t["templateId"] for t in first["templateList"]] == ["TPL00", "TPL01"]
    assert first["limit"] == 2 and first["nextKey"] == "TPL02"
    last = api("GET", "/kakao/v2/templates", params={"limit": "2", "startKey": "TPL04"}).json()
    assert [t["templateId"] for t in last["templateList"]] == ["TPL04"]
    assert last["nextKey"] is None
    whole = api("GET", "/kakao/v2/templates").json()  # 20 by default
    assert len(whole["templateList"]) == 5 and whole["templateList"][3]["status"] == "REJECTED"
    assert {"content", "name", "status", "channelId"} <= set(whole["templateList"][0])
    other = api("GET", "/kakao/v2/templates", params={"channelId": "KA01PFOTHER"}).json()
    assert other["templateList"] == [] and other["nextKey"] is None
    refused = api("GET", "/kakao/v2/templates", params={"limit": "501"})
    assert refused.status_code == 400
