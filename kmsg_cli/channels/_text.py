"""What every channel module checks the same way: the message handed over (`Given`), whose
methods check its text, subject, image, files, template and options, and `refuse`; and what
the checks give back (`Checked`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from kmsg_cli.channels._schema import Obj
from kmsg_cli.channels._schema import newlines as count_newlines
from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import BMS_TYPES, MessageType, Notice

Result = tuple[dict[str, Any], list[str], list[Notice]]
"""What a family's `check` returns: checked options, local files, warnings."""


def set_options(
    options: Mapping[str, Any], phrases: Mapping[str, Callable[[Any], str]]
) -> list[str]:
    """What a dry run says of the options: the phrase of each key of `phrases` that is set
    in `options`, in the order of `phrases`."""
    return [phrase(options[key]) for key, phrase in phrases.items() if options.get(key)]


def how_many(what: str) -> Callable[[Any], str]:
    """The phrase of a list option: `3 button(s)`."""
    return lambda items: f"{len(items)} {what}(s)"


def refuse(field: str, value: str, what: str, hint: str, code: str = "NOT_ALLOWED") -> NoReturn:
    raise InvalidInput(f"{what} (field '{field}')", code=code, field=field, value=value, hint=hint)


@dataclass(frozen=True)
class Checked:
    """A channel message's options as they will be sent, and the local files it needs."""

    options: dict[str, Any]
    files: tuple[str, ...] = ()
    warnings: tuple[Notice, ...] = ()


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

    def need_text(self, what: str = "") -> None:
        if not self.has_text:
            raise InvalidInput(
                f"the message text is empty; {self.type.value} needs one{what} (field 'text')",
                code="MISSING_TEXT",
                field="text",
                value="",
                hint="give --text TEXT, --text-file PATH, or --text - to read stdin",
            )

    def no_text(self, why: str) -> None:
        if self.has_text:
            refuse("text", _quote(self.text, 40), f"{self.type.value} carries no text: {why}", why)

    def max_chars(self, limit: int, *, newlines: int | None = None, what: str = "") -> None:
        size = len(self.text)
        if size > limit:
            raise InvalidInput(
                f"text is {size} characters; {self.type.value}{what} allows at most {limit} "
                "(field 'text')",
                code="TEXT_TOO_LONG",
                field="text",
                value=str(size),
                hint=f"shorten the text to {limit:,} characters",
            )
        if newlines is not None and count_newlines(self.text) > newlines:
            refuse(
                "text",
                str(count_newlines(self.text)),
                f"text has {count_newlines(self.text)} line breaks; "
                f"{self.type.value}{what} allows at most {newlines}",
                "join some lines",
                code="TEXT_TOO_LONG",
            )

    def max_bytes(self, limit: int) -> None:
        if self.byte_length > limit:
            raise InvalidInput(
                f"text is {self.byte_length} bytes; {self.type.value} allows at most {limit} "
                "(field 'text')",
                code="TEXT_TOO_LONG",
                field="text",
                value=str(self.byte_length),
                hint=f"shorten the text to {limit:,} bytes (CP949, as carriers count)",
            )

    def no_subject(self) -> None:
        if self.subject is not None:
            refuse(
                "subject",
                self.subject,
                f"{self.type.value} cannot have a subject ({_quote(self.subject)})",
                "drop --subject",
            )

    def no_image(self, hint: str = "drop --image") -> None:
        if self.image is not None:
            refuse(
                "image",
                self.image,
                f"image {_quote(self.image)} cannot be sent as {self.type.value}",
                hint,
                code="IMAGE_NOT_ALLOWED",
            )

    def no_files(self) -> None:
        if self.files:
            refuse(
                "file",
                self.files[0],
                f"--file {_quote(self.files[0])} is only for FAX, not {self.type.value}",
                "use --type FAX to send documents, or drop --file",
            )

    def need_template(self) -> str:
        if self.template_id is None:
            raise InvalidInput(
                f"{self.type.value} needs a template registered with the vendor (field 'template')",
                code="MISSING_TEMPLATE",
                field="template",
                value="",
                hint="add --template TEMPLATE_ID"
                + (", or --type BMS_FREE for your own text" if self.type in BMS_TYPES else ""),
            )
        return self.template_id

    def no_template(self, hint: str) -> None:
        if self.template_id is not None:
            refuse(
                "template",
                self.template_id,
                f"template {_quote(self.template_id)} cannot be used with type {self.type.value}",
                hint,
                code="TEMPLATE_NOT_ALLOWED",
            )
