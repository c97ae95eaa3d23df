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
        pass
    from difflib import get_close_matches  # only for this error

    names = [t.value for t in MessageType]
    near = get_close_matches(raw.strip().upper(), names, n=1)
    if near:  # a typo (LMSS, ALIMTLAK): the list goes to the hint
        message, hint = f"did you mean {near[0]}?", f"the types: {_TYPE_NAMES}"
    else:
        message = f"use one of {_TYPE_NAMES}"
        hint = "omit --type to choose SMS/LMS/MMS by length"
    raise _error(
        "INVALID_TYPE",
        f"{_quote(raw.strip())} is not a message type; {message}",
        field=field,
        value=raw.strip(),
        hint=hint,
    )


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
