"""Reading a channel's JSON options: one small reader per object, errors that name the path.

Every problem is an `InvalidInput` with code INVALID_OPTION (or MISSING_OPTION) whose field is
the option's path, e.g. `options.buttons[1].linkMobile`, and whose message names the value.
Readers return plain JSON values; the object they read is copied, never changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote

_URL = re.compile(r"https?://[^\s/]+\.[^\s]+", re.IGNORECASE)
_NEWLINES = re.compile(r"\r\n|\r|\n")
PLACEHOLDER = re.compile(r"#\{[^{}]+\}")


def fail(path: str, what: str, value: Any = None, *, code: str = "INVALID_OPTION") -> NoReturn:
    shown = value if isinstance(value, str) else None if value is None else repr(value)
    raise InvalidInput(
        f"{path} {what}",
        code=code,
        field=path,
        value=shown,
        hint="see docs/channels.md for the options of each message type",
    )


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return "null"


def newlines(text: str) -> int:
    return len(_NEWLINES.findall(text))


def is_url(text: str) -> bool:
    """An http(s) address with a host and no whitespace; `#{var}` parts count as text."""
    return _URL.fullmatch(PLACEHOLDER.sub("x", text)) is not None


class Obj:
    """One JSON object of the options at `path` (`options`, `options.coupon`, ...)."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            fail(path, f"must be an object, not {kind_of(data)}")
        self.data: dict[str, Any] = dict(data)
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def get(self, key: str, *, required: bool = False) -> Any:
        """The raw value of `key`, None when absent (or null); MISSING_OPTION if `required`."""
        value = self.data.get(key)
        if value is None and required:
            fail(self.at(key), "is required", code="MISSING_OPTION")
        return value

    def only(self, allowed: Iterable[str], *, why: str = "") -> None:
        """Refuse keys outside `allowed` (null values count as absent)."""
        names = list(allowed)
        for key, value in self.data.items():
            if value is not None and key not in names:
                known = ", ".join(names) or "none"
                fail(self.at(key), f"is not an option here{why} (allowed: {known})", key)

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        max_chars: int | None = None,
        max_newlines: int | None = None,
        choices: Iterable[str] | None = None,
        url: bool = False,
    ) -> str | None:
        value = self.get(key, required=required)
        if value is None:
            return None
        if not isinstance(value, str):
            fail(self.at(key), f"must be a string, not {kind_of(value)}", value)
        if required and not value.strip():
            fail(self.at(key), "is empty", value, code="MISSING_OPTION")
        if choices is not None:
            allowed = list(choices)
            if value not in allowed:
                fail(self.at(key), f"{_quote(value)} is not one of {', '.join(allowed)}", value)
        if max_chars is not None and len(value) > max_chars:
            fail(self.at(key), f"is {len(value)} characters; at most {max_chars} allowed", value)
        if max_newlines is not None and newlines(value) > max_newlines:
            limit = "no line breaks" if max_newlines == 0 else f"at most {max_newlines} line breaks"
            fail(self.at(key), f"has {newlines(value)} line breaks; {limit} allowed", value)
        if url and not is_url(value):
            fail(self.at(key), f"{_quote(value)} is not an http(s) address", value)
        return value

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            fail(self.at(key), f"must be true or false, not {kind_of(value)}", value)
        return value

    def number(
        self, key: str, low: float, high: float, *, required: bool = False, whole: bool = False
    ) -> float | None:
        """A number in [low, high]; a string holding a number is taken as that number."""
        value = self.get(key, required=required)
        if value is None:
            return None
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or number != number:  # NaN
            fail(self.at(key), f"must be a number, not {_quote(str(value))}", value)
        if whole and not number.is_integer():
            fail(self.at(key), f"must be a whole number, not {value}", value)
        if not low <= number <= high:
            fail(self.at(key), f"is {value}; it must be from {low:g} to {high:g}", value)
        return number

    def child(self, key: str, *, required: bool = False) -> Obj | None:
        value = self.get(key, required=required)
        if value is None:
            return None
        return Obj(value, self.at(key))

    def children(
        self, key: str, *, required: bool = False, low: int = 0, high: int | None = None
    ) -> list[Obj]:
        """The objects of an array option, with its length checked."""
        value = self.get(key, required=required)
        if value is None:
            value = []
        if not isinstance(value, list):
            fail(self.at(key), f"must be an array, not {kind_of(value)}", value)
        if len(value) < low or (high is not None and len(value) > high):
            bound = f"{low} to {high}" if high is not None else f"at least {low}"
            fail(self.at(key), f"has {len(value)} entries; {bound} allowed", str(len(value)))
        return [Obj(item, f"{self.at(key)}[{index}]") for index, item in enumerate(value)]

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            fail(self.at(key), "must be an array of non-empty strings", value)
        return list(value)

    def one_of(self, *keys: str, required: bool = False) -> str | None:
        """The one key of `keys` that is set; an error when several are, or (required) none."""
        given = [key for key in keys if self.has(key)]
        if len(given) > 1:
            fail(self.at(given[1]), f"cannot be combined with {given[0]}", given[1])
        if not given and required:
            fail(self.at(keys[0]), f"is required (or {', '.join(keys[1:])})", code="MISSING_OPTION")
        return given[0] if given else None


def image_of(obj: Obj, files: list[str], *, required: bool = False) -> None:
    """`imageId` (a file id already uploaded) or `image` (a local file kmsg uploads)."""
    which = obj.one_of("imageId", "image", required=required)
    if which == "imageId":
        obj.text("imageId", required=True)
    elif which == "image":
        path = obj.text("image", required=True)
        assert path is not None
        files.append(path)
