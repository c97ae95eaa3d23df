"""Shared pieces of the store tests: the engines the contract runs on (one fresh database or
schema per test, dropped afterwards) and the builders of jobs and tracking rows.

PostgreSQL: KMSG_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test); MySQL/MariaDB:
KMSG_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/test). When a server cannot be reached
its part is skipped, except under CI (the CI variable set), where it fails:
CI must run the whole contract on every engine.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from kmsg_cli.models import DeliveryStatus, Job, TrackingRow
from kmsg_cli.store import open_store
from kmsg_cli.store.contract import Store

PG_URL = os.environ.get("KMSG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("KMSG_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")

NOW = 1_700_000_000_000
LEASE = 300_000
TRACK_LEASE = 60_000
DAY = 86_400_000
OWNER = {"host": "host-a", "pid": 4242, "started": NOW - 5_000}
OTHER = {"host": "host-b", "pid": 77, "started": NOW - 1_000}

PENDING = DeliveryStatus.PENDING.value
SENT = DeliveryStatus.SENT.value
DELIVERED = DeliveryStatus.DELIVERED.value
FAILED = DeliveryStatus.FAILED.value
CANCELLED = DeliveryStatus.CANCELLED.value
UNKNOWN = DeliveryStatus.UNKNOWN.value


# -- backends ------------------------------------------------------------------------------------


@functools.cache
def _postgres_problem() -> str | None:
    """Why the PostgreSQL test server cannot be used, or None when it can."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc}); pip install -e '.[postgres]'"
    try:
        with psycopg.connect(PG_URL, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is unreachable: {' '.join(str(exc).split())}"
    return None


def require_postgres() -> str:
    """The base URL of the PostgreSQL test server; skips without one (fails under CI)."""
    problem = _postgres_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(
                f"{problem}. CI runs the store contract on PostgreSQL too: start the server "
                "(.ci/run does) or fix KMSG_TEST_PG_URL.",
                pytrace=False,
            )
        pytest.skip(problem)
    return PG_URL


def with_params(url: str, **params: str) -> str:
    """`url` with query parameters added (values already URL-encoded)."""
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


@contextmanager
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A fresh schema on the test server: (schema name, URL whose search_path is it)."""
    import psycopg

    base = require_postgres()
    name = f"kmsg_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name, with_params(base, options=f"-csearch_path%3D{name}")
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@dataclass
class Backend:
    name: str
    target: str

    def open(self) -> Store:
        """Another store object on the same database (as another process would have)."""
        return open_store(self.target)


@functools.cache
def _mysql_problem() -> str | None:
    """Why the MySQL/MariaDB test server cannot be used, or None when it can."""
    try:
        import pymysql

        from kmsg_cli.store.mysql import parse_url
    except ImportError as exc:
        return f"PyMySQL is not installed ({exc}); pip install -e '.[mysql]'"
    try:
        pymysql.connect(**{**parse_url(MYSQL_URL), "connect_timeout": 5}).close()
    except pymysql.err.Error as exc:
        return f"MySQL at {MYSQL_URL} is unreachable: {' '.join(str(exc).split())}"
    return None


def require_mysql() -> str:
    """The base URL of the MySQL/MariaDB test server; skips without one (fails under CI)."""
    problem = _mysql_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(
                f"{problem}. CI runs the store contract on MariaDB too: start the server "
                "(.ci/run does) or fix KMSG_TEST_MYSQL_URL.",
                pytrace=False,
            )
        pytest.skip(problem)
    return MYSQL_URL


def mysql_admin(sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
    """Run SQL on a separate connection (as a DBA would), returning its rows."""
    import pymysql

    from kmsg_cli.store.mysql import parse_url

    args = {**parse_url(require_mysql()), "autocommit": True}
    if database is not None:
        args["database"] = database
    with pymysql.connect(**args) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


@contextmanager
def mysql_database() -> Iterator[tuple[str, str]]:
    """A fresh database on the MySQL/MariaDB test server: (its name, a URL naming it)."""
    base = urlsplit(require_mysql())
    name = f"kmsg_test_{uuid.uuid4().hex[:12]}"
    mysql_admin(f"CREATE DATABASE `{name}`")
    try:
        yield name, urlunsplit(base._replace(path=f"/{name}"))
    finally:
        mysql_admin(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / "contract.db"))
    elif request.param == "postgres":
        with postgres_schema() as (_name, url):
            yield Backend("postgres", url)
    else:
        with mysql_database() as (_name, url):
            yield Backend("mysql", url)


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    with backend.open() as opened:
        opened.initialize()
        yield opened


# -- builders ------------------------------------------------------------------------------------


def job(job_id: str, **overrides: Any) -> Job:
    values: dict[str, Any] = {
        "id": job_id,
        "type": "send",
        "data": {"to": "01012345678", "text": "안녕하세요"},
        "created_at": NOW,
        "process_at": NOW,
    }
    values.update(overrides)
    return Job(**values)


def batch_job(job_id: str, batch: str, row: int, **overrides: Any) -> Job:
    return job(job_id, metadata={"batch": batch, "row": row}, **overrides)


def fallback_job(message_id: str) -> Job:
    return job(
        f"{message_id}:api-fallback",
        data={"to": "01012345678", "text": "대체 문자"},
        metadata={"for_message": message_id},
    )


def row(message_id: str, **overrides: Any) -> TrackingRow:
    """A due SENT row (next_check_at == NOW)."""
    values: dict[str, Any] = {
        "message_id": message_id,
        "provider_id": "solapi",
        "provider_message_id": f"P-{message_id}",
        "type": "SMS",
        "to": "01012345678",
        "sender": "0212345678",
        "status": SENT,
        "requested_at": NOW - 30_000,
        "status_updated_at": NOW - 30_000,
        "next_check_at": NOW,
    }
    values.update(overrides)
    return TrackingRow(**values)


def sent(message_id: str, **overrides: Any) -> TrackingRow:
    """A tracking row as complete_jobs writes it (not due yet)."""
    values: dict[str, Any] = {"requested_at": NOW, "status_updated_at": NOW}
    values["next_check_at"] = NOW + 30_000
    values["sender"] = None
    values.update(overrides)
    return row(message_id, **values)


def failed(current: TrackingRow, **overrides: Any) -> TrackingRow:
    """The row as a checker writes it when the provider reports a failure."""
    values: dict[str, Any] = {
        "status": FAILED,
        "provider_status_code": "3104",
        "provider_status_message": "카카오톡 미사용자",
        "failed_at": NOW + 1_000,
        "status_updated_at": NOW + 1_000,
        "attempt_count": current.attempt_count + 1,
        "last_checked_at": NOW + 1_000,
        "metadata": {"failover": {"path": "api", "job": f"{current.message_id}:api-fallback"}},
    }
    values.update(overrides)
    return dataclasses.replace(current, **values)


def claim(store: Store, limit: int = 100, **overrides: Any) -> list[Job]:
    kwargs: dict[str, Any] = {"now_ms": NOW, "lease_ms": LEASE, "owner": OWNER, "limit": limit}
    kwargs.update(overrides)
    return store.claim_jobs(**kwargs)


def claim_rows(store: Store, limit: int = 100, **overrides: Any) -> list[TrackingRow]:
    kwargs: dict[str, Any] = {"now_ms": NOW, "lease_ms": TRACK_LEASE, "limit": limit}
    kwargs.update(overrides)
    return store.claim_due_tracking(**kwargs)


def ids(items: list[Job]) -> list[str]:
    return [item.id for item in items]


def mids(rows: list[TrackingRow]) -> list[str]:
    return [r.message_id for r in rows]


def loaded_job(store: Store, job_id: str) -> Job:
    found = store.get_job(job_id)
    assert found is not None
    return found


def loaded_row(store: Store, message_id: str) -> TrackingRow:
    found = store.get_tracking(message_id)
    assert found is not None
    return found


def run_threads(count: int, target: Any) -> list[BaseException]:
    """Run target(n) in `count` threads started together; returns what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(n: int) -> None:
        try:
            barrier.wait()
            target(n)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
