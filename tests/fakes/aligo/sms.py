"""The SMS host of the fake Aligo (apis.aligo.in): ``/send/``, ``/send_mass/``,
``/sms_list/`` (docs/vendors/aligo.md).

Codes (all ``result_code``): -101 auth; -103 invalid request (missing/invalid field, byte
limits, >1000 receivers, bad/too-early rdate/rtime, image problems, no valid receiver); -105
sender number not registered; -201 not enough balance. Under the default
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
  field sent as a plain string (a URL) → -103; MMS without an image → -103; images with an
  explicit SMS/LMS are ignored (logged only).
- ``rdate`` (YYYYMMDD) + ``rtime`` (HHMM) are both or neither, read as Asia/Seoul (UTC+9),
  and must be at least 600 seconds after the fake clock (so 12:10 at 12:00:30 is refused).
- ``testmode_yn`` Y/N (case-insensitive; anything else -103): Y answers exactly like a real
  send (with a msg_id) but charges nothing and delivers nothing; such messages show
  ``sms_state`` "테스트" and never progress.
- A request whose valid receivers cost more than ``point`` is refused whole (-201).
- ``/send_mass/``: ``cnt`` 1-500, ``msg_type`` required, ``rec_i``/``msg_i`` required for
  every i ≤ cnt (higher indices ignored); title/rdate/rtime/testmode/images are shared.

``POST /sms_list/``: ``mid`` (or ``msg_id``) required (-103), ``page`` ≥ 1 (default 1),
``page_size`` 1-500 (default 30) → ``{result_code:1, message:"success", list:[{mdid, type,
sender, receiver, sms_state, reg_date, send_date, reason}], next_yn:"Y"|"N"}`` in receiver
order; an unknown mid gives an empty list. ``sms_state``: "예약대기" (scheduled, before its
time) → "대기" → "전송중" (``send_date`` set) → "발송완료" or "수신실패" (with ``reason``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.fakes._common import KST, cp949_len, kst_text
from tests.fakes.aligo.state import (
    MAX_MASS,
    MAX_SMS_RECEIVERS,
    SCHEDULE_LEAD_SECONDS,
    SMS_IMAGE_FIELDS,
    SMS_OK_MESSAGE,
    AligoError,
    Delivery,
    Form,
    Upload,
    delivery_phase,
    image_kind,
    is_receiver,
    is_sender,
    normalize_number,
    page_args,
    yn,
)


class SmsHost:
    """The SMS host's send and list endpoints (mixed into ``FakeAligo``)."""

    mms_image_limit: int
    senders: set[str]
    _by_request: dict[str, list[Delivery]]
    _point: Decimal
    _charge: Callable[[str, int, bool], None]
    _deliver: Callable[..., None]
    _envelope: Callable[..., dict[str, Any]]
    _final_reason: Callable[[str], str | None]
    _new_detail_id: Callable[[], str]
    _rc: Callable[..., int | str]
    price: Callable[[str], Decimal]

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
        for name in SMS_IMAGE_FIELDS:
            if form.text(name).strip():
                raise AligoError(-103, f"{name} must be an attached file, not a string")
        images = [upload for name in SMS_IMAGE_FIELDS for upload in form.files.get(name, [])]
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
        envelope = self._envelope("sms", endpoint, msg_type, sender, testmode, now, scheduled)
        used_images = [i.summary() for i in images] if msg_type == "MMS" else []
        for receiver, text in valid:
            failure, outcome = self._sms_outcome(receiver)
            self._deliver(
                envelope,
                receiver=receiver,
                text=text,
                title=title,
                failure=failure,
                outcome=outcome,
                images=used_images,
            )
        if not testmode:
            self._point -= self.price(msg_type) * len(valid)
        return {
            "result_code": self._rc(1, send_success=True),
            "message": SMS_OK_MESSAGE,
            "msg_id": envelope["request_id"],
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
        pairs = list(zip(receivers, texts, strict=True))
        return self._sms_accept(form, now, endpoint, pairs, msg_type, sender, images)

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
        images = self._sms_images(form)
        return self._sms_accept(form, now, endpoint, pairs, msg_type, sender, images)

    def _sms_accept(
        self,
        form: Form,
        now: float,
        endpoint: str,
        pairs: list[tuple[str, str]],
        msg_type: str,
        sender: str,
        images: list[Upload],
    ) -> dict[str, Any]:
        """The checks both send endpoints share (title, images, schedule, test mode), then
        the registration of the valid receivers."""
        title = self._sms_title(form, msg_type)
        if msg_type == "MMS":
            self._check_mms_images(images)
        scheduled = self._sms_schedule(form, now)
        testmode = yn(form.get("testmode_yn"), "testmode_yn", -103)
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

    def _sms_list(self, form: Form, now: float) -> dict[str, Any]:
        mid = (form.get("mid") or form.get("msg_id") or "").strip()
        if not mid:
            raise AligoError(-103, "mid is required")
        page, size = page_args(form, "page_size", 30, -103)
        found = [d for d in self._by_request.get(mid, []) if d.channel == "sms"]
        chunk = found[(page - 1) * size : page * size]
        return {
            "result_code": self._rc(1),
            "message": SMS_OK_MESSAGE,
            "list": [self._sms_view(d, now) for d in chunk],
            "next_yn": "Y" if len(found) > page * size else "N",
        }

    def _sms_view(self, delivery: Delivery, now: float) -> dict[str, Any]:
        phase = delivery_phase(delivery, now)
        state = {
            "test": "테스트",
            "scheduled": "예약대기",
            "cancelled": "예약취소",
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
            "reg_date": kst_text(delivery.registered),
            "send_date": kst_text(delivery.t_processed) if sent else "",
            "reason": reason,
        }
