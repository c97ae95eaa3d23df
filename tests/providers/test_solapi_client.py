"""SOLAPI client: request building and response parsing field by field, error mapping, and the
HTTP boundary, with recorded vendor bodies through httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kmsg_cli.errors import AuthenticationError, ConfigError, InvalidInput, ProviderError
from kmsg_cli.models import DeliveryStatus, Failover, Message, MessageType, Recipient
from kmsg_cli.providers._http import with_query
from kmsg_cli.providers.solapi import SolapiProvider
from kmsg_cli.providers.solapi.client import authorization, signature
from kmsg_cli.providers.solapi.messages import (
    ByMessageId,
    build_message,
    build_send_body,
    custom_key,
    parse_send_response,
)
from kmsg_cli.providers.solapi.status import map_status_code, parse_list_response

NOW = datetime(2026, 11, 22, 1, 2, 3, 456000, tzinfo=UTC)
SETTINGS = {
    "api_key": "KEY",
    "api_secret": "SECRET",
    "sender": "0212345678",
    "kakao_pf_id": "KA01PF",
    "base_url": "http://127.0.0.1:9",
}


def msg(
    type_: MessageType = MessageType.SMS,
    *,
    to: str = "01012345678",
    country: str = "82",
    text: str = "hello",
    mid: str = "m-1",
    **extra: Any,
) -> Message:
    return Message(
        message_id=mid,
        type=type_,
        to=Recipient(to, country),
        text=text,
        byte_length=len(text),
        **extra,
    )


def provider(handler: Callable[[httpx.Request], httpx.Response], **settings: Any) -> SolapiProvider:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return SolapiProvider("solapi", {**SETTINGS, **settings}, http, clock=lambda: NOW)


# -- authentication ----------------------------------------------------------------------------
def test_signature_matches_the_reference_vector() -> None:
    assert (
        signature("test-secret", "2024-01-01T00:00:00Z", "abcdefghijklmnopqrstuvwxyz012345")
        == "f6d7b9b3537225755930068e597fc792dd233f569053fb0399779e6b9b94ebaf"
    )


@pytest.mark.rule("SOLAPI-AUTH-HEADER", "SOLAPI-AUTH-SIG")
def test_authorization_header_layout() -> None:
    header = authorization("KEY", "test-secret", date="2024-01-01T00:00:00Z", salt="s" * 32)
    assert header == (
        "HMAC-SHA256 apiKey=KEY, date=2024-01-01T00:00:00Z, salt="
        + "s" * 32
        + ", signature="
        + signature("test-secret", "2024-01-01T00:00:00Z", "s" * 32)
    )


@pytest.mark.rule("SOLAPI-AUTH-DATE", "SOLAPI-AUTH-SALT")
def test_every_request_gets_a_fresh_salt_and_valid_signature() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"balance": 1000, "point": 5})

    client = provider(handler)
    client.balance()
    client.balance()
    salts = []
    for header in seen:
        fields = dict(
            part.split("=", 1) for part in header.removeprefix("HMAC-SHA256 ").split(", ")
        )
        assert fields["date"] == "2026-11-22T01:02:03.456Z"
        assert fields["signature"] == signature("SECRET", fields["date"], fields["salt"])
        salts.append(fields["salt"])
    assert len(set(salts)) == 2 and all(len(s) == 32 for s in salts)


# -- request building --------------------------------------------------------------------------
@pytest.mark.rule("SOLAPI-SMS-AUTOTYPE")
def test_sms_entry_fields() -> None:
    entry = build_message(msg(), sender="0212345678", pf_id=None)
    assert entry == {
        "to": "01012345678",
        "type": "SMS",
        "from": "0212345678",
        "text": "hello",
        "customFields": {"kmsgId": "m-1"},
    }


def test_lms_keeps_subject_and_mms_carries_the_image_id() -> None:
    lms = build_message(msg(MessageType.LMS, subject="공지"), sender="021", pf_id=None)
    assert (lms["type"], lms["subject"]) == ("LMS", "공지")
    mms = build_message(
        msg(MessageType.MMS, image="a.jpg"), sender="021", pf_id=None, image_id="ST01"
    )
    assert (mms["type"], mms["imageId"]) == ("MMS", "ST01")


@pytest.mark.rule("SOLAPI-ATA-OPTIONS", "SOLAPI-ATA-DISABLESMS")
def test_alimtalk_entry_wraps_variables_and_uses_native_failover() -> None:
    message = msg(
        MessageType.ALIMTALK,
        text="",
        template_id="TPL_WELCOME",
        variables={"name": "홍길동", "code": "1234"},
        failover=Failover(text="홍길동님 환영합니다", type=MessageType.SMS, subject=None),
    )
    entry = build_message(message, sender="0212345678", pf_id="KA01PF")
    assert entry["type"] == "ATA"
    assert entry["kakaoOptions"] == {
        "pfId": "KA01PF",
        "templateId": "TPL_WELCOME",
        "variables": {"#{name}": "홍길동", "#{code}": "1234"},
        "disableSms": False,
    }
    assert entry["text"] == "홍길동님 환영합니다"
    without = build_message(
        msg(MessageType.ALIMTALK, text="", template_id="T", variables={}), sender=None, pf_id="P"
    )
    assert without["kakaoOptions"]["disableSms"] is True and "text" not in without
    assert "from" not in without


@pytest.mark.rule("SOLAPI-CTA-TYPES", "SOLAPI-CTA-STATUS")
def test_friendtalk_is_cta_or_cti_with_an_image() -> None:
    cta = build_message(msg(MessageType.FRIENDTALK), sender=None, pf_id="P")
    assert cta["type"] == "CTA" and cta["kakaoOptions"] == {"pfId": "P", "disableSms": True}
    cti = build_message(
        msg(MessageType.FRIENDTALK, image="x.jpg"), sender=None, pf_id="P", image_id="F"
    )
    assert cti["type"] == "CTI" and cti["kakaoOptions"]["imageId"] == "F"


@pytest.mark.rule("SOLAPI-SEND-PHONE")
def test_international_recipient_travels_with_country() -> None:
    entry = build_message(msg(to="4155550100", country="1"), sender="021", pf_id=None)
    assert (entry["to"], entry["country"]) == ("4155550100", "1")


@pytest.mark.rule("SOLAPI-SCHED-FIELD", "SOLAPI-SEND-DUP")
def test_send_body_schedules_the_group_in_utc() -> None:
    body = build_send_body([{"to": "1"}], scheduled_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert body["scheduledDate"] == "2026-12-01T09:00:00.000Z"
    assert body["showMessageList"] is True and body["allowDuplicates"] is True


# -- response parsing (recorded bodies) --------------------------------------------------------
RECORDED_PARTIAL = {
    "failedMessageList": [
        {
            "to": "01099998888",
            "from": "0299999999",
            "type": "SMS",
            "statusMessage": "발신번호 미등록",
            "country": "82",
            "messageId": "M4V20261122010203ABCDEFGHIJKLMNOPQR",
            "statusCode": "1062",
            "accountId": "12925149",
            "customFields": {"kmsgId": "m-2"},
        }
    ],
    "groupInfo": {
        "count": {
            "total": 2,
            "sentTotal": 0,
            "sentFailed": 0,
            "sentSuccess": 0,
            "sentPending": 0,
            "sentReplacement": 0,
            "refund": 0,
            "registeredFailed": 1,
            "registeredSuccess": 1,
        },
        "status": "SENDING",
        "groupId": "G4V20261122010203ABCDEFGHIJKLMNOPQR",
        "accountId": "12925149",
    },
    "messageList": [
        {
            "messageId": "M4V20261122010203ZZZZZZZZZZZZZZZZZZ",
            "statusCode": "2000",
            "statusMessage": "정상 접수(이통사로 접수 예정) ",
            "to": "01012345678",
            "customFields": {"kmsgId": "m-1"},
        }
    ],
}


@pytest.mark.rule("SOLAPI-SEND-REPLY")
def test_partial_batch_maps_each_message_by_our_id() -> None:
    messages = [msg(mid="m-1"), msg(mid="m-2", to="01099998888")]
    ok, rejected = parse_send_response(RECORDED_PARTIAL, messages, provider_id="solapi")
    assert ok.accepted and ok.status is DeliveryStatus.SENT
    assert ok.provider_message_id == "M4V20261122010203ZZZZZZZZZZZZZZZZZZ"
    assert ok.group_id == "G4V20261122010203ABCDEFGHIJKLMNOPQR"
    assert not rejected.accepted and rejected.status is DeliveryStatus.FAILED
    assert (rejected.error_code, rejected.provider_code) == ("SENDER_NOT_REGISTERED", "1062")
    assert "1062" in (rejected.error_message or "") and "발신번호 미등록" in (
        rejected.error_message or ""
    )
    assert not rejected.retryable


def test_parse_falls_back_to_recipient_order_without_custom_fields() -> None:
    body = {"messageList": [{"messageId": "A", "statusCode": "2000", "to": "01012345678"}]}
    (result,) = parse_send_response(body, [msg()], provider_id="solapi")
    assert result.accepted and result.provider_message_id == "A"


def test_a_message_missing_from_the_answer_is_an_unknown_outcome() -> None:
    (result,) = parse_send_response({"messageList": []}, [msg()], provider_id="solapi")
    assert not result.accepted and result.outcome_unknown


@pytest.mark.rule(
    "SOLAPI-STATUS-CLASSES",
    "SOLAPI-STATUS-1XXX",
    "SOLAPI-STATUS-2XXX",
    "SOLAPI-STATUS-3XXX",
    "SOLAPI-STATUS-KAKAO",
    "SOLAPI-STATUS-TEST",
    "SOLAPI-ATA-HOURS",
    "SOLAPI-CTA-RULES",
)
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("2000", DeliveryStatus.PENDING),
        ("3000", DeliveryStatus.SENT),
        ("4000", DeliveryStatus.DELIVERED),
        ("1062", DeliveryStatus.FAILED),
        ("2230", DeliveryStatus.FAILED),
        ("3104", DeliveryStatus.FAILED),
        ("3043", DeliveryStatus.FAILED),
        ("3108", DeliveryStatus.FAILED),  # outside AlimTalk's sending hours
        ("3102", DeliveryStatus.FAILED),  # FriendTalk to someone not a channel friend
        ("TEST1000", DeliveryStatus.UNKNOWN),  # final: a test send is never delivered
        ("TEST4000", DeliveryStatus.UNKNOWN),
        ("5000", None),
        (None, None),
        ("", None),
    ],
)
def test_status_code_mapping(code: str | None, status: DeliveryStatus | None) -> None:
    assert map_status_code(code) is status


@pytest.mark.rule("SOLAPI-LIST-REPLY", "SOLAPI-STATUS-TEXT")
def test_list_answer_is_an_object_keyed_by_id_with_real_timestamps() -> None:
    body = {
        "startKey": None,
        "nextKey": None,
        "limit": 2,
        "messageList": {
            "M1": {
                "messageId": "M1",
                "statusCode": "4000",
                "status": "COMPLETE",
                "dateProcessed": "2026-11-22T01:00:05.000Z",
                "dateReported": "2026-11-22T01:00:09.000Z",
                "dateReceived": "2026-11-22T01:00:08.000Z",
                "replacement": False,
            },
            "M2": {
                "messageId": "M2",
                "statusCode": "3104",
                "reason": "카카오톡 미사용자",
                "dateProcessed": "2026-11-22T01:00:05.000Z",
                "dateReported": "2026-11-22T01:00:07.000Z",
                "dateReceived": None,
            },
        },
    }
    delivered, failed = parse_list_response(body, provider_id="solapi")
    base = int(datetime(2026, 11, 22, 1, 0, tzinfo=UTC).timestamp() * 1000)
    assert delivered.status is DeliveryStatus.DELIVERED
    assert (delivered.sent_at, delivered.delivered_at) == (base + 5000, base + 8000)
    assert failed.status is DeliveryStatus.FAILED and failed.failed_at == base + 7000
    assert (
        failed.provider_status_code == "3104"
        and failed.provider_status_message == "카카오톡 미사용자"
    )


# -- the client over MockTransport -------------------------------------------------------------
@pytest.mark.rule("SOLAPI-SEND-ENDPOINT", "SOLAPI-BASE-URL")
def test_send_posts_one_request_for_many_messages() -> None:
    requests: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        listed = [
            {"messageId": f"M{i}", "statusCode": "2000", "customFields": m["customFields"]}
            for i, m in enumerate(body["messages"])
        ]
        return httpx.Response(
            200,
            json={"messageList": listed, "failedMessageList": [], "groupInfo": {"groupId": "G1"}},
        )

    client = provider(handler)
    results = client.send([msg(mid=f"m-{i}", to=f"0101234{i:04d}") for i in range(5)])
    assert len(requests) == 1 and len(requests[0]["messages"]) == 5
    assert [r.provider_message_id for r in results] == [f"M{i}" for i in range(5)]
    assert all(r.group_id == "G1" for r in results)


@pytest.mark.rule("SOLAPI-SEND-BATCH", "SOLAPI-SCHED-FIELD")
def test_batch_size_and_schedule_split_requests() -> None:
    sizes: list[tuple[int, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sizes.append((len(body["messages"]), body.get("scheduledDate")))
        listed = [
            {"messageId": "M", "statusCode": "2000", "customFields": m["customFields"]}
            for m in body["messages"]
        ]
        return httpx.Response(200, json={"messageList": listed})

    client = provider(handler, batch_size=2)
    later = NOW + timedelta(hours=1)
    messages = [msg(mid=f"a{i}") for i in range(3)] + [msg(mid="b", scheduled_at=later)]
    results = client.send(messages)
    assert sorted(sizes, key=str) == sorted(
        [(2, None), (1, None), (1, "2026-11-22T02:02:03.456Z")], key=str
    )
    assert results[-1].status is DeliveryStatus.PENDING


def test_mms_uploads_the_image_once(tmp_path: Path) -> None:
    image = tmp_path / "p.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 1000)
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/storage/v1/files":
            body = json.loads(request.content)
            assert body["type"] == "MMS" and body["name"] == "p.jpg"
            return httpx.Response(200, json={"fileId": "ST01FILE"})
        body = json.loads(request.content)
        assert {m["imageId"] for m in body["messages"]} == {"ST01FILE"}
        listed = [
            {"messageId": "M", "statusCode": "2000", "customFields": m["customFields"]}
            for m in body["messages"]
        ]
        return httpx.Response(200, json={"messageList": listed})

    client = provider(handler)
    client.send(
        [
            msg(MessageType.MMS, mid="a", image=str(image)),
            msg(MessageType.MMS, mid="b", image=str(image)),
        ]
    )
    assert paths == ["/storage/v1/files", "/messages/v4/send-many/detail"]


@pytest.mark.rule("SOLAPI-FILE-SIZE", "SOLAPI-FILE-MMSFMT")
def test_image_limits_are_checked_before_any_request(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"0" * (200 * 1024))
    bmp = tmp_path / "p.bmp"
    bmp.write_bytes(b"BM" + b"0" * 10)
    client = provider(lambda r: pytest.fail("no request expected"))
    with pytest.raises(InvalidInput) as info:
        client.validate(msg(MessageType.MMS, image=str(big)))
    assert info.value.code == "IMAGE_TOO_LARGE"
    with pytest.raises(InvalidInput) as info:
        client.validate(msg(MessageType.MMS, image=str(bmp)))
    assert info.value.code == "IMAGE_FORMAT" and "JPEG, PNG or GIF" in info.value.message
    for name, head in (("p.png", b"\x89PNG\r\n\x1a\n"), ("p.gif", b"GIF89a")):
        image = tmp_path / name
        image.write_bytes(head + b"0" * 100)
        client.validate(msg(MessageType.MMS, image=str(image)))


@pytest.mark.rule("SOLAPI-FILE-LINK", "SOLAPI-FILE-UPLOAD", "SOLAPI-CTA-TYPES")
def test_friendtalk_image_is_uploaded_with_its_link(tmp_path: Path) -> None:
    image = tmp_path / "event.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    uploads: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/storage/v1/files":
            uploads.append(body)
            return httpx.Response(200, json={"fileId": "ST01KAKAO"})
        listed = [
            {"messageId": "M", "statusCode": "2000", "customFields": m["customFields"]}
            for m in body["messages"]
        ]
        assert body["messages"][0]["type"] == "CTI"
        return httpx.Response(200, json={"messageList": listed})

    friendtalk = msg(MessageType.FRIENDTALK, image=str(image))
    without = provider(lambda r: pytest.fail("no request expected"))
    with pytest.raises(ConfigError) as info:
        without.validate(friendtalk)
    assert info.value.field == "friendtalk_image_link"
    with_link = provider(handler, friendtalk_image_link="https://example.com/event")
    [result] = with_link.send([friendtalk])
    assert result.accepted
    (upload,) = uploads
    assert (upload["type"], upload["link"]) == ("KAKAO", "https://example.com/event")


@pytest.mark.rule("SOLAPI-CF-LEN", "SOLAPI-CF-SHAPE", "SOLAPI-CF-COUNT")
def test_ids_over_100_characters_travel_as_a_short_key_and_map_back() -> None:
    short, edge, long = "m-1", "e" * 100, "L" * 150 + "가" * 50
    assert custom_key(short) == short and custom_key(edge) == edge
    key = custom_key(long)
    assert len(key) <= 100 and key != long[:100] and custom_key(long + "x") != key
    entry = build_message(msg(mid=long), sender="0212345678", pf_id=None)
    assert entry["customFields"] == {"kmsgId": key}  # one key, ≤ 30 characters, ≤ 100 value
    body = {
        "messageList": [{"messageId": "M9", "statusCode": "2000", "customFields": {"kmsgId": key}}]
    }
    (result,) = parse_send_response(body, [msg(mid=long)], provider_id="solapi")
    assert result.accepted and result.provider_message_id == "M9" and result.message_id == long
    found: ByMessageId[str] = ByMessageId({key: "M9", short: "M1"})
    assert found[long] == "M9" and found.get(long) == "M9" and long in found
    assert found.get(short) == "M1" and found.get("other") is None and "other" not in found


@pytest.mark.rule("SOLAPI-ATA-FROM", "SOLAPI-ATA-VARS")
def test_alimtalk_fallback_needs_a_sender_and_dotted_variables_are_refused() -> None:
    client = provider(lambda r: httpx.Response(404, json={"errorCode": "NotFound"}), sender=None)
    fallback = Failover(text="대체 문자", type=MessageType.SMS)
    alimtalk = msg(MessageType.ALIMTALK, text="", template_id="T", variables={"name": "x"})
    client.validate(alimtalk)  # no fallback: no SMS, no sender needed
    with pytest.raises(InvalidInput) as info:
        client.validate(replace(alimtalk, failover=fallback))
    assert info.value.code == "MISSING_SENDER" and info.value.field == "from"
    client.validate(replace(alimtalk, failover=fallback, sender="0212345678"))
    with pytest.raises(InvalidInput) as info:
        client.validate(replace(alimtalk, variables={"order.no": "1", "#{a.b}": "2"}))
    assert info.value.code == "INVALID_VARIABLE" and "order.no, a.b" in info.value.message
    entry = build_message(
        replace(alimtalk, variables={"#{name}": "홍", " code ": "1"}), sender=None, pf_id="P"
    )
    assert entry["kakaoOptions"]["variables"] == {"#{name}": "홍", "#{code}": "1"}


@pytest.mark.rule("SOLAPI-ATA-TEMPLATE-GET")
def test_an_alimtalk_is_checked_against_its_template_read_once() -> None:
    reads: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET", "validate never sends"
        path = request.url.raw_path.decode()
        reads.append(path)
        if path == "/kakao/v2/templates/T%2F1":
            return httpx.Response(
                200,
                json={"templateId": "T/1", "content": "#{name}님 #{ code }", "status": "APPROVED"},
            )
        if path == "/kakao/v2/templates/REVIEW":
            return httpx.Response(200, json={"content": "x", "status": "rejected"})
        if path == "/kakao/v2/templates/LITERAL":  # `#{}` is text, not a variable
            return httpx.Response(200, json={"content": "#{} #{name}", "status": "APPROVED"})
        return httpx.Response(404, json={"errorCode": "NotFound", "errorMessage": "no"})

    client = provider(answer)
    alimtalk = msg(MessageType.ALIMTALK, text="", template_id="T/1", variables={"#{name}": "x"})
    with pytest.raises(InvalidInput) as info:
        client.validate(alimtalk)
    assert (info.value.code, info.value.field) == ("MISSING_VARIABLE", "variables")
    assert info.value.message == (
        "missing variable for template 'T/1': code (--var code=VALUE, or a column 'code' in a file)"
    )
    client.validate(replace(alimtalk, variables={"name": "x", "code": "1"}))
    assert reads == ["/kakao/v2/templates/T%2F1"]  # read once, the id quoted
    with pytest.raises(InvalidInput) as info:
        client.validate(replace(alimtalk, template_id="REVIEW"))
    assert info.value.code == "TEMPLATE_NOT_APPROVED" and "REJECTED" in info.value.message
    client.validate(replace(alimtalk, template_id="LITERAL"))
    client.validate(replace(alimtalk, template_id="UNKNOWN"))  # unreadable: SOLAPI will judge
    client.validate(replace(alimtalk, template_id="UNKNOWN"))
    assert reads.count("/kakao/v2/templates/UNKNOWN") == 1


def test_validate_needs_a_sender_for_sms_and_a_channel_for_kakao() -> None:
    client = provider(lambda r: pytest.fail("no request"), sender=None, kakao_pf_id=None)
    with pytest.raises(InvalidInput) as info:
        client.validate(msg())
    assert info.value.code == "MISSING_SENDER"
    client.validate(msg(sender="0212345678"))
    with pytest.raises(ConfigError) as config_info:
        client.validate(msg(MessageType.ALIMTALK, template_id="T"))
    assert config_info.value.field == "kakao_pf_id"


def _answer(
    status: int, body: Any = None, **headers: str
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


@pytest.mark.parametrize(
    ("status", "body", "headers", "cls", "code", "retryable", "wait"),
    [
        (
            403,
            {"errorCode": "InvalidAPIKey", "errorMessage": "bad"},
            {},
            AuthenticationError,
            "AUTHENTICATION_FAILED",
            False,
            None,
        ),
        (
            403,
            {"errorCode": "SignatureDoesNotMatch", "errorMessage": "x"},
            {},
            AuthenticationError,
            "AUTHENTICATION_FAILED",
            False,
            None,
        ),
        (
            429,
            {"errorCode": "TooManyRequests", "errorMessage": "slow"},
            {"Retry-After": "7"},
            ProviderError,
            "RATE_LIMITED",
            True,
            7.0,
        ),
        (
            503,
            {"errorCode": "ServiceUnavailable"},
            {"Retry-After": "2"},
            ProviderError,
            "SERVICE_UNAVAILABLE",
            True,
            2.0,
        ),
        (500, {"errorCode": "InternalError"}, {}, ProviderError, "PROVIDER_ERROR", True, None),
        (
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            {},
            ProviderError,
            "PROVIDER_ERROR",
            True,
            None,
        ),
        (
            400,
            {"errorCode": "ValidationError", "errorMessage": "bad date"},
            {},
            ProviderError,
            "PROVIDER_REJECTED",
            False,
            None,
        ),
    ],
)
@pytest.mark.rule(
    "SOLAPI-ERR-BODY", "SOLAPI-ERR-VALIDATION", "SOLAPI-ERR-503", "SOLAPI-AUTH-ERRORS"
)
def test_http_errors_are_mapped_once(
    status: int,
    body: Any,
    headers: dict[str, str],
    cls: type,
    code: str,
    retryable: bool,
    wait: float | None,
) -> None:
    client = provider(_answer(status, body, **headers))
    with pytest.raises(ProviderError) as info:
        client.balance()
    error = info.value
    assert type(error) is cls
    assert (error.code, error.http_status, error.retryable, error.retry_after) == (
        code,
        status,
        retryable,
        wait,
    )
    assert "SECRET" not in str(error) and "\n" not in error.message
    if status == 502:
        assert "non-JSON" in error.message and "Bad Gateway" in error.message


def test_authentication_failure_exits_2() -> None:
    with pytest.raises(AuthenticationError) as info:
        provider(_answer(403, {"errorCode": "InvalidAPIKey"})).balance()
    assert info.value.exit_code == 2 and "api_key" in (info.value.hint or "")


@pytest.mark.rule("SOLAPI-AUTH-REPLAY", "SOLAPI-AUTH-ERRORS")
def test_skewed_clock_is_retried_once_with_a_new_signature_then_explained() -> None:
    headers: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers["Authorization"])
        return httpx.Response(
            403, json={"errorCode": "RequestTimeTooSkewed", "errorMessage": "skew"}
        )

    with pytest.raises(ProviderError) as info:
        provider(handler).balance()
    assert len(headers) == 2 and headers[0] != headers[1]
    assert info.value.code == "CLOCK_SKEW" and "clock" in info.value.message


def test_skew_then_success_succeeds() -> None:
    answers = iter(
        [
            httpx.Response(403, json={"errorCode": "RequestTimeTooSkewed"}),
            httpx.Response(200, json={"balance": "1500.5", "point": 0}),
        ]
    )
    assert provider(lambda r: next(answers)).balance().amount == 1500.5


def test_connect_failure_is_retryable_and_surely_not_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ProviderError) as info:
        provider(handler).send([msg()])
    assert info.value.retryable and not info.value.outcome_unknown


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_failure_after_sending_is_an_unknown_outcome(exc: type[httpx.TransportError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("lost", request=request)

    with pytest.raises(ProviderError) as info:
        provider(handler).send([msg()])
    assert info.value.outcome_unknown and not info.value.retryable
    # a lookup that times out is simply retryable
    with pytest.raises(ProviderError) as lookup:
        provider(handler).fetch_statuses(["M1"])
    assert lookup.value.retryable and not lookup.value.outcome_unknown


@pytest.mark.rule("SOLAPI-LIST-ENDPOINT", "SOLAPI-LIST-LIMIT", "SOLAPI-LIST-OLD")
def test_fetch_statuses_asks_for_many_ids_per_request() -> None:
    queries: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.params.get_list("messageIds")
        queries.append(ids)
        listing = {i: {"messageId": i, "statusCode": "3000"} for i in ids}
        return httpx.Response(200, json={"messageList": listing, "limit": len(ids)})

    ids = [f"M{i}" for i in range(250)]
    found = provider(handler).fetch_statuses(ids)
    assert [len(q) for q in queries] == [100, 100, 50]
    assert set(found) == set(ids) and found["M7"].status is DeliveryStatus.SENT


def test_repr_never_shows_the_secret() -> None:
    assert "SECRET" not in repr(provider(_answer(200, {})))


@pytest.mark.rule("SOLAPI-SCHED-WINDOW")
def test_a_schedule_more_than_6_months_ahead_is_refused_before_any_request() -> None:
    client = provider(lambda r: pytest.fail("no request expected"))
    # NOW is 2026-11-22 10:02 in Korea: 6 months later is 2027-05-22 10:02 KST
    client.validate(msg(scheduled_at=datetime(2027, 5, 22, 1, 2, 3, tzinfo=UTC)))
    with pytest.raises(InvalidInput) as info:
        client.validate(msg(scheduled_at=datetime(2027, 5, 22, 1, 3, tzinfo=UTC)))
    assert info.value.code == "SCHEDULE_OUTSIDE_WINDOW" and "6 months" in info.value.message
    client.validate(msg(scheduled_at=NOW + timedelta(seconds=30)))  # no minimum lead


@pytest.mark.rule("SOLAPI-LIST-ENDPOINT")
def test_fetch_statuses_encodes_ids_as_httpx_params_would() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"messageList": {}, "limit": 1})

    ids = ["M4V2026ABC", "a b", "x+y&z=1", "한글", "a~b.c-d_e", "%41"]
    provider(handler).fetch_statuses(ids)
    (url,) = seen
    assert url.params.get_list("messageIds") == ids and url.params["limit"] == str(len(ids))
    expected = httpx.URL(
        url.copy_with(query=None),
        params=[("limit", str(len(ids)))] + [("messageIds", i) for i in ids],
    )
    assert url == expected


@pytest.mark.parametrize(
    "query",
    [
        "limit=2&messageIds=M4V1&messageIds=M4V2",
        "messageIds=a+b&messageIds=x%2By%26z%3D1&messageIds=%ED%95%9C",
        "a=%zz",  # not an escape: httpx's own parsing
        "a=b c",
        "a=b/c?d@e",
        "",
    ],
)
def test_a_query_set_as_it_is_makes_the_url_httpx_would(query: str) -> None:
    base = httpx.URL("https://api.example.com:8443/messages/v4/list")
    made = with_query(base, query)
    assert made == base.copy_with(query=query.encode())
    assert str(made) == str(base.copy_with(query=query.encode()))
    assert made.params == base.copy_with(query=query.encode()).params
