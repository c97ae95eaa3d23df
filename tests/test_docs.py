"""Documentation drift: every command is in README.md, every --help has an example, the
README starts with the two commands that work on a fresh machine, and no file sends a reader to
notes the repository does not have."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmsg_cli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, ...]]:
    """Every leaf command, groups built on demand included (as `kmsg --help` lists them)."""
    import typer.main

    from kmsg_cli.cli.framework import walk

    tree = walk(typer.main.get_command(app))
    return sorted(path for path, command in tree if path and not hasattr(command, "commands"))


def test_every_group_is_listed() -> None:
    groups = {command[0] for command in _commands() if len(command) == 2}
    assert groups == {"config", "db", "providers", "queue", "track"}


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_is_documented_in_the_readme(command: tuple[str, ...]) -> None:
    assert f"kmsg {' '.join(command)}" in README


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Examples" in result.stdout, f"kmsg {' '.join(command)} --help has no example"


def test_readme_starts_with_the_two_commands() -> None:
    blocks = README.split("```")
    assert "pip install -e . && kmsg send --to 010-1234-5678" in blocks[1]
    assert "pip install -e '.[test]' && pytest" in blocks[3]


def _listings() -> list[tuple[str, Any]]:
    from kmsg_cli.cli import db_cmd, providers_cmd, queue_cmd, track_cmd

    return [
        ("track list", track_cmd.TRACKING),
        ("queue list", queue_cmd.JOBS),
        ("queue stats", queue_cmd.STATS),
        ("providers list", providers_cmd.PROVIDERS),
        ("db check", db_cmd.CHECKS),
    ]


@pytest.mark.parametrize(("command", "listing"), _listings(), ids=[c for c, _ in _listings()])
def test_docs_cli_lists_the_fields_of_every_listing(command: str, listing: Any) -> None:
    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    row = next(line for line in cli_doc.splitlines() if line.startswith(f"| `{command}` | `"))
    key, fields_cell = (cell.strip() for cell in row.strip("|").split("|")[1:3])
    assert key == f"`{listing.key}`"
    names = [name.strip() for name in fields_cell.split(",")]
    assert sorted(name.rstrip("*") for name in names) == sorted(listing.names())
    assert [name.rstrip("*") for name in names if name.endswith("*")] == list(listing.default)


# Notes that live outside this repository: a reader of the repo does not have them, so nothing
# in it may send the reader there; docs/ says it all. (Split so that this file does not cite.)
_OUTSIDE = re.compile("|".join([r"\bSP" + r"EC\b", "REF" + "ERENCE-", r"\.\./sha" + "red"]))
_NOT_TRACKED = {".git", ".venv", "__pycache__", "build", "dist"}


def _tracked_files() -> list[Path]:
    """The files of the repository: `git ls-files`, or the tree without caches and builds."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        return [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [
            path
            for path in ROOT.rglob("*")
            if path.is_file()
            and not any(
                part in _NOT_TRACKED or part.startswith(".") or part.endswith(".egg-info")
                for part in path.relative_to(ROOT).parts[:-1]
            )
        ]


def _citations(text: str) -> list[str]:
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if _OUTSIDE.search(line)
    ]


def test_citation_check_finds_what_it_looks_for() -> None:
    assert _citations("see " + "SP" + "EC §5\nnothing here\nSPECIAL is a word") == [
        "1: see " + "SP" + "EC §5"
    ]
    assert _citations("REF" + "ERENCE-solapi.md") and _citations("../sha" + "red/notes.md")


def test_no_file_cites_notes_outside_the_repository() -> None:
    files = _tracked_files()
    assert ROOT / "README.md" in files
    found = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # a binary file (an image), or one deleted but not yet committed
        found += [f"{path.relative_to(ROOT)}:{hit}" for hit in _citations(text)]
    assert found == [], "cite docs/ instead:\n" + "\n".join(found)


def _top_level_modules() -> list[str]:
    """Every package and top-level module of kmsg_cli, as the architecture page names them."""
    package = ROOT / "kmsg_cli"
    names = [f"{path.name}/" for path in package.iterdir() if (path / "__init__.py").is_file()]
    names += [path.name for path in package.glob("*.py")]
    return sorted(names)


def test_top_level_modules_are_found() -> None:
    names = _top_level_modules()
    assert {"__init__.py", "cli/", "store/", "models.py"} <= set(names)
    assert "__pycache__/" not in names


@pytest.mark.parametrize("name", _top_level_modules())
def test_architecture_names_every_top_level_module(name: str) -> None:
    architecture = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = [line for line in architecture.splitlines() if line.startswith("| `")]
    assert any(line.startswith(f"| `{name}` |") for line in table), (
        f"docs/ARCHITECTURE.md does not say what kmsg_cli/{name} is for"
    )


def test_readme_links_the_architecture() -> None:
    development = README.split("## Development", 1)[1].split("\n## ", 1)[0]
    assert "docs/ARCHITECTURE.md" in development
