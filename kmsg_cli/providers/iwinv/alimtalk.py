"""IWINV AlimTalk: template variables in the template's order, the send request (with
IWINV's own SMS fallback), the history query and its status names (docs/vendors/iwinv.md).

templateParam follows the template's variable order, never dict order; reSend is "N" unless
a failover text was given; times are Korea time whatever the machine's timezone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from kmsg_cli.errors import InvalidInput
from kmsg_cli.models import DeliveryStatus, Message, MessageType, StatusUpdate
from kmsg_cli.providers._common import (
    digits,
    kst_epoch_ms,
    missing_template_variables,
    placeholders,
    status_update,
)
from kmsg_cli.providers.iwinv.client import kst, plain_text

PAGE_SIZE = 1000  # the documented maximum of the AlimTalk history API
RESEND_CUSTOM_TEXT = "N"  # IWINV resendType: Y = resend the AlimTalk text, N = resendContent


# -- template variables ----------------------------------------------------------------------
def _count(text: str, value: str) -> int:
    """Occurrences of `value` in `text`, overlapping ones included."""
    count, start = 0, text.find(value)
    while start != -1:
        count += 1
        start = text.find(value, start + 1)
    return count


def _order_from_rendering(text: str, variables: Mapping[str, str]) -> list[str] | None:
    """The variable order read off a rendered template text, when it is certain.

    Each value is inserted once at its placeholder; if it occurs exactly once in the text,
    that occurrence is the insertion, so the positions give the template order. A value that
    is empty, missing or repeated leaves the order unknown (None).
    """
    positions = []
    for name, value in variables.items():
        if not value or _count(text, value) != 1:
            return None
        positions.append((text.find(value), name))
    positions.sort()
    return [name for _, name in positions]


def template_params(message: Message, registered: str | None = None) -> list[str]:
    """`templateParam` of one recipient: the values in the template's variable order.

    The order comes from `#{...}` placeholders in `message.text` (first appearance), else
    from the template's content as IWINV has it registered (`registered`, read by the
    provider), else from a rendering of the template in which every value occurs exactly
    once; a single variable needs no order. Anything else is refused: dict order is never
    trusted.
    """
    variables = {str(k): str(v) for k, v in message.variables.items()}
    names = placeholders(message.text or "")
    if not names and registered:
        names = placeholders(registered)
        missing = [name for name in names if name not in variables]
        if missing:
            raise missing_template_variables(message.template_id or "", missing)
        return [variables[name] for name in names]
    if names:
        missing = [name for name in names if name not in variables]
        if missing:
            listed = ", ".join(missing)
            raise InvalidInput(
                f"missing template variable(s) for '{message.template_id}': {listed}",
                code="MISSING_VARIABLE",
                field="text",
                value=listed,
                hint=f"give each with --var NAME=VALUE (e.g. --var {missing[0]}=VALUE)",
            )
        return [variables[name] for name in names]
    if len(variables) <= 1:
        return list(variables.values())
    order = _order_from_rendering(message.text or "", variables)
    if order is None:
        raise InvalidInput(
            f"IWINV takes AlimTalk variables by position, and the order of "
            f"{', '.join(sorted(variables))} in template '{message.template_id}' is unknown",
            code="VARIABLE_ORDER_UNKNOWN",
            field="text",
            value=", ".join(sorted(variables)),
            hint="pass the template text with --text (with its #{...} variables) "
            "so kmsg knows the order",
        )
    return [variables[name] for name in order]


# -- requests --------------------------------------------------------------------------------
def build_alimtalk_body(
    messages: Sequence[Message],
    *,
    sender: str | None,
    params: Callable[[Message], list[str]] = template_params,
) -> dict[str, Any]:
    """One AlimTalk send request for messages sharing template, schedule and failover;
    `params` gives each recipient's templateParam."""
    first = messages[0]
    body: dict[str, Any] = {"templateCode": first.template_id or ""}
    if first.scheduled_at is not None:
        body["reserve"] = "Y"
        body["sendDate"] = kst(first.scheduled_at)
    else:
        body["reserve"] = "N"
    failover = first.failover
    if failover is not None:
        body["reSend"] = "Y"
        body["resendCallback"] = digits(sender)
        body["resendType"] = RESEND_CUSTOM_TEXT
        if failover.type is MessageType.LMS and failover.subject:
            body["resendTitle"] = failover.subject
        body["resendContent"] = failover.text
    else:
        body["reSend"] = "N"
    entries = []
    for message in messages:
        entry: dict[str, Any] = {"phone": message.to.number}
        values = params(message)
        if values:
            entry["templateParam"] = values
        entries.append(entry)
    body["list"] = entries
    return body


def history_query(
    seq_no: str, *, start: datetime, today: datetime, reserved: bool
) -> dict[str, Any]:
    """The filters of one AlimTalk history query by seqNo (paging is added per page)."""
    query: dict[str, Any] = {
        "startDate": f"{start:%Y-%m-%d} 00:00:00",
        "endDate": f"{today:%Y-%m-%d} 23:59:59",
        "seqNo": int(seq_no),
    }
    if reserved:
        query["reserve"] = "Y"
    return query


def phone_query(phone: str, *, start: datetime, end: datetime, reserved: bool) -> dict[str, Any]:
    """The filters of one AlimTalk history query by recipient and request time (how sends
    are found when IWINV's send reply names no seqNo, IWINV-AT-REPLY)."""
    query: dict[str, Any] = {"phone": phone, "startDate": kst(start), "endDate": kst(end)}
    if reserved:
        query["reserve"] = "Y"
    return query


# -- delivery status (pure) ------------------------------------------------------------------
# IWINV-AT-STATUS: the values of statusCode/statusCodeName are not documented in what was read;
# kmsg reads the names (docs/vendors/iwinv.md). A name in none of these lists is not
# understood: the tracker keeps checking (and gives up after its tracking window).
WAITING_WORDS = ("대기", "예약", "접수")
SENDING_WORDS = ("처리중", "처리 중", "발송중", "발송 중", "전송중", "전송 중", "진행")
FAILED_WORDS = ("실패", "미사용", "차단", "거부", "오류", "에러", "불가", "없는", "없음", "만료")


def has_any(text: str, words: Sequence[str]) -> bool:
    return any(word in text for word in words)


def alimtalk_status(code: str, name: str) -> DeliveryStatus | None:
    """statusCode "OK" or a name with 성공 DELIVERED; a sending/waiting name SENT/PENDING;
    a failure name FAILED; anything else None (keep checking)."""
    if code.upper() == "OK" or "성공" in name:
        return DeliveryStatus.DELIVERED
    if has_any(name, SENDING_WORDS):
        return DeliveryStatus.SENT
    if code.upper() == "WAIT" or has_any(name, WAITING_WORDS):
        return DeliveryStatus.PENDING
    if has_any(name, FAILED_WORDS):
        return DeliveryStatus.FAILED
    return None


def map_alimtalk_item(item: Mapping[str, Any], provider_message_id: str) -> StatusUpdate:
    """One AlimTalk history item -> StatusUpdate (see `alimtalk_status`; the vendor text is
    kept for the tracker's "카카오 + 미사용" rule). A failed AlimTalk whose SMS fallback
    (resendStatus) succeeded was delivered by IWINV's native failover."""
    code = plain_text(item.get("statusCode"))
    name = plain_text(item.get("statusCodeName"))
    sent = kst_epoch_ms(item.get("sendDate"))
    received = kst_epoch_ms(item.get("receiveDate"))
    status = alimtalk_status(code, name)
    message = name
    replaced = False
    if status is DeliveryStatus.FAILED:
        resend_code = plain_text(item.get("resendStatus"))
        resend_name = plain_text(item.get("resendStatusName"))
        if resend_code.upper() == "OK" or resend_code in ("06", "1000") or "성공" in resend_name:
            status = DeliveryStatus.DELIVERED
            replaced = True
            message = f"{name or code}; SMS fallback: {resend_name or resend_code}"
        elif has_any(resend_name, SENDING_WORDS + WAITING_WORDS):
            status = DeliveryStatus.SENT
            message = f"{name or code}; SMS fallback: {resend_name}"
    return status_update(
        item,
        provider_message_id,
        status,
        code=code,
        text=message,
        sent_at=sent,
        final_at=received or sent,
        replaced=replaced,
    )
