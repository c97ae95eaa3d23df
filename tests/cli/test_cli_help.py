"""`--help` of every command: grouped options, no type placeholders, every option described,
the global options named, and a bare group printing its help once."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from kmsg_cli.cli.app import app
from kmsg_cli.cli.framework import walk


def _tree() -> list[tuple[tuple[str, ...], Any]]:
    return list(walk(typer.main.get_command(app)))


COMMANDS = [(path, command) for path, command in _tree() if path]


def _help(*path: str) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_has_no_type_placeholders_and_names_the_global_options(
    path: tuple[str, ...], command: Any
) -> None:
    text = _help(*path)
    assert re.findall(r"<(?:bool|str|int|float|path|list\[str\])>", text) == []
    for option in ("--json", "-p/--profile", "--db"):
        assert option in text, f"kmsg {' '.join(path)} --help does not mention {option}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_and_argument_is_described(path: tuple[str, ...], command: Any) -> None:
    undescribed = [
        param.name
        for param in command.params
        if not getattr(param, "hidden", False) and not (getattr(param, "help", "") or "").strip()
    ]
    assert undescribed == []


def test_root_help_lists_the_global_options_without_placeholders() -> None:
    text = _help()
    assert "<bool>" not in text
    for option in ("--profile", "--config", "--db", "--json", "--verbose", "--quiet"):
        assert option in text


@pytest.mark.parametrize("args", [[], ["queue"], ["db"]], ids=["kmsg", "kmsg queue", "kmsg db"])
def test_a_bare_group_prints_its_help_once(args: list[str]) -> None:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert result.stdout.count("Usage:") == 1
    assert result.stderr == ""


@pytest.mark.parametrize("command", ["send", "send-many", "cancel", "completions"])
def test_a_command_given_no_arguments_shows_its_help_and_fails(command: str) -> None:
    # `kmsg send-many $FILE` with FILE empty must not pass in a script
    result = CliRunner().invoke(app, [command], env={"COLUMNS": "120"})
    assert result.exit_code == 2
    assert result.stdout.count("Usage:") == 1
    assert (
        result.stderr == f"error: USAGE: kmsg {command} was given no arguments; its help is above\n"
    )


def _panels(text: str) -> list[str]:
    return re.findall(r"╭─ (.+?) ─", text)


@pytest.mark.parametrize(
    ("path", "panels"),
    [
        (
            ("send",),
            ["Recipients", "Message", "Sending", "Scheduling", "Channel", "Failover", "Queue"],
        ),
        (("send-many",), ["Message", "Sending", "Output", "Input", "Queue"]),
        (("track", "list"), ["Filters", "Output"]),
        (("queue", "list"), ["Filters", "Output"]),
        (("queue", "stats"), ["Filters", "Output"]),
        (("providers", "list"), ["Output"]),
        (("db", "check"), ["Output"]),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_options_are_grouped_in_panels(path: tuple[str, ...], panels: list[str]) -> None:
    found = _panels(_help(*path))
    assert [name for name in found if name not in ("Options", "Arguments")] == panels


def test_send_panels_hold_the_right_options() -> None:
    text = _help("send")
    sections = {
        match.group(1): match.group(2)
        for match in re.finditer(r"╭─ (\w+) ─+╮\n(.*?)╰", text, flags=re.DOTALL)
    }
    assert "--to" in sections["Recipients"]
    assert "--at" in sections["Scheduling"] and "--text" not in sections["Scheduling"]
    assert "--failover-text" in sections["Failover"]
    assert "--priority" in sections["Queue"]
    assert "--template" in sections["Message"]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_install_hints_in_help_keep_their_extra(path: tuple[str, ...], command: Any) -> None:
    # rich markup would read "[report]" in "kmsg[report]" as a style tag and drop it
    text = _help(*path)
    assert "'kmsg'" not in text and "'kmsg[]'" not in text


def test_report_help_names_the_report_extra() -> None:
    assert "pip install 'kmsg[report]'" in _help("report")


ALL_PAGES = [(), *(path for path, _ in COMMANDS)]


@pytest.mark.parametrize("path", ALL_PAGES, ids=[" ".join(p) or "kmsg" for p in ALL_PAGES])
def test_prose_is_wrapped_by_the_terminal_not_by_the_source(path: tuple[str, ...]) -> None:
    # In an 80-column terminal a paragraph fills its lines: a line of the docstring that was
    # wrapped for the editor must not end a line early (`--yes` alone on a line).
    from rich.cells import cell_len

    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Usage:"))
    end = next((i for i, line in enumerate(lines) if line.startswith("╭")), len(lines))
    prose = [line.rstrip() for line in lines[start + 1 : end]]

    def is_text(line: str) -> bool:  # not blank, not an indented example
        return bool(line.strip()) and not line.startswith("   ")

    short = [
        line
        for line, following in itertools.pairwise(prose)
        if is_text(line) and is_text(following) and cell_len(line) < 50
    ]
    assert short == [], f"kmsg {' '.join(path)} --help breaks a paragraph early"


def test_reflow_joins_paragraph_lines_and_keeps_examples() -> None:
    from kmsg_cli.cli.framework import reflow_help

    text = "Title.\n\n    One sentence\n    goes on.\n\n    Examples:\n      kmsg a\n      kmsg b"
    reflowed = reflow_help(text)
    assert reflowed == "Title.\n\n\n\nOne sentence goes on.\n\nExamples:\n\n  kmsg a\n\n  kmsg b"
    assert reflow_help(None) is None


@pytest.mark.parametrize("path", ALL_PAGES, ids=[" ".join(p) or "kmsg" for p in ALL_PAGES])
def test_examples_keep_their_indent(path: tuple[str, ...]) -> None:
    # Also in a page that is only a title and examples, which Typer would dedent.
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    lines = result.stdout.splitlines()
    heading = [i for i, line in enumerate(lines) if line.strip() == "Examples:"]
    if not heading:  # a group: its commands have the examples
        assert "Commands" in result.stdout, f"kmsg {' '.join(path)} --help has no examples"
        return
    examples = []
    for line in lines[heading[0] + 1 :]:
        if line.startswith("╭"):
            break
        if line.strip():
            examples.append(line)
    assert examples and all(line.startswith("   ") for line in examples), examples


@pytest.mark.parametrize("path", ALL_PAGES, ids=[" ".join(p) or "kmsg" for p in ALL_PAGES])
def test_every_example_fits_an_80_column_terminal(path: tuple[str, ...]) -> None:
    # A wrapped example is a broken command when copied: its tail lands on a line of its own.
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    lines = result.stdout.splitlines()
    if not any(line.strip() == "Examples:" for line in lines):
        return  # a group: test_examples_keep_their_indent checks that it lists commands
    start = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    end = next((i for i, line in enumerate(lines) if line.startswith("╭")), len(lines))
    examples = [line.rstrip() for line in lines[start + 1 : end] if line.strip()]
    wrapped = [line for line in examples if not line.startswith("   ")]
    assert wrapped == [], f"kmsg {' '.join(path)} --help: an example wraps at 80 columns"


def test_send_many_help_lists_exactly_the_recognised_columns() -> None:
    """The column list of `send-many --help` is the one the reader recognises: `id` is data
    unless --id-column names it (docs/bulk-input.md), so it is not listed as a column."""
    from kmsg_cli.bulk_input.columns import RECOGNISED
    from kmsg_cli.cli.bulk_cmd import HELP

    listed = re.search(r"Columns: (.*?); every other column", HELP)
    assert listed is not None
    names = [name.removesuffix(" (required)") for name in listed.group(1).split(", ")]
    assert names == list(RECOGNISED)
