"""The job queue: `send --queue`, `queue process`, list/stats/retry/purge, several workers on one
SQLite file against the fake SOLAPI, a worker killed mid-batch, and scheduling by the clock."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.clients import ProviderClients
from kmsg_cli.config import BUILTIN_SANDBOX
from kmsg_cli.jobs.worker import BatchRunner
from kmsg_cli.models import MessageDraft
from kmsg_cli.normalize import build_message
from kmsg_cli.sending import Planned, enqueue
from kmsg_cli.store.sqlite import SqliteStore
from tests.conftest import Run
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

fake_solapi = fixtures.fake_solapi


def test_send_queue_then_drain_sends_and_tracks(run: Run) -> None:
    code, doc = run.json("send", "--to", "010-1111-2222", "--text", "x", "--queue", "--id", "q1")
    assert code == 0 and doc["data"]["queued"] == 1
    assert run.rows() == []  # nothing sent yet
    (job,) = run.rows("SELECT id, status, priority FROM kmsg_jobs")
    assert (job["id"], job["status"]) == ("q1", "pending")
    code, doc = run.json("queue", "process", "--drain")
    assert code == 0 and doc["data"]["accepted"] == 1
    assert doc["data"]["simulated"] is True  # the sandbox: its mock delivers nothing
    assert [r["message_id"] for r in run.rows()] == ["q1"]
    code, doc = run.json("queue", "stats")
    assert doc["data"]["counts"] == {"completed": 1}
    assert run("send", "--to", "010-1111-2222", "--text", "y", "--queue").exit_code == 0
    drained = run("queue", "process", "--drain")
    assert drained.stdout.splitlines()[-1] == "note: mock provider: no real message was delivered."
    idle = run("queue", "process", "--drain")  # nothing sent: nothing to say about it
    assert "note:" not in idle.stdout


def test_the_queued_summary_counts_its_messages(run: Run) -> None:
    one = run("send", "--to", "010-1111-2222", "--text", "x", "--queue")
    assert "1 queued (profile sandbox); `kmsg queue process --drain` sends it\n" in one.stdout
    two = run("send", "--to", "010-1111-3333,010-1111-4444", "--text", "x", "--queue")
    assert "2 queued (profile sandbox); `kmsg queue process --drain` sends them\n" in two.stdout


def test_queueing_an_id_again_says_the_job_is_left_as_it_stands(run: Run) -> None:
    args = ("send", "--to", "010-1111-2222", "--text", "x", "--queue", "--id", "again")
    run(*args, "--priority", "3")
    # the same id again, with other options: INSERT leaves the job as it was
    second = run(*args)
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines() == [
        "= 010-1111-2222  job again already exists (pending); not queued again",
        "0 queued, 1 already in the ledger (profile sandbox); "
        "`kmsg queue process --drain` sends it",
    ]
    _, doc = run.json(*args)
    assert (doc["data"]["queued"], doc["data"]["already_queued"]) == (0, 1)
    assert doc["data"]["jobs"][0]["already"] == "pending"
    assert doc["data"]["jobs"][0]["priority"] == 3  # the job as it stands, not as asked now
    assert len(run.rows("SELECT id FROM kmsg_jobs")) == 1


def test_queueing_the_id_of_a_failed_job_points_at_queue_retry(run: Run) -> None:
    # the sandbox mock refuses numbers ending in 0000 for good (docs/configuration.md)
    args = ("send", "--to", "010-1111-0000", "--text", "x", "--queue", "--id", "bad")
    run(*args, "--max-attempts", "1")
    run("queue", "process", "--drain")
    again = run(*args)
    assert again.stdout.splitlines() == [
        "= 010-1111-0000  job bad already exists (failed); not queued again "
        "(`kmsg queue retry --id bad` sends it again)",
        "0 queued, 1 already in the ledger (profile sandbox)",
    ]


@pytest.mark.usefixtures("two_profiles")
def test_a_worker_leaves_the_jobs_of_another_profiles_providers_alone(run: Run) -> None:
    run("send", "--to", "010-1111-2222", "--text", "x", "--queue", "--id", "sandbox-job")
    run("-p", "other", "send", "--to", "010-1111-3333", "--text", "y", "--queue", "--id", "own")
    # the other profile's worker sends its own job; the sandbox's is neither sent nor failed
    code, doc = run.json("-p", "other", "queue", "process", "--drain")
    assert code == 0 and doc["data"]["accepted"] == 1 and doc["data"]["failed"] == 0
    assert doc["data"]["other_providers"] == {"mock": 1}
    jobs = {r["id"]: r["status"] for r in run.rows("SELECT id, status FROM kmsg_jobs")}
    assert jobs == {"sandbox-job": "pending", "own": "completed"}
    text = run("-p", "other", "queue", "process", "--drain")
    assert text.stdout.splitlines()[1] == (
        "1 due job of providers that profile 'other' does not have (mock 1) left for their "
        "own profile: kmsg -p sandbox queue process --drain"
    )
    # its own profile's worker sends it
    code, doc = run.json("queue", "process", "--drain")
    assert code == 0 and doc["data"]["accepted"] == 1 and doc["data"]["other_providers"] == {}
    assert [r["message_id"] for r in run.rows()] == ["own", "sandbox-job"]


@pytest.mark.usefixtures("two_profiles")
def test_listings_keep_to_the_profiles_providers_and_say_what_they_left_out(run: Run) -> None:
    run("send", "--to", "010-1111-2222", "--text", "x", "--id", "sandbox-sent")
    run("send", "--to", "010-1111-4444", "--text", "x", "--queue", "--id", "sandbox-queued")
    run("-p", "other", "send", "--to", "010-1111-3333", "--text", "y", "--id", "own")
    # the other profile's listings: its own messages, and a line for what they left out
    _, doc = run.json("-p", "other", "track", "list")
    assert [r["message_id"] for r in doc["data"]["rows"]] == ["own"]
    assert doc["data"]["other_profiles"] == 1 and doc["data"]["providers"] == ["stand-in"]
    listed = run("-p", "other", "track", "list")
    assert listed.stderr.splitlines()[-1] == (
        "1 matching row of providers that profile 'other' does not have is not listed "
        "(--all-profiles lists them)"
    )
    _, doc = run.json("-p", "other", "queue", "list")
    assert [j["id"] for j in doc["data"]["jobs"]] == ["own"] and doc["data"]["other_profiles"] == 2
    _, doc = run.json("-p", "other", "queue", "stats")
    assert doc["data"]["counts"] == {"completed": 1} and doc["data"]["other_profiles"] == 2
    stats = run("-p", "other", "queue", "stats")
    assert "2 jobs of providers that profile 'other' does not have are not counted" in stats.stderr
    # --all-profiles: every row; --provider: that provider, whatever the profile
    _, doc = run.json("-p", "other", "track", "list", "--all-profiles")
    assert {r["message_id"] for r in doc["data"]["rows"]} == {"own", "sandbox-sent"}
    assert doc["data"]["other_profiles"] == 0 and doc["data"]["providers"] is None
    _, doc = run.json("-p", "other", "queue", "list", "--provider", "mock")
    assert {j["id"] for j in doc["data"]["jobs"]} == {"sandbox-sent", "sandbox-queued"}
    _, doc = run.json("-p", "other", "queue", "stats", "--all-profiles")
    assert doc["data"]["counts"] == {"completed": 2, "pending": 1}
    # nothing left out: no line about it
    assert (
        "--all-profiles"
        not in run("track", "list", "--status", "SENT", "--to", "010-1111-2222").stderr
    )


@pytest.mark.usefixtures("two_profiles")
def test_retry_failed_takes_the_profiles_jobs_unless_all_profiles(run: Run) -> None:
    # the mock refuses numbers ending 0000 for good; one failed job under each profile
    run(
        "send",
        "--to",
        "010-1111-0000",
        "--text",
        "x",
        "--queue",
        "--id",
        "s",
        "--max-attempts",
        "1",
    )
    run("queue", "process", "--drain")
    other = ("-p", "other")
    run(*other, "send", "--to", "010-2222-0000", "--text", "x", "--queue", "--id", "o")
    run(*other, "queue", "process", "--drain")
    retried = run(*other, "queue", "retry", "--failed")
    assert retried.stderr.splitlines() == [
        "1 job of providers that profile 'other' does not have is not retried "
        "(--all-profiles retries them)"
    ]
    jobs = {r["id"]: r["status"] for r in run.rows("SELECT id, status FROM kmsg_jobs")}
    assert jobs == {"s": "failed", "o": "pending"}
    _, doc = run.json(*other, "queue", "retry", "--failed", "--all-profiles")
    assert doc["data"]["retried"] == 1 and doc["data"]["other_profiles"] == 0
    assert {r["status"] for r in run.rows("SELECT status FROM kmsg_jobs")} == {"pending"}


@pytest.mark.usefixtures("two_profiles")
def test_retry_by_id_of_another_profiles_job_names_the_profile_that_sends_it(run: Run) -> None:
    run("send", "--to", "010-1111-0000", "--text", "x", "--queue", "--id", "s")
    run("queue", "process", "--drain")  # the mock refuses it for good
    other = ("-p", "other")
    retried = run(*other, "queue", "retry", "--id", "s")
    assert retried.exit_code == 0
    # not "run `kmsg -p other queue process --drain`": that worker leaves the mock's jobs alone
    assert retried.stdout.splitlines() == [
        "1 job due again",
        "1 job of providers that profile 'other' does not have (mock 1) left for their own "
        "profile: kmsg -p sandbox queue process --drain",
    ]
    _, doc = run.json(*other, "queue", "retry", "--id", "s")
    assert doc["data"]["retried"] == 1 and doc["data"]["sent_by_other_profiles"] == {"mock": 1}
    # its own profile: the usual line, nothing sent elsewhere
    _, doc = run.json("queue", "retry", "--id", "s")
    assert doc["data"]["sent_by_other_profiles"] == {}
    assert run("queue", "retry", "--id", "s").stdout.splitlines() == [
        "1 job due again; run `kmsg queue process --drain`"
    ]


def test_priority_orders_the_queue(run: Run) -> None:
    run("send", "--to", "010-1111-2222", "--text", "x", "--queue", "--id", "low")
    run(
        "send", "--to", "010-1111-3333", "--text", "x", "--queue", "--id", "high", "--priority", "9"
    )
    _, doc = run.json("queue", "process", "--drain", "--max-jobs", "1")
    assert doc["data"]["accepted"] == 1
    assert [r["message_id"] for r in run.rows()] == ["high"]


def test_failures_exit_5_and_retry_brings_them_back(run: Run) -> None:
    run("send", "--to", "010-1111-2222,010-1111-0000", "--text", "x", "--queue", "--id", "r")
    code, doc = run.json("queue", "process", "--drain")
    assert code == 5 and doc["data"]["failed"] == 1
    code, doc = run.json("queue", "list", "--status", "failed")
    (failed,) = doc["data"]["jobs"]
    assert failed["id"] == "r:01011110000" and failed["error"]["code"] == "MOCK_REJECTED"
    code, doc = run.json("queue", "stats")
    assert doc["data"]["failures_by_code"] == {"MOCK_REJECTED": 1}
    code, doc = run.json("queue", "retry", "--failed")
    assert doc["data"]["retried"] == 1
    (job,) = run.rows("SELECT status, attempts FROM kmsg_jobs WHERE id = 'r:01011110000'")
    assert job == {"status": "pending", "attempts": 0}
    # an accepted job is never retried
    code, doc = run.json("queue", "retry", "--id", "r:01011112222")
    assert doc["data"] == {
        "retried": 0,
        "refused": ["r:01011112222"],
        "other_profiles": 0,
        "sent_by_other_profiles": {},
    }
    assert any(w["code"] == "NOT_RETRIED" for w in doc["warnings"])


def test_retry_needs_a_selection_and_unknown_is_separate(run: Run) -> None:
    assert run("queue", "retry").exit_code == 2
    with SqliteStore(run.db) as store:
        store.initialize()
    with sqlite3.connect(run.db) as conn:
        conn.execute(
            "INSERT INTO kmsg_jobs (id, type, data, status, created_at, process_at, failed_at, "
            "error) VALUES ('u', 'send', '{\"provider\": \"mock\"}', 'failed', 1, 1, 1, ?)",
            (json.dumps({"code": "UNKNOWN_OUTCOME", "message": "lost"}),),
        )
    assert run.json("queue", "retry", "--failed")[1]["data"]["retried"] == 0
    assert run.json("queue", "retry", "--unknown")[1]["data"]["retried"] == 1


def test_queue_purge_deletes_old_finished_jobs(run: Run) -> None:
    run("send", "--to", "010-1111-2222", "--text", "x", "--queue", "--id", "old")
    run("queue", "process", "--drain")
    run("send", "--to", "010-1111-3333", "--text", "x", "--queue", "--id", "waiting")
    with sqlite3.connect(run.db) as conn:
        conn.execute("UPDATE kmsg_jobs SET completed_at = 1, created_at = 1")
    _, doc = run.json("queue", "purge", "--older-than", "1d", "--yes")
    assert doc["data"]["deleted"] == {"kmsg_jobs": 1}
    assert [r["id"] for r in run.rows("SELECT id FROM kmsg_jobs")] == ["waiting"]


def test_send_many_queue_only_enqueues(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("to,text\n010-1111-2222,a\n010-1111-3333,b\n", encoding="utf-8")
    code, doc = run.json("send-many", str(source), "--queue")
    assert code == 0 and doc["data"]["queued"] is True and doc["data"]["new_jobs"] == 2
    assert run.rows() == []
    assert run.json("queue", "process", "--drain")[1]["data"]["accepted"] == 2


def test_send_many_queue_again_after_the_batch_went_out_queues_nothing_and_says_so(
    run: Run, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("to,text\n010-1111-2222,a\n010-1111-3333,b\n", encoding="utf-8")
    first = run("send-many", str(source), "--queue")
    assert "2 valid rows (2 newly queued), 0 invalid; 2 waiting in the queue: " in first.stdout
    assert "`kmsg queue process --drain` sends them" in first.stdout
    run("queue", "process", "--drain")
    again = run("send-many", str(source), "--queue")
    assert again.exit_code == 0, again.output
    # nothing was queued, so nothing is left for `kmsg queue process` to send
    assert "2 valid rows (0 newly queued), 0 invalid; nothing waits in the queue " in again.stdout
    assert "(the batch: 2 completed)" in again.stdout and "queue process" not in again.stdout
    _, doc = run.json("send-many", str(source), "--queue")
    assert doc["data"]["new_jobs"] == 0 and doc["data"]["batch_jobs"] == {"completed": 2}


def test_bad_process_options_are_usage_errors(run: Run) -> None:
    assert "INVALID_CONCURRENCY" in run("queue", "process", "--concurrency", "0").stderr
    assert run("queue", "process", "--lease", "soon").exit_code == 2
    assert run("queue", "list", "--status", "gone").exit_code == 2


# -- scheduling by the clock -----------------------------------------------------------------------
def test_a_job_for_later_is_not_processed_before_its_time(tmp_path: Path) -> None:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    message = build_message(
        MessageDraft(to="010-1111-2222", text="x", at="+10m"), default_id="later", now=now
    )
    clock = {"now": now}
    with SqliteStore(tmp_path / "k.sqlite") as store:
        store.initialize()
        enqueue([Planned(message, ("mock",), deferred=True)], store=store, now=now)
        (job,) = store.list_jobs()
        assert job.process_at == int((now + timedelta(minutes=10)).timestamp() * 1000)
        assert "at" not in job.data["message"]  # sent at once when its time comes
        pool = ProviderClients(BUILTIN_SANDBOX, {})

        def runner() -> BatchRunner:
            return BatchRunner(
                store=store, clients=pool, batch_id=None, until="drain", clock=lambda: clock["now"]
            )

        clock["now"] = now + timedelta(minutes=9, seconds=59)
        assert runner().run().accepted == 0
        assert store.job_counts() == {"pending": 1}
        clock["now"] = now + timedelta(minutes=10)
        assert runner().run().accepted == 1
        assert store.get_tracking("later") is not None


# -- several workers, and a kill -9 ----------------------------------------------------------------
@pytest.fixture
def queue_env(fake_solapi: FakeSolapi, tmp_path: Path) -> Iterator[dict[str, str]]:
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
default_profile = "live"
[profiles.live.providers.solapi]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "{DEFAULT_API_SECRET}"
sender = "0212345678"
base_url = "{fake_solapi.base_url}"
batch_size = 50
read_timeout = 30
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    env = dict(os.environ, KMSG_CONFIG=str(config), KMSG_DB=str(tmp_path / "k.sqlite"))
    env["HOME"] = str(tmp_path)
    source = tmp_path / "jobs.csv"
    source.write_text(
        "to,text\n"
        + "".join(f"010-7{n // 10000:03d}-{n % 10000:04d},hello\n" for n in range(2000)),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", "send-many", str(source), "--queue", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    yield env


def _worker(env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kmsg_cli",
            "queue",
            "process",
            "--drain",
            "--json",
            "--concurrency",
            "2",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _submitted(fake: FakeSolapi) -> Counter[str]:
    return Counter(m["customFields"]["kmsgId"] for m in fake.accepted_messages())


def test_four_workers_on_one_sqlite_file_send_each_job_once(
    fake_solapi: FakeSolapi, queue_env: dict[str, str]
) -> None:
    fake_solapi.latency = 0.01
    workers = [_worker(queue_env) for _ in range(4)]
    results: list[dict[str, Any]] = []
    for proc in workers:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert "database is locked" not in err.lower()
        results.append(json.loads(out)["data"])
    counts = _submitted(fake_solapi)
    assert len(counts) == 2000 and set(counts.values()) == {1}
    assert sum(r["accepted"] for r in results) == 2000
    assert sum(1 for r in results if r["accepted"]) >= 2  # the work was really shared
    with sqlite3.connect(queue_env["KMSG_DB"]) as conn:
        assert conn.execute("SELECT status, count(*) FROM kmsg_jobs GROUP BY 1").fetchall() == [
            ("completed", 2000)
        ]


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    fake_solapi: FakeSolapi, queue_env: dict[str, str]
) -> None:
    fake_solapi.latency = 0.02
    fake_solapi.hang_seconds = 10
    fake_solapi.script = ["ok", "ok", "ok", "hang_after_accept"]
    victim = _worker(queue_env, "--lease", "3s")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(r.get("fault") for r in fake_solapi.requests):
        time.sleep(0.01)
    time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    with sqlite3.connect(queue_env["KMSG_DB"]) as conn:
        in_flight = conn.execute(
            "SELECT count(*) FROM kmsg_jobs WHERE status = 'processing' "
            "AND json_extract(metadata, '$.in_flight') IS NOT NULL"
        ).fetchone()[0]
    assert in_flight >= 50  # at least the hanging request's batch is in flight
    # a re-run on the same host takes over from the dead worker at once (no lease wait)
    rerun = _worker(queue_env, "--lease", "3s")
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    data = json.loads(out)["data"]
    assert data["reconciled"] >= 50
    counts = _submitted(fake_solapi)
    assert len(counts) == 2000 and set(counts.values()) == {1}
    with sqlite3.connect(queue_env["KMSG_DB"]) as conn:
        assert conn.execute("SELECT count(*) FROM kmsg_delivery_tracking").fetchone()[0] == 2000


def test_two_runs_of_one_batch_at_once_send_each_row_once_and_both_add_up(
    fake_solapi: FakeSolapi, queue_env: dict[str, str], tmp_path: Path
) -> None:
    """A second terminal (or an overlapping cron line) runs the same send-many: each row goes
    out once, and each run's summary accounts for every row, whoever sent it."""
    fake_solapi.latency = 0.01
    source = tmp_path / "again.csv"
    source.write_text(
        "to,text\n" + "".join(f"010-6000-{n:04d},안내\n" for n in range(1, 601)), encoding="utf-8"
    )
    command = [sys.executable, "-m", "kmsg_cli", "send-many", str(source), "--json"]
    runs = [
        subprocess.Popen(
            command, env=queue_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = []
    for proc in runs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out)["data"])
    for data in results:
        shares = data["accepted"] + data["already_sent"] + data["accepted_by_others"]
        assert shares == 600, data
    assert sum(data["accepted"] for data in results) == 600
    counts = Counter(
        m["customFields"]["kmsgId"]
        for m in fake_solapi.accepted_messages()
        if m["customFields"]["kmsgId"].startswith(results[0]["batch_id"])
    )
    assert len(counts) == 600 and set(counts.values()) == {1}
