"""The Kakao host of the fake Aligo (kakaoapi.aligo.in): AlimTalk and FriendTalk sends,
history, templates and tokens (docs/vendors/aligo.md).

Codes (all ``code``, int). Documented (ALIGO-KAKAO-CODES): 0 ok; -99 auth/token; 509 (the
fake uses it for every invalid request: missing or malformed field, receiver indices not
exactly 1..n or over 500, bad senddate, bad Y/N, text or image limits, bad button JSON, no
valid receiver). Not documented, the fake's choice (kmsg treats any of them as a refusal):
-501 tpl_code unknown or not approved (inspStatus != "APR"); -502 ``message_i``/``button_i``
does not match the template; -503 senderkey not registered (``sender_keys``); -504 sender
number not registered; -201 not enough balance.

- Credentials: ``apikey`` + ``userid`` (the SMS host's values); wrong or missing → -99
  "계정 인증에 실패하였습니다.". Tokens (ALIGO-KAKAO-TOKEN): ``/akv10/token/create/{n}/{unit}/``
  (unit y/m/d/h/i/s; month = 30 days) → ``{code:0, message, token, urlencode}``
  (ALIGO-KAKAO-TOKEN-REPLY). Every other Kakao call needs a known, unexpired ``token``
  (-99 otherwise), as Aligo's sample client says (ALIGO-KAKAO-TOKEN-USE); whether the live
  API still enforces it is not verified, so ``require_token = False`` lets calls without a
  token through (a token that is given is always checked). A token is not tied to the
  calling server here (Aligo's is).

``POST /akv10/alimtalk/send/``
- Required: senderkey, tpl_code, sender, receiver_1..n (n ≤ 500, no gaps), message_i for
  each receiver. Optional: subject_i, button_i, failover Y/N, fsubject_i, fmessage_i,
  senddate (YYYYMMDDHHmmss KST, must be later than the clock), testMode Y/N. Fields named
  ``reserve``/``reserve_date``/``reserve_time`` are ignored (sent at once).
- ``message_i`` must equal the template content with every ``#{var}`` replaced by a
  non-empty value that does not contain "#{" (the same variable must get the same value
  everywhere); CRLF is compared as LF. The lazily matched values are in
  ``accepted_messages()[…]["variables"]``.
- Templates with buttons need ``button_i`` = ``{"button":[{name, linkType, …}]}`` with the
  same (name, linkType) pairs in order; links are not compared. A template without buttons
  accepts no button_i or an empty list. Anything else → -502 (JSON that does not parse → 509).
  The shape is an assumption (ALIGO-AT-BUTTON: Aligo's own description was not readable; this
  is the shape of a public client and of the template list's own buttons).
- Invalid receiver numbers count in ``fcnt``; everything else is all-or-nothing.
- ``fmessage_i`` ≤ 2000 bytes and ``fsubject_i`` ≤ 44 bytes (as the SMS host's title,
  ALIGO-SMS-TITLE), else 509.
- Success: ``{code:0, message:"성공적으로 전송요청 하였습니다.", info:{type:"AT", mid,
  current, unit, total, scnt, fcnt}}`` with current = point left, unit = price,
  total = unit * scnt (testMode: nothing charged, total 0). ``kmsg_compat=True`` adds
  ``result_code:"0"`` and ``msg_id``.

``POST /akv10/friendtalk/send/`` (also ``/akv10/friend/send/``, the documented path)
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
  (Codes 3018/3019 are modelled on Kakao's bizmessage codes, not taken from the vendor.)

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
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.fakes._common import KST, cp949_len, kst_text
from tests.fakes.aligo.state import (
    BUTTON_LINK_TYPES,
    KAKAO_FAILED_CODE,
    KAKAO_NON_USER,
    KAKAO_QUERY_MESSAGE,
    KAKAO_SEND_MESSAGE,
    MAX_KAKAO_RECEIVERS,
    AligoError,
    Delivery,
    Form,
    Substitute,
    Upload,
    delivery_phase,
    image_kind,
    is_receiver,
    is_sender,
    match_template,
    normalize_number,
    page_args,
    yn,
)


class KakaoHost:
    """The Kakao host's endpoints (mixed into ``FakeAligo``)."""

    ft_image_limit: int
    kakao_non_users: set[str]
    key: str
    kmsg_compat: bool
    sender_keys: set[str]
    senders: set[str]
    templates: dict[str, Any]
    user_id: str
    _by_request: dict[str, list[Delivery]]
    _point: Decimal
    _tokens: dict[str, float]
    _charge: Callable[[str, int, bool], None]
    _deliver: Callable[..., None]
    _envelope: Callable[..., dict[str, Any]]
    _final_reason: Callable[[str], str | None]
    _new_detail_id: Callable[[], str]
    price: Callable[[str], Decimal]

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
        testmode = yn(form.get("testMode"), "testMode", 509)
        failover = yn(form.get("failover"), "failover", 509)
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

        msg_type = "AT" if channel == "alimtalk" else "FT"
        envelope = self._envelope(channel, endpoint, msg_type, sender, testmode, now, scheduled)
        non_users = {normalize_number(n) for n in self.kakao_non_users}
        substitutes: list[str] = []
        for item in valid:
            receiver = item["receiver"]
            substitute: Substitute | None = None
            reason = self._final_reason(receiver)
            failure: tuple[str, str] | None
            if receiver in non_users:
                failure, outcome = KAKAO_NON_USER, "non_user"
                if failover and item["fmessage"] and not testmode:
                    long_text = cp949_len(item["fmessage"]) > 90 or item["fsubject"] is not None
                    substitute = Substitute(
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
            self._deliver(
                envelope,
                receiver=receiver,
                text=item["message"],
                title=item["subject"],
                failure=failure,
                outcome=outcome,
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
                "mid": int(envelope["request_id"]),
                "current": float(self._point),
                "unit": float(unit),
                "total": float(total),
                "scnt": len(valid),
                "fcnt": len(items) - len(valid),
            },
        }
        if self.kmsg_compat:
            body.update(result_code="0", msg_id=envelope["request_id"])
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
        page, size = page_args(form, "limit", 50, 509)
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

    def _kakao_view(self, delivery: Delivery, now: float) -> dict[str, Any]:
        phase = delivery_phase(delivery, now)
        final = phase == "final"
        status = {
            "test": "테스트",
            "scheduled": "예약대기",
            "cancelled": "취소",
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
            "reqdate": kst_text(delivery.registered),
            "sentdate": kst_text(delivery.t_processed) if sent else "",
            "rsltdate": kst_text(delivery.t_final) if final else "",
            "reportdate": kst_text(delivery.t_final) if final else "",
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
