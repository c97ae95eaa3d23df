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
import calendar
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
MAX_RECIPIENTS = 1000  # SMS (IWINV-SMS-BATCH, code 44)
MAX_ALIMTALK_RECIPIENTS = 10_000  # IWINV-AT-BATCH, code 514
MMS_IMAGE_LIMIT = 100 * 1024  # IWINV-MMS-IMAGE: the image must be smaller than this
HISTORY_MAX_DAYS = 90
RESERVE_LEAD = 15 * 60  # IWINV-SMS-WINDOW / IWINV-AT-WINDOW: at least 15 minutes ahead
ALIMTALK_RESERVE_MAX = 2 * 86400  # IWINV-AT-WINDOW: at most 2 days ahead
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

# The code tables of docs/vendors/iwinv.md (IWINV-AT-CODES, IWINV-SMS-CODES), in the fake's
# own Korean wording; 201 is kmsg's assumed authentication code (IWINV-AT-CODE201, unverified).
ALIMTALK_MESSAGES: Mapping[int, str] = {
    200: "전송 성공",
    201: "인증에 실패하였습니다. AUTH 값을 확인해 주세요.",
    206: "등록하지 않은 IP에서는 발송되지 않습니다.",
    501: "templateCode 값이 올바르지 않습니다.",
    502: "list 값이 올바르지 않습니다.",
    503: "reSend 값이 올바르지 않습니다.",
    504: "resendType 값이 올바르지 않습니다.",
    505: "사전 등록되지 않은 발신번호입니다.",
    506: "sendDate 값이 올바르지 않습니다.",
    507: "예약 발송은 15분 이후부터 2일 이내까지만 가능합니다.",
    508: "templateParam 값이 필요합니다.",
    509: "메시지 내용이 템플릿과 다릅니다.",
    510: "제목은 40바이트를 넘을 수 없습니다.",
    511: "제목에는 한글, 영문, 숫자와 [ ] ( ) < > 만 쓸 수 있습니다.",
    512: "수신번호가 없습니다.",
    513: "수신번호 형식이 올바르지 않습니다.",
    514: "한 번에 최대 10,000건까지 발송할 수 있습니다.",
    515: "대체 발송 내용은 1,000자를 넘을 수 없습니다.",
    516: "대체 발송할 알림톡 내용이 1,000자를 넘습니다.",
    517: "알림톡 내용이 변수 치환 후 1,000자를 넘습니다.",
    518: "요금 충전 호출에 실패했습니다.",
    519: "잔액이 부족합니다.",
    540: "발송 금지어가 포함되어 있습니다.",
    400: "취소할 수 없는 예약입니다.",  # the fake's refusal of a cancel (see ``cancel``)
}
SMS_MESSAGES: Mapping[int, str] = {
    0: "전송 성공",
    1: "메시지가 전송되지 않았습니다.",
    11: "서비스가 운영 중이 아닙니다.",
    12: "충전 중입니다. 잠시 후 다시 시도해 주세요.",
    13: "등록되지 않은 발신번호입니다.",
    14: "인증 요청이 올바르지 않습니다.",
    15: "등록되지 않은 IP입니다.",
    21: "장문 메시지는 2000바이트를 넘을 수 없습니다.",
    22: "제목에는 한글, 영문, 숫자와 [ ] ( ) < > 만 쓸 수 있습니다.",
    23: "제목은 40바이트를 넘을 수 없습니다.",
    31: "파일 크기는 100KB 미만이어야 합니다.",
    32: "허용되지 않는 파일 확장자입니다.",
    33: "이미지 업로드에 실패했습니다.",
    41: "수신번호가 없습니다.",
    42: "예약 발송은 15분 이후부터 한 달 이전까지만 가능합니다.",
    43: "날짜 형식이 올바르지 않습니다.",
    44: "최대 1000건까지 발송할 수 있습니다.",
    50: "자동 충전 하루 한도를 초과했습니다.",
    202: "SMS API 인증 실패 또는 SMS 발송 권한이 없습니다.",
    206: "등록되지 않은 IP입니다.",
}

# History statuses. SMS/LMS/MMS codes are documented (IWINV-SMS-STATUS, IWINV-LMS-STATUS);
# the AlimTalk statusCode values are not (IWINV-AT-STATUS): "OK"/"WAIT"/"FAIL" and the
# names below are the fake's assumption, matching what kmsg assumes.
ALIMTALK_DELIVERED = ("OK", "성공")
ALIMTALK_FAILED = ("FAIL", "발송 실패")
ALIMTALK_NON_USER = ("3018", "카카오톡 미사용자")
SMS_WAITING = ("0", "전송 대기")
SMS_RESERVED = ("WAIT", "예약 대기")
SMS_DELIVERED = {"SMS": ("06", "전송 성공"), "LMS": ("1000", "전송 성공")}
SMS_FAILED = {"SMS": ("07", "비가입자, 결번, 서비스정지"), "LMS": ("2001", "잘못된 번호")}
SMS_HISTORY_PAGE = 15  # IWINV-SMS-HIST-PAGE: the page size the SMS history answers with

# Titles (IWINV-SMS-TITLE): Korean (Hangul syllables), English letters, digits, [ ] ( ) < >;
# space is allowed by assumption (the documents do not say).
TITLE_ALLOWED = re.compile(r"[가-힣A-Za-z0-9 \[\]()<>]*")


def title_code(title: str, *, chars: int, size: int) -> int | None:
    """`chars` when the title holds a forbidden character, `size` when it is over 40 bytes."""
    if not TITLE_ALLOWED.fullmatch(title):
        return chars
    if len(title.encode("cp949")) > 40:
        return size
    return None


def add_months(moment: float, months: int) -> float:
    """The same Korean wall-clock time `months` calendar months later (clamped to the
    month's last day), as epoch seconds."""
    local = datetime.fromtimestamp(moment, KST)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).timestamp()


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE = re.compile(r"0\d{8,10}")


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
