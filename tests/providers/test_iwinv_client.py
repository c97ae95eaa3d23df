"""IWINV client: requests field by field, answers and error mapping, history matching, balance.

Everything goes through httpx.MockTransport. The answers below are recorded shapes written
from docs/vendors/iwinv.md (IWINV's documented and observed bodies), not from the
client's code.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from kmsg_cli.providers.base import BalanceSource, StatusSource
from kmsg_cli.providers.iwinv import IwinvProvider, sms
from kmsg_cli.providers.iwinv.alimtalk import template_params
from kmsg_cli.providers.iwinv.client import auth_header, sms_secret
from kmsg_cli.providers.iwinv.refs import parse_message_id

# 2026-11-22 15:30 UTC is already 2026-11-23 in Korea: ids must carry the Korean day.
NOW = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)
DAY = "20261123"
ALIMTALK = "http://127.0.0.1:9001"
SMS = "http://127.0.0.1:9002"
SETTINGS: dict[str, Any] = {
    "api_key": "api-key",
    "sms_api_key": "sms-api-key",
    "sms_auth_key": "sms-auth-key",
    "sender": "02-1234-5678",
    "sms_company_id": "kmsgcorp",
    "alimtalk_base_url": ALIMTALK,
    "sms_base_url": SMS,
    "batch_size": 1000,
    "connect_timeout": None,
    "read_timeout": None,
    "allow_insecure": None,
}

# -- recorded IWINV answers (docs/vendors/iwinv.md) -------------------------------------------
# IWINV-AT-REPLY: the documented send reply names no seqNo; some answers may carry one.
AT_SENT = {"code": 200, "message": "발송 요청 성공", "success": 1, "fail": 0}
AT_SENT_SEQ = {**AT_SENT, "seqNo": 4821}
NOW_SECOND = "20261123003000"  # NOW in Korea time
AT_IP = {"code": 206, "message": "등록하지 않은 IP에서는 발송되지 않습니다."}
SMS_SENT = {
    "resultCode": 0,
    "message": "전송 성공",
    "requestNo": "202611230030001",
    "msgType": "SMS",
}
SMS_AUTH = {"resultCode": 14, "message": "인증 요청이 올바르지 않습니다."}
GATEWAY_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def at_item(seq: int, phone: str, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "seqNo": seq,
        "phone": phone,
        "callback": "0212345678",
        "templateCode": "TPL_ORDER",
        "sendMessage": "홍길동님, 주문 A-1이 출고되었습니다.",
        "reserve": "N",
        "requestDate": "2026-11-23 00:30:00",
        "sendDate": "2026-11-23 00:30:02",
        "receiveDate": "2026-11-23 00:30:05",
        "statusCode": "OK",
        "statusCodeName": "성공",
        "resendStatus": None,
        "resendStatusName": None,
        "buttons": {"link1": None, "link2": None, "link3": None, "link4": None, "link5": None},
    }
    item.update(fields)
    return item


def sms_item(request_no: str, phone: str, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "requestNo": request_no,
        "companyid": "kmsgcorp",
        "msgType": "SMS",
        "phone": phone,
        "callback": "0212345678",
        "sendStatus": "전송 성공",
        "sendStatusCode": "06",
        "sendStatusMsg": "전송 성공",
        "sendDate": "2026-11-23 00:30:04",
    }
    item.update(fields)
    return item


# -- helpers -------------------------------------------------------------------------------------
Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


class Vendor:
    """A scripted IWINV: answers in order, records every request."""

    def __init__(self, *answers: Answer, templates: bool = False) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.templates = templates  # the answers include the template reads

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer

    def body(self, index: int = 0) -> Any:
        return json.loads(self.requests[index].content)


def ok(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def raw(text: str, status: int, content_type: str = "text/html") -> httpx.Response:
    return httpx.Response(status, text=text, headers={"Content-Type": content_type})


NOT_LISTED = {"code": 200, "message": "ok", "totalCount": 0, "list": []}


def provider(vendor: Vendor, **settings: Any) -> IwinvProvider:
    """A provider on the scripted `vendor`. An AlimTalk's template read (IWINV-AT-TEMPLATES)
    is answered "not listed" here, unless the vendor scripts it (`vendor.templates`)."""

    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/template/" and not vendor.templates:
            return ok(NOT_LISTED)
        return vendor(request)

    http = httpx.Client(transport=httpx.MockTransport(transport))
    return IwinvProvider("iwinv", {**SETTINGS, **settings}, http, clock=lambda: NOW)


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


def alimtalk(
    *,
    to: str = "01012345678",
    mid: str = "a-1",
    text: str = "",
    variables: dict[str, str] | None = None,
    **extra: Any,
) -> Message:
    return msg(
        MessageType.ALIMTALK,
        to=to,
        mid=mid,
        text=text,
        template_id="TPL_ORDER",
        variables=variables or {},
        **extra,
    )


ORDER_TEMPLATE = "#{name}님, 주문 #{order}이 #{status}되었습니다."


@pytest.fixture
def set_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    before = os.environ.get("TZ")

    def apply(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield apply
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def jpeg(path: Path, size: int) -> Path:
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * (size - 4))
    return path


def png(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return path


# -- authentication ------------------------------------------------------------------------------
def test_header_values_match_the_reference_examples() -> None:
    assert auth_header("api-key") == "YXBpLWtleQ=="
    assert sms_secret("sms-api-key", "sms-auth-key") == "c21zLWFwaS1rZXkmc21zLWF1dGgta2V5"


@pytest.mark.rule("IWINV-HOSTS", "IWINV-AT-AUTH", "IWINV-SMS-AUTH")
def test_alimtalk_and_sms_requests_carry_their_own_credentials() -> None:
    vendor = Vendor(ok(AT_SENT), ok(SMS_SENT))
    client = provider(vendor)
    client.send([alimtalk(variables={"code": "1234"})])
    client.send([msg()])
    at_request, sms_request = vendor.requests
    assert str(at_request.url) == f"{ALIMTALK}/api/v2/send/"
    assert at_request.headers["AUTH"] == "YXBpLWtleQ=="
    assert "secret" not in at_request.headers
    assert at_request.headers["Content-Type"].startswith("application/json")
    assert str(sms_request.url) == f"{SMS}/api/v2/send/"
    assert sms_request.headers["secret"] == "c21zLWFwaS1rZXkmc21zLWF1dGgta2V5"
    assert "AUTH" not in sms_request.headers


def test_repr_never_shows_keys() -> None:
    text = repr(provider(Vendor()))
    for secret in ("api-key", "sms-api-key", "sms-auth-key", "YXBpLWtleQ=="):
        assert secret not in text


# -- AlimTalk request ----------------------------------------------------------------------------
def test_alimtalk_body_field_by_field_without_failover() -> None:
    vendor = Vendor(ok(AT_SENT))
    variables = {"status": "출고", "order": "A-1", "name": "홍길동"}  # not the template order
    [result] = provider(vendor).send([alimtalk(text=ORDER_TEMPLATE, variables=variables)])
    assert vendor.body() == {
        "templateCode": "TPL_ORDER",
        "reserve": "N",
        "reSend": "N",
        "list": [{"phone": "01012345678", "templateParam": ["홍길동", "A-1", "출고"]}],
    }
    assert result.accepted and result.status is DeliveryStatus.SENT
    assert result.provider_message_id == f"atp:01012345678:{NOW_SECOND}:N:TPL_ORDER"
    assert result.provider_code == "200"
    assert not result.native_failover


def test_template_params_read_off_a_rendered_text_when_certain() -> None:
    # kmsg renders --text before the provider sees it: each value occurs once, in order.
    vendor = Vendor(ok(AT_SENT))
    variables = {"status": "출고", "order": "A-1", "name": "홍길동"}
    provider(vendor).send(
        [alimtalk(text="홍길동님, 주문 A-1이 출고되었습니다.", variables=variables)]
    )
    assert vendor.body()["list"][0]["templateParam"] == ["홍길동", "A-1", "출고"]


@pytest.mark.rule("IWINV-AT-PARAMS")
def test_template_params_follow_placeholders_in_the_text() -> None:
    message = alimtalk(
        text=ORDER_TEMPLATE, variables={"status": "출고", "name": "홍길동", "order": "A-1"}
    )
    assert template_params(message) == ["홍길동", "A-1", "출고"]


def test_template_params_repeated_placeholder_counts_once() -> None:
    message = alimtalk(text="#{b} #{a} #{b}", variables={"a": "1", "b": "2"})
    assert template_params(message) == ["2", "1"]


def test_template_params_single_variable_needs_no_order() -> None:
    assert template_params(alimtalk(variables={"code": "123456"})) == ["123456"]
    assert template_params(alimtalk()) == []


@pytest.mark.parametrize(
    "text",
    [
        "",  # no rendering at all
        "1님 1",  # a value occurs twice: the rendering cannot tell the order
        "주문이 접수되었습니다.",  # the values do not occur in the text
    ],
)
def test_unknown_variable_order_is_refused_before_any_send(text: str) -> None:
    vendor = Vendor(ok(NOT_LISTED), templates=True)
    message = alimtalk(text=text, variables={"name": "1", "order": "1"})
    client = provider(vendor)
    with pytest.raises(InvalidInput) as info:
        client.validate(message)  # the template is not listed: the order stays unknown
    assert info.value.code == "VARIABLE_ORDER_UNKNOWN"
    assert info.value.field == "text"
    assert "--text" in (info.value.hint or "")
    [result] = client.send([message])
    assert not result.accepted and result.error_code == "VARIABLE_ORDER_UNKNOWN"
    assert [r.url.path for r in vendor.requests] == ["/api/template/"]  # read once, no send
    assert vendor.body(0) == {"pageNum": "1", "pageSize": "1000", "templateCode": "TPL_ORDER"}


@pytest.mark.rule("IWINV-AT-TEMPLATES")
def test_the_registered_template_gives_the_order_and_is_checked() -> None:
    listing = {
        "code": 200,
        "message": "ok",
        "totalCount": 1,
        "list": [
            {"templateCode": "TPL_ORDER", "templateContent": "#{order} #{name}", "status": "Y"}
        ],
    }
    vendor = Vendor(
        ok(listing), ok({"code": 200, "message": "ok", "success": 1, "fail": 0}), templates=True
    )
    client = provider(vendor)
    message = alimtalk(variables={"name": "홍", "order": "A-1"})
    client.validate(message)
    with pytest.raises(InvalidInput) as info:
        client.validate(alimtalk(variables={"name": "홍", "extra": "x"}))
    assert info.value.code == "MISSING_VARIABLE" and "order" in info.value.message
    [result] = client.send([message])
    assert result.accepted
    assert vendor.body(1)["list"] == [{"phone": "01012345678", "templateParam": ["A-1", "홍"]}]
    short = alimtalk(text="#{order}", variables={"order": "A-1"})  # the text lacks #{name}
    with pytest.raises(InvalidInput) as info:
        client.validate(short)
    assert info.value.code == "MISSING_VARIABLE" and info.value.value == "name"
    # a text that is not the registered template's is refused (IWINV delivers the template)
    with pytest.raises(InvalidInput) as info:
        client.validate(alimtalk(variables={"a": "1", "b": "2"}, text="#{b} #{a}"))
    assert info.value.code == "TEMPLATE_MISMATCH" and info.value.field == "text"
    review = Vendor(
        ok({**listing, "list": [{**listing["list"][0], "status": "I"}]}), templates=True
    )
    with pytest.raises(InvalidInput) as info:
        provider(review).validate(message)
    assert info.value.code == "TEMPLATE_NOT_APPROVED" and "in review" in info.value.message


@pytest.mark.rule("IWINV-AT-RESEND")
def test_alimtalk_failover_asks_iwinv_for_its_own_sms_fallback() -> None:
    vendor = Vendor(ok(AT_SENT))
    fallback = Failover("[쇼핑몰] 주문 A-1 출고", MessageType.LMS, "주문 안내", 21)
    [result] = provider(vendor).send(
        [alimtalk(variables={"order": "A-1"}, failover=fallback, sender="010-9999-8888")]
    )
    body = vendor.body()
    assert body["reSend"] == "Y"
    assert body["resendCallback"] == "01099998888"
    assert body["resendType"] == "N"  # N = our own text in resendContent
    assert body["resendTitle"] == "주문 안내"
    assert body["resendContent"] == "[쇼핑몰] 주문 A-1 출고"
    assert result.native_failover


def test_sms_failover_has_no_title_and_uses_the_configured_sender() -> None:
    vendor = Vendor(ok(AT_SENT))
    fallback = Failover("인증번호 123456", MessageType.SMS)
    provider(vendor).send([alimtalk(variables={"code": "123456"}, failover=fallback)])
    body = vendor.body()
    assert body["resendCallback"] == "0212345678"
    assert "resendTitle" not in body
    assert body["resendContent"] == "인증번호 123456"


@pytest.mark.rule("IWINV-AT-DATE")
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Seoul"])
def test_scheduled_alimtalk_uses_korea_time_whatever_the_machine(
    zone: str, set_tz: Callable[[str], None]
) -> None:
    set_tz(zone)
    vendor = Vendor(ok(AT_SENT))
    at = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
    [result] = provider(vendor).send([alimtalk(variables={"a": "1"}, scheduled_at=at)])
    body = vendor.body()
    assert body["reserve"] == "Y"
    assert body["sendDate"] == "2026-11-24 01:30:00"
    assert result.status is DeliveryStatus.PENDING
    assert result.provider_message_id == f"atp:01012345678:{NOW_SECOND}:Y:TPL_ORDER"


@pytest.mark.rule("IWINV-AT-WINDOW", "IWINV-SMS-WINDOW")
@pytest.mark.parametrize(
    ("type_", "lead", "allowed"),
    [
        (MessageType.ALIMTALK, timedelta(minutes=14, seconds=59), False),
        (MessageType.ALIMTALK, timedelta(minutes=15), True),
        (MessageType.ALIMTALK, timedelta(days=2), True),
        (MessageType.ALIMTALK, timedelta(days=2, seconds=1), False),
        (MessageType.SMS, timedelta(minutes=14), False),
        (MessageType.SMS, timedelta(minutes=15), True),
        # NOW is 2026-11-23 00:30 in Korea: one calendar month ahead is 2026-12-23 00:30
        (MessageType.SMS, timedelta(days=29, hours=23, minutes=59), True),
        (MessageType.SMS, timedelta(days=30), False),
    ],
)
def test_reservations_outside_iwinvs_window_are_refused_before_any_request(
    type_: MessageType, lead: timedelta, allowed: bool
) -> None:
    vendor = Vendor()
    if type_ is MessageType.ALIMTALK:
        message = alimtalk(variables={"a": "1"}, scheduled_at=NOW + lead)
    else:
        message = msg(type_, scheduled_at=NOW + lead)
    if allowed:
        provider(vendor).validate(message)
        return
    with pytest.raises(InvalidInput) as info:
        provider(vendor).validate(message)
    assert info.value.code == "SCHEDULE_OUTSIDE_WINDOW" and info.value.field == "at"
    assert "KST" in info.value.message and "15 minutes" in info.value.message
    [result] = provider(vendor).send([message])
    assert not result.accepted and result.error_code == "SCHEDULE_OUTSIDE_WINDOW"
    assert vendor.requests == []


def test_alimtalk_recipients_of_one_template_share_a_request() -> None:
    answer = {**AT_SENT, "success": 3}
    vendor = Vendor(ok(answer))
    messages = [
        alimtalk(to=f"0101234000{i}", mid=f"a-{i}", text=ORDER_TEMPLATE, variables=v)
        for i, v in enumerate(
            [
                {"name": "가", "order": "1", "status": "출고"},
                {"name": "나", "order": "2", "status": "배송"},
                {"name": "다", "order": "3", "status": "완료"},
            ]
        )
    ]
    results = provider(vendor).send(messages)
    assert len(vendor.requests) == 1
    assert vendor.body()["list"] == [
        {"phone": "01012340000", "templateParam": ["가", "1", "출고"]},
        {"phone": "01012340001", "templateParam": ["나", "2", "배송"]},
        {"phone": "01012340002", "templateParam": ["다", "3", "완료"]},
    ]
    assert [r.provider_message_id for r in results] == [
        f"atp:0101234000{i}:{NOW_SECOND}:N:TPL_ORDER" for i in range(3)
    ]


def test_alimtalk_success_code_may_be_a_string_and_a_seqno_is_used_when_given() -> None:
    vendor = Vendor(ok({**AT_SENT, "code": "200", "seqNo": "4822"}))
    [result] = provider(vendor).send([alimtalk()])
    assert result.accepted
    assert result.provider_message_id == f"at:4822:01012345678:{DAY}"


@pytest.mark.rule("IWINV-AT-REPLY")
def test_documented_answer_without_seqno_is_tracked_by_phone_and_time() -> None:
    vendor = Vendor(ok(AT_SENT))
    [result] = provider(vendor).send([alimtalk()])
    assert result.accepted and result.warnings == ()
    assert result.provider_message_id == f"atp:01012345678:{NOW_SECOND}:N:TPL_ORDER"
    ref = parse_message_id(result.provider_message_id)
    assert ref is not None and ref.by_time and ref.template == "TPL_ORDER"
    assert ref.sent_at == NOW


def test_alimtalk_taking_no_recipient_is_a_rejection() -> None:
    vendor = Vendor(ok({**AT_SENT, "success": 0, "fail": 1}))
    [result] = provider(vendor).send([alimtalk()])
    assert not result.accepted
    assert result.error_code == "PROVIDER_REJECTED"
    assert not result.retryable


def test_bare_number_body_is_iwinv_code() -> None:
    vendor = Vendor(raw("501", 200, "text/plain"))
    with pytest.raises(ProviderError) as info:
        provider(vendor).send([alimtalk()])
    assert info.value.code == "TEMPLATE_NOT_FOUND"
    assert info.value.provider_code == "501"
    assert not info.value.retryable


# -- SMS / LMS / MMS request ---------------------------------------------------------------------
@pytest.mark.rule("IWINV-SMS-ENDPOINT", "IWINV-SMS-MSGTYPE")
def test_identical_sms_go_out_in_one_request_with_a_to_array() -> None:
    vendor = Vendor(ok(SMS_SENT), ok({**SMS_SENT, "requestNo": "202611230030002"}))
    messages = [
        msg(to="01011110000", mid="s-1", text="점검 안내"),
        msg(to="01022220000", mid="s-2", text="다른 안내"),
        msg(to="01033330000", mid="s-3", text="점검 안내"),
    ]
    results = provider(vendor).send(messages)
    assert len(vendor.requests) == 2
    assert vendor.body(0) == {
        "version": "1.0",
        "from": "0212345678",
        "to": ["01011110000", "01033330000"],
        "text": "점검 안내",
        "msgType": "SMS",
    }
    assert vendor.body(1)["to"] == ["01022220000"]
    assert [r.message_id for r in results] == ["s-1", "s-2", "s-3"]
    assert [r.provider_message_id for r in results] == [
        f"sms:202611230030001:01011110000:{DAY}",
        f"sms:202611230030002:01022220000:{DAY}",
        f"sms:202611230030001:01033330000:{DAY}",
    ]
    assert all(r.accepted and r.status is DeliveryStatus.SENT for r in results)


@pytest.mark.rule("IWINV-SMS-BATCH")
def test_batches_never_exceed_batch_size_nor_repeat_a_phone() -> None:
    vendor = Vendor(*(ok(SMS_SENT) for _ in range(3)))
    messages = [
        msg(to="01011110000", mid="s-1"),
        msg(to="01022220000", mid="s-2"),
        msg(to="01033330000", mid="s-3"),
        msg(to="01033330000", mid="s-4"),  # same phone again: must be its own request
    ]
    provider(vendor, batch_size=2).send(messages)
    assert [vendor.body(i)["to"] for i in range(3)] == [
        ["01011110000", "01022220000"],
        ["01033330000"],
        ["01033330000"],
    ]


def test_batch_size_is_capped_at_iwinv_limit() -> None:
    assert provider(Vendor(), batch_size=5000).batch_size == 1000


@pytest.mark.rule("IWINV-SMS-DATE", "IWINV-SMS-ENDPOINT")
def test_lms_has_a_title_and_no_msgtype_and_a_korean_date(
    set_tz: Callable[[str], None],
) -> None:
    set_tz("America/New_York")
    vendor = Vendor(ok({**SMS_SENT, "msgType": "LMS", "requestNo": 98765}))
    at = datetime(2026, 12, 14, 15, 0, tzinfo=UTC)
    [result] = provider(vendor).send(
        [msg(MessageType.LMS, text="긴 안내문 " * 20, subject="공지", scheduled_at=at)]
    )
    body = vendor.body()
    assert body["title"] == "공지"
    assert "msgType" not in body
    assert body["date"] == "2026-12-15 00:00:00"
    assert result.status is DeliveryStatus.PENDING
    assert result.provider_message_id == f"sms:98765:01012345678:{DAY}"


@pytest.mark.rule("IWINV-SMS-TITLE")
@pytest.mark.parametrize(
    ("text", "title"),
    [
        # cut at 40 bytes on a character boundary (Korean 2 bytes each)
        ("가나다라마바사아자차카타파하 " * 10, "가나다라마바사아자차카타파하 가나다라마"),
        # punctuation and emoji go; [ ] ( ) < > stay
        ("[공지] 서버 점검 안내: 12/24 02:00~04:00, 이용에 참고 바랍니다! 🙏", None),
        ("Hello, world! (v2) <beta>", "Hello world (v2) <beta>"),
        # nothing usable left: the fallback title
        ("!!! ... ??? 🎉🎉", "안내"),
        ("1 2 3", "1 2 3"),
    ],
)
def test_lms_without_subject_gets_a_title_iwinv_accepts(text: str, title: str | None) -> None:
    vendor = Vendor(ok(SMS_SENT))
    provider(vendor).send([msg(MessageType.LMS, text=text)])
    sent = vendor.body()["title"]
    if title is not None:
        assert sent == title
    assert sms.title_problem(sent) is None
    assert len(sent.encode("cp949")) <= 40 and sent == sent.strip() and sent


@pytest.mark.rule("IWINV-SMS-TITLE", "IWINV-AT-CODES")
@pytest.mark.parametrize(
    ("subject", "shown"),
    [("공지: 점검!", "':' '!'"), ("할인 🎁 안내", "'🎁'"), ("a-b", "'-'")],
)
def test_a_subject_iwinv_refuses_is_bad_input_naming_the_characters(
    subject: str, shown: str
) -> None:
    vendor = Vendor()
    lms = msg(MessageType.LMS, text="긴 안내문 " * 20, subject=subject)
    with pytest.raises(InvalidInput) as info:
        provider(vendor).validate(lms)
    assert info.value.code == "INVALID_SUBJECT" and info.value.field == "subject"
    assert info.value.exit_code == 2
    assert shown in info.value.message and "[ ] ( ) < >" in info.value.message
    fallback = Failover("대체 문자 " * 20, MessageType.LMS, subject=subject)
    at = alimtalk(variables={"a": "1"}, failover=fallback)
    with pytest.raises(InvalidInput) as info:
        provider(vendor).validate(at)
    assert info.value.field == "failover_subject" and shown in info.value.message
    # allowed characters pass: Korean, letters, digits, space, [ ] ( ) < >
    provider(vendor).validate(
        msg(MessageType.LMS, text="x" * 100, subject="[공지] 점검 (v2) <안내> 1")
    )
    assert vendor.requests == []


def _form(request: httpx.Request) -> dict[str, Any]:
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    parts: dict[str, Any] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        filename = part.get_filename()
        payload: Any = part.get_payload(decode=True)
        if filename:
            parts[name] = (filename, part.get_content_type(), payload)
        else:
            parts[name] = payload.decode("utf-8")
    return parts


@pytest.mark.rule("IWINV-MMS-FORM")
def test_mms_is_multipart_with_the_jpeg(tmp_path: Path) -> None:
    image = jpeg(tmp_path / "photo.jpg", 2048)
    vendor = Vendor(ok({**SMS_SENT, "msgType": "MMS"}))
    [result] = provider(vendor).send(
        [msg(MessageType.MMS, text="사진 안내", subject="사진", image=str(image))]
    )
    [request] = vendor.requests
    assert str(request.url) == f"{SMS}/api/v2/send/"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request.headers["secret"] == sms_secret("sms-api-key", "sms-auth-key")
    form = _form(request)
    assert list(form) == ["version", "from", "to", "title", "text", "image"]
    assert form["version"] == "1.0"
    assert form["from"] == "0212345678"
    assert form["to"] == "01012345678"
    assert form["title"] == "사진"
    assert form["text"] == "사진 안내"
    assert form["image"] == ("photo.jpg", "image/jpeg", image.read_bytes())
    assert result.accepted
    assert result.provider_message_id == f"sms:202611230030001:01012345678:{DAY}"


@pytest.mark.rule("IWINV-MMS-IMAGE")
def test_mms_image_just_under_100_kb_is_fine_and_goes_as_jpg(tmp_path: Path) -> None:
    image = jpeg(tmp_path / "edge.jpeg", 100 * 1024 - 1)
    vendor = Vendor(ok({**SMS_SENT, "msgType": "MMS"}))
    [result] = provider(vendor).send([msg(MessageType.MMS, image=str(image))])
    assert result.accepted
    assert _form(vendor.requests[0])["image"][0] == "edge.jpg"


@pytest.mark.rule("IWINV-MMS-IMAGE")
@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda d: jpeg(d / "big.jpg", 100 * 1024), "IMAGE_TOO_LARGE"),
        (lambda d: png(d / "pic.png"), "IMAGE_FORMAT"),
        (lambda d: d / "missing.jpg", "IMAGE_NOT_FOUND"),
    ],
)
def test_mms_image_checks(tmp_path: Path, make: Callable[[Path], Path], code: str) -> None:
    vendor = Vendor()
    message = msg(MessageType.MMS, image=str(make(tmp_path)))
    with pytest.raises(InvalidInput) as info:
        provider(vendor).validate(message)
    assert info.value.code == code and info.value.field == "image"
    [result] = provider(vendor).send([message])
    assert result.error_code == code and not result.accepted
    assert vendor.requests == []


def test_mms_read_timeout_is_an_unknown_outcome(tmp_path: Path) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    image = jpeg(tmp_path / "photo.jpg", 1000)
    with pytest.raises(ProviderError) as info:
        provider(Vendor(timeout)).send([msg(MessageType.MMS, image=str(image))])
    assert info.value.outcome_unknown and not info.value.retryable


# -- validation ----------------------------------------------------------------------------------
def test_alimtalk_needs_the_api_key() -> None:
    with pytest.raises(ConfigError) as info:
        provider(Vendor(), api_key=None).validate(alimtalk())
    assert info.value.code == "MISSING_SETTING" and info.value.field == "api_key"


def test_sms_needs_both_sms_keys() -> None:
    with pytest.raises(ConfigError) as info:
        provider(Vendor(), sms_auth_key=None).validate(msg())
    assert info.value.code == "MISSING_SETTING"
    assert "sms_api_key" in (info.value.field or "") and "sms_auth_key" in info.value.message


def test_sms_needs_a_sender() -> None:
    with pytest.raises(InvalidInput) as info:
        provider(Vendor(), sender=None).validate(msg())
    assert info.value.code == "MISSING_SENDER" and info.value.field == "from"
    provider(Vendor(), sender=None).validate(msg(sender="0212345678"))


def test_international_recipients_and_friendtalk_are_unsupported() -> None:
    client = provider(Vendor())
    with pytest.raises(UnsupportedFeature):
        client.validate(msg(to="2025550123", country="1"))
    with pytest.raises(UnsupportedFeature):
        client.validate(msg(MessageType.FRIENDTALK))


# -- errors --------------------------------------------------------------------------------------
def test_gateway_html_502_is_retryable_not_an_invalid_request() -> None:
    vendor = Vendor(raw(GATEWAY_502, 502))
    with pytest.raises(ProviderError) as info:
        provider(vendor).send([alimtalk()])
    error = info.value
    assert error.retryable and not error.outcome_unknown
    assert error.code == "PROVIDER_ERROR"
    assert error.http_status == 502 and error.provider_code is None
    assert "\n" not in error.message and "502 Bad Gateway" in error.message


def test_503_and_429_are_retryable_with_retry_after() -> None:
    vendor = Vendor(
        httpx.Response(503, text="Service Unavailable", headers={"Retry-After": "7"}),
        ok({"resultCode": 429, "message": "too many"}, 429, **{"Retry-After": "3"}),
    )
    client = provider(vendor)
    with pytest.raises(ProviderError) as first:
        client.send([alimtalk()])
    assert first.value.code == "SERVICE_UNAVAILABLE"
    assert first.value.retryable and first.value.retry_after == 7.0
    with pytest.raises(ProviderError) as second:
        client.send([msg()])
    assert second.value.code == "RATE_LIMITED"
    assert second.value.retryable and second.value.retry_after == 3.0


@pytest.mark.rule("IWINV-IP", "IWINV-AT-CODE206")
def test_ip_not_registered_is_its_own_error() -> None:
    vendor = Vendor(ok(AT_IP), ok({"resultCode": 15, "message": "미등록 IP"}))
    client = provider(vendor)
    for message in (alimtalk(), msg()):
        with pytest.raises(ProviderError) as info:
            client.send([message])
        error = info.value
        assert error.code == "IP_NOT_ALLOWED"
        assert not isinstance(error, AuthenticationError)
        assert not error.retryable
        assert "IP" in (error.hint or "")


def test_ip_error_message_is_iwinvs_korean_text_on_one_line() -> None:
    with pytest.raises(ProviderError) as info:
        provider(Vendor(ok(AT_IP))).send([alimtalk()])
    assert info.value.message == (
        "IWINV AlimTalk code 206: 등록하지 않은 IP에서는 발송되지 않습니다."
    )
    assert info.value.provider_code == "206"


def test_sms_auth_failure_is_an_authentication_error() -> None:
    with pytest.raises(AuthenticationError) as info:
        provider(Vendor(ok(SMS_AUTH))).send([msg()])
    assert info.value.exit_code == 2
    assert info.value.provider_code == "14"
    assert "sms_api_key" in (info.value.hint or "")


@pytest.mark.rule("IWINV-SMS-CODE202")
def test_bare_202_from_the_sms_api_is_an_authentication_error() -> None:
    with pytest.raises(AuthenticationError) as info:
        provider(Vendor(raw("202", 200, "text/plain"))).send([msg()])
    assert "SMS API authentication failed" in info.value.message


def test_http_401_without_a_code_is_an_authentication_error() -> None:
    with pytest.raises(AuthenticationError):
        provider(Vendor(raw("Unauthorized", 401, "text/plain"))).send([alimtalk()])


@pytest.mark.rule("IWINV-AT-CODES", "IWINV-SMS-CODES")
def test_insufficient_balance_and_business_rejection() -> None:
    vendor = Vendor(
        ok({"code": 519, "message": "잔액이 부족합니다."}),
        ok({"code": "509", "message": "템플릿과 내용이 일치하지 않습니다."}),
    )
    client = provider(vendor)
    with pytest.raises(ProviderError) as balance:
        client.send([alimtalk()])
    assert balance.value.code == "INSUFFICIENT_BALANCE" and not balance.value.retryable
    with pytest.raises(ProviderError) as rejected:
        client.send([alimtalk()])
    assert rejected.value.code == "PROVIDER_REJECTED"
    assert rejected.value.provider_code == "509"
    assert "템플릿과 내용이 일치하지 않습니다" in rejected.value.message


@pytest.mark.rule("IWINV-AT-CODES", "IWINV-SMS-CODES")
def test_an_unregistered_sender_is_said_as_for_every_vendor() -> None:
    vendor = Vendor(
        ok({"code": "505", "message": "사전 등록되지 않은 발신번호입니다."}),
        ok({"resultCode": 13, "message": "등록되지 않은 발신번호입니다."}),
    )
    client = provider(vendor)
    for message, code in ((alimtalk(), "505"), (msg(), "13")):
        with pytest.raises(ProviderError) as refused:
            client.send([message])
        assert (refused.value.code, refused.value.provider_code) == ("SENDER_NOT_REGISTERED", code)
        assert not refused.value.retryable and "등록되지 않은 발신번호" in refused.value.message
        assert refused.value.hint is not None and "IWINV console" in refused.value.hint


def test_read_timeout_after_sending_is_an_unknown_outcome() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ProviderError) as info:
        provider(Vendor(timeout)).send([msg()])
    assert info.value.outcome_unknown and not info.value.retryable


def test_2xx_without_a_code_may_have_been_accepted() -> None:
    with pytest.raises(ProviderError) as info:
        provider(Vendor(raw("<html>OK</html>", 200))).send([alimtalk()])
    assert info.value.code == "PROVIDER_BAD_RESPONSE"
    assert info.value.outcome_unknown


def test_vendor_text_never_leaks_a_key_and_stays_on_one_line() -> None:
    body = {"code": 540, "message": "금칙어 포함\n(AUTH YXBpLWtleQ== / api-key)"}
    with pytest.raises(ProviderError) as info:
        provider(Vendor(ok(body))).send([alimtalk()])
    text = info.value.message
    assert "\n" not in text and "api-key" not in text and "YXBpLWtleQ==" not in text
    assert "금칙어 포함" in text


def test_a_later_failure_does_not_lose_what_was_accepted() -> None:
    vendor = Vendor(
        ok(SMS_SENT),
        ok({"resultCode": 50, "message": "자동충전 한도 초과"}),
    )
    results = provider(vendor).send(
        [
            msg(to="01011110000", mid="s-1", text="첫 안내"),
            msg(to="01022220000", mid="s-2", text="둘째 안내"),
            msg(to="01033330000", mid="s-3", text="셋째 안내"),
        ]
    )
    assert len(vendor.requests) == 2  # the account problem stops the batch
    assert results[0].accepted
    assert results[1].error_code == "INSUFFICIENT_BALANCE" and not results[1].accepted
    assert results[2].error_code == "INSUFFICIENT_BALANCE" and "not sent" in (
        results[2].error_message or ""
    )


def test_a_rejected_template_does_not_stop_the_other_requests() -> None:
    vendor = Vendor(ok({"code": 501, "message": "templateCode 오류"}), ok(SMS_SENT))
    results = provider(vendor).send([alimtalk(mid="a-1"), msg(mid="s-1")])
    assert results[0].error_code == "TEMPLATE_NOT_FOUND" and not results[0].accepted
    assert results[1].accepted


def test_a_retryable_failure_of_the_first_of_several_requests_raises() -> None:
    vendor = Vendor(raw(GATEWAY_502, 502))
    with pytest.raises(ProviderError) as info:
        provider(vendor).send([alimtalk(mid="a-1"), msg(mid="s-1")])
    assert info.value.retryable
    assert len(vendor.requests) == 1


# -- delivery status -----------------------------------------------------------------------------
def test_message_ids_round_trip() -> None:
    ref = parse_message_id(f"at:4821:01012345678:{DAY}:R")
    assert ref is not None
    assert (ref.api, ref.request_id, ref.phone, ref.reserved) == (
        "alimtalk",
        "4821",
        "01012345678",
        True,
    )
    assert str(ref) == f"at:4821:01012345678:{DAY}:R"
    short = parse_message_id("sms:REQ-1:01012345678")
    assert short is not None and short.day is None and short.request_id == "REQ-1"
    assert parse_message_id("mock-abc-4000") is None
    assert parse_message_id("at:x") is None


def test_alimtalk_history_matches_seqno_and_phone_never_the_first_item() -> None:
    answer = {
        "code": 200,
        "message": "조회 성공",
        "totalCount": 2,
        "list": [
            at_item(9999, "01099990000", statusCode="OK", statusCodeName="성공"),
            at_item(
                4821,
                "01012345678",
                statusCode="3019",
                statusCodeName="카카오톡 미사용자",
                receiveDate="",
            ),
        ],
    }
    vendor = Vendor(ok(answer))
    pid = f"at:4821:01012345678:{DAY}"
    updates = provider(vendor).fetch_statuses([pid])
    body = vendor.body()
    assert str(vendor.requests[0].url) == f"{ALIMTALK}/api/history/"
    assert vendor.requests[0].headers["AUTH"] == "YXBpLWtleQ=="
    assert body["seqNo"] == 4821 and body["phone"] == "01012345678"
    assert body["pageNum"] == 1 and isinstance(body["pageSize"], int)
    assert body["startDate"] == "2026-11-22 00:00:00"
    assert body["endDate"] == "2026-11-23 23:59:59"
    assert "reserve" not in body
    update = updates[pid]
    assert update.status is DeliveryStatus.FAILED
    assert update.provider_status_code == "3019"
    assert update.provider_status_message == "카카오톡 미사용자"
    sent = datetime(2026, 11, 22, 15, 30, 2, tzinfo=UTC)
    assert update.failed_at == round(sent.timestamp() * 1000)


def test_alimtalk_history_without_our_message_gives_nothing() -> None:
    answer = {
        "code": 200,
        "message": "조회 성공",
        "totalCount": 1,
        "list": [at_item(9999, "01099990000")],
    }
    updates = provider(Vendor(ok(answer))).fetch_statuses([f"at:4821:01012345678:{DAY}"])
    assert updates == {}


def test_alimtalk_history_delivered_and_native_fallback_and_reserved() -> None:
    answer = {
        "code": "200",
        "message": "조회 성공",
        "totalCount": 2,
        "list": [
            at_item(77, "01011110000"),
            at_item(
                77,
                "01022220000",
                statusCode="3019",
                statusCodeName="카카오톡 미사용자",
                resendStatus="06",
                resendStatusName="전송 성공",
            ),
        ],
    }
    vendor = Vendor(ok(answer))
    ids = [f"at:77:01011110000:{DAY}:R", f"at:77:01022220000:{DAY}:R"]
    updates = provider(vendor).fetch_statuses(ids)
    assert len(vendor.requests) == 1  # one query for every recipient of the request
    body = vendor.body()
    assert body["seqNo"] == 77 and "phone" not in body and body["reserve"] == "Y"
    delivered = updates[ids[0]]
    assert delivered.status is DeliveryStatus.DELIVERED
    received = datetime(2026, 11, 22, 15, 30, 5, tzinfo=UTC)
    assert delivered.delivered_at == round(received.timestamp() * 1000)
    fallback = updates[ids[1]]
    assert fallback.status is DeliveryStatus.DELIVERED and fallback.replaced
    assert "카카오톡 미사용자" in (fallback.provider_status_message or "")


def test_alimtalk_history_follows_pages_until_found() -> None:
    page1 = {
        "code": 200,
        "message": "조회 성공",
        "totalCount": 3,
        "list": [at_item(5, "01011110000"), at_item(5, "01022220000")],
    }
    page2 = {
        "code": 200,
        "message": "조회 성공",
        "totalCount": 3,
        "list": [at_item(5, "01033330000", statusCode="", statusCodeName="")],
    }
    vendor = Vendor(ok(page1), ok(page2))
    ids = [f"at:5:01011110000:{DAY}", f"at:5:01033330000:{DAY}"]
    updates = provider(vendor).fetch_statuses(ids)
    assert [vendor.body(i)["pageNum"] for i in range(2)] == [1, 2]
    assert updates[ids[0]].status is DeliveryStatus.DELIVERED
    assert updates[ids[1]].status is None  # nothing known yet: keep checking


@pytest.mark.rule("IWINV-AT-REPLY", "IWINV-AT-HIST", "IWINV-AT-HIST-REPLY")
def test_alimtalk_without_seqno_is_found_by_phone_template_and_nearest_time() -> None:
    # two sends of one template to one phone (00:30:00 and 00:31:00 KST), one of another
    # template, and one to another phone: each id gets the item nearest its own request time
    first = f"atp:01012345678:{NOW_SECOND}:N:TPL_ORDER"
    second = "atp:01012345678:20261123003100:N:TPL_ORDER"
    answer = {
        "code": 200,
        "message": "조회 성공",
        "totalCount": 4,
        "list": [
            at_item(12, "01012345678", requestDate="2026-11-23 00:31:02", statusCodeName="성공"),
            at_item(
                11,
                "01012345678",
                requestDate="2026-11-23 00:30:01",
                statusCode="3019",
                statusCodeName="카카오톡 미사용자",
            ),
            at_item(13, "01012345678", requestDate="2026-11-23 00:30:00", templateCode="OTHER"),
            at_item(14, "01099990000", requestDate="2026-11-23 00:30:00"),
        ],
    }
    vendor = Vendor(ok(answer))
    updates = provider(vendor).fetch_statuses([second, first])
    [request] = vendor.requests
    assert str(request.url) == f"{ALIMTALK}/api/history/"
    assert vendor.body() == {
        "phone": "01012345678",
        "startDate": "2026-11-23 00:20:00",
        "endDate": "2026-11-23 00:41:00",
        "pageNum": 1,
        "pageSize": 1000,
    }
    assert updates[first].status is DeliveryStatus.FAILED
    assert updates[first].raw is not None and updates[first].raw["seqNo"] == 11
    assert updates[second].status is DeliveryStatus.DELIVERED
    assert updates[second].raw is not None and updates[second].raw["seqNo"] == 12


def test_alimtalk_by_time_ignores_items_too_far_from_the_request() -> None:
    pid = f"atp:01012345678:{NOW_SECOND}:Y:TPL_ORDER"
    answer = {
        "code": 200,
        "message": "조회 성공",
        "totalCount": 1,
        "list": [at_item(11, "01012345678", requestDate="2026-11-23 00:45:00")],
    }
    vendor = Vendor(ok(answer))
    assert provider(vendor).fetch_statuses([pid]) == {}
    assert vendor.body()["reserve"] == "Y"


@pytest.mark.rule("IWINV-AT-STATUS")
@pytest.mark.parametrize(
    ("code", "name", "status"),
    [
        ("OK", "성공", DeliveryStatus.DELIVERED),
        ("WAIT", "발송 대기", DeliveryStatus.PENDING),
        ("X1", "예약 대기", DeliveryStatus.PENDING),
        ("X2", "발송중", DeliveryStatus.SENT),
        ("3018", "카카오톡 미사용자", DeliveryStatus.FAILED),
        ("FAIL", "발송 실패", DeliveryStatus.FAILED),
        ("K999", "보류", None),  # not understood: keep checking
        ("", "", None),
    ],
)
def test_alimtalk_status_names_are_read_as_kmsg_assumes(
    code: str, name: str, status: DeliveryStatus | None
) -> None:
    item = at_item(1, "01012345678", statusCode=code, statusCodeName=name)
    answer = {"code": 200, "message": "조회 성공", "totalCount": 1, "list": [item]}
    pid = f"at:1:01012345678:{DAY}"
    assert provider(Vendor(ok(answer))).fetch_statuses([pid])[pid].status is status


def test_sms_history_matches_request_and_phone() -> None:
    answer = {
        "resultCode": 0,
        "message": "조회 성공",
        "totalCount": 2,
        "list": [
            sms_item("OTHER", "01012345678"),
            sms_item(
                "202611230030001",
                "01012345678",
                sendStatus="실패",
                sendStatusCode="07",
                sendStatusMsg="결번",
            ),
        ],
    }
    vendor = Vendor(ok(answer))
    pid = f"sms:202611230030001:01012345678:{DAY}"
    updates = provider(vendor).fetch_statuses([pid])
    [request] = vendor.requests
    assert str(request.url) == f"{SMS}/api/history/"
    assert request.headers["secret"] == sms_secret("sms-api-key", "sms-auth-key")
    assert vendor.body() == {
        "version": "1.0",
        "companyid": "kmsgcorp",
        "startDate": "2026-11-22",
        "endDate": "2026-11-23",
        "requestNo": "202611230030001",
        "phone": "01012345678",
        "pageNum": 1,
    }
    assert updates[pid].status is DeliveryStatus.FAILED
    assert updates[pid].provider_status_message == "결번"


@pytest.mark.rule("IWINV-SMS-HIST-PAGE", "IWINV-SMS-HIST")
def test_sms_history_pages_by_what_came_back_not_by_a_page_size() -> None:
    # IWINV answers 15 items a page whatever pageSize says: kmsg sends none and follows
    # totalCount with the items each page really held.
    phones = [f"0101234{i:04d}" for i in range(20)]
    items = [sms_item("R9", phone) for phone in phones]
    pages = [items[:15], items[15:]]
    vendor = Vendor(
        *(ok({"resultCode": 0, "message": "조회 성공", "totalCount": 20, "list": p}) for p in pages)
    )
    ids = [f"sms:R9:{phone}:{DAY}" for phone in phones]
    updates = provider(vendor).fetch_statuses(ids)
    assert sorted(updates) == sorted(ids)
    assert [vendor.body(i)["pageNum"] for i in range(2)] == [1, 2]
    assert all("pageSize" not in vendor.body(i) for i in range(2))


@pytest.mark.rule("IWINV-SMS-STATUS", "IWINV-LMS-STATUS", "IWINV-SMS-STATUS-01")
@pytest.mark.parametrize(
    ("msg_type", "code", "status"),
    [
        ("SMS", "06", DeliveryStatus.DELIVERED),
        ("SMS", "6", DeliveryStatus.DELIVERED),
        ("SMS", "0", DeliveryStatus.PENDING),
        ("SMS", "WAIT", DeliveryStatus.PENDING),
        ("SMS", "01", DeliveryStatus.FAILED),  # a system fault, not "processing"
        ("SMS", "07", DeliveryStatus.FAILED),
        ("SMS", "28", DeliveryStatus.FAILED),
        ("SMS", "99", DeliveryStatus.FAILED),
        ("SMS", "1000", None),  # an LMS code: not understood for an SMS
        ("SMS", "05", None),  # in no table: keep checking, never FAILED
        ("LMS", "1000", DeliveryStatus.DELIVERED),
        ("MMS", "1000", DeliveryStatus.DELIVERED),
        ("LMS", "WAIT", DeliveryStatus.PENDING),
        ("LMS", "3004", DeliveryStatus.FAILED),
        ("MMS", "9016", DeliveryStatus.FAILED),
        ("LMS", "06", None),
        ("LMS", "7777", None),
        ("SMS", "", None),
    ],
)
def test_sms_status_mapping(msg_type: str, code: str, status: DeliveryStatus | None) -> None:
    item = sms_item("R1", "01012345678", msgType=msg_type, sendStatusCode=code, sendStatus="")
    answer = {"resultCode": "0", "message": "조회 성공", "totalCount": 1, "list": [item]}
    pid = f"sms:R1:01012345678:{DAY}"
    update = provider(Vendor(ok(answer))).fetch_statuses([pid])[pid]
    assert update.status is status
    assert update.provider_status_code == (code or None)


@pytest.mark.rule("IWINV-SMS-HIST-RANGE")
def test_sms_history_asks_for_the_last_90_days_at_most() -> None:
    answer = {"resultCode": 0, "message": "조회 성공", "totalCount": 0, "list": []}
    vendor = Vendor(ok(answer))
    assert provider(vendor).fetch_statuses(["sms:R1:01012345678:20260101"]) == {}
    body = vendor.body()
    # NOW is 2026-11-23 in Korea: 90 days with today are 2026-08-26 .. 2026-11-23
    assert (body["startDate"], body["endDate"]) == ("2026-08-26", "2026-11-23")


def test_sms_history_needs_the_company_id() -> None:
    vendor = Vendor()
    client = provider(vendor, sms_company_id=None)
    assert client.fetch_statuses([f"sms:R1:01012345678:{DAY}", "", "mock-x-4000"]) == {}
    assert vendor.requests == []


def test_a_failing_history_query_raises_only_when_nothing_was_found(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = {
        "code": 200,
        "message": "조회 성공",
        "totalCount": 1,
        "list": [at_item(1, "01011110000")],
    }
    ids = [f"at:1:01011110000:{DAY}", f"sms:R1:01012345678:{DAY}"]
    vendor = Vendor(ok(answer), raw(GATEWAY_502, 502))
    with caplog.at_level(logging.WARNING):
        updates = provider(vendor).fetch_statuses(ids)
    assert list(updates) == [ids[0]]
    (said,) = [r.getMessage() for r in caplog.records]  # the part that failed is said
    assert said.startswith("IWINV history lookup failed: ")
    caplog.clear()
    with caplog.at_level(logging.WARNING), pytest.raises(ProviderError):
        provider(Vendor(raw(GATEWAY_502, 502))).fetch_statuses([ids[1]])
    assert caplog.records == []  # raised: the caller says it, once


# -- balance -------------------------------------------------------------------------------------
def test_balance_from_the_alimtalk_account() -> None:
    vendor = Vendor(ok({"code": 200, "message": "조회 성공", "charge": 12000}))
    client = provider(vendor)
    assert isinstance(client, BalanceSource) and isinstance(client, StatusSource)
    balance = client.balance()
    assert (balance.amount, balance.currency) == (12000.0, "KRW")
    [request] = vendor.requests
    assert str(request.url) == f"{ALIMTALK}/api/charge/"
    assert request.headers["AUTH"] == "YXBpLWtleQ=="
    assert request.method == "GET" and request.content == b""


@pytest.mark.rule("IWINV-AT-CHARGE")
def test_alimtalk_balance_asks_again_with_post_when_get_is_refused() -> None:
    vendor = Vendor(
        raw("<html>405 Not Allowed</html>", 405),
        ok({"code": 200, "message": "조회 성공", "charge": "5,000"}),
    )
    assert provider(vendor).balance().amount == 5000.0
    assert [r.method for r in vendor.requests] == ["GET", "POST"]
    assert vendor.body(1) == {}


@pytest.mark.rule("IWINV-SMS-CHARGE")
def test_balance_from_the_sms_account_without_an_api_key() -> None:
    vendor = Vendor(ok({"code": 0, "message": "조회 성공", "charge": "3456"}))
    balance = provider(vendor, api_key=None).balance()
    assert balance.amount == 3456.0
    assert str(vendor.requests[0].url) == f"{SMS}/api/charge/"
    assert vendor.body() == {"version": "1.0"}


def test_balance_auth_failure() -> None:
    with pytest.raises(AuthenticationError):
        provider(Vendor(ok({"code": 201, "message": "인증 실패"}))).balance()


# -- lifecycle -----------------------------------------------------------------------------------
def test_close_leaves_an_injected_client_open() -> None:
    http = httpx.Client(transport=httpx.MockTransport(Vendor()))
    IwinvProvider("iwinv", SETTINGS, http).close()
    assert not http.is_closed
    own = IwinvProvider("iwinv", SETTINGS)
    own.close()
    assert own.http.is_closed


def test_header_base64_is_standard_with_padding() -> None:
    assert base64.b64decode(auth_header("키")).decode() == "키"


def test_template_codes_are_what_the_vendor_lists_or_none_when_it_cannot() -> None:
    from kmsg_cli.providers.base import template_codes

    listed = {
        "code": 200,
        "message": "ok",
        "totalCount": 2,
        "list": [
            {"templateCode": "WELCOME_1", "templateName": "가입", "status": "Y"},
            {"templateCode": "ORDER_2", "templateName": "주문", "status": "Y"},
        ],
    }
    vendor = Vendor(ok(listed), ok({"code": 401, "message": "인증 실패"}))
    vendor.templates = True
    client = provider(vendor)
    assert template_codes(client) == ["WELCOME_1", "ORDER_2"]
    assert template_codes(client) is None  # refused: nothing to suggest from
    assert template_codes(object()) is None  # a provider that lists no templates
