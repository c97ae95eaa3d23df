"""Foreign or odd files: refused before anything is sent, never a hang, never a wrong mode.

A database with kmsg's table names but another schema (SQLite and PostgreSQL); a config, an
input or an image that is a FIFO, a device or a directory; endless standard input; a database
path that is a dangling symlink.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.store.conftest import postgres_schema

FOREIGN = {
    "kmsg_jobs": "CREATE TABLE kmsg_jobs (id TEXT PRIMARY KEY, status TEXT, priority INTEGER, "
    "process_at INTEGER, created_at INTEGER, payload TEXT)",
    "kmsg_delivery_tracking": "CREATE TABLE kmsg_delivery_tracking (message_id TEXT PRIMARY KEY, "
    'status TEXT, next_check_at INTEGER, requested_at INTEGER, provider_id TEXT, "to" TEXT)',
}


def kmsg(*args: str, timeout: float = 30, stdin: int | None = subprocess.DEVNULL) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "kmsg_cli", *args],
        capture_output=True,
        text=True,
        stdin=stdin,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("table", sorted(FOREIGN))
def test_a_database_with_foreign_kmsg_tables_is_refused_before_sending(
    run: Run, table: str
) -> None:
    with closing(sqlite3.connect(run.db)) as conn:
        conn.execute(FOREIGN[table])
        conn.execute(f"INSERT INTO {table} (status) VALUES ('theirs')")
        conn.commit()
    for args in (
        ("send", "--to", "010-1111-2222", "--text", "hi"),
        ("db", "init"),
        ("queue", "process", "--drain"),
    ):
        result = run(*args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert "error: DB_FOREIGN_SCHEMA:" in result.stderr, result.stderr
        assert table in result.stderr and "Database ready" not in result.stdout
    with closing(sqlite3.connect(run.db)) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        (theirs,) = conn.execute(f"SELECT COUNT(1) FROM {table}").fetchone()
    assert tables == {table, *(["sqlite_autoindex_" + table + "_1"])}  # nothing created
    assert theirs == 1


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema that holds a foreign kmsg_jobs table."""
    import psycopg

    with postgres_schema() as (_name, url):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(FOREIGN["kmsg_jobs"])
        yield url


def test_a_postgres_database_with_foreign_kmsg_tables_is_refused(pg_url: str) -> None:
    result = kmsg("--db", pg_url, "send", "--to", "010-1111-2222", "--text", "hi")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error: DB_FOREIGN_SCHEMA:" in result.stderr and "kmsg_jobs" in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_config_that_is_not_a_regular_file_is_an_error_not_a_hang(
    tmp_path: Path, kind: str
) -> None:
    path = {"device": Path("/dev/zero"), "directory": tmp_path}.get(kind, tmp_path / "fifo")
    if kind == "fifo":
        os.mkfifo(path)
    result = kmsg("--config", str(path), "send", "--to", "010-1111-2222", "--text", "hi")
    assert result.returncode == 2, result.stderr
    assert "error: CONFIG_UNREADABLE:" in result.stderr and "not a regular file" in result.stderr


def test_a_huge_config_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "big.toml"
    with config.open("wb") as handle:
        handle.truncate(8 << 20)  # sparse: 8 MiB of zeros
    result = kmsg("--config", str(config), "config", "show")
    assert result.returncode == 2 and "larger than 1024 KiB" in result.stderr, result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_an_input_or_image_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    path = Path("/dev/urandom") if kind == "device" else tmp_path / "fifo"
    if kind == "fifo":
        os.mkfifo(path)
    db = str(tmp_path / "k.sqlite")
    many = kmsg("--db", db, "send-many", str(path))
    assert many.returncode == 2, many.stderr
    assert "error: UNREADABLE_FILE:" in many.stderr and "kmsg send-many -" in many.stderr
    image = ("--type", "MMS", "--image", str(path))
    one = kmsg("--db", db, "send", "--to", "010-1111-2222", "--text", "사진", *image)
    assert one.returncode == 2 and "error: IMAGE_NOT_FOUND:" in one.stderr, one.stderr


def test_endless_standard_input_stops_at_the_limit(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kmsg_cli.cli import bulk_cmd

    monkeypatch.setattr(bulk_cmd, "MAX_STDIN_BYTES", 1 << 20)
    endless = "to,text\n" + "010-1111-2222,hi\n" * 200_000  # 3.4 MB, over the limit
    spools = set(Path("/tmp").glob("kmsg-stdin-*"))
    result = run("send-many", "-", input=endless)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "error: INPUT_TOO_LARGE:" in result.stderr
    assert set(Path("/tmp").glob("kmsg-stdin-*")) == spools  # the copy is gone
    assert not run.db.exists() or not run.rows()


def test_a_dangling_symlink_database_is_created_private(tmp_path: Path) -> None:
    link = tmp_path / "kmsg.sqlite"
    link.symlink_to("real.sqlite")
    old = os.umask(0o022)
    try:
        result = kmsg("--db", str(link), "send", "--to", "010-1111-2222", "--text", "hi")
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    target = tmp_path / "real.sqlite"
    assert link.is_symlink() and target.is_file()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
