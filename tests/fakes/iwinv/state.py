"""The fake IWINV's shared vocabulary and state: defaults, prices, routes, the fixed answer
texts, auth header values, KST dates, paging, stored messages and multipart forms.

- ``balance`` (KRW) is shared by both hosts; prices: AlimTalk 8, SMS/GSMS 20, LMS 50, MMS 120
  per accepted recipient. ``charge`` is a JSON number (an int when whole).
- Dates in answers are "yyyy-MM-dd HH:mm:ss" in KST (Asia/Seoul, a fixed +09:00).
- Error messages are the fixed texts below (206 is the vendor's exact text); why the fake
  refused is written to the request log's ``error_detail`` only.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Any

from tests.fakes._common import KST, PLACEHOLDER

DEFAULT_API_KEY = "IWINV-TEST-KEY"
DEFAULT_SMS_API_KEY = "IWINV-SMS-API-KEY"
DEFAULT_SMS_AUTH_KEY = "IWINV-SMS-AUTH-KEY"
DEFAULT_SMS_COMPANY_ID = "kmsgtest"
DEFAULT_SENDERS = frozenset({"01000000000", "0212345678"})
DEFAULT_TEMPLATES: Mapping[str, str] = {
    "WELCOME": "#{name}님 가입을 환영합니다. 인증번호 #{code}",
}
PRICES: Mapping[str, int] = {"ALIMTALK": 8, "SMS": 20, "GSMS": 20, "LMS": 50, "MMS": 120}
SEND_PATHS = ("/alimtalk/api/v2/send/", "/sms/api/v2/send/")
MAX_RECIPIENTS = 1000
MMS_IMAGE_LIMIT = 100 * 1024
HISTORY_MAX_DAYS = 90
GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>"
)
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

ALIMTALK_ROUTES = frozenset(
    {
        "/api/v2/send/",
        "/api/history/",
        "/api/charge/",
        "/api/template/",
        "/api/template/add/",
        "/api/template/modify/",
        "/api/template/delete/",
        "/api/cancel/",
    }
)
SMS_ROUTES = frozenset({"/api/v2/send/", "/api/history/", "/api/charge/"})

ALIMTALK_MESSAGES: Mapping[int, str] = {
    200: "전송 성공",
    201: "인증에 실패하였습니다. AUTH 값을 확인해 주세요.",
    206: "등록하지 않은 IP에서는 발송되지 않습니다.",
    501: "템플릿 코드가 올바르지 않습니다.",
    502: "요청 파라미터가 올바르지 않습니다.",
    503: "수신번호 형식이 올바르지 않습니다.",
    504: "예약 발송 일시가 올바르지 않습니다.",
    505: "사전 등록되지 않은 발신번호입니다.",
    506: "대체 발송 설정이 올바르지 않습니다.",
    507: "한 번에 최대 1000건까지 발송할 수 있습니다.",
    508: "templateParam 값이 올바르지 않습니다.",
    519: "잔액이 부족합니다.",
    540: "발송 금지어가 포함되어 있습니다.",
    400: "취소할 수 없는 예약입니다.",  # the fake's refusal of a cancel (see ``cancel``)
}
SMS_MESSAGES: Mapping[int, str] = {
    0: "전송 성공",
    1: "발송 실패: 요청 형식이 올바르지 않습니다.",
    11: "서비스가 운영 중이 아닙니다.",
    12: "충전 중입니다.",
    13: "등록되지 않은 발신번호입니다.",
    14: "인증 요청이 올바르지 않습니다.",
    15: "등록되지 않은 IP입니다.",
    21: "메시지 길이가 허용 범위를 초과했습니다.",
    22: "제목에 사용할 수 없는 문자가 있습니다.",
    23: "제목은 40바이트를 넘을 수 없습니다.",
    31: "파일 크기가 100KB를 초과했습니다.",
    32: "허용되지 않는 파일 확장자입니다.",
    33: "이미지 업로드에 실패했습니다.",
    41: "수신번호가 없습니다.",
    42: "예약 가능한 시간이 아닙니다.",
    43: "날짜 형식이 올바르지 않습니다.",
    44: "최대 1000건까지 발송할 수 있습니다.",
    50: "잔액이 부족합니다. (자동충전 한도 초과)",
    202: "SMS API 인증 실패 또는 SMS 발송 권한이 없습니다.",
    206: "등록되지 않은 IP입니다.",
}

ALIMTALK_DELIVERED = ("OK", "성공")
ALIMTALK_FAILED = ("FAIL", "발송 실패")
ALIMTALK_NON_USER = ("3018", "카카오톡 미사용자")
SMS_DELIVERED = ("06", "전송 성공")
SMS_FAILED = ("99", "전송 실패")

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE = re.compile(r"0\d{8,10}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def alimtalk_auth(api_key: str) -> str:
    """The ``AUTH`` header value: standard padded base64 of the UTF-8 key ."""
    return base64.b64encode(api_key.encode("utf-8")).decode("ascii")


def sms_secret(sms_api_key: str, sms_auth_key: str) -> str:
    """The ``secret`` header value: base64(``sms_api_key + "&" + sms_auth_key``) ."""
    return base64.b64encode(f"{sms_api_key}&{sms_auth_key}".encode()).decode("ascii")


def placeholders(content: str) -> list[str]:
    """Distinct ``#{…}`` names of a template, in order of first appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(content):
        if name not in seen:
            seen.append(name)
    return seen


def render(content: str, params: list[str]) -> str:
    """Fill the template positionally: the i-th distinct name takes ``params[i]``."""
    values = dict(zip(placeholders(content), params, strict=False))
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), content)


def parse_kst(value: object) -> float | None:
    """Epoch seconds of an exact "yyyy-MM-dd HH:mm:ss" read as KST; None if malformed."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=KST).timestamp()
    except ValueError:
        return None


def parse_kst_bound(value: object, end: bool) -> float | None:
    """A history bound: a full KST time, or a day (its first/last second when ``end``)."""
    full = parse_kst(value)
    if full is not None:
        return full
    if not isinstance(value, str) or not _DATE_ONLY.fullmatch(value):
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=KST)
    except ValueError:
        return None
    return day.timestamp() + (86399 if end else 0)


def valid_phone(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and _PHONE.fullmatch(value) is not None


def int_param(value: object, default: int) -> int | None:
    """A paging number given as int or digit string; None when malformed."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def resolve_outcome(
    chosen: str | tuple[str, str], delivered: tuple[str, str], failed: tuple[str, str]
) -> tuple[str, str] | None:
    if isinstance(chosen, tuple):
        return (str(chosen[0]), str(chosen[1]))
    if chosen == "delivered":
        return delivered
    if chosen == "failed":
        return failed
    if chosen == "pending":
        return None
    raise ValueError(f"final outcome {chosen!r}: use delivered/failed/pending or (code, name)")


def delivered_alimtalk(outcome: tuple[str, str]) -> bool:
    return outcome[0] == "OK" or "성공" in outcome[1]


def within(moment: float, bounds: tuple[float | None, float | None]) -> bool:
    start, end = bounds
    # requestDate has whole seconds: compare at that resolution
    whole = float(int(moment))
    return (start is None or whole >= start) and (end is None or whole <= end)


def in_cp949(char: str) -> bool:
    try:
        char.encode("cp949")
    except UnicodeEncodeError:
        return False
    return True


def history_bounds(body: dict[str, Any], code: int) -> tuple[float | None, float | None]:
    start_raw, end_raw = body.get("startDate"), body.get("endDate")
    start = end = None
    if start_raw not in (None, ""):
        start = parse_kst_bound(start_raw, end=False)
        if start is None:
            raise Fail(code, "startDate must be yyyy-MM-dd[ HH:mm:ss]")
    if end_raw not in (None, ""):
        end = parse_kst_bound(end_raw, end=True)
        if end is None:
            raise Fail(code, "endDate must be yyyy-MM-dd[ HH:mm:ss]")
    if start is not None and end is not None and start > end:
        raise Fail(code, "startDate is after endDate")
    return start, end


def history_page(
    matched: list[Any], paged: tuple[int, int], view: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """The paged part of a history answer: message, totalCount and the items of page
    ``paged`` = (pageNum, pageSize), each shown by ``view``."""
    page_num, page_size = paged
    page = matched[(page_num - 1) * page_size : page_num * page_size]
    return {"message": "조회 성공", "totalCount": len(matched), "list": [view(i) for i in page]}


def paging(body: dict[str, Any], code: int) -> tuple[int, int]:
    page_num = int_param(body.get("pageNum"), 1)
    page_size = int_param(body.get("pageSize"), 15)
    if page_num is None or page_num < 1 or page_size is None or not 1 <= page_size <= 1000:
        raise Fail(code, "pageNum/pageSize must be positive numbers (pageSize ≤ 1000)")
    return page_num, page_size


class Fail(Exception):
    """A business error answer (code + message in the channel's shape)."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class Upload:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Form:
    fields: dict[str, list[str]]
    files: dict[str, list[Upload]]

    def log_view(self) -> dict[str, Any]:
        return {
            "fields": copy.deepcopy(self.fields),
            "files": {
                name: [
                    {"filename": u.filename, "content_type": u.content_type, "size": len(u.data)}
                    for u in uploads
                ]
                for name, uploads in self.files.items()
            },
        }


@dataclass
class AlimTalkRecord:
    seq_no: int
    phone: str
    template_code: str
    template_param: list[str]
    text: str
    reserve: bool
    requested: float
    start: float
    final_at: float
    outcome: tuple[str, str] | None  # None: never final
    accepted: bool
    resend: dict[str, Any]
    arrival: int
    resend_plan: dict[str, Any] | None = None


@dataclass
class SmsRecord:
    request_no: str
    phone: str
    sender: str
    msg_type: str
    text: str
    title: str | None
    reserved: bool
    requested: float
    start: float
    final_at: float
    outcome: tuple[str, str] | None
    arrival: int
    image: dict[str, Any] | None = None


def parse_multipart(content_type: str, raw: bytes) -> Form:
    """Split a multipart/form-data body; raises ValueError when it is malformed."""
    header = BytesHeaderParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode())
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    segments = raw.split(delimiter)
    if len(segments) < 3 or not segments[-1].startswith(b"--"):
        raise ValueError("multipart body is not terminated")
    form = Form(fields={}, files={})
    for segment in segments[1:-1]:
        if not segment.startswith(b"\r\n") or not segment.endswith(b"\r\n"):
            raise ValueError("malformed multipart part")
        head, separator, data = segment[2:-2].partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("multipart part without headers")
        part: Message = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("multipart part without a name")
        filename = part.get_filename()
        if filename is not None:
            form.files.setdefault(name, []).append(
                Upload(name, filename, part.get("content-type"), data)
            )
        else:
            form.fields.setdefault(name, []).append(data.decode("utf-8"))
    return form
