"""Every input error of docs/messages.md through the real CLI: exit 2, one error line, nothing
sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Run

TO = ["--to", "010-1234-5678"]

CASES = [
    ("bad phone", ["--to", "12345", "--text", "x"], "INVALID_PHONE", "12345"),
    ("letters in phone", ["--to", "010-abcd-5678", "--text", "x"], "INVALID_PHONE", "abcd"),
    ("one bad among good", ["--to", "010-1234-5678,999", "--text", "x"], "INVALID_PHONE", "999"),
    ("bad sender", [*TO, "--text", "x", "--from", "12"], "INVALID_PHONE", "12"),
    ("sms too long", [*TO, "--type", "SMS", "--text", "가" * 46], "TEXT_TOO_LONG", "92"),
    ("lms too long", [*TO, "--type", "LMS", "--text", "a" * 2001], "TEXT_TOO_LONG", "2001"),
    (
        "subject on sms",
        [*TO, "--type", "SMS", "--text", "x", "--subject", "s"],
        "SUBJECT_NOT_ALLOWED",
        "s",
    ),
    ("subject too long", [*TO, "--text", "x", "--subject", "가" * 21], "SUBJECT_TOO_LONG", ""),
    (
        "missing variables",
        [*TO, "--text", "#{name} #{code} #{name}"],
        "MISSING_VARIABLE",
        "name, code",
    ),
    ("missing text", [*TO], "MISSING_TEXT", ""),
    ("blank text", [*TO, "--text", "   "], "MISSING_TEXT", ""),
    ("bad type", [*TO, "--text", "x", "--type", "TELEX"], "INVALID_TYPE", "TELEX"),
    ("alimtalk without template", [*TO, "--type", "ALIMTALK"], "MISSING_TEMPLATE", ""),
    ("mms without image", [*TO, "--type", "MMS", "--text", "x"], "MISSING_IMAGE", ""),
    (
        "past time",
        [*TO, "--text", "x", "--at", "2020-01-01 10:00"],
        "PAST_TIME",
        "2020-01-01 10:00",
    ),
    ("bad time", [*TO, "--text", "x", "--at", "tomorrow-ish"], "INVALID_TIME", "tomorrow-ish"),
    ("bad var", [*TO, "--text", "x", "--var", "novalue"], "INVALID_VARIABLE", "novalue"),
    ("bad vars json", [*TO, "--text", "x", "--vars", "[1,2]"], "INVALID_VARIABLE", ""),
    ("bad id", [*TO, "--text", "x", "--id", "a b"], "INVALID_ID", "a b"),
    (
        "failover on sms",
        [*TO, "--text", "x", "--failover-text", "y"],
        "FAILOVER_NOT_ALLOWED",
        "",
    ),
    ("no recipient", ["--to", " , ", "--text", "x"], "MISSING_RECIPIENT", ""),
    ("text twice", [*TO, "--text", "x", "--text-file", "f.txt"], "USAGE", ""),
    ("unreadable text file", [*TO, "--text-file", "/nonexistent/file.txt"], "UNREADABLE_FILE", ""),
]


@pytest.mark.parametrize(
    ("args", "code", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_exits_2_with_one_error_line_and_sends_nothing(
    run: Run, args: list[str], code: str, value: str
) -> None:
    result = run("send", *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {code}: "), lines
    assert value in lines[0]
    assert all(line.startswith("hint: ") for line in lines[1:]), lines
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not run.db.exists() or run.rows() == []


@pytest.mark.parametrize(
    ("args", "code", "value"), [c[1:] for c in CASES[:6]], ids=[c[0] for c in CASES[:6]]
)
def test_bad_input_with_json_prints_one_error_envelope(
    run: Run, args: list[str], code: str, value: str
) -> None:
    result = run("send", *args, "--json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["data"] is None
    assert doc["error"]["code"] == code
    assert result.stderr == ""


def test_bad_config_file_exits_2(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[profiles.x\n", encoding="utf-8")
    result = run("--config", str(config), "send", *TO, "--text", "x")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: CONFIG_PARSE:")


def test_unknown_profile_exits_2_with_the_available_names(run: Run) -> None:
    result = run("--profile", "nope", "send", *TO, "--text", "x")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: UNKNOWN_PROFILE:")
    assert "sandbox" in result.stderr


def test_unwritable_database_path_exits_2(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    result = run("--db", str(blocker / "sub" / "kmsg.sqlite"), "send", *TO, "--text", "x", db=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: DB_OPEN_FAILED:")


def test_a_bad_sub_command_option_with_global_json_gives_the_json_envelope(run: Run) -> None:
    result = run("--json", "db", "schema", "--dialect", "oracle", db=False)
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["code"] == "USAGE"
    assert "oracle" in document["error"]["message"]
    assert "Value error" not in document["error"]["message"]


def test_provider_config_repr_hides_its_values() -> None:
    from kmsg_cli.config import ProviderConfig

    text = repr(ProviderConfig("p", "solapi", {"api_secret": "SENTINEL-repr"}, "profiles.x"))
    assert "SENTINEL-repr" not in text and "solapi" in text


@pytest.mark.parametrize(
    ("typed", "meant"), [("sned", "send"), ("tarck list", "track"), ("queue lst", "list")]
)
def test_a_mistyped_command_gets_the_nearest_name_in_a_fresh_process(
    typed: str, meant: str, tmp_path: Path
) -> None:
    """Sub-commands are built on first use; the suggestion must not depend on that (a fresh
    process has built none)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMSG_")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", *typed.split()],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2
    assert f"Did you mean '{meant}'?" in proc.stderr
    assert len(proc.stderr.splitlines()) == 2  # the error and its hint


def test_an_unknown_command_with_json_is_one_json_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMSG_")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", "sned", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "USAGE"
    assert error["message"] == "No such command 'sned'. Did you mean 'send'?"
