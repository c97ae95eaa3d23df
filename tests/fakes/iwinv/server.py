"""The fake IWINV server (AlimTalk host + SMS v2 host) for tests and benchmarks, on
127.0.0.1.

Built from the vendor's rules in docs/vendors/iwinv.md; where they are silent, the choices are
written down in ``alimtalk`` and ``sms`` (the two hosts) and ``state``. Server life, the
request log and fault injection come from ``tests.fakes._server``.

Hosts and routing
- ONE server serves both IWINV hosts under two URL prefixes: ``alimtalk_base_url`` =
  ``http://127.0.0.1:PORT/alimtalk`` and ``sms_base_url`` = ``http://127.0.0.1:PORT/sms``; a
  client appends the real paths (``/api/v2/send/`` …). A request without either prefix is
  routed by its ``Host`` header instead (``alimtalk.…`` / ``sms.…``), so a client pointed at
  the real host names through a transport override works too. Anything else → HTTP 404 HTML.
- Paths are matched with or without the trailing "/". Every endpoint is POST (the AlimTalk
  balance: ``alimtalk_charge_methods``, see ``alimtalk``); another method on a known path →
  HTTP 405 HTML. Request-log entries and ``fault_paths`` use the canonical
  form ``/alimtalk/api/v2/send/``, ``/sms/api/history/`` … whichever way the request came in.
- AlimTalk host: ``/api/v2/send/``, ``/api/history/``, ``/api/charge/``, ``/api/template/``,
  ``/api/template/add/``, ``/api/template/modify/``, ``/api/template/delete/``,
  ``/api/cancel/`` (see ``cancel``).
  SMS host: ``/api/v2/send/`` (JSON, or multipart/form-data for MMS), ``/api/history/``,
  ``/api/charge/``.

Answers (the vendor documents codes, not HTTP statuses)
- Business errors are answered with HTTP ``error_http_status`` (default 200) and a JSON body:
  AlimTalk ``{code, message}``; SMS send/history ``{resultCode, message}``; SMS charge
  ``{code, message}`` (the same key as its success answer). With ``bare_number = True`` every
  business error body is instead just the number (e.g. ``501``) as ``text/plain``.
  Success answers are always JSON (``application/json; charset=utf-8``). Request bodies of
  the charge endpoints are ignored.
- Check order on every request: route (404/405) → injected fault → client IP → credentials
  → body. The client IP is the socket peer; with ``trust_forwarded_for = True`` the first
  address of ``X-Forwarded-For`` is used instead. ``allowed_ips = None`` disables the check.
- Auth: ``AUTH`` must equal standard padded base64 of the UTF-8 ``api_key``; ``secret`` must
  equal base64(``sms_api_key + "&" + sms_auth_key``); compared exactly after stripping
  surrounding blanks. Header names are case-insensitive (``secret``, ``Secret`` …). The legacy
  one-key SMS secret is not accepted. ``AUTH`` is not accepted on the SMS host.

Faults: only POSTs to a known canonical path in ``fault_paths`` (default: both send
endpoints; None = every path) draw them. "500"/"503"/"429" answer a plain-text reason phrase
(what a proxy would send, not IWINV JSON); "html" answers an nginx-like 502 page. An unknown
script entry answers HTTP 500 JSON ``{"code": 500, "message": "bad fault …"}``.

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
- Extras beyond the vendor's API: ``all_messages()``, ``reset_log()``, ``approve_template()``,
  ``template_info``, ``blocked_keywords``, ``error_http_status``, ``sms_ip_error_code``,
  ``mms_extensions``, ``alimtalk_charge_methods``, ``trust_forwarded_for``,
  ``sms_company_id``, ``base_url``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from tests.fakes._common import kst_text
from tests.fakes._server import (
    HTML_TYPE,
    FakeServer,
    Incoming,
    Inspected,
    Reply,
)
from tests.fakes.iwinv.alimtalk import AlimTalkApi
from tests.fakes.iwinv.cancel import Cancelling
from tests.fakes.iwinv.sms import SmsApi
from tests.fakes.iwinv.state import (
    ALIMTALK_MESSAGES,
    ALIMTALK_ROUTES,
    DEFAULT_API_KEY,
    DEFAULT_SENDERS,
    DEFAULT_SMS_API_KEY,
    DEFAULT_SMS_AUTH_KEY,
    DEFAULT_SMS_COMPANY_ID,
    DEFAULT_TEMPLATES,
    GATEWAY_PAGE,
    SEND_PATHS,
    SMS_MESSAGES,
    SMS_ROUTES,
    AlimTalkRecord,
    Fail,
    Form,
    SmsRecord,
    alimtalk_auth,
    json_number,
    parse_multipart,
    sms_secret,
)

_REASONS = {500: "Internal Server Error", 503: "Service Unavailable", 429: "Too Many Requests"}


class FakeIwinv(AlimTalkApi, SmsApi, Cancelling, FakeServer):
    """The fake server. Attributes set by the constructor may be changed at runtime."""

    gateway_page = GATEWAY_PAGE
    send_paths = SEND_PATHS

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        sms_api_key: str | None = DEFAULT_SMS_API_KEY,
        sms_auth_key: str | None = DEFAULT_SMS_AUTH_KEY,
        sms_company_id: str = DEFAULT_SMS_COMPANY_ID,
        allowed_ips: Iterable[str] | None = ("127.0.0.1",),
        trust_forwarded_for: bool = False,
        templates: Mapping[str, str] | None = None,
        senders: Iterable[str] | None = None,
        balance: float = 100000.0,
        kakao_non_users: Iterable[str] | None = None,
        final_outcomes: Mapping[str, str | tuple[str, str]] | None = None,
        progress_after: float = 2.0,
        blocked_keywords: Iterable[str] | None = None,
        bare_number: bool = False,
        error_http_status: int = 200,
        sms_ip_error_code: int = 15,
        mms_extensions: Iterable[str] = ("jpg",),
        alimtalk_charge_methods: Iterable[str] = ("GET", "POST"),
        **server: Any,
    ) -> None:
        super().__init__(**server)  # host, port, clock, latency, faults: see FakeServer
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
        self.kakao_non_users: set[str] = set(kakao_non_users or ())
        self.final_outcomes: dict[str, str | tuple[str, str]] = dict(final_outcomes or {})
        self.progress_after = float(progress_after)
        self.blocked_keywords: set[str] = set(blocked_keywords or ())
        self.bare_number = bare_number
        self.error_http_status = int(error_http_status)
        self.sms_ip_error_code = int(sms_ip_error_code)
        self.mms_extensions: set[str] = {e.lower().lstrip(".") for e in mms_extensions}
        self.alimtalk_charge_methods: set[str] = set(alimtalk_charge_methods)
        self._alimtalk: list[AlimTalkRecord] = []
        self._sms: list[SmsRecord] = []
        self._next_seq_no = 1000001
        self._next_request_no = 7000000001
        self._next_template = 1
        self._arrival = 0

    @property
    def alimtalk_base_url(self) -> str:
        """Stands for https://alimtalk.bizservice.iwinv.kr."""
        return f"{self.base_url}/alimtalk"

    @property
    def sms_base_url(self) -> str:
        """Stands for https://sms.bizservice.iwinv.kr."""
        return f"{self.base_url}/sms"

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
                "sendDate": kst_text(a.start) if a.reserve else None,
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
                "date": kst_text(s.start) if s.reserved else None,
                "image": copy.deepcopy(s.image),
                "requested_at": s.requested,
                "accepted": True,
            }
            order.append((s.arrival, entry))
        order.sort(key=lambda item: item[0])
        return [entry for _, entry in order]

    # ------------------------------------------------------------------ the server's hooks

    def inspect(self, request: Incoming) -> Inspected:
        channel, endpoint = _route(request.path, request.headers.get("host", ""))
        routes = ALIMTALK_ROUTES if channel == "alimtalk" else SMS_ROUTES
        known = channel is not None and endpoint in routes
        canonical = f"/{channel}{endpoint}" if known else None
        body: Any = None
        body_error: str | None = None
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            try:
                body = parse_multipart(content_type, request.raw)
            except (ValueError, UnicodeDecodeError) as error:
                body_error = f"bad multipart body: {error}"
        else:
            body, body_error = request.json_body()
        client_ip = self._client_ip(request)
        if isinstance(body, Form):
            logged: Any = body.log_view()
        elif body_error is not None and request.raw:
            logged = request.raw.decode("utf-8", "replace")
        else:
            logged = body
        log = {
            "method": request.method,
            "path": request.path,
            "canonical": canonical,
            "channel": channel,
            "endpoint": endpoint if known else None,
            "query": request.query,
            "headers": request.headers,
            "body": logged,
            "client_ip": client_ip,
            "error_detail": None,
        }
        # 404/405 answers never consume the script: only POSTs to a known path draw faults
        fault_path = canonical if request.method == "POST" else None
        return Inspected(log, fault_path, (channel, endpoint, known, client_ip, body, body_error))

    def _client_ip(self, request: Incoming) -> str:
        forwarded = request.headers.get("x-forwarded-for", "")
        if self.trust_forwarded_for and forwarded.strip():
            return forwarded.split(",")[0].strip()
        return request.client_ip

    def early_reply(self, request: Incoming, context: Any) -> Reply | None:
        channel, endpoint, known, _, _, _ = context
        if not known or channel is None:
            return Reply(404, _html(404, "Not Found"), HTML_TYPE, "404 Not Found")
        allowed = {"POST"}
        if (channel, endpoint) == ("alimtalk", "/api/charge/"):
            allowed = self.alimtalk_charge_methods
        if request.method not in allowed:
            return Reply(405, _html(405, "Not Allowed"), HTML_TYPE, "405 Not Allowed")
        return None

    def answer(self, request: Incoming, context: Any, record: dict[str, Any]) -> Reply:
        channel, endpoint, _, client_ip, body, body_error = context
        try:
            payload = self._dispatch(
                channel, endpoint, request.headers, client_ip, body, body_error
            )
        except Fail as failure:
            return self._error_reply(channel, endpoint, failure)
        return Reply.json(200, payload, error_detail=None)

    def injected_error(self, status: int) -> Reply:
        return Reply.text(status, _REASONS[status])

    def internal_error(self, message: str) -> Reply:
        return Reply.json(500, {"code": 500, "message": message})

    def misconfigured(self, fault: str) -> Reply:
        return Reply.json(500, {"code": 500, "message": f"bad fault {fault!r}"})

    def malformed(self, status: int, message: str) -> Reply:
        """An nginx-like HTML page, like the vendor's front end."""
        return Reply(status, _html(status, message), HTML_TYPE, None)

    def _error_reply(self, channel: str, endpoint: str, failure: Fail) -> Reply:
        table = ALIMTALK_MESSAGES if channel == "alimtalk" else SMS_MESSAGES
        message = table.get(failure.code, "요청을 처리할 수 없습니다.")
        detail = failure.detail or None
        if self.bare_number:
            reply = Reply.text(self.error_http_status, str(failure.code), error_detail=detail)
            reply.logged = failure.code
            return reply
        key = "resultCode" if channel == "sms" and endpoint != "/api/charge/" else "code"
        payload = {key: failure.code, "message": message}
        return Reply.json(self.error_http_status, payload, error_detail=detail)

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
                raise Fail(206, f"client IP {client_ip}")
            if (headers.get("auth") or "").strip() != alimtalk_auth(self.api_key):
                raise Fail(201)
            if endpoint == "/api/charge/":
                return {"code": 200, "message": "조회 성공", "charge": json_number(self.balance)}
            if body_error is not None or not isinstance(body, dict):
                raise Fail(502, body_error or "body must be a JSON object")
            if endpoint == "/api/v2/send/":
                return self._alimtalk_send(body, now)
            if endpoint == "/api/history/":
                return self._alimtalk_history(body, now)
            if endpoint == "/api/cancel/":
                return self._alimtalk_cancel(body, now)
            return self._template_call(endpoint, body, now)

        if self.allowed_ips is not None and client_ip not in self.allowed_ips:
            raise Fail(self.sms_ip_error_code, f"client IP {client_ip}")
        if self.sms_api_key is None or self.sms_auth_key is None:
            raise Fail(202)
        expected = sms_secret(self.sms_api_key, self.sms_auth_key)
        if (headers.get("secret") or "").strip() != expected:
            raise Fail(14, "secret")
        if endpoint == "/api/charge/":
            return {"code": 0, "message": "조회 성공", "charge": json_number(self.balance)}
        if body_error is not None:
            raise Fail(1, body_error)
        if endpoint == "/api/v2/send/":
            if isinstance(body, Form):
                return self._sms_send_form(body, now)
            if not isinstance(body, dict):
                raise Fail(1, "body must be a JSON object")
            return self._sms_send_json(body, now)
        if not isinstance(body, dict):
            raise Fail(1, "body must be a JSON object")
        return self._sms_history(body, now)


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
