"""The SMS v2 host of the fake IWINV: SMS/LMS send (JSON), MMS send (multipart) and history
(docs/vendors/iwinv.md).

resultCodes (meanings from docs/vendors/iwinv.md, IWINV-SMS-CODES; which check answers which
code is chosen here): 0 "전송 성공"; 1 malformed request — body not a JSON object / bad
multipart, text missing or blank, unknown ``msgType``/``typeCode`` (allowed: SMS, LMS, GSMS;
MMS only through multipart), JSON send with type MMS; 13 ``from`` missing or not a registered
sender; 14 missing/wrong ``secret`` header, or history ``companyid`` ≠ ``sms_company_id``; 15
IP not registered (``sms_ip_error_code``, default 15, may be set to 206); 21 text over the
limit (SMS/GSMS 90, LMS/MMS 2000 CP949 bytes; a character outside CP949 counts 2 bytes); 22
a title with a character other than Korean (Hangul syllables), English letters, digits,
space and ``[ ] ( ) < >`` (IWINV-SMS-TITLE; that space is allowed is an assumption, the
documents do not say); 23 title over 40 bytes; 31 an image of 102,400 bytes or more
(IWINV-MMS-IMAGE: under 100 KB); 32 an image whose file name does not end in one of
``mms_extensions`` (default: ``jpg`` only, as the clients read IWINV's rule; ``.jpeg`` is
refused by assumption) or that is not JPEG data; 33 no image part (or an empty one); 41 no
recipient, or a recipient that is not 9–11 ASCII digits starting with 0; 42 ``date`` less
than 15 minutes after the fake clock or a calendar month or more ahead, Korea time
(IWINV-SMS-WINDOW); 43 ``date`` or history dates not "yyyy-MM-dd HH:mm:ss" (history:
"yyyy-MM-dd" too), history start > end or a span over 90 days; 44 more than 1000 recipients
"최대 1000건"; 50 balance too low; 202 the fake has no SMS keys (``sms_api_key`` or
``sms_auth_key`` is None): "no SMS permission".

- Type: ``msgType`` (what kmsg sends) or ``typeCode``; if both are absent, LMS when a title is
  given or the text is over 90 bytes, else SMS. GSMS is treated as SMS. A title on SMS is
  ignored. ``to`` may be a list or a single string; duplicates are kept. MMS form fields:
  version, from, to (repeatable or comma-separated), title (optional), text, date, image (file
  part, its file name must carry the extension). A urlencoded body → 1.
- One ``requestNo`` (a digit string, increasing from "7000000001") per SMS request.
- Progress (IWINV-SMS-STATUS, IWINV-LMS-STATUS): until final, sendStatusCode "0" "전송 대기"
  ("WAIT" "예약 대기" before a reserved time), sendDate "". Final: SMS ("06", "전송 성공"),
  LMS/MMS ("1000", "전송 성공"); via ``final_outcomes``: "failed" → SMS ("07", ...) or LMS/MMS
  ("2001", ...), "pending" (never final), or an explicit (code, text) tuple. ``sendStatus``
  repeats sendStatusMsg. ``kakao_non_users`` does not affect SMS.
- History: ``companyid`` required; filters ``requestNo``, ``phone``, ``startDate``/
  ``endDate`` (days, inclusive); ``pageNum`` as on the AlimTalk host, but ``pageSize`` is
  ignored: every page holds 15 items (IWINV-SMS-HIST-PAGE, as IWINV was observed to do).
"""

from __future__ import annotations

from typing import Any

from tests.fakes._common import cp949_len, kst_text
from tests.fakes.iwinv.state import (
    HISTORY_MAX_DAYS,
    MAX_RECIPIENTS,
    MMS_IMAGE_LIMIT,
    PRICES,
    RESERVE_LEAD,
    SMS_DELIVERED,
    SMS_FAILED,
    SMS_HISTORY_PAGE,
    SMS_MESSAGES,
    SMS_RESERVED,
    SMS_WAITING,
    Fail,
    Form,
    SmsRecord,
    add_months,
    history_bounds,
    history_page,
    paging,
    parse_kst,
    resolve_outcome,
    title_code,
    valid_phone,
    within,
)


class SmsApi:
    """The SMS endpoints (mixed into ``FakeIwinv``)."""

    balance: float
    final_outcomes: dict[str, str | tuple[str, str]]
    mms_extensions: set[str]
    progress_after: float
    senders: set[str]
    sms_company_id: str
    _arrival: int
    _next_request_no: int
    _sms: list[SmsRecord]

    def _sms_send_json(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        msg_type = body.get("msgType") or body.get("typeCode")
        if msg_type == "MMS":
            raise Fail(33, "MMS must be sent as multipart/form-data with an image part")
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

    def _sms_send_form(self, form: Form, now: float) -> dict[str, Any]:
        def single(name: str) -> str | None:
            values = form.fields.get(name)
            return values[-1] if values else None

        uploads = form.files.get("image") or []
        if not uploads or not uploads[0].data:
            raise Fail(33, "an image file part is required")
        upload = uploads[0]
        if len(upload.data) >= MMS_IMAGE_LIMIT:
            raise Fail(31, f"{len(upload.data)} bytes (must be under {MMS_IMAGE_LIMIT})")
        filename = upload.filename or ""
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension not in self.mms_extensions:
            raise Fail(32, f"file name {filename!r}")
        if not upload.data.startswith(b"\xff\xd8\xff"):
            raise Fail(32, "the image is not JPEG data")
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
            raise Fail(1, "text is required")
        if title is not None and not isinstance(title, str):
            raise Fail(1, "title must be a string")
        title = title or None
        if msg_type is None or msg_type == "":
            msg_type = "LMS" if title or cp949_len(text) > 90 else "SMS"
        if not isinstance(msg_type, str) or msg_type not in PRICES or msg_type == "ALIMTALK":
            raise Fail(1, f"unknown message type {msg_type!r}")
        if not isinstance(sender, str) or sender not in self.senders:
            raise Fail(13, f"from {sender!r}")
        if not isinstance(recipients, list) or not recipients:
            raise Fail(41, "to is required")
        if len(recipients) > MAX_RECIPIENTS:
            raise Fail(44, f"{len(recipients)} recipients")
        for phone in recipients:
            if not valid_phone(phone):
                raise Fail(41, f"to {phone!r}")
        limit = 90 if msg_type in ("SMS", "GSMS") else 2000
        if cp949_len(text) > limit:
            raise Fail(21, f"{msg_type} text is {cp949_len(text)} bytes (max {limit})")
        if msg_type in ("SMS", "GSMS"):
            title = None
        elif title is not None:
            code = title_code(title, chars=22, size=23)
            if code is not None:
                raise Fail(code, f"title {title!r}")
        start = now
        reserved = False
        if date is not None and date != "":
            at = parse_kst(date)
            if at is None:
                raise Fail(43, f"date {date!r}")
            if at < now + RESERVE_LEAD or at >= add_months(now, 1):
                raise Fail(42, f"date {date} is not 15 minutes to less than a month ahead (KST)")
            start, reserved = at, True
        cost = PRICES[msg_type] * len(recipients)
        if self.balance < cost:
            raise Fail(50, f"balance {self.balance:g} < {cost}")
        self.balance -= cost
        request_no = str(self._next_request_no)
        self._next_request_no += 1
        for phone in recipients:
            self._arrival += 1
            chosen = self.final_outcomes.get(phone)
            family = "SMS" if msg_type in ("SMS", "GSMS") else "LMS"
            delivered, failed = SMS_DELIVERED[family], SMS_FAILED[family]
            outcome = delivered if chosen is None else resolve_outcome(chosen, delivered, failed)
            self._sms.append(
                SmsRecord(
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

    def _sms_history(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        if body.get("companyid") != self.sms_company_id:
            raise Fail(14, "companyid")
        request_no = body.get("requestNo")
        if request_no is not None and not isinstance(request_no, str | int):
            raise Fail(1, "requestNo must be a string")
        phone = body.get("phone")
        if phone is not None and not isinstance(phone, str):
            raise Fail(1, "phone must be a string")
        bounds = history_bounds(body, 43)
        if bounds[0] is not None and bounds[1] is not None:
            if bounds[1] - bounds[0] > (HISTORY_MAX_DAYS + 1) * 86400:
                raise Fail(43, f"the date range is over {HISTORY_MAX_DAYS} days")
        page_num, _ignored_size = paging(body, 1)
        paged = (page_num, SMS_HISTORY_PAGE)
        matched: list[SmsRecord] = []
        for message in reversed(self._sms):
            if request_no not in (None, "") and message.request_no != str(request_no):
                continue
            if phone and message.phone != phone:
                continue
            if not within(message.requested, bounds):
                continue
            matched.append(message)
        page = history_page(matched, paged, lambda m: self._sms_view(m, now))
        return {"resultCode": 0, **page}

    def _sms_view(self, message: SmsRecord, now: float) -> dict[str, Any]:
        code, text = SMS_RESERVED if message.reserved and now < message.start else SMS_WAITING
        send_date = ""
        if message.outcome is not None and now >= message.final_at:
            code, text = message.outcome
            send_date = kst_text(message.final_at)
        return {
            "requestNo": message.request_no,
            "companyid": self.sms_company_id,
            "msgType": message.msg_type,
            "phone": message.phone,
            "callback": message.sender,
            "title": message.title or "",
            "text": message.text,
            "requestDate": kst_text(message.requested),
            "reserveDate": kst_text(message.start) if message.reserved else "",
            "sendStatus": text,
            "sendStatusCode": code,
            "sendStatusMsg": text,
            "sendDate": send_date,
        }
