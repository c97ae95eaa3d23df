"""Aligo client: form fields field by field, batching, images, AlimTalk rendering, success
detection, error mapping, status lookups and balance, through httpx.MockTransport.

The answers below are shaped after docs/vendors/aligo.md (and the public Aligo API pages),
not after the client: SMS host `result_code`/`msg_id`, Kakao host `code`/`info.mid`, template
list `templtCode`/`templtContent`/`buttons`, `/sms_list/` entries with `sms_state`,
`/akv10/history/detail/` entries with `rslt`/`rslt_message`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from kmsg_cli.errors import (
    AuthenticationError,
    ConfigError,
    InvalidInput,
    ProviderError,
    UnsupportedFeature,
)
from kmsg_cli.models import DeliveryStatus, Failover, Message, MessageType, Recipient
from kmsg_cli.providers._common import MemoryCache
from kmsg_cli.providers.aligo import AligoProvider
from kmsg_cli.providers.aligo.client import split_provider_message_id
from kmsg_cli.providers.aligo.kakao import kakao_senddate, render_template
from kmsg_cli.providers.aligo.sms import map_sms_state, sms_schedule
from kmsg_cli.providers.aligo.token import unseal

NOW = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)  # 10:02:03 KST
SETTINGS: dict[str, Any] = {
    "api_key": "SECRETKEY123",
    "user_id": "kmsguser",
    "sender": "0212345678",
    "sender_key": "SK0123456789abcdef",
    "sms_base_url": "http://127.0.0.1:9001",
    "kakao_base_url": "http://127.0.0.1:9002",
    "testmode": False,
    "batch_size": 1000,
}

# -- recorded answers ------------------------------------------------------------------------
SMS_OK: dict[str, Any] = {
    "result_code": "1",
    "message": "success",
    "msg_id": "123456789",
    "success_cnt": 1,
    "error_cnt": 0,
    "msg_type": "SMS",
}
KAKAO_OK: dict[str, Any] = {
    "code": 0,
    "message": "성공적으로 전송요청 하였습니다.",
    "info": {
        "type": "AT",
        "mid": "987654321",
        "current": "4990.5",
        "unit": 6.5,
        "total": 6.5,
        "scnt": 1,
        "fcnt": 0,
    },
}
TEMPLATE_LIST: dict[str, Any] = {
    "code": 0,
    "message": "정상적으로 조회되었습니다.",
    "list": [
        {
            "templtCode": "TP_ORDER",
            "templtName": "주문 확인",
            "templtContent": "#{고객명}님, 주문번호 #{주문번호} 결제가 완료되었습니다.",
            "templateType": "BA",
            "templateEmType": "NONE",
            "templtTitle": "",
            "inspStatus": "APR",
            "status": "R",
            "cdate": "2026-01-02 10:00:00",
            "udate": "2026-01-03 11:00:00",
            "buttons": [
                {
                    "ordering": "1",
                    "name": "주문 조회",
                    "linkType": "WL",
                    "linkTypeName": "웹링크",
                    "linkMo": "https://shop.example/o/#{주문번호}",
                    "linkPc": "https://shop.example/o/#{주문번호}",
                    "linkIos": "",
                    "linkAnd": "",
                }
            ],
            "comments": [],
        }
    ],
    "info": {"REG": 0, "REQ": 0, "APR": 1, "REJ": 0},
}
PLAIN_TEMPLATE_LIST: dict[str, Any] = {
    "code": 0,
    "message": "정상적으로 조회되었습니다.",
    "list": [
        {
            "templtCode": "TP_PLAIN",
            "templtName": "인증",
            "templtContent": "인증번호는 [#{code}] 입니다.",
            "inspStatus": "APR",
            "status": "R",
            "buttons": [],
        }
    ],
}
SMS_LIST: dict[str, Any] = {
    "result_code": 1,
    "message": "success",
    "list": [
        {
            "mdid": "1523761",
            "type": "SMS",
            "sender": "0212345678",
            "receiver": "01012345678",
            "sms_state": "발송완료",
            "reg_date": "2026-11-22 10:02:03",
            "send_date": "2026-11-22 10:02:05",
            "reserve_date": "",
        },
        {
            "mdid": "1523762",
            "type": "SMS",
            "sender": "0212345678",
            "receiver": "01099998888",
            "sms_state": "결번",
            "reg_date": "2026-11-22 10:02:03",
            "send_date": "2026-11-22 10:02:05",
            "reserve_date": "",
        },
        {
            "mdid": "1523763",
            "type": "SMS",
            "sender": "0212345678",
            "receiver": "01077776666",
            "sms_state": "전송중",
            "reg_date": "2026-11-22 10:02:03",
            "send_date": "",
            "reserve_date": "",
        },
    ],
    "next_yn": "N",
}
HISTORY_DETAIL: dict[str, Any] = {
    "code": 0,
    "message": "정상적으로 조회되었습니다.",
    "list": [
        {
            "msgid": "K2611221002AB",
            "type": "AT",
            "sender": "0212345678",
            "phone": "01012345678",
            "status": "완료",
            "reqdate": "2026-11-22 10:02:03",
            "sentdate": "2026-11-22 10:02:04",
            "rsltdate": "2026-11-22 10:02:06",
            "reportdate": "2026-11-22 10:02:07",
            "rslt": "0",
            "rslt_message": "",
            "message": "홍길동님, 주문번호 A-1 결제가 완료되었습니다.",
            "button_json": "",
            "tpl_code": "TP_ORDER",
            "senddate": "2026-11-22 10:02:03",
        },
        {
            "msgid": "K2611221002AC",
            "type": "AT",
            "sender": "0212345678",
            "phone": "01055554444",
            "status": "실패",
            "reqdate": "2026-11-22 10:02:03",
            "sentdate": "2026-11-22 10:02:04",
            "rsltdate": "2026-11-22 10:02:08",
            "reportdate": "2026-11-22 10:02:09",
            "rslt": "3018",
            "rslt_message": "카카오톡 미사용자",
            "message": "…",
            "button_json": "",
            "tpl_code": "TP_ORDER",
            "senddate": "2026-11-22 10:02:03",
        },
        {
            "msgid": "Q2611221002AD",
            "type": "AT",
            "sender": "0212345678",
            "phone": "01033332222",
            "status": "대기",
            "reqdate": "2026-11-22 10:02:03",
            "sentdate": "",
            "rsltdate": "",
            "reportdate": "",
            "rslt": "",
            "rslt_message": "",
            "message": "…",
            "button_json": "",
            "tpl_code": "TP_ORDER",
            "senddate": "2026-11-22 10:02:03",
        },
    ],
    "currentPage": 1,
    "totalPage": 1,
    "totalCount": 3,
}
REMAIN: dict[str, Any] = {
    "result_code": 1,
    "message": "success",
    "SMS_CNT": 542,
    "LMS_CNT": 195,
    "MMS_CNT": 98,
}


# -- helpers ---------------------------------------------------------------------------------
def msg(
    type_: MessageType = MessageType.SMS,
    *,
    to: str = "01012345678",
    country: str = "82",
    text: str = "점검 안내",
    mid: str = "m-1",
    **extra: Any,
) -> Message:
    return Message(
        message_id=mid,
        type=type_,
        to=Recipient(to, country),
        text=text,
        byte_length=len(text.encode("cp949", "replace")),
        **extra,
    )


def alimtalk(**extra: Any) -> Message:
    extra.setdefault("template_id", "TP_ORDER")
    extra.setdefault("variables", {"고객명": "홍길동", "주문번호": "A-1"})
    return msg(MessageType.ALIMTALK, text="", **extra)


def provider(handler: Callable[[httpx.Request], httpx.Response], **settings: Any) -> AligoProvider:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return AligoProvider("aligo", {**SETTINGS, **settings}, http, clock=lambda: NOW)


TOKEN_PATH = "/akv10/token/create/1/d/"
TOKEN_OK = {
    "code": 0,
    "message": "정상적으로 생성하였습니다.",
    "token": "TKN-1",
    "urlencode": "TKN-1",
}


class Seen:
    """Requests as (path, form fields without the Kakao `token`, file parts {name: (filename,
    bytes)}, content type). Kakao token requests (ALIGO-KAKAO-TOKEN) are counted apart in
    `token_requests`, and the token each Kakao call carried in `tokens`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, tuple[str, bytes]], str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.tokens: list[str | None] = []

    def record(self, request: httpx.Request) -> tuple[str, dict[str, str]]:
        fields, files = decode_form(request)
        if request.url.path == TOKEN_PATH:
            self.token_requests.append(fields)
            return request.url.path, fields
        if request.url.path.startswith("/akv10/"):
            self.tokens.append(fields.pop("token", None))
        kind = request.headers.get("content-type", "").split(";")[0]
        self.requests.append((request.url.path, fields, files, kind))
        return request.url.path, fields

    @property
    def paths(self) -> list[str]:
        return [path for path, *_ in self.requests]


def decode_form(request: httpx.Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        pairs = parse_qsl(request.content.decode("utf-8"), keep_blank_values=True)
        assert len({k for k, _ in pairs}) == len(pairs), "a form field was sent twice"
        return dict(pairs), {}
    assert content_type.startswith("multipart/form-data"), content_type
    parsed = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    )
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in parsed.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def router(
    seen: Seen, answers: dict[str, Any], *, status: int = 200
) -> Callable[[httpx.Request], httpx.Response]:
    """Answer by path; a list of answers is consumed in order."""

    def handler(request: httpx.Request) -> httpx.Response:
        path, _ = seen.record(request)
        answer = answers[path] if path != TOKEN_PATH else answers.get(path, TOKEN_OK)
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(status, json=answer)

    return handler


def jpeg(path: Path, size: int = 1000) -> Path:
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * size)
    return path


@pytest.fixture
def tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Switch the process timezone for one test (TZ + time.tzset), restored afterwards."""
    before = os.environ.get("TZ", "UTC")

    def switch(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield switch
    monkeypatch.setenv("TZ", before)
    time.tzset()


# -- SMS form fields -------------------------------------------------------------------------
@pytest.mark.rule("ALIGO-SMS-SEND", "ALIGO-FORM", "ALIGO-CREDS", "ALIGO-SMS-AUTOLMS")
def test_sms_form_fields_field_by_field() -> None:
    seen = Seen()
    client = provider(router(seen, {"/send/": SMS_OK}))
    (result,) = client.send([msg()])
    ((path, fields, files, kind),) = seen.requests
    assert path == "/send/" and kind == "application/x-www-form-urlencoded" and not files
    assert fields == {
        "key": "SECRETKEY123",
        "user_id": "kmsguser",
        "sender": "0212345678",
        "receiver": "01012345678",
        "msg": "점검 안내",
        "msg_type": "SMS",
    }
    assert "testmode_yn" not in fields and "title" not in fields and "rdate" not in fields
    assert result.accepted and result.status is DeliveryStatus.SENT
    assert result.provider_message_id == "sms:123456789:01012345678"
    assert result.group_id == "123456789"


@pytest.mark.rule("ALIGO-HOSTS")
def test_sms_goes_to_the_configured_sms_host() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(f"{request.url.host}:{request.url.port}")
        return httpx.Response(200, json=SMS_OK)

    provider(handler).send([msg()])
    assert hosts == ["127.0.0.1:9001"]


@pytest.mark.rule("ALIGO-SMS-TITLE", "ALIGO-SMS-TEST", "ALIGO-SENDER")
def test_lms_title_message_sender_and_testmode_only_when_configured() -> None:
    seen = Seen()
    client = provider(router(seen, {"/send/": SMS_OK}), testmode=True)
    client.send([msg(MessageType.LMS, subject="공지", sender="0311112222", text="길다 " * 30)])
    fields = seen.requests[0][1]
    assert (fields["msg_type"], fields["title"], fields["sender"]) == ("LMS", "공지", "0311112222")
    assert fields["testmode_yn"] == "Y"


@pytest.mark.parametrize(
    ("zone", "offset_hours"), [("UTC", 0), ("America/New_York", -5), ("Asia/Seoul", 9)]
)
@pytest.mark.rule("ALIGO-SMS-RESERVE", "ALIGO-TZ")
def test_schedule_is_korean_time_whatever_the_machine_timezone(
    zone: str, offset_hours: int, tz: Callable[[str], None]
) -> None:
    tz(zone)
    local = datetime(2026, 11, 22, tzinfo=UTC).astimezone().utcoffset()
    assert local == timedelta(hours=offset_hours)  # the machine's zone really changed
    seen = Seen()
    client = provider(router(seen, {"/send/": SMS_OK}))
    at = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 2026-11-23 00:30 KST
    (result,) = client.send([msg(scheduled_at=at)])
    fields = seen.requests[0][1]
    assert (fields["rdate"], fields["rtime"]) == ("20261123", "0030")
    assert result.status is DeliveryStatus.PENDING
    assert kakao_senddate(at) == "20261123003000"


def test_schedule_formatting_rounds_seconds_up() -> None:
    # 23:59:30 KST rounds up to midnight: the vendor never sends earlier than asked
    assert sms_schedule(datetime(2026, 11, 22, 14, 59, 30, tzinfo=UTC)) == {
        "rdate": "20261123",
        "rtime": "0000",
    }
    assert sms_schedule(datetime(2026, 11, 22, 5, 7, tzinfo=UTC)) == {
        "rdate": "20261122",
        "rtime": "1407",
    }


@pytest.mark.rule("ALIGO-SMS-RESERVE")
def test_sms_schedule_must_be_ten_minutes_ahead() -> None:
    client = provider(lambda r: pytest.fail("no request expected"))
    with pytest.raises(InvalidInput) as info:
        client.validate(msg(scheduled_at=NOW + timedelta(minutes=9, seconds=59)))
    assert (info.value.code, info.value.field) == ("SCHEDULE_OUTSIDE_WINDOW", "at")
    assert "10 minutes" in info.value.message and "10:12 KST" in info.value.message
    client.validate(msg(scheduled_at=NOW + timedelta(minutes=10)))
    client.validate(msg(scheduled_at=NOW + timedelta(days=400)))  # no documented maximum


def test_a_schedule_that_became_too_soon_or_passed_at_send_time() -> None:
    seen = Seen()
    client = provider(router(seen, {"/send/": [SMS_OK]}))
    soon, passed = client.send(
        [
            msg(mid="soon", scheduled_at=NOW + timedelta(minutes=3)),
            msg(mid="late", to="01099998888", text="다른", scheduled_at=NOW - timedelta(minutes=1)),
        ]
    )
    assert not soon.accepted and soon.error_code == "SCHEDULE_OUTSIDE_WINDOW"
    assert not soon.retryable
    ((_, fields, _, _),) = seen.requests
    assert "rdate" not in fields and fields["receiver"] == "01099998888"
    assert passed.accepted and passed.status is DeliveryStatus.SENT
    assert [w.code for w in passed.warnings] == ["SCHEDULE_PASSED"]


# -- batching --------------------------------------------------------------------------------
@pytest.mark.rule("ALIGO-SMS-SEND")
def test_identical_texts_share_one_request_with_comma_separated_receivers() -> None:
    seen = Seen()
    answer = {**SMS_OK, "success_cnt": 3}
    client = provider(router(seen, {"/send/": answer}))
    numbers = ["01011110000", "01022220000", "01033330000"]
    results = client.send([msg(mid=f"m{i}", to=n) for i, n in enumerate(numbers)])
    assert seen.paths == ["/send/"]
    assert seen.requests[0][1]["receiver"] == ",".join(numbers)
    assert [r.provider_message_id for r in results] == [f"sms:123456789:{n}" for n in numbers]


def test_batch_size_limits_receivers_per_request() -> None:
    seen = Seen()
    client = provider(router(seen, {"/send/": [SMS_OK, SMS_OK, SMS_OK]}), batch_size=2)
    client.send([msg(mid=f"m{i}", to=f"0101111000{i}") for i in range(5)])
    assert [f["receiver"].count(",") + 1 for _, f, _, _ in seen.requests] == [2, 2, 1]


def test_one_receiver_never_appears_twice_in_a_request() -> None:
    seen = Seen()
    client = provider(router(seen, {"/send/": [SMS_OK, {**SMS_OK, "msg_id": "222"}]}))
    first, second = client.send([msg(mid="a"), msg(mid="b")])
    assert [f["receiver"] for _, f, _, _ in seen.requests] == ["01012345678", "01012345678"]
    assert first.provider_message_id != second.provider_message_id


@pytest.mark.rule("ALIGO-SMS-MASS")
def test_different_texts_go_through_send_mass() -> None:
    seen = Seen()
    answer = {**SMS_OK, "success_cnt": 3, "msg_type": "SMS"}
    client = provider(router(seen, {"/send_mass/": answer}))
    texts = ["가 안내", "나 안내", "다 안내"]
    numbers = ["01011110000", "01022220000", "01033330000"]
    results = client.send(
        [
            msg(mid=f"m{i}", to=n, text=t)
            for i, (n, t) in enumerate(zip(numbers, texts, strict=True))
        ]
    )
    ((path, fields, _, _),) = seen.requests
    assert path == "/send_mass/"
    assert fields == {
        "key": "SECRETKEY123",
        "user_id": "kmsguser",
        "sender": "0212345678",
        "msg_type": "SMS",
        "rec_1": "01011110000",
        "msg_1": "가 안내",
        "rec_2": "01022220000",
        "msg_2": "나 안내",
        "rec_3": "01033330000",
        "msg_3": "다 안내",
        "cnt": "3",
    }
    assert all(r.accepted for r in results)
    assert results[2].provider_message_id == "sms:123456789:01033330000"


@pytest.mark.rule("ALIGO-SMS-MASS")
def test_send_mass_takes_at_most_500_per_request() -> None:
    seen = Seen()
    client = provider(router(seen, {"/send_mass/": [SMS_OK], "/send/": [SMS_OK]}))
    results = client.send([msg(mid=f"m{i}", to=f"010{i:08d}", text=f"t{i}") for i in range(501)])
    assert seen.paths == ["/send_mass/", "/send/"]
    assert seen.requests[0][1]["cnt"] == "500" and seen.requests[0][1]["rec_500"] == "01000000499"
    assert seen.requests[1][1]["receiver"] == "01000000500"
    assert all(r.accepted for r in results)


@pytest.mark.rule("ALIGO-MMS-IMAGE", "ALIGO-FORM")
def test_mms_image_is_a_multipart_file_part(tmp_path: Path) -> None:
    image = jpeg(tmp_path / "poster.jpg")
    seen = Seen()
    client = provider(router(seen, {"/send/": {**SMS_OK, "msg_type": "MMS"}}))
    (result,) = client.send([msg(MessageType.MMS, image=str(image), subject="행사")])
    ((path, fields, files, kind),) = seen.requests
    assert path == "/send/" and kind == "multipart/form-data"
    assert files == {"image": ("poster.jpg", image.read_bytes())}
    assert fields["msg_type"] == "MMS" and fields["title"] == "행사"
    assert fields["key"] == "SECRETKEY123" and fields["msg"] == "점검 안내"
    assert "image" not in fields  # never a URL string
    assert result.accepted


@pytest.mark.rule("ALIGO-MMS-IMAGE")
def test_image_checks_before_any_request(tmp_path: Path) -> None:
    client = provider(lambda r: pytest.fail("no request expected"))
    png = tmp_path / "p.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    gif = tmp_path / "p.gif"
    gif.write_bytes(b"GIF87a" + b"0" * 10)
    bmp = tmp_path / "p.bmp"
    bmp.write_bytes(b"BM" + b"0" * 10)
    big = jpeg(tmp_path / "big.jpg", 300 * 1024)
    cases = [
        (str(tmp_path / "missing.jpg"), MessageType.MMS, "IMAGE_NOT_FOUND"),
        (str(bmp), MessageType.MMS, "IMAGE_FORMAT"),
        (str(big), MessageType.MMS, "IMAGE_TOO_LARGE"),
        (str(gif), MessageType.FRIENDTALK, "IMAGE_FORMAT"),
    ]
    for path, kind, code in cases:
        with pytest.raises(InvalidInput) as info:
            client.validate(msg(kind, image=path))
        assert (info.value.code, info.value.field) == (code, "image")
    client.validate(msg(MessageType.FRIENDTALK, image=str(big)))  # 500 KB for FriendTalk
    for image in (png, gif):  # MMS: JPEG, PNG or GIF
        client.validate(msg(MessageType.MMS, image=str(image)))
    client.validate(msg(MessageType.FRIENDTALK, image=str(png)))


# -- validation ------------------------------------------------------------------------------
def test_validate_needs_a_sender_a_sender_key_and_a_korean_number() -> None:
    client = provider(lambda r: pytest.fail("no request"), sender=None, sender_key=None)
    with pytest.raises(InvalidInput) as info:
        client.validate(msg())
    assert (info.value.code, info.value.field) == ("MISSING_SENDER", "from")
    client.validate(msg(sender="0212345678"))
    for kind in (MessageType.ALIMTALK, MessageType.FRIENDTALK):
        with pytest.raises(ConfigError) as config:
            client.validate(msg(kind, template_id="TP_ORDER"))
        assert (config.value.code, config.value.field) == ("MISSING_SETTING", "sender_key")
    with pytest.raises(UnsupportedFeature):
        client.validate(msg(to="4155550100", country="1", sender="0212345678"))


def test_kakao_needs_a_sender_too() -> None:
    client = provider(lambda r: pytest.fail("no request"), sender=None)
    fallback = Failover(text="주문 완료", type=MessageType.SMS)
    for message in (alimtalk(failover=fallback), msg(MessageType.FRIENDTALK)):
        with pytest.raises(InvalidInput) as info:
            client.validate(message)
        assert info.value.code == "MISSING_SENDER"
    # unvalidated through send: that message's result, no request
    (result,) = client.send([msg(MessageType.FRIENDTALK)])
    assert not result.accepted and result.error_code == "MISSING_SENDER"


# -- AlimTalk --------------------------------------------------------------------------------
@pytest.mark.rule("ALIGO-AT-BUTTON", "ALIGO-KAKAO-TPL", "ALIGO-AT-SEND")
def test_alimtalk_renders_the_approved_template_and_sends_its_buttons() -> None:
    seen = Seen()
    client = provider(
        router(seen, {"/akv10/template/list/": TEMPLATE_LIST, "/akv10/alimtalk/send/": KAKAO_OK})
    )
    message = alimtalk()
    client.validate(message)
    (result,) = client.send([message])
    assert seen.paths == ["/akv10/template/list/", "/akv10/alimtalk/send/"]  # cached once
    lookup = seen.requests[0][1]
    assert lookup == {
        "apikey": "SECRETKEY123",
        "userid": "kmsguser",
        "senderkey": "SK0123456789abcdef",
        "tpl_code": "TP_ORDER",
    }
    fields = seen.requests[1][1]
    button = json.loads(fields.pop("button_1"))
    assert fields == {
        "apikey": "SECRETKEY123",
        "userid": "kmsguser",
        "senderkey": "SK0123456789abcdef",
        "tpl_code": "TP_ORDER",
        "sender": "0212345678",
        "receiver_1": "01012345678",
        "subject_1": "알림톡",
        "message_1": "홍길동님, 주문번호 A-1 결제가 완료되었습니다.",
    }
    assert button == {
        "button": [
            {
                "name": "주문 조회",
                "linkType": "WL",
                "linkTypeName": "웹링크",
                "linkMo": "https://shop.example/o/A-1",
                "linkPc": "https://shop.example/o/A-1",
            }
        ]
    }
    assert result.accepted and result.status is DeliveryStatus.SENT
    assert result.provider_message_id == "kakao:987654321:01012345678"
    assert not result.native_failover


@pytest.mark.rule("ALIGO-AT-FAILOVER", "ALIGO-AT-SENDDATE", "ALIGO-KAKAO-TEST")
def test_alimtalk_failover_fields_only_with_failover_and_scheduled_in_kst() -> None:
    seen = Seen()
    client = provider(
        router(
            seen,
            {
                "/akv10/template/list/": TEMPLATE_LIST,
                "/akv10/alimtalk/send/": [KAKAO_OK, KAKAO_OK],
            },
        ),
        testmode=True,
    )
    fallback = Failover(text="주문 A-1 결제 완료", type=MessageType.SMS)
    at = datetime(2026, 11, 22, 3, 0, 5, tzinfo=UTC)
    with_failover, plain = client.send(
        [
            alimtalk(mid="f", failover=fallback, scheduled_at=at),
            alimtalk(mid="p", to="01099998888"),
        ]
    )
    first, second = (fields for _, fields, _, _ in seen.requests[1:])
    assert first["failover"] == "Y"
    assert (first["fsubject_1"], first["fmessage_1"]) == ("알림톡", "주문 A-1 결제 완료")
    assert first["senddate"] == "20261122120005" and first["testMode"] == "Y"
    assert not {"failover", "fsubject_1", "fmessage_1", "senddate"} & set(second)
    assert with_failover.native_failover and with_failover.status is DeliveryStatus.PENDING
    assert not plain.native_failover


@pytest.mark.rule("ALIGO-AT-BATCH", "ALIGO-AT-SEND")
def test_alimtalk_many_receivers_in_one_request() -> None:
    seen = Seen()
    client = provider(
        router(seen, {"/akv10/template/list/": TEMPLATE_LIST, "/akv10/alimtalk/send/": KAKAO_OK})
    )
    results = client.send(
        [
            alimtalk(mid="a", variables={"고객명": "가", "주문번호": "1"}),
            alimtalk(mid="b", to="01099998888", variables={"고객명": "나", "주문번호": "2"}),
        ]
    )
    fields = seen.requests[1][1]
    assert (fields["receiver_1"], fields["receiver_2"]) == ("01012345678", "01099998888")
    assert fields["message_2"] == "나님, 주문번호 2 결제가 완료되었습니다."
    assert json.loads(fields["button_2"])["button"][0]["linkMo"] == "https://shop.example/o/2"
    assert [r.provider_message_id for r in results] == [
        "kakao:987654321:01012345678",
        "kakao:987654321:01099998888",
    ]


def test_template_without_buttons_sends_no_button() -> None:
    seen = Seen()
    client = provider(
        router(
            seen,
            {"/akv10/template/list/": PLAIN_TEMPLATE_LIST, "/akv10/alimtalk/send/": KAKAO_OK},
        )
    )
    client.send([alimtalk(template_id="TP_PLAIN", variables={"code": "4821"})])
    fields = seen.requests[1][1]
    assert fields["message_1"] == "인증번호는 [4821] 입니다." and "button_1" not in fields


def test_missing_variables_fail_fast_listing_every_name() -> None:
    seen = Seen()
    client = provider(router(seen, {"/akv10/template/list/": TEMPLATE_LIST}))
    with pytest.raises(InvalidInput) as info:
        client.validate(alimtalk(variables={}))
    assert info.value.code == "MISSING_VARIABLE"
    assert info.value.value == "고객명, 주문번호"
    assert seen.paths == ["/akv10/template/list/"]  # nothing was sent
    # through send (no validate first) it is that message's result, and nothing is sent
    (result,) = client.send([alimtalk(variables={"고객명": "홍길동"})])
    assert not result.accepted and result.error_code == "MISSING_VARIABLE"
    assert "주문번호" in (result.error_message or "")
    assert seen.paths == ["/akv10/template/list/"]


def test_unknown_or_unapproved_template_is_refused() -> None:
    pending = json.loads(json.dumps(TEMPLATE_LIST))
    pending["list"][0]["inspStatus"] = "REQ"
    client = provider(router(Seen(), {"/akv10/template/list/": pending}))
    with pytest.raises(InvalidInput) as info:
        client.validate(alimtalk())
    assert info.value.code == "TEMPLATE_NOT_APPROVED"
    empty = {"code": 0, "message": "정상적으로 조회되었습니다.", "list": []}
    client = provider(router(Seen(), {"/akv10/template/list/": empty}))
    with pytest.raises(InvalidInput) as info:
        client.validate(alimtalk())
    assert (info.value.code, info.value.value) == ("TEMPLATE_NOT_FOUND", "TP_ORDER")


def test_render_template_reports_each_missing_name_once() -> None:
    text, missing = render_template("#{a} #{b} #{a} #{ c }", {"b": "2"})
    assert text == "#{a} 2 #{a} #{ c }" and missing == ["a", "c"]


# -- FriendTalk ------------------------------------------------------------------------------
@pytest.mark.rule("ALIGO-FT-SEND", "ALIGO-FT-STATUS")
def test_friendtalk_path_fields_and_image_part(tmp_path: Path) -> None:
    image = jpeg(tmp_path / "ft.jpg")
    seen = Seen()
    answer = {**KAKAO_OK, "info": {**KAKAO_OK["info"], "type": "FT", "mid": "555"}}
    client = provider(router(seen, {"/akv10/friend/send/": answer}))
    (result,) = client.send([msg(MessageType.FRIENDTALK, text="쿠폰 도착", image=str(image))])
    ((path, fields, files, kind),) = seen.requests
    assert path == "/akv10/friend/send/" and kind == "multipart/form-data"
    assert files == {"image": ("ft.jpg", image.read_bytes())}
    assert fields == {
        "apikey": "SECRETKEY123",
        "userid": "kmsguser",
        "senderkey": "SK0123456789abcdef",
        "sender": "0212345678",
        "receiver_1": "01012345678",
        "subject_1": "친구톡",
        "message_1": "쿠폰 도착",
    }
    assert result.provider_message_id == "kakao:555:01012345678"


# -- success detection -----------------------------------------------------------------------
@pytest.mark.parametrize("code", [0, "0"])
@pytest.mark.rule("ALIGO-AT-REPLY")
def test_kakao_success_is_code_zero_number_or_string(code: Any) -> None:
    answer = {**KAKAO_OK, "code": code}
    client = provider(
        router(Seen(), {"/akv10/template/list/": TEMPLATE_LIST, "/akv10/alimtalk/send/": answer})
    )
    (result,) = client.send([alimtalk()])
    assert result.accepted and result.provider_message_id == "kakao:987654321:01012345678"


@pytest.mark.parametrize("code", [1, "1"])
@pytest.mark.rule("ALIGO-SMS-REPLY")
def test_sms_success_is_result_code_one_number_or_string(code: Any) -> None:
    answer = {**SMS_OK, "result_code": code, "msg_id": 123456789}
    (result,) = provider(router(Seen(), {"/send/": answer})).send([msg()])
    assert result.accepted and result.provider_message_id == "sms:123456789:01012345678"


def test_kakao_answer_with_only_result_code_is_not_taken_for_success() -> None:
    # a Kakao answer shaped like an SMS-host one; the real API answers with `code`
    answer = {"result_code": "0", "msg_id": "1"}
    client = provider(
        router(Seen(), {"/akv10/template/list/": TEMPLATE_LIST, "/akv10/alimtalk/send/": answer})
    )
    with pytest.raises(ProviderError) as info:
        client.send([alimtalk()])
    assert info.value.code == "PROVIDER_BAD_RESPONSE" and info.value.outcome_unknown


def test_partial_error_counts_become_a_warning() -> None:
    answer = {**SMS_OK, "success_cnt": 1, "error_cnt": 1}
    results = provider(router(Seen(), {"/send/": answer})).send(
        [msg(mid="a"), msg(mid="b", to="01099998888")]
    )
    assert all(r.accepted for r in results)
    assert "PARTIAL_ERRORS" in [w.code for w in results[0].warnings]


# -- error mapping ---------------------------------------------------------------------------
def test_negative_result_code_is_rejected_with_aligo_code_and_message() -> None:
    answer = {"result_code": "-109", "message": "발신번호가 등록되지 않았습니다.\n다시 확인"}
    with pytest.raises(ProviderError) as info:
        provider(router(Seen(), {"/send/": answer})).send([msg()])
    error = info.value
    assert (error.code, error.provider_code, error.retryable) == (
        "PROVIDER_REJECTED",
        "-109",
        False,
    )
    assert "-109" in error.message and "발신번호가 등록되지 않았습니다" in error.message
    assert "\n" not in error.message and "SECRETKEY123" not in str(error.to_dict())


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/send/", {"result_code": -101, "message": "인증오류입니다."}),
        ("/akv10/friend/send/", {"code": -101, "message": "인증오류입니다."}),
    ],
)
def test_auth_error_is_an_authentication_error(path: str, answer: dict[str, Any]) -> None:
    kind = MessageType.SMS if path == "/send/" else MessageType.FRIENDTALK
    with pytest.raises(AuthenticationError) as info:
        provider(router(Seen(), {path: answer})).send([msg(kind)])
    assert info.value.exit_code == 2 and info.value.provider_code == "-101"
    assert "api_key" in (info.value.hint or "") and "SECRETKEY123" not in info.value.message


def test_balance_error_is_insufficient_balance() -> None:
    answer = {"result_code": "-201", "message": "잔액이 부족합니다."}
    with pytest.raises(ProviderError) as info:
        provider(router(Seen(), {"/send/": answer})).send([msg()])
    assert (info.value.code, info.value.retryable) == ("INSUFFICIENT_BALANCE", False)


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retryable", "wait"),
    [
        (
            400,
            {"result_code": "-99", "message": "잘못된 요청"},
            {},
            "PROVIDER_REJECTED",
            False,
            None,
        ),
        (404, "<html><body>Not Found</body></html>", {}, "PROVIDER_REJECTED", False, None),
        (500, {"message": "internal"}, {}, "PROVIDER_ERROR", True, None),
        (
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            {},
            "PROVIDER_ERROR",
            True,
            None,
        ),
        (503, "busy", {"Retry-After": "4"}, "SERVICE_UNAVAILABLE", True, 4.0),
        (429, {"message": "slow down"}, {"Retry-After": "7"}, "RATE_LIMITED", True, 7.0),
    ],
)
def test_http_errors(
    status: int, body: Any, headers: dict[str, str], code: str, retryable: bool, wait: Any
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    with pytest.raises(ProviderError) as info:
        provider(handler).send([msg()])
    error = info.value
    assert (error.code, error.http_status, error.retryable, error.retry_after) == (
        code,
        status,
        retryable,
        wait,
    )
    assert not error.outcome_unknown and "\n" not in error.message
    if status == 502:
        assert "non-JSON" in error.message and "Bad Gateway" in error.message


def test_html_answer_with_200_on_a_send_is_a_clear_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html><body>점검 중입니다</body></html>")

    with pytest.raises(ProviderError) as info:
        provider(handler).send([msg()])
    assert info.value.code == "PROVIDER_BAD_RESPONSE" and info.value.outcome_unknown
    assert "non-JSON" in info.value.message and "점검 중입니다" in info.value.message
    with pytest.raises(ProviderError) as lookup:
        provider(handler).balance()
    assert lookup.value.code == "PROVIDER_BAD_RESPONSE" and not lookup.value.outcome_unknown


def test_connect_failure_is_retryable_and_surely_not_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ProviderError) as info:
        provider(handler).send([msg()])
    assert info.value.retryable and not info.value.outcome_unknown
    assert info.value.code == "NETWORK_ERROR"


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_losing_the_answer_after_sending_is_an_unknown_outcome(
    exc: type[httpx.TransportError],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("lost", request=request)

    with pytest.raises(ProviderError) as info:
        provider(handler).send([msg()])
    assert info.value.outcome_unknown and not info.value.retryable
    with pytest.raises(ProviderError) as lookup:
        provider(handler).fetch_statuses(["sms:1:01012345678"])
    assert lookup.value.retryable and not lookup.value.outcome_unknown


def test_a_later_request_failing_keeps_what_was_accepted() -> None:
    seen = Seen()
    answers = {
        "/send/": [SMS_OK, httpx.Response(500, json={"message": "oops"})],
        "/send_mass/": [SMS_OK],
    }
    client = provider(router(seen, answers))
    results = client.send(
        [
            msg(mid="a"),
            msg(mid="b", to="01099998888"),  # same text: first /send/
            msg(mid="c", text="only one", sender="0311112222"),  # second /send/ fails
            msg(mid="d", text="never", sender="0411112222"),  # not attempted
            msg(mid="e", text="never 2", to="01099998888", sender="0411112222"),
        ]
    )
    assert seen.paths == ["/send/", "/send/"]
    assert [r.accepted for r in results] == [True, True, False, False, False]
    assert (results[2].error_code, results[2].retryable) == ("PROVIDER_ERROR", True)
    assert (results[3].error_code, results[3].retryable) == ("NOT_SENT", True)


def test_a_rejected_group_does_not_stop_the_others() -> None:
    seen = Seen()
    rejected = {"code": 509, "message": "요청 정보가 올바르지 않습니다."}
    lists = [TEMPLATE_LIST, PLAIN_TEMPLATE_LIST]
    client = provider(
        router(
            seen, {"/akv10/template/list/": lists, "/akv10/alimtalk/send/": [rejected, KAKAO_OK]}
        )
    )
    bad, good = client.send(
        [alimtalk(mid="x"), alimtalk(mid="y", template_id="TP_PLAIN", variables={"code": "1"})]
    )
    assert not bad.accepted and (bad.error_code, bad.provider_code) == ("PROVIDER_REJECTED", "509")
    assert good.accepted


# -- status lookups --------------------------------------------------------------------------
@pytest.mark.rule("ALIGO-SMS-DETAIL")
def test_sms_statuses_are_matched_by_mid_and_receiver() -> None:
    seen = Seen()
    client = provider(router(seen, {"/sms_list/": SMS_LIST}))
    ids = [
        "sms:123456789:01012345678",
        "sms:123456789:01099998888",
        "sms:123456789:01077776666",
        "sms:123456789:01000000000",  # not listed: absent
        "mock-123",  # not ours: ignored
    ]
    found = client.fetch_statuses(ids)
    ((path, fields, _, _),) = seen.requests
    assert path == "/sms_list/"
    assert (fields["key"], fields["user_id"], fields["mid"]) == (
        "SECRETKEY123",
        "kmsguser",
        "123456789",
    )
    assert set(found) == set(ids[:3])
    delivered = found[ids[0]]
    assert delivered.status is DeliveryStatus.DELIVERED
    assert delivered.provider_status_message == "발송완료"
    assert delivered.sent_at == int(datetime(2026, 11, 22, 1, 2, 5, tzinfo=UTC).timestamp() * 1000)
    assert found[ids[1]].status is DeliveryStatus.FAILED
    assert found[ids[1]].provider_status_message == "결번"
    assert found[ids[2]].status is DeliveryStatus.SENT


@pytest.mark.rule("ALIGO-KAKAO-DETAIL")
def test_kakao_statuses_are_matched_by_mid_and_phone() -> None:
    seen = Seen()
    client = provider(router(seen, {"/akv10/history/detail/": HISTORY_DETAIL}))
    ids = [
        "kakao:987654321:01012345678",
        "kakao:987654321:01055554444",
        "kakao:987654321:01033332222",
    ]
    found = client.fetch_statuses(ids)
    ((path, fields, _, _),) = seen.requests
    assert path == "/akv10/history/detail/"
    assert (fields["apikey"], fields["userid"], fields["mid"]) == (
        "SECRETKEY123",
        "kmsguser",
        "987654321",
    )
    ok, failed, waiting = (found[i] for i in ids)
    assert ok.status is DeliveryStatus.DELIVERED and ok.delivered_at is not None
    assert failed.status is DeliveryStatus.FAILED
    assert (failed.provider_status_code, failed.provider_status_message) == (
        "3018",
        "카카오톡 미사용자",
    )
    assert waiting.status is DeliveryStatus.PENDING


def test_one_failed_lookup_leaves_only_its_messages_unanswered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = {
        "/sms_list/": httpx.Response(500, text="down"),
        "/akv10/history/detail/": HISTORY_DETAIL,
    }
    ids = ["sms:1:01012345678", "kakao:987654321:01012345678"]
    with caplog.at_level(logging.WARNING):
        found = provider(router(Seen(), answers)).fetch_statuses(ids)
    assert list(found) == ["kakao:987654321:01012345678"]
    (said,) = [r.getMessage() for r in caplog.records]  # the part that failed is said
    assert said.startswith("Aligo lookup of sms id 1 failed: ")
    # every lookup failed: raised, and said once, by the caller, not here as well
    caplog.clear()
    with caplog.at_level(logging.WARNING), pytest.raises(ProviderError):
        provider(router(Seen(), answers)).fetch_statuses(ids[:1])
    assert caplog.records == []


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("발송완료", DeliveryStatus.DELIVERED),
        ("전송중", DeliveryStatus.SENT),
        ("예약대기", DeliveryStatus.PENDING),
        ("예약취소", DeliveryStatus.CANCELLED),
        ("수신거부", DeliveryStatus.FAILED),
        ("전송실패", DeliveryStatus.FAILED),
        ("알수없음", None),
        ("", None),
        (None, None),
    ],
)
def test_sms_state_mapping(state: str | None, status: DeliveryStatus | None) -> None:
    assert map_sms_state(state) is status


def test_provider_message_id_format() -> None:
    assert split_provider_message_id("sms:123:01012345678") == ("sms", "123", "01012345678")
    assert split_provider_message_id("kakao:9:010") == ("kakao", "9", "010")
    assert split_provider_message_id("M4V2026") is None
    assert split_provider_message_id("sms::010") is None


# -- balance, repr ---------------------------------------------------------------------------
@pytest.mark.rule("ALIGO-SMS-REMAIN")
def test_balance_reports_the_sms_count() -> None:
    seen = Seen()
    balance = provider(router(seen, {"/remain/": REMAIN})).balance()
    assert (balance.amount, balance.currency) == (542.0, "SMS")
    assert balance.raw is not None and balance.raw["LMS_CNT"] == 195
    assert seen.requests[0][1] == {"key": "SECRETKEY123", "user_id": "kmsguser"}


def test_balance_auth_failure() -> None:
    answer = {"result_code": "-101", "message": "인증오류입니다."}
    with pytest.raises(AuthenticationError):
        provider(router(Seen(), {"/remain/": answer})).balance()


def test_repr_never_shows_the_key() -> None:
    client = provider(lambda r: httpx.Response(200, json={}))
    assert "SECRETKEY123" not in repr(client) and "aligo" in repr(client)


def test_own_client_is_closed_but_an_injected_one_is_not() -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    AligoProvider("aligo", SETTINGS, http).close()
    assert not http.is_closed
    own = AligoProvider("aligo", SETTINGS)
    own.close()
    assert own.http.is_closed


# -- the Kakao token -------------------------------------------------------------------------
@pytest.mark.rule("ALIGO-KAKAO-TOKEN", "ALIGO-KAKAO-TOKEN-REPLY", "ALIGO-KAKAO-TOKEN-USE")
def test_a_kakao_token_is_made_once_and_sent_on_every_kakao_call() -> None:
    seen = Seen()
    answers = {
        "/akv10/template/list/": TEMPLATE_LIST,
        "/akv10/alimtalk/send/": KAKAO_OK,
        "/akv10/history/detail/": HISTORY_DETAIL,
        "/send/": SMS_OK,
    }
    client = provider(router(seen, answers))
    client.send([alimtalk(), msg(mid="s")])
    client.fetch_statuses(["kakao:987654321:01012345678"])
    assert seen.token_requests == [{"apikey": "SECRETKEY123", "userid": "kmsguser"}]
    assert seen.paths == [
        "/akv10/template/list/",
        "/send/",
        "/akv10/alimtalk/send/",
        "/akv10/history/detail/",
    ]
    assert seen.tokens == ["TKN-1", "TKN-1", "TKN-1"]  # the SMS host gets none
    assert "token" not in seen.requests[1][1]


def test_the_token_is_shared_through_the_cache_and_sealed_there() -> None:
    cache = MemoryCache(lambda: NOW)
    first_seen, second_seen = Seen(), Seen()
    answers = {"/akv10/template/list/": TEMPLATE_LIST}
    first = provider(router(first_seen, dict(answers)))
    first.use_cache(cache)
    first.validate(alimtalk())
    second = provider(router(second_seen, dict(answers)))
    second.use_cache(cache)
    second.validate(alimtalk())
    assert len(first_seen.token_requests) == 1 and second_seen.token_requests == []
    assert second_seen.tokens == ["TKN-1"]
    (stored,) = [v for v, _ in cache._values.values()]
    assert "TKN-1" not in stored and unseal("SECRETKEY123", stored) == "TKN-1"
    assert unseal("OTHERKEY", stored) is None  # another API key cannot read it
    other_key = provider(router(Seen(), dict(answers)), api_key="OTHERKEY")
    other_key.use_cache(cache)
    other_key.validate(alimtalk())  # its own cache key and token: no error


@pytest.mark.rule("ALIGO-KAKAO-TOKEN-USE", "ALIGO-KAKAO-CODES")
def test_a_refused_cached_token_is_replaced_once() -> None:
    cache = MemoryCache(lambda: NOW)
    cache.put("unused", "x", expires_at=NOW)  # other entries do not matter
    refused = {"code": -99, "message": "토큰이 만료되었습니다."}
    warm = provider(router(Seen(), {"/akv10/template/list/": TEMPLATE_LIST}))
    warm.use_cache(cache)
    warm.validate(alimtalk())  # caches TKN-1
    seen = Seen()
    fresh = {**TOKEN_OK, "token": "TKN-2"}
    answers: dict[str, Any] = {
        "/akv10/template/list/": [refused, TEMPLATE_LIST],
        TOKEN_PATH: fresh,
    }
    client = provider(router(seen, answers))
    client.use_cache(cache)
    client.validate(alimtalk())
    assert seen.tokens == ["TKN-1", "TKN-2"] and len(seen.token_requests) == 1
    # a fresh token refused again is an authentication error, not a loop
    again = Seen()
    stubborn = provider(
        router(again, {"/akv10/template/list/": [refused, refused], TOKEN_PATH: fresh})
    )
    stubborn.use_cache(MemoryCache(lambda: NOW))
    with pytest.raises(AuthenticationError):
        stubborn.validate(alimtalk())
    assert len(again.requests) == 1 and len(again.token_requests) == 1


def test_a_token_the_vendor_will_not_make_is_an_authentication_error() -> None:
    seen = Seen()
    denied = {"code": -99, "message": "계정 인증에 실패하였습니다."}
    client = provider(router(seen, {TOKEN_PATH: denied}))
    with pytest.raises(AuthenticationError) as info:
        client.validate(alimtalk())
    assert "SECRETKEY123" not in str(info.value) and seen.requests == []


@pytest.mark.rule("ALIGO-FT-SEND")
def test_friendtalk_image_carries_its_link_when_configured(tmp_path: Path) -> None:
    seen = Seen()
    friend_ok = {**KAKAO_OK, "info": {**KAKAO_OK["info"], "type": "FT"}}
    client = provider(
        router(seen, {"/akv10/friend/send/": friend_ok}),
        friendtalk_image_link="https://shop.example/event",
    )
    image = jpeg(tmp_path / "e.jpg")
    client.send([msg(MessageType.FRIENDTALK, image=str(image))])
    ((path, fields, files, _),) = seen.requests
    assert path == "/akv10/friend/send/" and fields["image_url"] == "https://shop.example/event"
    assert files["image"][0] == "e.jpg"


def test_a_process_reads_the_shared_token_again_after_a_few_minutes() -> None:
    now = [NOW]
    cache = MemoryCache(lambda: now[0])
    reads: list[str] = []

    class Counting(MemoryCache):
        def get(self, key: str) -> str | None:
            reads.append(key)
            return cache.get(key)

        def put(self, key: str, value: str, *, expires_at: datetime) -> None:
            cache.put(key, value, expires_at=expires_at)

    warm = provider(router(Seen(), {"/akv10/template/list/": TEMPLATE_LIST}))
    warm.use_cache(cache)
    warm.validate(alimtalk())  # another process made and cached the token
    seen = Seen()
    http = httpx.Client(
        transport=httpx.MockTransport(router(seen, {"/akv10/history/detail/": HISTORY_DETAIL}))
    )
    client = AligoProvider("aligo", SETTINGS, http, clock=lambda: now[0])
    client.use_cache(Counting())
    for _ in range(3):
        client.fetch_statuses(["kakao:987654321:01012345678"])
    assert len(reads) == 1 and seen.token_requests == []  # held in the process
    now[0] += timedelta(minutes=6)
    client.fetch_statuses(["kakao:987654321:01012345678"])
    assert len(reads) == 2 and seen.tokens == ["TKN-1"] * 4
