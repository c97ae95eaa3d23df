"""`--help` of every command: grouped options, no type placeholders, every option described,
the global options named, and a bare group printing its help once."""

from __future__ import annotations

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
        (("queue", "stats"), ["Output"]),
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
