"""PostgresStore specifics: JSONB, TEXT short-text columns, the version table, opening errors,
retries, connection pooling, SKIP LOCKED claims and their plans, and `copy_store` from SQLite.

Everything every backend must do is in test_store_contract.py. These tests need the local
PostgreSQL server (KMSG_TEST_PG_URL); without it they are skipped, or fail under CI.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.errors import StoreError
from kmsg_cli.models import Job, TrackingRow
from kmsg_cli.store import open_store
from kmsg_cli.store.copy import copy_store
from kmsg_cli.store.schema import POSTGRES_WIDENED_COLUMNS, ddl_statements
from kmsg_cli.store.sqlite import SqliteStore
from tests.store.conftest import (
    NOW,
    OWNER,
    failed,
    job,
    postgres_schema,
    require_postgres,
    row,
    sent,
    with_params,
)

try:
    import psycopg
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    if os.environ.get("CI"):
        raise  # CI installs it: a missing driver fails the run, it does not skip it
    pytest.skip("psycopg is not installed", allow_module_level=True)

from kmsg_cli.store.postgres import (  # needs the driver checked above
    _BATCH_CLAIM_SETTINGS,
    DIALECT,
    PostgresStore,
)

LONG_KOREAN = ("카카오톡 미사용자입니다. 대체 문자 발송을 확인하세요 " * 20)[:500]


@pytest.fixture
def pg() -> Iterator[tuple[str, str]]:
    """(schema, URL) of a fresh schema, with a test-unique application_name."""
    with postgres_schema() as (schema, url):
        yield schema, with_params(url, application_name=f"kmsg_t_{uuid.uuid4().hex[:10]}")


@pytest.fixture
def store(pg: tuple[str, str]) -> Iterator[PostgresStore]:
    with PostgresStore(pg[1]) as opened:
        opened.initialize()
        yield opened


def admin(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run SQL on a separate connection (as a DBA would), returning rows if any."""
    with psycopg.connect(require_postgres(), autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def query(schema: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(require_postgres(), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


# -- opening ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_store_opens_postgres_urls_and_masks_the_password(
    pg: tuple[str, str], scheme: str
) -> None:
    url = pg[1].replace("postgresql://postgres@", f"{scheme}://postgres:pa55-SENTINEL@", 1)
    assert "pa55-SENTINEL" in url  # trust authentication ignores it
    with open_store(url) as opened:
        assert isinstance(opened, PostgresStore)
        opened.initialize()
        assert opened.describe().startswith(f"PostgreSQL {scheme}://postgres:****@127.0.0.1")
        assert "pa55-SENTINEL" not in opened.describe() + repr(opened)


def test_unreachable_server_is_db_open_failed_with_the_password_masked() -> None:
    require_postgres()
    url = "postgresql://kmsg:s3cret-SENTINEL@127.0.0.1:1/test?connect_timeout=3"
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert time.monotonic() - started < 5  # refused at once, not after a pool timeout
    error = caught.value
    assert error.code == "DB_OPEN_FAILED"
    assert "s3cret-SENTINEL" not in str(error.to_dict())
    assert "postgresql://kmsg:****@127.0.0.1:1/test" in error.message
    assert "\n" not in error.message and error.hint


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:s3cret-SENTINEL@127.0.0.1:5432/kmsg_no_such_database",
        "postgresql://postgres:s3cret-SENTINEL@127.0.0.1:notaport/test",
        "postgresql://postgres@127.0.0.1:5432/test?password=s3cret-SENTINEL&bogus_option=1",
    ],
)
def test_bad_urls_are_db_open_failed_without_the_password(url: str) -> None:
    require_postgres()
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert caught.value.code == "DB_OPEN_FAILED"
    assert "s3cret-SENTINEL" not in str(caught.value.to_dict())


def test_an_env_password_is_read_when_the_store_opens(
    pg: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg[1].replace("postgresql://postgres@", "postgresql://postgres:env:KMSG_TEST_PG_PW@")
    assert url != pg[1]
    monkeypatch.setenv("KMSG_TEST_PG_PW", "s3cret-SENTINEL")  # the test server trusts anyone
    with open_store(url) as opened:
        opened.initialize()
        assert "s3cret" not in opened.describe() and "env:" not in opened.describe()
    monkeypatch.delenv("KMSG_TEST_PG_PW")
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert caught.value.code == "DB_URL_INVALID"
    assert "KMSG_TEST_PG_PW is not set" in caught.value.message


def test_a_missing_driver_is_db_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    monkeypatch.delitem(sys.modules, "kmsg_cli.store.postgres")
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://kmsg:s3cret@db.example/kmsg")
    assert caught.value.code == "DB_BACKEND_UNAVAILABLE"
    assert caught.value.hint == "pip install 'kmsg[postgres]'"
    assert "s3cret" not in str(caught.value.to_dict())


def test_connections_are_named_kmsg_unless_the_url_says_otherwise(pg: tuple[str, str]) -> None:
    url = pg[1]
    with PostgresStore(url.split("&application_name=")[0]) as opened:
        default = opened._run(lambda s: s.execute("SHOW application_name").first())
    assert default == ("kmsg",)
    with PostgresStore(url) as opened:
        named = opened._run(lambda s: s.execute("SHOW application_name").first())
    assert named == (_application_name(url),)


# -- schema ----------------------------------------------------------------------------------------


def test_json_columns_are_jsonb_holding_objects(store: PostgresStore, pg: tuple[str, str]) -> None:
    store.insert_tracking([sent("m1", metadata={"a": {"b": [1, "둘"]}}, last_error={"code": "E"})])
    store.insert_tracking([sent("m2")])
    store.insert_jobs([job("j1", metadata={"batch": "B", "row": 1}), job("j2")])
    store.claim_jobs(now_ms=NOW, lease_ms=1000, owner=OWNER, limit=10)
    tracking = query(
        pg[0],
        "SELECT message_id, jsonb_typeof(metadata), jsonb_typeof(last_error), metadata IS NULL "
        "FROM kmsg_delivery_tracking ORDER BY 1",
    )
    assert tracking == [("m1", "object", "object", False), ("m2", None, None, True)]
    jobs = query(
        pg[0],
        "SELECT id, jsonb_typeof(data), jsonb_typeof(metadata), metadata -> 'owner' ->> 'host' "
        "FROM kmsg_jobs ORDER BY 1",
    )
    assert jobs == [("j1", "object", "object", "host-a"), ("j2", "object", "object", "host-a")]
    loaded = store.get_tracking("m1")
    assert loaded is not None and loaded.metadata == {"a": {"b": [1, "둘"]}}
    assert isinstance(loaded.last_error, dict)


def test_a_500_character_korean_status_message_is_kept_whole(
    store: PostgresStore, pg: tuple[str, str]
) -> None:
    assert len(LONG_KOREAN) == 500
    store.insert_tracking([row("m1", provider_status_message=LONG_KOREAN), row("m2")])
    assert store.get_tracking("m1") == row("m1", provider_status_message=LONG_KOREAN)
    current = store.get_tracking("m2")
    assert current is not None
    long_code = "E" * 100
    update = failed(current, provider_status_message=LONG_KOREAN, provider_status_code=long_code)
    assert store.apply_tracking([update]) == {"m2"}
    assert store.get_tracking("m2") == update
    types = dict(
        query(
            pg[0],
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'kmsg_delivery_tracking'",
        )
    )
    assert {column: types[column] for column in POSTGRES_WIDENED_COLUMNS} == dict.fromkeys(
        POSTGRES_WIDENED_COLUMNS, "text"
    )


def test_initialize_widens_the_varchar_columns_of_a_reference_built_table(
    pg: tuple[str, str],
) -> None:
    schema, url = pg
    reference = ddl_statements("postgres")[0]
    for column in POSTGRES_WIDENED_COLUMNS:
        reference = reference.replace(f'"{column}" TEXT', f'"{column}" VARCHAR(64)')
    assert reference.count("VARCHAR(64)") == 6
    query(schema, reference)
    query(
        schema,
        "INSERT INTO kmsg_delivery_tracking (message_id, provider_id, provider_message_id, type,"
        ' "to", status, requested_at, status_updated_at, next_check_at)'
        " VALUES ('old', 'solapi', 'P', 'SMS', '01012345678', 'SENT', 1, 1, 1)",
    )
    with PostgresStore(url) as opened:
        opened.initialize()
        assert opened.insert_tracking([sent("new", provider_status_message=LONG_KOREAN)]) == 1
        assert opened.count_tracking() == 2
        stored = opened.get_tracking("new")
        assert stored is not None and stored.provider_status_message == LONG_KOREAN
        opened.initialize()  # nothing left to widen
    kinds = query(
        schema,
        "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema ="
        " current_schema() AND table_name = 'kmsg_delivery_tracking' AND column_name = ANY(%s)",
        (list(POSTGRES_WIDENED_COLUMNS),),
    )
    assert kinds == [("text",)]


def test_the_schema_version_lives_in_a_one_row_table(pg: tuple[str, str]) -> None:
    schema, url = pg
    with PostgresStore(url) as opened:
        assert opened.schema_version() == 0
        opened.initialize()
        opened.initialize()
        assert opened.schema_version() == 1
        assert query(schema, "SELECT version FROM kmsg_schema_version") == [(1,)]
        query(schema, "INSERT INTO kmsg_schema_version VALUES (0), (1)")
        opened.initialize()
        assert query(schema, "SELECT version FROM kmsg_schema_version") == [(1,)]
    names = {
        name
        for (name,) in query(
            schema, "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        )
    }
    assert names == {
        "kmsg_delivery_tracking",
        "kmsg_jobs",
        "kmsg_schema_version",
        "kmsg_state",
        "kmsg_cache",
        "kmsg_content_keys",
    }
    indexes = query(
        schema,
        "SELECT indexname FROM pg_indexes"
        " WHERE schemaname = %s AND indexname LIKE 'idx_kmsg%%' ORDER BY 1",
        (schema,),
    )
    assert [name for (name,) in indexes] == [
        "idx_kmsg_delivery_due",
        "idx_kmsg_delivery_provider_msg",
        "idx_kmsg_delivery_requested_at",
        "idx_kmsg_jobs_batch",  # kmsg's own (docs/storage.md)
        "idx_kmsg_jobs_dequeue",
        "idx_kmsg_jobs_id",
    ]


def test_initialize_refuses_a_newer_schema(pg: tuple[str, str]) -> None:
    schema, url = pg
    with PostgresStore(url) as opened:
        opened.initialize()
    query(schema, "UPDATE kmsg_schema_version SET version = 2")
    with PostgresStore(url) as opened:
        with pytest.raises(StoreError) as caught:
            opened.initialize()
        assert caught.value.code == "DB_SCHEMA_TOO_NEW"
        assert "\n" not in caught.value.message
        assert opened.schema_version() == 2
    assert query(schema, "SELECT version FROM kmsg_schema_version") == [(2,)]


# -- retries, pooling ------------------------------------------------------------------------------


def _terminate(application_name: str) -> int:
    rows = admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = %s AND pid <> pg_backend_pid()",
        (application_name,),
    )
    return len(rows)


def _application_name(url: str) -> str:
    return url.rsplit("application_name=", 1)[1]


def test_lost_connections_are_retried_not_turned_into_lost_work(
    store: PostgresStore, pg: tuple[str, str]
) -> None:
    name = _application_name(pg[1])
    store.insert_jobs([job(f"j{n}") for n in range(10)])
    store.insert_tracking([row("m1")])
    assert _terminate(name) >= 1  # every connection of the pool is killed
    claimed = store.claim_jobs(now_ms=NOW, lease_ms=1000, owner=OWNER, limit=4)
    assert [j.id for j in claimed] == ["j0", "j1", "j2", "j3"]
    assert _terminate(name) >= 1
    current = store.get_tracking("m1")
    assert current is not None
    assert _terminate(name) >= 1
    fallback = job("m1:fb", metadata={"for_message": "m1"})
    assert store.apply_tracking([failed(current)], jobs=[fallback]) == {"m1"}
    assert _terminate(name) >= 1
    store.complete_jobs(["j0"], [sent("j0")], now_ms=NOW + 1)
    assert store.job_counts() == {"pending": 7, "processing": 3, "completed": 1}
    assert store.get_job("m1:fb") == fallback


def test_a_transient_failure_reruns_the_whole_transaction(store: PostgresStore) -> None:
    calls: list[int] = []

    def work(conn: Any) -> int:
        calls.append(1)
        conn.execute("INSERT INTO kmsg_state (name, value) VALUES ('x', %s)", (len(calls),))
        if len(calls) == 1:
            raise psycopg.errors.SerializationFailure("could not serialize access")
        if len(calls) == 2:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return len(calls)

    assert store._run(work, transaction=True) == 3
    assert store.reserve_sequence("x", 0) == 3  # only the third attempt's insert committed


def test_a_failure_that_lasts_is_db_unavailable(pg: tuple[str, str]) -> None:
    with PostgresStore(pg[1], attempts=3) as opened:
        calls: list[int] = []

        def work(conn: Any) -> None:
            calls.append(1)
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        with pytest.raises(StoreError) as caught:
            opened._run(work)
        assert caught.value.code == "DB_UNAVAILABLE"
        assert len(calls) == 3
        assert "tried 3 times" in caught.value.message


def test_other_errors_are_not_retried(store: PostgresStore) -> None:
    calls: list[int] = []

    def work(conn: Any) -> None:
        calls.append(1)
        conn.execute("SELECT 1/0")

    with pytest.raises(StoreError) as caught:
        store._run(work)
    assert caught.value.code == "DB_QUERY_FAILED"
    assert "division by zero" in caught.value.message
    assert len(calls) == 1


def test_an_exhausted_pool_is_db_unavailable_after_its_timeout(pg: tuple[str, str]) -> None:
    with PostgresStore(pg[1], pool_size=1, pool_timeout_s=0.3) as opened:
        opened.initialize()
        with opened._pool.connection():  # the only connection, held
            started = time.monotonic()
            with pytest.raises(StoreError) as caught:
                opened.count_jobs()
        assert caught.value.code == "DB_UNAVAILABLE"
        assert 0.25 < time.monotonic() - started < 3
        assert opened.count_jobs() == 0


def test_worker_threads_use_the_pool_in_parallel_within_its_size(pg: tuple[str, str]) -> None:
    name = _application_name(pg[1])
    with PostgresStore(pg[1], pool_size=4) as opened:
        opened.initialize()
        peak: list[int] = []

        def sleeper() -> None:
            opened._run(lambda conn: conn.execute("SELECT pg_sleep(0.4)"))

        threads = [threading.Thread(target=sleeper) for _ in range(8)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        peak.append(
            len(admin("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,)))
        )
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    # 8 sleeps of 0.4 s on 4 connections: two rounds, not eight.
    assert 0.75 < elapsed < 2.0
    assert peak[0] <= 4


# -- claims ----------------------------------------------------------------------------------------


def _plan(schema: str, sql: str, params: dict[str, Any], settings: tuple[str, ...] = ()) -> str:
    with psycopg.connect(require_postgres(), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        for setting in settings:
            conn.execute(f"SET {setting}")
        cursor = psycopg.ClientCursor(conn)
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(line for (line,) in cursor.fetchall())


def test_the_job_claim_seeks_the_dequeue_index_and_locks_with_skip_locked(
    store: PostgresStore, pg: tuple[str, str]
) -> None:
    store.insert_jobs(
        [
            job(f"j{n:05d}", priority=n % 3, metadata={"batch": "B"}, status=status)
            for n, status in enumerate(["pending", "completed", "failed"] * 1000)
        ]
    )
    query(pg[0], "ANALYZE")
    params = {
        "now": NOW,
        "limit": 50,
        "lease_until": NOW + 1,
        "owner": "{}",
        "batch": "B",
        "pending": "pending",
        "processing": "processing",
    }
    for by_batch in (False, True):
        settings = _BATCH_CLAIM_SETTINGS if by_batch else ()
        plan = _plan(pg[0], DIALECT.claim_jobs_sql(by_batch=by_batch), params, settings)
        assert "idx_kmsg_jobs_dequeue" in plan, plan
        assert "LockRows" in plan, plan
        assert "Seq Scan" not in plan and "Hash" not in plan, plan
        assert "Sort Key: kmsg_jobs" not in plan, plan  # no sort of the queue itself
        assert "Index Cond: (id = ANY" in plan, plan  # the update itself goes by id lookups


def test_the_tracking_claim_seeks_the_due_index_per_status(
    store: PostgresStore, pg: tuple[str, str]
) -> None:
    store.insert_tracking(
        [row(f"m{n:05d}", status=("PENDING", "SENT", "DELIVERED")[n % 3]) for n in range(3000)]
    )
    query(pg[0], "ANALYZE")
    params = {
        "now": NOW,
        "limit": 50,
        "lease_until": NOW + 1,
        "provider": "solapi",
        "due0": "PENDING",
        "due1": "SENT",
    }
    for by_provider in (False, True):
        plan = _plan(pg[0], DIALECT.claim_tracking_sql(by_provider=by_provider), params)
        assert plan.count("idx_kmsg_delivery_due") == 2, plan
        assert plan.count("LockRows") == 2, plan
        assert "Seq Scan" not in plan and "Hash" not in plan, plan
        assert "Index Cond: (message_id = ANY" in plan, plan


def test_claims_skip_rows_another_transaction_holds(
    store: PostgresStore, pg: tuple[str, str]
) -> None:
    store.insert_jobs([job(f"j{n}", created_at=NOW + n) for n in range(6)])
    store.insert_tracking([row(f"m{n}", next_check_at=NOW - 10 + n) for n in range(6)])
    with psycopg.connect(require_postgres()) as holder:  # not autocommit: a transaction
        holder.execute(f'SET search_path TO "{pg[0]}"')
        holder.execute("SELECT 1 FROM kmsg_jobs WHERE id IN ('j0', 'j1') FOR UPDATE")
        holder.execute(
            "SELECT 1 FROM kmsg_delivery_tracking WHERE message_id IN ('m0', 'm1') FOR UPDATE"
        )
        started = time.monotonic()
        jobs = store.claim_jobs(now_ms=NOW + 10, lease_ms=1000, owner=OWNER, limit=3)
        rows = store.claim_due_tracking(now_ms=NOW, lease_ms=1000, limit=3)
        assert time.monotonic() - started < 2  # nobody waited for the holder
        assert [j.id for j in jobs] == ["j2", "j3", "j4"]
        assert [r.message_id for r in rows] == ["m2", "m3", "m4"]
        holder.rollback()
    assert [j.id for j in store.claim_jobs(now_ms=NOW + 10, lease_ms=1, owner=OWNER, limit=9)] == [
        "j0",
        "j1",
        "j5",
    ]


# -- copy_store ------------------------------------------------------------------------------------


def _history(store: SqliteStore) -> tuple[list[Job], list[TrackingRow]]:
    jobs = [
        job(f"job-{n:04d}", priority=n % 3, data={"message": {"type": "SMS", "text": f"안녕 {n}"}})
        for n in range(1200)
    ]
    jobs += [
        job("done", status="completed", completed_at=NOW, metadata={"owner": OWNER}),
        job("dead", status="failed", failed_at=NOW, error='{"code": "X", "message": "실패"}'),
        job("held", status="processing", attempts=2, metadata={"owner": OWNER, "in_flight": 5}),
    ]
    rows = [
        row(
            f"msg-{n:04d}",
            metadata={"failover": {"path": "native", "n": n}, "tags": ["봄"]},
            last_error={"code": "TIMEOUT"} if n % 2 else None,
            provider_status_message=LONG_KOREAN if n == 7 else "전송 중",
        )
        for n in range(1500)
    ]
    store.insert_jobs(jobs)
    store.insert_tracking(rows)
    return jobs, rows


def test_copy_store_moves_a_sqlite_history_and_queue_to_postgres_without_loss(
    store: PostgresStore, tmp_path: Path
) -> None:
    with SqliteStore(tmp_path / "local.db") as local:
        local.initialize()
        jobs, rows = _history(local)
        store.insert_jobs([jobs[0]])  # already there: skipped, not overwritten
        progress: list[int] = []
        counts = copy_store(local, store, chunk=500, on_progress=progress.append)
        assert counts == {
            "jobs_copied": len(jobs) - 1,
            "jobs_skipped": 1,
            "tracking_copied": len(rows),
            "tracking_skipped": 0,
            "state_copied": 0,
            "state_skipped": 0,
            "jobs_conflicting": 0,
            "tracking_conflicting": 0,
            "conflicts": {"jobs": [], "tracking": []},
        }
        assert progress == sorted(progress) and progress[-1] == len(jobs) + len(rows)
        assert list(store.iter_jobs()) == sorted(jobs, key=lambda j: j.id)
        assert list(store.iter_tracking()) == rows
        again = copy_store(local, store)
        assert again == {
            "jobs_copied": 0,
            "jobs_skipped": len(jobs),
            "tracking_copied": 0,
            "tracking_skipped": len(rows),
            "state_copied": 0,
            "state_skipped": 0,
            "jobs_conflicting": 0,
            "tracking_conflicting": 0,
            "conflicts": {"jobs": [], "tracking": []},
        }
        assert (store.count_jobs(), store.count_tracking()) == (len(jobs), len(rows))
        # and back: Postgres streams into SQLite just as well
        with SqliteStore(tmp_path / "back.db") as back:
            back.initialize()
            assert copy_store(store, back)["tracking_copied"] == len(rows)
            assert list(back.iter_tracking()) == rows
            assert back.get_job("held") == local.get_job("held")


def test_copy_store_names_rows_whose_id_the_target_holds_for_another_message(
    store: PostgresStore, tmp_path: Path
) -> None:
    # Two databases that each sent a batch of the same default id (a hash of its input): the
    # target's rows are kept, and the source's are counted and named, not passed off as copied
    with SqliteStore(tmp_path / "local.db") as local:
        local.initialize()
        local.insert_jobs([job("b:1"), job("b:2"), job("b:3")])
        local.insert_tracking([sent("b:1"), sent("b:2")])
        store.insert_jobs([job("b:1"), job("b:2", created_at=NOW + 5)])  # b:1 copied earlier
        store.insert_tracking([sent("b:2", requested_at=NOW + 5)])
        counts = copy_store(local, store, chunk=2)
        assert (counts["jobs_copied"], counts["jobs_skipped"], counts["jobs_conflicting"]) == (
            1,
            2,
            1,
        )
        assert (counts["tracking_copied"], counts["tracking_conflicting"]) == (1, 1)
        assert counts["conflicts"] == {"jobs": ["b:2"], "tracking": ["b:2"]}
        held = store.get_job("b:2")
        assert held is not None and held.created_at == NOW + 5  # the target's, untouched


def test_copy_store_refuses_a_zero_chunk(store: PostgresStore) -> None:
    with pytest.raises(ValueError):
        copy_store(store, store, chunk=0)
