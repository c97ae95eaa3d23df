"""Lines printed to a pipe without rich read exactly as rich prints them there."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.markup import escape as rich_escape

from kmsg_cli.cli.plain import PlainConsole, escape, plain_stream

PIECES = st.sampled_from(
    [
        "[green]",
        "[red]",
        "[bold red]",
        "[dim]",
        "[/]",
        "[/green]",
        "[blue]",
        "[link=https://x]",
        "\\[green]",
        "\\\\[red]",
        "\\",
        "[",
        "]",
        "[1]",
        "\\[1]",
        "\\[ ok]",
        ":smile:",
        ":thumbs_up-text:",
        "12:00:56",
        ":not_an_emoji:",
        "✓",
        "안녕하세요",
        " ",
        "\n",
        "\t",
        "\r",
        "\x1b",
        "error: USAGE: x",
        "a",
    ]
)
LINES = st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=8).map("".join)


def _rich(text: str, markup: bool | None) -> str | type[Exception]:
    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, soft_wrap=True, force_terminal=False)
    try:
        console.print(text, markup=markup, highlight=False)
    except Exception as exc:
        return type(exc)
    return buffer.getvalue()


def _plain(text: str, markup: bool | None) -> tuple[str | type[Exception], bool]:
    buffer = io.StringIO()
    made: list[Any] = []

    def make_rich() -> Console:
        made.append(1)
        return Console(file=buffer, highlight=False, soft_wrap=True, force_terminal=False)

    console = PlainConsole("stdout", buffer.write, make_rich)
    try:
        console.print(text, markup=markup, highlight=False)
    except Exception as exc:
        return type(exc), bool(made)
    return buffer.getvalue(), bool(made)


@given(LINES, st.sampled_from([True, False, None]))
def test_plain_lines_read_as_rich_prints_them(text: str, markup: bool | None) -> None:
    printed, _ = _plain(text, markup)
    assert printed == _rich(text, markup)


@given(LINES)
def test_escape_is_riches(text: str) -> None:
    assert escape(text) == rich_escape(text)
    printed, _ = _plain(escape(text), True)
    assert printed == _rich(escape(text), True)


@pytest.mark.parametrize(
    "line",
    [
        "[green]✓[/] 01012345678  SMS (4 bytes)  accepted by mock  id 1a2b",
        "[yellow]warning:[/] DUPLICATE_CONTENT: 01012345678: accepted at 2026-12-06 12:00:56 KST",
        "[bold red]error:[/] INVALID_PHONE: '12345' is not a valid Korean phone number",
        "1 accepted (profile sandbox)",
        f"[red]✗[/] 010  SMS  {escape('[E42]: refused [by vendor]')}",
    ],
)
def test_kmsgs_own_lines_need_no_rich(line: str) -> None:
    printed, made_rich = _plain(line, True)
    assert not made_rich
    assert printed == _rich(line, True)


def test_tables_and_other_renderables_go_to_rich() -> None:
    from rich.table import Table

    table = Table("a")
    table.add_row("1")
    buffer = io.StringIO()
    console = PlainConsole(
        "stdout",
        buffer.write,
        lambda: Console(file=buffer, highlight=False, soft_wrap=True, force_terminal=False),
    )
    console.print(table)
    assert "a" in buffer.getvalue() and "1" in buffer.getvalue()
    assert console.is_terminal is False  # asked of the rich Console


def test_only_a_stream_that_is_no_terminal_is_plain() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert plain_stream(io.StringIO(), {})
    assert not plain_stream(Tty(), {})
    assert not plain_stream(io.StringIO(), {"FORCE_COLOR": "1"})
    assert not plain_stream(io.StringIO(), {"TTY_COMPATIBLE": "1"})
