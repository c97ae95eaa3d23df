"""A fake Aligo server (apis.aligo.in + kakaoapi.aligo.in) for tests and benchmarks.

Built only from the vendor facts in REFERENCE-PROVIDERS.md §0, §1, §5, §9 (items 6-10) and
§10, with the standard library only. It speaks plain HTTP/1.1 on 127.0.0.1 and never
contacts anything else.

One server serves both vendor hosts under two URL prefixes: ``sms_base_url`` is
``http://127.0.0.1:<port>/sms`` (the SMS host) and ``kakao_base_url`` is
``http://127.0.0.1:<port>/kakao`` (the Kakao host); the prefixes are the ``sms_prefix`` /
``kakao_prefix`` attributes. A Kakao path under the SMS prefix (or the reverse) is a 404, so
a client that mixes the two base URLs up fails loudly.

Behaviour the reference does not pin down, chosen here (keep in sync with the report):

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

Authentication
- SMS host: form ``key`` + ``user_id`` must equal ``key`` / ``user_id``; anything else is
  ``result_code -101`` "인증오류입니다.". Kakao host: ``apikey`` + ``userid`` (the same
  values); wrong or missing → ``code -99`` "계정 인증에 실패하였습니다.".
- Kakao token step (3rd-party in the reference): ``/akv10/token/create/{n}/{unit}/``
  (unit y/m/d/h/i/s; month = 30 days) → ``{code:0, message, token, urlencode}``. Kakao calls
  may omit ``token`` (k-msg never sends it) unless ``require_token`` is true; a token that
  is given must be known and unexpired, else -99.

SMS host codes (all ``result_code``): -101 auth; -103 invalid request (missing/invalid
field, byte limits, >1000 receivers, bad/too-early rdate/rtime, image problems, no valid
receiver); -105 sender number not registered; -201 not enough balance. Under the default
``result_code_style="native"`` the ``/send/`` and ``/send_mass/`` success code is the string
"1", every other result_code is an int (``/remain/`` and ``/sms_list/`` answer 1, errors
-101 …); "str" or "int" force one type everywhere.

``POST /send/`` (and ``/send_mass/``)
- Numbers: '-' and surrounding spaces are removed; a receiver must be 9-11 digits starting
  with 0, a sender 8-11 digits and registered (``senders``). Receivers that fail the format
  are counted in ``error_cnt`` and not sent; if none is valid → -103. Duplicate receivers
  are sent (and counted) twice.
- ``msg_type`` is case-insensitive. Without it: an image part → MMS, any text over 90 CP949
  bytes → LMS, else SMS. Explicit SMS over 90 bytes, or LMS/MMS over 2000 bytes → -103
  (nothing is auto-upgraded). Characters outside CP949 count 2 bytes. ``title`` is ignored
  for SMS; for LMS/MMS it may be at most 44 bytes.
- ``destination`` = ``num|name,num|name``: ``%고객명%`` in ``msg`` becomes that receiver's
  name (limits are checked on the rendered texts).
- MMS images are file parts ``image``/``image1``/``image2``/``image3`` (at most 3), JPEG,
  PNG or GIF by magic bytes, each at most ``mms_image_limit`` bytes (300 KiB). An ``image``
  field sent as a plain string (a URL, as k-msg does) → -103; MMS without an image → -103;
  images with an explicit SMS/LMS are ignored (logged only).
- ``rdate`` (YYYYMMDD) + ``rtime`` (HHMM) are both or neither, read as Asia/Seoul (UTC+9),
  and must be at least 600 seconds after the fake clock (so 12:10 at 12:00:30 is refused).
- ``testmode_yn`` Y/N (case-insensitive; anything else -103): Y answers exactly like a real
  send (with a msg_id) but charges nothing and delivers nothing; such messages show
  ``sms_state`` "테스트" and never progress.
- Balance is one point pool (``point``) with per-type ``prices`` (SMS 8.4, LMS 25.9, MMS 60,
  AT 6.5, FT 11, FI 22); ``SMS_CNT`` etc. are ``floor(point / price)``. A request whose
  valid receivers cost more than ``point`` is refused whole (-201).
- ``/send_mass/``: ``cnt`` 1-500, ``msg_type`` required, ``rec_i``/``msg_i`` required for
  every i ≤ cnt (higher indices ignored); title/rdate/rtime/testmode/images are shared.
- Ids are sequential integers: ``msg_id``/``mid`` from 100000001, per-receiver detail ids
  (``mdid``/``msgid``/``smid``) from 900000001. ``msg_id`` is a string, ``info.mid`` an int.

``POST /sms_list/``: ``mid`` (or ``msg_id``) required (-103), ``page`` ≥ 1 (default 1),
``page_size`` 1-500 (default 30) → ``{result_code:1, message:"success", list:[{mdid, type,
sender, receiver, sms_state, reg_date, send_date, reason}], next_yn:"Y"|"N"}`` in receiver
order; an unknown mid gives an empty list. Dates are "YYYY-MM-DD HH:MM:SS" KST ("" until
known). ``sms_state``: "예약대기" (scheduled, before its time) → "대기" → "전송중" (from
start+a, ``send_date`` set) → "발송완료" or "수신실패" (from start+max(a, b), with
``reason``), where ``progress_after=(a, b)`` and start is the registration or scheduled time.

``POST /remain/`` → ``{result_code:1, message:"success", SMS_CNT, LMS_CNT, MMS_CNT}``.

Kakao host codes (all ``code``, int): 0 ok; -99 auth/token; 509 invalid request (missing
or malformed field, receiver indices not exactly 1..n or over 500, bad senddate, bad Y/N,
text or image limits, bad button JSON, no valid receiver); -501 tpl_code unknown or not
approved (inspStatus != "APR"); -502 ``message_i``/``button_i`` does not match the template;
-503 senderkey not registered (``sender_keys``); -504 sender number not registered; -201 not
enough balance.

``POST /akv10/alimtalk/send/``
- Required: senderkey, tpl_code, sender, receiver_1..n (n ≤ 500, no gaps), message_i for
  each receiver. Optional: subject_i, button_i, failover Y/N, fsubject_i, fmessage_i,
  senddate (YYYYMMDDHHmmss KST, must be later than the clock), testMode Y/N. k-msg's
  ``reserve``/``reserve_date``/``reserve_time`` are ignored (sent at once), as §5.4 infers.
- ``message_i`` must equal the template content with every ``#{var}`` replaced by a
  non-empty value that does not contain "#{" (the same variable must get the same value
  everywhere); CRLF is compared as LF. The lazily matched values are in
  ``accepted_messages()[…]["variables"]``.
- Templates with buttons need ``button_i`` = ``{"button":[{name, linkType, …}]}`` with the
  same (name, linkType) pairs in order; links are not compared. A template without buttons
  accepts no button_i or an empty list. Anything else → -502 (JSON that does not parse → 509).
- Invalid receiver numbers count in ``fcnt``; everything else is all-or-nothing.
- ``fmessage_i`` ≤ 2000 bytes and ``fsubject_i`` ≤ 44 bytes, else 509.
- Success: ``{code:0, message:"성공적으로 전송요청 하였습니다.", info:{type:"AT", mid,
  current, unit, total, scnt, fcnt}}`` with current = point left, unit = price,
  total = unit * scnt (testMode: nothing charged, total 0). ``kmsg_compat=True`` adds
  ``result_code:"0"`` and ``msg_id`` (the shape k-msg's unit tests expect).

``POST /akv10/friendtalk/send/`` (also ``/akv10/friend/send/``, the public-spec path)
- Like AlimTalk without tpl_code: message_i ≤ 1000 characters (400 with an image),
  optional ``button_i`` (at most 5 buttons, each with name and linkType, WL needs linkMo),
  ``image`` as a file part (JPEG/PNG, ≤ ``ft_image_limit`` = 500 KiB; a string → 509),
  ``image_url`` (the click link, recorded). info.type is "FT"; the price is FT, or FI with
  an image.

Outcomes (fixed at registration)
- ``final_outcomes[receiver] = reason``: that receiver's message fails with this reason
  (SMS "수신실패"; Kakao rslt "3018" with the reason as rslt_message).
- ``kakao_non_users``: AlimTalk/FriendTalk to them ends with rslt "3019" "톡 유저가 아님";
  if ``failover=Y`` and ``fmessage_i`` is non-empty, a substitute SMS (LMS if over 90 bytes
  or when fsubject_i is set) with fmessage_i/fsubject_i is sent at the final time, charged
  (point floored at 0), listed by ``failover_messages()`` and shown in the history entry
  (``smid``, ``fsend_type``, ``fsend_state``). failover=Y without fmessage just fails.
  (Codes 3018/3019 are modelled on Kakao's bizmessage codes, not taken from the reference.)

``POST /akv10/history/detail/``: ``mid`` required (509), ``page`` (default 1), ``limit``
1-500 (default 50) → ``{code:0, message:"정상적으로 조회되었습니다.", list:[{msgid, type,
sender, phone, status, reqdate, sentdate, rsltdate, reportdate, rslt, rslt_message, message,
button_json, tpl_code, senderKey, smid, fsend_type, fsend_state}], currentPage, totalPage,
totalCount}``; status "예약대기"/"대기"/"전송중"/"완료"/"테스트" as for SMS; rslt is "" until
final, then "0" "성공" or a failure code. Unknown mid → empty list.

``POST /akv10/template/list/``: ``senderkey`` required (509) and registered (-503),
optional ``tpl_code`` filter (unknown → empty list) → ``{code:0, message, list:[{templtCode,
templtName, templtContent, templateType, templateEmType, templtTitle, templtSubtitle,
inspStatus, status, senderKey, buttons, cdate, udate, comments}], info:{REG, REQ, APR,
REJ}}``. ``templates`` maps tpl_code → a content string or a dict with ``content`` and
optional ``buttons`` (Aligo button dicts: ordering, name, linkType, linkTypeName, linkMo,
linkPc, linkIos, linkAnd), ``name``, ``inspStatus`` (default "APR") and ``status``
(Kakao's R/A/S, default "R"). Every template is visible under every registered sender key.

``POST /akv10/heartinfo/`` → ``{code:0, message, list:{SMS, LMS, MMS, ALT, FTS, FTI}}``
(counts, as for /remain/).

Faults: as in the SOLAPI fake. ``script`` entries and random faults (``rng.random() <
fault_rate`` then ``rng.choice(fault_kinds)``) apply only to host-relative endpoints in
``fault_paths`` (default: the four send endpoints; None = every path). 500/503/429 answer
``{"status", "error", "message"}`` JSON (503/429 with ``Retry-After: 1``), "html" a 502
HTML page; "hang" closes without an answer after ``hang_seconds`` (or at ``stop()``);
"reset" sends a TCP RST; ``*_after_accept`` process the request first. An unknown script
entry answers 500 "FakeMisconfigured".

Inspection (no HTTP)
- ``accepted_messages()``: one dict per accepted receiver, test-mode ones included, in
  registration order: channel ("sms"/"alimtalk"/"friendtalk"), id and ``msg_id`` (SMS) or
  ``mid`` (Kakao) as a string, detail_id, endpoint, msg_type (SMS/LMS/MMS/AT/FT), receiver,
  sender, text, title (SMS title / Kakao subject_i), testmode, registered_at, scheduled_at,
  final_at (epoch seconds), outcome ("delivered"/"failed"/"non_user"/"failover"/
  "testmode"), reason, images (field, filename, content_type, size); Kakao entries add
  sender_key, tpl_code, variables, buttons, button_json, failover, fmessage, fsubject,
  image_url.
- ``failover_messages()``: the substitutes (channel "sms", msg_type, origin_channel, mid,
  origin_detail_id, detail_id, receiver, sender, title, text, at, outcome, reason).
- ``requests``: method, path, host ("sms"/"kakao"/None), endpoint, query, headers
  (lower-cased), content_type, form (last value per field), files (summaries), status,
  fault, time (fake clock), response. ``reset_log()`` clears it.
- ``count(kind)``, ``point`` (a Decimal), ``create_token()``.
"""

from __future__ import annotations

import argparse
import email.policy
import json
import random
import re
import secrets
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

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
SMS_PATHS = ("/send/", "/send_mass/", "/sms_list/", "/remain/")
KAKAO_PATHS = (
    "/akv10/alimtalk/send/",
    "/akv10/friendtalk/send/",
    "/akv10/friend/send/",
    "/akv10/template/list/",
    "/akv10/history/detail/",
    "/akv10/heartinfo/",
)
SEND_PATHS = (
    "/send/",
    "/send_mass/",
    "/akv10/alimtalk/send/",
    "/akv10/friendtalk/send/",
    "/akv10/friend/send/",
)
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
RESULT_CODE_STYLES = ("native", "str", "int")
MAX_SMS_RECEIVERS = 1000
MAX_MASS = 500
MAX_KAKAO_RECEIVERS = 500
MMS_IMAGE_LIMIT = 300 * 1024
FT_IMAGE_LIMIT = 500 * 1024
SCHEDULE_LEAD_SECONDS = 600
MAX_FORM_FIELDS = 5000
JSON_TYPE = "application/json; charset=utf-8"
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
KST = timezone(timedelta(hours=9))

SMS_OK_MESSAGE = "success"
KAKAO_SEND_MESSAGE = "성공적으로 전송요청 하였습니다."
KAKAO_QUERY_MESSAGE = "정상적으로 조회되었습니다."
SMS_ERRORS: Mapping[int, str] = {
    -101: "인증오류입니다.",
    -103: "요청 정보가 올바르지 않습니다.",
    -105: "등록되지 않은 발신번호입니다.",
    -201: "잔액이 부족합니다.",
}
KAKAO_ERRORS: Mapping[int, str] = {
    -99: "계정 인증에 실패하였습니다.",
    509: "요청 정보가 올바르지 않습니다.",
    -501: "템플릿 코드를 찾을 수 없습니다.",
    -502: "템플릿 내용과 일치하지 않습니다.",
    -503: "등록되지 않은 발신프로필(senderkey)입니다.",
    -504: "등록되지 않은 발신번호입니다.",
    -201: "잔액이 부족합니다.",
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

_PLACEHOLDER = re.compile(r"#\{([^{}]+)\}")
_TOKEN_PATH = re.compile(r"/akv10/token/create/(\d+)/([ymdhis])/")
_SMS_IMAGE_FIELDS = ("image", "image1", "image2", "image3")


# --------------------------------------------------------------------------- helpers


class ManualClock:
    """A settable clock for deterministic tests: ``clock()`` returns epoch seconds."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += float(seconds)
            return self._now

    def set(self, now: float) -> None:
        with self._lock:
            self._now = float(now)


def cp949_len(text: str) -> int:
    """Byte length in CP949; characters outside CP949 count 2 bytes."""
    total = 0
    for char in text:
        try:
            total += len(char.encode("cp949"))
        except UnicodeEncodeError:
            total += 2
    return total


def normalize_number(value: str) -> str:
    """Remove '-' and surrounding whitespace (Aligo accepts 010-1234-5678)."""
    return value.strip().replace("-", "")


def is_receiver(number: str) -> bool:
    return number.isascii() and number.isdigit() and 9 <= len(number) <= 11 and number[0] == "0"


def is_sender(number: str) -> bool:
    return number.isascii() and number.isdigit() and 8 <= len(number) <= 11


def kst(ts: float | None) -> str:
    """'YYYY-MM-DD HH:MM:SS' in Asia/Seoul, or '' when unknown."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, KST).strftime("%Y-%m-%d %H:%M:%S")


def template_pattern(content: str) -> tuple[re.Pattern[str], dict[str, str]]:
    """A regex that fully matches ``content`` with its ``#{…}`` filled in.

    Returns the pattern and a map variable name → group name. Values are non-empty, never
    contain "#{", and a repeated variable must repeat the same value.
    """
    parts: list[str] = []
    groups: dict[str, str] = {}
    position = 0
    for match in _PLACEHOLDER.finditer(content):
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


# --------------------------------------------------------------------------- form parsing


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


# --------------------------------------------------------------------------- state


@dataclass
class _Substitute:
    detail_id: str
    msg_type: str
    title: str | None
    text: str
    failure: str | None


@dataclass
class _Delivery:
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
    substitute: _Substitute | None = None


# --------------------------------------------------------------------------- the fake


class FakeAligo:
    """The fake server. Attributes set by the constructor may be changed at runtime."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        key: str = DEFAULT_KEY,
        user_id: str = DEFAULT_USER_ID,
        senders: Iterable[str] | None = None,
        sender_keys: Iterable[str] | None = None,
        templates: Mapping[str, Any] | None = None,
        point: float | int | str | Decimal = DEFAULT_POINT,
        prices: Mapping[str, float | int | str] | None = None,
        clock: Callable[[], float] | None = None,
        kakao_non_users: Iterable[str] | None = None,
        final_outcomes: Mapping[str, str] | None = None,
        progress_after: tuple[float, float] = (2.0, 5.0),
        latency: float = 0.0,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] | None = None,
        script: Iterable[str] | None = None,
        fault_paths: Iterable[str] | None = SEND_PATHS,
        hang_seconds: float = 30.0,
        seed: int = 0,
        sms_prefix: str = "/sms",
        kakao_prefix: str = "/kakao",
        require_token: bool = False,
        result_code_style: str = "native",
        kmsg_compat: bool = False,
        mms_image_limit: int = MMS_IMAGE_LIMIT,
        ft_image_limit: int = FT_IMAGE_LIMIT,
    ) -> None:
        self.host = host
        self.port = port
        self.key = key
        self.user_id = user_id
        self.senders: set[str] = set(DEFAULT_SENDERS if senders is None else senders)
        self.sender_keys: set[str] = set(
            {DEFAULT_SENDER_KEY} if sender_keys is None else sender_keys
        )
        self.templates: dict[str, Any] = {
            code: (dict(value) if isinstance(value, Mapping) else value)
            for code, value in (DEFAULT_TEMPLATES if templates is None else templates).items()
        }
        self.point = point  # the property setter converts to Decimal
        self.prices: dict[str, float | int | str] = dict(
            DEFAULT_PRICES if prices is None else prices
        )
        self.clock: Callable[[], float] = time.time if clock is None else clock
        self.kakao_non_users: set[str] = set(kakao_non_users or ())
        self.final_outcomes: dict[str, str] = dict(final_outcomes or {})
        self.progress_after: tuple[float, float] = (
            float(progress_after[0]),
            float(progress_after[1]),
        )
        self.latency = float(latency)
        self.fault_rate = float(fault_rate)
        self.fault_kinds: list[str] = list(
            DEFAULT_RANDOM_FAULTS if fault_kinds is None else fault_kinds
        )
        self.script: list[str] = list(script or ())
        self.fault_paths: set[str] | None = None if fault_paths is None else set(fault_paths)
        self.hang_seconds = float(hang_seconds)
        self.rng = random.Random(seed)
        self.sms_prefix = sms_prefix.rstrip("/")
        self.kakao_prefix = kakao_prefix.rstrip("/")
        self.require_token = require_token
        if result_code_style not in RESULT_CODE_STYLES:
            raise ValueError(f"result_code_style must be one of {RESULT_CODE_STYLES}")
        self.result_code_style = result_code_style
        self.kmsg_compat = kmsg_compat
        self.mms_image_limit = int(mms_image_limit)
        self.ft_image_limit = int(ft_image_limit)
        for kind in [*self.fault_kinds, *self.script]:
            _check_fault_kind(kind)

        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._deliveries: list[_Delivery] = []
        self._by_request: dict[str, list[_Delivery]] = {}
        self._tokens: dict[str, float] = {}
        self._request_seq = 100000000
        self._detail_seq = 900000000
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ balance

    @property
    def point(self) -> Decimal:
        """The point balance (a Decimal; assign any number or numeric string)."""
        return self._point

    @point.setter
    def point(self, value: float | int | str | Decimal) -> None:
        self._point = Decimal(str(value))

    def price(self, kind: str) -> Decimal:
        return Decimal(str(self.prices[kind]))

    def count(self, kind: str) -> int:
        """How many messages of ``kind`` (SMS/LMS/MMS/AT/FT/FI) the point balance pays for."""
        price = self.price(kind)
        return int(self._point // price) if price > 0 else 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeAligo:
        if self._server is not None:
            raise RuntimeError("FakeAligo is already running")
        self._stop_event.clear()
        server = _Server((self.host, self.port), self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"FakeAligo:{server.server_address[1]}",
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

    def __enter__(self) -> FakeAligo:
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
            raise RuntimeError("FakeAligo is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The server root (both hosts live below it)."""
        return f"http://{self.host}:{self.bound_port}"

    @property
    def sms_base_url(self) -> str:
        """Stands for https://apis.aligo.in (``/send/``, ``/remain/`` …)."""
        return self.base_url + self.sms_prefix

    @property
    def kakao_base_url(self) -> str:
        """Stands for https://kakaoapi.aligo.in (``/akv10/…``)."""
        return self.base_url + self.kakao_prefix

    @property
    def running(self) -> bool:
        return self._server is not None

    # ------------------------------------------------------------------ inspection helpers

    def accepted_messages(self) -> list[dict[str, Any]]:
        """One entry per accepted receiver (test-mode ones included), in registration order."""
        with self._lock:
            return [self._entry(d) for d in self._deliveries]

    def failover_messages(self) -> list[dict[str, Any]]:
        """The SMS/LMS substitutes sent for Kakao non-users (failover=Y with fmessage)."""
        with self._lock:
            found: list[dict[str, Any]] = []
            for delivery in self._deliveries:
                sub = delivery.substitute
                if sub is None:
                    continue
                found.append(
                    {
                        "channel": "sms",
                        "msg_type": sub.msg_type,
                        "origin_channel": delivery.channel,
                        "mid": delivery.request_id,
                        "origin_detail_id": delivery.detail_id,
                        "detail_id": sub.detail_id,
                        "receiver": delivery.receiver,
                        "sender": delivery.sender,
                        "title": sub.title,
                        "text": sub.text,
                        "at": delivery.t_final,
                        "outcome": "failed" if sub.failure else "delivered",
                        "reason": sub.failure or "",
                    }
                )
            return found

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def create_token(self, seconds: float = 3600.0) -> str:
        """Issue a Kakao API token without HTTP (see ``/akv10/token/create/``)."""
        with self._lock:
            return self._new_token(self.clock(), seconds)

    # ------------------------------------------------------------------ request plumbing

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _route(self, path: str) -> tuple[str | None, str]:
        """(host, endpoint): host "sms"/"kakao"/None and the host-relative path with '/'."""
        matches: list[tuple[str, str]] = []
        for host, prefix in (("sms", self.sms_prefix), ("kakao", self.kakao_prefix)):
            if path == prefix or path.startswith(prefix + "/"):
                endpoint = path[len(prefix) :] or "/"
                if not endpoint.endswith("/"):
                    endpoint += "/"
                matches.append((host, endpoint))
        for host, endpoint in matches:
            known = SMS_PATHS if host == "sms" else KAKAO_PATHS
            if endpoint in known or (host == "kakao" and _TOKEN_PATH.fullmatch(endpoint)):
                return host, endpoint
        if matches:
            return matches[0]
        return None, path

    def _begin(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        form: Form | None,
    ) -> dict[str, Any]:
        host, endpoint = self._route(path)
        with self._lock:
            fault = self._next_fault(endpoint)
            record: dict[str, Any] = {
                "method": method,
                "path": path,
                "host": host,
                "endpoint": endpoint,
                "query": query,
                "headers": headers,
                "content_type": headers.get("content-type"),
                "form": form.flat() if form is not None else None,
                "files": (
                    {k: [u.summary() for u in v] for k, v in form.files.items()}
                    if form is not None
                    else None
                ),
                "status": None,
                "fault": fault,
                "time": self.clock(),
                "response": None,
            }
            self.requests.append(record)
            return record

    def _next_fault(self, endpoint: str) -> str | None:
        if self.fault_paths is not None and endpoint not in self.fault_paths:
            return None
        if self.script:
            kind = self.script.pop(0)
        elif self.fault_rate > 0 and self.fault_kinds and self.rng.random() < self.fault_rate:
            kind = self.rng.choice(self.fault_kinds)
        else:
            return None
        return None if kind == "ok" else kind

    def _finish(self, record: dict[str, Any], status: int | None, response: Any) -> None:
        with self._lock:
            record["status"] = status
            record["response"] = response

    def _process(
        self,
        method: str,
        record: dict[str, Any],
        form: Form | None,
        body_error: HttpError | None,
    ) -> tuple[int, Any, dict[str, str]]:
        host, endpoint = record["host"], record["endpoint"]
        with self._lock:
            try:
                payload = self._dispatch(method, host, endpoint, form, body_error)
                return 200, payload, {}
            except HttpError as error:
                return error.status, http_error_body(error.status, error.message), error.headers
            except AligoError as error:
                return 200, self._error_body(host, error), {}
            except Exception as error:  # a bug in the fake: answer like a real 500
                traceback.print_exc()
                return 500, http_error_body(500, repr(error)), {}

    def _error_body(self, host: str | None, error: AligoError) -> dict[str, Any]:
        if host == "sms":
            text = SMS_ERRORS.get(error.code, "오류가 발생했습니다.")
            message = f"{text} ({error.detail})" if error.detail else text
            return {"result_code": self._rc(error.code), "message": message}
        text = KAKAO_ERRORS.get(error.code, "오류가 발생했습니다.")
        message = f"{text} ({error.detail})" if error.detail else text
        return {"code": error.code, "message": message}

    def _rc(self, value: int, send_success: bool = False) -> int | str:
        if self.result_code_style == "str" or (self.result_code_style == "native" and send_success):
            return str(value)
        return value

    # ------------------------------------------------------------------ routing

    def _dispatch(
        self,
        method: str,
        host: str | None,
        endpoint: str,
        form: Form | None,
        body_error: HttpError | None,
    ) -> dict[str, Any]:
        known = SMS_PATHS if host == "sms" else KAKAO_PATHS if host == "kakao" else ()
        token = host == "kakao" and _TOKEN_PATH.fullmatch(endpoint)
        if endpoint not in known and not token:
            raise HttpError(404, f"no such endpoint {endpoint!r}")
        if method != "POST":
            raise HttpError(405, f"{method} is not allowed; use POST", {"Allow": "POST"})
        if body_error is not None:
            raise body_error
        assert form is not None
        now = self.clock()
        if host == "sms":
            self._check_sms_auth(form)
            if endpoint == "/send/":
                return self._sms_send(form, now, endpoint)
            if endpoint == "/send_mass/":
                return self._sms_send_mass(form, now, endpoint)
            if endpoint == "/sms_list/":
                return self._sms_list(form, now)
            return {
                "result_code": self._rc(1),
                "message": SMS_OK_MESSAGE,
                "SMS_CNT": self.count("SMS"),
                "LMS_CNT": self.count("LMS"),
                "MMS_CNT": self.count("MMS"),
            }
        if token:
            self._check_kakao_auth(form, now, token_required=False)
            amount, unit = int(token.group(1)), token.group(2)
            issued = self._new_token(now, amount * TOKEN_UNITS[unit])
            return {
                "code": 0,
                "message": "정상적으로 생성하였습니다.",
                "token": issued,
                "urlencode": issued,
            }
        self._check_kakao_auth(form, now, token_required=self.require_token)
        if endpoint == "/akv10/alimtalk/send/":
            return self._kakao_send(form, now, endpoint, "alimtalk")
        if endpoint in ("/akv10/friendtalk/send/", "/akv10/friend/send/"):
            return self._kakao_send(form, now, endpoint, "friendtalk")
        if endpoint == "/akv10/template/list/":
            return self._template_list(form)
        if endpoint == "/akv10/history/detail/":
            return self._history_detail(form, now)
        return {
            "code": 0,
            "message": KAKAO_QUERY_MESSAGE,
            "list": {
                "SMS": self.count("SMS"),
                "LMS": self.count("LMS"),
                "MMS": self.count("MMS"),
                "ALT": self.count("AT"),
                "FTS": self.count("FT"),
                "FTI": self.count("FI"),
            },
        }

    # ------------------------------------------------------------------ authentication

    def _check_sms_auth(self, form: Form) -> None:
        if form.get("key") != self.key or form.get("user_id") != self.user_id:
            raise AligoError(-101)

    def _check_kakao_auth(self, form: Form, now: float, *, token_required: bool) -> None:
        if form.get("apikey") != self.key or form.get("userid") != self.user_id:
            raise AligoError(-99)
        token = form.get("token")
        if token is None or token == "":
            if token_required:
                raise AligoError(-99, "token is required")
            return
        expires = self._tokens.get(token)
        if expires is None or expires <= now:
            raise AligoError(-99, "token is unknown or expired")

    def _new_token(self, now: float, seconds: float) -> str:
        token = secrets.token_hex(32)
        self._tokens[token] = now + seconds
        return token

    # ------------------------------------------------------------------ ids and timeline

    def _new_request_id(self) -> str:
        self._request_seq += 1
        return str(self._request_seq)

    def _new_detail_id(self) -> str:
        self._detail_seq += 1
        return str(self._detail_seq)

    def _timeline(self, now: float, scheduled: float | None) -> tuple[float, float]:
        start = now if scheduled is None else scheduled
        first, second = self.progress_after
        return start + first, start + max(first, second)

    def _register(self, delivery: _Delivery) -> None:
        self._deliveries.append(delivery)
        self._by_request.setdefault(delivery.request_id, []).append(delivery)

    def _charge(self, kind: str, count: int, testmode: bool) -> None:
        if testmode or count == 0:
            return
        if self.price(kind) * count > self._point:
            raise AligoError(-201, f"{count} x {kind} needs {self.price(kind) * count} points")

    # ------------------------------------------------------------------ SMS host

    def _yn(self, value: str | None, name: str, code: int) -> bool:
        if value is None or value == "":
            return False
        if value.upper() not in ("Y", "N"):
            raise AligoError(code, f"{name} must be Y or N")
        return value.upper() == "Y"

    def _sms_sender(self, form: Form) -> str:
        raw = form.text("sender")
        if not raw.strip():
            raise AligoError(-103, "sender is required")
        number = normalize_number(raw)
        if len(raw.encode("utf-8")) > 16 or not is_sender(number):
            raise AligoError(-103, f"bad sender {raw!r}")
        if number not in {normalize_number(s) for s in self.senders}:
            raise AligoError(-105, number)
        return number

    def _sms_images(self, form: Form) -> list[Upload]:
        for name in _SMS_IMAGE_FIELDS:
            if form.text(name).strip():
                raise AligoError(-103, f"{name} must be an attached file, not a string")
        images = [upload for name in _SMS_IMAGE_FIELDS for upload in form.files.get(name, [])]
        if len(images) > 3:
            raise AligoError(-103, "at most 3 images")
        return images

    def _check_mms_images(self, images: list[Upload]) -> None:
        if not images:
            raise AligoError(-103, "MMS needs an image file (image or image1..image3)")
        for image in images:
            if image_kind(image.data) is None:
                raise AligoError(-103, f"{image.name}: only JPEG, PNG or GIF images")
            if len(image.data) > self.mms_image_limit:
                raise AligoError(
                    -103, f"{image.name}: {len(image.data)} bytes > {self.mms_image_limit}"
                )

    def _sms_type(self, form: Form, texts: list[str], images: list[Upload]) -> str:
        raw = form.text("msg_type").strip().upper()
        if raw:
            if raw not in ("SMS", "LMS", "MMS"):
                raise AligoError(-103, f"bad msg_type {form.get('msg_type')!r}")
            return raw
        if images:
            return "MMS"
        return "LMS" if any(cp949_len(t) > 90 for t in texts) else "SMS"

    def _check_sms_text(self, msg_type: str, text: str, label: str) -> None:
        if not text:
            raise AligoError(-103, f"{label} is required")
        limit = 90 if msg_type == "SMS" else 2000
        size = cp949_len(text)
        if size > limit:
            raise AligoError(-103, f"{label} is {size} bytes; {msg_type} allows {limit}")

    def _sms_title(self, form: Form, msg_type: str) -> str | None:
        title = form.get("title")
        if msg_type == "SMS" or not title:
            return None
        if cp949_len(title) > 44:
            raise AligoError(-103, f"title is {cp949_len(title)} bytes (max 44)")
        return title

    def _sms_schedule(self, form: Form, now: float) -> float | None:
        rdate, rtime = form.text("rdate").strip(), form.text("rtime").strip()
        if not rdate and not rtime:
            return None
        if not rdate or not rtime:
            raise AligoError(-103, "rdate and rtime go together")
        try:
            if not (len(rdate) == 8 and len(rtime) == 4 and (rdate + rtime).isdigit()):
                raise ValueError
            moment = datetime.strptime(rdate + rtime, "%Y%m%d%H%M").replace(tzinfo=KST)
        except ValueError:
            raise AligoError(-103, "rdate must be YYYYMMDD and rtime HHMM") from None
        at = moment.timestamp()
        if at - now < SCHEDULE_LEAD_SECONDS:
            raise AligoError(-103, "rdate/rtime must be at least 10 minutes ahead (KST)")
        return at

    def _sms_outcome(self, receiver: str) -> tuple[tuple[str, str] | None, str]:
        reason = self._final_reason(receiver)
        return (("", reason), "failed") if reason is not None else (None, "delivered")

    def _final_reason(self, receiver: str) -> str | None:
        for number, reason in self.final_outcomes.items():
            if normalize_number(number) == receiver:
                return reason
        return None

    def _sms_register(
        self,
        *,
        endpoint: str,
        pairs: list[tuple[str, str]],
        msg_type: str,
        sender: str,
        title: str | None,
        images: list[Upload],
        scheduled: float | None,
        testmode: bool,
        now: float,
    ) -> dict[str, Any]:
        valid = [(normalize_number(r), t) for r, t in pairs if is_receiver(normalize_number(r))]
        if not valid:
            raise AligoError(-103, "no valid receiver")
        self._charge(msg_type, len(valid), testmode)
        request_id = self._new_request_id()
        t_processed, t_final = self._timeline(now, scheduled)
        used_images = [i.summary() for i in images] if msg_type == "MMS" else []
        for receiver, text in valid:
            failure, outcome = self._sms_outcome(receiver)
            self._register(
                _Delivery(
                    channel="sms",
                    request_id=request_id,
                    detail_id=self._new_detail_id(),
                    endpoint=endpoint,
                    msg_type=msg_type,
                    receiver=receiver,
                    sender=sender,
                    text=text,
                    title=title,
                    testmode=testmode,
                    registered=now,
                    scheduled=scheduled,
                    t_processed=t_processed,
                    t_final=t_final,
                    failure=failure,
                    outcome="testmode" if testmode else outcome,
                    images=used_images,
                )
            )
        if not testmode:
            self._point -= self.price(msg_type) * len(valid)
        return {
            "result_code": self._rc(1, send_success=True),
            "message": SMS_OK_MESSAGE,
            "msg_id": request_id,
            "success_cnt": len(valid),
            "error_cnt": len(pairs) - len(valid),
            "msg_type": msg_type,
        }

    def _sms_send(self, form: Form, now: float, endpoint: str) -> dict[str, Any]:
        sender = self._sms_sender(form)
        msg = form.text("msg")
        if not msg:
            raise AligoError(-103, "msg is required")
        receivers = [r.strip() for r in form.text("receiver").split(",") if r.strip()]
        if not receivers:
            raise AligoError(-103, "receiver is required")
        if len(receivers) > MAX_SMS_RECEIVERS:
            raise AligoError(-103, f"{len(receivers)} receivers (max {MAX_SMS_RECEIVERS})")
        names: dict[str, str] = {}
        for item in form.text("destination").split(","):
            number, sep, name = item.partition("|")
            if sep:
                names[normalize_number(number)] = name.strip()
        texts = []
        for receiver in receivers:
            customer = names.get(normalize_number(receiver))
            texts.append(msg if customer is None else msg.replace("%고객명%", customer))
        images = self._sms_images(form)
        msg_type = self._sms_type(form, texts, images)
        for text in texts:
            self._check_sms_text(msg_type, text, "msg")
        title = self._sms_title(form, msg_type)
        if msg_type == "MMS":
            self._check_mms_images(images)
        scheduled = self._sms_schedule(form, now)
        testmode = self._yn(form.get("testmode_yn"), "testmode_yn", -103)
        return self._sms_register(
            endpoint=endpoint,
            pairs=list(zip(receivers, texts, strict=True)),
            msg_type=msg_type,
            sender=sender,
            title=title,
            images=images,
            scheduled=scheduled,
            testmode=testmode,
            now=now,
        )

    def _sms_send_mass(self, form: Form, now: float, endpoint: str) -> dict[str, Any]:
        sender = self._sms_sender(form)
        raw_cnt = form.text("cnt").strip()
        if not raw_cnt.isdigit() or not 1 <= int(raw_cnt) <= MAX_MASS:
            raise AligoError(-103, f"cnt must be 1..{MAX_MASS}")
        cnt = int(raw_cnt)
        msg_type = form.text("msg_type").strip().upper()
        if msg_type not in ("SMS", "LMS", "MMS"):
            raise AligoError(-103, "msg_type (SMS/LMS/MMS) is required for send_mass")
        pairs: list[tuple[str, str]] = []
        for index in range(1, cnt + 1):
            receiver = form.text(f"rec_{index}").strip()
            text = form.text(f"msg_{index}")
            if not receiver:
                raise AligoError(-103, f"rec_{index} is required")
            self._check_sms_text(msg_type, text, f"msg_{index}")
            pairs.append((receiver, text))
        title = self._sms_title(form, msg_type)
        images = self._sms_images(form)
        if msg_type == "MMS":
            self._check_mms_images(images)
        scheduled = self._sms_schedule(form, now)
        testmode = self._yn(form.get("testmode_yn"), "testmode_yn", -103)
        return self._sms_register(
            endpoint=endpoint,
            pairs=pairs,
            msg_type=msg_type,
            sender=sender,
            title=title,
            images=images,
            scheduled=scheduled,
            testmode=testmode,
            now=now,
        )

    def _page(self, form: Form, size_field: str, default: int, code: int) -> tuple[int, int]:
        raw_page = form.text("page").strip() or "1"
        raw_size = form.text(size_field).strip() or str(default)
        if not (raw_page.isdigit() and raw_size.isdigit()):
            raise AligoError(code, f"page and {size_field} must be numbers")
        page, size = int(raw_page), int(raw_size)
        if page < 1 or not 1 <= size <= 500:
            raise AligoError(code, f"page >= 1 and {size_field} 1..500")
        return page, size

    def _sms_list(self, form: Form, now: float) -> dict[str, Any]:
        mid = (form.get("mid") or form.get("msg_id") or "").strip()
        if not mid:
            raise AligoError(-103, "mid is required")
        page, size = self._page(form, "page_size", 30, -103)
        found = [d for d in self._by_request.get(mid, []) if d.channel == "sms"]
        chunk = found[(page - 1) * size : page * size]
        return {
            "result_code": self._rc(1),
            "message": SMS_OK_MESSAGE,
            "list": [self._sms_view(d, now) for d in chunk],
            "next_yn": "Y" if len(found) > page * size else "N",
        }

    def _phase(self, delivery: _Delivery, now: float) -> str:
        if delivery.testmode:
            return "test"
        if delivery.scheduled is not None and now < delivery.scheduled:
            return "scheduled"
        if now < delivery.t_processed:
            return "waiting"
        if now < delivery.t_final:
            return "sending"
        return "final"

    def _sms_view(self, delivery: _Delivery, now: float) -> dict[str, Any]:
        phase = self._phase(delivery, now)
        state = {
            "test": "테스트",
            "scheduled": "예약대기",
            "waiting": "대기",
            "sending": "전송중",
        }.get(phase)
        reason = ""
        if state is None:
            state = "발송완료" if delivery.failure is None else "수신실패"
            reason = "" if delivery.failure is None else delivery.failure[1]
        sent = phase in ("sending", "final")
        return {
            "mdid": delivery.detail_id,
            "type": delivery.msg_type,
            "sender": delivery.sender,
            "receiver": delivery.receiver,
            "sms_state": state,
            "reg_date": kst(delivery.registered),
            "send_date": kst(delivery.t_processed) if sent else "",
            "reason": reason,
        }

    # ------------------------------------------------------------------ Kakao host

    def _kakao_receivers(self, form: Form) -> list[int]:
        indices = sorted(
            int(name[len("receiver_") :])
            for name in form.fields
            if name.startswith("receiver_") and name[len("receiver_") :].isdigit()
        )
        if not indices:
            raise AligoError(509, "receiver_1 is required")
        if indices != list(range(1, len(indices) + 1)):
            raise AligoError(509, "receiver_N must be numbered 1..n without gaps")
        if len(indices) > MAX_KAKAO_RECEIVERS:
            raise AligoError(509, f"at most {MAX_KAKAO_RECEIVERS} receivers")
        return indices

    def _kakao_senddate(self, form: Form, now: float) -> float | None:
        raw = form.text("senddate").strip()
        if not raw:
            return None
        try:
            if len(raw) != 14 or not raw.isdigit():
                raise ValueError
            at = datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=KST).timestamp()
        except ValueError:
            raise AligoError(509, "senddate must be YYYYMMDDHHmmss") from None
        if at <= now:
            raise AligoError(509, "senddate must be in the future (KST)")
        return at

    def _parse_buttons(self, raw: str, label: str) -> list[dict[str, Any]] | None:
        if not raw.strip():
            return None
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            raise AligoError(509, f"{label} is not JSON") from None
        buttons = parsed.get("button") if isinstance(parsed, dict) else None
        if not isinstance(buttons, list) or not all(isinstance(b, dict) for b in buttons):
            raise AligoError(509, f'{label} must be {{"button": [{{…}}]}}')
        if len(buttons) > 5:
            raise AligoError(509, f"{label}: at most 5 buttons")
        for button in buttons:
            name, link_type = button.get("name"), button.get("linkType")
            if not isinstance(name, str) or not name or link_type not in BUTTON_LINK_TYPES:
                raise AligoError(509, f"{label}: every button needs name and a known linkType")
            if link_type == "WL" and not button.get("linkMo"):
                raise AligoError(509, f"{label}: a WL button needs linkMo")
        return buttons

    def _template(self, code: str) -> dict[str, Any] | None:
        value = self.templates.get(code)
        if value is None:
            return None
        if isinstance(value, str):
            return {"content": value}
        return dict(value)

    def _kakao_sender(self, form: Form) -> str:
        raw = form.text("sender")
        if not raw.strip():
            raise AligoError(509, "sender is required")
        number = normalize_number(raw)
        if not is_sender(number):
            raise AligoError(509, f"bad sender {raw!r}")
        if number not in {normalize_number(s) for s in self.senders}:
            raise AligoError(-504, number)
        return number

    def _kakao_send(self, form: Form, now: float, endpoint: str, channel: str) -> dict[str, Any]:
        sender_key = form.text("senderkey").strip()
        if not sender_key:
            raise AligoError(509, "senderkey is required")
        if sender_key not in self.sender_keys:
            raise AligoError(-503, sender_key)
        template: dict[str, Any] | None = None
        tpl_code = form.text("tpl_code").strip()
        if channel == "alimtalk":
            if not tpl_code:
                raise AligoError(509, "tpl_code is required")
            template = self._template(tpl_code)
            if template is None or template.get("inspStatus", "APR") != "APR":
                raise AligoError(-501, tpl_code)
        sender = self._kakao_sender(form)
        testmode = self._yn(form.get("testMode"), "testMode", 509)
        failover = self._yn(form.get("failover"), "failover", 509)
        image: Upload | None = None
        if channel == "friendtalk":
            if form.text("image").strip():
                raise AligoError(509, "image must be an attached file, not a string")
            uploads = form.files.get("image", [])
            if len(uploads) > 1:
                raise AligoError(509, "at most one image")
            if uploads:
                image = uploads[0]
                if image_kind(image.data) not in ("jpeg", "png"):
                    raise AligoError(509, "FriendTalk images must be JPEG or PNG")
                if len(image.data) > self.ft_image_limit:
                    raise AligoError(
                        509, f"image is {len(image.data)} bytes (max {self.ft_image_limit})"
                    )
        indices = self._kakao_receivers(form)
        scheduled = self._kakao_senddate(form, now)

        items: list[dict[str, Any]] = []
        for index in indices:
            message = form.text(f"message_{index}")
            if not message:
                raise AligoError(509, f"message_{index} is required")
            buttons = self._parse_buttons(form.text(f"button_{index}"), f"button_{index}")
            variables: dict[str, str] | None = None
            if template is not None:
                if len(message) > 1000:
                    raise AligoError(509, f"message_{index} is over 1000 characters")
                variables = match_template(str(template["content"]), message)
                if variables is None:
                    raise AligoError(-502, f"message_{index} does not match {tpl_code}")
                expected = [
                    (b.get("name"), b.get("linkType")) for b in template.get("buttons") or []
                ]
                given = [(b.get("name"), b.get("linkType")) for b in buttons or []]
                if expected != given:
                    raise AligoError(-502, f"button_{index} does not match {tpl_code}")
            else:
                limit = 400 if image is not None else 1000
                if len(message) > limit:
                    raise AligoError(509, f"message_{index} is over {limit} characters")
            fmessage = form.text(f"fmessage_{index}")
            fsubject = form.text(f"fsubject_{index}") or None
            if cp949_len(fmessage) > 2000:
                raise AligoError(509, f"fmessage_{index} is over 2000 bytes")
            if fsubject is not None and cp949_len(fsubject) > 44:
                raise AligoError(509, f"fsubject_{index} is over 44 bytes")
            items.append(
                {
                    "receiver": normalize_number(form.text(f"receiver_{index}")),
                    "subject": form.get(f"subject_{index}"),
                    "message": message,
                    "buttons": buttons,
                    "button_json": form.text(f"button_{index}"),
                    "variables": variables,
                    "fmessage": fmessage,
                    "fsubject": fsubject,
                }
            )
        valid = [item for item in items if is_receiver(item["receiver"])]
        if not valid:
            raise AligoError(509, "no valid receiver")
        kind = "AT" if channel == "alimtalk" else ("FI" if image is not None else "FT")
        self._charge(kind, len(valid), testmode)

        request_id = self._new_request_id()
        t_processed, t_final = self._timeline(now, scheduled)
        msg_type = "AT" if channel == "alimtalk" else "FT"
        non_users = {normalize_number(n) for n in self.kakao_non_users}
        substitutes: list[str] = []
        for item in valid:
            receiver = item["receiver"]
            substitute: _Substitute | None = None
            reason = self._final_reason(receiver)
            failure: tuple[str, str] | None
            if receiver in non_users:
                failure, outcome = KAKAO_NON_USER, "non_user"
                if failover and item["fmessage"] and not testmode:
                    long_text = cp949_len(item["fmessage"]) > 90 or item["fsubject"] is not None
                    substitute = _Substitute(
                        detail_id=self._new_detail_id(),
                        msg_type="LMS" if long_text else "SMS",
                        title=item["fsubject"],
                        text=item["fmessage"],
                        failure=reason,
                    )
                    substitutes.append(substitute.msg_type)
                    outcome = "failover"
            elif reason is not None:
                failure, outcome = (KAKAO_FAILED_CODE, reason), "failed"
            else:
                failure, outcome = None, "delivered"
            self._register(
                _Delivery(
                    channel=channel,
                    request_id=request_id,
                    detail_id=self._new_detail_id(),
                    endpoint=endpoint,
                    msg_type=msg_type,
                    receiver=receiver,
                    sender=sender,
                    text=item["message"],
                    title=item["subject"],
                    testmode=testmode,
                    registered=now,
                    scheduled=scheduled,
                    t_processed=t_processed,
                    t_final=t_final,
                    failure=failure,
                    outcome="testmode" if testmode else outcome,
                    images=[image.summary()] if image is not None else [],
                    extra={
                        "sender_key": sender_key,
                        "tpl_code": tpl_code or None,
                        "variables": item["variables"],
                        "buttons": item["buttons"],
                        "button_json": item["button_json"],
                        "failover": "Y" if failover else "N",
                        "fmessage": item["fmessage"] or None,
                        "fsubject": item["fsubject"],
                        "image_url": form.get("image_url"),
                    },
                    substitute=substitute,
                )
            )
        unit = self.price(kind)
        total = Decimal(0) if testmode else unit * len(valid)
        self._point -= total
        for sub_type in substitutes:
            self._point = max(Decimal(0), self._point - self.price(sub_type))
        body: dict[str, Any] = {
            "code": 0,
            "message": KAKAO_SEND_MESSAGE,
            "info": {
                "type": msg_type,
                "mid": int(request_id),
                "current": float(self._point),
                "unit": float(unit),
                "total": float(total),
                "scnt": len(valid),
                "fcnt": len(items) - len(valid),
            },
        }
        if self.kmsg_compat:
            body.update(result_code="0", msg_id=request_id)
        return body

    def _template_list(self, form: Form) -> dict[str, Any]:
        sender_key = form.text("senderkey").strip()
        if not sender_key:
            raise AligoError(509, "senderkey is required")
        if sender_key not in self.sender_keys:
            raise AligoError(-503, sender_key)
        wanted = form.text("tpl_code").strip()
        listed: list[dict[str, Any]] = []
        info = {"REG": 0, "REQ": 0, "APR": 0, "REJ": 0}
        for code in self.templates:
            template = self._template(code)
            if template is None or (wanted and code != wanted):
                continue
            status = str(template.get("inspStatus", "APR"))
            info[status] = info.get(status, 0) + 1
            buttons = [
                {
                    "ordering": position,
                    "name": b.get("name", ""),
                    "linkType": b.get("linkType", ""),
                    "linkTypeName": b.get("linkTypeName", ""),
                    "linkMo": b.get("linkMo", ""),
                    "linkPc": b.get("linkPc", ""),
                    "linkIos": b.get("linkIos", ""),
                    "linkAnd": b.get("linkAnd", ""),
                }
                for position, b in enumerate(template.get("buttons") or [], start=1)
            ]
            listed.append(
                {
                    "templtCode": code,
                    "templtName": str(template.get("name", code)),
                    "templtContent": str(template["content"]),
                    "templateType": "BA",
                    "templateEmType": "NONE",
                    "templtTitle": "",
                    "templtSubtitle": "",
                    "inspStatus": status,
                    "status": str(template.get("status", "R")),
                    "senderKey": sender_key,
                    "buttons": buttons,
                    "cdate": str(template.get("cdate", "2026-01-01 09:00:00")),
                    "udate": str(template.get("udate", "")),
                    "comments": list(template.get("comments") or []),
                }
            )
        return {"code": 0, "message": KAKAO_QUERY_MESSAGE, "list": listed, "info": info}

    def _history_detail(self, form: Form, now: float) -> dict[str, Any]:
        mid = form.text("mid").strip()
        if not mid:
            raise AligoError(509, "mid is required")
        page, size = self._page(form, "limit", 50, 509)
        found = [d for d in self._by_request.get(mid, []) if d.channel != "sms"]
        chunk = found[(page - 1) * size : page * size]
        total_pages = max(1, -(-len(found) // size))
        return {
            "code": 0,
            "message": KAKAO_QUERY_MESSAGE,
            "list": [self._kakao_view(d, now) for d in chunk],
            "currentPage": page,
            "totalPage": total_pages,
            "totalCount": len(found),
        }

    def _kakao_view(self, delivery: _Delivery, now: float) -> dict[str, Any]:
        phase = self._phase(delivery, now)
        final = phase == "final"
        status = {
            "test": "테스트",
            "scheduled": "예약대기",
            "waiting": "대기",
            "sending": "전송중",
            "final": "완료",
        }[phase]
        rslt, rslt_message = "", ""
        if final:
            rslt, rslt_message = delivery.failure or ("0", "성공")
        sub = delivery.substitute
        sent = phase in ("sending", "final")
        return {
            "msgid": delivery.detail_id,
            "type": delivery.msg_type,
            "sender": delivery.sender,
            "phone": delivery.receiver,
            "status": status,
            "reqdate": kst(delivery.registered),
            "sentdate": kst(delivery.t_processed) if sent else "",
            "rsltdate": kst(delivery.t_final) if final else "",
            "reportdate": kst(delivery.t_final) if final else "",
            "rslt": rslt,
            "rslt_message": rslt_message,
            "message": delivery.text,
            "button_json": delivery.extra.get("button_json", ""),
            "tpl_code": delivery.extra.get("tpl_code") or "",
            "senderKey": delivery.extra.get("sender_key", ""),
            "smid": sub.detail_id if sub is not None and final else "",
            "fsend_type": sub.msg_type if sub is not None and final else "",
            "fsend_state": (
                ("발송완료" if sub.failure is None else "수신실패")
                if sub is not None and final
                else ""
            ),
        }

    # ------------------------------------------------------------------ views

    def _entry(self, delivery: _Delivery) -> dict[str, Any]:
        id_key = "msg_id" if delivery.channel == "sms" else "mid"
        entry: dict[str, Any] = {
            "channel": delivery.channel,
            "id": delivery.request_id,
            id_key: delivery.request_id,
            "detail_id": delivery.detail_id,
            "endpoint": delivery.endpoint,
            "msg_type": delivery.msg_type,
            "receiver": delivery.receiver,
            "sender": delivery.sender,
            "text": delivery.text,
            "title": delivery.title,
            "testmode": delivery.testmode,
            "registered_at": delivery.registered,
            "scheduled_at": delivery.scheduled,
            "final_at": delivery.t_final,
            "outcome": delivery.outcome,
            "reason": delivery.failure[1] if delivery.failure else "",
            "images": [dict(i) for i in delivery.images],
        }
        entry.update(
            {k: (dict(v) if isinstance(v, dict) else v) for k, v in delivery.extra.items()}
        )
        return entry


def _check_fault_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")


# --------------------------------------------------------------------------- HTTP layer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], fake: FakeAligo) -> None:
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
        """Malformed HTTP (bad request line, unsupported method…): JSON, not the stock HTML."""
        self.close_connection = True
        payload = http_error_body(code, message or explain or str(code))
        self._send(code, _json_bytes(payload), JSON_TYPE)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_GET
    do_DELETE = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_OPTIONS = do_GET

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

    def _handle(self) -> None:
        fake = self.server.fake
        try:
            raw = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {key.lower(): value for key, value in self.headers.items()}
        form: Form | None = None
        body_error: HttpError | None = None
        try:
            form = parse_form(headers.get("content-type"), raw)
        except HttpError as error:
            body_error = error
        record = fake._begin(self.command, split.path, query, headers, form)
        if fake.latency > 0:
            fake._stop_event.wait(fake.latency)
        fault = record["fault"]

        if fault is not None and fault not in FAULT_KINDS:
            payload = {
                "status": 500,
                "error": "FakeMisconfigured",
                "message": f"bad fault {fault!r}",
            }
            fake._finish(record, 500, payload)
            self._send(500, _json_bytes(payload), JSON_TYPE)
            return
        if fault in ("500", "503", "429"):
            status = int(fault)
            payload = http_error_body(status, f"injected fault {fault}")
            extra = {} if fault == "500" else {"Retry-After": "1"}
            fake._finish(record, status, payload)
            self._send(status, _json_bytes(payload), JSON_TYPE, extra)
            return
        if fault == "html":
            fake._finish(record, 502, HTML_502.decode())
            self._send(502, HTML_502, "text/html; charset=utf-8")
            return
        if fault == "hang":
            self._hang()
            return
        if fault == "reset":
            self._reset()
            return

        status, payload, extra_headers = fake._process(self.command, record, form, body_error)
        if fault == "hang_after_accept":
            fake._finish(record, None, payload)
            self._hang()
            return
        if fault == "reset_after_accept":
            fake._finish(record, None, payload)
            self._reset()
            return
        fake._finish(record, status, payload)
        self._send(status, _json_bytes(payload), JSON_TYPE, extra_headers)

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
        prog="python -m tests.fakes.aligo",
        description="Run the fake Aligo server (SMS and Kakao hosts under two prefixes).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULT_RANDOM_FAULTS),
        help="comma list drawn from: " + ", ".join(FAULT_KINDS),
    )
    parser.add_argument("--all-paths", action="store_true", help="faults on every path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--point", default=str(DEFAULT_POINT))
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    fake = FakeAligo(
        host=args.host,
        port=args.port,
        latency=args.latency_ms / 1000.0,
        fault_rate=args.fault_rate,
        fault_kinds=[k for k in args.fault_kinds.split(",") if k],
        fault_paths=None if args.all_paths else SEND_PATHS,
        seed=args.seed,
        point=args.point,
        hang_seconds=args.hang_seconds,
    )
    fake.start()
    print(fake.sms_base_url, flush=True)
    print(fake.kakao_base_url, flush=True)
    print(
        f"key {fake.key} / user_id {fake.user_id} / senderkey {DEFAULT_SENDER_KEY}; Ctrl-C to stop",
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
