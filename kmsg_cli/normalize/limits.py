"""Sizes: CP949 byte counting as the carriers count, and the size, subject and image rules of
SMS, LMS, MMS and the KakaoTalk texts (docs/messages.md, "Length and type").
"""

from __future__ import annotations

from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import MessageType, Notice
from kmsg_cli.normalize._common import invalid as _error

SMS_MAX_BYTES = 90
LONG_MAX_BYTES = 2000  # LMS and MMS text
SUBJECT_MAX_BYTES = 40
KAKAO_TEXT_MAX_CHARS = 1000
NON_KS_BYTES = 4  # what carriers charge for a character outside CP949 (emoji)


def count_bytes(text: str) -> tuple[int, bool]:
    """(CP949 byte length, whether some character was outside CP949 and counted 4 bytes)."""
    if text.isascii():  # one byte each; no need to load the codec
        return len(text), False
    try:
        return len(text.encode("cp949")), False
    except UnicodeEncodeError:
        pass
    total = 0
    for ch in text:
        try:
            total += len(ch.encode("cp949"))
        except UnicodeEncodeError:
            total += NON_KS_BYTES
    return total, True


def too_long_bytes(field: str, kind: str, size: int, limit: int, hint: str) -> InvalidInput:
    return _error(
        "TEXT_TOO_LONG",
        f"{field} is {size} bytes; {kind} allows at most {limit}",
        field=field,
        value=str(size),
        hint=hint,
    )


def check_subject(subject: str, field: str) -> None:
    size, _ = count_bytes(subject)
    if size > SUBJECT_MAX_BYTES:
        raise _error(
            "SUBJECT_TOO_LONG",
            f"subject {_quote(subject)} is {size} bytes; at most {SUBJECT_MAX_BYTES} allowed",
            field=field,
            value=subject,
            hint="shorten the subject to 40 bytes (about 20 Korean characters)",
        )


def check_kakao_length(text: str, kind: MessageType) -> None:
    if len(text) > KAKAO_TEXT_MAX_CHARS:
        raise _error(
            "TEXT_TOO_LONG",
            f"text is {len(text)} characters; {kind.value} allows at most {KAKAO_TEXT_MAX_CHARS}",
            field="text",
            value=str(len(text)),
            hint="shorten the text to 1,000 characters",
        )


SHOWN_NON_KS = 3  # characters a NON_KS_CHARACTERS warning names


def non_ks_characters(text: str) -> list[str]:
    """The distinct characters of `text` that CP949 cannot encode, in order of appearance."""
    found: list[str] = []
    for ch in text:
        if ch.isascii() or ch in found:
            continue
        try:
            ch.encode("cp949")
        except UnicodeEncodeError:
            found.append(ch)
    return found


def non_ks_notice(what: str, text: str) -> Notice:
    """NON_KS_CHARACTERS, naming the characters (`'😀' U+1F600`) so that one typed by an
    editor's autocorrect (an em dash) can be found and replaced."""
    found = non_ks_characters(text)
    named = ", ".join(f"{_quote(ch)} U+{ord(ch):04X}" for ch in found[:SHOWN_NON_KS])
    if len(found) > SHOWN_NON_KS:
        named += ", ..."
    return Notice(
        "NON_KS_CHARACTERS",
        f"{what} has characters outside KS X 1001 ({named}): counted as 4 bytes each; "
        "some phones may not display them",
    )


def image_not_allowed(image: str, kind: MessageType) -> InvalidInput:
    return _error(
        "IMAGE_NOT_ALLOWED",
        f"image {_quote(image)} cannot be sent as {kind.value}",
        field="image",
        value=image,
        hint="use --type MMS (or FRIENDTALK) to send an image, or drop --image",
    )


def check_text(
    kind: MessageType, text: str, size: int, subject: str | None, image: str | None
) -> None:
    """Size, subject and image rules of SMS, LMS, MMS and FRIENDTALK."""
    if kind is MessageType.FRIENDTALK:
        check_kakao_length(text, kind)
        return
    if kind is MessageType.MMS:
        if image is None:
            raise _error(
                "MISSING_IMAGE",
                "MMS needs an image",
                field="image",
                value="",
                hint="add --image PATH, or use --type LMS",
            )
    elif image is not None:
        raise image_not_allowed(image, kind)
    check_size(kind, size, subject)


def check_size(
    kind: MessageType, size: int, subject: str | None, *, failover: bool = False
) -> None:
    """SMS: no subject and at most 90 bytes; LMS and MMS: at most 2,000 bytes. `failover`: the
    SMS/LMS failover of a channel message, whose fields and options say `failover`."""
    if failover:
        what, prefix, option = "an SMS failover", "failover_", "--failover-"
    else:
        what, prefix, option = "an SMS", "", "--"
    if kind is MessageType.SMS:
        if subject is not None:
            raise _error(
                "SUBJECT_NOT_ALLOWED",
                f"{what} cannot have a subject ({_quote(subject)})",
                field=f"{prefix}subject",
                value=subject,
                hint=f"drop {option}subject, or use {option}type LMS",
            )
        if size > SMS_MAX_BYTES:
            raise too_long_bytes(
                f"{prefix}text",
                "SMS",
                size,
                SMS_MAX_BYTES,
                f"omit {option}type to send it as LMS, or use {option}type LMS",
            )
    elif size > LONG_MAX_BYTES:
        shorten = "the failover text" if failover else "the text"
        raise too_long_bytes(
            f"{prefix}text",
            kind.value,
            size,
            LONG_MAX_BYTES,
            f"shorten {shorten} to 2,000 bytes (about 1,000 Korean characters)"
            + ("" if failover else " or split it"),
        )
