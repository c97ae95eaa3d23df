"""The fake Aligo's shared vocabulary and state: defaults, prices, answer texts, numbers,
AlimTalk template matching, errors, form bodies, and stored deliveries
(docs/vendors/aligo.md).

Transport
- Every endpoint is ``POST`` with ``application/x-www-form-urlencoded`` (charset parameter
  honoured, default UTF-8) or ``multipart/form-data``. Answers are ``application/json;
  charset=utf-8`` and business errors use HTTP 200 (``result_code`` < 0 on the SMS host,
  ``code`` != 0 on the Kakao host). A repeated form field: the last value wins (PHP style).
  Paths match with or without the trailing slash. Unknown form fields are ignored.
- HTTP 4xx only for requests that are malformed as HTTP: unknown path 404, another method
  405 (``Allow: POST``), a body that is neither form nor multipart 415, an undecodable form
  or broken multipart 400. Their body is ``{"status", "error", "message"}`` (no
  ``result_code``/``code``) so it cannot be mistaken for a business answer. An empty body is
  an empty form (so it fails authentication).
- Balance is one point pool (``point``) with per-type ``prices`` (SMS 8.4, LMS 25.9, MMS 60,
  AT 6.5, FT 11, FI 22); ``SMS_CNT`` etc. are ``floor(point / price)``.
- Ids are sequential integers: ``msg_id``/``mid`` from 100000001, per-receiver detail ids
  (``mdid``/``msgid``/``smid``) from 900000001. ``msg_id`` is a string, ``info.mid`` an int.
- Dates are "YYYY-MM-DD HH:MM:SS" KST ("" until known). A delivery goes through
  scheduled (before its time) → waiting → sending (from start+a) → final (from
  start+max(a, b)), where ``progress_after=(a, b)`` and start is the registration or
  scheduled time; test-mode deliveries never progress.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes._common import PLACEHOLDER

DEFAULT_KEY = "ALIGO-TEST-KEY"
DEFAULT_USER_ID = "testuser"
DEFAULT_SENDERS = frozenset({"01000000000", "0212345678"})
DEFAULT_SENDER_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
DEFAULT_TEMPLATES: Mapping[str, Mapping[str, Any]] = {
    "TPL01": {
        "content": "#{name}님 주문이 접수되었습니다. 주문번호 #{order}",
        "name": "주문 접수",
    },
}
DEFAULT_POINT = 100000
DEFAULT_PRICES: Mapping[str, str] = {
    "SMS": "8.4",
    "LMS": "25.9",
    "MMS": "60",
    "AT": "6.5",
    "FT": "11",
    "FI": "22",
}
SMS_PATHS = ("/send/", "/send_mass/", "/sms_list/", "/remain/", "/cancel/")
KAKAO_PATHS = (
    "/akv10/alimtalk/send/",
    "/akv10/friendtalk/send/",
    "/akv10/friend/send/",
    "/akv10/template/list/",
    "/akv10/history/detail/",
    "/akv10/heartinfo/",
    "/akv10/cancel/",
)
SEND_PATHS = (
    "/send/",
    "/send_mass/",
    "/akv10/alimtalk/send/",
    "/akv10/friendtalk/send/",
    "/akv10/friend/send/",
)
RESULT_CODE_STYLES = ("native", "str", "int")
MAX_SMS_RECEIVERS = 1000
MAX_MASS = 500
MAX_KAKAO_RECEIVERS = 500
MMS_IMAGE_LIMIT = 300 * 1024
FT_IMAGE_LIMIT = 500 * 1024
SCHEDULE_LEAD_SECONDS = 600
MAX_FORM_FIELDS = 5000

SMS_OK_MESSAGE = "success"
KAKAO_SEND_MESSAGE = "성공적으로 전송요청 하였습니다."
KAKAO_QUERY_MESSAGE = "정상적으로 조회되었습니다."
# Refusals of a reservation cancel (see ``cancel``): the SMS host's documented codes, which the
# Kakao host is assumed to share.
CANCEL_ERRORS: Mapping[int, str] = {
    -801: "메세지ID 미입력",
    -802: "메세지ID 오류",
    -803: "예약대기중인 문자 없음",
    -804: "발송 5분전까지만 취소가능",
    -805: "전송완료로 취소불가",
}
SMS_ERRORS: Mapping[int, str] = {
    -101: "인증오류입니다.",
    -103: "요청 정보가 올바르지 않습니다.",
    -105: "등록되지 않은 발신번호입니다.",
    -201: "잔액이 부족합니다.",
    **CANCEL_ERRORS,
}
KAKAO_ERRORS: Mapping[int, str] = {
    -99: "계정 인증에 실패하였습니다.",
    509: "요청 정보가 올바르지 않습니다.",
    -501: "템플릿 코드를 찾을 수 없습니다.",
    -502: "템플릿 내용과 일치하지 않습니다.",
    -503: "등록되지 않은 발신프로필(senderkey)입니다.",
    -504: "등록되지 않은 발신번호입니다.",
    -201: "잔액이 부족합니다.",
    **CANCEL_ERRORS,
}
KAKAO_NON_USER = ("3019", "톡 유저가 아님")
KAKAO_FAILED_CODE = "3018"
BUTTON_LINK_TYPES = frozenset({"WL", "AL", "DS", "BK", "MD", "BC", "BT", "AC"})
TOKEN_UNITS: Mapping[str, int] = {
    "y": 365 * 86400,
    "m": 30 * 86400,
    "d": 86400,
    "h": 3600,
    "i": 60,
    "s": 1,
}

TOKEN_PATH = re.compile(r"/akv10/token/create/(\d+)/([ymdhis])/")
SMS_IMAGE_FIELDS = ("image", "image1", "image2", "image3")


def normalize_number(value: str) -> str:
    """Remove '-' and surrounding whitespace (Aligo accepts 010-1234-5678)."""
    return value.strip().replace("-", "")


def is_receiver(number: str) -> bool:
    return number.isascii() and number.isdigit() and 9 <= len(number) <= 11 and number[0] == "0"


def is_sender(number: str) -> bool:
    return number.isascii() and number.isdigit() and 8 <= len(number) <= 11


def template_pattern(content: str) -> tuple[re.Pattern[str], dict[str, str]]:
    """A regex that fully matches ``content`` with its ``#{…}`` filled in.

    Returns the pattern and a map variable name → group name. Values are non-empty, never
    contain "#{", and a repeated variable must repeat the same value.
    """
    parts: list[str] = []
    groups: dict[str, str] = {}
    position = 0
    for match in PLACEHOLDER.finditer(content):
        parts.append(re.escape(content[position : match.start()]))
        name = match.group(1)
        if name in groups:
            parts.append(f"(?P={groups[name]})")
        else:
            groups[name] = f"v{len(groups)}"
            parts.append(f"(?P<{groups[name]}>(?:(?!#\\{{).)+?)")
        position = match.end()
    parts.append(re.escape(content[position:]))
    return re.compile("".join(parts), re.DOTALL), groups


def match_template(content: str, message: str) -> dict[str, str] | None:
    """The variables that turn ``content`` into ``message``, or None if it cannot."""
    pattern, groups = template_pattern(content.replace("\r\n", "\n"))
    found = pattern.fullmatch(message.replace("\r\n", "\n"))
    if found is None:
        return None
    return {name: found.group(group) for name, group in groups.items()}


class AligoError(Exception):
    """A business error, answered with HTTP 200 in the host's own shape."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class HttpError(Exception):
    """A request that is malformed as HTTP: answered with a 4xx status."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def http_error_body(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "error": _REASONS.get(status, "Error"), "message": message}


@dataclass
class Upload:
    """One multipart file part."""

    name: str
    filename: str | None
    content_type: str
    data: bytes

    def summary(self) -> dict[str, Any]:
        return {
            "field": self.name,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
        }


@dataclass
class Form:
    """A parsed form body: text fields (every value, in order) and file parts."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """The last value of a text field (PHP semantics), or None."""
        values = self.fields.get(name)
        return values[-1] if values else None

    def text(self, name: str) -> str:
        return self.get(name) or ""

    def flat(self) -> dict[str, str]:
        return {name: values[-1] for name, values in self.fields.items()}


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["content-type"] = value
    params = {k.lower(): str(v) for k, v in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


def parse_form(content_type: str | None, body: bytes) -> Form:
    """Parse a urlencoded or multipart body. Raises HttpError (400/415)."""
    form = Form()
    if not body:
        return form
    if not content_type:
        raise HttpError(415, "Content-Type is required (form or multipart)")
    mime, params = _content_type(content_type)
    if mime == "application/x-www-form-urlencoded":
        charset = params.get("charset", "utf-8")
        try:
            pairs = parse_qsl(
                body.decode(charset),
                keep_blank_values=True,
                encoding=charset,
                errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )
        except (UnicodeDecodeError, LookupError, ValueError) as error:
            raise HttpError(400, f"undecodable form body: {error}") from None
        for name, value in pairs:
            form.fields.setdefault(name, []).append(value)
        return form
    if mime != "multipart/form-data":
        raise HttpError(415, f"unsupported Content-Type {mime!r}")
    if not params.get("boundary"):
        raise HttpError(400, "multipart body without a boundary")
    try:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    except UnicodeEncodeError:
        raise HttpError(400, "Content-Type is not latin-1") from None
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise HttpError(400, f"broken multipart body: {message.defects!r}")
    parts = list(message.iter_parts())
    if len(parts) > MAX_FORM_FIELDS:
        raise HttpError(400, "too many multipart parts")
    for part in parts:
        param = part.get_param("name", header="content-disposition")
        if not isinstance(param, str) or not param or part.defects:
            raise HttpError(400, "multipart part without a name")
        name = param
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        part_type = part.get_content_type()
        if filename is not None or not part_type.startswith("text/"):
            form.files.setdefault(name, []).append(Upload(name, filename, part_type, data))
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            form.fields.setdefault(name, []).append(data.decode(charset))
        except (UnicodeDecodeError, LookupError):
            raise HttpError(400, f"field {name!r} is not {charset}") from None
    return form


def image_kind(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"GIF8":
        return "gif"
    return None


@dataclass
class Substitute:
    detail_id: str
    msg_type: str
    title: str | None
    text: str
    failure: str | None


@dataclass
class Delivery:
    channel: str  # "sms" | "alimtalk" | "friendtalk"
    request_id: str
    detail_id: str
    endpoint: str
    msg_type: str  # SMS/LMS/MMS or AT/FT
    receiver: str
    sender: str
    text: str
    title: str | None
    testmode: bool
    registered: float
    scheduled: float | None
    t_processed: float
    t_final: float
    failure: tuple[str, str] | None  # (code, reason); code "" on the SMS host
    outcome: str
    images: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    substitute: Substitute | None = None


def yn(value: str | None, name: str, code: int) -> bool:
    if value is None or value == "":
        return False
    if value.upper() not in ("Y", "N"):
        raise AligoError(code, f"{name} must be Y or N")
    return value.upper() == "Y"


def page_args(form: Form, size_field: str, default: int, code: int) -> tuple[int, int]:
    raw_page = form.text("page").strip() or "1"
    raw_size = form.text(size_field).strip() or str(default)
    if not (raw_page.isdigit() and raw_size.isdigit()):
        raise AligoError(code, f"page and {size_field} must be numbers")
    page, size = int(raw_page), int(raw_size)
    if page < 1 or not 1 <= size <= 500:
        raise AligoError(code, f"page >= 1 and {size_field} 1..500")
    return page, size


def delivery_phase(delivery: Delivery, now: float) -> str:
    if delivery.extra.get("cancelled_at") is not None:
        return "cancelled"  # see ``cancel``
    if delivery.testmode:
        return "test"
    if delivery.scheduled is not None and now < delivery.scheduled:
        return "scheduled"
    if now < delivery.t_processed:
        return "waiting"
    if now < delivery.t_final:
        return "sending"
    return "final"
