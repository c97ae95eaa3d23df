"""SOLAPI over its REST API (no SDK), on an injected `httpx.Client`.

Wire facts (REFERENCE-PROVIDERS.md §3): HMAC-SHA256 request signing, many messages per
`POST /messages/v4/send-many/detail`, images through `POST /storage/v1/files`, status through
`GET /messages/v4/list`, balance through `GET /cash/v1/balance`. Our message id travels in
`customFields.kmsgId`, so a message can always be found again.

Pure functions build requests and parse answers; `SolapiProvider` only strings them together
with the HTTP boundary of `_http`. Fixed here, compared with the original: phone numbers are
really normalized, every 1xxx–3xxx failure code maps to FAILED, timestamps come from
`dateProcessed`/`dateReported`/`dateReceived`, the base URL is honoured, errors keep their
HTTP status, vendor code and Retry-After.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import os
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from kmsg_cli.errors import (
    AuthenticationError,
    ConfigError,
    InvalidInput,
    ProviderError,
)
from kmsg_cli.models import (
    Balance,
    DeliveryStatus,
    Message,
    MessageType,
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

log = logging.getLogger("kmsg.solapi")

DEFAULT_BASE_URL = "https://api.solapi.com"
SEND_PATH = "/messages/v4/send-many/detail"
LIST_PATH = "/messages/v4/list"
FILES_PATH = "/storage/v1/files"
BALANCE_PATH = "/cash/v1/balance"
CUSTOM_ID_FIELD = "kmsgId"
LOOKUP_CHUNK = 100  # message ids per list request
IMAGE_LIMITS = {"MMS": 200 * 1024, "KAKAO": 500 * 1024}

_AUTH_ERRORS = {"InvalidAPIKey", "SignatureDoesNotMatch"}
_RESIGN_ERRORS = {"RequestTimeTooSkewed", "DuplicatedSignature"}

# SOLAPI registration/status codes -> kmsg error codes (the vendor code is kept beside it).
_CODE_NAMES = {
    "1010": "INVALID_REQUEST",
    "1011": "INVALID_REQUEST",
    "1013": "INVALID_REQUEST",
    "1014": "INVALID_REQUEST",
    "1020": "AUTHENTICATION_FAILED",
    "1023": "IMAGE_NOT_FOUND",
    "1025": "INVALID_REQUEST",
    "1026": "DUPLICATE_RECIPIENT",
    "1030": "INSUFFICIENT_BALANCE",
    "1031": "TEXT_TOO_LONG",
    "1041": "INVALID_KAKAO_CHANNEL",
    "1042": "TEMPLATE_NOT_FOUND",
    "1043": "TEMPLATE_MISMATCH",
    "1060": "BLOCKED_RECIPIENT",
    "1061": "BLOCKED_RECIPIENT",
    "1062": "SENDER_NOT_REGISTERED",
    "1064": "BLOCKED_BY_KISA",
    "2230": "INSUFFICIENT_BALANCE",
    "2062": "SENDER_NOT_REGISTERED",
}
# Codes worth trying again later (vendor-side server trouble), everything else is final.
_RETRYABLE_CODES = {"1024", "2024", "3024"}
_CODE_TEXT = {
    "1030": "insufficient balance",
    "1042": "AlimTalk template not found",
    "1043": "text or variables do not match the AlimTalk template",
    "1062": "sender number is not registered with SOLAPI",
}

_WIRE_TYPES = {
    MessageType.SMS: "SMS",
    MessageType.LMS: "LMS",
    MessageType.MMS: "MMS",
    MessageType.ALIMTALK: "ATA",
}


# -- authentication ------------------------------------------------------------------------
def signature(secret: str, date: str, salt: str) -> str:
    """Lowercase hex HMAC-SHA256 of `date + salt` keyed with the API secret."""
    return hmac.new(secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()


def authorization(api_key: str, secret: str, *, date: str, salt: str) -> str:
    """The `Authorization` header value."""
    sig = signature(secret, date, salt)
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={sig}"


def utc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- request building (pure) -----------------------------------------------------------------
def wire_type(message: Message) -> str:
    if message.type is MessageType.FRIENDTALK:
        return "CTI" if message.image else "CTA"
    return _WIRE_TYPES[message.type]


def build_message(
    message: Message,
    *,
    sender: str | None,
    pf_id: str | None,
    image_id: str | None = None,
) -> dict[str, Any]:
    """One entry of `messages[]` for send-many/detail."""
    kind = wire_type(message)
    body: dict[str, Any] = {"to": message.to.number, "type": kind}
    if not message.to.is_korean:
        body["country"] = message.to.country
    if sender:
        body["from"] = sender
    if message.type is MessageType.ALIMTALK:
        options: dict[str, Any] = {
            "pfId": pf_id,
            "templateId": message.template_id,
            "variables": {f"#{{{k}}}": str(v) for k, v in message.variables.items()},
            # With a fallback text SOLAPI sends it as SMS/LMS itself (native failover).
            "disableSms": message.failover is None,
        }
        body["kakaoOptions"] = options
        if message.failover is not None:
            body["text"] = message.failover.text
            if message.failover.subject:
                body["subject"] = message.failover.subject
    else:
        body["text"] = message.text
        if message.subject and message.type is not MessageType.SMS:
            body["subject"] = message.subject
        if message.type is MessageType.FRIENDTALK:
            body["kakaoOptions"] = {"pfId": pf_id, "disableSms": True}
            if image_id:
                body["kakaoOptions"]["imageId"] = image_id
        elif image_id:
            body["imageId"] = image_id
    body["customFields"] = {CUSTOM_ID_FIELD: message.message_id}
    return body


def build_send_body(
    entries: Sequence[Mapping[str, Any]], *, scheduled_at: datetime | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": list(entries),
        "allowDuplicates": True,  # two rows to one number are two messages; ids dedupe
        "showMessageList": True,
        "agent": {"sdkVersion": "kmsg", "osPlatform": os.name},
    }
    if scheduled_at is not None:
        body["scheduledDate"] = utc_date(scheduled_at)
    return body


# -- response parsing (pure) -----------------------------------------------------------------
def _custom_id(item: Mapping[str, Any]) -> str | None:
    fields = item.get("customFields")
    if isinstance(fields, Mapping):
        value = fields.get(CUSTOM_ID_FIELD)
        return str(value) if value is not None else None
    return None


def _refused_at_registration(item: Mapping[str, Any]) -> bool:
    """A stored message whose statusCode is 1xxx ("error during registration"): SOLAPI lists
    it, but it was refused when sent, never accepted."""
    code = str(item.get("statusCode") or "")
    return len(code) == 4 and code.isdigit() and code.startswith("1")


def parse_send_response(
    body: Any, messages: Sequence[Message], *, provider_id: str
) -> list[SendResult]:
    """Per-message results from a send-many/detail answer, in the order of `messages`.

    Entries are matched by our id in customFields; if the vendor dropped customFields,
    accepted entries are matched by recipient in order.
    """
    if not isinstance(body, Mapping):
        raise _bad_response(provider_id, "the send answer is not a JSON object")
    accepted = body.get("messageList") or []
    failed = body.get("failedMessageList") or []
    info = body.get("groupInfo")
    group: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
    group_id = str(group.get("groupId") or body.get("groupId") or "") or None
    if not isinstance(accepted, list) or not isinstance(failed, list):
        raise _bad_response(provider_id, "messageList/failedMessageList are not lists")
    by_id: dict[str, tuple[bool, Mapping[str, Any]]] = {}
    leftovers: dict[str, list[tuple[bool, Mapping[str, Any]]]] = {}
    for ok, items in ((True, accepted), (False, failed)):
        for item in items:
            if not isinstance(item, Mapping):
                continue
            custom = _custom_id(item)
            if custom is not None:
                by_id[custom] = (ok, item)
            else:
                leftovers.setdefault(str(item.get("to", "")), []).append((ok, item))
    results = []
    for message in messages:
        found = by_id.get(message.message_id)
        if found is None and leftovers.get(message.to.number):
            found = leftovers[message.to.number].pop(0)
        if found is None:
            results.append(
                SendResult(
                    message_id=message.message_id,
                    provider_id=provider_id,
                    accepted=False,
                    status=DeliveryStatus.UNKNOWN,
                    error_code="UNKNOWN_OUTCOME",
                    error_message="SOLAPI's answer does not mention this message",
                    outcome_unknown=True,
                    group_id=group_id,
                )
            )
            continue
        ok, item = found
        code = str(item.get("statusCode") or "")
        text = str(item.get("statusMessage") or "").strip()
        if ok:
            results.append(
                SendResult(
                    message_id=message.message_id,
                    provider_id=provider_id,
                    accepted=True,
                    status=DeliveryStatus.PENDING if message.scheduled_at else DeliveryStatus.SENT,
                    provider_message_id=str(item.get("messageId") or ""),
                    group_id=group_id,
                    provider_code=code or None,
                    native_failover=message.failover is not None,
                    raw=dict(item),
                )
            )
        else:
            results.append(
                SendResult(
                    message_id=message.message_id,
                    provider_id=provider_id,
                    accepted=False,
                    status=DeliveryStatus.FAILED,
                    error_code=_CODE_NAMES.get(code, "REJECTED"),
                    error_message=_describe_code(code, text),
                    provider_code=code or None,
                    retryable=code in _RETRYABLE_CODES,
                    group_id=group_id,
                    raw=dict(item),
                )
            )
    return results


def _describe_code(code: str, text: str) -> str:
    head = f"SOLAPI {code}" if code else "SOLAPI rejected the message"
    details = [d for d in (_CODE_TEXT.get(code), text) if d]
    return head + (": " + "; ".join(details) if details else "")


def map_status_code(code: str | None) -> DeliveryStatus | None:
    """SPEC §9: 2000 PENDING, 3000 SENT, 4000 DELIVERED, other 1xxx/2xxx/3xxx FAILED.

    Anything else (missing, "TEST1000", 5xxx) is not understood: None, keep checking.
    """
    if not code:
        return None
    if code == "2000":
        return DeliveryStatus.PENDING
    if code == "3000":
        return DeliveryStatus.SENT
    if code == "4000":
        return DeliveryStatus.DELIVERED
    if len(code) == 4 and code.isdigit() and code[0] in "123":
        return DeliveryStatus.FAILED
    return None


def _epoch_ms(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def parse_stored_message(item: Mapping[str, Any]) -> StatusUpdate:
    code = str(item.get("statusCode")) if item.get("statusCode") is not None else None
    status = map_status_code(code)
    processed = _epoch_ms(item.get("dateProcessed"))
    reported = _epoch_ms(item.get("dateReported"))
    received = _epoch_ms(item.get("dateReceived"))
    message = item.get("reason") or item.get("statusMessage") or item.get("status")
    return StatusUpdate(
        provider_message_id=str(item.get("messageId") or item.get("_id") or ""),
        status=status,
        provider_status_code=code,
        provider_status_message=str(message) if message else None,
        sent_at=processed,
        delivered_at=(received or reported) if status is DeliveryStatus.DELIVERED else None,
        failed_at=(reported or received or processed) if status is DeliveryStatus.FAILED else None,
        replaced=bool(item.get("replacement")),
        raw=dict(item),
    )


def parse_list_response(body: Any, *, provider_id: str) -> list[StatusUpdate]:
    if not isinstance(body, Mapping):
        raise _bad_response(provider_id, "the message list answer is not a JSON object")
    listing = body.get("messageList")
    if listing is None:
        return []
    items: Iterable[Any] = listing.values() if isinstance(listing, Mapping) else listing
    if not isinstance(items, Iterable):
        raise _bad_response(provider_id, "messageList is neither an object nor a list")
    return [parse_stored_message(item) for item in items if isinstance(item, Mapping)]


def _number(value: Any) -> float | None:
    """A finite number from a number or a numeric string; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # OverflowError: an int beyond float range
        return None
    return number if math.isfinite(number) else None


def parse_balance(body: Any, *, provider_id: str) -> Balance:
    if isinstance(body, Mapping):
        amount = _number(body.get("balance"))
        point = _number(body.get("point"))
        if amount is None:
            amount = point
        if amount is not None:
            return Balance(provider_id, amount, "KRW", point, dict(body))
    raise _bad_response(provider_id, "the balance answer has no numeric balance")


def _bad_response(provider_id: str, what: str) -> ProviderError:
    return ProviderError(
        f"unexpected answer from {provider_id}: {what}",
        code="PROVIDER_BAD_RESPONSE",
        provider_id=provider_id,
        retryable=False,
    )


def error_from_response(
    response: httpx.Response, *, provider_id: str, sends: bool
) -> ProviderError:
    """Map a non-2xx answer to our taxonomy (SPEC §10, REFERENCE §3.7/§9.3)."""
    status = response.status_code
    body = json_or_none(response)
    code = str(body.get("errorCode") or "") if isinstance(body, Mapping) else ""
    text = str(body.get("errorMessage") or "") if isinstance(body, Mapping) else ""
    wait = retry_after(response)
    label = f"SOLAPI HTTP {status}" + (f" {code}" if code else "")
    detail = text or (body_excerpt(response) if body is None else "")
    message = f"{label}: {detail}" if detail else label
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": status,
        "provider_code": code or None,
        "retry_after": wait,
    }
    if status in (401, 403) and code in _AUTH_ERRORS | {""}:
        return AuthenticationError(
            f"SOLAPI refused the credentials ({code or status})",
            hint=f"check api_key and api_secret of provider '{provider_id}' (kmsg config validate)",
            **common,
        )
    if code == "RequestTimeTooSkewed":
        return ProviderError(
            "SOLAPI says this machine's clock is more than 15 minutes off",
            code="CLOCK_SKEW",
            hint="synchronise the system clock (NTP) and try again",
            **common,
        )
    if status == 429 or status == 503:
        return ProviderError(
            message,
            code="RATE_LIMITED" if status == 429 else "SERVICE_UNAVAILABLE",
            retryable=True,
            **common,
        )
    if status >= 500:
        if body is None:
            message = f"SOLAPI HTTP {status} with a non-JSON body: {body_excerpt(response)}"
        return ProviderError(message, code="PROVIDER_ERROR", retryable=True, **common)
    if code in ("NotEnoughBalance", "InsufficientBalance") or status == 402:
        return ProviderError(message, code="INSUFFICIENT_BALANCE", **common)
    return ProviderError(message, code="PROVIDER_REJECTED", **common)


# -- the client ------------------------------------------------------------------------------
class SolapiProvider:
    type = "solapi"
    capabilities: Capabilities = CATALOG["solapi"]
    native_failover = True  # disableSms=false + text: SOLAPI sends the fallback itself

    def __init__(
        self,
        provider_id: str,
        settings: Mapping[str, Any],
        http: httpx.Client | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.id = provider_id
        self.api_key = str(settings["api_key"])
        self._secret = str(settings["api_secret"])
        self.sender = settings.get("sender")
        self.pf_id = settings.get("kakao_pf_id")
        self.base_url = str(settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        batch = int(settings.get("batch_size") or 1000)
        self.batch_size = max(1, min(batch, 10_000))
        self._own_http = http is None
        self.http = http if http is not None else new_client(settings)
        self.clock = clock
        self._image_ids: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:  # never show the secret
        return f"SolapiProvider(id={self.id!r}, base_url={self.base_url!r})"

    # -- checks before anything is sent --------------------------------------------------
    def validate(self, message: Message) -> None:
        """Refuse, before any request, what SOLAPI would reject for sure."""
        sender = message.sender or self.sender
        if message.type in (MessageType.SMS, MessageType.LMS, MessageType.MMS) and not sender:
            raise InvalidInput(
                f"a sender number is required for {message.type.value} through '{self.id}'",
                code="MISSING_SENDER",
                field="from",
                hint=f"pass --from 0212345678 or set sender in provider '{self.id}'",
            )
        if message.type in (MessageType.ALIMTALK, MessageType.FRIENDTALK) and not self.pf_id:
            raise ConfigError(
                f"provider '{self.id}' has no kakao_pf_id, needed for {message.type.value}",
                code="MISSING_SETTING",
                field="kakao_pf_id",
                hint='set kakao_pf_id = "env:SOLAPI_KAKAO_PF_ID" and export the variable',
            )
        if message.image:
            kind = "KAKAO" if message.type is MessageType.FRIENDTALK else "MMS"
            _check_image(message.image, kind)

    # -- send ------------------------------------------------------------------------------
    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        results: dict[str, SendResult] = {}
        groups: dict[datetime | None, list[Message]] = {}
        for message in messages:
            groups.setdefault(message.scheduled_at, []).append(message)
        for scheduled_at, group in groups.items():
            for start in range(0, len(group), self.batch_size):
                chunk = group[start : start + self.batch_size]
                for result in self._send_chunk(chunk, scheduled_at):
                    results[result.message_id] = result
        return [results[m.message_id] for m in messages]

    def _send_chunk(
        self, chunk: Sequence[Message], scheduled_at: datetime | None
    ) -> list[SendResult]:
        entries = []
        for message in chunk:
            image_id = self._upload(message) if message.image else None
            entries.append(
                build_message(
                    message,
                    sender=message.sender or self.sender,
                    pf_id=self.pf_id,
                    image_id=image_id,
                )
            )
        body = build_send_body(entries, scheduled_at=scheduled_at)
        response = self._request("POST", SEND_PATH, json_body=body, sends=True)
        parsed = json_or_none(response)
        if parsed is None:
            # The vendor answered 2xx with something that is not JSON: it may have accepted.
            raise ProviderError(
                f"SOLAPI answered HTTP {response.status_code} with a non-JSON body: "
                f"{body_excerpt(response)}",
                code="PROVIDER_BAD_RESPONSE",
                provider_id=self.id,
                http_status=response.status_code,
                outcome_unknown=True,
            )
        return parse_send_response(parsed, chunk, provider_id=self.id)

    def _upload(self, message: Message) -> str:
        assert message.image is not None
        kind = "KAKAO" if message.type is MessageType.FRIENDTALK else "MMS"
        key = (kind, message.image)
        if key not in self._image_ids:
            data = _check_image(message.image, kind)
            body = {
                "file": base64.b64encode(data).decode("ascii"),
                "type": kind,
                "name": os.path.basename(message.image),
            }
            response = self._request("POST", FILES_PATH, json_body=body, sends=False)
            parsed = json_or_none(response)
            file_id = parsed.get("fileId") if isinstance(parsed, Mapping) else None
            if not file_id:
                raise _bad_response(self.id, "the file upload answer has no fileId")
            self._image_ids[key] = str(file_id)
        return self._image_ids[key]

    # -- lookups -----------------------------------------------------------------------------
    def fetch_statuses(self, provider_message_ids: Sequence[str]) -> dict[str, StatusUpdate]:
        """Current status of many messages, `LOOKUP_CHUNK` ids per request."""
        found: dict[str, StatusUpdate] = {}
        ids = [i for i in dict.fromkeys(provider_message_ids) if i]
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            params = [("limit", str(len(chunk)))] + [("messageIds", i) for i in chunk]
            response = self._request("GET", LIST_PATH, params=params, sends=False)
            for update in parse_list_response(json_or_none(response), provider_id=self.id):
                if update.provider_message_id in chunk:
                    found[update.provider_message_id] = update
        return found

    def find_sent(
        self, to: str | None, *, since: datetime, until: datetime
    ) -> dict[str, tuple[str, StatusUpdate]]:
        """Messages accepted in a time window (to `to`, or to anyone), keyed by our id.

        Messages refused at registration (1xxx) are left out: they were never accepted."""
        params = [("to", to)] if to else []
        params += [
            ("dateType", "CREATED"),
            ("startDate", utc_date(since)),
            ("endDate", utc_date(until)),
            ("limit", "500"),
        ]
        found: dict[str, tuple[str, StatusUpdate]] = {}
        start_key: str | None = None
        for _ in range(200):  # bounded paging: 100,000 messages at most
            query = params + ([("startKey", start_key)] if start_key else [])
            response = self._request("GET", LIST_PATH, params=query, sends=False)
            body = json_or_none(response)
            listing = body.get("messageList") if isinstance(body, Mapping) else None
            items = (
                listing.values()
                if isinstance(listing, Mapping)
                else listing
                if isinstance(listing, list)
                else []
            )
            for item in items:
                if isinstance(item, Mapping) and (custom := _custom_id(item)):
                    if _refused_at_registration(item):
                        continue  # listed, but SOLAPI never accepted it (1xxx)
                    update = parse_stored_message(item)
                    found[custom] = (update.provider_message_id, update)
            start_key = body.get("nextKey") if isinstance(body, Mapping) else None
            if not start_key:
                break
        return found

    def balance(self) -> Balance:
        response = self._request("GET", BALANCE_PATH, sends=False)
        return parse_balance(json_or_none(response), provider_id=self.id)

    def cancel_scheduled(self, group_id: str) -> None:
        self._request("DELETE", f"/messages/v4/groups/{group_id}/schedule", sends=False)

    # -- plumbing ---------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        sends: bool,
        json_body: Any = None,
        params: Any = None,
    ) -> httpx.Response:
        # A skewed clock or a reused signature is answered before anything is processed,
        # so one retry with a fresh date and salt is always safe.
        for attempt in (1, 2):
            headers = {
                "Authorization": authorization(
                    self.api_key,
                    self._secret,
                    date=utc_date(self.clock()),
                    salt=secrets.token_hex(16),
                )
            }
            response = send_request(
                self.http,
                method,
                self.base_url + path,
                provider_id=self.id,
                sends=sends,
                headers=headers,
                json_body=json_body,
                params=params,
            )
            if response.is_success:
                return response
            error = error_from_response(response, provider_id=self.id, sends=sends)
            if attempt == 1 and error.provider_code in _RESIGN_ERRORS:
                log.info("SOLAPI answered %s; signing again", error.provider_code)
                continue
            raise error
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._own_http:
            self.http.close()


def _check_image(path: str, kind: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(IMAGE_LIMITS[kind] + 1)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read image '{path}': {exc.strerror or type(exc).__name__}",
            code="IMAGE_NOT_FOUND",
            field="image",
            value=path,
        ) from None
    limit = IMAGE_LIMITS[kind]
    if len(data) > limit:
        raise InvalidInput(
            f"image '{path}' is larger than SOLAPI's {limit // 1024} KB limit for {kind}",
            code="IMAGE_TOO_LARGE",
            field="image",
            value=path,
            hint="resize or recompress the image",
        )
    if kind == "MMS" and not data.startswith(b"\xff\xd8"):
        raise InvalidInput(
            f"image '{path}' is not a JPEG file (MMS images must be JPEG)",
            code="IMAGE_FORMAT",
            field="image",
            value=path,
        )
    return data
