"""IWINV over its REST APIs (AlimTalk host and SMS v2 host), on an injected `httpx.Client`.

Wire facts (REFERENCE-PROVIDERS.md §4):

| what             | request                                                       | success      |
|------------------|---------------------------------------------------------------|--------------|
| AlimTalk send    | `POST {alimtalk}/api/v2/send/` JSON, `AUTH: base64(api_key)`  | code 200     |
| AlimTalk history | `POST {alimtalk}/api/history/` (seqNo, phone, dates, paging)  | code 200     |
| AlimTalk balance | `POST {alimtalk}/api/charge/` `{}`                            | code 200     |
| SMS/LMS send     | `POST {sms}/api/v2/send/` JSON, `secret: base64(key&auth)`    | resultCode 0 |
| MMS send         | the same URL, `multipart/form-data`, a JPEG of at most 100 KB | resultCode 0 |
| SMS history      | `POST {sms}/api/history/` (companyid, requestNo, dates, ...)  | resultCode 0 |
| SMS balance      | `POST {sms}/api/charge/` `{"version": "1.0"}`                 | code 0       |

Provider message ids (`SendResult.provider_message_id`, the input of `fetch_statuses`):

    at:<seqNo>:<phone>:<yyyymmdd>[:R]   AlimTalk: the seqNo IWINV gave the send request, the
                                         recipient, the day (Korea time) it was sent, and R
                                         when it was a reserved (scheduled) send
    sms:<requestNo>:<phone>:<yyyymmdd>  SMS/LMS/MMS: the requestNo of the send request, the
                                         recipient and the day (Korea time) it was sent

One IWINV request carries many recipients under one seqNo/requestNo, so the phone tells them
apart (a request never holds the same phone twice). The day bounds the history query. The
short forms `at:<seqNo>:<phone>` and `sms:<requestNo>:<phone>` are understood too (the last 7
days are searched). When IWINV's answer carries no seqNo/requestNo, the message is accepted
with an empty id and a `NO_PROVIDER_MESSAGE_ID` warning: its status cannot be looked up.
SMS history needs `sms_company_id`; without it SMS ids are simply absent from
`fetch_statuses` (the tracker then times them out as UNKNOWN).

Fixed here, compared with the original: code 200 is accepted as a number or a string; the
HTTP status is classified before IWINV's business codes (whose 502–517 collide with gateway
statuses), so an HTML 502 is a retryable error; templateParam follows the template's variable
order, never dict order; reSend is "N" unless a failover text was given; times are Korea time
whatever the machine's timezone; the `fail` count is read; history answers are matched by
seqNo/requestNo and phone, never "the first item"; recipients are batched.

Pure functions build requests and parse answers; `IwinvProvider` strings them together with
the HTTP boundary of `_http`.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx

from kmsg_cli.errors import (
    AuthenticationError,
    ConfigError,
    InvalidInput,
    KmsgError,
    ProviderError,
    UnsupportedFeature,
)
from kmsg_cli.models import (
    Balance,
    DeliveryStatus,
    Message,
    MessageType,
    Notice,
    SendResult,
    StatusUpdate,
)
from kmsg_cli.providers._http import (
    body_excerpt,
    json_or_none,
    new_client,
    retry_after,
    send_request,
)
from kmsg_cli.providers.catalog import CATALOG, Capabilities

log = logging.getLogger("kmsg.iwinv")

Api = Literal["alimtalk", "sms"]

DEFAULT_ALIMTALK_BASE_URL = "https://alimtalk.bizservice.iwinv.kr"
DEFAULT_SMS_BASE_URL = "https://sms.bizservice.iwinv.kr"
SEND_PATH = "/api/v2/send/"
HISTORY_PATH = "/api/history/"
CHARGE_PATH = "/api/charge/"
JSON_TYPE = "application/json;charset=UTF-8"
KST = ZoneInfo("Asia/Seoul")
MAX_BATCH = 1000  # SMS resultCode 44: at most 1000 recipients per send
MMS_IMAGE_LIMIT = 100 * 1024
ALIMTALK_PAGE_SIZE = 1000  # the documented maximum of the AlimTalk history API
SMS_PAGE_SIZE = 100  # assumed; pages are followed by totalCount either way
MAX_PAGES = 20
DEFAULT_WINDOW_DAYS = 7
SMS_HISTORY_MAX_DAYS = 90
RESEND_CUSTOM_TEXT = "N"  # IWINV resendType: Y = resend the AlimTalk text, N = resendContent
_IMAGE_CACHE_SIZE = 16

_LABEL: dict[Api, str] = {"alimtalk": "IWINV AlimTalk", "sms": "IWINV SMS"}
_SUCCESS: dict[Api, str] = {"alimtalk": "200", "sms": "0"}

# What IWINV's codes mean, for answers that carry a code without a message.
_ALIMTALK_TEXT = {
    "200": "sent",
    "201": "authentication failed",
    "206": "requests from an IP address not registered with IWINV are refused",
    "401": "authentication failed",
    "403": "forbidden",
    "404": "template not found",
    "429": "too many requests",
    "501": "invalid templateCode",
    "505": "the sender number is not registered in advance",
    "508": "templateParam is required",
    "519": "insufficient balance",
    "540": "the message contains a blocked keyword",
}
_SMS_TEXT = {
    "0": "전송 성공",
    "1": "not sent",
    "11": "the service is not running",
    "12": "the account is being recharged",
    "13": "the sender number is not registered",
    "14": "bad authentication request",
    "15": "requests from an IP address not registered with IWINV are refused",
    "21": "LMS text longer than 2000 bytes",
    "22": "invalid characters in the title",
    "23": "title longer than 40 bytes",
    "31": "image larger than 100 KB",
    "32": "image file type not allowed",
    "33": "image upload failed",
    "41": "recipient missing",
    "42": "not an allowed reservation time",
    "43": "bad date format",
    "44": "at most 1000 recipients per send",
    "50": "auto-recharge limit exceeded",
    "202": "SMS API authentication failed or no SMS permission",
    "206": "requests from an IP address not registered with IWINV are refused",
}
_IP_CODES: dict[Api, frozenset[str]] = {
    "alimtalk": frozenset({"206"}),
    "sms": frozenset({"15", "206"}),
}
_AUTH_CODES: dict[Api, frozenset[str]] = {
    "alimtalk": frozenset({"201", "401", "403"}),
    "sms": frozenset({"14", "202"}),
}
_BALANCE_CODES: dict[Api, frozenset[str]] = {
    "alimtalk": frozenset({"519"}),
    "sms": frozenset({"50"}),
}
_TEMPLATE_CODES = frozenset({"404", "501"})  # AlimTalk only
_ALIMTALK_FINAL_5XX = frozenset({str(c) for c in range(502, 518)} | {"540"})
_SMS_RETRYABLE = frozenset({"12"})  # recharging: try again later

_PLACEHOLDER = re.compile(r"#\{([^{}]*)\}")
_NOT_DIGITS = re.compile(r"\D")
_WAITING_WORDS = ("대기", "예약", "접수")
_SENDING_WORDS = ("처리중", "처리 중", "발송중", "발송 중", "전송중", "전송 중", "진행")


# -- authentication --------------------------------------------------------------------------
def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def auth_header(api_key: str) -> str:
    """AlimTalk `AUTH` header: base64 of the API key ("api-key" -> "YXBpLWtleQ==")."""
    return _b64(api_key)


def sms_secret(sms_api_key: str, sms_auth_key: str) -> str:
    """SMS v2 `secret` header: base64 of "<sms_api_key>&<sms_auth_key>"."""
    return _b64(f"{sms_api_key}&{sms_auth_key}")


# -- small helpers ---------------------------------------------------------------------------
def kst(moment: datetime) -> str:
    """ "yyyy-MM-dd HH:mm:ss" in Korea time (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


def _kst_day(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(KST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def digits(value: Any) -> str:
    return _NOT_DIGITS.sub("", str(value or ""))


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _epoch_ms_kst(value: Any) -> int | None:
    """ "yyyy-MM-dd HH:mm:ss" (Korea time) -> epoch ms; None if absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d%H%M%S"):
        try:
            moment = datetime.strptime(text, layout).replace(tzinfo=KST)
        except ValueError:
            continue
        return round(moment.timestamp() * 1000)
    return None


def vendor_code(body: Any, *, keys: Sequence[str] = ("code", "resultCode")) -> str | None:
    """IWINV's result code as a canonical string: from the first of `keys` present in a JSON
    object, or from a bare-number body (`501`). Integral floats and numeric strings count;
    anything else is no code at all."""
    value: Any = body
    if isinstance(body, Mapping):
        value = None
        for key in keys:
            if body.get(key) is not None:
                value = body[key]
                break
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    # at most 100 digits: int() refuses more than 4300, and no code has more than a few
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,100}", value.strip()):
        return str(int(value.strip()))
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _vendor_id(value: Any) -> str:
    """seqNo/requestNo as a string: a whole number or a non-blank string; "" otherwise."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if math.isfinite(value) and value.is_integer() else ""
    return str(value).strip()


# -- AlimTalk template variables -------------------------------------------------------------
def placeholders(text: str) -> list[str]:
    """Distinct `#{name}` names in order of first appearance (`#{}` is literal)."""
    names: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1).strip()
        if name:
            names.setdefault(name, None)
    return list(names)


def _count(text: str, value: str) -> int:
    """Occurrences of `value` in `text`, overlapping ones included."""
    count, start = 0, text.find(value)
    while start != -1:
        count += 1
        start = text.find(value, start + 1)
    return count


def _order_from_rendering(text: str, variables: Mapping[str, str]) -> list[str] | None:
    """The variable order read off a rendered template text, when it is certain.

    Each value is inserted once at its placeholder; if it occurs exactly once in the text,
    that occurrence is the insertion, so the positions give the template order. A value that
    is empty, missing or repeated leaves the order unknown (None).
    """
    positions = []
    for name, value in variables.items():
        if not value or _count(text, value) != 1:
            return None
        positions.append((text.find(value), name))
    positions.sort()
    return [name for _, name in positions]


def template_params(message: Message) -> list[str]:
    """`templateParam` of one recipient: the values in the template's variable order.

    The order comes from `#{...}` placeholders in `message.text` (first appearance), else
    from a rendering of the template in which every value occurs exactly once; a single
    variable needs no order. Anything else is refused: dict order is never trusted.
    """
    variables = {str(k): str(v) for k, v in message.variables.items()}
    names = placeholders(message.text or "")
    if names:
        missing = [name for name in names if name not in variables]
        if missing:
            listed = ", ".join(missing)
            raise InvalidInput(
                f"missing template variable(s) for '{message.template_id}': {listed}",
                code="MISSING_VARIABLE",
                field="text",
                value=listed,
                hint=f"give each with --var NAME=VALUE (e.g. --var {missing[0]}=VALUE)",
            )
        return [variables[name] for name in names]
    if len(variables) <= 1:
        return list(variables.values())
    order = _order_from_rendering(message.text or "", variables)
    if order is None:
        raise InvalidInput(
            f"IWINV takes AlimTalk variables by position, and the order of "
            f"{', '.join(sorted(variables))} in template '{message.template_id}' is unknown",
            code="VARIABLE_ORDER_UNKNOWN",
            field="text",
            value=", ".join(sorted(variables)),
            hint="pass the template text with --text (with its #{...} variables) "
            "so kmsg knows the order",
        )
    return [variables[name] for name in order]


# -- request building (pure) -----------------------------------------------------------------
def build_alimtalk_body(messages: Sequence[Message], *, sender: str | None) -> dict[str, Any]:
    """One AlimTalk send request for messages sharing template, schedule and failover."""
    first = messages[0]
    body: dict[str, Any] = {"templateCode": first.template_id or ""}
    if first.scheduled_at is not None:
        body["reserve"] = "Y"
        body["sendDate"] = kst(first.scheduled_at)
    else:
        body["reserve"] = "N"
    failover = first.failover
    if failover is not None:
        body["reSend"] = "Y"
        body["resendCallback"] = digits(sender)
        body["resendType"] = RESEND_CUSTOM_TEXT
        if failover.type is MessageType.LMS and failover.subject:
            body["resendTitle"] = failover.subject
        body["resendContent"] = failover.text
    else:
        body["reSend"] = "N"
    entries = []
    for message in messages:
        entry: dict[str, Any] = {"phone": message.to.number}
        params = template_params(message)
        if params:
            entry["templateParam"] = params
        entries.append(entry)
    body["list"] = entries
    return body


def _title(message: Message) -> str:
    if message.subject and message.subject.strip():
        return message.subject.strip()
    return " ".join(message.text.split())[:20]


def build_sms_body(messages: Sequence[Message], *, sender: str) -> dict[str, Any]:
    """One SMS/LMS send request for messages sharing text, subject, type, sender and time."""
    first = messages[0]
    body: dict[str, Any] = {
        "version": "1.0",
        "from": digits(sender),
        "to": [m.to.number for m in messages],
        "text": first.text,
    }
    if first.type is MessageType.SMS:
        body["msgType"] = "SMS"
    else:
        body["title"] = _title(first)
    if first.scheduled_at is not None:
        body["date"] = kst(first.scheduled_at)
    return body


def build_mms_fields(message: Message, *, sender: str) -> list[tuple[str, str]]:
    """The text fields of an MMS multipart form, in IWINV's order (the image part follows)."""
    fields = [
        ("version", "1.0"),
        ("from", digits(sender)),
        ("to", message.to.number),
        ("title", _title(message)),
        ("text", message.text),
    ]
    if message.scheduled_at is not None:
        fields.append(("date", kst(message.scheduled_at)))
    return fields


# -- provider message ids --------------------------------------------------------------------
@dataclass(frozen=True)
class MessageRef:
    """What a provider message id says: API, IWINV request id, phone, day, reserved."""

    api: Api
    request_id: str
    phone: str
    day: datetime | None = None  # midnight, Korea time
    reserved: bool = False

    def __str__(self) -> str:
        prefix = "at" if self.api == "alimtalk" else "sms"
        text = f"{prefix}:{self.request_id}:{self.phone}"
        if self.day is not None:
            text += f":{self.day:%Y%m%d}"
        return text + (":R" if self.reserved else "")


def parse_message_id(value: str) -> MessageRef | None:
    """The parts of an id made by this module (see the module docstring); None if foreign."""
    parts = value.split(":")
    if len(parts) < 3 or parts[0] not in ("at", "sms"):
        return None
    api: Api = "alimtalk" if parts[0] == "at" else "sms"
    rest = parts[1:]
    reserved = False
    if rest[-1] == "R":
        reserved = True
        rest = rest[:-1]
    day: datetime | None = None
    if len(rest) >= 3 and re.fullmatch(r"\d{8}", rest[-1]) and rest[-2].isdigit():
        try:
            day = datetime.strptime(rest[-1], "%Y%m%d").replace(tzinfo=KST)
        except ValueError:
            day = None
        if day is not None:
            rest = rest[:-1]
    if len(rest) < 2 or not rest[-1].isdigit():
        return None
    request_id = ":".join(rest[:-1])
    if not request_id:
        return None
    return MessageRef(api, request_id, rest[-1], day, reserved)


# -- answers (pure) --------------------------------------------------------------------------
def _clean(text: str, secrets: Sequence[str] = (), limit: int = 200) -> str:
    """One line, at most `limit` characters, with any secret blanked out."""
    line = " ".join(str(text).split())
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return line[:limit] + ("…" if len(line) > limit else "")


def _vendor_text(api: Api, code: str, body: Any, secrets: Sequence[str]) -> str:
    """IWINV's own message for a code (one line, no secrets), else our description of it."""
    vendor = None
    if isinstance(body, Mapping):
        vendor = body.get("message") or body.get("messgae")  # IWINV misspells it at times
    if vendor:
        return _clean(str(vendor), secrets)
    return (_ALIMTALK_TEXT if api == "alimtalk" else _SMS_TEXT).get(code, "")


def error_for_code(
    api: Api,
    code: str,
    body: Any,
    *,
    provider_id: str,
    http_status: int,
    secrets: Sequence[str] = (),
    wait: float | None = None,
) -> ProviderError:
    """IWINV's business code (in a 2xx or 4xx answer) -> our error taxonomy."""
    text = _vendor_text(api, code, body, secrets)
    message = f"{_LABEL[api]} code {code}" + (f": {text}" if text else "")
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": http_status,
        "provider_code": code,
    }
    if code in _IP_CODES[api]:
        return ProviderError(
            message,
            code="IP_NOT_ALLOWED",
            hint="register this machine's public IP address as an allowed sending IP "
            "in the IWINV console",
            **common,
        )
    if code in _AUTH_CODES[api]:
        return AuthenticationError(message, hint=_auth_hint(api, provider_id), **common)
    if code in _BALANCE_CODES[api]:
        return ProviderError(
            message,
            code="INSUFFICIENT_BALANCE",
            hint="recharge the IWINV account (kmsg providers balance)",
            **common,
        )
    if api == "alimtalk":
        if code in _TEMPLATE_CODES:
            return ProviderError(
                message,
                code="TEMPLATE_NOT_FOUND",
                hint="check the template code and that IWINV approved the template",
                **common,
            )
        if code == "429":
            return ProviderError(
                message, code="RATE_LIMITED", retryable=True, retry_after=wait, **common
            )
        if code.isdigit() and int(code) >= 500 and code not in _ALIMTALK_FINAL_5XX:
            return ProviderError(message, code="PROVIDER_ERROR", retryable=True, **common)
    elif code in _SMS_RETRYABLE:
        return ProviderError(message, code="PROVIDER_ERROR", retryable=True, **common)
    return ProviderError(message, code="PROVIDER_REJECTED", **common)


def _auth_hint(api: Api, provider_id: str) -> str:
    keys = "api_key" if api == "alimtalk" else "sms_api_key and sms_auth_key"
    return f"check {keys} of provider '{provider_id}' (kmsg config validate)"


def answer_error(
    api: Api,
    response: httpx.Response,
    *,
    provider_id: str,
    sends: bool,
    secrets: Sequence[str] = (),
) -> ProviderError | None:
    """What went wrong with an answer, or None when IWINV says it succeeded.

    Order matters: HTTP 429 and 5xx are retryable whatever the body says (IWINV's business
    codes 502–517 are not gateway errors, and a gateway's page is not IWINV's code); then
    IWINV's own code decides; then the HTTP status; a 2xx without any code is a bad answer
    that may still have been accepted (an unknown outcome for sends).
    """
    status = response.status_code
    body = json_or_none(response)
    keys = ("code", "resultCode") if api == "alimtalk" else ("resultCode", "code")
    code = vendor_code(body, keys=keys)
    wait = retry_after(response)
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": status,
        "provider_code": code,
    }
    label = f"{_LABEL[api]} HTTP {status}"
    excerpt = _clean(body_excerpt(response), secrets)
    if status == 429 or status >= 500:
        if code is not None:
            detail = f"code {code} {_vendor_text(api, code, body, secrets)}".rstrip()
        elif body is None:
            detail = f"non-JSON body: {excerpt}" if excerpt else "empty body"
        else:
            detail = excerpt
        name = {429: "RATE_LIMITED", 503: "SERVICE_UNAVAILABLE"}.get(status, "PROVIDER_ERROR")
        return ProviderError(
            f"{label}: {detail}", code=name, retryable=True, retry_after=wait, **common
        )
    if code is not None and (not response.is_success or code != _SUCCESS[api]):
        return error_for_code(
            api,
            code,
            body,
            provider_id=provider_id,
            http_status=status,
            secrets=secrets,
            wait=wait,
        )
    if not response.is_success:
        message = f"{label}: {excerpt}" if excerpt else label
        if status in (401, 403):
            return AuthenticationError(message, hint=_auth_hint(api, provider_id), **common)
        return ProviderError(message, code="PROVIDER_REJECTED", **common)
    if code is None:
        return ProviderError(
            f"{label} without a result code: {excerpt or 'empty body'}"
            + ("; the messages may or may not have been accepted" if sends else ""),
            code="PROVIDER_BAD_RESPONSE",
            retryable=not sends,
            outcome_unknown=sends,
            **common,
        )
    return None


def check_answer(
    api: Api,
    response: httpx.Response,
    *,
    provider_id: str,
    sends: bool,
    secrets: Sequence[str] = (),
) -> Any:
    """The decoded body of a successful answer; raises the error `answer_error` finds."""
    error = answer_error(api, response, provider_id=provider_id, sends=sends, secrets=secrets)
    if error is not None:
        raise error
    return json_or_none(response)


def accepted_results(
    api: Api,
    body: Any,
    messages: Sequence[Message],
    *,
    provider_id: str,
    day: datetime,
) -> list[SendResult]:
    """Per-message results of an accepted send request (`body` passed `check_answer`)."""
    data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    if api == "alimtalk":
        raw_id = data.get("seqNo")
        request_id = _vendor_id(raw_id)
        if not (request_id.isascii() and request_id.isdigit()):  # "²" is a digit to isdigit()
            request_id = ""
    else:
        request_id = _vendor_id(data.get("requestNo"))
        if not request_id:
            request_id = _vendor_id(data.get("msgid"))
    code = _SUCCESS[api]
    warnings: list[Notice] = []
    if not request_id:
        what = "seqNo" if api == "alimtalk" else "requestNo"
        warnings.append(
            Notice(
                "NO_PROVIDER_MESSAGE_ID",
                f"IWINV accepted the message but returned no {what}: "
                "its delivery status cannot be looked up",
            )
        )
    success = _number(data.get("success"))
    fail = _number(data.get("fail"))
    if api == "alimtalk" and success is not None and success <= 0 and fail:
        text = _clean(str(data.get("message") or ""))
        return [
            SendResult(
                message_id=m.message_id,
                provider_id=provider_id,
                accepted=False,
                status=DeliveryStatus.FAILED,
                error_code="PROVIDER_REJECTED",
                error_message=f"IWINV AlimTalk accepted none of the {len(messages)} "
                f"recipient(s) of the request (fail {int(fail)})" + (f": {text}" if text else ""),
                raw=dict(data),
            )
            for m in messages
        ]
    if fail and fail > 0:
        which = "delivery tracking shows which" if request_id else "which ones is unknown"
        warnings.append(
            Notice(
                "PARTIAL_SUBMISSION",
                f"IWINV did not take {int(fail)} of the {len(messages)} recipient(s) of this "
                f"request; {which}",
            )
        )
    results = []
    for message in messages:
        pid = ""
        if request_id:
            pid = str(
                MessageRef(
                    api,
                    request_id,
                    message.to.number,
                    day,
                    reserved=api == "alimtalk" and message.scheduled_at is not None,
                )
            )
        results.append(
            SendResult(
                message_id=message.message_id,
                provider_id=provider_id,
                accepted=True,
                status=DeliveryStatus.PENDING if message.scheduled_at else DeliveryStatus.SENT,
                provider_message_id=pid,
                group_id=request_id or None,
                provider_code=code,
                native_failover=message.type is MessageType.ALIMTALK
                and message.failover is not None,
                warnings=tuple(warnings),
                raw=dict(data),
            )
        )
    return results


def parse_send_answer(
    api: Api,
    response: httpx.Response,
    messages: Sequence[Message],
    *,
    provider_id: str,
    day: datetime,
    secrets: Sequence[str] = (),
) -> list[SendResult]:
    """Results of one send request, in the order of `messages`; raises ProviderError when
    the request as a whole failed."""
    body = check_answer(api, response, provider_id=provider_id, sends=True, secrets=secrets)
    return accepted_results(api, body, messages, provider_id=provider_id, day=day)


# -- delivery status (pure) ------------------------------------------------------------------
def _has(text: str, words: Sequence[str]) -> bool:
    return any(word in text for word in words)


def map_alimtalk_item(item: Mapping[str, Any], provider_message_id: str) -> StatusUpdate:
    """One AlimTalk history item -> StatusUpdate.

    statusCode "OK" or a name with 성공 is DELIVERED; a waiting/sending name is PENDING/SENT;
    any other code or name is FAILED (the vendor text is kept for the tracker's
    "카카오 + 미사용" rule); nothing at all is not understood (None). A failed AlimTalk whose
    SMS fallback (resendStatus) succeeded was delivered by IWINV's native failover.
    """
    code = _text(item.get("statusCode"))
    name = _text(item.get("statusCodeName"))
    sent = _epoch_ms_kst(item.get("sendDate"))
    received = _epoch_ms_kst(item.get("receiveDate"))
    status: DeliveryStatus | None
    if code.upper() == "OK" or "성공" in name:
        status = DeliveryStatus.DELIVERED
    elif _has(name, _SENDING_WORDS):
        status = DeliveryStatus.SENT
    elif _has(name, _WAITING_WORDS):
        status = DeliveryStatus.PENDING
    elif code or name:
        status = DeliveryStatus.FAILED
    else:
        status = None
    message = name
    replaced = False
    if status is DeliveryStatus.FAILED:
        resend_code = _text(item.get("resendStatus"))
        resend_name = _text(item.get("resendStatusName"))
        if resend_code.upper() == "OK" or resend_code in ("06", "1000") or "성공" in resend_name:
            status = DeliveryStatus.DELIVERED
            replaced = True
            message = f"{name or code}; SMS fallback: {resend_name or resend_code}"
        elif _has(resend_name, _SENDING_WORDS + _WAITING_WORDS):
            status = DeliveryStatus.SENT
            message = f"{name or code}; SMS fallback: {resend_name}"
    return StatusUpdate(
        provider_message_id=provider_message_id,
        status=status,
        provider_status_code=code or None,
        provider_status_message=message or None,
        sent_at=sent,
        delivered_at=(received or sent) if status is DeliveryStatus.DELIVERED else None,
        failed_at=(received or sent) if status is DeliveryStatus.FAILED else None,
        replaced=replaced,
        raw=dict(item),
    )


def map_sms_item(item: Mapping[str, Any], provider_message_id: str) -> StatusUpdate:
    """One SMS history item -> StatusUpdate: 06/1000/성공 DELIVERED, 대기/00 PENDING,
    처리중/01 SENT, any other code or text FAILED, nothing at all None."""
    code = _text(item.get("sendStatusCode"))
    message = _text(item.get("sendStatusMsg")) or _text(item.get("sendStatus"))
    sent = _epoch_ms_kst(item.get("sendDate"))
    status: DeliveryStatus | None
    if code in ("06", "1000") or "성공" in message:
        status = DeliveryStatus.DELIVERED
    elif code == "01" or _has(message, _SENDING_WORDS):
        status = DeliveryStatus.SENT
    elif code == "00" or _has(message, _WAITING_WORDS):
        status = DeliveryStatus.PENDING
    elif code or message:
        status = DeliveryStatus.FAILED
    else:
        status = None
    return StatusUpdate(
        provider_message_id=provider_message_id,
        status=status,
        provider_status_code=code or None,
        provider_status_message=message or None,
        sent_at=sent,
        delivered_at=sent if status is DeliveryStatus.DELIVERED else None,
        failed_at=sent if status is DeliveryStatus.FAILED else None,
        raw=dict(item),
    )


def history_items(body: Any) -> tuple[list[Mapping[str, Any]], int | None]:
    """The items and totalCount of a history answer."""
    if not isinstance(body, Mapping):
        return [], None
    listing = body.get("list")
    items = [i for i in listing if isinstance(i, Mapping)] if isinstance(listing, list) else []
    total = _number(body.get("totalCount"))
    return items, int(total) if total is not None else None


def match_items(
    items: Sequence[Mapping[str, Any]], api: Api, refs: Mapping[str, MessageRef]
) -> dict[str, Mapping[str, Any]]:
    """Our id -> the history item with the same seqNo/requestNo and phone (nothing else)."""
    key = "seqNo" if api == "alimtalk" else "requestNo"
    wanted = {(ref.request_id, ref.phone): pid for pid, ref in refs.items()}
    found: dict[str, Mapping[str, Any]] = {}
    for item in items:
        pid = wanted.get((_vendor_id(item.get(key)), digits(item.get("phone"))))
        if pid is not None and pid not in found:
            found[pid] = item
    return found


def parse_balance(body: Any, *, provider_id: str) -> Balance:
    amount = _number(body.get("charge")) if isinstance(body, Mapping) else None
    if amount is None:
        raise ProviderError(
            f"unexpected answer from {provider_id}: the balance answer has no numeric charge",
            code="PROVIDER_BAD_RESPONSE",
            provider_id=provider_id,
        )
    return Balance(provider_id, amount, "KRW", None, dict(body))


# -- MMS image -------------------------------------------------------------------------------
def read_mms_image(path: str) -> bytes:
    """The image bytes, refused unless it exists, is JPEG and is at most 100 KB (one read)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MMS_IMAGE_LIMIT + 1)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read image '{path}': {exc.strerror or type(exc).__name__}",
            code="IMAGE_NOT_FOUND",
            field="image",
            value=path,
        ) from None
    if len(data) > MMS_IMAGE_LIMIT:
        raise InvalidInput(
            f"image '{path}' is larger than IWINV's 100 KB limit for MMS",
            code="IMAGE_TOO_LARGE",
            field="image",
            value=path,
            hint="resize or recompress the image to 100 KB or less",
        )
    if not data.startswith(b"\xff\xd8\xff"):
        raise InvalidInput(
            f"image '{path}' is not a JPEG file (IWINV MMS images must be JPEG)",
            code="IMAGE_FORMAT",
            field="image",
            value=path,
            hint="convert the image to JPEG",
        )
    return data


def _image_name(path: str) -> str:
    name = path.replace("\\", "/").rsplit("/", 1)[-1] or "image"
    return name if "." in name else name + ".jpg"


# -- the client ------------------------------------------------------------------------------
class IwinvProvider:
    type = "iwinv"
    capabilities: Capabilities = CATALOG["iwinv"]
    native_failover = True  # reSend "Y" + resendContent: IWINV sends the SMS fallback itself

    def __init__(
        self,
        provider_id: str,
        settings: Mapping[str, Any],
        http: httpx.Client | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.id = provider_id
        self._api_key = _setting(settings, "api_key")
        self._sms_api_key = _setting(settings, "sms_api_key")
        self._sms_auth_key = _setting(settings, "sms_auth_key")
        self.sender = _setting(settings, "sender")
        self.company_id = _setting(settings, "sms_company_id")
        self.alimtalk_base_url = (
            _setting(settings, "alimtalk_base_url") or DEFAULT_ALIMTALK_BASE_URL
        ).rstrip("/")
        self.sms_base_url = (_setting(settings, "sms_base_url") or DEFAULT_SMS_BASE_URL).rstrip("/")
        batch = int(settings.get("batch_size") or MAX_BATCH)
        self.batch_size = max(1, min(batch, MAX_BATCH))
        self._own_http = http is None
        self.http = http if http is not None else new_client(settings)
        self.clock = clock
        self._images: OrderedDict[str, bytes] = OrderedDict()
        self._images_lock = threading.Lock()
        secrets = [self._api_key, self._sms_api_key, self._sms_auth_key]
        if self._api_key:
            secrets.append(auth_header(self._api_key))
        if self._sms_api_key and self._sms_auth_key:
            secrets.append(sms_secret(self._sms_api_key, self._sms_auth_key))
        self._secrets = tuple(s for s in secrets if s and len(s) >= 4)

    def __repr__(self) -> str:  # never show a key
        return (
            f"IwinvProvider(id={self.id!r}, alimtalk_base_url={self.alimtalk_base_url!r}, "
            f"sms_base_url={self.sms_base_url!r})"
        )

    @property
    def has_sms(self) -> bool:
        return bool(self._sms_api_key and self._sms_auth_key)

    # -- checks before anything is sent --------------------------------------------------
    def validate(self, message: Message) -> None:
        """Refuse, before any request, what IWINV would reject for sure."""
        if message.type not in self.capabilities.types:
            raise UnsupportedFeature(
                f"provider '{self.id}' (IWINV) cannot send {message.type.value}",
                code="UNSUPPORTED_BY_PROVIDER",
                field="type",
                value=message.type.value,
                hint="kmsg providers list",
            )
        if not message.to.is_korean:
            raise UnsupportedFeature(
                f"provider '{self.id}' (IWINV) cannot send to international number "
                f"{message.to.e164}",
                code="UNSUPPORTED_BY_PROVIDER",
                field="to",
                value=str(message.to),
                hint="use a provider that sends abroad (kmsg providers list)",
            )
        sender = message.sender or self.sender
        if message.type is MessageType.ALIMTALK:
            if not self._api_key:
                raise ConfigError(
                    f"provider '{self.id}' has no api_key, needed for ALIMTALK",
                    code="MISSING_SETTING",
                    field="api_key",
                    hint='set api_key = "env:IWINV_API_KEY" and export the variable',
                )
            if not message.template_id:
                raise InvalidInput(
                    "ALIMTALK needs an approved template code",
                    code="MISSING_TEMPLATE",
                    field="template",
                    value="",
                    hint="add --template TEMPLATE_CODE",
                )
            template_params(message)
            if message.failover is not None and not digits(sender):
                raise InvalidInput(
                    f"the SMS fallback of an AlimTalk through '{self.id}' needs a sender number",
                    code="MISSING_SENDER",
                    field="from",
                    hint=f"pass --from 0212345678 or set sender in provider '{self.id}'",
                )
            return
        if not self.has_sms:
            raise ConfigError(
                f"provider '{self.id}' needs sms_api_key and sms_auth_key for {message.type.value}",
                code="MISSING_SETTING",
                field="sms_api_key, sms_auth_key",
                hint='set sms_api_key = "env:IWINV_SMS_API_KEY" and '
                'sms_auth_key = "env:IWINV_SMS_AUTH_KEY"',
            )
        if not digits(sender):
            raise InvalidInput(
                f"a sender number is required for {message.type.value} through '{self.id}'",
                code="MISSING_SENDER",
                field="from",
                hint=f"pass --from 0212345678 or set sender in provider '{self.id}'",
            )
        if message.type is MessageType.MMS:
            if not message.image:
                raise InvalidInput(
                    "MMS needs an image",
                    code="MISSING_IMAGE",
                    field="image",
                    value="",
                    hint="add --image PATH (JPEG, at most 100 KB), or use --type LMS",
                )
            self._image(message.image)

    def _image(self, path: str) -> bytes:
        """The checked image bytes, read once and kept for the send (a small LRU)."""
        with self._images_lock:
            data = self._images.get(path)
            if data is not None:
                self._images.move_to_end(path)
                return data
        data = read_mms_image(path)
        with self._images_lock:
            self._images[path] = data
            while len(self._images) > _IMAGE_CACHE_SIZE:
                self._images.popitem(last=False)
        return data

    # -- send ------------------------------------------------------------------------------
    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        """One result per message, in order.

        Messages are grouped into as few requests as IWINV allows. When the only request
        fails, or the first one fails for a reason that concerns the whole account before
        anything was accepted, ProviderError is raised; otherwise the failure becomes the
        result of the messages concerned, so what was accepted is never lost.
        """
        results: dict[str, SendResult] = {}
        ready: list[Message] = []
        for message in messages:
            try:
                self.validate(message)
            except KmsgError as error:
                results[message.message_id] = SendResult(
                    message_id=message.message_id,
                    provider_id=self.id,
                    accepted=False,
                    status=DeliveryStatus.FAILED,
                    error_code=error.code,
                    error_message=error.message,
                )
            else:
                ready.append(message)
        chunks = self._chunks(ready)
        for index, chunk in enumerate(chunks):
            try:
                chunk_results = self._send_chunk(chunk)
            except ProviderError as error:
                account_wide = not _concerns_content(error)
                if not results and (
                    len(chunks) == 1 or (account_wide and not error.outcome_unknown)
                ):
                    raise
                results.update((m.message_id, _failed(m, self.id, error)) for m in chunk)
                if account_wide:
                    for later in chunks[index + 1 :]:
                        results.update((m.message_id, _not_sent(m, self.id, error)) for m in later)
                    break
                continue
            results.update((r.message_id, r) for r in chunk_results)
        return [results[m.message_id] for m in messages]

    def _chunks(self, messages: Sequence[Message]) -> list[list[Message]]:
        """Requests to make: same-content groups cut at batch_size, one phone once each."""
        groups: dict[tuple[Any, ...], list[Message]] = {}
        for message in messages:
            sender = digits(message.sender or self.sender)
            key: tuple[Any, ...]
            if message.type is MessageType.ALIMTALK:
                failover = message.failover
                fallback = (
                    (failover.text, failover.type, failover.subject, sender) if failover else None
                )
                key = ("at", message.template_id, message.scheduled_at, fallback)
            elif message.type is MessageType.MMS:
                key = ("mms", message.message_id)
            else:
                key = (
                    "sms",
                    message.type,
                    message.text,
                    message.subject,
                    sender,
                    message.scheduled_at,
                )
            groups.setdefault(key, []).append(message)
        chunks: list[list[Message]] = []
        for group in groups.values():
            current: list[Message] = []
            phones: set[str] = set()
            for message in group:
                if len(current) >= self.batch_size or message.to.number in phones:
                    chunks.append(current)
                    current, phones = [], set()
                current.append(message)
                phones.add(message.to.number)
            if current:
                chunks.append(current)
        return chunks

    def _send_chunk(self, chunk: Sequence[Message]) -> list[SendResult]:
        first = chunk[0]
        sender = first.sender or self.sender
        day = _kst_day(self.clock())
        if first.type is MessageType.ALIMTALK:
            body = build_alimtalk_body(chunk, sender=sender)
            response = self._post("alimtalk", SEND_PATH, body, sends=True)
            return parse_send_answer(
                "alimtalk", response, chunk, provider_id=self.id, day=day, secrets=self._secrets
            )
        assert sender is not None  # validate() refused messages without one
        if first.type is MessageType.MMS:
            assert first.image is not None
            response = self._post_mms(first, sender)
        else:
            body = build_sms_body(chunk, sender=sender)
            response = self._post("sms", SEND_PATH, body, sends=True)
        return parse_send_answer(
            "sms", response, chunk, provider_id=self.id, day=day, secrets=self._secrets
        )

    # -- lookups -----------------------------------------------------------------------------
    def fetch_statuses(self, provider_message_ids: Sequence[str]) -> dict[str, StatusUpdate]:
        """Current status by our provider message id; ids IWINV does not know are absent.

        One history query per IWINV request (seqNo/requestNo), paged, whatever the number of
        its recipients asked for. SMS ids are absent without `sms_company_id`. A query that
        fails leaves its ids absent; if every query fails, the last error is raised.
        """
        groups: dict[tuple[Api, str, datetime | None, bool], dict[str, MessageRef]] = {}
        for pid in dict.fromkeys(provider_message_ids):
            ref = parse_message_id(pid) if pid else None
            if ref is None:
                continue
            if ref.api == "alimtalk" and not (
                self._api_key and ref.request_id.isascii() and ref.request_id.isdigit()
            ):
                continue
            if ref.api == "sms" and not (self.has_sms and self.company_id):
                continue
            key = (ref.api, ref.request_id, ref.day, ref.reserved)
            groups.setdefault(key, {})[pid] = ref
        found: dict[str, StatusUpdate] = {}
        failure: ProviderError | None = None
        for (api, _, day, reserved), refs in groups.items():
            try:
                items = self._history(api, refs, day=day, reserved=reserved)
            except ProviderError as error:
                log.warning("IWINV history lookup failed: %s", error.message)
                failure = error
                continue
            mapper = map_alimtalk_item if api == "alimtalk" else map_sms_item
            for pid, item in items.items():
                found[pid] = mapper(item, pid)
        if failure is not None and not found:
            raise failure
        return found

    def _history(
        self, api: Api, refs: Mapping[str, MessageRef], *, day: datetime | None, reserved: bool
    ) -> dict[str, Mapping[str, Any]]:
        now = self.clock()
        today = _kst_day(now)
        start = (day or today - timedelta(days=DEFAULT_WINDOW_DAYS)) - timedelta(days=1)
        first = next(iter(refs.values()))
        phones = {ref.phone for ref in refs.values()}
        base: dict[str, Any]
        if api == "alimtalk":
            page_size = ALIMTALK_PAGE_SIZE
            base = {
                "startDate": f"{start:%Y-%m-%d} 00:00:00",
                "endDate": f"{today:%Y-%m-%d} 23:59:59",
                "seqNo": int(first.request_id),
            }
            if reserved:
                base["reserve"] = "Y"
        else:
            page_size = SMS_PAGE_SIZE
            start = max(start, today - timedelta(days=SMS_HISTORY_MAX_DAYS - 1))
            base = {
                "version": "1.0",
                "companyid": self.company_id,
                "startDate": f"{start:%Y-%m-%d}",
                "endDate": f"{today:%Y-%m-%d}",
                "requestNo": first.request_id,
            }
        if len(phones) == 1:
            base["phone"] = first.phone
        found: dict[str, Mapping[str, Any]] = {}
        seen = 0
        for page in range(1, MAX_PAGES + 1):
            body = {**base, "pageNum": page, "pageSize": page_size}
            response = self._post(api, HISTORY_PATH, body, sends=False)
            answer = check_answer(
                api, response, provider_id=self.id, sends=False, secrets=self._secrets
            )
            items, total = history_items(answer)
            found.update(match_items(items, api, refs))
            seen += len(items)
            if len(found) == len(refs) or not items:
                break
            if total is not None and seen >= total:
                break
            if total is None and len(items) < page_size:
                break
        return found

    def balance(self) -> Balance:
        """The remaining charge: the AlimTalk account when api_key is set, else SMS."""
        if self._api_key:
            response = self._post("alimtalk", CHARGE_PATH, {}, sends=False)
            api: Api = "alimtalk"
        elif self.has_sms:
            response = self._post("sms", CHARGE_PATH, {"version": "1.0"}, sends=False)
            api = "sms"
        else:
            raise ConfigError(
                f"provider '{self.id}' has no credentials to ask for the balance",
                code="MISSING_SETTING",
                field="api_key",
                hint="set api_key, or sms_api_key and sms_auth_key",
            )
        body = check_answer(api, response, provider_id=self.id, sends=False, secrets=self._secrets)
        return parse_balance(body, provider_id=self.id)

    # -- plumbing ---------------------------------------------------------------------------
    def _headers(self, api: Api) -> dict[str, str]:
        if api == "alimtalk":
            return {"AUTH": auth_header(self._api_key or "")}
        return {"secret": sms_secret(self._sms_api_key or "", self._sms_auth_key or "")}

    def _url(self, api: Api, path: str) -> str:
        return (self.alimtalk_base_url if api == "alimtalk" else self.sms_base_url) + path

    def _post(self, api: Api, path: str, body: Any, *, sends: bool) -> httpx.Response:
        return send_request(
            self.http,
            "POST",
            self._url(api, path),
            provider_id=self.id,
            sends=sends,
            headers={**self._headers(api), "Content-Type": JSON_TYPE},
            json_body=body,
        )

    def _post_mms(self, message: Message, sender: str) -> httpx.Response:
        """The multipart MMS request, through the shared HTTP boundary."""
        assert message.image is not None
        url = self._url("sms", SEND_PATH)
        image = self._image(message.image)
        return send_request(
            self.http,
            "POST",
            url,
            provider_id=self.id,
            sends=True,
            headers=self._headers("sms"),
            form=dict(build_mms_fields(message, sender=sender)),
            files={"image": (_image_name(message.image), image, "image/jpeg")},
        )

    def close(self) -> None:
        if self._own_http:
            self.http.close()


def _setting(settings: Mapping[str, Any], key: str) -> str | None:
    value = settings.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _concerns_content(error: ProviderError) -> bool:
    """A refusal of this request's content (template, text, sender), not of the account or
    the connection: the other requests of the batch may still go through."""
    return (
        not error.retryable
        and not error.outcome_unknown
        and error.code in ("TEMPLATE_NOT_FOUND", "PROVIDER_REJECTED")
    )


def _failed(message: Message, provider_id: str, error: ProviderError) -> SendResult:
    return SendResult(
        message_id=message.message_id,
        provider_id=provider_id,
        accepted=False,
        status=DeliveryStatus.UNKNOWN if error.outcome_unknown else DeliveryStatus.FAILED,
        error_code=error.code,
        error_message=error.message,
        provider_code=error.provider_code,
        retryable=error.retryable,
        outcome_unknown=error.outcome_unknown,
    )


def _not_sent(message: Message, provider_id: str, error: ProviderError) -> SendResult:
    return SendResult(
        message_id=message.message_id,
        provider_id=provider_id,
        accepted=False,
        status=DeliveryStatus.FAILED,
        error_code=error.code,
        error_message=f"not sent, because an earlier request failed: {error.message}",
        provider_code=error.provider_code,
        retryable=error.retryable or error.outcome_unknown,
    )
