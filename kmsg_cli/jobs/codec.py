"""Messages as JSON job data (`kmsg_jobs.data`) and back, and the job that sends one. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kmsg_cli.models import Failover, Job, JobStatus, Message, MessageType, Notice, Recipient

VERSION = 1


def send_job(
    message: Message,
    candidates: Sequence[str],
    *,
    max_attempts: int,
    created_at: int,
    process_at: int,
    metadata: dict[str, Any],
    priority: int = 0,
    status: JobStatus = JobStatus.PENDING,
    attempts: int = 0,
) -> Job:
    """The job that sends `message` through `candidates[0]`, then the others in turn where a
    request surely failed (docs/routing.md): pending in the queue, or already claimed by a
    direct `kmsg send` (status processing, one attempt)."""
    return Job(
        id=message.message_id,
        type="send",
        data={
            "message": message_to_data(message),
            "provider": candidates[0],
            "candidates": list(candidates),
        },
        status=status.value,
        priority=priority,
        attempts=attempts,
        max_attempts=max_attempts,
        created_at=created_at,
        process_at=process_at,
        metadata=metadata,
    )


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


# Type names to members: a dict lookup instead of the Enum call for each message read back.
_TYPES: dict[str, MessageType] = {kind.value: kind for kind in MessageType}
_NO_WARNINGS: tuple[Notice, ...] = ()


def _message_type(value: Any) -> MessageType:
    try:
        return _TYPES[value]
    except (KeyError, TypeError):
        return MessageType(value)  # a member itself, or the Enum's own ValueError


def message_from_data(data: dict[str, Any]) -> Message:
    get = data.get
    failover = get("failover")
    warnings = get("warnings")
    variables = get("variables")
    options = get("options")
    files = get("files")
    at = get("at")
    return Message(
        message_id=str(data["id"]),
        type=_message_type(data["type"]),
        to=Recipient(str(data["to"]), str(get("country", "82"))),
        text=str(get("text", "")),
        byte_length=int(get("bytes", 0)),
        sender=get("from"),
        subject=get("subject"),
        image=get("image"),
        template_id=get("template"),
        variables=dict(variables) if variables else {},
        scheduled_at=datetime.fromisoformat(at) if at else None,
        provider_id=get("provider"),
        failover=Failover(
            text=str(failover["text"]),
            type=_message_type(failover["type"]),
            subject=failover.get("subject"),
            byte_length=int(failover.get("bytes", 0)),
        )
        if failover
        else None,
        warnings=tuple(Notice(w["code"], w["message"]) for w in warnings)
        if warnings
        else _NO_WARNINGS,
        options=dict(options) if options else {},
        files=tuple(files) if files else (),
    )
