"""IWINV request ids as kmsg provider message ids: the results of an accepted send, the ids
read back, and history items matched to them (docs/vendors/iwinv.md).

Provider message ids (`SendResult.provider_message_id`, the input of `fetch_statuses`):

    at:<seqNo>:<phone>:<yyyymmdd>[:R]   AlimTalk: the seqNo IWINV gave the send request, the
                                         recipient, the day (Korea time) it was sent, and R
                                         when it was a reserved (scheduled) send
    sms:<requestNo>:<phone>:<yyyymmdd>  SMS/LMS/MMS: the requestNo of the send request, the
                                         recipient and the day (Korea time) it was sent

One IWINV request carries many recipients under one seqNo/requestNo, so the phone tells them
apart (a request never holds the same phone twice). The day bounds the history query. The
short forms `at:<seqNo>:<phone>` and `sms:<requestNo>:<phone>` are understood too (the last 7
days are searched). When IWINV's answer carries no seqNo/requestNo, the message is accepted
with an empty id and a `NO_PROVIDER_MESSAGE_ID` warning: its status cannot be looked up.
History answers are matched by seqNo/requestNo and phone, never "the first item".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from kmsg_cli.models import Message, MessageType, Notice, SendResult
from kmsg_cli.providers._common import KST, accepted, digits, number, one_line, refused
from kmsg_cli.providers.iwinv.client import SUCCESS, Api, check_answer, vendor_id


@dataclass(frozen=True)
class MessageRef:
    """What a provider message id says: API, IWINV request id, phone, day, reserved."""

    api: Api
    request_id: str
    phone: str
    day: datetime | None = None  # midnight, Korea time
    reserved: bool = False

    def __str__(self) -> str:
        prefix = "at" if self.api == "alimtalk" else "sms"
        text = f"{prefix}:{self.request_id}:{self.phone}"
        if self.day is not None:
            text += f":{self.day:%Y%m%d}"
        return text + (":R" if self.reserved else "")


def parse_message_id(value: str) -> MessageRef | None:
    """The parts of an id made by this module (see the module docstring); None if foreign."""
    parts = value.split(":")
    if len(parts) < 3 or parts[0] not in ("at", "sms"):
        return None
    api: Api = "alimtalk" if parts[0] == "at" else "sms"
    rest = parts[1:]
    reserved = False
    if rest[-1] == "R":
        reserved = True
        rest = rest[:-1]
    day: datetime | None = None
    if len(rest) >= 3 and re.fullmatch(r"\d{8}", rest[-1]) and rest[-2].isdigit():
        try:
            day = datetime.strptime(rest[-1], "%Y%m%d").replace(tzinfo=KST)
        except ValueError:
            day = None
        if day is not None:
            rest = rest[:-1]
    if len(rest) < 2 or not rest[-1].isdigit():
        return None
    request_id = ":".join(rest[:-1])
    if not request_id:
        return None
    return MessageRef(api, request_id, rest[-1], day, reserved)


# -- send answers ----------------------------------------------------------------------------
def accepted_results(
    api: Api,
    body: Any,
    messages: Sequence[Message],
    *,
    provider_id: str,
    day: datetime,
) -> list[SendResult]:
    """Per-message results of an accepted send request (`body` passed `check_answer`)."""
    data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    if api == "alimtalk":
        raw_id = data.get("seqNo")
        request_id = vendor_id(raw_id)
        if not (request_id.isascii() and request_id.isdigit()):  # "²" is a digit to isdigit()
            request_id = ""
    else:
        request_id = vendor_id(data.get("requestNo"))
        if not request_id:
            request_id = vendor_id(data.get("msgid"))
    code = SUCCESS[api]
    warnings: list[Notice] = []
    if not request_id:
        what = "seqNo" if api == "alimtalk" else "requestNo"
        warnings.append(
            Notice(
                "NO_PROVIDER_MESSAGE_ID",
                f"IWINV accepted the message but returned no {what}: "
                "its delivery status cannot be looked up",
            )
        )
    success = number(data.get("success"), commas=True)
    fail = number(data.get("fail"), commas=True)
    if api == "alimtalk" and success is not None and success <= 0 and fail:
        text = one_line(str(data.get("message") or ""))
        what = (
            f"IWINV AlimTalk accepted none of the {len(messages)} recipient(s) of the request "
            f"(fail {int(fail)})" + (f": {text}" if text else "")
        )
        return [refused(m, provider_id, "PROVIDER_REJECTED", what, raw=data) for m in messages]
    if fail and fail > 0:
        which = "delivery tracking shows which" if request_id else "which ones is unknown"
        warnings.append(
            Notice(
                "PARTIAL_SUBMISSION",
                f"IWINV did not take {int(fail)} of the {len(messages)} recipient(s) of this "
                f"request; {which}",
            )
        )
    results = []
    for message in messages:
        pid = ""
        if request_id:
            pid = str(
                MessageRef(
                    api,
                    request_id,
                    message.to.number,
                    day,
                    reserved=api == "alimtalk" and message.scheduled_at is not None,
                )
            )
        results.append(
            accepted(
                message,
                provider_id,
                scheduled=message.scheduled_at is not None,
                provider_message_id=pid,
                group_id=request_id or None,
                provider_code=code,
                native_failover=message.type is MessageType.ALIMTALK
                and message.failover is not None,
                warnings=tuple(warnings),
                raw=data,
            )
        )
    return results


def parse_send_answer(
    api: Api,
    response: httpx.Response,
    messages: Sequence[Message],
    *,
    provider_id: str,
    day: datetime,
    secrets: Sequence[str] = (),
) -> list[SendResult]:
    """Results of one send request, in the order of `messages`; raises ProviderError when
    the request as a whole failed."""
    body = check_answer(api, response, provider_id=provider_id, sends=True, secrets=secrets)
    return accepted_results(api, body, messages, provider_id=provider_id, day=day)


# -- history answers -------------------------------------------------------------------------
def history_items(body: Any) -> tuple[list[Mapping[str, Any]], int | None]:
    """The items and totalCount of a history answer."""
    if not isinstance(body, Mapping):
        return [], None
    listing = body.get("list")
    items = [i for i in listing if isinstance(i, Mapping)] if isinstance(listing, list) else []
    total = number(body.get("totalCount"), commas=True)
    return items, int(total) if total is not None else None


def match_items(
    items: Sequence[Mapping[str, Any]], api: Api, refs: Mapping[str, MessageRef]
) -> dict[str, Mapping[str, Any]]:
    """Our id -> the history item with the same seqNo/requestNo and phone (nothing else)."""
    key = "seqNo" if api == "alimtalk" else "requestNo"
    wanted = {(ref.request_id, ref.phone): pid for pid, ref in refs.items()}
    found: dict[str, Mapping[str, Any]] = {}
    for item in items:
        pid = wanted.get((vendor_id(item.get(key)), digits(item.get("phone"))))
        if pid is not None and pid not in found:
            found[pid] = item
    return found
