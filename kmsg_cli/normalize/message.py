"""Building a message: a `MessageDraft` checked field by field into a `Message` whose type is
decided (SMS/LMS/MMS by size, AlimTalk by template, the channel types by their own rules), with
its AlimTalk/RCS/Brand Message failover (docs/messages.md, docs/channels.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kmsg_cli import channels
from kmsg_cli.channels import CHANNEL_TYPES, FALLBACK_TYPES
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import Failover, Message, MessageDraft, MessageType, Notice
from kmsg_cli.normalize._common import given as _given
from kmsg_cli.normalize._common import invalid as _error
from kmsg_cli.normalize.fields import parse_type, validate_message_id
from kmsg_cli.normalize.limits import (
    SMS_MAX_BYTES,
    check_kakao_length,
    check_size,
    check_subject,
    check_text,
    count_bytes,
    image_not_allowed,
    non_ks_notice,
)
from kmsg_cli.normalize.phone import format_phone, is_mobile, normalize_phone, normalize_sender
from kmsg_cli.normalize.variables import check_variable, interpolate, render_nonblank
from kmsg_cli.when import parse_when


def _subject(subject: str, variables: Mapping[str, str], field: str) -> str | None:
    """A subject filled in; one that only empty variables made blank is no subject at all
    (as `--subject ""` is): the type follows the length, the provider's default title applies."""
    rendered = interpolate(subject, variables, field=field)
    return rendered if rendered.strip() else None


def parse_failover_type(value: str | None, *, field: str = "failover_type") -> MessageType | None:
    """The type a failover is sent as: SMS or LMS, or None (chosen by length)."""
    if value is None or not value.strip():
        return None
    name = value.strip().upper()
    if name in _FAILOVER_TYPES:
        return MessageType(name)
    if any(kind.value == name for kind in MessageType):
        what = f"failover type {_quote(name)} is not allowed; use SMS or LMS"
    else:  # a typo gets the nearer of the two, not the whole list of types
        from difflib import get_close_matches

        near = get_close_matches(name, _FAILOVER_TYPES, n=1)
        what = f"{_quote(value.strip())} is not a failover type; " + (
            f"did you mean {near[0]}?" if near else "use SMS or LMS"
        )
    raise _error(
        "INVALID_TYPE",
        what,
        field=field,
        value=value.strip(),
        hint="use --failover-type SMS or LMS, or omit it to choose by length",
    )


_FAILOVER_TYPES = ("SMS", "LMS")


def _build_failover(draft: MessageDraft, threshold: int, warnings: list[Notice]) -> Failover | None:
    text = _given(draft.failover_text)
    if text is None:
        if _given(draft.failover_type) or _given(draft.failover_subject):
            raise _error(
                "MISSING_FAILOVER_TEXT",
                "--failover-type/--failover-subject need a failover text",
                field="failover_text",
                value="",
                hint="add --failover-text TEXT (sent as SMS/LMS if the AlimTalk fails)",
            )
        return None
    rendered = render_nonblank(
        text,
        draft.variables,
        field="failover_text",
        code="MISSING_FAILOVER_TEXT",
        what="failover text",
    )
    size, non_ks = count_bytes(rendered)
    if non_ks:
        warnings.append(non_ks_notice("failover text", rendered))
    subject = _given(draft.failover_subject)
    if subject is not None:
        subject = _subject(subject, draft.variables, "failover_subject")
    kind = parse_failover_type(draft.failover_type)
    if kind is None:
        kind = MessageType.LMS if size > threshold else MessageType.SMS
        if kind is MessageType.SMS and subject is not None:
            kind = MessageType.LMS
            warnings.append(
                Notice("SUBJECT_IMPLIES_LMS", "the failover has a subject, so it is sent as LMS")
            )
    check_size(kind, size, subject, failover=True)
    if subject is not None:
        check_subject(subject, "failover_subject")
    return Failover(text=rendered, type=kind, subject=subject, byte_length=size)


# Types a landline receives as well as a mobile: a call reads the text out, a fax is printed.
_CALLED_TYPES = frozenset({MessageType.VOICE, MessageType.FAX})


def build_message(
    draft: MessageDraft,
    *,
    default_id: str,
    auto_lms_bytes: int = 90,
    now: datetime,
    timezone: str = "Asia/Seoul",
) -> Message:
    """Check `draft` and decide its type (docs/messages.md): `InvalidInput` on the first fault."""
    warnings: list[Notice] = []
    message_id_raw = _given(draft.message_id)
    message_id = validate_message_id(message_id_raw) if message_id_raw else default_id

    to = normalize_phone(draft.to, field="to")
    sender_raw = _given(draft.sender)
    sender = normalize_sender(sender_raw, field="from") if sender_raw else None

    kind = parse_type(draft.type)
    template_id = _given(draft.template_id)
    if template_id is not None:
        template_id = template_id.strip()
        if kind is None:
            kind = MessageType.ALIMTALK
        elif kind not in channels.TEMPLATE_TYPES:
            raise _error(
                "TEMPLATE_NOT_ALLOWED",
                f"template {_quote(template_id)} cannot be used with type {kind.value}",
                field="template",
                value=template_id,
                hint="--template is for ALIMTALK, NSA and the RCS/Brand Message template types "
                "(docs/channels.md), or drop --template",
            )
    if to.is_korean and kind not in _CALLED_TYPES and not is_mobile(to):
        warnings.append(
            Notice(
                "NOT_MOBILE",
                f"{format_phone(to.number)} is not a mobile number; "
                "landline numbers usually cannot receive text messages",
            )
        )
    if kind not in FALLBACK_TYPES:
        for option, given in (
            ("failover_text", draft.failover_text),
            ("failover_type", draft.failover_type),
            ("failover_subject", draft.failover_subject),
        ):
            if given is not None and given.strip():
                raise _error(
                    "FAILOVER_NOT_ALLOWED",
                    f"{option} {_quote(given)} is only for ALIMTALK, RCS and Brand Message "
                    f"messages, not {kind.value if kind else 'SMS/LMS/MMS'}",
                    field=option,
                    value=given,
                    hint="use --type ALIMTALK with --template, or drop the --failover-* options",
                )
    channel = kind is not None and kind in CHANNEL_TYPES
    if not channel and (draft.options or draft.option_flags or draft.files):
        channels.refuse_options(draft, kind)  # options and files are the channel types' only
    # An SMS can never exceed 90 bytes, so a larger threshold could only yield invalid SMS.
    threshold = min(auto_lms_bytes, SMS_MAX_BYTES) if auto_lms_bytes > 0 else SMS_MAX_BYTES

    subject = _given(draft.subject)
    image = _given(draft.image)
    failover: Failover | None = None
    variables: dict[str, str] = {}
    options: Mapping[str, Any] = {}
    files: tuple[str, ...] = ()

    if kind is MessageType.ALIMTALK:
        if template_id is None:
            raise _error(
                "MISSING_TEMPLATE",
                "ALIMTALK needs an approved template code",
                field="template",
                value="",
                hint="add --template TEMPLATE_CODE",
            )
        text_raw = _given(draft.text)
        text = interpolate(text_raw, draft.variables, field="text") if text_raw else ""
        if subject is not None:
            subject = _subject(subject, draft.variables, "subject")
        check_kakao_length(text, kind)
        size, _ = count_bytes(text)
        if image is not None:
            raise image_not_allowed(image, kind)
        variables = {name: check_variable(name, v) for name, v in draft.variables.items()}
    elif channel:
        assert kind is not None
        text = interpolate(draft.text or "", draft.variables, field="text")
        if subject is not None:
            subject = _subject(subject, draft.variables, "subject")
        size, _ = count_bytes(text)
        checked = channels.check_draft(draft, kind, text, size, subject, image, template_id)
        options, files = checked.options, checked.files
        warnings.extend(checked.warnings)
        variables = (
            {n: check_variable(n, v) for n, v in draft.variables.items()} if template_id else {}
        )
    else:
        if draft.text is None or not draft.text.strip():
            raise _error(
                "MISSING_TEXT",
                "the message text is empty",
                field="text",
                value=draft.text or "",
                hint="give --text TEXT, --text-file PATH, or --text - to read stdin",
            )
        text = render_nonblank(
            draft.text, draft.variables, field="text", code="MISSING_TEXT", what="message text"
        )
        if subject is not None:
            subject = _subject(subject, draft.variables, "subject")
        size, non_ks = count_bytes(text)
        if kind is None:
            if image is not None:
                kind = MessageType.MMS
            elif size > threshold:
                kind = MessageType.LMS
            elif subject is not None:
                kind = MessageType.LMS
                warnings.append(
                    Notice("SUBJECT_IMPLIES_LMS", "the message has a subject, so it is sent as LMS")
                )
            else:
                kind = MessageType.SMS
        if non_ks and kind is not MessageType.FRIENDTALK:
            warnings.append(non_ks_notice("text", text))
        check_text(kind, text, size, subject, image)

    if subject is not None:
        check_subject(subject, "subject")

    at = _given(draft.at)
    scheduled_at = parse_when(at, now=now, timezone=timezone) if at else None

    if kind in FALLBACK_TYPES:
        failover = _build_failover(draft, threshold, warnings)

    provider_id = _given(draft.provider_id)
    return Message(
        message_id=message_id,
        type=kind,
        to=to,
        text=text,
        byte_length=size,
        sender=sender,
        subject=subject,
        image=image,
        template_id=template_id,
        variables=variables,
        scheduled_at=scheduled_at,
        provider_id=provider_id.strip() if provider_id else None,
        failover=failover,
        warnings=tuple(warnings),
        options=options,
        files=files,
    )
