"""The fake Aligo server (apis.aligo.in + kakaoapi.aligo.in) for tests and benchmarks, on
127.0.0.1.

Built from the vendor's rules in docs/vendors/aligo.md; where they are silent, the choices are
written down in ``sms`` and ``kakao`` (the two hosts), ``cancel`` (reservation cancels) and
``state``. Server life, the request
log and fault injection come from ``tests.fakes._server``.

One server serves both vendor hosts under two URL prefixes: ``sms_base_url`` is
``http://127.0.0.1:<port>/sms`` (the SMS host) and ``kakao_base_url`` is
``http://127.0.0.1:<port>/kakao`` (the Kakao host); the prefixes are the ``sms_prefix`` /
``kakao_prefix`` attributes. A Kakao path under the SMS prefix (or the reverse) is a 404, so
a client that mixes the two base URLs up fails loudly.

- SMS host credentials: form ``key`` + ``user_id`` must equal ``key`` / ``user_id``; anything
  else is ``result_code -101`` "인증오류입니다.".
- ``POST /remain/`` → ``{result_code:1, message:"success", SMS_CNT, LMS_CNT, MMS_CNT}``;
  ``POST /akv10/heartinfo/`` → ``{code:0, message, list:{SMS, LMS, MMS, ALT, FTS, FTI}}``
  (counts, as for /remain/).
- Faults apply only to host-relative endpoints in ``fault_paths`` (default: the send
  endpoints; None = every path). 500/503/429 answer ``{"status", "error", "message"}`` JSON;
  an unknown script entry answers 500 "FakeMisconfigured".

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

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from tests.fakes._server import (
    FakeServer,
    Incoming,
    Inspected,
    Reply,
)
from tests.fakes.aligo.cancel import Cancelling
from tests.fakes.aligo.kakao import KakaoHost
from tests.fakes.aligo.sms import SmsHost
from tests.fakes.aligo.state import (
    DEFAULT_KEY,
    DEFAULT_POINT,
    DEFAULT_PRICES,
    DEFAULT_SENDER_KEY,
    DEFAULT_SENDERS,
    DEFAULT_TEMPLATES,
    DEFAULT_USER_ID,
    FT_IMAGE_LIMIT,
    KAKAO_ERRORS,
    KAKAO_PATHS,
    KAKAO_QUERY_MESSAGE,
    MMS_IMAGE_LIMIT,
    RESULT_CODE_STYLES,
    SEND_PATHS,
    SMS_ERRORS,
    SMS_OK_MESSAGE,
    SMS_PATHS,
    TOKEN_PATH,
    TOKEN_UNITS,
    AligoError,
    Delivery,
    Form,
    HttpError,
    http_error_body,
    normalize_number,
    parse_form,
)


class FakeAligo(SmsHost, KakaoHost, Cancelling, FakeServer):
    """The fake server. Attributes set by the constructor may be changed at runtime."""

    send_paths = SEND_PATHS

    def __init__(
        self,
        *,
        key: str = DEFAULT_KEY,
        user_id: str = DEFAULT_USER_ID,
        senders: Iterable[str] | None = None,
        sender_keys: Iterable[str] | None = None,
        templates: Mapping[str, Any] | None = None,
        point: float | int | str | Decimal = DEFAULT_POINT,
        prices: Mapping[str, float | int | str] | None = None,
        kakao_non_users: Iterable[str] | None = None,
        final_outcomes: Mapping[str, str] | None = None,
        progress_after: tuple[float, float] = (2.0, 5.0),
        sms_prefix: str = "/sms",
        kakao_prefix: str = "/kakao",
        require_token: bool = True,
        result_code_style: str = "native",
        kmsg_compat: bool = False,
        mms_image_limit: int = MMS_IMAGE_LIMIT,
        ft_image_limit: int = FT_IMAGE_LIMIT,
        **server: Any,
    ) -> None:
        super().__init__(**server)  # host, port, clock, latency, faults: see FakeServer
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
        self.kakao_non_users: set[str] = set(kakao_non_users or ())
        self.final_outcomes: dict[str, str] = dict(final_outcomes or {})
        self.progress_after: tuple[float, float] = (
            float(progress_after[0]),
            float(progress_after[1]),
        )
        self.sms_prefix = sms_prefix.rstrip("/")
        self.kakao_prefix = kakao_prefix.rstrip("/")
        self.require_token = require_token
        if result_code_style not in RESULT_CODE_STYLES:
            raise ValueError(f"result_code_style must be one of {RESULT_CODE_STYLES}")
        self.result_code_style = result_code_style
        self.kmsg_compat = kmsg_compat
        self.mms_image_limit = int(mms_image_limit)
        self.ft_image_limit = int(ft_image_limit)
        self._deliveries: list[Delivery] = []
        self._by_request: dict[str, list[Delivery]] = {}
        self._tokens: dict[str, float] = {}
        self._request_seq = 100000000
        self._detail_seq = 900000000

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

    @property
    def sms_base_url(self) -> str:
        """Stands for https://apis.aligo.in (``/send/``, ``/remain/`` …)."""
        return self.base_url + self.sms_prefix

    @property
    def kakao_base_url(self) -> str:
        """Stands for https://kakaoapi.aligo.in (``/akv10/…``)."""
        return self.base_url + self.kakao_prefix

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

    def create_token(self, seconds: float = 3600.0) -> str:
        """Issue a Kakao API token without HTTP (see ``/akv10/token/create/``)."""
        with self._lock:
            return self._new_token(self.clock(), seconds)

    def _entry(self, delivery: Delivery) -> dict[str, Any]:
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

    # ------------------------------------------------------------------ the server's hooks

    def inspect(self, request: Incoming) -> Inspected:
        form: Form | None = None
        body_error: HttpError | None = None
        try:
            form = parse_form(request.headers.get("content-type"), request.raw)
        except HttpError as error:
            body_error = error
        host, endpoint = self._route(request.path)
        log = {
            "method": request.method,
            "path": request.path,
            "host": host,
            "endpoint": endpoint,
            "query": request.query,
            "headers": request.headers,
            "content_type": request.headers.get("content-type"),
            "form": form.flat() if form is not None else None,
            "files": (
                {k: [u.summary() for u in v] for k, v in form.files.items()}
                if form is not None
                else None
            ),
        }
        return Inspected(log, endpoint, (host, endpoint, form, body_error))

    def answer(self, request: Incoming, context: Any, record: dict[str, Any]) -> Reply:
        host, endpoint, form, body_error = context
        try:
            payload = self._dispatch(request.method, host, endpoint, form, body_error)
        except HttpError as error:
            return Reply.json(
                error.status, http_error_body(error.status, error.message), error.headers
            )
        except AligoError as error:
            return Reply.json(200, self._error_body(host, error))
        return Reply.json(200, payload)

    def injected_error(self, status: int) -> Reply:
        return Reply.json(status, http_error_body(status, f"injected fault {status}"))

    def internal_error(self, message: str) -> Reply:
        return Reply.json(500, http_error_body(500, message))

    def misconfigured(self, fault: str) -> Reply:
        payload = {"status": 500, "error": "FakeMisconfigured", "message": f"bad fault {fault!r}"}
        return Reply.json(500, payload)

    def malformed(self, status: int, message: str) -> Reply:
        return Reply.json(status, http_error_body(status, message))

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
            if endpoint in known or (host == "kakao" and TOKEN_PATH.fullmatch(endpoint)):
                return host, endpoint
        if matches:
            return matches[0]
        return None, path

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
        token = host == "kakao" and TOKEN_PATH.fullmatch(endpoint)
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
            if endpoint == "/cancel/":
                return self._sms_cancel(form, now)
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
        if endpoint == "/akv10/cancel/":
            return self._kakao_cancel(form, now)
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

    def _check_sms_auth(self, form: Form) -> None:
        if form.get("key") != self.key or form.get("user_id") != self.user_id:
            raise AligoError(-101)

    # ------------------------------------------------------------------ ids, timeline, charges

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

    def _envelope(
        self,
        channel: str,
        endpoint: str,
        msg_type: str,
        sender: str,
        testmode: bool,
        now: float,
        scheduled: float | None,
    ) -> dict[str, Any]:
        """What every delivery of one accepted request shares, under a new request id."""
        t_processed, t_final = self._timeline(now, scheduled)
        return {
            "channel": channel,
            "request_id": self._new_request_id(),
            "endpoint": endpoint,
            "msg_type": msg_type,
            "sender": sender,
            "testmode": testmode,
            "registered": now,
            "scheduled": scheduled,
            "t_processed": t_processed,
            "t_final": t_final,
        }

    def _deliver(self, envelope: dict[str, Any], *, outcome: str, **fields: Any) -> None:
        """Store one receiver's delivery (test-mode ones never progress)."""
        delivery = Delivery(
            **envelope,
            detail_id=self._new_detail_id(),
            outcome="testmode" if envelope["testmode"] else outcome,
            **fields,
        )
        self._register(delivery)

    def _register(self, delivery: Delivery) -> None:
        self._deliveries.append(delivery)
        self._by_request.setdefault(delivery.request_id, []).append(delivery)

    def _charge(self, kind: str, count: int, testmode: bool) -> None:
        if testmode or count == 0:
            return
        if self.price(kind) * count > self._point:
            raise AligoError(-201, f"{count} x {kind} needs {self.price(kind) * count} points")

    def _final_reason(self, receiver: str) -> str | None:
        for number, reason in self.final_outcomes.items():
            if normalize_number(number) == receiver:
                return reason
        return None
