"""The message channels beyond SMS and KakaoTalk AlimTalk/FriendTalk: RCS, Kakao Brand
Message, voice, fax and Naver smart alerts (docs/channels.md). Pure: no I/O, no clock.

`kmsg_cli.normalize` hands each message of these types over as a `Given` (text already
interpolated and counted); `check` applies the type's rules and returns its options checked
against the documented fields, with defaults filled in. One module per family holds its
option schema and rules: `rcs`, `bms`, `voice`, `fax`, `nsa`, imported when a message of the
family is checked or described (an SMS imports none of them). Nothing here knows a vendor's
wire format; `kmsg_cli.providers.solapi.channels` builds that from the checked options.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import BMS_TYPES, CHANNEL_TYPES, RCS_TYPES, Message, MessageDraft, MessageType

if TYPE_CHECKING:
    from kmsg_cli.channels._text import Checked, Given

__all__ = [
    "CHANNEL_TYPES",
    "FALLBACK_TYPES",
    "TEMPLATE_TYPES",
    "Checked",
    "Given",
    "check",
    "check_draft",
    "describe",
    "parse_options",
    "refuse_options",
]

if TYPE_CHECKING:
    TEMPLATE_TYPES: frozenset[MessageType]
    """Types sent from a template registered with the vendor (`--template` is required): ALIMTALK,
    NSA and the template types of `rcs` and `bms` (built on first use, `__getattr__`)."""

FALLBACK_TYPES = frozenset({MessageType.ALIMTALK, *RCS_TYPES, *BMS_TYPES})
"""Types that take `--failover-text`: one SMS/LMS when the channel cannot reach the
recipient (docs/channels.md, "Fallback")."""

MAX_OPTIONS_BYTES = 1 << 20  # a JSON options file or cell; far beyond any real message


_FAMILIES: Mapping[str, str] = {
    "RCS": "rcs",
    "BMS": "bms",
    "VOICE": "voice",
    "FAX": "fax",
    "NSA": "nsa",
}
"""The module of each channel family, imported on first use (`_family`)."""


def _family(channel: str) -> ModuleType | None:
    name = _FAMILIES.get(channel)
    return None if name is None else importlib.import_module(f"{__name__}.{name}")


def __getattr__(name: str) -> Any:
    """`TEMPLATE_TYPES`, `Given` and `Checked`, made when first asked for."""
    if name == "TEMPLATE_TYPES":
        from kmsg_cli.channels import bms, rcs

        value: Any = frozenset(
            {MessageType.ALIMTALK, MessageType.NSA, *rcs.TEMPLATE_TYPES, *bms.TEMPLATE_TYPES}
        )
    elif name in ("Given", "Checked"):
        from kmsg_cli.channels import _text

        value = getattr(_text, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def check(given: Given) -> Checked:
    """The rules of `given.type` (one of CHANNEL_TYPES); InvalidInput on the first fault."""
    from kmsg_cli.channels._text import Checked

    family = _family(given.type.channel)
    if family is None:
        raise KeyError(given.type.channel)
    options, files, notes = family.check(given)
    return Checked(options, tuple(dict.fromkeys(files)), tuple(notes))


def check_draft(
    draft: MessageDraft,
    kind: MessageType,
    text: str,
    byte_length: int,
    subject: str | None,
    image: str | None,
    template_id: str | None,
) -> Checked:
    """`check` for a draft whose text (and subject) `kmsg_cli.normalize` has filled in."""
    from kmsg_cli.channels._text import Given

    return check(
        Given(
            type=kind,
            text=text,
            byte_length=byte_length,
            subject=subject,
            image=image,
            template_id=template_id,
            options=parse_options(draft.options, draft.option_flags),
            files=tuple(draft.files),
            failover=bool((draft.failover_text or "").strip()),
        )
    )


def refuse_options(draft: MessageDraft, kind: MessageType | None) -> None:
    """Options and files belong to the channel types only: INVALID_INPUT for any other."""
    flags = [f"{key}={value}" for key, value in draft.option_flags.items() if value is not None]
    options = (draft.options or "").strip()
    found = options or (flags[0] if flags else None) or next(iter(draft.files), None)
    if found is None:
        return
    field = "options" if options or flags else "file"
    raise InvalidInput(
        f"{field} {_quote(found)} cannot be used with type "
        f"{kind.value if kind else 'SMS/LMS/MMS'} (field '{field}')",
        code="OPTIONS_NOT_ALLOWED",
        field=field,
        value=found,
        hint="channel options are for RCS, Brand Message, VOICE, FAX and NSA (--type ...)",
    )


def parse_options(text: str | None, flags: Mapping[str, Any]) -> dict[str, Any]:
    """Options from JSON text (an options file or column) with the flags' values on top."""
    options: dict[str, Any] = {}
    if text is not None and text.strip():
        import json

        from kmsg_cli.channels import _schema

        if len(text.encode("utf-8", "surrogatepass")) > MAX_OPTIONS_BYTES:
            _schema.fail("options", f"is larger than {MAX_OPTIONS_BYTES // 1024} KiB")
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            where = ""
            if isinstance(exc, json.JSONDecodeError):
                where = f" ({exc.msg} at position {exc.pos})"
            raise _not_an_object(f"are not valid JSON{where}", text) from None
        if not isinstance(data, dict):
            raise _not_an_object(f"must be a JSON object, not {_schema.kind_of(data)}", text)
        options.update(data)
    options.update({k: v for k, v in flags.items() if v is not None})
    return options


def _not_an_object(what: str, text: str) -> InvalidInput:
    return InvalidInput(
        f"options {_quote(text.strip())} {what}",
        code="INVALID_OPTIONS",
        field="options",
        value=text.strip()[:200],
        hint='write a JSON object, e.g. {"voiceType": "MALE"} (docs/channels.md)',
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def describe(message: Message) -> list[str]:
    """What was checked and will be sent, in a few words (dry runs show it)."""
    family = _family(message.type.channel)
    words: list[str] = family.describe(message) if family is not None else []
    return words
