"""IWINV SMS v2: SMS/LMS send requests (one text to many recipients), the MMS multipart
form with its JPEG, the history query and its status codes (docs/vendors/iwinv.md).

SMS history needs `sms_company_id`; without it SMS ids are simply absent from the lookups
(the tracker then times them out as UNKNOWN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from kmsg_cli.models import DeliveryStatus, Message, MessageType, StatusUpdate
from kmsg_cli.providers._common import check_image, digits, kst_epoch_ms, status_update
from kmsg_cli.providers.iwinv.client import (
    SENDING_WORDS,
    WAITING_WORDS,
    has_any,
    kst,
    plain_text,
)

MMS_IMAGE_LIMIT = 100 * 1024
PAGE_SIZE = 100  # assumed; pages are followed by totalCount either way
HISTORY_MAX_DAYS = 90


# -- requests --------------------------------------------------------------------------------
def _title(message: Message) -> str:
    if message.subject and message.subject.strip():
        return message.subject.strip()
    return " ".join(message.text.split())[:20]


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
        body["title"] = _title(first)
    if first.scheduled_at is not None:
        body["date"] = kst(first.scheduled_at)
    return body


def build_mms_fields(message: Message, *, sender: str) -> list[tuple[str, str]]:
    """The text fields of an MMS multipart form, in IWINV's order (the image part follows)."""
    fields = [
        ("version", "1.0"),
        ("from", digits(sender)),
        ("to", message.to.number),
        ("title", _title(message)),
        ("text", message.text),
    ]
    if message.scheduled_at is not None:
        fields.append(("date", kst(message.scheduled_at)))
    return fields


def read_mms_image(path: str) -> bytes:
    """The image bytes, refused unless it exists, is JPEG and is at most 100 KB (one read)."""
    return check_image(path, limit=MMS_IMAGE_LIMIT, vendor="IWINV", kind="MMS")


def image_name(path: str) -> str:
    """The file name of the image part (IWINV reads the type from its extension)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1] or "image"
    return name if "." in name else name + ".jpg"


def history_query(
    company_id: str | None, request_no: str, *, start: datetime, today: datetime
) -> dict[str, Any]:
    """The filters of one SMS history query (paging is added per page); IWINV keeps at most
    `HISTORY_MAX_DAYS` days."""
    start = max(start, today - timedelta(days=HISTORY_MAX_DAYS - 1))
    return {
        "version": "1.0",
        "companyid": company_id,
        "startDate": f"{start:%Y-%m-%d}",
        "endDate": f"{today:%Y-%m-%d}",
        "requestNo": request_no,
    }


# -- delivery status (pure) ------------------------------------------------------------------
def map_sms_item(item: Mapping[str, Any], provider_message_id: str) -> StatusUpdate:
    """One SMS history item -> StatusUpdate: 06/1000/성공 DELIVERED, 대기/00 PENDING,
    처리중/01 SENT, any other code or text FAILED, nothing at all None."""
    code = plain_text(item.get("sendStatusCode"))
    message = plain_text(item.get("sendStatusMsg")) or plain_text(item.get("sendStatus"))
    sent = kst_epoch_ms(item.get("sendDate"))
    status: DeliveryStatus | None
    if code in ("06", "1000") or "성공" in message:
        status = DeliveryStatus.DELIVERED
    elif code == "01" or has_any(message, SENDING_WORDS):
        status = DeliveryStatus.SENT
    elif code == "00" or has_any(message, WAITING_WORDS):
        status = DeliveryStatus.PENDING
    elif code or message:
        status = DeliveryStatus.FAILED
    else:
        status = None
    return status_update(
        item, provider_message_id, status, code=code, text=message, sent_at=sent, final_at=sent
    )
