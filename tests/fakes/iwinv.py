"""A fake IWINV server (AlimTalk host + SMS v2 host) for tests and benchmarks.

Built only from the vendor facts in REFERENCE-PROVIDERS.md §0, §1, §4, §9 (items 11-15) and
§10, with the standard library only. It speaks plain HTTP/1.1 on 127.0.0.1 and never contacts
anything else.

Hosts and routing
- ONE server serves both IWINV hosts under two URL prefixes: ``alimtalk_base_url`` =
  ``http://127.0.0.1:PORT/alimtalk`` and ``sms_base_url`` = ``http://127.0.0.1:PORT/sms``; a
  client appends the real paths (``/api/v2/send/`` …). A request without either prefix is
  routed by its ``Host`` header instead (``alimtalk.…`` / ``sms.…``), so a client pointed at
  the real host names through a transport override works too. Anything else → HTTP 404 HTML.
- Paths are matched with or without the trailing "/". Every endpoint is POST; another method
  on a known path → HTTP 405 HTML. Request-log entries and ``fault_paths`` use the canonical
  form ``/alimtalk/api/v2/send/``, ``/sms/api/history/`` … whichever way the request came in.
- AlimTalk host: ``/api/v2/send/``, ``/api/history/``, ``/api/charge/``, ``/api/template/``,
  ``/api/template/add/``, ``/api/template/modify/``, ``/api/template/delete/``.
  SMS host: ``/api/v2/send/`` (JSON, or multipart/form-data for MMS), ``/api/history/``,
  ``/api/charge/``.

Answers (the reference gives codes, not HTTP statuses)
- Business errors are answered with HTTP ``error_http_status`` (default 200) and a JSON body:
  AlimTalk ``{code, message}``; SMS send/history ``{resultCode, message}``; SMS charge
  ``{code, message}`` (the same key as its success answer). With ``bare_number = True`` every
  business error body is instead just the number (e.g. ``501``) as ``text/plain``.
  Success answers are always JSON (``application/json; charset=utf-8``).
- Check order on every request: route (404/405) → injected fault → client IP → credentials
  → body.
  The client IP is the socket peer; with ``trust_forwarded_for = True`` the first address of
  ``X-Forwarded-For`` is used instead. ``allowed_ips = None`` disables the check.
- AlimTalk codes (reference meanings marked R, the rest chosen here):
  200 "전송 성공"; 201 missing/wrong ``AUTH`` header (chosen among the reference's auth codes
  201/206/401/403); 206 IP not registered (R, the reference's exact message); 501 unknown
  templateCode, or a template that is not approved (status ≠ "Y") (R); 502 malformed request —
  body not a JSON object, ``templateCode``/``list`` missing or of the wrong type, ``reserve``
  not Y/N, bad history filters/paging, template add without name/content; 503 recipient phone
  not 9–11 ASCII digits starting with 0 (hyphens are refused: send digits only); 504
  ``reserve: "Y"`` without ``sendDate``, a ``sendDate`` that is not exactly
  "yyyy-MM-dd HH:mm:ss", or one not later than the fake clock (read as Asia/Seoul, a fixed
  +09:00 — Korea has no DST); 505 ``resendCallback`` not a registered sender (R); 506 bad
  resend settings — ``reSend`` not Y/N, ``reSend: "Y"`` without ``resendCallback``,
  ``resendType`` not Y/N, ``resendType: "N"`` without ``resendContent``, resend text over 2000
  CP949 bytes or title over 40; 507 more than 1000 recipients; 508 templateParam missing,
  not a list of strings, or its length ≠ the template's number of distinct ``#{…}`` names (R:
  "templateParam required"); 519 balance too low for the accepted recipients (R); 540 the
  rendered text contains one of ``blocked_keywords`` (R).
  A ``sendDate`` with ``reserve`` absent/"N" is ignored (immediate send).
- Per-recipient checks (503, 508, 540): if every recipient fails, the request is answered with
  the first recipient's error and nothing is stored. If only some fail, the answer is
  ``{code:200, message, success:n, fail:m, seqNo}``; the failed recipients are stored (visible in
  history with ``statusCode`` = the error code as a string, ``statusCodeName`` = its message and
  ``sendDate`` = the request time) but are not in ``accepted_messages()``.
- One ``seqNo`` (int, increasing from 1000001) per accepted send request, shared by all its
  recipients; one ``requestNo`` (a digit string, increasing from "7000000001") per SMS request.
- SMS resultCodes (meanings from the reference's table; which check uses which code is chosen
  here): 0 "전송 성공"; 1 malformed request —
  body not a JSON object / bad multipart, text missing or blank, unknown ``msgType``/``typeCode``
  (allowed: SMS, LMS, GSMS; MMS only through multipart), JSON send with type MMS; 13 ``from``
  missing or not a registered sender; 14 missing/wrong ``secret`` header, or history
  ``companyid`` ≠ ``sms_company_id``; 15 IP not registered (``sms_ip_error_code``, default 15,
  may be set to 206); 21 text over the limit (SMS/GSMS 90, LMS/MMS 2000 CP949 bytes; a
  character outside CP949 counts 2 bytes); 22 title with a character outside CP949 or a
  control character; 23 title over 40 bytes; 31 image over 100 KB (102400 bytes, that size
  itself is fine); 32 image file extension not in ``mms_extensions`` (default jpg/jpeg); 33 no
  image part (or an empty one); 41 no recipient, or a recipient that is not 9–11 ASCII digits
  starting with 0; 42 ``date`` not later than the fake clock (KST); 43 ``date`` or history
  dates not "yyyy-MM-dd HH:mm:ss" (history: "yyyy-MM-dd" too), history start > end or a span
  over 90 days; 44 more than 1000 recipients "최대 1000건"; 50 balance too low; 202 the fake
  has no SMS keys (``sms_api_key`` or ``sms_auth_key`` is None): "no SMS permission".
- SMS type: ``msgType`` (what k-msg sends) or ``typeCode``; if both are absent, LMS when a
  title is given or the text is over 90 bytes, else SMS. GSMS is treated as SMS. A title on
  SMS is ignored. ``to`` may be a list or a single string; duplicates are kept. MMS form
  fields: version, from, to (repeatable or comma-separated), title (optional), text, date,
  image (file part, its file name must carry the extension). A urlencoded body → 1.
- Auth: ``AUTH`` must equal standard padded base64 of the UTF-8 ``api_key``; ``secret`` must
  equal base64(``sms_api_key + "&" + sms_auth_key``); compared exactly after stripping
  surrounding blanks. Header names are case-insensitive (``secret``, ``Secret`` …). The legacy
  one-key SMS secret of k-msg is not accepted. ``AUTH`` is not accepted on the SMS host.

Delivery progress (computed at read time from the clock; outcome fixed at registration)
- start = request time, or the reserved time; final at start + ``progress_after`` seconds.
- AlimTalk history item until final: statusCode "WAIT", statusCodeName "발송 대기"
  ("예약 대기" for a reserved send before its time), sendDate/receiveDate "". Final:
  delivered ("OK", "성공", sendDate = receiveDate = final time); a ``kakao_non_users`` phone
  ("3018", "카카오톡 미사용자", receiveDate ""); ``final_outcomes[phone]`` = "delivered" |
  "failed" ("FAIL", "발송 실패") | "pending" (never final) | an explicit (code, name) tuple;
  ``final_outcomes`` wins over ``kakao_non_users``; a tuple counts as delivered when its code is
  "OK" or its name contains 성공.
  Any failed AlimTalk sent with ``reSend: "Y"`` is re-sent by SMS (LMS when the text is over
  90 bytes or a resendTitle is set) from ``resendCallback``, always delivered: the item then
  has resendStatus "OK" / resendStatusName "SMS 대체발송 성공" (or "LMS …"); otherwise both
  are "". The AlimTalk statusCode itself stays failed. Re-send text: ``resendContent`` when
  ``resendType`` is "N", or absent with a ``resendContent``; else the AlimTalk text. Re-sends
  are free and appear in ``resend_messages()`` once due (not on the SMS host's history).
- SMS history item until final: sendStatusCode "00", sendStatusMsg "전송 대기" ("예약 대기"
  before a reserved time), sendDate "". Final: ("06", "전송 성공") or, via ``final_outcomes``,
  "failed" → ("99", "전송 실패"), "pending", or an explicit tuple. ``sendStatus`` repeats
  sendStatusMsg. ``kakao_non_users`` does not affect SMS.
- Dates in answers are "yyyy-MM-dd HH:mm:ss" in KST.

History, charge, templates
- AlimTalk history filters (all optional): ``seqNo`` (int or digit string), ``phone``,
  ``startDate``/``endDate`` ("yyyy-MM-dd HH:mm:ss" or "yyyy-MM-dd", inclusive, KST, compared
  with requestDate), ``reserve`` "Y"/"N"; ``pageNum``/``pageSize`` (int or digit string,
  defaults 1/15, pageSize ≤ 1000). Newest first; ``totalCount`` counts every match. No match
  is ``{code:200, totalCount:0, list:[]}``. ``buttons`` is ``{link1..link5: ""}``.
- SMS history: ``companyid`` required; filters ``requestNo``, ``phone``, ``startDate``/
  ``endDate`` (days, inclusive); paging as above.
- ``balance`` (KRW) is shared by both hosts; prices: AlimTalk 8, SMS/GSMS 20, LMS 50, MMS 120
  per accepted recipient. ``charge`` is a JSON number (an int when whole). Request bodies of
  the charge endpoints are ignored.
- Templates: ``templates`` (code → content) are sendable when ``template_info[code]["status"]``
  is "Y" (the default for codes without info). ``/api/template/`` lists ``{templateCode,
  templateName, templateContent, status, templateStatusMsg, templateStatusComments,
  createDate, buttons}`` filtered by templateCode/templateStatus with string or int paging;
  ``add`` creates status "I" and answers ``templateCode`` ("TPL" + 6 digits); ``modify`` sets
  status "I" again; ``delete`` removes it (unknown code → 501). ``approve_template()`` sets "Y".

Faults (like the SOLAPI fake)
- ``script`` entries and random faults (``rng.random() < fault_rate`` then
  ``rng.choice(fault_kinds)``) apply only to canonical paths in ``fault_paths`` (default: both
  send endpoints; None = every path). "500"/"503"/"429" answer a plain-text reason phrase (what
  a proxy would send, not IWINV JSON), 503/429 with ``Retry-After: 1``; "html" answers HTTP 502
  with an HTML page (the gateway case of §9 item 11); "hang" closes without an answer after
  ``hang_seconds`` (or at ``stop()``); "reset" aborts with a TCP RST; "hang_after_accept" /
  "reset_after_accept" process the request (messages are stored) and then hang / reset.
  An unknown script entry answers HTTP 500 JSON ``{"code": 500, "message": "bad fault …"}``.
- Error messages are the fixed texts of the tables below the imports (206 is the reference's
  exact text); why the fake refused is written to the request log's ``error_detail`` only.

Inspection
- ``accepted_messages()``: one dict per accepted recipient in arrival order, with ``channel``
  ("alimtalk" | "sms"), ``id`` (str of seqNo / requestNo), ``phone``, ``text``,
  ``requested_at`` (fake-clock epoch), ``accepted``; AlimTalk adds seqNo, templateCode,
  templateParam, reserve, sendDate (KST text or None), reSend, resendCallback, resendType,
  resendTitle, resendContent; SMS adds requestNo, from, msgType, title, date, image
  (``{filename, content_type, size, data}`` for MMS, else None).
- ``resend_messages(include_planned=False)``: ``{channel:"sms", kind:"resend", seqNo, phone,
  from, msgType, title, text, at}``.
- ``requests`` (the log) has keys method, path, canonical, channel, endpoint, query, headers
  (lower-cased), body (JSON, ``{"fields", "files"}`` for multipart, or the raw text),
  client_ip, status, fault, time, response, error_detail.
- Extras beyond the brief: ``all_messages()``, ``reset_log()``, ``approve_template()``,
  ``template_info``, ``blocked_keywords``, ``error_http_status``, ``sms_ip_error_code``,
  ``mms_extensions``, ``trust_forwarded_for``, ``sms_company_id``, ``base_url``. ``ManualClock``
  is the SOLAPI fake's class, re-exported.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.solapi import ManualClock, cp949_len

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SMS_API_KEY",
    "DEFAULT_SMS_AUTH_KEY",
    "DEFAULT_SMS_COMPANY_ID",
    "FakeIwinv",
    "ManualClock",
    "alimtalk_auth",
    "sms_secret",
]

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
FAULT_KINDS = (
    "ok",
    "500",
    "503",
    "429",
    "hang",
    "reset",
    "html",
    "hang_after_accept",
    "reset_after_accept",
)
DEFAULT_RANDOM_FAULTS = ("500", "503", "429", "reset", "html")
MAX_RECIPIENTS = 1000
MMS_IMAGE_LIMIT = 100 * 1024
HISTORY_MAX_DAYS = 90
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>"
)
KST = timezone(timedelta(hours=9), "KST")
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

_PLACEHOLDER = re.compile(r"#\{([^{}]+)\}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE = re.compile(r"0\d{8,10}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------------- helpers


def alimtalk_auth(api_key: str) -> str:
    """The ``AUTH`` header value: standard padded base64 of the UTF-8 key (§4.2)."""
    return base64.b64encode(api_key.encode("utf-8")).decode("ascii")


def sms_secret(sms_api_key: str, sms_auth_key: str) -> str:
    """The ``secret`` header value: base64(``sms_api_key + "&" + sms_auth_key``) (§4.2)."""
    return base64.b64encode(f"{sms_api_key}&{sms_auth_key}".encode()).decode("ascii")


def placeholders(content: str) -> list[str]:
    """Distinct ``#{…}`` names of a template, in order of first appearance."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(content):
        if name not in seen:
            seen.append(name)
    return seen


def render(content: str, params: list[str]) -> str:
    """Fill the template positionally: the i-th distinct name takes ``params[i]``."""
    values = dict(zip(placeholders(content), params, strict=False))
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), content)


def kst(ts: float | None) -> str:
    """Korea time as "yyyy-MM-dd HH:mm:ss", or "" for no time."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, KST).strftime(DATE_FORMAT)


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


def _valid_phone(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and _PHONE.fullmatch(value) is not None


def _int_param(value: object, default: int) -> int | None:
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


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class _Fail(Exception):
    """A business error answer (code + message in the channel's shape)."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class _Upload:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class _Form:
    fields: dict[str, list[str]]
    files: dict[str, list[_Upload]]

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
class _Reply:
    status: int
    payload: Any
    bare: bool = False
    detail: str | None = None


# --------------------------------------------------------------------------- state


@dataclass
class _AlimTalk:
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
class _Sms:
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


# --------------------------------------------------------------------------- the fake


class FakeIwinv:
    """The fake server. Attributes set by the constructor may be changed at runtime."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        sms_api_key: str | None = DEFAULT_SMS_API_KEY,
        sms_auth_key: str | None = DEFAULT_SMS_AUTH_KEY,
        sms_company_id: str = DEFAULT_SMS_COMPANY_ID,
        allowed_ips: Iterable[str] | None = ("127.0.0.1",),
        trust_forwarded_for: bool = False,
        templates: Mapping[str, str] | None = None,
        senders: Iterable[str] | None = None,
        balance: float = 100000.0,
        clock: Callable[[], float] | None = None,
        kakao_non_users: Iterable[str] | None = None,
        final_outcomes: Mapping[str, str | tuple[str, str]] | None = None,
        progress_after: float = 2.0,
        blocked_keywords: Iterable[str] | None = None,
        bare_number: bool = False,
        error_http_status: int = 200,
        sms_ip_error_code: int = 15,
        mms_extensions: Iterable[str] = ("jpg", "jpeg"),
        latency: float = 0.0,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] | None = None,
        script: Iterable[str] | None = None,
        fault_paths: Iterable[str] | None = SEND_PATHS,
        hang_seconds: float = 30.0,
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.sms_api_key = sms_api_key
        self.sms_auth_key = sms_auth_key
        self.sms_company_id = sms_company_id
        self.allowed_ips: set[str] | None = None if allowed_ips is None else set(allowed_ips)
        self.trust_forwarded_for = trust_forwarded_for
        self.templates: dict[str, str] = dict(DEFAULT_TEMPLATES if templates is None else templates)
        self.template_info: dict[str, dict[str, Any]] = {}
        self.senders: set[str] = set(DEFAULT_SENDERS if senders is None else senders)
        self.balance = float(balance)
        self.clock: Callable[[], float] = time.time if clock is None else clock
        self.kakao_non_users: set[str] = set(kakao_non_users or ())
        self.final_outcomes: dict[str, str | tuple[str, str]] = dict(final_outcomes or {})
        self.progress_after = float(progress_after)
        self.blocked_keywords: set[str] = set(blocked_keywords or ())
        self.bare_number = bare_number
        self.error_http_status = int(error_http_status)
        self.sms_ip_error_code = int(sms_ip_error_code)
        self.mms_extensions: set[str] = {e.lower().lstrip(".") for e in mms_extensions}
        self.latency = float(latency)
        self.fault_rate = float(fault_rate)
        self.fault_kinds: list[str] = list(
            DEFAULT_RANDOM_FAULTS if fault_kinds is None else fault_kinds
        )
        self.script: list[str] = list(script or ())
        self.fault_paths: set[str] | None = None if fault_paths is None else set(fault_paths)
        self.hang_seconds = float(hang_seconds)
        self.rng = random.Random(seed)
        for kind in [*self.fault_kinds, *self.script]:
            _check_fault_kind(kind)

        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._alimtalk: list[_AlimTalk] = []
        self._sms: list[_Sms] = []
        self._next_seq_no = 1000001
        self._next_request_no = 7000000001
        self._next_template = 1
        self._arrival = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeIwinv:
        if self._server is not None:
            raise RuntimeError("FakeIwinv is already running")
        self._stop_event.clear()
        server = _Server((self.host, self.port), self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"FakeIwinv:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._stop_event.set()  # wakes hanging and sleeping handlers
        server.shutdown()
        with self._conn_lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            with self._conn_lock:
                if not self._connections:
                    break
            time.sleep(0.01)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeIwinv:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def bound_port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeIwinv is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The server root (no channel prefix)."""
        return f"http://{self.host}:{self.bound_port}"

    @property
    def alimtalk_base_url(self) -> str:
        """Stands for https://alimtalk.bizservice.iwinv.kr."""
        return f"{self.base_url}/alimtalk"

    @property
    def sms_base_url(self) -> str:
        """Stands for https://sms.bizservice.iwinv.kr."""
        return f"{self.base_url}/sms"

    @property
    def running(self) -> bool:
        return self._server is not None

    # ------------------------------------------------------------------ inspection helpers

    def accepted_messages(self) -> list[dict[str, Any]]:
        """One entry per accepted recipient (AlimTalk and SMS/LMS/MMS), in arrival order."""
        with self._lock:
            return self._entries(only_accepted=True)

    def all_messages(self) -> list[dict[str, Any]]:
        """Like accepted_messages() plus AlimTalk recipients rejected in a partial send."""
        with self._lock:
            return self._entries(only_accepted=False)

    def resend_messages(self, include_planned: bool = False) -> list[dict[str, Any]]:
        """SMS/LMS re-sends of failed AlimTalks sent with reSend=Y, in arrival order.

        Only re-sends that already happened (``at`` ≤ the clock) unless ``include_planned``.
        """
        with self._lock:
            now = self.clock()
            return [
                copy.deepcopy(m.resend_plan)
                for m in self._alimtalk
                if m.resend_plan is not None and (include_planned or m.resend_plan["at"] <= now)
            ]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def approve_template(self, code: str) -> None:
        with self._lock:
            self._info(code)["status"] = "Y"

    def _entries(self, only_accepted: bool) -> list[dict[str, Any]]:
        order: list[tuple[int, dict[str, Any]]] = []
        for a in self._alimtalk:
            if only_accepted and not a.accepted:
                continue
            entry = {
                "channel": "alimtalk",
                "id": str(a.seq_no),
                "seqNo": a.seq_no,
                "phone": a.phone,
                "templateCode": a.template_code,
                "templateParam": list(a.template_param),
                "text": a.text,
                "reserve": "Y" if a.reserve else "N",
                "sendDate": kst(a.start) if a.reserve else None,
                "requested_at": a.requested,
                "accepted": a.accepted,
                **copy.deepcopy(a.resend),
            }
            order.append((a.arrival, entry))
        for s in self._sms:
            entry = {
                "channel": "sms",
                "id": s.request_no,
                "requestNo": s.request_no,
                "phone": s.phone,
                "from": s.sender,
                "msgType": s.msg_type,
                "text": s.text,
                "title": s.title,
                "date": kst(s.start) if s.reserved else None,
                "image": copy.deepcopy(s.image),
                "requested_at": s.requested,
                "accepted": True,
            }
            order.append((s.arrival, entry))
        order.sort(key=lambda item: item[0])
        return [entry for _, entry in order]

    # ------------------------------------------------------------------ request plumbing

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _begin(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            post = entry["method"] == "POST"  # 404/405 answers never consume the script
            entry["fault"] = self._next_fault(entry["canonical"] if post else None)
            entry["time"] = self.clock()
            entry["status"] = None
            entry["response"] = None
            entry["error_detail"] = None
            self.requests.append(entry)
            return entry

    def _next_fault(self, canonical: str | None) -> str | None:
        if canonical is None:
            return None
        if self.fault_paths is not None and canonical not in self.fault_paths:
            return None
        if self.script:
            kind = self.script.pop(0)
        elif self.fault_rate > 0 and self.fault_kinds and self.rng.random() < self.fault_rate:
            kind = self.rng.choice(self.fault_kinds)
        else:
            return None
        return None if kind == "ok" else kind

    def _finish(
        self, record: dict[str, Any], status: int | None, response: Any, detail: str | None = None
    ) -> None:
        with self._lock:
            record["status"] = status
            record["response"] = response
            record["error_detail"] = detail

    def _process(
        self,
        channel: str,
        endpoint: str,
        headers: Mapping[str, str],
        client_ip: str,
        body: Any,
        body_error: str | None,
    ) -> _Reply:
        with self._lock:
            try:
                payload = self._dispatch(channel, endpoint, headers, client_ip, body, body_error)
                return _Reply(200, payload)
            except _Fail as failure:
                return self._error_reply(channel, endpoint, failure)
            except Exception as error:  # a bug in the fake: answer like a real 500
                traceback.print_exc()
                return _Reply(500, {"code": 500, "message": repr(error)})

    def _error_reply(self, channel: str, endpoint: str, failure: _Fail) -> _Reply:
        table = ALIMTALK_MESSAGES if channel == "alimtalk" else SMS_MESSAGES
        message = table.get(failure.code, "요청을 처리할 수 없습니다.")
        detail = failure.detail or None
        if self.bare_number:
            return _Reply(self.error_http_status, failure.code, bare=True, detail=detail)
        key = "resultCode" if channel == "sms" and endpoint != "/api/charge/" else "code"
        payload = {key: failure.code, "message": message}
        return _Reply(self.error_http_status, payload, detail=detail)

    # ------------------------------------------------------------------ routing

    def _dispatch(
        self,
        channel: str,
        endpoint: str,
        headers: Mapping[str, str],
        client_ip: str,
        body: Any,
        body_error: str | None,
    ) -> Any:
        now = self.clock()
        if channel == "alimtalk":
            if self.allowed_ips is not None and client_ip not in self.allowed_ips:
                raise _Fail(206, f"client IP {client_ip}")
            if (headers.get("auth") or "").strip() != alimtalk_auth(self.api_key):
                raise _Fail(201)
            if endpoint == "/api/charge/":
                return {"code": 200, "message": "조회 성공", "charge": _number(self.balance)}
            if body_error is not None or not isinstance(body, dict):
                raise _Fail(502, body_error or "body must be a JSON object")
            if endpoint == "/api/v2/send/":
                return self._alimtalk_send(body, now)
            if endpoint == "/api/history/":
                return self._alimtalk_history(body, now)
            return self._template_call(endpoint, body, now)

        if self.allowed_ips is not None and client_ip not in self.allowed_ips:
            raise _Fail(self.sms_ip_error_code, f"client IP {client_ip}")
        if self.sms_api_key is None or self.sms_auth_key is None:
            raise _Fail(202)
        expected = sms_secret(self.sms_api_key, self.sms_auth_key)
        if (headers.get("secret") or "").strip() != expected:
            raise _Fail(14, "secret")
        if endpoint == "/api/charge/":
            return {"code": 0, "message": "조회 성공", "charge": _number(self.balance)}
        if body_error is not None:
            raise _Fail(1, body_error)
        if endpoint == "/api/v2/send/":
            if isinstance(body, _Form):
                return self._sms_send_form(body, now)
            if not isinstance(body, dict):
                raise _Fail(1, "body must be a JSON object")
            return self._sms_send_json(body, now)
        if not isinstance(body, dict):
            raise _Fail(1, "body must be a JSON object")
        return self._sms_history(body, now)

    # ------------------------------------------------------------------ AlimTalk send

    def _alimtalk_send(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        code = body.get("templateCode")
        recipients = body.get("list")
        if not isinstance(code, str) or not code:
            raise _Fail(502, "templateCode is required")
        if not isinstance(recipients, list) or not recipients:
            raise _Fail(502, "list must be a non-empty array")
        if not all(isinstance(r, dict) for r in recipients):
            raise _Fail(502, "list items must be objects")
        content = self.templates.get(code)
        if content is None or self._info(code)["status"] != "Y":
            raise _Fail(501, f"templateCode {code!r}")
        if len(recipients) > MAX_RECIPIENTS:
            raise _Fail(507, f"{len(recipients)} recipients")

        reserve = body.get("reserve", "N")
        if reserve not in ("Y", "N"):
            raise _Fail(502, "reserve must be Y or N")
        start = now
        if reserve == "Y":
            send_date = body.get("sendDate")
            if send_date is None or send_date == "":
                raise _Fail(504, "sendDate is required when reserve is Y")
            at = parse_kst(send_date)
            if at is None:
                raise _Fail(504, "sendDate must be yyyy-MM-dd HH:mm:ss")
            if at <= now:
                raise _Fail(504, f"sendDate {send_date} is not in the future (KST)")
            start = at

        resend = self._resend_fields(body)

        names = placeholders(content)
        outcomes: list[tuple[dict[str, Any], list[str], str] | _Fail] = []
        for item in recipients:
            try:
                phone = item.get("phone")
                if not _valid_phone(phone):
                    raise _Fail(503, f"phone {phone!r}")
                params = item.get("templateParam")
                if params is None:
                    params = []
                if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                    raise _Fail(508, "templateParam must be a list of strings")
                if len(params) != len(names):
                    raise _Fail(508, f"{len(params)} values for {len(names)} placeholders")
                text = render(content, params)
                for word in self.blocked_keywords:
                    if word and word in text:
                        raise _Fail(540, word)
                outcomes.append((item, params, text))
            except _Fail as failure:
                outcomes.append(failure)
        good = [o for o in outcomes if not isinstance(o, _Fail)]
        if not good:
            first = outcomes[0]
            assert isinstance(first, _Fail)
            raise first
        cost = PRICES["ALIMTALK"] * len(good)
        if self.balance < cost:
            raise _Fail(519, f"balance {self.balance:g} < {cost}")
        self.balance -= cost

        seq_no = self._next_seq_no
        self._next_seq_no += 1
        final_at = start + self.progress_after
        for raw_item, outcome in zip(recipients, outcomes, strict=True):
            self._arrival += 1
            if isinstance(outcome, _Fail):
                raw_phone = raw_item.get("phone")
                self._alimtalk.append(
                    _AlimTalk(
                        seq_no=seq_no,
                        phone=raw_phone if isinstance(raw_phone, str) else str(raw_phone),
                        template_code=code,
                        template_param=[],
                        text="",
                        reserve=reserve == "Y",
                        requested=now,
                        start=now,
                        final_at=now,
                        outcome=(str(outcome.code), ALIMTALK_MESSAGES[outcome.code]),
                        accepted=False,
                        resend=copy.deepcopy(resend),
                        arrival=self._arrival,
                    )
                )
                continue
            _, params, text = outcome
            phone = raw_item["phone"]
            final = self._alimtalk_outcome(phone)
            message = _AlimTalk(
                seq_no=seq_no,
                phone=phone,
                template_code=code,
                template_param=list(params),
                text=text,
                reserve=reserve == "Y",
                requested=now,
                start=start,
                final_at=final_at,
                outcome=final,
                accepted=True,
                resend=copy.deepcopy(resend),
                arrival=self._arrival,
            )
            if resend["reSend"] == "Y" and final is not None and not _delivered_alimtalk(final):
                message.resend_plan = self._plan_resend(message, resend)
            self._alimtalk.append(message)
        return {
            "code": 200,
            "message": ALIMTALK_MESSAGES[200],
            "success": len(good),
            "fail": len(outcomes) - len(good),
            "seqNo": seq_no,
        }

    def _resend_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        re_send = body.get("reSend", "N")
        if re_send not in ("Y", "N"):
            raise _Fail(506, "reSend must be Y or N")
        callback = body.get("resendCallback")
        resend_type = body.get("resendType")
        title = body.get("resendTitle")
        content = body.get("resendContent")
        for name, value in (
            ("resendCallback", callback),
            ("resendType", resend_type),
            ("resendTitle", title),
            ("resendContent", content),
        ):
            if value is not None and not isinstance(value, str):
                raise _Fail(506, f"{name} must be a string")
        if resend_type not in (None, "", "Y", "N"):
            raise _Fail(506, "resendType must be Y or N")
        if re_send == "Y":
            if not callback:
                raise _Fail(506, "resendCallback is required when reSend is Y")
            if callback not in self.senders:
                raise _Fail(505, f"resendCallback {callback}")
            if resend_type == "N" and not content:
                raise _Fail(506, "resendContent is required when resendType is N")
            if content and cp949_len(content) > 2000:
                raise _Fail(506, "resendContent is over 2000 bytes")
            if title and cp949_len(title) > 40:
                raise _Fail(506, "resendTitle is over 40 bytes")
        return {
            "reSend": re_send,
            "resendCallback": callback,
            "resendType": resend_type,
            "resendTitle": title,
            "resendContent": content,
        }

    def _alimtalk_outcome(self, phone: str) -> tuple[str, str] | None:
        chosen = self.final_outcomes.get(phone)
        if chosen is not None:
            return _resolve(chosen, ALIMTALK_DELIVERED, ALIMTALK_FAILED)
        if phone in self.kakao_non_users:
            return ALIMTALK_NON_USER
        return ALIMTALK_DELIVERED

    def _plan_resend(self, message: _AlimTalk, resend: dict[str, Any]) -> dict[str, Any]:
        custom = resend["resendType"] == "N" or (
            resend["resendType"] in (None, "") and bool(resend["resendContent"])
        )
        text = resend["resendContent"] if custom else message.text
        title = resend["resendTitle"] or None
        msg_type = "LMS" if title or cp949_len(text) > 90 else "SMS"
        return {
            "channel": "sms",
            "kind": "resend",
            "seqNo": message.seq_no,
            "phone": message.phone,
            "from": resend["resendCallback"],
            "msgType": msg_type,
            "title": title,
            "text": text,
            "at": message.final_at,
        }

    # ------------------------------------------------------------------ AlimTalk history

    def _alimtalk_history(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        seq_raw = body.get("seqNo")
        seq_no: int | None = None
        if seq_raw is not None and seq_raw != "":
            seq_no = _int_param(seq_raw, 0)
            if seq_no is None:
                raise _Fail(502, "seqNo must be a number")
        phone = body.get("phone")
        if phone is not None and not isinstance(phone, str):
            raise _Fail(502, "phone must be a string")
        reserve = body.get("reserve")
        if reserve not in (None, "", "Y", "N"):
            raise _Fail(502, "reserve must be Y or N")
        bounds = self._bounds(body, 502)
        page_num, page_size = self._paging(body, 502)
        matched: list[_AlimTalk] = []
        for message in reversed(self._alimtalk):
            if seq_no is not None and message.seq_no != seq_no:
                continue
            if phone and message.phone != phone:
                continue
            if reserve and (message.reserve != (reserve == "Y")):
                continue
            if not _within(message.requested, bounds):
                continue
            matched.append(message)
        page = matched[(page_num - 1) * page_size : page_num * page_size]
        return {
            "code": 200,
            "message": "조회 성공",
            "totalCount": len(matched),
            "list": [self._alimtalk_view(m, now) for m in page],
        }

    def _alimtalk_view(self, message: _AlimTalk, now: float) -> dict[str, Any]:
        status_code, status_name = "WAIT", "발송 대기"
        if message.reserve and now < message.start:
            status_name = "예약 대기"
        send_date = receive_date = ""
        resend_status = resend_name = ""
        if message.outcome is not None and now >= message.final_at:
            status_code, status_name = message.outcome
            send_date = kst(message.final_at)
            if message.accepted and _delivered_alimtalk(message.outcome):
                receive_date = send_date
            if message.resend_plan is not None:
                resend_status = "OK"
                resend_name = f"{message.resend_plan['msgType']} 대체발송 성공"
        return {
            "seqNo": message.seq_no,
            "phone": message.phone,
            "callback": message.resend["resendCallback"] or "",
            "templateCode": message.template_code,
            "sendMessage": message.text,
            "reserve": "Y" if message.reserve else "N",
            "requestDate": kst(message.requested),
            "sendDate": send_date,
            "receiveDate": receive_date,
            "statusCode": status_code,
            "statusCodeName": status_name,
            "resendStatus": resend_status,
            "resendStatusName": resend_name,
            "buttons": {f"link{i}": "" for i in range(1, 6)},
        }

    # ------------------------------------------------------------------ templates

    def _info(self, code: str) -> dict[str, Any]:
        info = self.template_info.get(code)
        if info is None:
            info = {"name": code, "status": "Y", "created": self.clock(), "buttons": []}
            self.template_info[code] = info
        return info

    def _template_call(self, endpoint: str, body: dict[str, Any], now: float) -> dict[str, Any]:
        if endpoint == "/api/template/":
            page_num, page_size = self._paging(body, 502)
            wanted_code = body.get("templateCode")
            wanted_status = body.get("templateStatus")
            rows = []
            for listed_code, listed_content in self.templates.items():
                info = self._info(listed_code)
                if wanted_code and listed_code != wanted_code:
                    continue
                if wanted_status and info["status"] != wanted_status:
                    continue
                rows.append(
                    {
                        "templateCode": listed_code,
                        "templateName": info["name"],
                        "templateContent": listed_content,
                        "status": info["status"],
                        "templateStatusMsg": {"Y": "승인", "I": "검수 중", "R": "반려"}.get(
                            info["status"], ""
                        ),
                        "templateStatusComments": "",
                        "createDate": kst(info["created"]),
                        "buttons": copy.deepcopy(info["buttons"]),
                    }
                )
            page = rows[(page_num - 1) * page_size : page_num * page_size]
            return {"code": 200, "message": "조회 성공", "totalCount": len(rows), "list": page}
        name, content = body.get("templateName"), body.get("templateContent")
        buttons = body.get("buttons")
        buttons = buttons if isinstance(buttons, list) else []
        if endpoint == "/api/template/add/":
            if not isinstance(name, str) or not name or not isinstance(content, str) or not content:
                raise _Fail(502, "templateName and templateContent are required")
            new_code = f"TPL{self._next_template:06d}"
            self._next_template += 1
            self.templates[new_code] = content
            self.template_info[new_code] = {
                "name": name,
                "status": "I",
                "created": now,
                "buttons": copy.deepcopy(buttons),
            }
            return {"code": 200, "message": "등록 성공", "templateCode": new_code}
        code = body.get("templateCode")
        if not isinstance(code, str) or code not in self.templates:
            raise _Fail(501, f"templateCode {code!r}")
        if endpoint == "/api/template/delete/":
            del self.templates[code]
            self.template_info.pop(code, None)
            return {"code": 200, "message": "삭제 성공"}
        info = self._info(code)
        if isinstance(name, str) and name:
            info["name"] = name
        if isinstance(content, str) and content:
            self.templates[code] = content
        if isinstance(body.get("buttons"), list):
            info["buttons"] = copy.deepcopy(buttons)
        info["status"] = "I"
        return {"code": 200, "message": "수정 성공"}

    # ------------------------------------------------------------------ shared parsing

    def _bounds(self, body: dict[str, Any], code: int) -> tuple[float | None, float | None]:
        start_raw, end_raw = body.get("startDate"), body.get("endDate")
        start = end = None
        if start_raw not in (None, ""):
            start = parse_kst_bound(start_raw, end=False)
            if start is None:
                raise _Fail(code, "startDate must be yyyy-MM-dd[ HH:mm:ss]")
        if end_raw not in (None, ""):
            end = parse_kst_bound(end_raw, end=True)
            if end is None:
                raise _Fail(code, "endDate must be yyyy-MM-dd[ HH:mm:ss]")
        if start is not None and end is not None and start > end:
            raise _Fail(code, "startDate is after endDate")
        return start, end

    def _paging(self, body: dict[str, Any], code: int) -> tuple[int, int]:
        page_num = _int_param(body.get("pageNum"), 1)
        page_size = _int_param(body.get("pageSize"), 15)
        if page_num is None or page_num < 1 or page_size is None or not 1 <= page_size <= 1000:
            raise _Fail(code, "pageNum/pageSize must be positive numbers (pageSize ≤ 1000)")
        return page_num, page_size

    # ------------------------------------------------------------------ SMS send

    def _sms_send_json(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        msg_type = body.get("msgType") or body.get("typeCode")
        if msg_type == "MMS":
            raise _Fail(33, "MMS must be sent as multipart/form-data with an image part")
        to = body.get("to")
        recipients = [to] if isinstance(to, str) else to
        return self._sms_register(
            msg_type=msg_type,
            sender=body.get("from"),
            recipients=recipients,
            text=body.get("text"),
            title=body.get("title"),
            date=body.get("date"),
            image=None,
            now=now,
        )

    def _sms_send_form(self, form: _Form, now: float) -> dict[str, Any]:
        def single(name: str) -> str | None:
            values = form.fields.get(name)
            return values[-1] if values else None

        uploads = form.files.get("image") or []
        if not uploads or not uploads[0].data:
            raise _Fail(33, "an image file part is required")
        upload = uploads[0]
        if len(upload.data) > MMS_IMAGE_LIMIT:
            raise _Fail(31, f"{len(upload.data)} bytes")
        filename = upload.filename or ""
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension not in self.mms_extensions:
            raise _Fail(32, f"file name {filename!r}")
        recipients: list[Any] = []
        for value in form.fields.get("to", []):  # repeated fields or a comma list
            recipients.extend(part.strip() for part in value.split(",") if part.strip())
        return self._sms_register(
            msg_type="MMS",
            sender=single("from"),
            recipients=recipients,
            text=single("text"),
            title=single("title"),
            date=single("date"),
            image={
                "filename": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
                "data": upload.data,
            },
            now=now,
        )

    def _sms_register(
        self,
        *,
        msg_type: Any,
        sender: Any,
        recipients: Any,
        text: Any,
        title: Any,
        date: Any,
        image: dict[str, Any] | None,
        now: float,
    ) -> dict[str, Any]:
        if not isinstance(text, str) or not text.strip():
            raise _Fail(1, "text is required")
        if title is not None and not isinstance(title, str):
            raise _Fail(1, "title must be a string")
        title = title or None
        if msg_type is None or msg_type == "":
            msg_type = "LMS" if title or cp949_len(text) > 90 else "SMS"
        if not isinstance(msg_type, str) or msg_type not in PRICES or msg_type == "ALIMTALK":
            raise _Fail(1, f"unknown message type {msg_type!r}")
        if not isinstance(sender, str) or sender not in self.senders:
            raise _Fail(13, f"from {sender!r}")
        if not isinstance(recipients, list) or not recipients:
            raise _Fail(41, "to is required")
        if len(recipients) > MAX_RECIPIENTS:
            raise _Fail(44, f"{len(recipients)} recipients")
        for phone in recipients:
            if not _valid_phone(phone):
                raise _Fail(41, f"to {phone!r}")
        limit = 90 if msg_type in ("SMS", "GSMS") else 2000
        if cp949_len(text) > limit:
            raise _Fail(21, f"{msg_type} text is {cp949_len(text)} bytes (max {limit})")
        if msg_type in ("SMS", "GSMS"):
            title = None
        elif title is not None:
            if _CONTROL.search(title) or any(not _in_cp949(c) for c in title):
                raise _Fail(22, f"title {title!r}")
            if cp949_len(title) > 40:
                raise _Fail(23, f"title is {cp949_len(title)} bytes")
        start = now
        reserved = False
        if date is not None and date != "":
            at = parse_kst(date)
            if at is None:
                raise _Fail(43, f"date {date!r}")
            if at <= now:
                raise _Fail(42, f"date {date} is not in the future (KST)")
            start, reserved = at, True
        cost = PRICES[msg_type] * len(recipients)
        if self.balance < cost:
            raise _Fail(50, f"balance {self.balance:g} < {cost}")
        self.balance -= cost
        request_no = str(self._next_request_no)
        self._next_request_no += 1
        for phone in recipients:
            self._arrival += 1
            chosen = self.final_outcomes.get(phone)
            outcome = (
                SMS_DELIVERED if chosen is None else _resolve(chosen, SMS_DELIVERED, SMS_FAILED)
            )
            self._sms.append(
                _Sms(
                    request_no=request_no,
                    phone=phone,
                    sender=sender,
                    msg_type=msg_type,
                    text=text,
                    title=title,
                    reserved=reserved,
                    requested=now,
                    start=start,
                    final_at=start + self.progress_after,
                    outcome=outcome,
                    arrival=self._arrival,
                    image=None if image is None else dict(image),
                )
            )
        return {
            "resultCode": 0,
            "message": SMS_MESSAGES[0],
            "requestNo": request_no,
            "msgType": msg_type,
        }

    # ------------------------------------------------------------------ SMS history

    def _sms_history(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        if body.get("companyid") != self.sms_company_id:
            raise _Fail(14, "companyid")
        request_no = body.get("requestNo")
        if request_no is not None and not isinstance(request_no, str | int):
            raise _Fail(1, "requestNo must be a string")
        phone = body.get("phone")
        if phone is not None and not isinstance(phone, str):
            raise _Fail(1, "phone must be a string")
        bounds = self._bounds(body, 43)
        if bounds[0] is not None and bounds[1] is not None:
            if bounds[1] - bounds[0] > (HISTORY_MAX_DAYS + 1) * 86400:
                raise _Fail(43, f"the date range is over {HISTORY_MAX_DAYS} days")
        page_num, page_size = self._paging(body, 1)
        matched: list[_Sms] = []
        for message in reversed(self._sms):
            if request_no not in (None, "") and message.request_no != str(request_no):
                continue
            if phone and message.phone != phone:
                continue
            if not _within(message.requested, bounds):
                continue
            matched.append(message)
        page = matched[(page_num - 1) * page_size : page_num * page_size]
        return {
            "resultCode": 0,
            "message": "조회 성공",
            "totalCount": len(matched),
            "list": [self._sms_view(m, now) for m in page],
        }

    def _sms_view(self, message: _Sms, now: float) -> dict[str, Any]:
        code, text = "00", "예약 대기" if message.reserved and now < message.start else "전송 대기"
        send_date = ""
        if message.outcome is not None and now >= message.final_at:
            code, text = message.outcome
            send_date = kst(message.final_at)
        return {
            "requestNo": message.request_no,
            "companyid": self.sms_company_id,
            "msgType": message.msg_type,
            "phone": message.phone,
            "callback": message.sender,
            "title": message.title or "",
            "text": message.text,
            "requestDate": kst(message.requested),
            "reserveDate": kst(message.start) if message.reserved else "",
            "sendStatus": text,
            "sendStatusCode": code,
            "sendStatusMsg": text,
            "sendDate": send_date,
        }


def _resolve(
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


def _delivered_alimtalk(outcome: tuple[str, str]) -> bool:
    return outcome[0] == "OK" or "성공" in outcome[1]


def _within(moment: float, bounds: tuple[float | None, float | None]) -> bool:
    start, end = bounds
    # requestDate has whole seconds: compare at that resolution
    whole = float(int(moment))
    return (start is None or whole >= start) and (end is None or whole <= end)


def _in_cp949(char: str) -> bool:
    try:
        char.encode("cp949")
    except UnicodeEncodeError:
        return False
    return True


def _check_fault_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")


def parse_multipart(content_type: str, raw: bytes) -> _Form:
    """Split a multipart/form-data body; raises ValueError when it is malformed."""
    header = BytesHeaderParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode())
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    segments = raw.split(delimiter)
    if len(segments) < 3 or not segments[-1].startswith(b"--"):
        raise ValueError("multipart body is not terminated")
    form = _Form(fields={}, files={})
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
                _Upload(name, filename, part.get("content-type"), data)
            )
        else:
            form.fields.setdefault(name, []).append(data.decode("utf-8"))
    return form


# --------------------------------------------------------------------------- HTTP layer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], fake: FakeIwinv) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which may touch DNS: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # client went away; nothing to report
        traceback.print_exc()


def _route(path: str, host_header: str) -> tuple[str | None, str]:
    """(channel, endpoint with a trailing "/") from the prefix, else from the Host header."""
    channel: str | None = None
    endpoint = path
    for prefix in ("alimtalk", "sms"):
        if path == f"/{prefix}" or path.startswith(f"/{prefix}/"):
            channel, endpoint = prefix, path[len(prefix) + 1 :]
            break
    else:
        name = host_header.split(":", 1)[0].lower()
        if name.startswith("alimtalk."):
            channel = "alimtalk"
        elif name.startswith("sms."):
            channel = "sms"
    if not endpoint.endswith("/"):
        endpoint += "/"
    return channel, endpoint


def _html(status: int, reason: str) -> bytes:
    return (
        f"<html><head><title>{status} {reason}</title></head><body><center><h1>{status} "
        f"{reason}</h1></center><hr><center>nginx</center></body></html>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = None

    def setup(self) -> None:
        super().setup()
        try:  # headers and body go out in separate writes: avoid Nagle/delayed-ACK stalls
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, unsupported method…): an nginx-like HTML page."""
        self.close_connection = True
        self._send(code, _html(code, message or "Error"), HTML_TYPE)

    def do_POST(self) -> None:
        self._handle()

    do_GET = do_POST
    do_PUT = do_POST
    do_DELETE = do_POST
    do_PATCH = do_POST
    do_OPTIONS = do_POST

    # ------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _client_ip(self, headers: Mapping[str, str]) -> str:
        fake = self.server.fake
        forwarded = headers.get("x-forwarded-for", "")
        if fake.trust_forwarded_for and forwarded.strip():
            return forwarded.split(",")[0].strip()
        return str(self.client_address[0])

    def _handle(self) -> None:
        fake = self.server.fake
        try:
            raw = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        split = urlsplit(self.path)
        headers = {key.lower(): value for key, value in self.headers.items()}
        channel, endpoint = _route(split.path, headers.get("host", ""))
        routes = ALIMTALK_ROUTES if channel == "alimtalk" else SMS_ROUTES
        known = channel is not None and endpoint in routes
        canonical = f"/{channel}{endpoint}" if known else None

        body: Any = None
        body_error: str | None = None
        content_type = headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            try:
                body = parse_multipart(content_type, raw)
            except (ValueError, UnicodeDecodeError) as error:
                body_error = f"bad multipart body: {error}"
        elif raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                body_error = f"body is not valid JSON: {error}"
        else:
            body_error = "body is empty"
        client_ip = self._client_ip(headers)
        if isinstance(body, _Form):
            logged: Any = body.log_view()
        elif body_error is not None and raw:
            logged = raw.decode("utf-8", "replace")
        else:
            logged = body
        record = fake._begin(
            {
                "method": self.command,
                "path": split.path,
                "canonical": canonical,
                "channel": channel,
                "endpoint": endpoint if known else None,
                "query": parse_qs(split.query, keep_blank_values=True),
                "headers": headers,
                "body": logged,
                "client_ip": client_ip,
            }
        )
        if fake.latency > 0:
            fake._stop_event.wait(fake.latency)

        if not known or channel is None:
            fake._finish(record, 404, "404 Not Found")
            self._send(404, _html(404, "Not Found"), HTML_TYPE)
            return
        if self.command != "POST":
            fake._finish(record, 405, "405 Not Allowed")
            self._send(405, _html(405, "Not Allowed"), HTML_TYPE)
            return

        fault = record["fault"]
        if fault is not None and fault not in FAULT_KINDS:
            payload = {"code": 500, "message": f"bad fault {fault!r}"}
            fake._finish(record, 500, payload)
            self._send(500, _json_bytes(payload), JSON_TYPE)
            return
        if fault in ("500", "503", "429"):
            status, reason = {
                "500": (500, "Internal Server Error"),
                "503": (503, "Service Unavailable"),
                "429": (429, "Too Many Requests"),
            }[fault]
            extra = {} if fault == "500" else {"Retry-After": "1"}
            fake._finish(record, status, reason)
            self._send(status, reason.encode(), TEXT_TYPE, extra)
            return
        if fault == "html":
            fake._finish(record, 502, HTML_502.decode())
            self._send(502, HTML_502, HTML_TYPE)
            return
        if fault == "hang":
            self._hang()
            return
        if fault == "reset":
            self._reset()
            return

        reply = fake._process(channel, endpoint, headers, client_ip, body, body_error)
        if fault in ("hang_after_accept", "reset_after_accept"):
            fake._finish(record, None, reply.payload, reply.detail)
            if fault == "hang_after_accept":
                self._hang()
            else:
                self._reset()
            return
        fake._finish(record, reply.status, reply.payload, reply.detail)
        if reply.bare:
            self._send(reply.status, str(reply.payload).encode(), TEXT_TYPE)
        else:
            self._send(reply.status, _json_bytes(reply.payload), JSON_TYPE)

    def _send(
        self, status: int, data: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _hang(self) -> None:
        fake = self.server.fake
        fake._stop_event.wait(fake.hang_seconds)
        self.close_connection = True

    def _reset(self) -> None:
        """Abort the connection: SO_LINGER 0 makes close() send RST instead of FIN."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # drop the makefile reference so close() really closes
            self.connection.close()
        except OSError:
            pass


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- standalone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.iwinv", description="Run the fake IWINV server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--sms-api-key", default=DEFAULT_SMS_API_KEY)
    parser.add_argument("--sms-auth-key", default=DEFAULT_SMS_AUTH_KEY)
    parser.add_argument("--sms-company-id", default=DEFAULT_SMS_COMPANY_ID)
    parser.add_argument(
        "--allow-ip",
        action="append",
        default=None,
        help="allowed client IP (repeatable; default 127.0.0.1); 'any' disables the check",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULT_RANDOM_FAULTS),
        help="comma list drawn from: " + ", ".join(FAULT_KINDS),
    )
    parser.add_argument("--all-paths", action="store_true", help="faults on every path")
    parser.add_argument("--bare-number", action="store_true", help="errors as a bare number")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--balance", type=float, default=100000.0)
    parser.add_argument("--progress-after", type=float, default=2.0)
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    allowed: list[str] | None = args.allow_ip or ["127.0.0.1"]
    if allowed is not None and "any" in allowed:
        allowed = None
    fake = FakeIwinv(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        sms_api_key=args.sms_api_key,
        sms_auth_key=args.sms_auth_key,
        sms_company_id=args.sms_company_id,
        allowed_ips=allowed,
        latency=args.latency_ms / 1000.0,
        fault_rate=args.fault_rate,
        fault_kinds=[k for k in args.fault_kinds.split(",") if k],
        fault_paths=None if args.all_paths else SEND_PATHS,
        bare_number=args.bare_number,
        seed=args.seed,
        balance=args.balance,
        progress_after=args.progress_after,
        hang_seconds=args.hang_seconds,
    )
    fake.start()
    print(fake.alimtalk_base_url, flush=True)
    print(fake.sms_base_url, flush=True)
    print(
        f"AUTH: {alimtalk_auth(fake.api_key)}; "
        f"secret: {sms_secret(args.sms_api_key, args.sms_auth_key)}; "
        f"companyid: {args.sms_company_id}; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
