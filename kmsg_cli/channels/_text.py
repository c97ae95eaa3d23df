"""What every channel module checks the same way: the message handed over (`Given`), its text,
subject, image, files and template, and the errors that refuse one of them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from kmsg_cli.channels._schema import Obj
from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import MessageType, Notice

Result = tuple[dict[str, Any], list[str], list[Notice]]
"""What a family's `check` returns: checked options, local files, warnings."""


@dataclass(frozen=True)
class Given:
    """One message of a channel type as `kmsg_cli.normalize` hands it over.

    `text` is interpolated ("" when none was given) and `byte_length` its CP949 size;
    `options` are parsed (JSON and flags merged) but not checked yet.
    """

    type: MessageType
    text: str = ""
    byte_length: int = 0
    subject: str | None = None
    image: str | None = None
    template_id: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    failover: bool = False  # a fallback text was given

    @property
    def has_text(self) -> bool:
        return bool(self.text.strip())

    def options_only(self, allowed: Iterable[str]) -> Obj:
        """The options, refusing any key that is not an option of this type."""
        options = Obj(self.options, "options")
        options.only(allowed, why=f" for {self.type.value}")
        return options


def refuse(field: str, value: str, what: str, hint: str, code: str = "NOT_ALLOWED") -> NoReturn:
    raise InvalidInput(f"{what} (field '{field}')", code=code, field=field, value=value, hint=hint)


def need_text(given: Given, what: str = "") -> None:
    if not given.has_text:
        raise InvalidInput(
            f"the message text is empty; {given.type.value} needs one{what} (field 'text')",
            code="MISSING_TEXT",
            field="text",
            value="",
            hint="give --text TEXT, --text-file PATH, or --text - to read stdin",
        )


def no_text(given: Given, why: str) -> None:
    if given.has_text:
        refuse("text", _quote(given.text, 40), f"{given.type.value} carries no text: {why}", why)


def max_chars(given: Given, limit: int, *, newlines: int | None = None, what: str = "") -> None:
    from kmsg_cli.channels._schema import newlines as count_newlines

    size = len(given.text)
    if size > limit:
        raise InvalidInput(
            f"text is {size} characters; {given.type.value}{what} allows at most {limit} "
            "(field 'text')",
            code="TEXT_TOO_LONG",
            field="text",
            value=str(size),
            hint=f"shorten the text to {limit:,} characters",
        )
    if newlines is not None and count_newlines(given.text) > newlines:
        refuse(
            "text",
            str(count_newlines(given.text)),
            f"text has {count_newlines(given.text)} line breaks; "
            f"{given.type.value}{what} allows at most {newlines}",
            "join some lines",
            code="TEXT_TOO_LONG",
        )


def max_bytes(given: Given, limit: int) -> None:
    if given.byte_length > limit:
        raise InvalidInput(
            f"text is {given.byte_length} bytes; {given.type.value} allows at most {limit} "
            "(field 'text')",
            code="TEXT_TOO_LONG",
            field="text",
            value=str(given.byte_length),
            hint=f"shorten the text to {limit:,} bytes (CP949, as carriers count)",
        )


def no_subject(given: Given) -> None:
    if given.subject is not None:
        refuse(
            "subject",
            given.subject,
            f"{given.type.value} cannot have a subject ({_quote(given.subject)})",
            "drop --subject",
        )


def no_image(given: Given, hint: str = "drop --image") -> None:
    if given.image is not None:
        refuse(
            "image",
            given.image,
            f"image {_quote(given.image)} cannot be sent as {given.type.value}",
            hint,
            code="IMAGE_NOT_ALLOWED",
        )


def no_files(given: Given) -> None:
    if given.files:
        refuse(
            "file",
            given.files[0],
            f"--file {_quote(given.files[0])} is only for FAX, not {given.type.value}",
            "use --type FAX to send documents, or drop --file",
        )


def need_template(given: Given) -> str:
    if given.template_id is None:
        raise InvalidInput(
            f"{given.type.value} needs a template registered with the vendor (field 'template')",
            code="MISSING_TEMPLATE",
            field="template",
            value="",
            hint="add --template TEMPLATE_ID",
        )
    return given.template_id


def no_template(given: Given, hint: str) -> None:
    if given.template_id is not None:
        refuse(
            "template",
            given.template_id,
            f"template {_quote(given.template_id)} cannot be used with type {given.type.value}",
            hint,
            code="TEMPLATE_NOT_ALLOWED",
        )
