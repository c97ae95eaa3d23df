"""Lines printed to a pipe without rich read exactly as rich prints them there."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.markup import escape as rich_escape

from kmsg_cli.cli.plain import PlainConsole, escape, plain_stream, plain_table

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


@pytest.mark.parametrize(
    "text",
    [
        "accepted at 2026-12-06 12:00:56 KST",  # a time: no emoji, the table is not loaded
        "score :100: and :1234: and :22:",  # the two emoji whose names are digits
        "at 10:100:5 and :thumbs_up: :smile-text:",
    ],
)
def test_emoji_codes_beside_times_read_as_rich_prints_them(text: str) -> None:
    assert _plain(text, True)[0] == _rich(text, True)


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


CELLS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "01012345678",
                "SMS",
                "안녕하세요 고객님",
                "[green]ok[/]",
                "[blue]x[/]",
                "\\[1]",
                ":smile:",
                "  padded  ",
                "",
                "a\nb",
                "\t",
                "\x1b[1m",
                "é́",
                "😀",
            ]
        ),
        st.text(max_size=6),
    ),
    min_size=1,
    max_size=3,
).map("".join)


def _rich_table(header: list[str], rows: list[list[str]], justify: list[bool]) -> str:
    """What `cli.tables.print_table` prints outside a terminal for these cells."""
    from rich.table import Table

    from kmsg_cli.cli.tables import print_table

    table = Table(title=None, show_edge=False, header_style="bold")
    for name, right in zip(header, justify, strict=True):
        table.add_column(name, overflow="fold", justify="right" if right else "left")
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False)
    real = sys.stdout
    sys.stdout = buffer
    try:
        print_table(console, table)
    finally:
        sys.stdout = real
    return buffer.getvalue()


@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda width: st.tuples(
            st.lists(CELLS, min_size=width, max_size=width),
            st.lists(st.lists(CELLS, min_size=width, max_size=width), max_size=3),
            st.lists(st.booleans(), min_size=width, max_size=width),
        )
    )
)
def test_a_plain_table_reads_as_rich_prints_it_outside_a_terminal(
    table: tuple[list[str], list[list[str]], list[bool]],
) -> None:
    header, rows, justify = table
    drawn = _utf8_stdout(lambda: plain_table(header, rows))
    if drawn is None:  # a cell needs rich; the caller prints the rich table then
        assert any(
            "[" in cell or not cell.isprintable()
            for cell in (*header, *(c for row in rows for c in row))
        )
        return
    assert drawn == _rich_table(header, rows, justify)


def test_kmsgs_dry_run_table_needs_no_rich() -> None:
    header = ["to", "type", "bytes", "provider", "text"]
    rows = [["01012345678", "LMS", "95", "mock", "안녕하세요 :smile: 고객님 [green]ok[/]"]]
    drawn = _utf8_stdout(lambda: plain_table(header, rows))
    assert drawn is not None
    assert drawn == _rich_table(header, rows, [False, False, True, False, False])
    row = " 01012345678 │ LMS  │ 95    │ mock     │ 안녕하세요 😄 고객님 ok "
    assert drawn.splitlines()[2] == row


def test_a_stream_that_is_not_utf8_gets_riches_ascii_table() -> None:
    def latin1() -> str | None:
        real = sys.stdout
        sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
        try:
            return plain_table(["a"], [["1"]])
        finally:
            sys.stdout = real

    assert latin1() is None


def _utf8_stdout(draw: Any) -> Any:
    real = sys.stdout
    sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        return draw()
    finally:
        sys.stdout = real
