"""What a command line costs to start: only the invoked command's module is imported, no
pydantic for converting parameters, and the plain conversion gives the values and the usage
errors of Typer's own."""

from __future__ import annotations

import os
import subprocess
import sys
from enum import Enum
from pathlib import Path

import pytest

from kmsg_cli.cli.coercion import converter
from tests.conftest import Run

LOADED = (
    "import sys\n"
    "from kmsg_cli.cli.entry import main\n"
    "sys.argv = ['kmsg', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    "names = ('pydantic', 'rich', 'kmsg_cli.cli.send_cmd', 'kmsg_cli.cli.bulk_cmd',\n"
    "         'kmsg_cli.cli.report_cmd', 'kmsg_cli.cli.cancel_cmd', 'kmsg_cli.cli.queue_cmd',\n"
    "         'kmsg_cli.cli.track_cmd', 'kmsg_cli.jobs.enqueue', 'httpx')\n"
    "print('loaded=' + ','.join(n for n in names if n in sys.modules), file=sys.stderr)\n"
)


def _loaded(*argv: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", LOADED, *argv], capture_output=True, text=True, timeout=120
    )
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("loaded="), proc.stderr
    return set(filter(None, line.removeprefix("loaded=").split(",")))


def test_a_json_send_imports_its_command_only_and_neither_pydantic_nor_rich() -> None:
    loaded = _loaded("send", "--to", "010-1234-5678", "--text", "hi", "--json", "--dry-run")
    assert loaded == {"kmsg_cli.cli.send_cmd"}


def test_a_dry_run_table_on_a_pipe_imports_no_rich_and_no_other_command() -> None:
    loaded = _loaded("send", "--to", "010-1234-5678", "--text", "hi", "--dry-run")
    assert loaded == {"kmsg_cli.cli.send_cmd"}


# What a `kmsg send --dry-run` of an SMS printed to a pipe has no use for: rich's console and
# tables (its width table counts the Korean text), the channel families, the ledger and what
# only a real send needs, the JSON, TOML and time-zone modules (no --json, no config file, no
# --at), a module of another command.
NOT_FOR_AN_SMS_DRY_RUN = (
    "rich.table",
    "rich.console",
    "rich.segment",
    "kmsg_cli.channels._text",
    "kmsg_cli.channels._schema",
    "kmsg_cli.channels.rcs",
    "kmsg_cli.channels.bms",
    "kmsg_cli.channels.voice",
    "kmsg_cli.channels.fax",
    "kmsg_cli.channels.nsa",
    "kmsg_cli.jobs.ledger",
    "kmsg_cli.jobs.codec",
    "kmsg_cli.owner",
    "kmsg_cli.lookup",
    "kmsg_cli.cli.tables",
    "sqlite3",
    "httpx",
    "json",
    "tomllib",
    "zoneinfo",
)


def _modules_after(*argv: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules a fresh `kmsg` process has loaded when it exits, and what it printed."""
    script = (
        "import sys\n"
        "from kmsg_cli.cli.entry import main\n"
        "sys.argv = ['kmsg', *sys.argv[1:]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout.flush()\n"
        "print('modules=' + ','.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("modules="), proc.stderr
    return set(line.removeprefix("modules=").split(",")), proc.stdout


def _sandbox_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KMSG_", "XDG_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "c"), XDG_DATA_HOME=str(home / "d"))
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    return env


def test_an_sms_dry_run_on_a_pipe_leaves_the_heavy_modules_alone(tmp_path: Path) -> None:
    loaded, printed = _modules_after(
        "send",
        "--to",
        "010-1234-5678",
        "--text",
        "안녕 hi",
        "--dry-run",
        env=_sandbox_env(tmp_path),
    )
    assert "Dry run: 1 message validated" in printed
    assert " 010-1234-5678 │ SMS " in printed  # the table, drawn without rich
    assert "kmsg_cli.cli.send_cmd" in loaded and "kmsg_cli.normalize.message" in loaded
    assert sorted(loaded.intersection(NOT_FOR_AN_SMS_DRY_RUN)) == []


def test_a_mock_send_loads_neither_openssl_nor_the_cp949_codec(tmp_path: Path) -> None:
    """The content key and the mock's ids hash with CPython's own SHA-256; an ASCII text is
    measured without the codec; the default paths on Linux are found without platformdirs
    (each costs every start: docs/ARCHITECTURE.md)."""
    argv = ["send", "--to", "010-1234-5678", "--text", "deploy done"]
    loaded, printed = _modules_after(*argv, env=_sandbox_env(tmp_path))
    assert "accepted by mock" in printed
    assert "kmsg_cli.content" in loaded and "kmsg_cli.providers.mock" in loaded
    heavy = {"_hashlib", "hashlib", "_codecs_kr", "platformdirs", "rich"}
    assert sorted(loaded.intersection(heavy)) == []


def test_a_channel_message_imports_its_own_family_only(tmp_path: Path) -> None:
    loaded, printed = _modules_after(
        "send",
        "--type",
        "VOICE",
        "--to",
        "010-1234-5678",
        "--text",
        "안내 방송",
        "--dry-run",
        env=_sandbox_env(tmp_path),
    )
    assert "Dry run: 1 message validated" in printed
    assert "kmsg_cli.channels.voice" in loaded
    assert {"kmsg_cli.channels.rcs", "kmsg_cli.channels.bms", "kmsg_cli.channels.fax"}.isdisjoint(
        loaded
    )


def test_a_listing_converts_its_limit_without_pydantic() -> None:
    loaded = _loaded("track", "list", "--limit", "3", "--json")
    assert "pydantic" not in loaded
    assert "kmsg_cli.cli.track_cmd" in loaded
    assert "kmsg_cli.cli.send_cmd" not in loaded


COLLECTOR = (
    "import gc, sys\n"
    "from kmsg_cli import sending\n"
    "from kmsg_cli.cli.entry import main\n"
    "plan, seen = sending.plan, []\n"
    "def spy(*args, **kwargs):\n"
    "    seen.append(gc.isenabled())\n"
    "    return plan(*args, **kwargs)\n"
    "sending.plan = spy\n"
    "sys.argv = ['kmsg', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(f'during={seen} after={gc.isenabled()}', file=sys.stderr)\n"
)


def test_the_command_runs_with_the_garbage_collector_on(tmp_path: Path) -> None:
    """The console script pauses the collector while kmsg starts only: the command's work (a
    long send-many, a queue worker) is collected as usual, and the collector is on after."""
    argv = ["send", "--to", "010-1234-5678", "--text", "hi", "--dry-run"]
    proc = subprocess.run(
        [sys.executable, "-c", COLLECTOR, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=_sandbox_env(tmp_path),
    )
    assert "Dry run: 1 message validated" in proc.stdout, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "during=[True] after=True"


def test_help_lists_every_command_in_its_order(run: Run) -> None:
    result = run("--help", db=False)
    assert result.exit_code == 0
    order = ["send ", "send-many", "report", "cancel", "completions", "track", "queue"]
    positions = [result.stdout.index(f"│ {name}") for name in order]
    assert positions == sorted(positions)


def test_a_word_that_is_not_a_number_is_a_usage_error(run: Run) -> None:
    result = run("track", "list", "--limit", "many")
    assert result.exit_code == 2
    assert "'many' is not a valid integer" in result.stderr
    code, document = run.json("track", "list", "--limit", "2.5")
    assert code == 2
    assert document["error"]["code"] == "USAGE"
    assert "'2.5' is not a valid integer" in document["error"]["message"]


def test_a_choice_outside_the_list_is_a_usage_error(run: Run) -> None:
    result = run("completions", "tcsh", db=False)
    assert result.exit_code == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Info:
    """The parts of Typer's ParameterInfo the converter reads."""

    def __init__(self, **values: object) -> None:
        self.parser = None
        self.min = None
        self.max = None
        self.clamp = False
        self.path_type = None
        self.case_sensitive = True
        self.allow_dash = False
        self.resolve_path = False
        self.exists = False
        self.file_okay = True
        self.dir_okay = True
        self.writable = False
        self.readable = True
        self.__dict__.update(values)


@pytest.mark.parametrize(
    ("annotation", "word", "value"),
    [
        (str, "안녕", "안녕"),
        (int, " 42 ", 42),
        (int, "-7", -7),
        (float, "1.5", 1.5),
        (bool, "yes", True),
        (bool, "off", False),
        (Path, "a/b.csv", Path("a/b.csv")),
        (Colour, "blue", Colour.BLUE),
        (list[str], ("a", "b"), ["a", "b"]),
        (list[Path], ("x.png",), [Path("x.png")]),
    ],
)
def test_plain_conversion_gives_typed_values(annotation: object, word: object, value: object):
    convert = converter(annotation, Info())
    assert convert is not None
    assert convert(word, None, None) == value
    assert type(convert(word, None, None)) is type(value)


def test_parameters_with_bounds_or_parsers_keep_typers_conversion() -> None:
    assert converter(int, Info(min=1)) is None
    assert converter(int, Info(parser=int)) is None
    assert converter(dict, Info()) is None
