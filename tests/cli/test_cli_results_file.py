"""`send-many --results PATH` never destroys the ledger, the input or any other file.

PATH must be new, empty, or an earlier results file; the database (under any name), the input
file, a device and any other existing file are refused before anything is sent (exit 2).
The file is written under a temporary name and renamed when complete, mode 0600.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import Run


def rows_file(tmp_path: Path, count: int = 3) -> Path:
    source = tmp_path / "in.csv"
    lines = "".join(f"010-2000-{n:04d},안내\n" for n in range(1, count + 1))
    source.write_text("to,text\n" + lines, encoding="utf-8")
    return source


def sent(run: Run) -> int:
    return len(run.rows()) if run.db.exists() else 0


@pytest.mark.parametrize("name", ["db", "db-symlink", "input", "input-hardlink"])
def test_the_database_or_the_input_is_refused_under_any_name(
    run: Run, tmp_path: Path, name: str
) -> None:
    source = rows_file(tmp_path)
    assert run("send-many", str(source), "--batch-id", "first").exit_code == 0
    before_db, before_input = run.db.read_bytes(), source.read_bytes()
    target = {"db": run.db, "input": source}.get(name)
    if target is None:
        target = tmp_path / "alias"
        if name == "db-symlink":
            target.symlink_to(run.db)
        else:
            os.link(source, target)
    result = run("send-many", str(source), "--batch-id", "second", "--results", str(target))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "error: RESULTS_REFUSED:" in result.stderr
    reason = "it is the database" if name.startswith("db") else "it is the input file"
    assert reason in result.stderr and "nothing was sent" in result.stderr
    assert source.read_bytes() == before_input
    assert run.db.read_bytes() == before_db
    assert sent(run) == 3  # the second batch sent nothing


@pytest.mark.parametrize("content", ["meeting notes\n", '{"to": "x"}\n', "\x00\x01binary"])
def test_an_existing_file_that_is_not_a_results_file_is_refused(
    run: Run, tmp_path: Path, content: str
) -> None:
    source = rows_file(tmp_path)
    other = tmp_path / "notes.txt"
    other.write_text(content, encoding="utf-8")
    result = run("send-many", str(source), "--results", str(other))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "is not a kmsg results file" in result.stderr
    assert other.read_text(encoding="utf-8") == content
    assert sent(run) == 0
    assert run("send-many", str(source), "--dry-run", "--results", str(other)).exit_code == 2


def test_a_device_is_refused_before_anything_is_sent(run: Run, tmp_path: Path) -> None:
    result = run("send-many", str(rows_file(tmp_path)), "--results", "/dev/null")
    assert result.exit_code == 2
    assert "error: RESULTS_REFUSED:" in result.stderr and "not a regular file" in result.stderr
    assert sent(run) == 0


def test_results_are_private_complete_and_may_replace_earlier_results(
    run: Run, tmp_path: Path
) -> None:
    source = rows_file(tmp_path)
    results = tmp_path / "out" / "results.jsonl"
    results.parent.mkdir()
    results.write_text("", encoding="utf-8")  # an empty file may be used
    results.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        assert run("send-many", str(source), "--results", str(results)).exit_code == 0
        first = [json.loads(line) for line in results.read_text("utf-8").splitlines()]
        assert [line["status"] for line in first] == ["accepted"] * 3
        assert stat.S_IMODE(results.stat().st_mode) == 0o600
        # an earlier results file is replaced (a re-run writes every row again)
        assert run("send-many", str(source), "--results", str(results)).exit_code == 0
    finally:
        os.umask(old_umask)
    second = [json.loads(line) for line in results.read_text("utf-8").splitlines()]
    assert [line["id"] for line in second] == [line["id"] for line in first]
    assert stat.S_IMODE(results.stat().st_mode) == 0o600
    assert sorted(p.name for p in results.parent.iterdir()) == ["results.jsonl"]  # no leftovers
    assert sent(run) == 3
