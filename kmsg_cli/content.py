"""The content key of a message, and what an earlier message with the same key means now.

Pure: no I/O but reading image files for their hash. See docs/duplicates.md.

Two messages with the same content key would look the same to their recipient: same profile,
recipient, type, rendered text (or template and variables), subject, sender, schedule,
attachments (images, fax documents) and channel options. The message id plays no part, so a
CSV file fixed and re-saved (other bytes, other row numbers, another batch) still gives the
same keys for the rows that did not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from kmsg_cli.digest import sha256_hex
from kmsg_cli.jsontext import compact_encoder
from kmsg_cli.models import ContentMatch, Message

KEY_VERSION = "1"  # part of every key: a change of the recipe never matches old keys
_ENCODE = compact_encoder(sort_keys=True)  # send-many keys every row


def content_key(
    message: Message, profile: str, file_digest: Callable[[str], str] | None = None
) -> str:
    """The hex sha256 content key of `message` sent with `profile`.

    `file_digest(path)` hashes an attachment's bytes (default: read the file); a missing file
    hashes as its path, since the message could not be sent anyway.
    """
    digest = file_digest or file_sha256
    parts: dict[str, Any] = {
        "v": KEY_VERSION,
        "profile": profile,
        "to": [message.to.country, message.to.number],
        "type": message.type.value,
        "text": message.text,
        "template": message.template_id,
        "variables": sorted(message.variables.items()) if message.template_id else None,
        "subject": message.subject,
        "from": message.sender,
        "at": int(message.scheduled_at.timestamp()) if message.scheduled_at else None,
        "files": [digest(path) for path in (message.image, *message.files) if path],
    }
    if message.options:  # channel options (docs/channels.md); absent for the other types
        parts["options"] = dict(message.options)
    return sha256_hex(_ENCODE(parts).encode("utf-8"))


def file_sha256(path: str) -> str:
    import hashlib  # attachments only: the key of a text message needs no OpenSSL

    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return "path:" + path


class FileDigests:
    """`file_digest` for a whole run: every attachment is read once, however many rows use it."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        found = self._seen.get(path)
        if found is None:
            found = self._seen[path] = file_sha256(path)
        return found


class Earlier(Enum):
    """What an earlier message with the same content key means for a new one."""

    ACCEPTED = "accepted"  # the provider took it: sending again would repeat it
    IN_FLIGHT = "in_flight"  # being sent right now by another run
    UNKNOWN = "unknown"  # it may or may not have been accepted
    QUEUED = "queued"  # waiting in the ledger, not sent yet
    NOT_SENT = "not_sent"  # it failed: no reason not to send the new one


def earlier(match: ContentMatch) -> Earlier:
    """What `match` means for a new message with the same content key."""
    if match.tracked_at is not None or match.job_status == "completed":
        return Earlier.ACCEPTED
    if match.job_status == "processing":
        return Earlier.IN_FLIGHT
    if match.job_status == "pending":
        return Earlier.QUEUED
    if match.job_status == "failed" and match.job_error_code == "UNKNOWN_OUTCOME":
        return Earlier.UNKNOWN
    return Earlier.NOT_SENT


_RANK = {
    Earlier.ACCEPTED: 0,
    Earlier.IN_FLIGHT: 1,
    Earlier.UNKNOWN: 2,
    Earlier.QUEUED: 3,
    Earlier.NOT_SENT: 4,
}


def deciding(matches: Iterable[ContentMatch], *, exclude: str | None = None) -> ContentMatch | None:
    """The earlier message that decides about a new one (`exclude`: the new one's own id):
    an accepted one first, then in flight, unknown, queued; None when all of them failed."""
    best: tuple[int, int] | None = None
    chosen: ContentMatch | None = None
    for match in matches:
        state = earlier(match)
        if match.message_id == exclude or state is Earlier.NOT_SENT:
            continue
        rank = (_RANK[state], -match.accepted_at)
        if best is None or rank < best:
            best, chosen = rank, match
    return chosen


def describe(match: ContentMatch, shown_time: Callable[[datetime], str]) -> str:
    """One line for a person: why the new message is not sent (or is warned about)."""
    when = shown_time(datetime.fromtimestamp(match.accepted_at / 1000, UTC))
    state = earlier(match)
    if state is Earlier.ACCEPTED:
        return f"same content to the same number was accepted at {when} (id {match.message_id})"
    if state is Earlier.IN_FLIGHT:
        return f"same content to the same number is being sent now (id {match.message_id})"
    if state is Earlier.UNKNOWN:
        return (
            f"same content to the same number was sent at {when} with an unknown outcome "
            f"(id {match.message_id}); kmsg asks the provider before it could send it again"
        )
    return f"same content to the same number is already queued (id {match.message_id})"
