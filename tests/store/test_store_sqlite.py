"""SqliteStore and open_store: pragmas, permissions, errors, JSON as text, URLs.

The Store operations themselves are specified for every backend in test_store_contract.py.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kmsg_cli.errors import StoreError
from kmsg_cli.store import describe_target, open_store
from kmsg_cli.store.contract import Store
from kmsg_cli.store.rows import dump_json, load_json
from kmsg_cli.store.sqlite import SqliteStore
from tests.store.conftest import job
from tests.store.conftest import sent as tracking

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "kmsg.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path) as opened:
        opened.initialize()
        yield opened


def _assert_one_line(error: StoreError) -> None:
    assert "\n" not in error.message
    assert "Traceback" not in error.message


# -- opening, pragmas, permissions -------------------------------------------------------------


def test_file_database_uses_wal_and_normal_sync(store: SqliteStore, db_path: Path) -> None:
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    with sqlite3.connect(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_busy_timeout_is_at_least_five_seconds(store: SqliteStore) -> None:
    assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_initialize_sets_user_version_and_is_idempotent(store: SqliteStore, db_path: Path) -> None:
    assert store.schema_version() == 1
    store.insert_jobs([job("j1")])
    store.initialize()
    store.initialize()
    assert store.schema_version() == 1
    assert store.count_jobs() == 1
    with SqliteStore(db_path) as again:
        again.initialize()
        assert again.schema_version() == 1


def test_schema_version_is_zero_before_initialize(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "fresh.db") as fresh:
        assert fresh.schema_version() == 0


def test_new_database_file_is_private_and_parents_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "kmsg.db"
    with SqliteStore(path) as created:
        created.initialize()
        created.insert_tracking([tracking("m1")])
        # SQLite gives the WAL and shared-memory files the database file's mode.
        sidecars = list(path.parent.glob("kmsg.db-*"))
        assert sidecars
        for sidecar in sidecars:
            assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700


def test_existing_database_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch()
    path.chmod(0o640)
    with SqliteStore(path) as opened:
        opened.initialize()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_memory_database_works(tmp_path: Path) -> None:
    with SqliteStore(":memory:") as memory:
        memory.initialize()
        assert memory.insert_tracking([tracking("m1")]) == 1
        assert memory.count_tracking() == 1
        assert memory.describe() == "SQLite in memory"
    assert not list(tmp_path.glob(":memory:*"))
    assert not Path(":memory:").exists()


def test_describe_names_the_absolute_path(store: SqliteStore, db_path: Path) -> None:
    assert store.describe() == f"SQLite {db_path}"


def test_store_satisfies_the_protocol(store: SqliteStore) -> None:
    assert isinstance(store, Store)


def test_initialize_refuses_a_newer_schema(db_path: Path) -> None:
    with SqliteStore(db_path) as opened:
        opened.initialize()
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA user_version = 2")
    raw.commit()
    raw.close()
    with SqliteStore(db_path) as opened, pytest.raises(StoreError) as caught:
        opened.initialize()
    assert caught.value.code == "DB_SCHEMA_TOO_NEW"
    _assert_one_line(caught.value)
    with SqliteStore(db_path) as opened:
        assert opened.schema_version() == 2


# -- errors ------------------------------------------------------------------------------------


def test_unwritable_path_is_db_open_failed(tmp_path: Path) -> None:
    # A regular file where a directory should be: fails even for root, unlike chmod tricks.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(StoreError) as caught:
        SqliteStore(blocker / "sub" / "kmsg.db")
    assert caught.value.code == "DB_OPEN_FAILED"
    assert str(blocker) in caught.value.message
    assert caught.value.hint
    _assert_one_line(caught.value)


def test_directory_path_is_db_open_failed(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        SqliteStore(tmp_path)
    assert caught.value.code == "DB_OPEN_FAILED"
    assert "directory" in caught.value.message
    _assert_one_line(caught.value)


def test_non_database_file_is_db_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("this is not a database, just some text that is long enough\n" * 50)
    with pytest.raises(StoreError) as caught:
        SqliteStore(path).initialize()
    assert caught.value.code == "DB_NOT_SQLITE"
    assert str(path) in caught.value.message
    _assert_one_line(caught.value)


def test_database_held_by_another_writer_is_db_locked(store: SqliteStore, db_path: Path) -> None:
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with SqliteStore(db_path, busy_timeout_ms=50) as waiting:
            with pytest.raises(StoreError) as caught:
                waiting.insert_tracking([tracking("m1")])
            assert caught.value.code == "DB_LOCKED"
            assert caught.value.hint == "another kmsg process holds the database; try again"
            _assert_one_line(caught.value)
            # Reads still work under WAL while the writer holds its lock.
            assert waiting.count_tracking() == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_closed_store_refuses_work(db_path: Path) -> None:
    opened = SqliteStore(db_path)
    opened.close()
    opened.close()
    with pytest.raises(StoreError) as caught:
        opened.count_jobs()
    assert caught.value.code == "DB_CLOSED"


# -- tracking ----------------------------------------------------------------------------------


def test_json_columns_are_stored_as_compact_utf8_text(store: SqliteStore, db_path: Path) -> None:
    store.insert_tracking([tracking("m1", metadata={"b": "한글", "a": 1})])
    with sqlite3.connect(db_path) as raw:
        text = raw.execute(
            'SELECT "metadata", "last_error" FROM "kmsg_delivery_tracking"'
        ).fetchone()
    raw.close()
    assert text == ('{"b":"한글","a":1}', None)
    loaded = store.get_tracking("m1")
    assert loaded is not None
    assert loaded.metadata == {"b": "한글", "a": 1}
    assert loaded.last_error is None


def test_from_column_maps_to_sender(store: SqliteStore, db_path: Path) -> None:
    store.insert_tracking([tracking("m1", sender="0212345678"), tracking("m2")])
    with sqlite3.connect(db_path) as raw:
        rows = raw.execute(
            'SELECT "message_id", "from" FROM "kmsg_delivery_tracking" ORDER BY 1'
        ).fetchall()
    raw.close()
    assert rows == [("m1", "0212345678"), ("m2", None)]
    found = store.get_tracking("m1")
    assert found is not None and found.sender == "0212345678"


# -- jobs --------------------------------------------------------------------------------------


# -- JSON helpers ------------------------------------------------------------------------------


def test_json_helpers_keep_none_and_reject_non_objects() -> None:
    assert dump_json(None) is None
    assert load_json(None, column="metadata") is None
    assert load_json({"a": 1}, column="metadata") == {"a": 1}  # JSONB arrives decoded
    assert load_json(b'{"a":1}', column="metadata") == {"a": 1}
    with pytest.raises(StoreError) as caught:
        load_json("[1, 2]", column="metadata")
    assert caught.value.code == "DB_BAD_JSON"
    with pytest.raises(StoreError):
        load_json("{not json", column="metadata")


# -- open_store --------------------------------------------------------------------------------


def test_open_store_takes_a_plain_path(tmp_path: Path) -> None:
    with open_store(tmp_path / "plain.db") as opened:
        assert isinstance(opened, SqliteStore)
        assert opened.describe() == f"SQLite {tmp_path / 'plain.db'}"
    with open_store(str(tmp_path / "text.db")) as opened:
        assert (tmp_path / "text.db").exists()


def test_open_store_expands_home(isolated_env: Path) -> None:
    with open_store("~/kmsg/home.db") as opened:
        assert opened.describe() == f"SQLite {isolated_env / 'kmsg' / 'home.db'}"
    assert (isolated_env / "kmsg" / "home.db").exists()


def test_open_store_takes_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(f"sqlite:///{tmp_path}/abs.db") as opened:
        assert opened.describe() == f"SQLite {tmp_path / 'abs.db'}"
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel/relative.db") as opened:
        opened.initialize()
    assert (tmp_path / "rel" / "relative.db").exists()
    with open_store("sqlite:///:memory:") as opened:
        assert opened.describe() == "SQLite in memory"


def test_open_store_does_not_initialize(tmp_path: Path) -> None:
    with open_store(tmp_path / "lazy.db") as opened:
        assert opened.schema_version() == 0


@pytest.mark.parametrize(
    "target", ["mssql://root:pw@localhost/kmsg", "redis://localhost", "sqlite://host/x.db", ""]
)
def test_open_store_rejects_other_urls(target: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(target)
    assert caught.value.code == "DB_URL_INVALID"
    assert "pw" not in caught.value.message


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("postgresql://kmsg:s3cret@db:5432/kmsg", "postgresql://kmsg:****@db:5432/kmsg"),
        ("postgresql://kmsg@db/kmsg", "postgresql://kmsg@db/kmsg"),
        ("postgres://db/kmsg?password=s3cret&sslmode=require", None),
        ("sqlite:////var/lib/kmsg.db", "sqlite:////var/lib/kmsg.db"),
        ("/var/lib/kmsg.db", "/var/lib/kmsg.db"),
    ],
)
def test_describe_target_masks_passwords(target: str, shown: str | None) -> None:
    result = describe_target(target)
    assert "s3cret" not in result
    if shown is not None:
        assert result == shown
    else:
        assert result == "postgres://db/kmsg?password=****&sslmode=require"


def test_importing_the_store_package_does_not_import_sqlite3() -> None:
    code = "import kmsg_cli.store, sys; print('sqlite3' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.stdout.strip() == "False"


def test_updates_of_listed_ids_seek_each_id_not_every_row_of_the_status(
    store: SqliteStore,
) -> None:
    """Without ANALYZE, SQLite guesses that "status = ?" on the dequeue index is the better
    way into `kmsg_jobs`; marking a thousand jobs in flight would then read every processing
    job. Each update that lists ids and also checks a status goes through the primary key."""
    store.insert_jobs([job(f"j{n}") for n in range(3)])
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    try:
        claimed = store.claim_ids(["j0", "j1"], now_ms=1, lease_ms=60_000, owner={"pid": 1})
        store.mark_in_flight(["j0"], now_ms=2)
        store.release_jobs(["j1"], now_ms=3)
        store.reset_jobs(["j1", "j2"], now_ms=4)
    finally:
        store._conn.set_trace_callback(None)
    assert [j.id for j in claimed] == ["j0", "j1"]
    updates = [s for s in statements if s.startswith("UPDATE")]
    assert len(updates) == 4
    for sql in updates:
        plan = " | ".join(row[3] for row in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "sqlite_autoindex_kmsg_jobs_1 (id=?)" in plan, (sql, plan)
        assert "idx_kmsg_jobs_dequeue" not in plan, (sql, plan)


def test_a_job_with_malformed_metadata_neither_breaks_the_batch_index_nor_batch_reads(
    db_path: Path,
) -> None:
    """A row written by hand or by another tool with metadata that is not JSON: creating the
    batch index over it, inserting more such rows, and reading a batch all still work (the
    index's expression tests json_valid first; docs/storage.md)."""
    with SqliteStore(db_path) as first:
        first.initialize()
        first.insert_jobs([job("ok", metadata={"batch": "b1"})])
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP INDEX IF EXISTS idx_kmsg_jobs_batch")
        columns = "id, type, data, status, created_at, process_at, metadata"
        conn.execute(
            f"INSERT INTO kmsg_jobs ({columns}) VALUES ('bad', 'send', '{{}}', "
            "'pending', 1, 1, '{not json')"
        )
    with SqliteStore(db_path) as store:
        store.initialize()  # creates the index again, over the malformed row
        with sqlite3.connect(db_path) as conn:
            conn.execute(
                f"INSERT INTO kmsg_jobs ({columns}) VALUES ('bad2', 'send', '{{}}', "
                "'pending', 1, 1, 'nope')"
            )
        assert store.job_counts(batch="b1") == {"pending": 1}
        assert [j.id for j in store.iter_jobs(batch="b1")] == ["ok"]
