"""Property tests (hypothesis): every provider's answer parsing, fed arbitrary answers.

Whatever a vendor (or a proxy, or a broken gateway) answers - any status, any bytes, any JSON,
any Retry-After - the SOLAPI, IWINV, Aligo and mock clients give results, status updates and
balances that keep their invariants, or raise `ProviderError` (AuthenticationError included);
never KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError, RecursionError...

The pure parsers get `httpx.Response` objects built directly; the clients get
`httpx.MockTransport`, so no request leaves the process.

Profiles: the default `HYPOTHESIS_PROFILE=ci` is derandomized and sized for CI;
`HYPOTHESIS_PROFILE=long` runs 20x the examples (see tests/conftest.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from kmsg_cli.errors import ProviderError
from kmsg_cli.models import (
    Balance,
    DeliveryStatus,
    Failover,
    Message,
    MessageType,
    Recipient,
    SendResult,
    StatusUpdate,
)
from kmsg_cli.providers import _common, _http
from kmsg_cli.providers.aligo import AligoProvider
from kmsg_cli.providers.aligo import client as aligo_client
from kmsg_cli.providers.aligo import kakao as aligo_kakao
from kmsg_cli.providers.aligo import sms as aligo_sms
from kmsg_cli.providers.iwinv import IwinvProvider
from kmsg_cli.providers.iwinv import alimtalk as iwinv_alimtalk
from kmsg_cli.providers.iwinv import client as iwinv_client
from kmsg_cli.providers.iwinv import refs as iwinv_refs
from kmsg_cli.providers.iwinv import sms as iwinv_sms
from kmsg_cli.providers.mock import MockProvider
from kmsg_cli.providers.solapi import SolapiProvider
from kmsg_cli.providers.solapi import client as solapi_client
from kmsg_cli.providers.solapi import messages as solapi_messages
from kmsg_cli.providers.solapi import status as solapi_status


def examples(n: int) -> settings:
    """`n` examples under the default profile, proportionally more under `long`."""
    return settings(
        max_examples=max(n, n * settings().max_examples // 100),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


NOW = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)
PHONE = "01012345678"

# --- what vendors may answer -----------------------------------------------------------------

VOCABULARY = [
    # SOLAPI
    "messageList",
    "failedMessageList",
    "groupInfo",
    "groupId",
    "customFields",
    "kmsgId",
    "to",
    "statusCode",
    "statusMessage",
    "messageId",
    "_id",
    "dateProcessed",
    "dateReported",
    "dateReceived",
    "reason",
    "status",
    "replacement",
    "balance",
    "point",
    "errorCode",
    "errorMessage",
    "nextKey",
    "fileId",
    # IWINV
    "code",
    "resultCode",
    "message",
    "messgae",
    "seqNo",
    "requestNo",
    "msgid",
    "success",
    "fail",
    "list",
    "totalCount",
    "phone",
    "statusCodeName",
    "sendDate",
    "receiveDate",
    "resendStatus",
    "resendStatusName",
    "sendStatusCode",
    "sendStatusMsg",
    "sendStatus",
    "charge",
    # Aligo
    "result_code",
    "msg_id",
    "success_cnt",
    "error_cnt",
    "info",
    "mid",
    "scnt",
    "fcnt",
    "next_yn",
    "currentPage",
    "totalPage",
    "receiver",
    "sms_state",
    "send_date",
    "rslt",
    "rslt_message",
    "sentdate",
    "reqdate",
    "rsltdate",
    "reportdate",
    "SMS_CNT",
    "templtCode",
    "templtContent",
    "templtTitle",
    "buttons",
    "inspStatus",
    "ordering",
]
SPECIAL_STRINGS = [
    "",
    " ",
    "0",
    "1",
    "-1",
    "00",
    "01",
    "06",
    "200",
    "0000",
    "1000",
    "2000",
    "3000",
    "4000",
    "1062",
    "3104",
    "-101",
    "-102",
    "429",
    "502",
    "OK",
    "Y",
    "N",
    "APR",
    "nan",
    "inf",
    "-inf",
    "1e999",
    "1,000",
    "²",
    "٣",
    "1" * 400,
    "NotEnoughBalance",
    "InvalidAPIKey",
    "RequestTimeTooSkewed",
    "2026-11-22 10:00:05",
    "20261122100005",
    "2026-11-22T01:02:03.000Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31 23:59:59",
    "성공",
    "전송중",
    "대기",
    "실패",
    "취소",
    "잔액 부족",
    PHONE,
    "010-1234-5678",
    "m-0",
    "m-1",
    "m-2",
    "T-1",
    "#{name}",
    "Q123",
]
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(),
    st.sampled_from(SPECIAL_STRINGS),
    st.text(max_size=6),
)


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=4), inner, max_size=6),
    )


JSON_VALUES = st.recursive(
    JSON_SCALARS,
    _json_containers,
    max_leaves=25,
)
JSON_OBJECTS = st.dictionaries(st.sampled_from(VOCABULARY), JSON_VALUES, max_size=8)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


BODIES = st.one_of(
    JSON_OBJECTS.map(_json_bytes),
    JSON_VALUES.map(_json_bytes),
    st.binary(max_size=60),
    st.sampled_from(
        [
            b"",
            b"<html><body>502 Bad Gateway</body></html>",
            b"\xef\xbb\xbf{}",
            b"\xff\xfe{\x00}\x00",
            b"[" * 1500,
            b'{"a": ' * 1500,
            b"NaN",
            b'"\xed\xa0\x80"',
            b"1" * 5000,
        ]
    ),
)
STATUSES = st.one_of(
    st.sampled_from([200, 201, 204, 400, 401, 402, 403, 404, 409, 429, 500, 502, 503, 504]),
    st.integers(min_value=100, max_value=599),
)
RETRY_AFTER = st.one_of(
    st.none(),
    st.sampled_from(
        [
            b"120",
            b"0",
            b"\xb2",
            "²".encode(),
            b"9" * 400,
            b"-5",
            b"1.5",
            b"Wed, 21 Oct 2015 07:28:00 GMT",
            b"Fri, 31 Dec 9999 23:59:59 GMT",
            b"Mon, 01 Jan 0001 00:00:00 GMT",
            b"Thu, 01 Jan 1970 00:00:00 -0000",
            b"Sun, 06 Nov 1994 08:49:37 +9999",
            b"",
        ]
    ),
    st.binary(max_size=12).filter(lambda b: b"\n" not in b and b"\r" not in b and b"\0" not in b),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        b"application/json",
        b"application/json; charset=utf-8",
        b"text/html; charset=euc-kr",
        b"application/json; charset=utf-16",
        b"text/plain; charset=nope",
        b"text/plain; charset=\xff",
    ]
)


@st.composite
def responses(draw: st.DrawFn) -> httpx.Response:
    headers: list[tuple[bytes, bytes]] = []
    if (retry := draw(RETRY_AFTER)) is not None:
        headers.append((b"Retry-After", retry))
    if (content_type := draw(CONTENT_TYPES)) is not None:
        headers.append((b"Content-Type", content_type))
    return httpx.Response(draw(STATUSES), headers=headers, content=draw(BODIES))


def _ok(response: httpx.Response) -> httpx.Response:
    """The same answer with a 2xx status, so that the clients go on to parse the body."""
    return httpx.Response(200, headers=response.headers, content=response.content)


RESPONSES = st.one_of(responses(), responses().map(_ok))

# --- what the answers are checked with -------------------------------------------------------


def msg(kind: MessageType, index: int, **extra: Any) -> Message:
    text = extra.pop("text", "안녕하세요 #{name}" if kind is MessageType.ALIMTALK else "hello")
    return Message(
        message_id=f"m-{index}",
        type=kind,
        to=Recipient(PHONE if index != 2 else "01098765432"),
        text=text,
        byte_length=len(text.encode("cp949")),
        **extra,
    )


MESSAGES = [
    msg(MessageType.SMS, 0),
    msg(MessageType.LMS, 1, subject="제목", sender="0212345678"),
    msg(
        MessageType.ALIMTALK,
        2,
        template_id="T-1",
        variables={"name": "홍길동"},
        failover=Failover(text="fallback", type=MessageType.SMS),
    ),
]
SCHEDULED = msg(MessageType.SMS, 3, scheduled_at=NOW + timedelta(days=1))
MESSAGE_LISTS = st.lists(
    st.sampled_from([*MESSAGES, SCHEDULED]), min_size=1, unique_by=lambda m: m.message_id
)


def _check_error(error: ProviderError, response: httpx.Response | None = None) -> None:
    assert isinstance(error, ProviderError)
    assert error.code and error.code == error.code.upper()
    assert "\n" not in error.message and "\r" not in error.message
    wait = error.retry_after
    assert wait is None or (math.isfinite(wait) and 0 <= wait <= _http.MAX_RETRY_AFTER)
    if response is not None and error.http_status is not None:
        assert error.http_status == response.status_code
    json.dumps(error.to_dict())  # goes into --json output as it is


def _check_results(results: Any, messages: Sequence[Message]) -> None:
    assert isinstance(results, list)
    assert [r.message_id for r in results] == [m.message_id for m in messages]
    for result in results:
        assert isinstance(result, SendResult)
        if result.accepted:
            assert result.status in (DeliveryStatus.SENT, DeliveryStatus.PENDING)
            assert not result.outcome_unknown
        else:
            assert result.error_code
        if result.outcome_unknown:
            assert not result.accepted
        assert "\n" not in (result.error_message or "")


def _check_updates(found: Any, asked: Sequence[str]) -> None:
    assert isinstance(found, dict)
    assert set(found) <= set(asked)
    for pid, update in found.items():
        assert isinstance(update, StatusUpdate)
        assert update.provider_message_id == pid
        assert update.status is None or isinstance(update.status, DeliveryStatus)
        for moment in (update.sent_at, update.delivered_at, update.failed_at):
            assert moment is None or isinstance(moment, int)


def _check_balance(balance: Any) -> None:
    assert isinstance(balance, Balance)
    assert isinstance(balance.amount, float) and math.isfinite(balance.amount)
    assert balance.point is None or math.isfinite(balance.point)


def expect_typed(call: Callable[[], Any]) -> Any:
    """The call's value, or None when it raised ProviderError (checked)."""
    try:
        value = call()
    except ProviderError as error:
        _check_error(error)
        event(f"raised {error.code}")
        return None
    event(f"gave {type(value).__name__}")
    return value


# --- the shared HTTP helpers -----------------------------------------------------------------


@examples(200)
@given(responses())
@example(httpx.Response(429, headers=[(b"Retry-After", b"\xb2")]))
@example(httpx.Response(429, headers=[(b"Retry-After", b"9" * 400)]))
@example(httpx.Response(200, content=b"[" * 5000))
@example(
    httpx.Response(502, headers=[(b"Content-Type", b"text/html; charset=utf-16")], content=b"AB")
)
def test_http_helpers_never_fail(response: httpx.Response) -> None:
    wait = _http.retry_after(response, now=NOW.timestamp())
    assert wait is None or (math.isfinite(wait) and 0 <= wait <= _http.MAX_RETRY_AFTER)
    body = _http.json_or_none(response)
    json.dumps(body)  # plain JSON data or None
    excerpt = _http.body_excerpt(response)
    assert "\n" not in excerpt and len(excerpt) <= 81


# --- SOLAPI ----------------------------------------------------------------------------------


@examples(200)
@given(responses(), st.booleans())
def test_solapi_error_from_any_answer_is_a_provider_error(
    response: httpx.Response, sends: bool
) -> None:
    error = solapi_client.error_from_response(response, provider_id="solapi", sends=sends)
    _check_error(error, response)
    assert error.http_status == response.status_code
    if error.retryable:
        assert response.status_code in (429, 503) or response.status_code >= 500


@examples(200)
@given(JSON_VALUES | JSON_OBJECTS, MESSAGE_LISTS)
def test_solapi_parsers_give_results_or_provider_errors(body: Any, messages: list[Message]) -> None:
    results = expect_typed(
        lambda: solapi_messages.parse_send_response(body, messages, provider_id="s")
    )
    if results is not None:
        _check_results(results, messages)
    updates = expect_typed(lambda: solapi_status.parse_list_response(body, provider_id="s"))
    if updates is not None:
        assert all(isinstance(update, StatusUpdate) for update in updates)
    balance = expect_typed(lambda: solapi_status.parse_balance(body, provider_id="s"))
    if balance is not None:
        _check_balance(balance)


def _solapi(answers: list[httpx.Response]) -> SolapiProvider:
    settings_ = {
        "api_key": "KEY",
        "api_secret": "SECRET",
        "sender": "0212345678",
        "kakao_pf_id": "KA01PF",
        "base_url": "http://127.0.0.1:9",
    }
    return SolapiProvider("solapi", settings_, _client(answers), clock=lambda: NOW)


def _client(answers: list[httpx.Response]) -> httpx.Client:
    """An httpx client whose transport answers with `answers`, in turn, forever."""
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        answer = answers[count % len(answers)]
        count += 1
        return httpx.Response(
            answer.status_code, headers=answer.headers, content=answer.content, request=request
        )

    return httpx.Client(transport=httpx.MockTransport(handler))


ANSWERS = st.lists(RESPONSES, min_size=1, max_size=3)
SOLAPI_IDS = st.lists(st.sampled_from(["M1", "M2", "m-0", ""]) | st.text(max_size=4), max_size=3)


@examples(150)
@given(ANSWERS, MESSAGE_LISTS, SOLAPI_IDS)
@example([httpx.Response(200, json={"messageList": 5, "nextKey": None})], [MESSAGES[0]], ["M1"])
@example([httpx.Response(200, json={"messageList": [], "nextKey": {"a": 1}})], [MESSAGES[0]], [])
@example([httpx.Response(200, json={"balance": 10**400})], [MESSAGES[0]], [])
def test_solapi_client_survives_any_answer(
    answers: list[httpx.Response], messages: list[Message], ids: list[str]
) -> None:
    provider = _solapi(answers)
    try:
        results = expect_typed(lambda: provider.send(messages))
        if results is not None:
            _check_results(results, messages)
        found = expect_typed(lambda: provider.fetch_statuses(ids))
        if found is not None:
            _check_updates(found, ids)
        sent = expect_typed(lambda: provider.find_sent(PHONE, since=NOW, until=NOW))
        if sent is not None:
            for our_id, (pid, update) in sent.items():
                assert isinstance(our_id, str) and update.provider_message_id == pid
        balance = expect_typed(provider.balance)
        if balance is not None:
            _check_balance(balance)
    finally:
        provider.http.close()


# --- IWINV -----------------------------------------------------------------------------------

APIS = st.sampled_from(["alimtalk", "sms"])


@examples(200)
@given(responses(), APIS, st.booleans())
@example(httpx.Response(200, json={"code": "1" * 5000}), "alimtalk", True)
@example(httpx.Response(200, json={"resultCode": "٣"}), "sms", True)
def test_iwinv_answer_error_is_none_only_for_a_success(
    response: httpx.Response, api: Any, sends: bool
) -> None:
    error = iwinv_client.answer_error(
        api, response, provider_id="iwinv", sends=sends, secrets=["KEY!"]
    )
    if error is None:
        assert response.is_success
        body = _http.json_or_none(response)
        keys = ("code", "resultCode") if api == "alimtalk" else ("resultCode", "code")
        assert iwinv_client.vendor_code(body, keys=keys) == ("200" if api == "alimtalk" else "0")
    else:
        _check_error(error, response)
        assert "KEY!" not in error.message


@examples(200)
@given(JSON_VALUES | JSON_OBJECTS, MESSAGE_LISTS, APIS)
@example({"seqNo": "²", "code": 200}, [MESSAGES[2]], "alimtalk")
def test_iwinv_parsers_give_results_or_provider_errors(
    body: Any, messages: list[Message], api: Any
) -> None:
    now = datetime(2026, 11, 22, 10, 30, tzinfo=_common.KST)
    results = iwinv_refs.accepted_results(api, body, messages, provider_id="iwinv", now=now)
    _check_results(results, messages)
    for result in results:
        if result.provider_message_id:
            # our own ids parse back, and the lookup can use them
            ref = iwinv_refs.parse_message_id(result.provider_message_id)
            assert ref is not None and (ref.request_id or ref.by_time)
            if api == "alimtalk" and ref.request_id:
                int(ref.request_id)
            if ref.by_time:
                assert ref.sent_at == now and str(ref) == result.provider_message_id
    items, total = iwinv_refs.history_items(body)
    assert total is None or isinstance(total, int)
    for item in items:
        for mapper in (iwinv_alimtalk.map_alimtalk_item, iwinv_sms.map_sms_item):
            update = mapper(item, "at:1:01012345678")
            assert update.provider_message_id == "at:1:01012345678"
    balance = expect_typed(lambda: iwinv_client.parse_balance(body, provider_id="iwinv"))
    if balance is not None:
        _check_balance(balance)


IWINV_IDS = st.lists(
    st.sampled_from(
        [
            "at:123:01012345678:20261122",
            "at:123:01012345678:20261122:R",
            "at:123:01098765432",
            "sms:456:01012345678:20261122",
            "sms:abc:01012345678",
            "at:²:01012345678",
            "at:1:2:3:4",
            "atp:01012345678:20261122103000:N:TPL-1",
            "atp:01012345678:20261122103000:Y:T:with:colons",
            "atp:01012345678:20261399103000:N:T",
            "atp:x:20261122103000:N:T",
            "",
        ]
    )
    | st.text(max_size=6),
    max_size=4,
)


def _iwinv(answers: list[httpx.Response]) -> IwinvProvider:
    settings_ = {
        "api_key": "ATKEY1",
        "sms_api_key": "SMSKEY",
        "sms_auth_key": "AUTHKEY",
        "sms_company_id": "company",
        "sender": "0212345678",
        "alimtalk_base_url": "http://127.0.0.1:9",
        "sms_base_url": "http://127.0.0.1:10",
    }
    return IwinvProvider("iwinv", settings_, _client(answers), clock=lambda: NOW)


@examples(150)
@given(ANSWERS, MESSAGE_LISTS, IWINV_IDS)
@example([httpx.Response(200, json={"code": 200})], [MESSAGES[0]], ["at:²:01012345678"])
def test_iwinv_client_survives_any_answer(
    answers: list[httpx.Response], messages: list[Message], ids: list[str]
) -> None:
    provider = _iwinv(answers)
    try:
        results = expect_typed(lambda: provider.send(messages))
        if results is not None:
            _check_results(results, messages)
        found = expect_typed(lambda: provider.fetch_statuses(ids))
        if found is not None:
            _check_updates(found, ids)
        balance = expect_typed(provider.balance)
        if balance is not None:
            _check_balance(balance)
    finally:
        provider.http.close()


# --- Aligo -----------------------------------------------------------------------------------


@examples(200)
@given(responses())
def test_aligo_error_from_any_answer_is_a_provider_error(response: httpx.Response) -> None:
    error = aligo_client.error_from_response(response, provider_id="aligo")
    _check_error(error, response)
    if error.retryable:
        assert response.status_code in (429, 503) or response.status_code >= 500


@examples(200)
@given(JSON_OBJECTS, JSON_SCALARS | JSON_VALUES)
@example({"result_code": "inf"}, float("nan"))
@example({"result_code": 10**400, "SMS_CNT": 10**400}, "1e999")
def test_aligo_parsers_give_values_or_provider_errors(body: dict[str, Any], value: Any) -> None:
    code = aligo_client.vendor_code(value)
    assert code is None or (isinstance(code, str) and code == code.strip() and code)
    expect_typed(lambda: aligo_client.check_sms_answer(body, provider_id="aligo", sends=True))
    expect_typed(lambda: aligo_client.check_kakao_answer(body, provider_id="aligo", sends=True))
    balance = expect_typed(lambda: aligo_sms.parse_balance(body, provider_id="aligo"))
    if balance is not None:
        _check_balance(balance)
    template = aligo_kakao.parse_template_list(body, "T-1")
    assert template is None or template.code == "T-1"
    if template is not None:
        text, missing = aligo_kakao.render_template(template.content, {"name": "홍길동"})
        assert isinstance(text, str) and "name" not in missing
        button, _ = aligo_kakao.button_json(template.buttons, {"name": "홍길동"})
        assert button is None or isinstance(json.loads(button)["button"], list)
    for parse in (aligo_sms.parse_sms_list_item, aligo_kakao.parse_kakao_detail_item):
        update = parse(body, "sms:1:01012345678")
        assert update.provider_message_id == "sms:1:01012345678"


def _aligo(answers: list[httpx.Response]) -> AligoProvider:
    settings_ = {
        "api_key": "ALIGOKEY",
        "user_id": "user",
        "sender": "0212345678",
        "sender_key": "SENDERKEY",
        "sms_base_url": "http://127.0.0.1:9",
        "kakao_base_url": "http://127.0.0.1:10",
    }
    return AligoProvider("aligo", settings_, _client(answers), clock=lambda: NOW)


ALIGO_IDS = st.lists(
    st.sampled_from(["sms:1:01012345678", "kakao:2:01012345678", "sms::1", "kakao:x", ""])
    | st.text(max_size=6),
    max_size=4,
)


@examples(150)
@given(ANSWERS, MESSAGE_LISTS, ALIGO_IDS)
@example(
    [httpx.Response(200, json={"result_code": "1", "msg_id": "9", "error_cnt": "nan"})],
    [MESSAGES[0]],
    [],
)
@example([httpx.Response(200, json={"result_code": "inf"})], [MESSAGES[0]], [])
def test_aligo_client_survives_any_answer(
    answers: list[httpx.Response], messages: list[Message], ids: list[str]
) -> None:
    provider = _aligo(answers)
    try:
        results = expect_typed(lambda: provider.send(messages))
        if results is not None:
            _check_results(results, messages)
        found = expect_typed(lambda: provider.fetch_statuses(ids))
        if found is not None:
            _check_updates(found, ids)
        balance = expect_typed(provider.balance)
        if balance is not None:
            _check_balance(balance)
    finally:
        provider.http.close()


# --- mock --------------------------------------------------------------------------------------


@examples(100)
@given(MESSAGE_LISTS, st.lists(st.text(max_size=30), max_size=4))
def test_mock_provider_results_and_lookups_keep_their_invariants(
    messages: list[Message], foreign: list[str]
) -> None:
    provider = MockProvider("mock", {})
    results = provider.send(messages)
    _check_results(results, messages)
    assert all(result.simulated for result in results)
    ids = [r.provider_message_id for r in results if r.accepted] + foreign
    found = provider.fetch_statuses(ids)
    _check_updates(found, ids)
    for result in results:
        if result.accepted:  # our own ids are always understood, final at the first check
            update = found[result.provider_message_id]
            assert update.status is not None and update.status.terminal


# --- bugs found here, kept as plain regression tests -----------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [(b"120", 120.0), (b"\xb2", None), (b"9" * 400, _http.MAX_RETRY_AFTER), (b"nan", None)],
    ids=["seconds", "superscript-two", "beyond-float", "nan"],
)
def test_retry_after_is_finite_and_bounded(header: bytes, expected: float | None) -> None:
    response = httpx.Response(429, headers=[(b"Retry-After", header)])
    assert _http.retry_after(response) == expected
