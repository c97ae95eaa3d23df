"""SOLAPI sends: `messages[]` entries of `POST /messages/v4/send-many/detail`, the request
body, and the per-message results read from its answer (docs/vendors/solapi.md).

Our message id travels in `customFields.kmsgId`, so an entry of the answer (and a stored
message later) can always be matched to our message. SOLAPI takes customFields values of at
most 100 characters (SOLAPI-CF-LEN, code 1032) while kmsg ids may have 200: a longer id is
written as its short key (`custom_key`), and every lookup maps our id to that key the same way
(`custom_key`, `custom_id`, `ByMessageId`), so the id reads back wherever it is searched.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from kmsg_cli.models import Message, MessageType, SendResult
from kmsg_cli.providers._common import accepted, bad_response, refused, variable_name
from kmsg_cli.providers.solapi.client import utc_date

SEND_PATH = "/messages/v4/send-many/detail"
CUSTOM_ID_FIELD = "kmsgId"  # a key of at most 30 characters (SOLAPI-CF-LEN)
CUSTOM_VALUE_LIMIT = 100  # characters of a customFields value (SOLAPI-CF-LEN)
_LONG_ID_PREFIX = "kmsg-sha256:"

# SOLAPI registration/status codes -> kmsg error codes (the vendor code is kept beside it).
_CODE_NAMES = {
    "1010": "INVALID_REQUEST",
    "1011": "INVALID_REQUEST",
    "1013": "INVALID_REQUEST",
    "1014": "INVALID_REQUEST",
    "1020": "AUTHENTICATION_FAILED",
    "1023": "IMAGE_NOT_FOUND",
    "1025": "INVALID_REQUEST",
    "1026": "DUPLICATE_RECIPIENT",
    "1030": "INSUFFICIENT_BALANCE",
    "1031": "TEXT_TOO_LONG",
    "1041": "INVALID_KAKAO_CHANNEL",
    "1042": "TEMPLATE_NOT_FOUND",
    "1043": "TEMPLATE_MISMATCH",
    "1060": "BLOCKED_RECIPIENT",
    "1061": "BLOCKED_RECIPIENT",
    "1062": "SENDER_NOT_REGISTERED",
    "1064": "BLOCKED_BY_KISA",
    "2230": "INSUFFICIENT_BALANCE",
    "2062": "SENDER_NOT_REGISTERED",
}
# Codes worth trying again later (vendor-side server trouble), everything else is final.
_RETRYABLE_CODES = {"1024", "2024", "3024"}
_CODE_TEXT = {
    "1030": "insufficient balance",
    "1042": "AlimTalk template not found",
    "1043": "text or variables do not match the AlimTalk template",
    "1062": "sender number is not registered with SOLAPI",
}

_WIRE_TYPES = {
    MessageType.SMS: "SMS",
    MessageType.LMS: "LMS",
    MessageType.MMS: "MMS",
    MessageType.ALIMTALK: "ATA",
}


# -- our id in customFields (the one place it is written and read) ---------------------------
def custom_key(message_id: str) -> str:
    """What customFields carries for a message id: the id itself when it fits SOLAPI's 100
    characters, else `kmsg-sha256:` and the SHA-256 of the id (76 characters)."""
    if len(message_id) <= CUSTOM_VALUE_LIMIT:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()
    return _LONG_ID_PREFIX + digest


def custom_fields(message_id: str) -> dict[str, str]:
    """The `customFields` of a message (SOLAPI-CF-SHAPE): our id under `kmsgId`."""
    return {CUSTOM_ID_FIELD: custom_key(message_id)}


def custom_id(item: Mapping[str, Any]) -> str | None:
    """The `custom_key` of our id in an entry's customFields, if it is there."""
    fields = item.get("customFields")
    if isinstance(fields, Mapping):
        value = fields.get(CUSTOM_ID_FIELD)
        return str(value) if value is not None else None
    return None


V = TypeVar("V")


class ByMessageId(dict[str, V]):
    """Entries keyed by `custom_id`: asked for by our message id (`[]`, `get`, `in`), an entry
    is found whatever the id's length."""

    def __getitem__(self, message_id: str) -> V:
        return super().__getitem__(custom_key(message_id))

    def __contains__(self, message_id: object) -> bool:
        return isinstance(message_id, str) and super().__contains__(custom_key(message_id))

    def get(self, message_id: str, default: Any = None) -> Any:
        return super().get(custom_key(message_id), default)


# -- request building (pure) -----------------------------------------------------------------
def wire_type(message: Message) -> str:
    if message.type is MessageType.FRIENDTALK:
        return "CTI" if message.image else "CTA"
    return _WIRE_TYPES[message.type]


def build_message(
    message: Message,
    *,
    sender: str | None,
    pf_id: str | None,
    image_id: str | None = None,
) -> dict[str, Any]:
    """One entry of `messages[]` for send-many/detail."""
    kind = wire_type(message)
    body: dict[str, Any] = {"to": message.to.number, "type": kind}
    if not message.to.is_korean:
        body["country"] = message.to.country
    if sender:
        body["from"] = sender
    if message.type is MessageType.ALIMTALK:
        options: dict[str, Any] = {
            "pfId": pf_id,
            "templateId": message.template_id,
            # SOLAPI-ATA-VARS: keys are `#{name}`; a name already written so is not wrapped again
            "variables": {f"#{{{variable_name(k)}}}": str(v) for k, v in message.variables.items()},
            # With a fallback text SOLAPI sends it as SMS/LMS itself (native failover).
            "disableSms": message.failover is None,
        }
        body["kakaoOptions"] = options
        if message.failover is not None:
            body["text"] = message.failover.text
            if message.failover.subject:
                body["subject"] = message.failover.subject
    else:
        body["text"] = message.text
        if message.subject and message.type is not MessageType.SMS:
            body["subject"] = message.subject
        if message.type is MessageType.FRIENDTALK:
            body["kakaoOptions"] = {"pfId": pf_id, "disableSms": True}
            if image_id:
                body["kakaoOptions"]["imageId"] = image_id
        elif image_id:
            body["imageId"] = image_id
    body["customFields"] = custom_fields(message.message_id)
    return body


def build_send_body(
    entries: Sequence[Mapping[str, Any]], *, scheduled_at: datetime | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": list(entries),
        "allowDuplicates": True,  # two rows to one number are two messages; ids dedupe
        "showMessageList": True,
        "agent": {"sdkVersion": "kmsg", "osPlatform": os.name},
    }
    if scheduled_at is not None:
        body["scheduledDate"] = utc_date(scheduled_at)
    return body


# -- response parsing (pure) -----------------------------------------------------------------
def parse_send_response(
    body: Any, messages: Sequence[Message], *, provider_id: str
) -> list[SendResult]:
    """Per-message results from a send-many/detail answer, in the order of `messages`.

    Entries are matched by our id in customFields; if the vendor dropped customFields,
    accepted entries are matched by recipient in order.
    """
    if not isinstance(body, Mapping):
        raise bad_response(provider_id, "the send answer is not a JSON object")
    accepted = body.get("messageList") or []
    failed = body.get("failedMessageList") or []
    info = body.get("groupInfo")
    group: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
    group_id = str(group.get("groupId") or body.get("groupId") or "") or None
    if not isinstance(accepted, list) or not isinstance(failed, list):
        raise bad_response(provider_id, "messageList/failedMessageList are not lists")
    by_id: dict[str, tuple[bool, Mapping[str, Any]]] = {}
    leftovers: dict[str, list[tuple[bool, Mapping[str, Any]]]] = {}
    for ok, items in ((True, accepted), (False, failed)):
        for item in items:
            if not isinstance(item, Mapping):
                continue
            custom = custom_id(item)
            if custom is not None:
                by_id[custom] = (ok, item)
            else:
                leftovers.setdefault(str(item.get("to", "")), []).append((ok, item))
    results = []
    for message in messages:
        found = by_id.get(custom_key(message.message_id))
        if found is None and leftovers.get(message.to.number):
            found = leftovers[message.to.number].pop(0)
        if found is None:
            text = "SOLAPI's answer does not mention this message"
            results.append(
                refused(
                    message,
                    provider_id,
                    "UNKNOWN_OUTCOME",
                    text,
                    outcome_unknown=True,
                    group_id=group_id,
                )
            )
            continue
        ok, item = found
        results.append(
            _accepted(message, item, provider_id, group_id)
            if ok
            else _rejected(message, item, provider_id, group_id)
        )
    return results


def _accepted(
    message: Message, item: Mapping[str, Any], provider_id: str, group_id: str | None
) -> SendResult:
    code = str(item.get("statusCode") or "")
    return accepted(
        message,
        provider_id,
        scheduled=message.scheduled_at is not None,
        provider_message_id=str(item.get("messageId") or ""),
        group_id=group_id,
        provider_code=code or None,
        native_failover=message.failover is not None,
        raw=item,
    )


def _rejected(
    message: Message, item: Mapping[str, Any], provider_id: str, group_id: str | None
) -> SendResult:
    code = str(item.get("statusCode") or "")
    text = str(item.get("statusMessage") or "").strip()
    return refused(
        message,
        provider_id,
        _CODE_NAMES.get(code, "REJECTED"),
        _describe_code(code, text),
        provider_code=code or None,
        retryable=code in _RETRYABLE_CODES,
        group_id=group_id,
        raw=item,
    )


def _describe_code(code: str, text: str) -> str:
    head = f"SOLAPI {code}" if code else "SOLAPI rejected the message"
    details = [d for d in (_CODE_TEXT.get(code), text) if d]
    return head + (": " + "; ".join(details) if details else "")
