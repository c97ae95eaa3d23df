"""Single fields: the message type named by `--type` and a caller's message id
(docs/messages.md, "Message ids").
"""

from __future__ import annotations

import unicodedata

from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import MessageType
from kmsg_cli.normalize._common import invalid as _error

MESSAGE_ID_MAX_CHARS = 200
_TYPE_NAMES = ", ".join(t.value for t in MessageType)


def parse_type(raw: str | None, *, field: str = "type") -> MessageType | None:
    """The message type named by `raw` (any case); None when not given or blank."""
    if raw is None or not raw.strip():
        return None
    try:
        return MessageType(raw.strip().upper())
    except ValueError:
        raise _error(
            "INVALID_TYPE",
            f"{_quote(raw.strip())} is not a message type; use one of {_TYPE_NAMES}",
            field=field,
            value=raw.strip(),
            hint=f"use one of {_TYPE_NAMES}, or omit --type to choose SMS/LMS/MMS by length",
        ) from None


def validate_message_id(raw: str, *, field: str = "id") -> str:
    """A caller-supplied message id: 1-200 characters, no whitespace or control characters."""
    value = raw.strip()
    hint = "use up to 200 letters, digits and punctuation, e.g. order-1234"
    if not value:
        raise _error("INVALID_ID", "the message id is empty", field=field, value=value, hint=hint)
    if len(value) > MESSAGE_ID_MAX_CHARS:
        raise _error(
            "INVALID_ID",
            f"{_quote(value)} is {len(value)} characters; at most {MESSAGE_ID_MAX_CHARS} allowed",
            field=field,
            value=value,
            hint=hint,
        )
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in value):
        raise _error(
            "INVALID_ID",
            f"{_quote(value)} contains whitespace or control characters",
            field=field,
            value=value,
            hint=hint,
        )
    return value
