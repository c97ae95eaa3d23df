"""`kmsg db check` (kmsg_cli/dbcheck.py): a clean database passes on SQLite, PostgreSQL and
MySQL/MariaDB, and each invariant is caught when one row is corrupted with raw SQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.config import TrackingSettings
from kmsg_cli.dbcheck import JOB_CHECKS, TRACKING_CHECKS, Finding, check_store
from kmsg_cli.models import Job
from kmsg_cli.providers.mock import MockProvider
from kmsg_cli.store import open_store
from kmsg_cli.store.contract import Store
from kmsg_cli.store.inspect import inspector
from kmsg_cli.tracking import Tracker
from tests.conftest import Run
from tests.store.conftest import mysql_admin, mysql_database, postgres_schema

OWNER = {"host": "host-a", "pid": 4242, "started": 1, "run": "r"}


@dataclass
class Db:
    """A populated database: its --db target and the ids of its interesting rows."""

    target: str
    postgres: bool
    mysql: bool = False
    completed: str = "clean:1"  # a completed send job, its tracking row DELIVERED
    failed_job: str = "clean:3"  # refused by the mock (ends in 0000): failed job, no row
    handset_off: str = "clean:4"  # completed; tracking row FAILED (ends in 3043)
    pending: str = "queued-1"
    processing: str = "claimed-1"
    direct: str = "direct-1"  # `kmsg send --id`: a tracking row without a job

    def run(self, *args: str) -> Any:
        return Run(Path("unused"))("--db", self.target, *args, db=False)

    def open(self) -> Store:
        return open_store(self.target)

    @property
    def server(self) -> bool:
        return self.postgres or self.mysql

    def sql(self, *statements: str) -> None:
        if self.mysql:
            database = self.target.rsplit("/", 1)[1]
            for statement in statements:
                mysql_admin(statement, database)
        elif self.postgres:
            import psycopg

            with psycopg.connect(self.target, autocommit=True) as conn:
                for statement in statements:
                    conn.execute(statement)  # type: ignore[arg-type]
        else:
            with closing(sqlite3.connect(self.target)) as conn:
                for statement in statements:
                    conn.execute(statement)
                conn.commit()


class _Mock:
    def __init__(self) -> None:
        self.client = MockProvider("mock", {})

    def get(self, provider_id: str) -> MockProvider:
        return self.client


def _populate(db: Db, tmp_path: Path) -> None:
    """Rows as kmsg writes them: send-many (accepted, refused), a queued job, a direct send,
    a claimed job, and one tracking pass an hour later (DELIVERED, and FAILED for 3043)."""
    rows = tmp_path / "rows.csv"
    numbers = ["0001", "0002", "0000", "3043", "0005", "0006", "0007"]
    rows.write_text(
        "to,text\n" + "".join(f"010-2000-{n},안녕 {n}\n" for n in numbers), encoding="utf-8"
    )
    assert db.run("send-many", str(rows), "--batch-id", "clean").exit_code == 5
    queued = db.run("send", "--to", "010-3000-0001", "--text", "q", "--queue", "--id", db.pending)
    assert queued.exit_code == 0
    assert db.run("send", "--to", "010-4000-0001", "--text", "d", "--id", db.direct).exit_code == 0
    later = datetime.now(UTC) + timedelta(hours=1)
    with db.open() as store:
        # due long ago, so the claim takes it and not the queued job (due now)
        job = Job(id=db.processing, type="send", data={"message": {}}, created_at=1, process_at=1)
        store.insert_jobs([job])
        (claimed,) = store.claim_jobs(now_ms=2, lease_ms=10**12, owner=OWNER, limit=1)
        assert claimed.id == db.processing
        tracker = Tracker(
            store=store,
            clients=_Mock(),
            provider_types={"mock": "mock"},
            settings=TrackingSettings(),
            route_fallback=lambda message: "mock",
            clock=lambda: later,
        )
        report = tracker.run_once()
        assert report.by_status == {"DELIVERED": 6, "FAILED": 1}, report


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        found = Db(str(tmp_path / "check.sqlite"), postgres=False)
        _populate(found, tmp_path)
        yield found
    elif request.param == "postgres":
        with postgres_schema() as (_name, url):
            found = Db(url, postgres=True)
            _populate(found, tmp_path)
            yield found
    else:
        with mysql_database() as (_name, url):
            found = Db(url, postgres=False, mysql=True)
            _populate(found, tmp_path)
            yield found


def findings(db: Db) -> dict[str, Finding]:
    with db.open() as store:
        return {finding.name: finding for finding in check_store(store)}


def failing(db: Db) -> dict[str, Finding]:
    return {name: f for name, f in findings(db).items() if not f.ok}


# -- a clean database ------------------------------------------------------------------------


def test_a_database_written_by_kmsg_passes_every_check(db: Db) -> None:
    found = findings(db)
    assert list(found) == [
        "schema",
        "schema version",
        "claims",
        "integrity_check",
        "foreign_key_check",
        *JOB_CHECKS,
        *TRACKING_CHECKS,
        "provider message ids unique",
        "completed jobs have a tracking row",
    ]
    assert all(f.ok for f in found.values()), [f for f in found.values() if not f.ok]
    engine = {found["integrity_check"].result, found["foreign_key_check"].result}
    assert engine == ({"SKIP"} if db.server else {"PASS"})
    skipped = {name for name, f in found.items() if f.result == "SKIP"}
    assert skipped == ({"integrity_check", "foreign_key_check"} if db.server else set())

    result = db.run("db", "check")  # not a terminal: TSV rows, the database line on stderr
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stderr.startswith("database: ") and result.stderr.count("\n") == 1
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["result", "check"]
    assert len(lines) == 1 + len(found)
    assert all(line.split("\t")[0] in ("PASS", "SKIP") for line in lines[1:]), lines


def test_json_envelope_of_a_clean_database(db: Db) -> None:
    result = db.run("db", "check", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["error"] is None
    assert doc["data"]["ok"] is True
    assert {check["result"] for check in doc["data"]["checks"]} <= {"PASS", "SKIP"}


# -- each invariant, broken on purpose ---------------------------------------------------------

# (id, SQL for SQLite, SQL for PostgreSQL (None: the same), the checks that must fail, an id
# the failing check must name among its examples or None)
J = "kmsg_jobs"
T = "kmsg_delivery_tracking"
CORRUPTIONS: list[tuple[str, str, str | None, set[str], str | None]] = [
    ("missing index", "DROP INDEX idx_kmsg_jobs_id", None, {"schema"}, None),
    ("missing state table", "DROP TABLE kmsg_state", None, {"schema"}, None),
    (
        "newer schema version",
        "PRAGMA user_version = 7",
        "UPDATE kmsg_schema_version SET version = 7",
        {"schema version"},
        None,
    ),
    (
        "no schema version",
        "PRAGMA user_version = 0",
        "DELETE FROM kmsg_schema_version",
        {"schema version"},
        None,
    ),
    (
        "unknown job status",
        f"UPDATE {J} SET status = 'done' WHERE id = 'clean:1'",
        None,
        {"job statuses"},
        "clean:1",
    ),
    (
        "processing without owner",
        f"UPDATE {J} SET metadata = NULL WHERE id = 'claimed-1'",
        None,
        {"processing jobs have an owner"},
        "claimed-1",
    ),
    (
        "processing with an empty owner",
        f"""UPDATE {J} SET metadata = '{{"owner": {{}}}}' WHERE id = 'claimed-1'""",
        None,
        {"processing jobs have an owner"},
        "claimed-1",
    ),
    (
        "completed without completed_at",
        f"UPDATE {J} SET completed_at = NULL WHERE id = 'clean:1'",
        None,
        {"finished jobs have their time"},
        "clean:1",
    ),
    (
        "failed without failed_at",
        f"UPDATE {J} SET failed_at = NULL WHERE id = 'clean:3'",
        None,
        {"finished jobs have their time"},
        "clean:3",
    ),
    (
        "failed without error",
        f"UPDATE {J} SET error = NULL WHERE id = 'clean:3'",
        None,
        {"failed jobs have an error"},
        "clean:3",
    ),
    (
        "blank error",
        f"UPDATE {J} SET error = '  ' WHERE id = 'clean:3'",
        None,
        {"failed jobs have an error"},
        "clean:3",
    ),
    (
        "attempts over max_attempts",
        f"UPDATE {J} SET attempts = max_attempts + 1 WHERE id = 'clean:1'",
        None,
        {"job attempts within max_attempts"},
        "clean:1",
    ),
    (
        "negative attempts",
        f"UPDATE {J} SET attempts = -1 WHERE id = 'clean:2'",
        None,
        {"job attempts within max_attempts"},
        "clean:2",
    ),
    (
        "pending without an attempt left",
        f"UPDATE {J} SET attempts = max_attempts WHERE id = 'queued-1'",
        None,
        {"job attempts within max_attempts"},
        "queued-1",
    ),
    (
        "job metadata not JSON",
        f"UPDATE {J} SET metadata = '{{broken' WHERE id = 'clean:2'",
        f"UPDATE {J} SET metadata = '[1, 2]'::jsonb WHERE id = 'clean:2'",
        {"job JSON columns"},
        "clean:2",
    ),
    (
        "job data not an object",
        f"UPDATE {J} SET data = '[]' WHERE id = 'clean:2'",
        f"""UPDATE {J} SET data = '"text"'::jsonb WHERE id = 'clean:2'""",
        {"job JSON columns"},
        "clean:2",
    ),
    (
        "job data NaN",
        f"""UPDATE {J} SET data = '{{"a": NaN}}' WHERE id = 'clean:2'""",
        f"UPDATE {J} SET data = 'null'::jsonb WHERE id = 'clean:2'",
        {"job JSON columns"},
        "clean:2",
    ),
    (
        "completed job without its tracking row",
        f"DELETE FROM {T} WHERE message_id = 'clean:2'",
        None,
        {"completed jobs have a tracking row"},
        "clean:2",
    ),
    (
        "unknown tracking status",
        f"UPDATE {T} SET status = 'LOST' WHERE message_id = 'direct-1'",
        None,
        {"tracking statuses"},
        "direct-1",
    ),
    (
        "lower-case tracking status",
        f"UPDATE {T} SET status = 'sent' WHERE message_id = 'direct-1'",
        None,
        {"tracking statuses"},
        "direct-1",
    ),
    (
        "delivered without delivered_at",
        f"UPDATE {T} SET delivered_at = NULL WHERE message_id = 'clean:1'",
        None,
        {"terminal rows have their time"},
        "clean:1",
    ),
    (
        "failed without failed_at (tracking)",
        f"UPDATE {T} SET failed_at = NULL WHERE message_id = 'clean:4'",
        None,
        {"terminal rows have their time"},
        "clean:4",
    ),
    (
        "tracking metadata not JSON",
        f"UPDATE {T} SET metadata = 'nope' WHERE message_id = 'direct-1'",
        f"UPDATE {T} SET metadata = '5'::jsonb WHERE message_id = 'direct-1'",
        {"tracking JSON columns"},
        "direct-1",
    ),
    (
        "last_error not an object",
        f"UPDATE {T} SET last_error = '\"x\"' WHERE message_id = 'clean:1'",
        f"UPDATE {T} SET last_error = '\"x\"'::jsonb WHERE message_id = 'clean:1'",
        {"tracking JSON columns"},
        "clean:1",
    ),
    (
        "duplicate provider message id",
        f"UPDATE {T} SET provider_message_id = 'same' WHERE message_id IN ('clean:1', 'direct-1')",
        None,
        {"provider message ids unique"},
        "clean:1",
    ),
]


# MySQL spells these differently from SQLite (the JSON columns are TEXT there, as on SQLite).
MYSQL_SQL = {
    "missing index": f"DROP INDEX idx_kmsg_jobs_id ON {J}",
    "newer schema version": "UPDATE kmsg_schema_version SET version = 7",
    "no schema version": "DELETE FROM kmsg_schema_version",
}


@pytest.mark.parametrize(
    ("name", "sqlite_sql", "postgres_sql", "expected", "example"),
    CORRUPTIONS,
    ids=[case[0] for case in CORRUPTIONS],
)
def test_each_invariant_is_caught(
    db: Db,
    name: str,
    sqlite_sql: str,
    postgres_sql: str | None,
    expected: set[str],
    example: str | None,
) -> None:
    if db.mysql:
        db.sql(MYSQL_SQL.get(name, sqlite_sql))
    else:
        db.sql(postgres_sql if db.postgres and postgres_sql else sqlite_sql)
    broken = failing(db)
    assert set(broken) == expected, broken
    for finding in broken.values():
        assert finding.result == "FAIL" and finding.detail
        assert len(finding.examples) <= 5
        if example is not None:
            assert finding.count >= 1
            assert example in finding.examples, finding


def test_the_command_fails_with_one_error_line_and_names_the_rows(db: Db) -> None:
    db.sql(f"UPDATE {J} SET status = 'done' WHERE id IN ('clean:1', 'clean:2')")
    result = db.run("db", "check")
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: DB_INCONSISTENT: 1 of 16 checks failed: job statuses"
    ]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("FAIL\t")]
    assert "2 rows" in line and "'done' (2)" in line and line.endswith("\tclean:1 clean:2")

    result = db.run("db", "check", "--json")
    assert result.exit_code == 2 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == "DB_INCONSISTENT"
    (failed,) = [c for c in doc["data"]["checks"] if not c["ok"]]
    assert failed["check"] == "job statuses" and failed["count"] == 2
    assert failed["examples"] == ["clean:1", "clean:2"]


def test_broken_json_in_a_waiting_job_points_to_db_check(db: Db) -> None:
    """A hand-edited job whose data is not JSON stops a SQLite worker (its claim reads
    data.provider) and is left by a MariaDB one (which reads NULL there); PostgreSQL's JSONB
    cannot hold such text. Either way the output says where to look, and `db check` names the
    row."""
    if db.postgres:
        with pytest.raises(Exception, match="invalid input syntax for type json"):
            db.sql(f"UPDATE {J} SET data = '{{broken' WHERE id = '{db.pending}'")
        return
    db.sql(f"UPDATE {J} SET data = '{{broken' WHERE id = '{db.pending}'")
    worker = db.run("queue", "process", "--drain")
    if db.mysql:
        # MariaDB reads no provider from it (NULL, not an error): the job is left, and said so
        assert worker.exit_code == 0, worker.stderr
        assert worker.stdout.splitlines()[1] == (
            "1 due job that names no provider (data edited by hand?) left as it is: "
            "kmsg db check names it"
        )
    else:
        assert worker.exit_code == 2
        assert worker.stderr.splitlines()[-1] == (
            "hint: a row holds JSON that does not parse (edited by hand?): kmsg db check names "
            "it; repair or delete that row"
        )
    check = db.run("db", "check")
    (line,) = [line for line in check.stdout.splitlines() if line.startswith("FAIL\t")]
    assert line.startswith("FAIL\tjob JSON columns") and line.endswith(f"\t{db.pending}")


def test_examples_are_bounded_to_five(db: Db) -> None:
    db.sql(f"UPDATE {T} SET status = 'LOST'")
    (finding,) = failing(db).values()
    assert finding.count == 7 and len(finding.examples) == 5


def test_a_missing_jobs_table_skips_the_job_checks(db: Db) -> None:
    db.sql(f"DROP TABLE {J}")
    found = findings(db)
    assert found["schema"].result == "FAIL" and "kmsg_jobs" in found["schema"].detail
    for name in (*JOB_CHECKS, "completed jobs have a tracking row"):
        assert found[name].result == "SKIP", found[name]
    assert all(found[name].result == "PASS" for name in TRACKING_CHECKS)


# -- SQLite: the engine's own checks, files ----------------------------------------------------


@pytest.fixture
def lite(tmp_path: Path) -> Db:
    found = Db(str(tmp_path / "check.sqlite"), postgres=False)
    _populate(found, tmp_path)
    return found


def test_sqlite_integrity_check_finds_a_damaged_index(lite: Db) -> None:
    # The index keeps its entries for "id" while the schema now says it indexes "type".
    lite.sql(
        "PRAGMA writable_schema = ON",
        'UPDATE sqlite_master SET sql = \'CREATE INDEX "idx_kmsg_jobs_id" ON "kmsg_jobs" '
        "(\"type\")' WHERE name = 'idx_kmsg_jobs_id'",
    )
    broken = failing(lite)
    assert set(broken) == {"integrity_check"}
    assert "idx_kmsg_jobs_id" in broken["integrity_check"].detail


def test_sqlite_foreign_key_check_is_reported(lite: Db) -> None:
    lite.sql(
        'CREATE TABLE extra ("job" TEXT REFERENCES kmsg_jobs("id"))',
        "INSERT INTO extra VALUES ('no-such-job')",
    )
    broken = failing(lite)
    assert set(broken) == {"foreign_key_check"}
    assert "extra" in broken["foreign_key_check"].detail


def test_an_empty_sqlite_file_has_no_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE other (x)")
    run = Run(path)
    result = run("db", "check")
    assert result.exit_code == 2
    assert "schema" in result.stderr and "schema version" in result.stderr
    assert "run kmsg db init" in result.stdout
    with closing(sqlite3.connect(path)) as conn:  # read-only: nothing was created
        names = [name for (name,) in conn.execute("SELECT name FROM sqlite_master")]
    assert names == ["other"]


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.sqlite"
    result = Run(path)("db", "check")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith("error: DB_NOT_FOUND: no database at ")
    assert not path.exists()


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "text.sqlite"
    path.write_text("hello, I am not a database\n" * 100, encoding="utf-8")
    result = Run(path)("db", "check")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: DB_NOT_SQLITE: ")
    assert "Traceback" not in result.stdout + result.stderr


def test_help_has_examples() -> None:
    result = Run(Path("unused"))("db", "check", "--help", db=False)
    assert result.exit_code == 0 and "Examples" in result.stdout


# -- the Store methods behind the checks --------------------------------------------------------


def test_iter_raw_pages_in_key_order_with_json_as_text(db: Db) -> None:
    with db.open() as opened:
        store = inspector(opened)
        jobs = list(store.iter_raw(J, chunk=2))
        rows = list(store.iter_raw(T, chunk=3))
        assert [job["id"] for job in jobs] == sorted(job.id for job in opened.iter_jobs())
        assert len(rows) == opened.count_tracking() == 7
        assert all(isinstance(job["data"], str) and json.loads(job["data"]) for job in jobs)
        assert all(row["metadata"] is None or isinstance(row["metadata"], str) for row in rows)
        with pytest.raises(ValueError):
            list(store.iter_raw("kmsg_state"))
        with pytest.raises(ValueError):
            list(store.iter_raw(J, chunk=0))


def test_schema_info_and_cross_row_queries(db: Db) -> None:
    with db.open() as opened:
        store = inspector(opened)
        info = store.schema_info()
        assert set(info.tables) == {T, J, "kmsg_state", "kmsg_content_keys"} and info.version == 1
        assert len(info.indexes) == 5
        assert store.duplicate_provider_message_ids() == (0, [])
        assert store.completed_jobs_without_tracking() == (0, [])
    db.sql(f"DELETE FROM {T} WHERE message_id IN ('clean:1', 'clean:2', 'clean:5')")
    with db.open() as opened:
        assert inspector(opened).completed_jobs_without_tracking(limit=2) == (
            3,
            ["clean:1", "clean:2"],
        )
