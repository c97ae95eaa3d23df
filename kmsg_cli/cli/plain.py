"""Printing to a pipe or a file without importing rich (most of what rich costs to start).

Outside a terminal rich prints a line of console markup as its plain text: the tags
(`[green]`, `[/]`) removed, `\\[` unescaped, emoji codes (`:thumbs_up:`) replaced, a few
control characters dropped. `PlainConsole` does exactly that for the lines kmsg prints
(a string, markup on or off), and hands everything else to a rich Console made on first
use: tables, progress bars, `is_terminal`, a line with a tab, a control character, a tag
kmsg does not use, or markup rich would refuse. `plain_table` draws the one-line-per-row
table kmsg prints outside a terminal (`cli.tables.print_table`) the same way, for cells of
plain text. `tests/cli/test_plain_output.py` compares both on generated lines and tables.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

_TAG = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
_EMOJI = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")
_ESCAPE = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
_DIGIT_EMOJI = frozenset({"100", "1234"})  # the only names of rich's emoji made of digits
_NOT_PLAIN = frozenset("\t\x07\x08\x0b\x0c\r")
_CONTROL = frozenset(map(chr, (*range(32), *range(0x7F, 0xA0))))
_WIDEST_TABLE = 99_000  # print_table's console is 100,000 columns wide; beyond, rich wraps
STYLES = frozenset({"green", "red", "yellow", "cyan", "dim", "bold", "bold red"})
"""The styles kmsg's own lines use; a line with any other tag goes to rich."""


def escape(text: str) -> str:
    """`text` with what would read as a markup tag escaped (as `rich.markup.escape`)."""

    def backslashes(match: re.Match[str]) -> str:
        slashes, tag = match.groups()
        return f"{slashes}{slashes}\\{tag}"

    text = _ESCAPE.sub(backslashes, text)
    if text.endswith("\\") and not text.endswith("\\\\"):
        return text + "\\"
    return text


def plain_text(markup: str) -> str | None:
    """The text rich prints for the markup line `markup` outside a terminal, or None when
    the line needs rich itself (another tag, unbalanced tags). Emoji codes are replaced
    per run of text, as rich does."""
    parts: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in _TAG.finditer(markup):
        full, escapes, tag = match.groups()
        start, end = match.span()
        if start > position:
            parts.append(_segment(markup[position:start]))
        position = end
        if escapes:
            literal, escaped = divmod(len(escapes), 2)
            parts.append("\\" * literal)
            if escaped:
                parts.append(_segment(full[len(escapes) :]))
                continue
        if tag.startswith("/"):
            name = tag[1:].strip()
            if not open_tags or (name and open_tags[-1] != name):
                return None
            open_tags.pop()
        elif tag in STYLES:
            open_tags.append(tag)
        else:
            return None
    if position < len(markup):
        parts.append(_segment(markup[position:]))
    return "".join(parts)


def _segment(text: str) -> str:
    """A run of text between tags, as rich prints it: `\\[` unescaped, emoji codes replaced."""
    return _replace_emoji(text.replace("\\[", "["))


def _replace_emoji(text: str) -> str:
    if ":" not in text:
        return text
    names = [match.group(2) for match in _EMOJI.finditer(text)]
    if all(name.isdigit() and name not in _DIGIT_EMOJI for name in names):
        return text  # none, or a time's `:22:`: no need to load the table
    from rich._emoji_codes import EMOJI  # a table only: no console, no styles

    def code(match: re.Match[str]) -> str:
        whole, name, variant = match.groups()
        emoji = EMOJI.get(name.lower())
        if emoji is None:
            return whole
        return emoji + {"text": "\ufe0e", "emoji": "\ufe0f"}.get(variant, "")

    return _EMOJI.sub(code, text)


def plain_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str | None:
    """The text `cli.tables.print_table` prints outside a terminal for a rich Table with
    these header and cells (console markup, `show_edge=False`, the default heavy-head box,
    columns of `no_wrap` and `overflow="ignore"`: every cell left-aligned), or None when a
    cell needs rich itself (a line break, a control character, markup of `plain_text`'s
    None) or the stream would not get UTF-8 box characters."""
    if sys.platform == "win32" or not _utf8(sys.stdout):
        return None
    lines = [list(header), *(list(row) for row in rows)]
    if any(len(line) != len(header) for line in lines):
        return None
    for line in lines:
        for index, cell in enumerate(line):
            text = plain_text(cell) if "[" in cell else _replace_emoji(cell)
            if text is None or not _CONTROL.isdisjoint(text):
                return None
            line[index] = text
    widths = [max(_cells(line[index]) for line in lines) for index in range(len(header))]
    if sum(widths) + 3 * len(widths) > _WIDEST_TABLE:
        return None

    def draw(line: list[str], bar: str) -> str:
        cells = zip(line, widths, strict=True)
        return bar.join(f" {text}{' ' * (width - _cells(text))} " for text, width in cells)

    head, *body = lines
    out = [draw(head, "┃"), "╇".join("━" * (width + 2) for width in widths)]
    out.extend(draw(line, "│") for line in body)
    return "".join(line + "\n" for line in out)


def _cells(text: str) -> int:
    """The columns `text` takes on a terminal, as rich counts them."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len  # a width table only: no console, no styles

    return cell_len(text)


def _utf8(stream: Any) -> bool:
    encoding = getattr(stream, "encoding", None) or ""
    return isinstance(encoding, str) and encoding.lower().startswith("utf")


def plain_stream(stream: Any, environ: Any = os.environ) -> bool:
    """Whether rich would print plain text to `stream`: not a terminal, and no variable
    (FORCE_COLOR, TTY_COMPATIBLE) that makes rich treat it as one."""
    if "FORCE_COLOR" in environ or "TTY_COMPATIBLE" in environ:
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return isatty is not None and not isatty()
    except ValueError:  # a closed stream: rich treats it as no terminal too
        return True


class PlainConsole:
    """Prints kmsg's lines to sys.stdout/sys.stderr (looked up at each print: test runners
    swap them) through `write`; anything else goes to the rich Console `make_rich` builds."""

    def __init__(self, name: str, write: Callable[[str], Any], make_rich: Callable[[], Any]):
        self._name = name
        self._write = write
        self._make_rich = make_rich
        self._rich: Any = None

    @property
    def rich(self) -> Any:
        if self._rich is None:
            self._rich = self._make_rich()
        return self._rich

    def print(self, *objects: Any, markup: bool | None = None, **options: Any) -> None:
        line = self._plain(objects, markup, options)
        if line is None:
            self.rich.print(*objects, markup=markup, **options)
            return
        self._write(line + "\n")
        getattr(sys, self._name).flush()

    def _plain(self, objects: tuple[Any, ...], markup: bool | None, options: Any) -> str | None:
        if len(objects) != 1 or not isinstance(objects[0], str):
            return None
        if set(options) - {"highlight"}:
            return None
        text: str = objects[0]
        if not _NOT_PLAIN.isdisjoint(text):
            return None
        if markup is False:
            return _replace_emoji(text)
        if "[" not in text:
            return _replace_emoji(text)
        return plain_text(text)

    def __getattr__(self, name: str) -> Any:  # is_terminal, width, status, ...
        return getattr(self.rich, name)
