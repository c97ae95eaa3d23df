"""IWINV request ids as kmsg provider message ids: the results of an accepted send, the ids
read back, and history items matched to them (docs/vendors/iwinv.md).

Provider message ids (`SendResult.provider_message_id`, the input of `fetch_statuses`):

    sms:<requestNo>:<phone>:<yyyymmdd>   SMS/LMS/MMS: the requestNo of the send request, the
                                         recipient and the day (Korea time) it was sent
    atp:<phone>:<yyyymmddHHMMSS>:<Y|N>:<templateCode>
                                         AlimTalk: the recipient, the second (Korea time) the
                                         request was made, Y for a reserved send, and the
                                         template; found in the history by phone and time
    at:<seqNo>:<phone>:<yyyymmdd>[:R]    AlimTalk when the send reply carries a seqNo (not in
                                         IWINV's documented reply, IWINV-AT-REPLY; kept for
                                         answers that have one, and for older ids)

One IWINV SMS request carries many recipients under one requestNo, so the phone tells them
apart (a request never holds the same phone twice). IWINV's documented AlimTalk reply is only
`{code, message, success, fail}`: no id. Such a send is found again by what kmsg knows of it:
a history query for its recipient around its request time (IWINV-AT-HIST), the items of its
template, each paired with the id whose request time is nearest (two AlimTalks of one template
to one phone within a few minutes are told apart by time alone). The short forms
`at:<seqNo>:<phone>` and `sms:<requestNo>:<phone>` are understood too (the last 7 days are
searched). When an SMS answer carries no requestNo, the message is accepted with an empty id
and a `NO_PROVIDER_MESSAGE_ID` warning: its status cannot be looked up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from kmsg_cli.models import Message, MessageType, Notice, SendResult
from kmsg_cli.providers._common import (
    accepted,
    digits,
    kst_epoch_ms,
    number,
    one_line,
    refused,
    to_kst,
)
from kmsg_cli.providers.catalog import KST
from kmsg_cli.providers.iwinv.client import SUCCESS, Api, check_answer, vendor_id

# How far IWINV's request time may be from ours (clocks, latency) when a send is looked up by
# phone and time.
TIME_SLACK = timedelta(minutes=10)


@dataclass(frozen=True)
class MessageRef:
    """What a provider message id says: API, IWINV request id (or, for AlimTalk without one,
    the request time and template), phone, day, reserved."""

    api: Api
    request_id: str  # "" for an AlimTalk found by phone and time
    phone: str
    day: datetime | None = None  # midnight, Korea time
    reserved: bool = False
    sent_at: datetime | None = None  # the second of the request, Korea time (atp ids)
    template: str = ""

    @property
    def by_time(self) -> bool:
        return self.api == "alimtalk" and not self.request_id and self.sent_at is not None

    def __str__(self) -> str:
        if self.by_time:
            assert self.sent_at is not None
            reserve = "Y" if self.reserved else "N"
            return f"atp:{self.phone}:{self.sent_at:%Y%m%d%H%M%S}:{reserve}:{self.template}"
        prefix = "at" if self.api == "alimtalk" else "sms"
        text = f"{prefix}:{self.request_id}:{self.phone}"
        if self.day is not None:
            text += f":{self.day:%Y%m%d}"
        return text + (":R" if self.reserved else "")


def _parse_timed(value: str) -> MessageRef | None:
    parts = value.split(":", 4)
    if len(parts) != 5 or not parts[1].isascii() or not parts[1].isdigit():
        return None
    _, phone, stamp, reserve, template = parts
    if not re.fullmatch(r"\d{14}", stamp) or reserve not in ("Y", "N") or not template:
        return None
    try:
        sent_at = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=KST)
    except ValueError:
        return None
    day = sent_at.replace(hour=0, minute=0, second=0)
    return MessageRef("alimtalk", "", phone, day, reserve == "Y", sent_at, template)


def parse_message_id(value: str) -> MessageRef | None:
    """The parts of an id made by this module (see the module docstring); None if foreign."""
    if value.startswith("atp:"):
        return _parse_timed(value)
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
def _request_id(api: Api, data: Mapping[str, Any]) -> str:
    if api == "alimtalk":
        request_id = vendor_id(data.get("seqNo"))
        # "²" is a digit to isdigit(): only ASCII digits are a seqNo
        return request_id if request_id.isascii() and request_id.isdigit() else ""
    return vendor_id(data.get("requestNo")) or vendor_id(data.get("msgid"))


def _reference(api: Api, request_id: str, message: Message, now: datetime) -> MessageRef | None:
    local = to_kst(now).replace(microsecond=0)
    day = local.replace(hour=0, minute=0, second=0)
    scheduled = message.scheduled_at is not None
    if request_id:
        return MessageRef(api, request_id, message.to.number, day, api == "alimtalk" and scheduled)
    if api == "alimtalk" and message.template_id:
        return MessageRef(
            api, "", message.to.number, day, scheduled, local, message.template_id.strip()
        )
    return None


def accepted_results(
    api: Api,
    body: Any,
    messages: Sequence[Message],
    *,
    provider_id: str,
    now: datetime,
) -> list[SendResult]:
    """Per-message results of an accepted send request (`body` passed `check_answer`) made
    at `now`."""
    data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    request_id = _request_id(api, data)
    code = SUCCESS[api]
    warnings: list[Notice] = []
    if not request_id and api == "sms":
        warnings.append(
            Notice(
                "NO_PROVIDER_MESSAGE_ID",
                "IWINV accepted the message but returned no requestNo: "
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
        warnings.append(
            Notice(
                "PARTIAL_SUBMISSION",
                f"IWINV did not take {int(fail)} of the {len(messages)} recipient(s) of this "
                "request; delivery tracking shows which",
            )
        )
    results = []
    # Without a seqNo the messages of one request are grouped by its time and template, so that
    # `kmsg cancel` finds every recipient of a request (its seqNo comes from the history then).
    request = request_id or (
        f"req:{to_kst(now):%Y%m%d%H%M%S}:{messages[0].template_id or ''}"
        if api == "alimtalk" and messages
        else ""
    )
    for message in messages:
        ref = _reference(api, request_id, message, now)
        results.append(
            accepted(
                message,
                provider_id,
                scheduled=message.scheduled_at is not None,
                provider_message_id=str(ref) if ref is not None else "",
                group_id=request or None,
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
    now: datetime,
    secrets: Sequence[str] = (),
) -> list[SendResult]:
    """Results of one send request made at `now`, in the order of `messages`; raises
    ProviderError when the request as a whole failed."""
    body = check_answer(api, response, provider_id=provider_id, sends=True, secrets=secrets)
    return accepted_results(api, body, messages, provider_id=provider_id, now=now)


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


def match_by_time(
    items: Sequence[Mapping[str, Any]], refs: Mapping[str, MessageRef]
) -> dict[str, Mapping[str, Any]]:
    """Our phone-and-time ids -> history items: same phone and template, requestDate within
    `TIME_SLACK` of our request time, each item given to at most one id, nearest times
    first."""
    pairs: list[tuple[float, int, str]] = []
    for index, item in enumerate(items):
        requested = kst_epoch_ms(item.get("requestDate"))
        if requested is None:
            continue
        for pid, ref in refs.items():
            if ref.sent_at is None or digits(item.get("phone")) != ref.phone:
                continue
            if str(item.get("templateCode") or "").strip() != ref.template:
                continue
            gap = abs(requested / 1000 - ref.sent_at.timestamp())
            if gap <= TIME_SLACK.total_seconds():
                pairs.append((gap, index, pid))
    found: dict[str, Mapping[str, Any]] = {}
    taken: set[int] = set()
    for _, index, pid in sorted(pairs):
        if pid not in found and index not in taken:
            found[pid] = items[index]
            taken.add(index)
    return found
