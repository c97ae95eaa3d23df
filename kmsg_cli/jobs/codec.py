"""Messages as JSON job data (`kmsg_jobs.data`) and back. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kmsg_cli.models import Failover, Message, MessageType, Notice, Recipient

VERSION = 1


def message_to_data(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "v": VERSION,
        "id": message.message_id,
        "type": message.type.value,
        "to": message.to.number,
        "text": message.text,
        "bytes": message.byte_length,
    }
    if not message.to.is_korean:
        data["country"] = message.to.country
    optional = {
        "from": message.sender,
        "subject": message.subject,
        "image": message.image,
        "template": message.template_id,
        "provider": message.provider_id,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    if message.variables:
        data["variables"] = dict(message.variables)
    if message.scheduled_at is not None:
        data["at"] = message.scheduled_at.isoformat()
    if message.failover is not None:
        data["failover"] = {
            "text": message.failover.text,
            "type": message.failover.type.value,
            "subject": message.failover.subject,
            "bytes": message.failover.byte_length,
        }
    if message.warnings:
        data["warnings"] = [n.to_dict() for n in message.warnings]
    if message.options:
        data["options"] = dict(message.options)
    if message.files:
        data["files"] = list(message.files)
    return data


def message_from_data(data: dict[str, Any]) -> Message:
    failover = data.get("failover")
    return Message(
        message_id=str(data["id"]),
        type=MessageType(data["type"]),
        to=Recipient(str(data["to"]), str(data.get("country", "82"))),
        text=str(data.get("text", "")),
        byte_length=int(data.get("bytes", 0)),
        sender=data.get("from"),
        subject=data.get("subject"),
        image=data.get("image"),
        template_id=data.get("template"),
        variables=dict(data.get("variables") or {}),
        scheduled_at=datetime.fromisoformat(data["at"]) if data.get("at") else None,
        provider_id=data.get("provider"),
        failover=Failover(
            text=str(failover["text"]),
            type=MessageType(failover["type"]),
            subject=failover.get("subject"),
            byte_length=int(failover.get("bytes", 0)),
        )
        if failover
        else None,
        warnings=tuple(Notice(w["code"], w["message"]) for w in data.get("warnings", ())),
        options=dict(data.get("options") or {}),
        files=tuple(data.get("files") or ()),
    )
