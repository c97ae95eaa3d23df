"""The schema matches the documented DDL (docs/storage.md, "Tables") on every dialect.

The expectations below are copied from the reference text, not generated from schema.py.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kmsg_cli.store.mysql import MysqlDialect
from kmsg_cli.store.postgres import PostgresDialect
from kmsg_cli.store.schema import (
    BATCH_INDEX,
    SCHEMA_VERSION,
    batch_index_statement,
    ddl_statements,
    ddl_text,
    state_statements,
)
from kmsg_cli.store.sqlite import SqliteDialect, SqliteStore

# (name, declared type, notnull, default, pk) as `PRAGMA table_info` reports them.
TRACKING_COLUMNS = [
    ("message_id", "TEXT", 0, None, 1),
    ("provider_id", "TEXT", 1, None, 0),
    ("provider_message_id", "TEXT", 1, None, 0),
    ("type", "TEXT", 1, None, 0),
    ("to", "TEXT", 1, None, 0),
    ("from", "TEXT", 0, None, 0),
    ("status", "TEXT", 1, None, 0),
    ("provider_status_code", "TEXT", 0, None, 0),
    ("provider_status_message", "TEXT", 0, None, 0),
    ("sent_at", "INTEGER", 0, None, 0),
    ("delivered_at", "INTEGER", 0, None, 0),
    ("failed_at", "INTEGER", 0, None, 0),
    ("requested_at", "INTEGER", 1, None, 0),
    ("scheduled_at", "INTEGER", 0, None, 0),
    ("status_updated_at", "INTEGER", 1, None, 0),
    ("attempt_count", "INTEGER", 1, "0", 0),
    ("last_checked_at", "INTEGER", 0, None, 0),
    ("next_check_at", "INTEGER", 1, None, 0),
    ("last_error", "TEXT", 0, None, 0),
    ("metadata", "TEXT", 0, None, 0),
]

JOB_COLUMNS = [
    ("id", "TEXT", 0, None, 1),
    ("type", "TEXT", 1, None, 0),
    ("data", "TEXT", 1, None, 0),
    ("status", "TEXT", 1, "'pending'", 0),
    ("priority", "INTEGER", 1, "0", 0),
    ("attempts", "INTEGER", 1, "0", 0),
    ("max_attempts", "INTEGER", 1, "3", 0),
    ("delay", "INTEGER", 1, "0", 0),
    ("created_at", "BIGINT", 1, None, 0),
    ("process_at", "BIGINT", 1, None, 0),
    ("completed_at", "BIGINT", 0, None, 0),
    ("failed_at", "BIGINT", 0, None, 0),
    ("error", "TEXT", 0, None, 0),
    ("metadata", "TEXT", 0, None, 0),
]

INDEXES = {
    "idx_kmsg_delivery_due": ("kmsg_delivery_tracking", ["status", "next_check_at"]),
    "idx_kmsg_delivery_provider_msg": (
        "kmsg_delivery_tracking",
        ["provider_id", "provider_message_id"],
    ),
    "idx_kmsg_delivery_requested_at": ("kmsg_delivery_tracking", ["requested_at"]),
    "idx_kmsg_jobs_dequeue": ("kmsg_jobs", ["status", "priority", "process_at", "created_at"]),
    "idx_kmsg_jobs_id": ("kmsg_jobs", ["id"]),
}

# The SQLite DDL exactly as the original tool's generator prints it.
REFERENCE_SQLITE_DDL = """\
CREATE TABLE IF NOT EXISTS "kmsg_delivery_tracking" (
  "message_id" TEXT PRIMARY KEY,
  "provider_id" TEXT NOT NULL,
  "provider_message_id" TEXT NOT NULL,
  "type" TEXT NOT NULL,
  "to" TEXT NOT NULL,
  "from" TEXT,
  "status" TEXT NOT NULL,
  "provider_status_code" TEXT,
  "provider_status_message" TEXT,
  "sent_at" INTEGER,
  "delivered_at" INTEGER,
  "failed_at" INTEGER,
  "requested_at" INTEGER NOT NULL,
  "scheduled_at" INTEGER,
  "status_updated_at" INTEGER NOT NULL,
  "attempt_count" INTEGER NOT NULL DEFAULT 0,
  "last_checked_at" INTEGER,
  "next_check_at" INTEGER NOT NULL,
  "last_error" TEXT,
  "metadata" TEXT
);
CREATE TABLE IF NOT EXISTS "kmsg_jobs" (
  "id" TEXT PRIMARY KEY,
  "type" TEXT NOT NULL,
  "data" TEXT NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'pending',
  "priority" INTEGER NOT NULL DEFAULT 0,
  "attempts" INTEGER NOT NULL DEFAULT 0,
  "max_attempts" INTEGER NOT NULL DEFAULT 3,
  "delay" INTEGER NOT NULL DEFAULT 0,
  "created_at" BIGINT NOT NULL,
  "process_at" BIGINT NOT NULL,
  "completed_at" BIGINT,
  "failed_at" BIGINT,
  "error" TEXT,
  "metadata" TEXT
);
CREATE INDEX IF NOT EXISTS "idx_kmsg_delivery_due" ON "kmsg_delivery_tracking" ("status", "next_check_at");
CREATE INDEX IF NOT EXISTS "idx_kmsg_delivery_provider_msg" ON "kmsg_delivery_tracking" ("provider_id", "provider_message_id");
CREATE INDEX IF NOT EXISTS "idx_kmsg_delivery_requested_at" ON "kmsg_delivery_tracking" ("requested_at");
CREATE INDEX IF NOT EXISTS "idx_kmsg_jobs_dequeue" ON "kmsg_jobs" ("status", "priority", "process_at", "created_at");
CREATE INDEX IF NOT EXISTS "idx_kmsg_jobs_id" ON "kmsg_jobs" ("id");
"""  # noqa: E501

DIALECTS = ("sqlite", "postgres", "mysql")
TABLES = ("kmsg_delivery_tracking", "kmsg_jobs")


@pytest.fixture
def initialized_db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = tmp_path / "kmsg.db"
    with SqliteStore(path) as store:
        store.initialize()
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def _table_info(conn: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    rows = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    return [(name, kind, notnull, default, pk) for _cid, name, kind, notnull, default, pk in rows]


def test_sqlite_tracking_columns_match_reference(initialized_db: sqlite3.Connection) -> None:
    assert _table_info(initialized_db, "kmsg_delivery_tracking") == TRACKING_COLUMNS


def test_sqlite_job_columns_match_reference(initialized_db: sqlite3.Connection) -> None:
    assert _table_info(initialized_db, "kmsg_jobs") == JOB_COLUMNS


def test_sqlite_indexes_match_reference(initialized_db: sqlite3.Connection) -> None:
    found: dict[str, tuple[str, list[str]]] = {}
    for table in TABLES:
        for _seq, name, unique, origin, _partial in initialized_db.execute(
            f'PRAGMA index_list("{table}")'
        ):
            if origin != "c" or name == BATCH_INDEX:  # primary key's; kmsg's own (below)
                continue
            assert unique == 0
            info = initialized_db.execute(f'PRAGMA index_info("{name}")').fetchall()
            found[name] = (table, [column for _seqno, _cid, column in sorted(info)])
    assert found == INDEXES


def test_sqlite_batch_index_serves_the_batch_condition(initialized_db: sqlite3.Connection) -> None:
    """kmsg's own index: the expression of the dialect's batch condition, and chosen for it."""
    condition = SqliteDialect().json_equals_text('"metadata"', "batch", "?")
    plan = initialized_db.execute(
        f'EXPLAIN QUERY PLAN SELECT "status", COUNT(*) FROM "kmsg_jobs" WHERE {condition} '
        'GROUP BY "status"',
        ("b1",),
    ).fetchall()
    assert any(f"USING INDEX {BATCH_INDEX}" in str(row[-1]) for row in plan), plan
    # ... but a claim of one batch keeps to the dequeue index: the batch index would read
    # every job of the batch, finished ones too, at each claim (docs/storage.md). With
    # statistics that show many small batches, SQLite would choose it unless told not to.
    initialized_db.executemany(
        'INSERT INTO "kmsg_jobs" ("id", "type", "data", "status", "created_at", "process_at", '
        '"metadata") VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
            (f"j{n}", "send", "{}", "pending", n, n, f'{{"batch": "b{n % 200}"}}')
            for n in range(4000)
        ],
    )
    initialized_db.execute("ANALYZE")
    claim = SqliteDialect().claim_jobs_sql(by_batch=True)
    names = ("pending", "processing", "now", "limit", "lease_until", "owner", "batch")
    plan = initialized_db.execute("EXPLAIN QUERY PLAN " + claim, dict.fromkeys(names, 1)).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "idx_kmsg_jobs_dequeue" in details and BATCH_INDEX not in details, details


def test_sqlite_master_holds_the_reference_statements(
    initialized_db: sqlite3.Connection,
) -> None:
    # SQLite stores each CREATE statement verbatim, minus "IF NOT EXISTS".
    expected = {
        statement.replace(" IF NOT EXISTS", "")
        for statement in REFERENCE_SQLITE_DDL.strip().rstrip(";").split(";\n")
    }
    stored = {
        sql
        for (sql,) in initialized_db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
    }
    # kmsg's own tables (counters, cache, content keys), documented apart
    own_names = ('"kmsg_state"', '"kmsg_cache"', '"kmsg_content_keys"', f'"{BATCH_INDEX}"')
    own = {sql for sql in stored if any(name in sql for name in own_names)}
    assert stored - own == expected
    assert own == {
        'CREATE TABLE "kmsg_state" ("name" TEXT PRIMARY KEY, "value" BIGINT NOT NULL)',
        'CREATE TABLE "kmsg_cache" ("name" TEXT PRIMARY KEY, "value" TEXT NOT NULL, '
        '"expires_at" BIGINT NOT NULL)',
        'CREATE TABLE "kmsg_content_keys" ("content_key" TEXT NOT NULL, "message_id" TEXT '
        'PRIMARY KEY, "created_at" BIGINT NOT NULL, UNIQUE ("content_key", "created_at", '
        '"message_id"))',
        'CREATE INDEX "idx_kmsg_jobs_batch" ON "kmsg_jobs" (CASE WHEN json_valid("metadata") '
        """THEN json_extract("metadata", '$.batch') END)""",
    }


def test_sqlite_ddl_text_equals_the_reference_statements() -> None:
    text = ddl_text("sqlite")
    own = ("kmsg_state", "kmsg_cache", "kmsg_content_keys", BATCH_INDEX)
    statements = [
        s for s in text.split("\n\n") if not s.startswith("--") and not any(o in s for o in own)
    ]
    assert "\n".join(statements).strip() == REFERENCE_SQLITE_DDL.strip()


def test_sqlite_schema_version_is_user_version(initialized_db: sqlite3.Connection) -> None:
    assert initialized_db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_ddl_text_names_every_table_and_index(dialect: str) -> None:
    text = ddl_text(dialect)  # type: ignore[arg-type]
    for name in (*TABLES, *INDEXES):
        assert name in text


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_ddl_statement_ends_with_a_semicolon(dialect: str) -> None:
    text = ddl_text(dialect)  # type: ignore[arg-type]
    assert text.startswith(f"-- kmsg schema version {SCHEMA_VERSION} ({dialect})\n")
    blocks = [b for b in text.strip().split("\n\n") if not b.startswith("--")]
    own = state_statements(dialect)  # type: ignore[arg-type]
    own.append(batch_index_statement(dialect))  # type: ignore[arg-type]
    assert len(blocks) == len(ddl_statements(dialect)) + len(own)  # type: ignore[arg-type]
    assert text.endswith(";")
    for block in blocks:
        assert block.startswith(("CREATE ", "ALTER TABLE `kmsg_jobs` ADD "))
        assert block.endswith(";")
        assert block.count(";") == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tables_come_before_indexes(dialect: str) -> None:
    kinds = [s.split()[1] for s in ddl_statements(dialect)]  # type: ignore[arg-type]
    assert kinds == sorted(kinds, key=lambda kind: kind != "TABLE")
    assert "INDEX" in kinds


def test_mysql_uses_varchar_keys_and_no_text_primary_key() -> None:
    text = ddl_text("mysql")
    assert "TEXT PRIMARY KEY" not in text
    assert '"' not in text.replace("'pending'", "")
    for line in (
        "`message_id` VARCHAR(255) PRIMARY KEY,",
        "`provider_id` VARCHAR(255) NOT NULL,",
        "`provider_message_id` VARCHAR(255) NOT NULL,",
        "`id` VARCHAR(255) PRIMARY KEY,",
        "`type` VARCHAR(128) NOT NULL,",
        "`data` TEXT NOT NULL,",
        "`status` VARCHAR(32) NOT NULL DEFAULT 'pending',",
        "`provider_status_message` TEXT,",
        "`last_error` TEXT,",
        "`metadata` TEXT",
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;",
        "CREATE TABLE IF NOT EXISTS `kmsg_schema_version` (`version` INTEGER NOT NULL)",
    ):
        assert line in text
    assert " JSON" not in "".join(ddl_statements("mysql"))  # TEXT columns (the header says why)
    assert "TEXT holding JSON" in text.split("\n\n")[0]
    assert "IF NOT EXISTS `idx" not in text
    assert "CREATE INDEX `idx_kmsg_jobs_id` ON `kmsg_jobs` (`id`);" in text
    assert "VARCHAR" in text.splitlines()[1] and text.splitlines()[1].startswith("--")


def test_postgres_uses_jsonb_and_keeps_a_version_table() -> None:
    text = ddl_text("postgres")
    assert '"last_error" JSONB,' in text
    assert '"metadata" JSONB\n)' in text
    assert '"data" JSONB NOT NULL,' in text
    assert text.count("JSONB") == 4
    assert '"message_id" TEXT PRIMARY KEY,' in text
    # Deliberate deviation (schema.py, docs/storage.md): the reference's
    # VARCHAR(64) short-text columns are TEXT, the generator's shortText "text" strategy, so a
    # long vendor status message is kept whole; the printed DDL says so in its header.
    assert '"provider_status_message" TEXT,' in text
    assert "VARCHAR(64)" not in "".join(ddl_statements("postgres"))
    assert "VARCHAR(64)" in text.split("\n\n")[0] and "TEXT" in text.split("\n\n")[0]
    assert '"next_check_at" BIGINT NOT NULL,' in text
    assert 'CREATE TABLE IF NOT EXISTS "kmsg_schema_version" ("version" INTEGER NOT NULL)' in text
    tables = [s for s in ddl_statements("postgres") if s.startswith("CREATE TABLE")]
    assert [t.split('"')[1] for t in tables] == [*TABLES, "kmsg_schema_version"]


def test_postgres_jobs_ddl_is_sqlite_jobs_ddl_with_jsonb() -> None:
    sqlite_jobs = ddl_statements("sqlite")[1]
    postgres_jobs = ddl_statements("postgres")[1]
    expected = sqlite_jobs.replace('"data" TEXT', '"data" JSONB').replace(
        '"metadata" TEXT', '"metadata" JSONB'
    )
    assert postgres_jobs == expected


def _client(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"no {' or '.join(names)} command-line client installed")


def test_mysql_ddl_is_accepted_by_mariadb() -> None:
    client = _client("mariadb", "mysql")
    database = f"kmsg_schema_{uuid.uuid4().hex[:12]}"
    base = [client, "-h", "127.0.0.1", "-P", "3306", "-u", "root", "--batch"]

    def run(sql: str, *args: str) -> str:
        result = subprocess.run(
            [*base, *args], input=sql, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run(f"CREATE DATABASE `{database}`")
    try:
        run(ddl_text("mysql"), database)
        columns = run(
            f"SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = '{database}'",
            "--skip-column-names",
        )
        # the documented tables, plus kmsg's state (2 columns), cache (3), content keys (3),
        # version (1) and the jobs' generated batch column (1)
        expected = len(TRACKING_COLUMNS) + len(JOB_COLUMNS) + 2 + 3 + 3 + 1 + 1
        assert columns.strip() == str(expected)
        indexes = run(
            "SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics"
            f" WHERE table_schema = '{database}' AND index_name LIKE 'idx_kmsg%'",
            "--skip-column-names",
        )
        assert indexes.strip() == str(len(INDEXES) + 1)
        # kmsg's own index serves the batch condition as the store writes it (20 batches of 10)
        jobs = ", ".join(
            f"('j{n}', 'send', '{{}}', 'completed', 0, 0, "
            + ("'not json'" if n == 0 else f"""'{{"batch": "b{n % 20}"}}'""")
            + ")"
            for n in range(200)
        )
        columns_list = "id, type, data, status, created_at, process_at, metadata"
        condition = MysqlDialect().in_batch("'b7'").replace('"', "`")
        plan = run(
            f"INSERT INTO kmsg_jobs ({columns_list}) VALUES {jobs}; ANALYZE TABLE kmsg_jobs;"
            f"EXPLAIN SELECT status, COUNT(*) FROM kmsg_jobs WHERE {condition} GROUP BY status;"
            f"SELECT COUNT(*) FROM kmsg_jobs WHERE {condition};",
            database,
        )
        assert BATCH_INDEX in plan, plan
        assert plan.strip().endswith("10"), plan  # and it finds the batch's ten jobs
    finally:
        run(f"DROP DATABASE IF EXISTS `{database}`")


def test_postgres_ddl_is_accepted_by_postgres() -> None:
    client = _client("psql")
    schema = f"kmsg_schema_{uuid.uuid4().hex[:12]}"
    base = [client, "-h", "127.0.0.1", "-U", "postgres", "-d", "test"]
    base += ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]

    def run(sql: str) -> str:
        result = subprocess.run(base, input=sql, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    run(f'CREATE SCHEMA "{schema}";')
    try:
        # Twice: every statement has IF NOT EXISTS, so re-running is harmless.
        prelude = f'SET search_path TO "{schema}";\n'
        run(prelude + ddl_text("postgres") + "\n" + ddl_text("postgres"))
        jsonb = run(
            "SELECT table_name || '.' || column_name FROM information_schema.columns"
            f" WHERE table_schema = '{schema}' AND data_type = 'jsonb' ORDER BY 1;"
        )
        assert jsonb.split() == [
            "kmsg_delivery_tracking.last_error",
            "kmsg_delivery_tracking.metadata",
            "kmsg_jobs.data",
            "kmsg_jobs.metadata",
        ]
        indexes = run(
            f"SELECT indexname FROM pg_indexes WHERE schemaname = '{schema}'"
            " AND indexname LIKE 'idx_kmsg%' ORDER BY 1;"
        )
        assert indexes.split() == sorted([*INDEXES, BATCH_INDEX])
        # kmsg's own index serves the batch condition as the store writes it
        condition = PostgresDialect().json_equals_text('"metadata"', "batch", "'b1'")
        plan = run(
            prelude + "SET enable_seqscan = off;\n"
            f'EXPLAIN SELECT "status", COUNT(*) FROM "kmsg_jobs" WHERE {condition} '
            'GROUP BY "status";'
        )
        assert BATCH_INDEX in plan, plan
    finally:
        run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE;')
