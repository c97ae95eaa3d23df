"""Turn what the user typed into a validated `Message`. Pure: no I/O, no clock.

The rules are those of docs/messages.md (and docs/channels.md for the channel types); each
failure is an `InvalidInput` whose one-line message names the field and the value. The parts:

- `phone`: recipient and sender numbers;
- `limits`: CP949 byte counting and the size, subject and image rules of each type;
- `variables`: `--var`/`--vars` and `#{name}` interpolation;
- `fields`: the message type and a caller's message id;
- `message`: `build_message`, a draft to a `Message` with its type decided.
"""

from __future__ import annotations

from kmsg_cli.normalize.fields import MESSAGE_ID_MAX_CHARS, parse_type, validate_message_id
from kmsg_cli.normalize.limits import (
    KAKAO_TEXT_MAX_CHARS,
    LONG_MAX_BYTES,
    NON_KS_BYTES,
    SMS_MAX_BYTES,
    SUBJECT_MAX_BYTES,
    count_bytes,
)
from kmsg_cli.normalize.message import build_message
from kmsg_cli.normalize.phone import is_mobile, normalize_phone, normalize_sender
from kmsg_cli.normalize.variables import (
    check_variable,
    interpolate,
    parse_variables,
    placeholders,
    unused_variables,
)

__all__ = [
    "KAKAO_TEXT_MAX_CHARS",
    "LONG_MAX_BYTES",
    "MESSAGE_ID_MAX_CHARS",
    "NON_KS_BYTES",
    "SMS_MAX_BYTES",
    "SUBJECT_MAX_BYTES",
    "build_message",
    "check_variable",
    "count_bytes",
    "interpolate",
    "is_mobile",
    "normalize_phone",
    "normalize_sender",
    "parse_type",
    "parse_variables",
    "placeholders",
    "unused_variables",
    "validate_message_id",
]
