"""MysqlStore specifics: URLs and env: passwords, sessions (utf8mb4, binary ids), the schema,
server version detection, the claims of servers without SKIP LOCKED, retries, and `copy_store`
among all three engines.

Everything every engine must do is in test_store_contract.py. These tests need the local
MariaDB (KMSG_TEST_MYSQL_URL); without it they are skipped, or fail under CI.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.errors import StoreError
from kmsg_cli.store import open_store, resolve_password
from kmsg_cli.store.copy import copy_store
from kmsg_cli.store.inspect import inspector
from kmsg_cli.store.sqlite import SqliteStore
from tests.store.conftest import (
    NOW,
    OWNER,
    claim,
    claim_rows,
    ids,
    job,
    mids,
    mysql_admin,
    mysql_database,
    postgres_schema,
    require_mysql,
    row,
    run_threads,
    sent,
)

try:
    import pymysql
except ImportError:  # pragma: no cover - the `mysql` extra is not installed
    if os.environ.get("CI"):
        raise  # CI installs it: a missing driver fails the run, it does not skip it
    pytest.skip("PyMySQL is not installed", allow_module_level=True)

from kmsg_cli.store.mysql import (
    MysqlStore,
    claim_statements,
    parse_url,
    server_has_skip_locked,
    tracking_claim_statement,
)


@pytest.fixture
def db() -> Iterator[tuple[str, str]]:
    """(name, URL) of a fresh database."""
    with mysql_database() as found:
        yield found


@pytest.fixture
def store(db: tuple[str, str]) -> Iterator[MysqlStore]:
    with MysqlStore(db[1]) as opened:
        opened.initialize()
        yield opened


# -- URLs ----------------------------------------------------------------------------------------


def test_a_url_gives_the_connection_arguments() -> None:
    args = parse_url("mariadb://kmsg:p%40ss@db.internal:3307/kmsg_prod?connect_timeout=3")
    assert args == {
        "host": "db.internal",
        "port": 3307,
        "user": "kmsg",
        "password": "p@ss",
        "database": "kmsg_prod",
        "connect_timeout": 3,
    }
    assert parse_url("mysql://root@127.0.0.1/test")["port"] == 3306


@pytest.mark.parametrize(
    "url",
    [
        "mysql://kmsg:s3cret-SENTINEL@db.internal:3306",  # no database
        "mysql://kmsg:s3cret-SENTINEL@db.internal:99999/kmsg",  # port out of range
        "mysql://kmsg:s3cret-SENTINEL@db.internal/kmsg?sslmode=require",  # unknown parameter
        "mysql://kmsg:s3cret-SENTINEL@db.internal/kmsg?connect_timeout=soon",
    ],
)
def test_a_bad_url_is_db_url_invalid_without_the_password(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert caught.value.code == "DB_URL_INVALID"
    assert "s3cret-SENTINEL" not in str(caught.value.to_dict())
    assert "****" in caught.value.message


def test_a_refused_login_is_db_open_failed_without_the_password(db: tuple[str, str]) -> None:
    base = require_mysql().replace("mysql://root@", "mysql://nobody-kmsg:s3cret-SENTINEL@")
    with pytest.raises(StoreError) as caught:
        open_store(base)
    assert caught.value.code == "DB_OPEN_FAILED"
    assert "s3cret-SENTINEL" not in str(caught.value.to_dict())
    assert "mysql://USER" in (caught.value.hint or "")


def test_an_env_password_is_read_from_the_environment(
    db: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_password("mysql://u:env:DB_PW@h/d", {"DB_PW": "p@ss:w/rd"}) == (
        "mysql://u:p%40ss%3Aw%2Frd@h/d"
    )
    assert resolve_password("postgresql://u:plain@h/d", {}) == "postgresql://u:plain@h/d"
    monkeypatch.setenv("KMSG_TEST_DB_PW", "")  # root has no password on the test server
    url = db[1].replace("mysql://root@", "mysql://root:env:KMSG_TEST_DB_PW@")
    with open_store(url) as opened:
        opened.initialize()
        assert opened.count_jobs() == 0
        assert "env:" not in opened.describe()
    monkeypatch.delenv("KMSG_TEST_DB_PW")
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert caught.value.code == "DB_URL_INVALID"
    assert "KMSG_TEST_DB_PW is not set" in caught.value.message


def test_a_missing_driver_is_db_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)  # import pymysql raises ImportError
    monkeypatch.delitem(sys.modules, "kmsg_cli.store.mysql")
    with pytest.raises(StoreError) as caught:
        open_store("mysql://kmsg:s3cret@db.example/kmsg")
    assert caught.value.code == "DB_BACKEND_UNAVAILABLE"
    assert caught.value.hint == "pip install 'kmsg[mysql]'"
    assert "s3cret" not in str(caught.value.to_dict())


# -- the server and the schema -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("8.0.36", True),
        ("8.0.0-dmr", False),
        ("5.7.44-log", False),
        ("10.11.6-MariaDB-0+deb12u1", True),
        ("10.6.1-MariaDB", True),
        ("10.5.23-MariaDB-log", False),
        ("5.5.5-10.3.39-MariaDB", False),
    ],
)
def test_skip_locked_is_detected_from_the_server_version(version: str, expected: bool) -> None:
    assert server_has_skip_locked(version) is expected


def test_the_store_says_which_server_and_claims_it_uses(store: MysqlStore) -> None:
    assert store.server_version
    assert store.skip_locked is server_has_skip_locked(store.server_version)
    assert store.describe().startswith(("MySQL mysql://", "MariaDB mysql://"))
    assert "SKIP LOCKED" in store.describe() and "SKIP LOCKED" in store.claim_method()


def test_tables_are_utf8mb4_with_a_binary_collation_and_the_version_row(
    store: MysqlStore, db: tuple[str, str]
) -> None:
    rows = mysql_admin(
        "SELECT table_name, table_collation FROM information_schema.tables "
        f"WHERE table_schema = '{db[0]}' ORDER BY table_name"
    )
    names = [name for name, _collation in rows]
    assert names == [
        "kmsg_cache",
        "kmsg_content_keys",
        "kmsg_delivery_tracking",
        "kmsg_jobs",
        "kmsg_schema_version",
        "kmsg_state",
    ]
    assert all(str(c).startswith("utf8mb4_") and str(c).endswith("bin") for _n, c in rows)
    assert mysql_admin("SELECT version FROM kmsg_schema_version", db[0]) == [(1,)]
    store.initialize()
    assert mysql_admin("SELECT COUNT(*) FROM kmsg_schema_version", db[0]) == [(1,)]


def test_a_missing_index_is_created_again(store: MysqlStore, db: tuple[str, str]) -> None:
    mysql_admin("DROP INDEX idx_kmsg_delivery_due ON kmsg_delivery_tracking", db[0])
    assert "idx_kmsg_delivery_due" not in inspector(store).schema_info().indexes
    store.initialize()
    assert len(inspector(store).schema_info().indexes) == 5


def test_the_batch_index_is_created_again_and_so_is_its_column(
    store: MysqlStore, db: tuple[str, str]
) -> None:
    """kmsg's own index by batch (docs/storage.md): dropped alone, or with its generated
    column, the next initialize puts it back, and the jobs of a batch are found through it."""
    store.insert_jobs([job("a", metadata={"batch": "b1"}), job("b", metadata={"batch": "b2"})])
    mysql_admin("DROP INDEX idx_kmsg_jobs_batch ON kmsg_jobs", db[0])
    store.initialize()
    mysql_admin("ALTER TABLE kmsg_jobs DROP COLUMN kmsg_batch", db[0])
    store.initialize()
    rows = mysql_admin(
        "SELECT column_name FROM information_schema.statistics WHERE table_schema = DATABASE() "
        "AND index_name = 'idx_kmsg_jobs_batch'",
        db[0],
    )
    assert rows == [("kmsg_batch",)]
    assert [j.id for j in store.iter_jobs(batch="b1")] == ["a"]
    assert store.job_counts(batch="b2") == {"pending": 1}


def test_a_newer_schema_is_refused(store: MysqlStore, db: tuple[str, str]) -> None:
    mysql_admin("UPDATE kmsg_schema_version SET version = 2", db[0])
    with pytest.raises(StoreError) as caught:
        store.initialize()
    assert caught.value.code == "DB_SCHEMA_TOO_NEW"


def test_korean_text_and_emoji_round_trip_and_ids_compare_by_bytes(store: MysqlStore) -> None:
    text = "안녕하세요 😀 카카오톡"
    store.insert_jobs([job("a", data={"text": text}), job("A"), job("a ")])
    assert store.count_jobs() == 3  # case and trailing spaces make other ids
    assert store.get_jobs(["a"])["a"].data == {"text": text}
    store.insert_tracking([sent("m1", provider_status_message=text * 10, metadata={"t": text})])
    found = store.get_tracking("m1")
    assert found is not None and found.metadata == {"t": text}
    assert found.provider_status_message == text * 10  # longer than 64 characters


def test_a_value_too_long_is_refused_not_cut(store: MysqlStore) -> None:
    with pytest.raises(StoreError) as caught:
        store.insert_jobs([job("x" * 300)])
    assert caught.value.code == "DB_QUERY_FAILED"
    assert store.count_jobs() == 0


# -- claims without SKIP LOCKED ------------------------------------------------------------------


def test_servers_without_skip_locked_claim_one_at_a_time_and_say_so(db: tuple[str, str]) -> None:
    with MysqlStore(db[1], skip_locked=False) as setup:
        setup.initialize()
        setup.insert_jobs([job(f"j{n:03d}", created_at=NOW + n) for n in range(120)])
        setup.insert_tracking([row(f"m{n:03d}", next_check_at=NOW - n) for n in range(90)])
        assert "one claim at a time" in setup.claim_method()
        checks = {finding.name: finding for finding in _check(setup)}
        assert "no SKIP LOCKED" in checks["claims"].detail
    jobs: list[list[str]] = [[] for _ in range(4)]
    rows: list[list[str]] = [[] for _ in range(4)]

    def work(n: int) -> None:
        with MysqlStore(db[1], skip_locked=False) as own:
            for _ in range(5):
                jobs[n] += ids(claim(own, limit=7, owner={**OWNER, "pid": n}))
                rows[n] += mids(claim_rows(own, limit=5))

    assert run_threads(4, work) == []
    taken = [job_id for part in jobs for job_id in part]
    assert len(taken) == len(set(taken)) == 120
    checked = [message_id for part in rows for message_id in part]
    assert len(checked) == len(set(checked)) == 90


def _check(store: MysqlStore) -> list[Any]:
    from kmsg_cli.dbcheck import check_store

    return check_store(store)


# -- retries -------------------------------------------------------------------------------------


def test_deadlocks_and_lock_timeouts_rerun_the_whole_transaction(store: MysqlStore) -> None:
    calls: list[int] = []

    def work(s: Any) -> int:
        calls.append(1)
        s.execute("INSERT INTO kmsg_state (name, value) VALUES ('x', %(n)s)", {"n": len(calls)})
        if len(calls) == 1:
            raise pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
        if len(calls) == 2:
            raise pymysql.err.OperationalError(1205, "Lock wait timeout exceeded")
        return len(calls)

    assert store._run(work, transaction=True) == 3
    assert store.reserve_sequence("x", 0) == 3  # only the third attempt's insert committed


def test_a_lost_connection_that_lasts_is_db_unavailable(db: tuple[str, str]) -> None:
    with MysqlStore(db[1], attempts=3) as opened:
        calls: list[int] = []

        def work(s: Any) -> None:
            calls.append(1)
            raise pymysql.err.OperationalError(2013, "Lost connection to server during query")

        with pytest.raises(StoreError) as caught:
            opened._run(work)
        assert caught.value.code == "DB_UNAVAILABLE"
        assert len(calls) == 3
        assert "tried 3 times" in caught.value.message


def test_other_errors_are_not_retried(store: MysqlStore) -> None:
    calls: list[int] = []

    def work(s: Any) -> None:
        calls.append(1)
        s.execute("SELECT * FROM no_such_table")

    with pytest.raises(StoreError) as caught:
        store._run(work)
    assert caught.value.code == "DB_QUERY_FAILED"
    assert "no_such_table" in caught.value.message and "(error 1146)" in caught.value.message
    assert len(calls) == 1


def test_a_connection_killed_by_the_server_is_replaced(store: MysqlStore) -> None:
    store.insert_jobs([job("j1")])
    (connection_id,) = store._run(lambda s: s.execute("SELECT CONNECTION_ID()").first())
    mysql_admin(f"KILL {int(connection_id)}")
    assert store.count_jobs() == 1  # the dead connection failed, the rerun used a new one
    assert [j.id for j in claim(store)] == ["j1"]


def test_an_exhausted_pool_is_db_unavailable_after_its_timeout(db: tuple[str, str]) -> None:
    with MysqlStore(db[1], pool_size=1, pool_timeout_s=0.3) as opened:
        opened.initialize()
        held = threading.Event()
        release = threading.Event()

        def hold(s: Any) -> None:
            held.set()
            release.wait(5)

        holder = threading.Thread(target=lambda: opened._run(hold))
        holder.start()
        try:
            assert held.wait(5)
            with pytest.raises(StoreError) as caught:
                opened.count_jobs()
            assert caught.value.code == "DB_UNAVAILABLE"
        finally:
            release.set()
            holder.join()
        assert opened.count_jobs() == 0


# -- db copy among the three engines -------------------------------------------------------------


def test_copy_goes_from_sqlite_to_mysql_to_postgres_and_back(
    store: MysqlStore, tmp_path: Path
) -> None:
    jobs = [job(f"j{n}", data={"text": f"안녕 {n} 😀"}) for n in range(7)]
    rows = [sent(f"m{n}", metadata={"n": n, "이름": "홍길동"}) for n in range(5)]
    with SqliteStore(tmp_path / "local.db") as local:
        local.initialize()
        local.insert_jobs(jobs)
        local.insert_tracking(rows)
        claimed = local.claim_jobs(now_ms=NOW, lease_ms=1000, owner=OWNER, limit=2)
        local.reserve_sequence("rr:한글", 3)  # a named value of kmsg_state
        counts = copy_store(local, store, chunk=3)
        assert counts == {
            "jobs_copied": 7,
            "jobs_skipped": 0,
            "tracking_copied": 5,
            "tracking_skipped": 0,
            "state_copied": 1,
            "state_skipped": 0,
            "jobs_conflicting": 0,
            "tracking_conflicting": 0,
            "conflicts": {"jobs": [], "tracking": []},
        }
        assert copy_store(local, store)["jobs_skipped"] == 7  # idempotent
        with postgres_schema() as (_name, url), open_store(url) as remote:
            remote.initialize()
            copy_store(store, remote, chunk=4)
            with SqliteStore(tmp_path / "back.db") as back:
                back.initialize()
                copy_store(remote, back)
                assert list(back.iter_jobs()) == list(local.iter_jobs())
                assert list(back.iter_tracking()) == list(local.iter_tracking())
                assert list(back.iter_state()) == list(local.iter_state()) == [("rr:한글", 3)]
                held = back.get_jobs([claimed[0].id])[claimed[0].id]
                assert held.status == "processing" and held.metadata == claimed[0].metadata


# -- query plans -----------------------------------------------------------------------------------


def _plan(store: MysqlStore, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    def work(s: Any) -> list[dict[str, Any]]:
        s.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
        rows = s.execute("EXPLAIN " + sql, params).rows
        columns = ("id", "select_type", "table", "type", "keys", "key", "len", "ref", "rows")
        return [dict(zip(columns, row, strict=False)) | {"extra": row[-1]} for row in rows]

    return store._run(work)


def test_the_claims_seek_their_index_without_sorting(store: MysqlStore) -> None:
    store.insert_jobs([job(f"j{n:05d}", priority=n % 3, status="pending") for n in range(3000)])
    store.insert_tracking(
        [row(f"m{n:05d}", status=("PENDING", "SENT", "DELIVERED")[n % 3]) for n in range(3000)]
    )
    params: dict[str, Any] = {"pending": "pending", "now": NOW, "want": 50, "level": 1}
    (job_plan,) = _plan(store, claim_statements(by_batch=False, skip_locked=True)[2], params)
    assert job_plan["key"] == "idx_kmsg_jobs_dequeue", job_plan
    assert "filesort" not in str(job_plan["extra"]), job_plan
    params = {"due": "SENT", "now": NOW, "limit": 50, "provider": "solapi"}
    (row_plan,) = _plan(store, tracking_claim_statement(by_provider=False), params)
    assert row_plan["key"] == "idx_kmsg_delivery_due", row_plan
    assert "filesort" not in str(row_plan["extra"]), row_plan
