"""IWINV SMS v2: SMS/LMS send requests (one text to many recipients), the LMS/MMS title
rule, the MMS multipart form with its JPEG, the history query and its status codes
(docs/vendors/iwinv.md).

SMS history needs `sms_company_id`; without it SMS ids are simply absent from the lookups
(the tracker then times them out as UNKNOWN).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from kmsg_cli.models import DeliveryStatus, Message, MessageType, StatusUpdate
from kmsg_cli.providers._common import check_image, digits, kst_epoch_ms, status_update
from kmsg_cli.providers.iwinv.client import kst, plain_text

MMS_IMAGE_LIMIT = 100 * 1024  # IWINV-MMS-IMAGE: a JPG strictly smaller than 102,400 bytes
HISTORY_MAX_DAYS = 90  # IWINV-SMS-HIST-RANGE

# -- LMS/MMS titles (IWINV-SMS-TITLE, codes 22/23; AlimTalk resendTitle 510/511) ------------
TITLE_BYTES = 40
TITLE_CHARACTERS = "Korean, English letters, digits, space and [ ] ( ) < >"
# Korean is read as the Hangul syllables; space is allowed by assumption (docs/vendors/iwinv.md).
_TITLE_ALLOWED = re.compile(r"[가-힣A-Za-z0-9 \[\]()<>]")
FALLBACK_TITLE = "안내"  # "notice": when the text leaves nothing usable


def _cp949_len(text: str) -> int:
    # every allowed title character is in CP949: Hangul syllables 2 bytes, the rest 1
    return len(text.encode("cp949"))


def title_problem(title: str) -> str | None:
    """Why IWINV would refuse `title` (forbidden characters, over 40 bytes), or None."""
    bad = list(dict.fromkeys(ch for ch in title if not _TITLE_ALLOWED.fullmatch(ch)))
    if bad:
        shown = " ".join(repr(ch) for ch in bad[:10]) + (" ..." if len(bad) > 10 else "")
        return f"characters {shown} are not allowed (only {TITLE_CHARACTERS})"
    if _cp949_len(title) > TITLE_BYTES:
        return f"it is {_cp949_len(title)} bytes (at most {TITLE_BYTES})"
    return None


def default_title(text: str) -> str:
    """A title IWINV accepts, made from the text: only the allowed characters, blanks
    collapsed, cut at 40 bytes on a character boundary; `FALLBACK_TITLE` if none is left."""
    kept = "".join(ch if _TITLE_ALLOWED.fullmatch(ch) else " " for ch in text)
    words = " ".join(kept.split())
    title, size = "", 0
    for ch in words:
        size += _cp949_len(ch)
        if size > TITLE_BYTES:
            break
        title += ch
    return title.strip() or FALLBACK_TITLE


def title_for(message: Message) -> str:
    """The title of an LMS/MMS: the user's subject (checked by the provider before sending),
    else one derived from the text."""
    if message.subject and message.subject.strip():
        return message.subject.strip()
    return default_title(message.text)


# -- requests --------------------------------------------------------------------------------


def build_sms_body(messages: Sequence[Message], *, sender: str) -> dict[str, Any]:
    """One SMS/LMS send request for messages sharing text, subject, type, sender and time."""
    first = messages[0]
    body: dict[str, Any] = {
        "version": "1.0",
        "from": digits(sender),
        "to": [m.to.number for m in messages],
        "text": first.text,
    }
    if first.type is MessageType.SMS:
        body["msgType"] = "SMS"
    else:
        body["title"] = title_for(first)
    if first.scheduled_at is not None:
        body["date"] = kst(first.scheduled_at)
    return body


def build_mms_fields(message: Message, *, sender: str) -> list[tuple[str, str]]:
    """The text fields of an MMS multipart form, in IWINV's order (the image part follows)."""
    fields = [
        ("version", "1.0"),
        ("from", digits(sender)),
        ("to", message.to.number),
        ("title", title_for(message)),
        ("text", message.text),
    ]
    if message.scheduled_at is not None:
        fields.append(("date", kst(message.scheduled_at)))
    return fields


def read_mms_image(path: str) -> bytes:
    """The image bytes, refused unless it exists, is JPEG and is smaller than 100 KB
    (102,400 bytes; one read)."""
    return check_image(path, limit=MMS_IMAGE_LIMIT, vendor="IWINV", kind="MMS", below=True)


def image_name(path: str) -> str:
    """The file name of the image part: IWINV reads the type from the extension and takes
    `.jpg` (IWINV-MMS-IMAGE, code 32), so the checked JPEG is always named `<stem>.jpg`."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return (stem.strip() or "image") + ".jpg"


def history_query(
    company_id: str | None, request_no: str, *, start: datetime, today: datetime
) -> dict[str, Any]:
    """The filters of one SMS history query (`pageNum` is added per page; `pageSize` is not
    sent: IWINV ignores it, IWINV-SMS-HIST-PAGE). IWINV keeps `HISTORY_MAX_DAYS` days."""
    start = max(start, today - timedelta(days=HISTORY_MAX_DAYS - 1))
    return {
        "version": "1.0",
        "companyid": company_id,
        "startDate": f"{start:%Y-%m-%d}",
        "endDate": f"{today:%Y-%m-%d}",
        "requestNo": request_no,
    }


# -- delivery status (pure; IWINV-SMS-STATUS, IWINV-LMS-STATUS) ------------------------------
WAITING = frozenset({"0", "WAIT"})
SMS_DELIVERED = "06"
SMS_FAILED = frozenset(
    {"01", "02", "03", "04", "07", "08", "09", "10", "11"}
    | {str(code) for code in range(17, 32)}
    | {"40", "91", "92", "93", "99"}
)
LMS_DELIVERED = "1000"
LMS_FAILED = frozenset(
    {"2000", "2001", "2002", "2003", "3000", "3001", "3002", "3004", "3005", "3006"}
    | {"4000", "4001", "4002", "4003", "4101", "4102", "4104", "4201", "4202"}
    | {"5000", "5001", "5003", "5201", "5202", "5301", "5302", "5303", "5304", "6000", "6100"}
    | {str(code) for code in (*range(9001, 9009), *range(9010, 9017))}
)


def sms_status(code: str, msg_type: str) -> DeliveryStatus | None:
    """A history `sendStatusCode` as our status, by the table of its `msgType` (SMS: 06
    delivered; LMS/MMS: 1000 delivered; both: 0/WAIT waiting, the listed failures FAILED).
    A code in neither table is not understood: None, the tracker keeps checking."""
    code = code.strip().upper()
    if code in WAITING or (code.isdigit() and int(code) == 0):
        return DeliveryStatus.PENDING
    sms_code = code.zfill(2) if code.isdigit() and len(code) < 2 else code
    kind = msg_type.strip().upper()
    if kind in ("", "SMS", "GSMS"):
        if sms_code == SMS_DELIVERED:
            return DeliveryStatus.DELIVERED
        if sms_code in SMS_FAILED:
            return DeliveryStatus.FAILED
    if kind in ("", "LMS", "MMS"):
        if code == LMS_DELIVERED:
            return DeliveryStatus.DELIVERED
        if code in LMS_FAILED:
            return DeliveryStatus.FAILED
    return None


def map_sms_item(item: Mapping[str, Any], provider_message_id: str) -> StatusUpdate:
    """One SMS history item -> StatusUpdate (see `sms_status`)."""
    code = plain_text(item.get("sendStatusCode"))
    message = plain_text(item.get("sendStatusMsg")) or plain_text(item.get("sendStatus"))
    sent = kst_epoch_ms(item.get("sendDate"))
    status = sms_status(code, plain_text(item.get("msgType"))) if code else None
    return status_update(
        item, provider_message_id, status, code=code, text=message, sent_at=sent, final_at=sent
    )
