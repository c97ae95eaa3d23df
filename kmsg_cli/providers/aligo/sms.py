"""Aligo's SMS host: SMS/LMS/MMS schedules in Korea time, the delivery list of a request
(`/sms_list/`, free-text `sms_state`) and the remaining balance (`/remain/`)
(docs/vendors/aligo.md).

`POST /send/` sends one text to up to 1,000 comma-separated receivers; messages with
different texts (same type, sender, subject, schedule, no image) share one
`POST /send_mass/` (`rec_N`/`msg_N`, up to 500); see `plan`. Success ⇔ `result_code` 1
(number or string); the answer carries one `msg_id` for the whole request. Scheduling is
`rdate`=YYYYMMDD and `rtime`=HHMM Korea time, at least 10 minutes ahead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from kmsg_cli.models import Balance, DeliveryStatus, MessageType, StatusUpdate
from kmsg_cli.providers._common import (
    bad_response,
    kst_epoch_ms,
    number,
    one_line,
    status_update,
    to_kst,
)
from kmsg_cli.providers.aligo.client import AligoClient, check_sms_answer, listed_items

SEND_PATH = "/send/"
MASS_PATH = "/send_mass/"
LIST_PATH = "/sms_list/"
REMAIN_PATH = "/remain/"
RECEIVERS_PER_REQUEST = 1000  # /send/: comma-separated receivers
MASS_PER_REQUEST = 500  # /send_mass/: rec_N/msg_N
LIST_PAGE_SIZE = 500

SMS_TYPES = frozenset({MessageType.SMS, MessageType.LMS, MessageType.MMS})

_FAILED_WORDS = (
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


def sms_schedule(moment: datetime) -> dict[str, str]:
    """`rdate`/`rtime` (YYYYMMDD / HHMM, KST). Seconds round up to the next whole minute so
    the vendor never sends earlier than asked (and the 10-minute rule keeps holding)."""
    local = to_kst(moment)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return {"rdate": local.strftime("%Y%m%d"), "rtime": local.strftime("%H%M")}


# -- delivery status (pure) ------------------------------------------------------------------
def map_sms_state(state: str | None) -> DeliveryStatus | None:
    """Aligo's free-text `sms_state` → our status; None for text not understood."""
    text = (state or "").replace(" ", "")
    if not text:
        return None
    if "취소" in text:
        return DeliveryStatus.CANCELLED
    if any(word in text for word in _FAILED_WORDS):
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
    text = one_line(state) or None
    status = map_sms_state(text)
    sent = kst_epoch_ms(item.get("send_date"))
    return status_update(item, pmid, status, code=text, text=text, sent_at=sent, final_at=None)


def parse_balance(body: Mapping[str, Any], *, provider_id: str) -> Balance:
    """`/remain/`: the SMS count is the amount (currency "SMS"); LMS/MMS counts stay in raw."""
    check_sms_answer(body, provider_id=provider_id, sends=False)
    amount = number(body.get("SMS_CNT"))
    if amount is None:
        raise bad_response(provider_id, "the remain answer has no SMS_CNT")
    return Balance(provider_id, amount, "SMS", None, dict(body))


# -- lookups ---------------------------------------------------------------------------------
def list_page(client: AligoClient, mid: str, page: int) -> tuple[list[Mapping[str, Any]], bool]:
    """One page of a request's delivery list, and whether more pages follow."""
    fields = {"mid": mid, "page": str(page), "page_size": str(LIST_PAGE_SIZE)}
    body = client.call("sms", LIST_PATH, fields, sends=False)
    check_sms_answer(body, provider_id=client.provider_id, sends=False)
    more = str(body.get("next_yn") or "").upper() == "Y"
    return listed_items(body), more


def balance(client: AligoClient) -> Balance:
    """Remaining messages (`/remain/`): amount = SMS_CNT, currency "SMS"."""
    body = client.call("sms", REMAIN_PATH, {}, sends=False)
    return parse_balance(body, provider_id=client.provider_id)
