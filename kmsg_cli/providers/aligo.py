"""Aligo over its form APIs (SMS host and Kakao host), on an injected `httpx.Client`.

Wire facts (REFERENCE-PROVIDERS.md §5, §9 items 6-10, §10):

* Credentials travel inside every form body: `key`/`user_id` on the SMS host
  (`https://apis.aligo.in`), `apikey`/`userid` on the Kakao host (`https://kakaoapi.aligo.in`).
  They never appear in logs, errors or `repr`. Bodies are `application/x-www-form-urlencoded`,
  or `multipart/form-data` when an image file is attached. No Kakao `token` step is used (the
  original never sent one either).
* SMS/LMS/MMS: `POST /send/` sends one text to up to 1,000 comma-separated receivers; messages
  with different texts (same type, sender, subject, schedule, no image) share one
  `POST /send_mass/` (`rec_N`/`msg_N`, up to 500). `msg_type` is always explicit. MMS images
  are JPEG file parts named `image` (never URL strings). Success ⇔ `result_code` 1 (number or
  string); the answer carries one `msg_id` for the whole request.
* AlimTalk: `POST /akv10/alimtalk/send/` with `receiver_N`/`subject_N`/`message_N` (up to 500).
  `message_N` is the approved template fetched from `/akv10/template/list/` (cached per
  provider instance) with every `#{name}` filled from the message variables; a missing
  variable fails fast (InvalidInput MISSING_VARIABLE, every name listed). Templates with
  buttons send `button_N` = `{"button": [...]}` built from the template's own buttons
  (`ordering` dropped, variables filled), and `emtitle_N` for an emphasised title. `failover=Y`
  plus `fsubject_N`/`fmessage_N` only when the message asks for a fallback.
* FriendTalk: `POST /akv10/friend/send/` (Aligo's documented path), image as a JPEG file part.
* Kakao success ⇔ `code` 0 (number or string), id in `info.mid`.
* Scheduling is Korean wall-clock time whatever the machine's timezone: SMS `rdate`=YYYYMMDD
  and `rtime`=HHMM (rounded up to the next whole minute) at least 10 minutes ahead; Kakao
  `senddate`=YYYYMMDDHHmmss. A schedule found already due at send time (a late queue run) is
  sent at once with a `SCHEDULE_PASSED` warning; an SMS schedule less than 10 minutes ahead
  at send time is refused for that message (`SCHEDULE_TOO_SOON`).
* `testmode_yn=Y` (SMS) / `testMode=Y` (Kakao) only when the `testmode` setting is true.
* Every send needs a sender number, Kakao included (Aligo's `sender`, also the number of the
  SMS fallback), and Kakao needs `sender_key`. AlimTalk validation looks the template up
  (one request per template, cached) so that bad variables fail before anything is sent.

Provider message ids. Aligo returns one id per request, so each message's id names the
request id and its receiver, which is what the history lookups match on:

    sms:<msg_id>:<receiver>      e.g. sms:123456789:01012345678
    kakao:<mid>:<receiver>       e.g. kakao:987654:01012345678

A request never holds the same receiver twice, so the pair is unique.

Status lookups (`fetch_statuses`): SMS through `/sms_list/` (by `mid`, items matched on
`receiver`, state from the free-text `sms_state`), Kakao through `/akv10/history/detail/`
(by `mid`, items matched on `phone`, `rslt` "0"/"0000" delivered, any other `rslt` failed,
no `rslt` yet in progress). Text the mapping does not understand gives status None.

Balance (`balance`): `/remain/` counts messages, not money: the amount is `SMS_CNT`, currency
"SMS"; LMS_CNT/MMS_CNT stay in `raw`.

Errors: auth codes (-100, -101) → AuthenticationError; balance codes (-102, -201, or a
message about the balance) → INSUFFICIENT_BALANCE; other vendor codes → PROVIDER_REJECTED with
Aligo's code and message. HTTP 4xx (but 429) are final, 5xx/429/503 are retryable with
Retry-After, a non-JSON answer is a clear PROVIDER_BAD_RESPONSE. Images: JPEG only, MMS at
most 300 KB (carrier MMS limit), FriendTalk at most 500 KB (Kakao's image limit).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from kmsg_cli.errors import (
    AuthenticationError,
    ConfigError,
    InvalidInput,
    ProviderError,
    UnsupportedFeature,
    scrub,
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

log = logging.getLogger("kmsg.aligo")

DEFAULT_SMS_BASE_URL = "https://apis.aligo.in"
DEFAULT_KAKAO_BASE_URL = "https://kakaoapi.aligo.in"
SMS_SEND_PATH = "/send/"
SMS_MASS_PATH = "/send_mass/"
SMS_LIST_PATH = "/sms_list/"
REMAIN_PATH = "/remain/"
ALIMTALK_PATH = "/akv10/alimtalk/send/"
FRIENDTALK_PATH = "/akv10/friend/send/"
TEMPLATE_LIST_PATH = "/akv10/template/list/"
KAKAO_HISTORY_PATH = "/akv10/history/detail/"

SMS_RECEIVERS_PER_REQUEST = 1000  # /send/: comma-separated receivers
MASS_PER_REQUEST = 500  # /send_mass/: rec_N/msg_N
KAKAO_PER_REQUEST = 500  # receiver_N
LOOKUP_PAGE_SIZE = 500
LOOKUP_MAX_PAGES = 20
SCHEDULE_LEAD = timedelta(minutes=10)  # Aligo: rtime at least 10 minutes ahead
KST = timezone(timedelta(hours=9), "KST")  # Korea has had no daylight saving since 1988
IMAGE_LIMITS = {MessageType.MMS: 300 * 1024, MessageType.FRIENDTALK: 500 * 1024}
ALIMTALK_SUBJECT = "알림톡"
FRIENDTALK_SUBJECT = "친구톡"

SMS_TYPES = frozenset({MessageType.SMS, MessageType.LMS, MessageType.MMS})
KAKAO_TYPES = frozenset({MessageType.ALIMTALK, MessageType.FRIENDTALK})

AUTH_CODES = frozenset({"-100", "-101"})
BALANCE_CODES = frozenset({"-102", "-201"})
_BALANCE_WORDS = ("잔액", "잔여", "충전", "포인트 부족", "건수 부족")
KAKAO_SUCCESS_RSLT = frozenset({"0", "00", "0000"})
APPROVED_STATUSES = frozenset({"APR", "APPROVED"})  # template inspStatus

_PLACEHOLDER = re.compile(r"#\{([^{}]*)\}")
_NON_DIGITS = re.compile(r"\D")

Files = list[tuple[str, tuple[str, bytes, str]]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- time (pure) -----------------------------------------------------------------------------
def to_kst(moment: datetime) -> datetime:
    """Korean wall-clock time of an instant; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(KST)


def sms_schedule(moment: datetime) -> dict[str, str]:
    """`rdate`/`rtime` (YYYYMMDD / HHMM, KST). Seconds round up to the next whole minute so
    the vendor never sends earlier than asked (and the 10-minute rule keeps holding)."""
    local = to_kst(moment)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return {"rdate": local.strftime("%Y%m%d"), "rtime": local.strftime("%H%M")}


def kakao_senddate(moment: datetime) -> str:
    """`senddate` (YYYYMMDDHHmmss, KST)."""
    return to_kst(moment).strftime("%Y%m%d%H%M%S")


def _parse_kst(value: Any) -> int | None:
    """Epoch ms of an Aligo timestamp ("2026-11-22 10:00:05" or "20261122100005", KST)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    digits = _NON_DIGITS.sub("", str(value))
    if len(digits) < 12 or digits.startswith("0000"):
        return None
    digits = (digits + "00")[:14]
    try:
        moment = datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=KST)
    except ValueError:
        return None
    return round(moment.timestamp() * 1000)


# -- provider message ids (pure) -------------------------------------------------------------
def provider_message_id(kind: str, mid: str, receiver: str) -> str:
    """`sms:<msg_id>:<receiver>` or `kakao:<mid>:<receiver>` (see the module docstring)."""
    return f"{kind}:{mid}:{receiver}"


def split_provider_message_id(value: str) -> tuple[str, str, str] | None:
    """(kind, mid, receiver) of one of our ids; None for anything else."""
    parts = value.split(":")
    if len(parts) != 3 or parts[0] not in ("sms", "kakao") or not parts[1] or not parts[2]:
        return None
    return parts[0], parts[1], parts[2]


def _digits(value: Any) -> str:
    return _NON_DIGITS.sub("", str(value or ""))


# -- templates (pure) ------------------------------------------------------------------------
@dataclass(frozen=True)
class Template:
    """One approved AlimTalk template as `/akv10/template/list/` describes it."""

    code: str
    content: str
    title: str | None = None  # emphasised title (templtTitle), may hold #{vars}
    buttons: tuple[Mapping[str, Any], ...] = ()
    status: str | None = None  # inspStatus: APR (approved), REJ, REQ, REG


def _var_name(key: str) -> str:
    key = key.strip()
    match = _PLACEHOLDER.fullmatch(key)
    return match.group(1).strip() if match else key


def render_template(content: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """Fill every `#{name}`; returns the text and the names without a value (in order)."""
    values = {_var_name(k): str(v) for k, v in variables.items()}
    missing: dict[str, None] = {}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in values:
            return values[name]
        missing.setdefault(name, None)
        return match.group(0)

    return _PLACEHOLDER.sub(fill, content), list(missing)


def button_json(
    buttons: Sequence[Mapping[str, Any]], variables: Mapping[str, str]
) -> tuple[str | None, list[str]]:
    """`button_N` for a template's buttons: `{"button": [...]}` in the template's order.

    Each button keeps the keys the template list gave (Aligo expects the same shape back:
    name, linkType, linkTypeName, linkMo, linkPc, linkIos, linkAnd), `ordering` dropped and
    `#{var}` filled in its strings. Returns (None, []) when the template has no buttons.
    """
    if not buttons:
        return None, []

    def order(item: tuple[int, Mapping[str, Any]]) -> tuple[float, int]:
        index, button = item
        number = _number(button.get("ordering"))
        return (number if number is not None else float("inf"), index)

    missing: dict[str, None] = {}
    out = []
    for _, button in sorted(enumerate(buttons), key=order):
        entry: dict[str, Any] = {}
        for key, value in button.items():
            if key == "ordering" or value is None or value == "":
                continue
            if isinstance(value, str):
                value, absent = render_template(value, variables)
                missing.update(dict.fromkeys(absent))
            entry[key] = value
        out.append(entry)
    return json.dumps({"button": out}, ensure_ascii=False), list(missing)


def _buttons_of(raw: Any) -> tuple[Mapping[str, Any], ...]:
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except ValueError:
            return ()
    if isinstance(raw, Mapping):
        raw = raw.get("button") or raw.get("buttons") or []
    if not isinstance(raw, list):
        return ()
    return tuple(b for b in raw if isinstance(b, Mapping))


def parse_template_list(body: Mapping[str, Any], template_id: str) -> Template | None:
    """The template `template_id` from a successful template list answer, if listed."""
    listing = body.get("list")
    if not isinstance(listing, list):
        return None
    for item in listing:
        if not isinstance(item, Mapping) or str(item.get("templtCode") or "") != template_id:
            continue
        title = item.get("templtTitle")
        status = item.get("inspStatus")
        return Template(
            code=template_id,
            content=str(item.get("templtContent") or ""),
            title=str(title) if title else None,
            buttons=_buttons_of(item.get("buttons")),
            status=str(status).upper() if status else None,
        )
    return None


# -- answers and errors (pure) ---------------------------------------------------------------
def _number(value: Any) -> float | None:
    """A finite number from a number or a numeric string; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # OverflowError: an int beyond float range
        return None
    return number if math.isfinite(number) else None


def vendor_code(value: Any) -> str | None:
    """Aligo's result code as text: 1, "1", 1.0 → "1"; "-101" → "-101"; None when absent."""
    if value is None or isinstance(value, bool):
        return None
    number = _number(value)
    if number is not None and number == int(number):
        return str(int(number))
    text = str(value).strip()
    return text or None


def _one_line(text: Any, limit: int = 200) -> str:
    line = scrub(" ".join(str(text or "").split()))  # before cutting: no half secret survives
    return line[:limit] + ("…" if len(line) > limit else "")


def vendor_error(
    code: str | None,
    text: Any,
    *,
    provider_id: str,
    http_status: int | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """A failure code in an Aligo answer (SMS `result_code` or Kakao `code`) as our error."""
    detail = _one_line(text)
    message = f"Aligo {code or '?'}" + (f": {detail}" if detail else "")
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": http_status,
        "provider_code": code,
        "retry_after": retry_after,
    }
    if code in AUTH_CODES:
        return AuthenticationError(
            f"Aligo refused the credentials ({message})",
            hint=f"check api_key and user_id of provider '{provider_id}' (kmsg config validate)",
            **common,
        )
    if code in BALANCE_CODES or any(word in detail for word in _BALANCE_WORDS):
        return ProviderError(
            message,
            code="INSUFFICIENT_BALANCE",
            hint="charge the Aligo account (kmsg providers balance)",
            **common,
        )
    return ProviderError(message, code="PROVIDER_REJECTED", **common)


def bad_response(provider_id: str, what: str, *, sends: bool, status: int | None) -> ProviderError:
    """A 2xx answer that cannot be read: for a send, it may have been accepted anyway."""
    return ProviderError(
        f"unexpected answer from {provider_id}: {what}",
        code="PROVIDER_BAD_RESPONSE",
        provider_id=provider_id,
        http_status=status,
        outcome_unknown=sends,
    )


def error_from_response(response: httpx.Response, *, provider_id: str) -> ProviderError:
    """Map a non-2xx answer: 429/503/5xx retryable (Retry-After kept), other 4xx final."""
    status = response.status_code
    body = json_or_none(response)
    mapping = body if isinstance(body, Mapping) else {}
    code = vendor_code(mapping.get("result_code", mapping.get("code")))
    text = mapping.get("message")
    wait = retry_after(response)
    if body is None:
        detail = f"a non-JSON body: {body_excerpt(response)}"
    else:
        detail = _one_line(text) or body_excerpt(response)
    message = f"Aligo HTTP {status}" + (f" ({code})" if code else "") + f": {detail}"
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": status,
        "provider_code": code,
        "retry_after": wait,
    }
    if status == 429 or status == 503:
        return ProviderError(
            message,
            code="RATE_LIMITED" if status == 429 else "SERVICE_UNAVAILABLE",
            retryable=True,
            **common,
        )
    if status >= 500:
        return ProviderError(message, code="PROVIDER_ERROR", retryable=True, **common)
    if code is not None and code not in ("0", "1"):
        return vendor_error(code, text, provider_id=provider_id, http_status=status)
    if status in (401, 403):
        return AuthenticationError(
            f"Aligo refused the request (HTTP {status}): {detail}",
            hint=f"check api_key and user_id of provider '{provider_id}' (kmsg config validate)",
            **common,
        )
    return ProviderError(message, code="PROVIDER_REJECTED", **common)


def check_sms_answer(
    body: Mapping[str, Any], *, provider_id: str, sends: bool, status: int | None = None
) -> None:
    """Raise unless an SMS-host answer says `result_code` 1."""
    code = vendor_code(body.get("result_code"))
    if code is None:
        raise bad_response(provider_id, "the answer has no result_code", sends=sends, status=status)
    if code != "1":
        raise vendor_error(code, body.get("message"), provider_id=provider_id, http_status=status)


def check_kakao_answer(
    body: Mapping[str, Any], *, provider_id: str, sends: bool, status: int | None = None
) -> None:
    """Raise unless a Kakao-host answer says `code` 0."""
    code = vendor_code(body.get("code"))
    if code is None:
        raise bad_response(provider_id, "the answer has no code", sends=sends, status=status)
    if code != "0":
        raise vendor_error(code, body.get("message"), provider_id=provider_id, http_status=status)


# -- delivery status (pure) ------------------------------------------------------------------
_SMS_FAILED_WORDS = (
    "실패",
    "결번",
    "수신거부",
    "거부",
    "전원",
    "음영",
    "번호이동",
    "스팸",
    "오류",
    "에러",
    "없는",
    "초과",
    "미지원",
    "불가",
)


def map_sms_state(state: str | None) -> DeliveryStatus | None:
    """Aligo's free-text `sms_state` → our status; None for text not understood."""
    text = (state or "").replace(" ", "")
    if not text:
        return None
    if "취소" in text:
        return DeliveryStatus.CANCELLED
    if any(word in text for word in _SMS_FAILED_WORDS):
        return DeliveryStatus.FAILED
    if "예약" in text or "대기" in text or "접수" in text:
        return DeliveryStatus.PENDING
    if "중" in text:  # 전송중, 발송중, 처리중
        return DeliveryStatus.SENT
    if "완료" in text or "성공" in text:
        return DeliveryStatus.DELIVERED
    return None


def parse_sms_list_item(item: Mapping[str, Any], pmid: str) -> StatusUpdate:
    """One `/sms_list/` entry (mdid, type, sender, receiver, sms_state, send_date, ...)."""
    state = item.get("sms_state")
    text = _one_line(state) or None
    status = map_sms_state(text)
    sent = _parse_kst(item.get("send_date"))
    return StatusUpdate(
        provider_message_id=pmid,
        status=status,
        provider_status_code=text,
        provider_status_message=text,
        sent_at=sent,
        raw=dict(item),
    )


def map_kakao_detail(item: Mapping[str, Any]) -> DeliveryStatus | None:
    """`rslt` "0"/"0000" delivered, any other `rslt` failed; without `rslt`, by `status`."""
    rslt = str(item.get("rslt") or "").strip()
    if rslt in KAKAO_SUCCESS_RSLT:
        return DeliveryStatus.DELIVERED
    if rslt:
        return DeliveryStatus.FAILED
    state = str(item.get("status") or "").replace(" ", "")
    if "취소" in state:
        return DeliveryStatus.CANCELLED
    if "실패" in state:
        return DeliveryStatus.FAILED
    if "예약" in state or "대기" in state:
        return DeliveryStatus.PENDING
    if "중" in state or str(item.get("msgid") or "").startswith("Q"):
        return DeliveryStatus.SENT
    return None


def parse_kakao_detail_item(item: Mapping[str, Any], pmid: str) -> StatusUpdate:
    """One `/akv10/history/detail/` entry (msgid, phone, status, rslt, rslt_message, ...)."""
    status = map_kakao_detail(item)
    rslt = str(item.get("rslt") or "").strip() or None
    text = _one_line(item.get("rslt_message")) or _one_line(item.get("status")) or None
    sent = _parse_kst(item.get("sentdate")) or _parse_kst(item.get("reqdate"))
    result_at = _parse_kst(item.get("rsltdate")) or _parse_kst(item.get("reportdate"))
    return StatusUpdate(
        provider_message_id=pmid,
        status=status,
        provider_status_code=rslt,
        provider_status_message=text,
        sent_at=sent,
        delivered_at=result_at if status is DeliveryStatus.DELIVERED else None,
        failed_at=result_at if status is DeliveryStatus.FAILED else None,
        raw=dict(item),
    )


def parse_balance(body: Mapping[str, Any], *, provider_id: str) -> Balance:
    """`/remain/`: the SMS count is the amount (currency "SMS"); LMS/MMS counts stay in raw."""
    check_sms_answer(body, provider_id=provider_id, sends=False)
    amount = _number(body.get("SMS_CNT"))
    if amount is None:
        raise bad_response(
            provider_id, "the remain answer has no SMS_CNT", sends=False, status=None
        )
    return Balance(provider_id, amount, "SMS", None, dict(body))


# -- the HTTP boundary for form bodies -------------------------------------------------------
def post_form(
    client: httpx.Client,
    url: str,
    *,
    provider_id: str,
    sends: bool,
    fields: Mapping[str, str],
    files: Files | None = None,
) -> httpx.Response:
    """POST a form (urlencoded, or multipart with files); transport failures are mapped
    exactly like `_http.send_request` maps them (connect: retryable, not sent; write:
    retryable; read/lost answer: outcome unknown for sends)."""
    return send_request(
        client,
        "POST",
        url,
        provider_id=provider_id,
        sends=sends,
        form=fields,
        files=files or None,
    )


# -- request planning ------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """A message made ready for the wire: sender, schedule, rendered text, image bytes."""

    message: Message
    sender: str | None
    schedule: datetime | None  # None: send at once
    text: str
    warnings: tuple[Notice, ...] = ()
    button: str | None = None
    emtitle: str | None = None
    image: tuple[str, bytes] | None = None  # (file name, JPEG bytes)

    @property
    def receiver(self) -> str:
        return self.message.to.number


@dataclass
class Call:
    """One request to make: where, which fields and files, for which messages."""

    kind: str  # "sms" (SMS host) or "kakao" (Kakao host)
    path: str
    fields: dict[str, str]
    items: list[Prepared]
    files: Files = field(default_factory=list)


def _unique_chunks(items: Sequence[Prepared], size: int) -> list[list[Prepared]]:
    """Split into chunks of at most `size`, never putting one receiver twice in a chunk."""
    chunks: list[tuple[list[Prepared], set[str]]] = []
    for item in items:
        for chunk, seen in chunks:
            if len(chunk) < size and item.receiver not in seen:
                chunk.append(item)
                seen.add(item.receiver)
                break
        else:
            chunks.append(([item], {item.receiver}))
    return [chunk for chunk, _ in chunks]


def _image_files(item: Prepared) -> Files:
    if item.image is None:
        return []
    name, data = item.image
    return [("image", (name, data, "image/jpeg"))]


def sms_send_call(items: Sequence[Prepared], *, testmode: bool) -> Call:
    """`/send/`: one text (and envelope) for every receiver of `items`."""
    first = items[0]
    message = first.message
    fields = {
        "sender": first.sender or "",
        "receiver": ",".join(item.receiver for item in items),
        "msg": first.text,
        "msg_type": message.type.value,
    }
    if message.subject and message.type is not MessageType.SMS:
        fields["title"] = message.subject
    if first.schedule is not None:
        fields.update(sms_schedule(first.schedule))
    if testmode:
        fields["testmode_yn"] = "Y"
    return Call("sms", SMS_SEND_PATH, fields, list(items), _image_files(first))


def sms_mass_call(items: Sequence[Prepared], *, testmode: bool) -> Call:
    """`/send_mass/`: one envelope, a different text per receiver (`rec_N`/`msg_N`)."""
    first = items[0]
    message = first.message
    fields = {"sender": first.sender or "", "msg_type": message.type.value}
    for number, item in enumerate(items, start=1):
        fields[f"rec_{number}"] = item.receiver
        fields[f"msg_{number}"] = item.text
    fields["cnt"] = str(len(items))
    if message.subject and message.type is not MessageType.SMS:
        fields["title"] = message.subject
    if first.schedule is not None:
        fields.update(sms_schedule(first.schedule))
    if testmode:
        fields["testmode_yn"] = "Y"
    return Call("sms", SMS_MASS_PATH, fields, list(items), _image_files(first))


def kakao_call(items: Sequence[Prepared], *, sender_key: str, testmode: bool) -> Call:
    """AlimTalk (`tpl_code`, rendered template per receiver) or FriendTalk (image file part)."""
    first = items[0]
    message = first.message
    alimtalk = message.type is MessageType.ALIMTALK
    fields = {"senderkey": sender_key}
    if alimtalk:
        fields["tpl_code"] = message.template_id or ""
    if first.sender:
        fields["sender"] = first.sender
    if first.schedule is not None:
        fields["senddate"] = kakao_senddate(first.schedule)
    failover = alimtalk and message.failover is not None
    if failover:
        fields["failover"] = "Y"
    default_subject = ALIMTALK_SUBJECT if alimtalk else FRIENDTALK_SUBJECT
    for number, item in enumerate(items, start=1):
        subject = item.message.subject or default_subject
        fields[f"receiver_{number}"] = item.receiver
        fields[f"subject_{number}"] = subject
        fields[f"message_{number}"] = item.text
        if item.emtitle:
            fields[f"emtitle_{number}"] = item.emtitle
        if item.button:
            fields[f"button_{number}"] = item.button
        fallback = item.message.failover
        if failover and fallback is not None:
            fields[f"fsubject_{number}"] = fallback.subject or subject
            fields[f"fmessage_{number}"] = fallback.text
    if testmode:
        fields["testMode"] = "Y"
    path = ALIMTALK_PATH if alimtalk else FRIENDTALK_PATH
    return Call("kakao", path, fields, list(items), _image_files(first))


def plan_calls(
    items: Sequence[Prepared], *, batch_size: int, sender_key: str | None, testmode: bool
) -> list[Call]:
    """Group prepared messages into as few requests as Aligo allows, in a stable order.

    SMS family: same envelope (type, sender, subject, image, schedule) and same text →
    `/send/` with many receivers; different texts without an image → `/send_mass/`.
    Kakao: AlimTalk by (template, sender, schedule, failover), FriendTalk by (sender, image,
    schedule), up to 500 receivers per request.
    """
    calls: list[Call] = []
    envelopes: dict[tuple[Any, ...], list[Prepared]] = {}
    kakao: dict[tuple[Any, ...], list[Prepared]] = {}
    for item in items:
        message = item.message
        if message.type in SMS_TYPES:
            key: tuple[Any, ...] = (
                message.type,
                item.sender,
                message.subject if message.type is not MessageType.SMS else None,
                message.image,
                item.schedule,
            )
            envelopes.setdefault(key, []).append(item)
        elif message.type is MessageType.ALIMTALK:
            key = ("AT", message.template_id, item.sender, item.schedule, message.failover is None)
            kakao.setdefault(key, []).append(item)
        else:
            key = ("FT", item.sender, message.image, item.schedule)
            kakao.setdefault(key, []).append(item)
    receivers_per_send = max(1, min(batch_size, SMS_RECEIVERS_PER_REQUEST))
    per_mass = max(1, min(batch_size, MASS_PER_REQUEST))
    per_kakao = max(1, min(batch_size, KAKAO_PER_REQUEST))
    for group in envelopes.values():
        by_text: dict[str, list[Prepared]] = {}
        for item in group:
            by_text.setdefault(item.text, []).append(item)
        singles = [same[0] for same in by_text.values() if len(same) == 1]
        for same in by_text.values():
            if len(same) > 1:
                calls += [
                    sms_send_call(chunk, testmode=testmode)
                    for chunk in _unique_chunks(same, receivers_per_send)
                ]
        if len(singles) > 1 and group[0].message.image is None:
            for chunk in _unique_chunks(singles, per_mass):
                if len(chunk) == 1:
                    calls.append(sms_send_call(chunk, testmode=testmode))
                else:
                    calls.append(sms_mass_call(chunk, testmode=testmode))
        else:
            calls += [sms_send_call([item], testmode=testmode) for item in singles]
    for group in kakao.values():
        calls += [
            kakao_call(chunk, sender_key=sender_key or "", testmode=testmode)
            for chunk in _unique_chunks(group, per_kakao)
        ]
    return calls


def results_for_call(call: Call, body: Mapping[str, Any], *, provider_id: str) -> list[SendResult]:
    """Accepted results for every message of a successful request (answer already checked)."""
    if call.kind == "sms":
        mid = str(body.get("msg_id") or "").strip()
        ok, bad = _number(body.get("success_cnt")), _number(body.get("error_cnt"))
    else:
        info = body.get("info")
        details: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
        mid = str(details.get("mid") or "").strip()
        ok, bad = _number(details.get("scnt")), _number(details.get("fcnt"))
    notes: list[Notice] = []
    if bad:
        notes.append(
            Notice(
                "PARTIAL_ERRORS",
                f"Aligo counted {int(bad)} error(s) and {int(ok or 0)} success(es) in this "
                "request; delivery tracking tells which recipients failed",
            )
        )
    if not mid:
        notes.append(Notice("NO_PROVIDER_ID", "Aligo accepted the request without an id"))
    results = []
    for item in call.items:
        message = item.message
        results.append(
            SendResult(
                message_id=message.message_id,
                provider_id=provider_id,
                accepted=True,
                status=DeliveryStatus.PENDING if item.schedule else DeliveryStatus.SENT,
                provider_message_id=(
                    provider_message_id(call.kind, mid, item.receiver) if mid else ""
                ),
                group_id=mid or None,
                provider_code=vendor_code(body.get("result_code", body.get("code"))),
                native_failover=(
                    message.type is MessageType.ALIMTALK and message.failover is not None
                ),
                warnings=item.warnings + tuple(notes),
                raw=dict(body),
            )
        )
    return results


def _refused(
    message: Message,
    provider_id: str,
    code: str,
    text: str,
    *,
    retryable: bool = False,
    outcome_unknown: bool = False,
    provider_code: str | None = None,
) -> SendResult:
    return SendResult(
        message_id=message.message_id,
        provider_id=provider_id,
        accepted=False,
        status=DeliveryStatus.UNKNOWN if outcome_unknown else DeliveryStatus.FAILED,
        error_code=code,
        error_message=text,
        provider_code=provider_code,
        retryable=retryable,
        outcome_unknown=outcome_unknown,
    )


def _from_error(message: Message, error: ProviderError) -> SendResult:
    return _refused(
        message,
        error.provider_id or "",
        error.code,
        error.message,
        retryable=error.retryable,
        outcome_unknown=error.outcome_unknown,
        provider_code=error.provider_code,
    )


# -- the client ------------------------------------------------------------------------------
class AligoProvider:
    type = "aligo"
    capabilities: Capabilities = CATALOG["aligo"]
    native_failover = True  # failover=Y + fmessage_N: Aligo sends the SMS fallback itself

    def __init__(
        self,
        provider_id: str,
        settings: Mapping[str, Any],
        http: httpx.Client | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.id = provider_id
        self._api_key = _required(settings, "api_key", provider_id)
        self._user_id = _required(settings, "user_id", provider_id)
        self.sender: str | None = _optional(settings.get("sender"))
        self.sender_key: str | None = _optional(settings.get("sender_key"))
        self.sms_base_url = str(settings.get("sms_base_url") or DEFAULT_SMS_BASE_URL).rstrip("/")
        self.kakao_base_url = str(settings.get("kakao_base_url") or DEFAULT_KAKAO_BASE_URL).rstrip(
            "/"
        )
        self.testmode = _truthy(settings.get("testmode"))
        batch = int(settings.get("batch_size") or 1000)
        self.batch_size = max(1, min(batch, self.capabilities.max_batch))
        self._own_http = http is None
        self.http = http if http is not None else new_client(settings)
        self.clock = clock
        self._templates: dict[str, Template | None] = {}

    def __repr__(self) -> str:  # never show the key
        return (
            f"AligoProvider(id={self.id!r}, sms_base_url={self.sms_base_url!r}, "
            f"kakao_base_url={self.kakao_base_url!r}, testmode={self.testmode})"
        )

    # -- checks before anything is sent --------------------------------------------------
    def validate(self, message: Message) -> None:
        """Refuse what Aligo would surely reject; for AlimTalk, render the approved template
        (one cached `/akv10/template/list/` lookup per template) so a missing variable fails
        before anything is sent."""
        if not message.to.is_korean:
            raise UnsupportedFeature(
                f"provider '{self.id}' (Aligo) sends to Korean numbers only, not {message.to.e164}",
                code="INTERNATIONAL_UNSUPPORTED",
                field="to",
                value=str(message.to),
                hint="route international numbers to a provider that supports them (solapi)",
            )
        if message.type in KAKAO_TYPES and not self.sender_key:
            raise ConfigError(
                f"provider '{self.id}' has no sender_key, needed for {message.type.value}",
                code="MISSING_SETTING",
                field="sender_key",
                hint='set sender_key = "env:ALIGO_SENDER_KEY" and export the variable',
            )
        if not (message.sender or self.sender):
            # Aligo's `sender` is required on every send, Kakao included (the SMS fallback
            # number); REFERENCE-PROVIDERS.md §5.1/§5.4.
            raise self._missing_sender(message)
        if message.image and message.type in IMAGE_LIMITS:
            _read_image(message.image, message.type)
        if message.scheduled_at is not None and message.type in SMS_TYPES:
            earliest = self.clock() + SCHEDULE_LEAD
            if to_kst(message.scheduled_at) < earliest:
                raise InvalidInput(
                    f"Aligo schedules SMS/LMS/MMS at least 10 minutes ahead; "
                    f"{to_kst(message.scheduled_at):%Y-%m-%d %H:%M} KST is too soon",
                    code="SCHEDULE_TOO_SOON",
                    field="at",
                    value=message.scheduled_at.isoformat(),
                    hint="use --at +10m or later, or send now without --at",
                )
        if message.type is MessageType.ALIMTALK:
            self._render(message)

    def _missing_sender(self, message: Message) -> InvalidInput:
        return InvalidInput(
            f"a sender number is required for {message.type.value} through '{self.id}'",
            code="MISSING_SENDER",
            field="from",
            hint=f"pass --from 0212345678 or set sender in provider '{self.id}'",
        )

    def template(self, template_id: str) -> Template | None:
        """The template as Aligo lists it (cached per instance); None when not listed."""
        if template_id not in self._templates:
            body = self._call(
                "kakao",
                TEMPLATE_LIST_PATH,
                {"senderkey": self.sender_key or "", "tpl_code": template_id},
                sends=False,
            )
            check_kakao_answer(body, provider_id=self.id, sends=False)
            self._templates[template_id] = parse_template_list(body, template_id)
        return self._templates[template_id]

    def _render(self, message: Message) -> tuple[str, str | None, str | None]:
        """(text, button_N, emtitle_N) of an AlimTalk; InvalidInput when it cannot be."""
        template_id = message.template_id or ""
        found = self.template(template_id) if template_id else None
        if found is None:
            raise InvalidInput(
                f"AlimTalk template '{template_id}' is not listed for sender_key of "
                f"provider '{self.id}'",
                code="TEMPLATE_NOT_FOUND",
                field="template",
                value=template_id,
                hint="check the template code in Aligo's console (it must belong to sender_key)",
            )
        if found.status and found.status not in APPROVED_STATUSES:
            raise InvalidInput(
                f"AlimTalk template '{template_id}' is not approved (inspStatus {found.status})",
                code="TEMPLATE_NOT_APPROVED",
                field="template",
                value=template_id,
                hint="wait for Kakao's review or use an approved template",
            )
        text, missing = render_template(found.content, message.variables)
        button, in_buttons = button_json(found.buttons, message.variables)
        title, in_title = (
            render_template(found.title, message.variables) if found.title else (None, [])
        )
        names = list(dict.fromkeys(missing + in_buttons + in_title))
        if names:
            listed = ", ".join(names)
            plural = "s" if len(names) > 1 else ""
            raise InvalidInput(
                f"missing variable{plural} for template '{template_id}': {listed} "
                f"(use --var {names[0]}=VALUE)",
                code="MISSING_VARIABLE",
                field="variables",
                value=listed,
                hint="give each with --var NAME=VALUE or --vars JSON "
                "(send-many: a column per name)",
            )
        return text, button, title

    # -- send ------------------------------------------------------------------------------
    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        """One result per message, in order. Every message is prepared (template rendered,
        image read) before any request; then requests go out one by one. A failure of the
        only request (or of the first one when it stops the rest) raises; once something
        was sent, failures become per-message results so nothing accepted is lost."""
        results: dict[str, SendResult] = {}
        prepared: list[Prepared] = []
        for message in messages:
            outcome = self._prepare(message)
            if isinstance(outcome, SendResult):
                results[message.message_id] = outcome
            else:
                prepared.append(outcome)
        refused_here = len(results)
        calls = plan_calls(
            prepared,
            batch_size=self.batch_size,
            sender_key=self.sender_key,
            testmode=self.testmode,
        )
        errors: list[ProviderError] = []
        stopped: ProviderError | None = None
        for call in calls:
            if stopped is not None:
                for item in call.items:
                    results[item.message.message_id] = _refused(
                        item.message,
                        self.id,
                        "NOT_SENT",
                        f"not sent: an earlier request to Aligo failed ({stopped.message})",
                        retryable=True,
                    )
                continue
            try:
                body = self._call(call.kind, call.path, call.fields, files=call.files, sends=True)
                if call.kind == "sms":
                    check_sms_answer(body, provider_id=self.id, sends=True)
                else:
                    check_kakao_answer(body, provider_id=self.id, sends=True)
            except ProviderError as error:
                errors.append(error)
                for item in call.items:
                    results[item.message.message_id] = _from_error(item.message, error)
                if error.code != "PROVIDER_REJECTED":
                    stopped = error  # credentials, balance, network: the rest would fail too
                continue
            for result in results_for_call(call, body, provider_id=self.id):
                results[result.message_id] = result
        if (
            len(errors) == 1
            and not refused_here
            and not any(r.accepted for r in results.values())
            and (len(calls) == 1 or not errors[0].outcome_unknown)
        ):
            # the whole (first) request failed and nothing else happened; an unknown outcome
            # concerns only that request's messages, never the ones left unsent after it
            raise errors[0]
        return [results[m.message_id] for m in messages]

    def _prepare(self, message: Message) -> Prepared | SendResult:
        """The message ready for the wire, or a refusal that needs no request."""
        if not message.to.is_korean:
            return _refused(
                message,
                self.id,
                "INTERNATIONAL_UNSUPPORTED",
                f"Aligo sends to Korean numbers only, not {message.to.e164}",
            )
        if message.type in KAKAO_TYPES and not self.sender_key:
            return _refused(
                message, self.id, "MISSING_SETTING", f"provider '{self.id}' has no sender_key"
            )
        sender = message.sender or self.sender
        if not sender:
            return _refused(message, self.id, "MISSING_SENDER", "a sender number is required")
        warnings: tuple[Notice, ...] = ()
        schedule = message.scheduled_at
        if schedule is not None:
            now = self.clock()
            if to_kst(schedule) <= now:
                schedule = None
                warnings += (
                    Notice(
                        "SCHEDULE_PASSED",
                        "the scheduled time had passed when the message was sent; sent now",
                    ),
                )
            elif message.type in SMS_TYPES and to_kst(schedule) < now + SCHEDULE_LEAD:
                return _refused(
                    message,
                    self.id,
                    "SCHEDULE_TOO_SOON",
                    "Aligo schedules SMS/LMS/MMS at least 10 minutes ahead; "
                    f"{to_kst(schedule):%Y-%m-%d %H:%M} KST is too soon",
                )
        image: tuple[str, bytes] | None = None
        if message.image and message.type in IMAGE_LIMITS:
            try:
                image = (os.path.basename(message.image), _read_image(message.image, message.type))
            except InvalidInput as error:
                return _refused(message, self.id, error.code, error.message)
        text, button, emtitle = message.text, None, None
        if message.type is MessageType.ALIMTALK:
            try:
                text, button, emtitle = self._render(message)
            except InvalidInput as error:
                return _refused(message, self.id, error.code, error.message)
        return Prepared(
            message=message,
            sender=sender,
            schedule=schedule,
            text=text,
            warnings=warnings,
            button=button,
            emtitle=emtitle,
            image=image,
        )

    # -- lookups -----------------------------------------------------------------------------
    def fetch_statuses(self, provider_message_ids: Sequence[str]) -> dict[str, StatusUpdate]:
        """Current status by our provider message id, one history lookup per request id.

        Items are matched by request id + receiver only. An id the vendor does not list is
        absent (checked again later). A failed lookup of one request id leaves only its
        messages unanswered; when every lookup fails the first error is raised.
        """
        wanted: dict[tuple[str, str], dict[str, list[str]]] = {}
        for pmid in dict.fromkeys(provider_message_ids):
            parts = split_provider_message_id(pmid)
            if parts is None:
                continue
            kind, mid, receiver = parts
            wanted.setdefault((kind, mid), {}).setdefault(_digits(receiver), []).append(pmid)
        found: dict[str, StatusUpdate] = {}
        errors: list[ProviderError] = []
        for (kind, mid), receivers in wanted.items():
            try:
                items = self._history(kind, mid)
            except AuthenticationError:
                raise
            except ProviderError as error:
                log.warning("Aligo lookup of %s id %s failed: %s", kind, mid, error.message)
                errors.append(error)
                continue
            for item in items:
                number = _digits(item.get("receiver" if kind == "sms" else "phone"))
                for pmid in receivers.get(number, []):
                    if pmid in found:
                        continue
                    if kind == "sms":
                        found[pmid] = parse_sms_list_item(item, pmid)
                    else:
                        found[pmid] = parse_kakao_detail_item(item, pmid)
        if errors and len(errors) == len(wanted):
            raise errors[0]
        return found

    def _history(self, kind: str, mid: str) -> list[Mapping[str, Any]]:
        """Every entry of one request's history, page by page (bounded)."""
        items: list[Mapping[str, Any]] = []
        for page in range(1, LOOKUP_MAX_PAGES + 1):
            if kind == "sms":
                fields = {"mid": mid, "page": str(page), "page_size": str(LOOKUP_PAGE_SIZE)}
                body = self._call("sms", SMS_LIST_PATH, fields, sends=False)
                check_sms_answer(body, provider_id=self.id, sends=False)
                more = str(body.get("next_yn") or "").upper() == "Y"
            else:
                fields = {"mid": mid, "page": str(page), "limit": str(LOOKUP_PAGE_SIZE)}
                body = self._call("kakao", KAKAO_HISTORY_PATH, fields, sends=False)
                check_kakao_answer(body, provider_id=self.id, sends=False)
                current = _number(body.get("currentPage"))
                total = _number(body.get("totalPage"))
                more = current is not None and total is not None and current < total
            listing = body.get("list")
            page_items = (
                [i for i in listing if isinstance(i, Mapping)] if isinstance(listing, list) else []
            )
            items += page_items
            if not more or not page_items:
                break
        return items

    def balance(self) -> Balance:
        """Remaining messages (`/remain/`): amount = SMS_CNT, currency "SMS"."""
        body = self._call("sms", REMAIN_PATH, {}, sends=False)
        return parse_balance(body, provider_id=self.id)

    # -- plumbing ---------------------------------------------------------------------------
    def _call(
        self,
        host: str,
        path: str,
        fields: Mapping[str, str],
        *,
        sends: bool,
        files: Files | None = None,
    ) -> Mapping[str, Any]:
        """POST one form with the credentials of `host`; the decoded JSON object or an error."""
        if host == "sms":
            url = self.sms_base_url + path
            auth = {"key": self._api_key, "user_id": self._user_id}
        else:
            url = self.kakao_base_url + path
            auth = {"apikey": self._api_key, "userid": self._user_id}
        response = post_form(
            self.http,
            url,
            provider_id=self.id,
            sends=sends,
            fields={**auth, **fields},
            files=files,
        )
        if not response.is_success:
            raise error_from_response(response, provider_id=self.id)
        body = json_or_none(response)
        if not isinstance(body, Mapping):
            raise ProviderError(
                f"Aligo answered HTTP {response.status_code} with a non-JSON body: "
                f"{body_excerpt(response)}",
                code="PROVIDER_BAD_RESPONSE",
                provider_id=self.id,
                http_status=response.status_code,
                outcome_unknown=sends,
            )
        return body

    def close(self) -> None:
        if self._own_http:
            self.http.close()


# -- small helpers ---------------------------------------------------------------------------
def _required(settings: Mapping[str, Any], key: str, provider_id: str) -> str:
    value = settings.get(key)
    if value is None or not str(value).strip():
        raise ConfigError(
            f"provider '{provider_id}' needs {key}",
            code="MISSING_SETTING",
            field=key,
            hint=f'set {key} = "env:ALIGO_{key.upper()}" and export the variable',
        )
    return str(value).strip()


def _optional(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "y", "on")


def _read_image(path: str, kind: MessageType) -> bytes:
    """The image bytes when the file exists, is JPEG and fits Aligo's limit for `kind`."""
    limit = IMAGE_LIMITS[kind]
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read image '{path}': {exc.strerror or type(exc).__name__}",
            code="IMAGE_NOT_FOUND",
            field="image",
            value=path,
        ) from None
    if not data.startswith(b"\xff\xd8\xff"):
        raise InvalidInput(
            f"image '{path}' is not a JPEG file (Aligo {kind.value} images must be JPEG)",
            code="IMAGE_FORMAT",
            field="image",
            value=path,
            hint="convert the image to JPEG",
        )
    if len(data) > limit:
        raise InvalidInput(
            f"image '{path}' is larger than Aligo's {limit // 1024} KB limit for {kind.value}",
            code="IMAGE_TOO_LARGE",
            field="image",
            value=path,
            hint="resize or recompress the image",
        )
    return data
