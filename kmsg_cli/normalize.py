"""Turn what the user typed into a validated `Message` (SPEC §5). Pure: no I/O, no clock.

Phone numbers, CP949 byte counting, `#{name}` interpolation, `--var`/`--vars`, the message
type decision and every size limit live here. Each failure is an `InvalidInput` whose
one-line message names the field and the value.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from kmsg_cli import channels
from kmsg_cli.channels import CHANNEL_TYPES, FALLBACK_TYPES, TEMPLATE_TYPES
from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import Failover, Message, MessageDraft, MessageType, Notice, Recipient
from kmsg_cli.when import parse_when

__all__ = [
    "KAKAO_TEXT_MAX_CHARS",
    "LONG_MAX_BYTES",
    "SMS_MAX_BYTES",
    "SUBJECT_MAX_BYTES",
    "build_message",
    "count_bytes",
    "interpolate",
    "is_mobile",
    "normalize_phone",
    "normalize_sender",
    "parse_type",
    "parse_variables",
    "placeholders",
    "validate_message_id",
]

SMS_MAX_BYTES = 90
LONG_MAX_BYTES = 2000  # LMS and MMS text
SUBJECT_MAX_BYTES = 40
KAKAO_TEXT_MAX_CHARS = 1000
MESSAGE_ID_MAX_CHARS = 200
NON_KS_BYTES = 4  # what carriers charge for a character outside CP949 (emoji)

_PHONE_HINT = "use a Korean number such as 010-1234-5678, or +<country><number> for international"
_SENDER_HINT = (
    "use a registered Korean sender number such as 02-1234-5678, 1588-1234 or 010-1234-5678"
)
_TYPE_NAMES = ", ".join(t.value for t in MessageType)

# Separators people type or paste inside phone numbers (NFKC has already folded full-width forms).
_PHONE_SEPARATORS = re.compile(r"[\s\-.()\u2010-\u2015\u2212]")
# The national numbering plan (docs/messages.md, "Phone numbers"): 010 numbers have exactly
# eight digits after the prefix; the older 011/016/017/018/019 ranges seven or eight.
_MOBILE = re.compile(r"010\d{8}|01[16789]\d{7,8}")
_KOREAN = re.compile(
    r"""
      010\d{8}            # mobile
    | 01[16789]\d{7,8}    # older mobile ranges
    | 02\d{7,8}           # Seoul
    | 0[3-6][1-5]\d{7,8}  # other area codes
    | 070\d{8}            # internet phone
    | 050[2-8]\d{7,8}     # personal (virtual) numbers
    | 1[568]\d{6}         # representative numbers 15xx/16xx/18xx-xxxx
    """,
    re.VERBOSE,
)
_REPRESENTATIVE = re.compile(r"1[568]\d{6}")
# ITU calling codes; the set is prefix-free, so at most one length matches.
_CALLING_CODES = frozenset(
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 "
    "351 352 353 358 380 420 852 853 855 856 880 886 960 966 971 972 973 974 975 976 977 "
    "992 994 995 996 998".split()
)
_PLACEHOLDER = re.compile(r"#\{([^{}]*)\}")


def _error(code: str, what: str, *, field: str, value: str | None, hint: str) -> InvalidInput:
    return InvalidInput(f"{what} (field '{field}')", code=code, field=field, value=value, hint=hint)


def _given(value: str | None) -> str | None:
    """None for a missing or blank optional value (an empty CSV cell means 'not given')."""
    return value if value is not None and value.strip() else None


# --- phone numbers ---------------------------------------------------------------------------


def _clean(raw: str) -> str:
    return _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))


def _korean_from_rest(rest: str) -> str:
    """National form of the digits after +82 / 0082 ('10...' or an already 0-led '010...')."""
    if _REPRESENTATIVE.fullmatch(rest):
        return rest
    return rest if rest.startswith("0") else "0" + rest


def _parse_phone(raw: str, field: str, hint: str) -> Recipient:
    shown = raw.strip()

    def invalid(
        reason: str = "is not a valid Korean phone number", why: str = hint
    ) -> InvalidInput:
        return _error(
            "INVALID_PHONE", f"{_quote(shown)} {reason}", field=field, value=shown, hint=why
        )

    if any(ch.isdigit() and not ch.isdecimal() for ch in raw):  # ², ①: NFKC makes them digits
        raise invalid("contains a character that is not a decimal digit")
    digits = _clean(raw)
    if not digits:
        raise invalid("is empty, not a phone number")
    international = None
    if digits.startswith("+"):
        international = digits[1:]
    elif digits.startswith("00"):  # 00 + country, including 0082
        international = digits[2:]
    if international is not None:
        if not international.isascii() or not international.isdigit():
            raise invalid("is not a valid phone number")
        code = next(
            (international[:n] for n in (1, 2, 3) if international[:n] in _CALLING_CODES), None
        )
        if code is None:
            raise invalid("has an unknown country code")
        rest = international[len(code) :]
        if code == "82":
            digits = _korean_from_rest(rest)
        else:
            if not 8 <= len(international) <= 15 or not rest:
                raise invalid(f"is not a valid phone number for country code +{code}")
            return Recipient(number=rest, country=code)
    if not (digits.isascii() and _KOREAN.fullmatch(digits)):
        raise _not_korean(digits, invalid)
    return Recipient(number=digits, country="82")


# A leading zero dropped by a spreadsheet: 1012345678 was 010-1234-5678, 212345678 02-1234-5678.
_ZERO_STRIPPED = re.compile(r"10\d{8}|1[16789]\d{7,8}|2\d{7,8}|[3-6][1-5]\d{7,8}|70\d{8}")


def _not_korean(digits: str, invalid: Callable[..., InvalidInput]) -> InvalidInput:
    """The error for digits that are no Korean number, with the likeliest reason."""
    if not digits.isascii() or not digits.isdigit():
        return invalid("is not a valid Korean phone number")
    if _ZERO_STRIPPED.fullmatch(digits):
        return invalid(
            f"is not a valid Korean phone number: its leading 0 is missing (0{digits}?)",
            "Excel drops the leading 0 of numbers in General format: format the column as "
            "Text, or write the numbers with dashes (010-1234-5678), and export again",
        )
    if digits.startswith("82") and _KOREAN.fullmatch(_korean_from_rest(digits[2:])):
        return invalid(
            f"is not a valid Korean phone number: is it +{digits} without its '+'?",
            "write international numbers with their '+' (+82 10-1234-5678); a spreadsheet "
            "may have dropped it: format the column as Text",
        )
    if digits.startswith("010") and len(digits) != 11:
        return invalid(
            f"is not a valid mobile number: 010 numbers have 11 digits, not {len(digits)}"
        )
    if digits.startswith("01") and len(digits) in (10, 11):
        return invalid("is not a valid mobile number: mobile prefixes are 010, 011 and 016-019")
    return invalid("is not a valid Korean phone number")


def normalize_phone(raw: str, *, field: str = "to") -> Recipient:
    """A recipient number: Korean (`01012345678`, country "82") or `+<country><number>`."""
    return _parse_phone(raw, field, _PHONE_HINT)


def is_mobile(recipient: Recipient) -> bool:
    """True for a Korean mobile number (01X), the only kind that reliably receives texts."""
    return recipient.is_korean and _MOBILE.fullmatch(recipient.number) is not None


def normalize_sender(raw: str, *, field: str = "from") -> str:
    """A sender number: any Korean form (mobile, landline, 070, 050X, 15xx), national digits."""
    recipient = _parse_phone(raw, field, _SENDER_HINT)
    if not recipient.is_korean:
        shown = raw.strip()
        raise _error(
            "INVALID_PHONE",
            f"{_quote(shown)} is not a Korean number; senders must be registered Korean numbers",
            field=field,
            value=shown,
            hint=_SENDER_HINT,
        )
    return recipient.number


# --- text ------------------------------------------------------------------------------------


def count_bytes(text: str) -> tuple[int, bool]:
    """(CP949 byte length, whether some character was outside CP949 and counted 4 bytes)."""
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


def placeholders(text: str) -> list[str]:
    """Names of the `#{name}` placeholders, stripped, unique, in order; `#{}` is literal."""
    names: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1).strip()
        if name:
            names.setdefault(name, None)
    return list(names)


def interpolate(text: str, variables: Mapping[str, str], *, field: str = "text") -> str:
    """Fill every `#{name}` in one pass; MISSING_VARIABLE lists every name without a value."""
    missing = [name for name in placeholders(text) if name not in variables]
    if missing:
        listed = ", ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        hint = "give each with --var NAME=VALUE or --vars JSON (send-many: a column per name)"
        advice = f"use --var {missing[0]}=VALUE"
        by_case = {name.casefold(): name for name in variables}
        near = [(name, by_case[name.casefold()]) for name in missing if name.casefold() in by_case]
        if near:
            # names match exactly; a difference only in case is most likely a typo
            advice = "did you mean " + ", ".join(
                f"#{{{found}}} for #{{{name}}}" for name, found in near
            )
            hint = advice + "? names are matched exactly, case included"
            advice += "?"
        raise _error(
            "MISSING_VARIABLE",
            f"missing variable{plural} for '{field}': {listed} ({advice})",
            field=field,
            value=listed,
            hint=hint,
        )

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        return check_variable(name, str(variables[name])) if name else match.group(0)

    return _PLACEHOLDER.sub(fill, text)


# --- variables, type, id ---------------------------------------------------------------------

# Control characters other than tab and line breaks: a NUL or an escape sequence in a value
# that goes into a message is a broken export, never text to send.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_variable(name: str, value: str) -> str:
    """`value`, or INVALID_VARIABLE when it holds a control character (NUL, ESC, ...)."""
    found = _CONTROL.search(value)
    if found is None:
        return value
    char = repr(found.group())[1:-1]
    raise _error(
        "INVALID_VARIABLE",
        f"variable '{name}' contains the control character {char} at position {found.start()}",
        field=name,
        value=_quote(value),
        hint="remove control characters from the value (a binary or broken export?)",
    )


def _json_scalar(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise _error(
        "INVALID_VARIABLE",
        f"variable '{key}' must be a string, number, boolean or null, not {type(value).__name__}",
        field="vars",
        value=key,
        hint='give flat values, e.g. --vars \'{"name": "홍길동", "count": 3}\'',
    )


def _reject_constant(name: str) -> None:
    """JSON has no NaN/Infinity; Python's json would accept them and we would send "NaN"."""
    raise ValueError(f"{name} is not a JSON value")


def parse_variables(pairs: Sequence[str], json_text: str | None) -> dict[str, str]:
    """Merge `--vars JSON` and `--var KEY=VALUE` items; `--var` wins on the same key."""
    result: dict[str, str] = {}
    if json_text is not None:
        hint = 'give a JSON object, e.g. --vars \'{"name": "홍길동"}\''
        try:
            data = json.loads(json_text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise _error(
                "INVALID_VARIABLE",
                f"{_quote(json_text.strip())} is not valid JSON ({exc.msg} at position {exc.pos})"
                if isinstance(exc, json.JSONDecodeError)
                else f"{_quote(json_text.strip())} is not valid JSON",
                field="vars",
                value=json_text.strip(),
                hint=hint,
            ) from None
        if not isinstance(data, dict):
            raise _error(
                "INVALID_VARIABLE",
                f"{_quote(json_text.strip())} is not a JSON object",
                field="vars",
                value=json_text.strip(),
                hint=hint,
            )
        for raw_key, value in data.items():
            key = raw_key.strip()
            if not key:
                raise _error(
                    "INVALID_VARIABLE",
                    f"{_quote(raw_key)} is not a variable name",
                    field="vars",
                    value=raw_key,
                    hint=hint,
                )
            result[key] = _json_scalar(key, value)
    for pair in pairs:
        raw_key, sep, value = pair.partition("=")
        key = raw_key.strip()
        if not sep or not key:
            raise _error(
                "INVALID_VARIABLE",
                f"{_quote(pair)} is not KEY=VALUE",
                field="var",
                value=pair,
                hint="write --var name=홍길동 (the name before the first '=')",
            )
        result[key] = value
    return result


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


# --- building a message ----------------------------------------------------------------------


def _too_long_bytes(field: str, kind: str, size: int, limit: int, hint: str) -> InvalidInput:
    return _error(
        "TEXT_TOO_LONG",
        f"{field} is {size} bytes; {kind} allows at most {limit}",
        field=field,
        value=str(size),
        hint=hint,
    )


def _check_subject(subject: str, field: str) -> None:
    size, _ = count_bytes(subject)
    if size > SUBJECT_MAX_BYTES:
        raise _error(
            "SUBJECT_TOO_LONG",
            f"subject {_quote(subject)} is {size} bytes; at most {SUBJECT_MAX_BYTES} allowed",
            field=field,
            value=subject,
            hint="shorten the subject to 40 bytes (about 20 Korean characters)",
        )


def _check_kakao_length(text: str, kind: MessageType) -> None:
    if len(text) > KAKAO_TEXT_MAX_CHARS:
        raise _error(
            "TEXT_TOO_LONG",
            f"text is {len(text)} characters; {kind.value} allows at most {KAKAO_TEXT_MAX_CHARS}",
            field="text",
            value=str(len(text)),
            hint="shorten the text to 1,000 characters",
        )


def _non_ks_notice(what: str) -> Notice:
    return Notice(
        "NON_KS_CHARACTERS",
        f"{what} has characters outside KS X 1001 (emoji, ...): counted as 4 bytes each; "
        "some phones may not display them",
    )


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
    rendered = interpolate(text, draft.variables, field="failover_text")
    size, non_ks = count_bytes(rendered)
    if non_ks:
        warnings.append(_non_ks_notice("failover text"))
    subject = _given(draft.failover_subject)
    if subject is not None:
        subject = interpolate(subject, draft.variables, field="failover_subject")
    kind = parse_type(draft.failover_type, field="failover_type")
    if kind is not None and kind not in (MessageType.SMS, MessageType.LMS):
        raise _error(
            "INVALID_TYPE",
            f"failover type {_quote(kind.value)} is not allowed; use SMS or LMS",
            field="failover_type",
            value=kind.value,
            hint="use --failover-type SMS or LMS, or omit it to choose by length",
        )
    if kind is None:
        kind = MessageType.LMS if size > threshold else MessageType.SMS
        if kind is MessageType.SMS and subject is not None:
            kind = MessageType.LMS
            warnings.append(
                Notice("SUBJECT_IMPLIES_LMS", "the failover has a subject, so it is sent as LMS")
            )
    if kind is MessageType.SMS:
        if subject is not None:
            raise _error(
                "SUBJECT_NOT_ALLOWED",
                f"an SMS failover cannot have a subject ({_quote(subject)})",
                field="failover_subject",
                value=subject,
                hint="drop --failover-subject, or use --failover-type LMS",
            )
        if size > SMS_MAX_BYTES:
            raise _too_long_bytes(
                "failover_text",
                "SMS",
                size,
                SMS_MAX_BYTES,
                "omit --failover-type to send it as LMS, or use --failover-type LMS",
            )
    elif size > LONG_MAX_BYTES:
        raise _too_long_bytes(
            "failover_text",
            "LMS",
            size,
            LONG_MAX_BYTES,
            "shorten the failover text to 2,000 bytes (about 1,000 Korean characters)",
        )
    if subject is not None:
        _check_subject(subject, "failover_subject")
    return Failover(text=rendered, type=kind, subject=subject, byte_length=size)


def build_message(
    draft: MessageDraft,
    *,
    default_id: str,
    auto_lms_bytes: int = 90,
    now: datetime,
    timezone: str = "Asia/Seoul",
) -> Message:
    """Validate `draft` and decide its type (SPEC §5); raise `InvalidInput` on the first fault."""
    warnings: list[Notice] = []
    message_id_raw = _given(draft.message_id)
    message_id = validate_message_id(message_id_raw) if message_id_raw else default_id

    to = normalize_phone(draft.to, field="to")
    if to.is_korean and not is_mobile(to):
        warnings.append(
            Notice(
                "NOT_MOBILE",
                f"{to.number} is not a mobile number; "
                "landline numbers usually cannot receive text messages",
            )
        )
    sender_raw = _given(draft.sender)
    sender = normalize_sender(sender_raw, field="from") if sender_raw else None

    kind = parse_type(draft.type)
    template_id = _given(draft.template_id)
    if template_id is not None:
        template_id = template_id.strip()
        if kind is None:
            kind = MessageType.ALIMTALK
        elif kind not in TEMPLATE_TYPES:
            raise _error(
                "TEMPLATE_NOT_ALLOWED",
                f"template {_quote(template_id)} cannot be used with type {kind.value}",
                field="template",
                value=template_id,
                hint="--template is for ALIMTALK, NSA and the RCS/Brand Message template types "
                "(docs/channels.md), or drop --template",
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
    if not channel:
        channels.refuse_options(draft, kind)
    # An SMS can never exceed 90 bytes, so a larger threshold could only yield invalid SMS.
    threshold = min(auto_lms_bytes, SMS_MAX_BYTES) if auto_lms_bytes > 0 else SMS_MAX_BYTES

    subject = _given(draft.subject)
    image = _given(draft.image)
    failover: Failover | None = None
    variables: dict[str, str] = {}
    checked = channels.Checked({})

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
            subject = interpolate(subject, draft.variables, field="subject")
        _check_kakao_length(text, kind)
        size, _ = count_bytes(text)
        if image is not None:
            raise _image_not_allowed(image, kind)
        variables = {name: check_variable(name, v) for name, v in draft.variables.items()}
    elif channel:
        assert kind is not None
        text = interpolate(draft.text or "", draft.variables, field="text")
        if subject is not None:
            subject = interpolate(subject, draft.variables, field="subject")
        size, _ = count_bytes(text)
        checked = channels.check_draft(draft, kind, text, size, subject, image, template_id)
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
        text = interpolate(draft.text, draft.variables, field="text")
        if subject is not None:
            subject = interpolate(subject, draft.variables, field="subject")
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
            warnings.append(_non_ks_notice("text"))
        _check_text(kind, text, size, subject, image)

    if subject is not None:
        _check_subject(subject, "subject")

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
        options=checked.options,
        files=checked.files,
    )


def _image_not_allowed(image: str, kind: MessageType) -> InvalidInput:
    return _error(
        "IMAGE_NOT_ALLOWED",
        f"image {_quote(image)} cannot be sent as {kind.value}",
        field="image",
        value=image,
        hint="use --type MMS (or FRIENDTALK) to send an image, or drop --image",
    )


def _check_text(
    kind: MessageType, text: str, size: int, subject: str | None, image: str | None
) -> None:
    """Size, subject and image rules of SMS, LMS, MMS and FRIENDTALK."""
    if kind is MessageType.FRIENDTALK:
        _check_kakao_length(text, kind)
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
        raise _image_not_allowed(image, kind)
    if kind is MessageType.SMS:
        if subject is not None:
            raise _error(
                "SUBJECT_NOT_ALLOWED",
                f"an SMS cannot have a subject ({_quote(subject)})",
                field="subject",
                value=subject,
                hint="drop --subject, or use --type LMS",
            )
        if size > SMS_MAX_BYTES:
            raise _too_long_bytes(
                "text",
                "SMS",
                size,
                SMS_MAX_BYTES,
                "omit --type to send it as LMS, or use --type LMS",
            )
    elif size > LONG_MAX_BYTES:
        raise _too_long_bytes(
            "text",
            kind.value,
            size,
            LONG_MAX_BYTES,
            "shorten the text to 2,000 bytes (about 1,000 Korean characters) or split it",
        )
