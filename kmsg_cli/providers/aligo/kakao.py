"""Aligo's Kakao host: approved AlimTalk templates and how they are filled, the Kakao
schedule in Korea time, and the delivery history of a request (docs/vendors/aligo.md).

AlimTalk `message_N` is the approved template fetched from `/akv10/template/list/` with
every `#{name}` filled from the message variables; a missing variable fails fast
(InvalidInput MISSING_VARIABLE, every name listed). Templates with buttons send `button_N` =
`{"button": [...]}` built from the template's own buttons (`ordering` dropped, variables
filled), and `emtitle_N` for an emphasised title. Kakao success ⇔ `code` 0 (number or
string), id in `info.mid`. History: `/akv10/history/detail/` by `mid`, items matched on
`phone`, `rslt` "0"/"0000" delivered, any other `rslt` failed, no `rslt` yet in progress.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kmsg_cli.models import DeliveryStatus, MessageType, StatusUpdate
from kmsg_cli.providers._common import (
    coded_items,
    kst_epoch_ms,
    number,
    one_line,
    render_template,
    status_update,
    to_kst,
)
from kmsg_cli.providers.aligo.client import AligoClient, check_kakao_answer, listed_items

ALIMTALK_PATH = "/akv10/alimtalk/send/"
FRIENDTALK_PATH = "/akv10/friend/send/"  # Aligo's documented FriendTalk path
TEMPLATE_LIST_PATH = "/akv10/template/list/"
HISTORY_PATH = "/akv10/history/detail/"
PER_REQUEST = 500  # receiver_N
HISTORY_PAGE_SIZE = 500
ALIMTALK_SUBJECT = "알림톡"
FRIENDTALK_SUBJECT = "친구톡"

KAKAO_TYPES = frozenset({MessageType.ALIMTALK, MessageType.FRIENDTALK})
SUCCESS_RSLT = frozenset({"0", "00", "0000"})
APPROVED_STATUSES = frozenset({"APR", "APPROVED"})  # template inspStatus


def kakao_senddate(moment: datetime) -> str:
    """`senddate` (YYYYMMDDHHmmss, KST)."""
    return to_kst(moment).strftime("%Y%m%d%H%M%S")


# -- templates (pure) ------------------------------------------------------------------------
@dataclass(frozen=True)
class Template:
    """One approved AlimTalk template as `/akv10/template/list/` describes it."""

    code: str
    content: str
    title: str | None = None  # emphasised title (templtTitle), may hold #{vars}
    buttons: tuple[Mapping[str, Any], ...] = ()
    status: str | None = None  # inspStatus: APR (approved), REJ, REQ, REG
    name: str | None = None  # templtName, as the console shows it


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
        position = number(button.get("ordering"))
        return (position if position is not None else float("inf"), index)

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


def parse_templates(body: Mapping[str, Any]) -> list[Template]:
    """Every template of a successful template list answer, in its order."""
    found = []
    for code, item in coded_items(body, "list", "templtCode"):
        title, status = item.get("templtTitle"), item.get("inspStatus")
        name = item.get("templtName")
        found.append(
            Template(
                code=code,
                content=str(item.get("templtContent") or ""),
                title=str(title) if title else None,
                buttons=_buttons_of(item.get("buttons")),
                status=str(status).upper() if status else None,
                name=str(name) if name else None,
            )
        )
    return found


def parse_template_list(body: Mapping[str, Any], template_id: str) -> Template | None:
    """The template `template_id` from a successful template list answer, if listed."""
    return next((t for t in parse_templates(body) if t.code == template_id), None)


# -- delivery status (pure) ------------------------------------------------------------------
def map_kakao_detail(item: Mapping[str, Any]) -> DeliveryStatus | None:
    """`rslt` "0"/"0000" delivered, any other `rslt` failed; without `rslt`, by `status`."""
    rslt = str(item.get("rslt") or "").strip()
    if rslt in SUCCESS_RSLT:
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
    text = one_line(item.get("rslt_message")) or one_line(item.get("status")) or None
    sent = kst_epoch_ms(item.get("sentdate")) or kst_epoch_ms(item.get("reqdate"))
    result_at = kst_epoch_ms(item.get("rsltdate")) or kst_epoch_ms(item.get("reportdate"))
    return status_update(item, pmid, status, code=rslt, text=text, sent_at=sent, final_at=result_at)


# -- lookups ---------------------------------------------------------------------------------
def fetch_template(client: AligoClient, sender_key: str, template_id: str) -> Template | None:
    """The template as Aligo lists it for `sender_key`; None when not listed."""
    body = client.call(
        "kakao",
        TEMPLATE_LIST_PATH,
        {"senderkey": sender_key, "tpl_code": template_id},
        sends=False,
    )
    check_kakao_answer(body, provider_id=client.provider_id, sends=False)
    return parse_template_list(body, template_id)


def fetch_templates(client: AligoClient, sender_key: str) -> list[Template]:
    """Every template Aligo lists for `sender_key` (one answer: the list is not paged)."""
    body = client.call("kakao", TEMPLATE_LIST_PATH, {"senderkey": sender_key}, sends=False)
    check_kakao_answer(body, provider_id=client.provider_id, sends=False)
    return parse_templates(body)


def history_page(client: AligoClient, mid: str, page: int) -> tuple[list[Mapping[str, Any]], bool]:
    """One page of a request's Kakao history, and whether more pages follow."""
    fields = {"mid": mid, "page": str(page), "limit": str(HISTORY_PAGE_SIZE)}
    body = client.call("kakao", HISTORY_PATH, fields, sends=False)
    check_kakao_answer(body, provider_id=client.provider_id, sends=False)
    current = number(body.get("currentPage"))
    total = number(body.get("totalPage"))
    more = current is not None and total is not None and current < total
    return listed_items(body), more
