"""A fake SOLAPI REST server (api.solapi.com) for tests and benchmarks.

Built only from the vendor facts in REFERENCE-PROVIDERS.md §3 and §10, with the standard
library only. It speaks plain HTTP/1.1 on 127.0.0.1 and never contacts anything else.

Behaviour the reference does not pin down, chosen here (keep in sync with the report):

Authentication
- The header is ``<method> k=v, k=v, …``; parameter names are case-insensitive, values are
  taken verbatim. Only ``HMAC-SHA256`` is accepted. Missing header, another method (HMAC-MD5
  included), a missing/duplicated parameter, or a salt outside 12–64 characters give 403
  ``InvalidAuthorizationHeader``. Then, in order: unknown key → ``InvalidAPIKey``; a date that
  does not parse as ISO 8601 *with an offset* (naive dates count as unparseable) or lies more
  than 15 minutes from the fake clock → ``RequestTimeTooSkewed``; signature ≠ lowercase hex
  HMAC-SHA256(secret, date + salt), compared exactly → ``SignatureDoesNotMatch``; the same
  signature already accepted within 15 minutes → ``DuplicatedSignature``.
- A signature is remembered only once authentication passed. Faults that answer *without*
  processing (500/503/429/hang/reset/html) happen before authentication and do not consume it;
  the ``*_after_accept`` faults do, so a retry must be signed again.
- Routing happens before authentication: an unknown path (or a known path with another
  method) is 404 ``NotFound`` even without credentials.

Registration (send-many/detail and send)
- Checks per message, first failure wins: 1010 (to missing; type missing unless
  ``autoTypeDetect`` is true; text missing for SMS/LMS/MMS/CTA/CTI; from missing for
  SMS/LMS/MMS; kakaoOptions missing for ATA/CTA/CTI) → 1025 (type other than SMS, LMS, MMS,
  ATA, CTA, CTI — the real NSA/VOICE/FAX/RCS types are not faked) → 1011 (to/from/country
  format, non-string text/subject) → 1032 (customFields not an object of strings) → 1013/1014
  (subject) → 1031 (length) → 1033 (kakaoOptions on SMS/LMS/MMS) → 1034/1023 (image) →
  1041/1042/1043 (Kakao) → 1062 (sender) → 1060 (blocked) → 1026 (duplicate) → 1030 (balance).
- Phone numbers: '-' is removed, then only digits are allowed. ``to`` must be 9–11 digits
  starting with 0 when country is "82" (5–15 digits otherwise); ``from`` must be 8–11 digits.
  Stored/echoed numbers are the normalised ones. ``country`` defaults to "82".
- Byte counts use CP949; a character outside CP949 (e.g. an emoji) counts 2 bytes. Limits:
  SMS 90 bytes, LMS/MMS 2000 bytes, ATA failover text 2000 bytes, CTA 1000 characters, CTI 400
  characters, subject 40 bytes. SMS is never auto-upgraded.
- ATA ``text`` is optional (it is the failover text); ``subject`` is allowed on ATA (failover
  title). Variables: an object whose keys are ``#{name}`` and values strings, covering every
  ``#{…}`` of the registered template; extra keys are ignored. Buttons are not validated.
- Image: MMS needs top-level ``imageId`` of an uploaded file of type MMS; CTI needs
  ``imageId`` or ``kakaoOptions.imageId`` of a KAKAO file. A wrong-type file counts as 1023.
- With ``autoTypeDetect: true`` and no type: kakaoOptions+templateId → ATA, kakaoOptions →
  CTI/CTA (with/without image), imageId → MMS, subject or text > 90 bytes → LMS, else SMS.
- Price is taken from ``balance`` only (``point`` is informational); rejected messages cost
  nothing. Cancelling a scheduled group refunds its price.
- Rejected messages are stored too (status "FAILED", their 1xxx statusCode, never progress)
  and appear in the list API, but not in ``accepted_messages()``.
- Top-level problems reject the whole request with 400 ``ValidationError``: body not a JSON
  object, ``messages`` not a non-empty list of objects (max 10,000), ``scheduledDate`` that is
  unparseable, naive or not in the future.
- ``POST /messages/v4/send`` rejects with HTTP 400 ``{"errorCode": "FailedToAddMessage",
  "errorMessage", "statusCode": "<1xxx>", "statusMessage", "messageId", "groupId", "to",
  "from", "type", "country"}``; ``scheduledDate`` inside the message is ignored (as on the real
  v5 path).

Progress (computed at read time from the clock, timeline fixed at registration)
- ``progress_after = (a, b)`` are both offsets from the start (registration, or the scheduled
  time): 2000/"PENDING" → 3000/"SENDING" at start+a (dateProcessed) → final/"COMPLETE" at
  start+max(a, b) (dateReported; dateReceived only for 4000).
- Final code: ``final_codes[to]`` if present, else for ATA/CTA/CTI to a ``kakao_non_users``
  recipient 3104 — unless ``kakaoOptions.disableSms`` is false *or absent* (SOLAPI's default)
  and ``text`` is non-empty: then 4000 with ``replacement: true`` and type SMS (LMS when the
  text is over 90 bytes or a subject is set). Outcomes are fixed at registration.
- A cancelled scheduled message has status "CANCELED" and statusCode "CANCELED".
- Group status: "FAILED" (nothing accepted), "CANCELED", "SCHEDULED", "COMPLETE" (every accepted
  message final), else "SENDING".

List API
- Newest first (reverse registration order). ``startKey`` is the messageId the page starts at
  (inclusive; unknown → empty page); ``nextKey`` is the first id of the next page or null.
- Unknown query parameters, a repeated single-valued parameter, bad limit (not an integer or
  < 1), bad dateType, bad/naive dates, or criteria/cond/value of unequal length, with a cond
  other than "eq" or an unsupported criterion → 400 ``ValidationError``. Dates are inclusive.

Other endpoints
- Files: sizes are KiB/MiB (MMS 200 KiB, KAKAO 500 KiB, RCS 1 MiB, FAX/DOCUMENT 2 MiB);
  over → 400 ``FileSizeTooLarge``; MMS not JPEG or KAKAO not JPEG/PNG → 400
  ``InvalidFileType``; bad base64/unknown type → 400 ``ValidationError``.
- Cancelling a group that is not (or no longer) scheduled → 400 ``InvalidGroupStatus``.
- Faults (``script`` entries and random faults) only apply to requests whose path is in
  ``fault_paths`` (default: the two send endpoints; None = every path). Random faults draw
  ``rng.random() < fault_rate`` then ``rng.choice(fault_kinds)``. "hang" closes the connection
  without an answer after ``hang_seconds`` (or at ``stop()``); an unknown script entry answers
  500 ``FakeMisconfigured``. Malformed HTTP / unsupported methods answer JSON too.
- Ids: ``M4V``/``G4V`` + yyyymmddHHMMSS (KST, from the fake clock) + 18 of [A-Z0-9];
  fileIds ``ST01FZ`` + yymmddHHMMSS + 14 of [A-Z0-9]. A failure's statusMessage is the Korean
  text followed by an English detail in parentheses.
- Query strings are decoded like any form: a literal '+' in a date becomes a space (and then
  fails to parse), so clients must percent-encode it.
- Extras beyond the brief: ``GET /messages/v4/groups/{id}/messages`` (list API restricted to
  the group), request-log keys ``response`` and ``events`` (headers are lower-cased),
  ``events`` list (``native_failover`` entries), ``all_messages()``, ``group()``,
  ``add_file()``, ``authenticate()``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import hashlib
import hmac
import json
import random
import re
import socket
import socketserver
import string
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_API_KEY = "TESTKEY0000000000"
DEFAULT_API_SECRET = "TESTSECRET00000000000000000000000"
DEFAULT_CREDENTIALS: Mapping[str, str] = {DEFAULT_API_KEY: DEFAULT_API_SECRET}
DEFAULT_SENDERS = frozenset({"0212345678", "01000000000"})
DEFAULT_PF_ID = "KA01PF0000000000000000000000"
DEFAULT_TEMPLATES: Mapping[str, str] = {
    "TPL_WELCOME": "#{name}님 가입을 환영합니다. 인증번호는 #{code}입니다.",
}
DEFAULT_ACCOUNT_ID = "24010100000001"
PRICES: Mapping[str, int] = {"SMS": 18, "LMS": 45, "MMS": 110, "ATA": 13, "CTA": 20, "CTI": 30}
KAKAO_TYPES = frozenset({"ATA", "CTA", "CTI"})
SEND_PATHS = ("/messages/v4/send", "/messages/v4/send-many/detail")
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
FILE_LIMITS: Mapping[str, int] = {
    "MMS": 200 * 1024,
    "KAKAO": 500 * 1024,
    "RCS": 1024 * 1024,
    "FAX": 2 * 1024 * 1024,
    "DOCUMENT": 2 * 1024 * 1024,
}
SKEW_SECONDS = 15 * 60
MAX_MESSAGES = 10_000
MAX_LIST_LIMIT = 500
JSON_TYPE = "application/json; charset=utf-8"
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
KST = timezone(timedelta(hours=9))

STATUS_MESSAGES: Mapping[str, str] = {
    "2000": "정상 접수(이통사로 접수 예정)",
    "3000": "이통사로 접수 완료(리포트 대기중)",
    "4000": "수신완료",
    "1010": "필수 입력값이 누락되었습니다",
    "1011": "입력값의 형식이 올바르지 않습니다",
    "1013": "SMS는 제목을 입력할 수 없습니다",
    "1014": "제목은 40바이트를 넘을 수 없습니다",
    "1023": "이미지를 찾을 수 없습니다",
    "1025": "메시지 타입이 올바르지 않습니다",
    "1026": "중복된 수신번호입니다",
    "1030": "잔액이 부족합니다",
    "1031": "메시지 길이 제한을 초과했습니다",
    "1032": "customFields 형식이 올바르지 않습니다",
    "1033": "kakaoOptions는 알림톡/친구톡에만 사용할 수 있습니다",
    "1034": "이미지(imageId)가 누락되었습니다",
    "1041": "유효하지 않은 카카오 채널(pfId)입니다",
    "1042": "유효하지 않은 템플릿 ID입니다",
    "1043": "템플릿 내용과 일치하지 않습니다",
    "1060": "수신 차단된 번호입니다",
    "1062": "등록되지 않은 발신번호입니다",
    "3010": "수신번호 형식 오류",
    "3040": "전송 시간 초과",
    "3041": "단말기 busy",
    "3042": "음영 지역",
    "3043": "단말기 전원 꺼짐",
    "3044": "단말기 메시지 저장 공간 부족",
    "3045": "일시 정지 단말기",
    "3047": "수신 거부",
    "3104": "카카오톡 미사용자",
    "3107": "72시간 이내 카카오톡 미사용자 또는 알림톡 차단",
    "CANCELED": "예약 발송 취소",
}

_PLACEHOLDER = re.compile(r"#\{([^{}]+)\}")
_VARIABLE_KEY = re.compile(r"#\{[^{}]+\}")
_ID_ALPHABET = string.ascii_uppercase + string.digits
_LIST_PARAMS = frozenset(
    {
        "messageId",
        "messageIds",
        "groupId",
        "to",
        "from",
        "type",
        "statusCode",
        "startDate",
        "endDate",
        "dateType",
        "criteria",
        "cond",
        "value",
        "limit",
        "startKey",
    }
)
_CRITERIA = frozenset({"messageId", "groupId", "to", "from", "type", "statusCode"})


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


def compute_signature(secret: str, date: str, salt: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``date + salt`` keyed with the API secret (§3.2)."""
    return hmac.new(
        secret.encode("utf-8"), (date + salt).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def check_signature(secret: str, date: str, salt: str, signature: str) -> bool:
    """True when ``signature`` is exactly the expected lowercase hex digest."""
    expected = compute_signature(secret, date, salt).encode("utf-8")
    return hmac.compare_digest(expected, signature.encode("utf-8"))


def parse_authorization(header: str) -> tuple[str, dict[str, str]]:
    """Split ``HMAC-SHA256 apiKey=…, date=…`` into the method and lower-cased parameters.

    Raises ValueError on a garbled header.
    """
    method, _, rest = header.strip().partition(" ")
    if not method or not rest.strip():
        raise ValueError("expected '<method> apiKey=…, date=…, salt=…, signature=…'")
    params: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise ValueError(f"malformed parameter {part!r}")
        if key in params:
            raise ValueError(f"duplicated parameter {key!r}")
        params[key] = value.strip()
    return method, params


def parse_iso(value: object) -> float | None:
    """Epoch seconds of an ISO 8601 string with an offset; None if unparseable or naive."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed.timestamp()


def iso(ts: float | None) -> str | None:
    """UTC ISO 8601 with milliseconds and 'Z', as SOLAPI writes dates."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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
    return value.replace("-", "")


class ApiError(Exception):
    """An error answer: HTTP status + ``{errorCode, errorMessage, **extra}``."""

    def __init__(
        self, status: int, code: str, message: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})

    def payload(self) -> dict[str, Any]:
        return {"errorCode": self.code, "errorMessage": self.message, **self.extra}


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "ValidationError", message)


class _Reject(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


# --------------------------------------------------------------------------- state


@dataclass
class _Stored:
    base: dict[str, Any]
    accepted: bool
    created: float
    start: float
    t_processed: float
    t_final: float
    final_code: str
    failover_type: str | None
    price: int
    group_id: str
    canceled_at: float | None = None


@dataclass
class _Group:
    group_id: str
    created: float
    scheduled: float | None
    allow_duplicates: bool
    app_id: str | None
    message_ids: list[str] = field(default_factory=list)
    canceled_at: float | None = None
    refunded: float = 0.0


# --------------------------------------------------------------------------- the fake


class FakeSolapi:
    """The fake server. Attributes set by the constructor may be changed at runtime."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        senders: Iterable[str] | None = None,
        pf_ids: Iterable[str] | None = None,
        templates: Mapping[str, str] | None = None,
        balance: float = 100000.0,
        point: float = 0.0,
        blocked: Iterable[str] | None = None,
        final_codes: Mapping[str, str] | None = None,
        kakao_non_users: Iterable[str] | None = None,
        progress_after: tuple[float, float] = (2.0, 5.0),
        latency: float = 0.0,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] | None = None,
        script: Iterable[str] | None = None,
        fault_paths: Iterable[str] | None = SEND_PATHS,
        hang_seconds: float = 30.0,
        seed: int = 0,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        self.host = host
        self.port = port
        self.credentials: dict[str, str] = dict(
            DEFAULT_CREDENTIALS if credentials is None else credentials
        )
        self.clock: Callable[[], float] = time.time if clock is None else clock
        self.senders: set[str] = set(DEFAULT_SENDERS if senders is None else senders)
        self.pf_ids: set[str] = set({DEFAULT_PF_ID} if pf_ids is None else pf_ids)
        self.templates: dict[str, str] = dict(DEFAULT_TEMPLATES if templates is None else templates)
        self.balance = float(balance)
        self.point = float(point)
        self.blocked: set[str] = set(blocked or ())
        self.final_codes: dict[str, str] = dict(final_codes or {})
        self.kakao_non_users: set[str] = set(kakao_non_users or ())
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
        self.account_id = account_id
        for kind in [*self.fault_kinds, *self.script]:
            _check_fault_kind(kind)

        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._id_rng = random.Random()
        self._messages: dict[str, _Stored] = {}
        self._sequence: dict[str, int] = {}  # registration order, for id lookups without scans
        self._groups: dict[str, _Group] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._seen_signatures: dict[str, float] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSolapi:
        if self._server is not None:
            raise RuntimeError("FakeSolapi is already running")
        self._stop_event.clear()
        server = _Server((self.host, self.port), self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"FakeSolapi:{server.server_address[1]}",
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

    def __enter__(self) -> FakeSolapi:
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
            raise RuntimeError("FakeSolapi is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.bound_port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    # ------------------------------------------------------------------ inspection helpers

    def accepted_messages(self) -> list[dict[str, Any]]:
        """Every accepted (registered) message, in registration order, as the list API shows it."""
        with self._lock:
            now = self.clock()
            return [self._view(s, now) for s in self._messages.values() if s.accepted]

    def all_messages(self) -> list[dict[str, Any]]:
        """Accepted and rejected messages, in registration order."""
        with self._lock:
            now = self.clock()
            return [self._view(s, now) for s in self._messages.values()]

    def group(self, group_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._groups.get(group_id)
            return None if found is None else self._group_view(found, self.clock())

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.events.clear()

    def add_file(self, data: bytes = b"\xff\xd8\xff\xd9", file_type: str = "MMS") -> str:
        """Register a stored file without HTTP; returns its fileId."""
        with self._lock:
            return str(self._store_file(data, file_type, None, None)["fileId"])

    def authenticate(self, header: str | None) -> str:
        """Verify an Authorization header as the server does; returns the API key.

        Raises ApiError (403) on failure. A successful call remembers the signature.
        """
        with self._lock:
            return self._authenticate(header, self.clock())

    # ------------------------------------------------------------------ request plumbing

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _begin(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> dict[str, Any]:
        with self._lock:
            fault = self._next_fault(path)
            record: dict[str, Any] = {
                "method": method,
                "path": path,
                "query": query,
                "headers": headers,
                "body": body,
                "status": None,
                "fault": fault,
                "time": self.clock(),
                "response": None,
                "events": [],
            }
            self.requests.append(record)
            return record

    def _next_fault(self, path: str) -> str | None:
        if self.fault_paths is not None and path not in self.fault_paths:
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
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
        body_error: str | None,
        record: dict[str, Any],
    ) -> tuple[int, Any]:
        with self._lock:
            try:
                return 200, self._dispatch(method, path, query, headers, body, body_error, record)
            except ApiError as error:
                return error.status, error.payload()
            except Exception as error:  # a bug in the fake: answer like a real 500
                traceback.print_exc()
                return 500, {"errorCode": "InternalError", "errorMessage": repr(error)}

    # ------------------------------------------------------------------ routing

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
        body_error: str | None,
        record: dict[str, Any],
    ) -> Any:
        group_match = re.fullmatch(r"/messages/v4/groups/([^/]+)(/messages|/schedule)?", path)
        route: str | None = None
        if method == "POST" and path == "/messages/v4/send-many/detail":
            route = "send-many"
        elif method == "POST" and path == "/messages/v4/send":
            route = "send"
        elif method == "GET" and path in ("/messages/v4/list", "/messages/v4/list-old"):
            route = "list"
        elif method == "POST" and path == "/storage/v1/files":
            route = "files"
        elif method == "GET" and path == "/cash/v1/balance":
            route = "balance"
        elif group_match is not None:
            suffix = group_match.group(2)
            if method == "GET" and suffix is None:
                route = "group"
            elif method == "GET" and suffix == "/messages":
                route = "group-messages"
            elif method == "DELETE" and suffix == "/schedule":
                route = "cancel"
        if route is None:
            raise ApiError(404, "NotFound", f"{method} {path} does not exist")

        now = self.clock()
        self._authenticate(headers.get("authorization"), now)
        if method == "POST" and body_error is not None:
            raise _bad_request(body_error)

        if route == "send-many":
            return self._send_many(body, now, record)
        if route == "send":
            return self._send_one(body, now, record)
        if route == "list":
            return self._list(query, now)
        if route == "files":
            return self._upload(body)
        if route == "balance":
            return self._balance_view()
        assert group_match is not None
        group = self._groups.get(group_match.group(1))
        if group is None:
            raise ApiError(404, "NotFound", f"group {group_match.group(1)} does not exist")
        if route == "group":
            return self._group_view(group, now)
        if route == "group-messages":
            return self._list(query, now, group_id=group.group_id)
        return self._cancel(group, now)

    # ------------------------------------------------------------------ authentication

    def _authenticate(self, header: str | None, now: float) -> str:
        def fail(code: str, message: str) -> ApiError:
            return ApiError(403, code, message)

        if not header:
            raise fail("InvalidAuthorizationHeader", "Authorization header is missing")
        try:
            method, params = parse_authorization(header)
        except ValueError as error:
            raise fail("InvalidAuthorizationHeader", str(error)) from None
        if method != "HMAC-SHA256":
            raise fail("InvalidAuthorizationHeader", f"unsupported method {method!r}")
        missing = [k for k in ("apikey", "date", "salt", "signature") if not params.get(k)]
        if missing:
            raise fail("InvalidAuthorizationHeader", f"missing {', '.join(missing)}")
        salt = params["salt"]
        if not 12 <= len(salt) <= 64:
            raise fail("InvalidAuthorizationHeader", "salt must be 12 to 64 characters")
        api_key, date, signature = params["apikey"], params["date"], params["signature"]
        secret = self.credentials.get(api_key)
        if secret is None:
            raise fail("InvalidAPIKey", "Invalid API Key")
        signed_at = parse_iso(date)
        if signed_at is None or abs(signed_at - now) > SKEW_SECONDS:
            raise fail("RequestTimeTooSkewed", "Request date is more than 15 minutes off")
        if not check_signature(secret, date, salt, signature):
            raise fail("SignatureDoesNotMatch", "Signature does not match")
        for seen, seen_at in list(self._seen_signatures.items()):
            if now - seen_at > SKEW_SECONDS:
                del self._seen_signatures[seen]
        if signature in self._seen_signatures:
            raise fail("DuplicatedSignature", "Signature was used within the last 15 minutes")
        self._seen_signatures[signature] = now
        return api_key

    # ------------------------------------------------------------------ ids

    def _new_id(self, prefix: str, now: float, width: int = 18) -> str:
        stamp = datetime.fromtimestamp(now, KST).strftime("%Y%m%d%H%M%S")
        tail = "".join(self._id_rng.choice(_ID_ALPHABET) for _ in range(width))
        return f"{prefix}{stamp}{tail}"

    # ------------------------------------------------------------------ sending

    def _parse_schedule(self, value: Any, now: float) -> float | None:
        if value is None or value == "":
            return None
        at = parse_iso(value)
        if at is None:
            raise _bad_request("scheduledDate must be an ISO 8601 date with a timezone offset")
        if at <= now:
            raise _bad_request("scheduledDate must be in the future")
        return at

    def _send_many(self, body: Any, now: float, record: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_request("body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _bad_request("messages must be a non-empty array")
        if len(messages) > MAX_MESSAGES:
            raise _bad_request(f"at most {MAX_MESSAGES} messages per request")
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                raise _bad_request(f"messages[{index}] must be an object")
        scheduled = self._parse_schedule(body.get("scheduledDate"), now)
        agent = body.get("agent")
        agent = agent if isinstance(agent, dict) else {}
        app_id = agent.get("appId") or body.get("appId")
        group, stored = self._register(
            messages,
            now,
            scheduled=scheduled,
            allow_duplicates=body.get("allowDuplicates") is True,
            app_id=str(app_id) if app_id else None,
            record=record,
        )
        response: dict[str, Any] = {
            "failedMessageList": [self._failed_item(s) for s in stored if not s.accepted],
            "groupInfo": self._group_view(group, now),
        }
        if body.get("showMessageList") is True:
            response["messageList"] = [self._accepted_item(s) for s in stored if s.accepted]
        return response

    def _send_one(self, body: Any, now: float, record: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
            raise _bad_request("body must be an object with a 'message' object")
        agent = body.get("agent")
        agent = agent if isinstance(agent, dict) else {}
        app_id = agent.get("appId")
        group, (stored,) = self._register(
            [body["message"]],
            now,
            scheduled=None,
            allow_duplicates=False,
            app_id=str(app_id) if app_id else None,
            record=record,
        )
        base = stored.base
        answer = {
            "groupId": group.group_id,
            "messageId": base["messageId"],
            "accountId": self.account_id,
            "statusMessage": base["statusMessage"],
            "statusCode": base["statusCode"],
            "to": base["to"],
            "from": base["from"],
            "type": base["type"],
            "country": base["country"],
        }
        if not stored.accepted:
            raise ApiError(400, "FailedToAddMessage", base["statusMessage"], answer)
        return answer

    def _register(
        self,
        messages: list[dict[str, Any]],
        now: float,
        *,
        scheduled: float | None,
        allow_duplicates: bool,
        app_id: str | None,
        record: dict[str, Any],
    ) -> tuple[_Group, list[_Stored]]:
        group = _Group(
            group_id=self._new_id("G4V", now),
            created=now,
            scheduled=scheduled,
            allow_duplicates=allow_duplicates,
            app_id=app_id,
        )
        self._groups[group.group_id] = group
        start = now if scheduled is None else scheduled
        first_step, second_step = self.progress_after
        seen_to: set[str] = set()
        final_codes = {normalize_number(k): v for k, v in self.final_codes.items()}
        non_users = {normalize_number(n) for n in self.kakao_non_users}
        stored_list: list[_Stored] = []
        for raw in messages:
            message_id = self._new_id("M4V", now)
            fields = _initial_fields(raw)
            code: str | None = None
            detail = ""
            try:
                fields = self._validate(raw)
                if fields["to"] in seen_to and not allow_duplicates:
                    raise _Reject("1026", f"duplicate recipient {fields['to']}")
                price = PRICES[fields["type"]]
                if self.balance < price:
                    raise _Reject("1030", f"balance {self.balance:g} < price {price}")
            except _Reject as rejection:
                code, detail = rejection.code, rejection.detail
            accepted = code is None
            base = self._base_record(fields, message_id, group.group_id, now, raw)
            if accepted:
                price = PRICES[fields["type"]]
                self.balance -= price
                seen_to.add(fields["to"])
                final_code, failover = self._outcome(fields, final_codes, non_users)
                base.update(status="PENDING", statusCode="2000")
            else:
                price = 0
                final_code, failover = str(code), None
                message = STATUS_MESSAGES.get(str(code), "registration failed")
                base.update(
                    status="FAILED",
                    statusCode=code,
                    reason=f"{message} ({detail})" if detail else message,
                )
            base["statusMessage"] = STATUS_MESSAGES["2000"] if accepted else str(base["reason"])
            stored = _Stored(
                base=base,
                accepted=accepted,
                created=now,
                start=start,
                t_processed=start + first_step,
                t_final=start + max(first_step, second_step),
                final_code=final_code,
                failover_type=failover,
                price=price,
                group_id=group.group_id,
            )
            self._messages[message_id] = stored
            self._sequence[message_id] = len(self._sequence)
            group.message_ids.append(message_id)
            stored_list.append(stored)
            if failover is not None:
                event = {
                    "kind": "native_failover",
                    "messageId": message_id,
                    "groupId": group.group_id,
                    "to": fields["to"],
                    "fromType": fields["type"],
                    "toType": failover,
                    "at": iso(stored.t_final),
                }
                self.events.append(event)
                record["events"].append(event)
        return group, stored_list

    def _outcome(
        self, fields: dict[str, Any], final_codes: dict[str, str], non_users: set[str]
    ) -> tuple[str, str | None]:
        to = fields["to"]
        if to in final_codes:
            return str(final_codes[to]), None
        if fields["type"] in KAKAO_TYPES and to in non_users:
            options = fields["kakaoOptions"] or {}
            text = fields["text"]
            if options.get("disableSms") in (False, None) and isinstance(text, str) and text:
                long_text = cp949_len(text) > 90 or bool(fields["subject"])
                return "4000", "LMS" if long_text else "SMS"
            return "3104", None
        return "4000", None

    def _validate(self, raw: dict[str, Any]) -> dict[str, Any]:
        fields = _initial_fields(raw)
        to, sender, text = raw.get("to"), raw.get("from"), raw.get("text")
        subject, options = raw.get("subject"), raw.get("kakaoOptions")
        image_id = raw.get("imageId")
        if to is None or to == "":
            raise _Reject("1010", "to is required")
        message_type = raw.get("type")
        if message_type is None or message_type == "":
            if raw.get("autoTypeDetect") is not True:
                raise _Reject("1010", "type is required")
            message_type = _detect_type(raw)
        if not isinstance(message_type, str) or message_type not in PRICES:
            raise _Reject("1025", f"unsupported type {message_type!r}")
        fields["type"] = message_type
        kakao = message_type in KAKAO_TYPES
        if message_type != "ATA" and (text is None or text == ""):
            raise _Reject("1010", "text is required")
        if message_type in ("SMS", "LMS", "MMS") and (sender is None or sender == ""):
            raise _Reject("1010", "from is required")
        if kakao and not isinstance(options, dict):
            raise _Reject("1010", "kakaoOptions is required")

        country = str(raw.get("country") or "82")
        if not country.isdigit() or not 1 <= len(country) <= 4:
            raise _Reject("1011", f"bad country {country!r}")
        fields["country"] = country
        if not isinstance(to, str):
            raise _Reject("1011", "to must be a string")
        to_digits = normalize_number(to)
        to_ok = to_digits.isascii() and to_digits.isdigit()
        if country == "82":
            to_ok = to_ok and 9 <= len(to_digits) <= 11 and to_digits.startswith("0")
        else:
            to_ok = to_ok and 5 <= len(to_digits) <= 15
        if not to_ok:
            raise _Reject("1011", f"bad recipient number {to!r}")
        fields["to"] = to_digits
        if sender is not None and sender != "":
            if not isinstance(sender, str):
                raise _Reject("1011", "from must be a string")
            from_digits = normalize_number(sender)
            if not (
                from_digits.isascii() and from_digits.isdigit() and 8 <= len(from_digits) <= 11
            ):
                raise _Reject("1011", f"bad sender number {sender!r}")
            fields["from"] = from_digits
        else:
            fields["from"] = None
        if text is not None and not isinstance(text, str):
            raise _Reject("1011", "text must be a string")
        if subject is not None and not isinstance(subject, str):
            raise _Reject("1011", "subject must be a string")
        fields["text"] = text
        fields["subject"] = subject or None

        custom = raw.get("customFields")
        if custom is not None and not (
            isinstance(custom, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in custom.items())
        ):
            raise _Reject("1032", "customFields must be an object of strings")

        if subject:
            if message_type == "SMS":
                raise _Reject("1013", "subject is not allowed for SMS")
            if cp949_len(subject) > 40:
                raise _Reject("1014", f"subject is {cp949_len(subject)} bytes")
        if isinstance(text, str):
            self._check_length(message_type, text)

        if not kakao and options is not None:
            raise _Reject("1033", "kakaoOptions is only for ATA/CTA/CTI")
        if message_type == "MMS":
            self._check_image(image_id, "MMS")
        if message_type == "CTI":
            kakao_image = options.get("imageId") if isinstance(options, dict) else None
            self._check_image(image_id or kakao_image, "KAKAO")
        fields["imageId"] = image_id if isinstance(image_id, str) else None

        if kakao:
            assert isinstance(options, dict)
            if options.get("pfId") not in self.pf_ids:
                raise _Reject("1041", f"unknown pfId {options.get('pfId')!r}")
            if message_type == "ATA":
                self._check_template(options)
            fields["kakaoOptions"] = options

        if fields["from"] is not None and fields["from"] not in self.senders:
            raise _Reject("1062", f"sender {fields['from']} is not registered")
        if to_digits in {normalize_number(n) for n in self.blocked}:
            raise _Reject("1060", f"recipient {to_digits} is blocked")
        return fields

    def _check_length(self, message_type: str, text: str) -> None:
        if message_type == "SMS" and cp949_len(text) > 90:
            raise _Reject("1031", f"SMS text is {cp949_len(text)} bytes (max 90)")
        if message_type in ("LMS", "MMS", "ATA") and cp949_len(text) > 2000:
            raise _Reject("1031", f"{message_type} text is {cp949_len(text)} bytes (max 2000)")
        if message_type == "CTA" and len(text) > 1000:
            raise _Reject("1031", f"CTA text is {len(text)} characters (max 1000)")
        if message_type == "CTI" and len(text) > 400:
            raise _Reject("1031", f"CTI text is {len(text)} characters (max 400)")

    def _check_image(self, image_id: Any, file_type: str) -> None:
        if not image_id:
            raise _Reject("1034", "imageId is required")
        stored = self._files.get(image_id) if isinstance(image_id, str) else None
        if stored is None or stored["type"] != file_type:
            raise _Reject("1023", f"no {file_type} image {image_id!r}")

    def _check_template(self, options: dict[str, Any]) -> None:
        template_id = options.get("templateId")
        content = self.templates.get(template_id) if isinstance(template_id, str) else None
        if content is None:
            raise _Reject("1042", f"unknown templateId {template_id!r}")
        variables = options.get("variables")
        variables = {} if variables is None else variables
        if not isinstance(variables, dict):
            raise _Reject("1043", "variables must be an object")
        for key, value in variables.items():
            if not _VARIABLE_KEY.fullmatch(key) or not isinstance(value, str):
                raise _Reject("1043", f"variable {key!r} must be '#{{name}}' with a string value")
        missing = [
            f"#{{{n}}}" for n in _PLACEHOLDER.findall(content) if f"#{{{n}}}" not in variables
        ]
        if missing:
            raise _Reject("1043", f"variables missing: {', '.join(missing)}")

    def _base_record(
        self, fields: dict[str, Any], message_id: str, group_id: str, now: float, raw: Any
    ) -> dict[str, Any]:
        custom = raw.get("customFields") if isinstance(raw, dict) else None
        return {
            "messageId": message_id,
            "_id": message_id,
            "groupId": group_id,
            "type": fields["type"],
            "to": fields["to"],
            "from": fields["from"],
            "text": fields["text"],
            "subject": fields["subject"],
            "imageId": fields["imageId"],
            "country": fields["country"],
            "accountId": self.account_id,
            "status": "PENDING",
            "statusCode": "2000",
            "statusMessage": None,
            "reason": None,
            "networkName": None,
            "networkCode": None,
            "customFields": copy.deepcopy(custom) if isinstance(custom, dict) else {},
            "autoTypeDetect": raw.get("autoTypeDetect") is True if isinstance(raw, dict) else False,
            "replacement": False,
            "resendCount": 0,
            "dateCreated": iso(now),
            "dateUpdated": iso(now),
            "dateProcessed": None,
            "dateReceived": None,
            "dateReported": None,
            "kakaoOptions": copy.deepcopy(fields["kakaoOptions"]),
            "rcsOptions": None,
            "naverOptions": None,
            "faxOptions": None,
            "voiceOptions": None,
            "replacements": [],
            "log": [],
            "queues": [],
            "currentQueue": None,
            "clusterKey": None,
        }

    def _failed_item(self, stored: _Stored) -> dict[str, Any]:
        base = stored.base
        return {
            "to": base["to"],
            "from": base["from"],
            "type": base["type"],
            "statusMessage": base["statusMessage"],
            "country": base["country"],
            "messageId": base["messageId"],
            "statusCode": base["statusCode"],
            "accountId": self.account_id,
            "customFields": copy.deepcopy(base["customFields"]),
        }

    def _accepted_item(self, stored: _Stored) -> dict[str, Any]:
        base = stored.base
        return {
            "messageId": base["messageId"],
            "statusCode": "2000",
            "statusMessage": STATUS_MESSAGES["2000"],
            "to": base["to"],
            "from": base["from"],
            "type": base["type"],
            "country": base["country"],
            "customFields": copy.deepcopy(base["customFields"]),
        }

    # ------------------------------------------------------------------ views

    def _view(self, stored: _Stored, now: float) -> dict[str, Any]:
        view = copy.deepcopy(stored.base)
        if not stored.accepted:
            return view
        if stored.canceled_at is not None:
            view.update(
                status="CANCELED",
                statusCode="CANCELED",
                statusMessage=STATUS_MESSAGES["CANCELED"],
                reason=STATUS_MESSAGES["CANCELED"],
                dateUpdated=iso(stored.canceled_at),
            )
            return view
        if now < stored.t_processed:
            return view
        network = (None, None) if view["type"] in KAKAO_TYPES else ("SKT", "SKT")
        view.update(
            status="SENDING",
            statusCode="3000",
            statusMessage=STATUS_MESSAGES["3000"],
            dateProcessed=iso(stored.t_processed),
            dateUpdated=iso(stored.t_processed),
            networkName=network[0],
            networkCode=network[1],
        )
        if now < stored.t_final:
            return view
        code = stored.final_code
        message = STATUS_MESSAGES.get(code, f"전송 실패 ({code})")
        view.update(
            status="COMPLETE",
            statusCode=code,
            statusMessage=message,
            reason=None if code == "4000" else message,
            dateReported=iso(stored.t_final),
            dateReceived=iso(stored.t_final) if code == "4000" else None,
            dateUpdated=iso(stored.t_final),
        )
        if stored.failover_type is not None:
            view.update(type=stored.failover_type, replacement=True)
        return view

    def _group_view(self, group: _Group, now: float) -> dict[str, Any]:
        stored = [self._messages[m] for m in group.message_ids]
        accepted = [s for s in stored if s.accepted]
        views = [self._view(s, now) for s in accepted]
        final = [v for v in views if v["status"] == "COMPLETE"]
        success = sum(1 for v in final if v["statusCode"] == "4000")
        canceled = sum(1 for v in views if v["status"] == "CANCELED")
        count = {
            "total": len(stored),
            "sentTotal": len(final),
            "sentFailed": len(final) - success,
            "sentSuccess": success,
            "sentPending": len(views) - len(final) - canceled,
            "sentReplacement": sum(1 for v in final if v["replacement"]),
            "refund": canceled,
            "registeredFailed": len(stored) - len(accepted),
            "registeredSuccess": len(accepted),
        }
        for_charge: dict[str, dict[str, int]] = {t.lower(): {} for t in PRICES}
        for s in accepted:
            bucket = for_charge[s.base["type"].lower()]
            bucket[s.base["country"]] = bucket.get(s.base["country"], 0) + 1
        requested = float(sum(s.price for s in accepted))
        if not accepted:
            status = "FAILED"
        elif group.canceled_at is not None:
            status = "CANCELED"
        elif group.scheduled is not None and now < group.scheduled:
            status = "SCHEDULED"
        elif len(final) == len(views):
            status = "COMPLETE"
        else:
            status = "SENDING"
        processed = [s.t_processed for s in accepted if now >= s.t_processed]
        updates = [group.created, *(parse_iso(v["dateUpdated"]) or 0.0 for v in views)]
        if group.canceled_at is not None:
            updates.append(group.canceled_at)
        completed = max(s.t_final for s in accepted) if status == "COMPLETE" and accepted else None
        return {
            "count": count,
            "countForCharge": for_charge,
            "balance": {
                "requested": requested,
                "replacement": 0.0,
                "refund": group.refunded,
                "sum": requested - group.refunded,
            },
            "point": {"requested": 0.0, "replacement": 0.0, "refund": 0.0, "sum": 0.0},
            "app": {"profit": {}, "appId": group.app_id},
            "log": [],
            "status": status,
            "allowDuplicates": group.allow_duplicates,
            "isRefunded": group.refunded > 0,
            "accountId": self.account_id,
            "masterAccountId": None,
            "apiVersion": "4",
            "groupId": group.group_id,
            "price": {},
            "dateCreated": iso(group.created),
            "dateUpdated": iso(max(updates)),
            "scheduledDate": iso(group.scheduled),
            "dateSent": iso(min(processed)) if processed else None,
            "dateCompleted": iso(completed),
        }

    # ------------------------------------------------------------------ list

    def _list(
        self, query: dict[str, list[str]], now: float, group_id: str | None = None
    ) -> dict[str, Any]:
        unknown = sorted(set(query) - _LIST_PARAMS)
        if unknown:
            raise _bad_request(f"unknown query parameter(s): {', '.join(unknown)}")

        def single(name: str) -> str | None:
            values = [v for v in query.get(name, []) if v != ""]
            if len(values) > 1:
                raise _bad_request(f"{name} may be given only once")
            return values[0] if values else None

        conditions: list[tuple[str, set[str]]] = []
        ids = [v for v in query.get("messageId", []) + query.get("messageIds", []) if v]
        if ids:
            conditions.append(("messageId", set(ids)))
        for name in ("groupId", "to", "from", "type", "statusCode"):
            value = single(name)
            if value is not None:
                conditions.append((name, {value}))
        if group_id is not None:
            conditions.append(("groupId", {group_id}))
        criteria, cond, values = single("criteria"), single("cond"), single("value")
        if criteria is not None or cond is not None or values is not None:
            names = (criteria or "").split(",")
            conds = (cond or "").split(",")
            wanted = (values or "").split(",")
            if not (len(names) == len(conds) == len(wanted)):
                raise _bad_request("criteria, cond and value must have the same length")
            for name, op, value in zip(names, conds, wanted, strict=True):
                if name not in _CRITERIA:
                    raise _bad_request(f"unsupported criteria {name!r}")
                if op != "eq":
                    raise _bad_request(f"unsupported cond {op!r} (only 'eq')")
                conditions.append((name, {value}))
        date_type = (single("dateType") or "CREATED").upper()
        if date_type not in ("CREATED", "UPDATED"):
            raise _bad_request("dateType must be CREATED or UPDATED")
        bounds: list[float | None] = []
        for name in ("startDate", "endDate"):
            raw = single(name)
            parsed = None if raw is None else parse_iso(raw)
            if raw is not None and parsed is None:
                raise _bad_request(f"{name} must be an ISO 8601 date with a timezone offset")
            bounds.append(parsed)
        limit_raw = single("limit")
        try:
            limit = 20 if limit_raw is None else int(limit_raw)
        except ValueError:
            raise _bad_request("limit must be an integer") from None
        if limit < 1:
            raise _bad_request("limit must be at least 1")
        limit = min(limit, MAX_LIST_LIMIT)
        start_key = single("startKey")

        date_field = "dateCreated" if date_type == "CREATED" else "dateUpdated"
        matched: list[dict[str, Any]] = []
        if ids:  # look the ids up directly (newest first) instead of scanning every message
            known = sorted(
                (i for i in set(ids) if i in self._messages), key=self._sequence.__getitem__
            )
            candidates = [self._messages[i] for i in reversed(known)]
        else:
            candidates = list(reversed(self._messages.values()))
        for stored in candidates:
            view = self._view(stored, now)
            if not all(_matches(view, name, allowed) for name, allowed in conditions):
                continue
            moment = parse_iso(view[date_field])
            if bounds[0] is not None and (moment is None or moment < bounds[0]):
                continue
            if bounds[1] is not None and (moment is None or moment > bounds[1]):
                continue
            matched.append(view)
        position = 0
        if start_key is not None:
            keys = [v["messageId"] for v in matched]
            position = keys.index(start_key) if start_key in keys else len(matched)
        page = matched[position : position + limit]
        following = matched[position + limit : position + limit + 1]
        return {
            "startKey": start_key,
            "nextKey": following[0]["messageId"] if following else None,
            "limit": limit,
            "messageList": {v["messageId"]: v for v in page},
        }

    # ------------------------------------------------------------------ groups, files, cash

    def _cancel(self, group: _Group, now: float) -> dict[str, Any]:
        if group.scheduled is None or group.canceled_at is not None or now >= group.scheduled:
            raise ApiError(400, "InvalidGroupStatus", f"group {group.group_id} is not scheduled")
        group.canceled_at = now
        for message_id in group.message_ids:
            stored = self._messages[message_id]
            if stored.accepted:
                stored.canceled_at = now
                group.refunded += stored.price
                self.balance += stored.price
        return self._group_view(group, now)

    def _upload(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_request("body must be a JSON object")
        encoded, file_type = body.get("file"), body.get("type")
        if not isinstance(encoded, str) or not encoded:
            raise _bad_request("file must be a non-empty base64 string")
        if file_type not in FILE_LIMITS:
            raise _bad_request(f"type must be one of {', '.join(FILE_LIMITS)}")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _bad_request("file is not valid base64") from None
        name, link = body.get("name"), body.get("link")
        return self._store_file(
            data,
            str(file_type),
            name if isinstance(name, str) else None,
            link if isinstance(link, str) else None,
        )

    def _store_file(
        self, data: bytes, file_type: str, name: str | None, link: str | None
    ) -> dict[str, Any]:
        limit = FILE_LIMITS.get(file_type)
        if limit is None:
            raise _bad_request(f"unknown file type {file_type!r}")
        if len(data) > limit:
            raise ApiError(
                400, "FileSizeTooLarge", f"{file_type} files are limited to {limit} bytes"
            )
        is_jpeg = data[:2] == b"\xff\xd8"
        is_png = data[:8] == b"\x89PNG\r\n\x1a\n"
        if file_type == "MMS" and not is_jpeg:
            raise ApiError(400, "InvalidFileType", "MMS images must be JPEG")
        if file_type == "KAKAO" and not (is_jpeg or is_png):
            raise ApiError(400, "InvalidFileType", "KAKAO images must be JPEG or PNG")
        now = self.clock()
        stamp = datetime.fromtimestamp(now, KST).strftime("%y%m%d%H%M%S")
        tail = "".join(self._id_rng.choice(_ID_ALPHABET) for _ in range(14))
        file_id = f"ST01FZ{stamp}{tail}"
        port = self._server.server_address[1] if self._server is not None else 0
        info = {
            "fileId": file_id,
            "type": file_type,
            "accountId": self.account_id,
            "name": name or file_id,
            "originalName": name or file_id,
            "link": link,
            "url": f"http://{self.host}:{port}/storage/v1/files/{file_id}/download",
            "size": len(data),
            "kakao": {"daou": None, "biztalk": None},
            "dateCreated": iso(now),
            "dateUpdated": iso(now),
        }
        self._files[file_id] = info
        return dict(info)

    def _balance_view(self) -> dict[str, Any]:
        return {
            "balance": self.balance,
            "point": self.point,
            "deposit": 0,
            "lowBalanceAlert": {
                "enabled": False,
                "notificationBalance": 0,
                "currentBalance": self.balance,
                "balances": [],
                "channels": [],
            },
            "minimumCash": 0,
            "rechargeTo": 0,
            "rechargeTryCount": 0,
            "autoRecharge": 0,
            "accountId": self.account_id,
        }


def _check_fault_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")


def _initial_fields(raw: Any) -> dict[str, Any]:
    """Best-effort echo of a (possibly invalid) message for failedMessageList."""
    get = raw.get if isinstance(raw, dict) else (lambda _key: None)
    to, sender = get("to"), get("from")
    return {
        "type": get("type") if isinstance(get("type"), str) else None,
        "to": normalize_number(to) if isinstance(to, str) else to,
        "from": normalize_number(sender) if isinstance(sender, str) else sender,
        "text": get("text"),
        "subject": get("subject"),
        "imageId": get("imageId"),
        "country": str(get("country") or "82"),
        "kakaoOptions": get("kakaoOptions") if isinstance(get("kakaoOptions"), dict) else None,
    }


def _detect_type(raw: dict[str, Any]) -> str:
    options = raw.get("kakaoOptions")
    if isinstance(options, dict):
        if options.get("templateId"):
            return "ATA"
        return "CTI" if raw.get("imageId") or options.get("imageId") else "CTA"
    if raw.get("imageId"):
        return "MMS"
    text = raw.get("text")
    if raw.get("subject") or (isinstance(text, str) and cp949_len(text) > 90):
        return "LMS"
    return "SMS"


def _matches(view: Mapping[str, Any], name: str, allowed: set[str]) -> bool:
    if name in ("to", "from"):
        allowed = {normalize_number(v) for v in allowed}
    return str(view.get(name)) in allowed


# --------------------------------------------------------------------------- HTTP layer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], fake: FakeSolapi) -> None:
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
        payload = {
            "errorCode": "BadRequest" if code < 500 else "NotImplemented",
            "errorMessage": message or explain or str(code),
        }
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
        body: Any = None
        body_error: str | None = None
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                body_error = f"body is not valid JSON: {error}"
        else:
            body_error = "body is empty"
        record = fake._begin(self.command, split.path, query, headers, body)
        if fake.latency > 0:
            fake._stop_event.wait(fake.latency)
        fault = record["fault"]

        if fault is not None and fault not in FAULT_KINDS:
            payload = {"errorCode": "FakeMisconfigured", "errorMessage": f"bad fault {fault!r}"}
            fake._finish(record, 500, payload)
            self._send(500, _json_bytes(payload), JSON_TYPE)
            return
        if fault in ("500", "503", "429"):
            status, code = {
                "500": (500, "InternalError"),
                "503": (503, "ServiceUnavailable"),
                "429": (429, "TooManyRequests"),
            }[fault]
            payload = {"errorCode": code, "errorMessage": f"injected fault {fault}"}
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

        status, payload = fake._process(
            self.command, split.path, query, headers, body, body_error, record
        )
        if fault == "hang_after_accept":
            fake._finish(record, None, payload)
            self._hang()
            return
        if fault == "reset_after_accept":
            fake._finish(record, None, payload)
            self._reset()
            return
        fake._finish(record, status, payload)
        self._send(status, _json_bytes(payload), JSON_TYPE)

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
        prog="python -m tests.fakes.solapi", description="Run the fake SOLAPI server."
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
    parser.add_argument("--balance", type=float, default=100000.0)
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    fake = FakeSolapi(
        host=args.host,
        port=args.port,
        latency=args.latency_ms / 1000.0,
        fault_rate=args.fault_rate,
        fault_kinds=[k for k in args.fault_kinds.split(",") if k],
        fault_paths=None if args.all_paths else SEND_PATHS,
        seed=args.seed,
        balance=args.balance,
        hang_seconds=args.hang_seconds,
    )
    fake.start()
    print(fake.base_url, flush=True)
    print(
        f"api key {DEFAULT_API_KEY} / secret {DEFAULT_API_SECRET}; Ctrl-C to stop",
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
