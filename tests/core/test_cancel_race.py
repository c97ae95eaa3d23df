"""`kmsg cancel` while several workers send the same batch (docs/cancel.md), on SQLite,
PostgreSQL and MySQL/MariaDB: every job ends either sent exactly once or cancelled, never both,
and the cancel's report agrees with the ledger.

The workers are `kmsg queue process --drain` processes sending through the fake SOLAPI server,
which records every message it accepts (our id travels in its customFields), so a job sent
twice would show there. The cancel runs in the test process once the workers are under way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from kmsg_cli.cancel import CANCELLED, Selection, cancel
from kmsg_cli.jobs.codec import message_to_data
from kmsg_cli.models import Job, Message, MessageType, Recipient
from kmsg_cli.providers.solapi import SolapiProvider
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi
from tests.store.conftest import Backend, backend

__all__ = ["backend"]  # the fixture (a SQLite file, a PostgreSQL schema, a MySQL database)

JOBS = 400
WORKERS = 3


@pytest.fixture
def fake() -> Iterator[FakeSolapi]:
    with FakeSolapi(latency=0.03) as server:  # every request takes 30 ms
        yield server


def batch_jobs() -> list[Job]:
    jobs = []
    for n in range(JOBS):
        message = Message(f"race-{n:04d}", MessageType.SMS, Recipient(f"01055{n:03d}777"), "x", 1)
        jobs.append(
            Job(
                id=message.message_id,
                type="send",
                data={"message": message_to_data(message), "provider": "solapi"},
                created_at=1,
                process_at=1,
                metadata={"batch": "race", "row": n},
            )
        )
    return jobs


def worker_env(fake: FakeSolapi, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "race.toml"
    config.write_text(
        f"""
default_profile = "race"
[profiles.race.providers.solapi]
type = "solapi"
api_key = "env:SOLAPI_API_KEY"
api_secret = "env:SOLAPI_API_SECRET"
sender = "0212345678"
base_url = "{fake.base_url}"
batch_size = 5
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    return {
        **os.environ,
        "KMSG_CONFIG": str(config),
        "SOLAPI_API_KEY": DEFAULT_API_KEY,
        "SOLAPI_API_SECRET": DEFAULT_API_SECRET,
    }


def test_cancel_during_sending_sends_each_job_once_or_cancels_it(
    backend: Backend, fake: FakeSolapi, tmp_path: Path
) -> None:
    store = backend.open()
    store.initialize()
    store.insert_jobs(batch_jobs())
    command = [sys.executable, "-m", "kmsg_cli", "--db", backend.target, "queue", "process"]
    env = worker_env(fake, tmp_path)
    workers = [
        subprocess.Popen(
            [*command, "--drain", "--concurrency", "2", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(WORKERS)
    ]
    try:
        deadline = time.monotonic() + 60
        while store.job_counts(batch="race").get("completed", 0) < 20:
            assert time.monotonic() < deadline, "the workers sent nothing"
            assert all(w.poll() is None for w in workers), "a worker ended early"
            time.sleep(0.01)
        with httpx.Client(trust_env=False, timeout=5) as http:
            settings = {
                "api_key": DEFAULT_API_KEY,
                "api_secret": DEFAULT_API_SECRET,
                "base_url": fake.base_url,
            }
            provider = SolapiProvider("solapi", settings, http)
            report = cancel(
                Selection(batch="race"),
                store=store,
                providers={"solapi": provider},  # type: ignore[arg-type]
                now=datetime.now(UTC),
            )
        for worker in workers:
            _out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err.decode()
        statuses = {job.id: job.status for job in store.iter_jobs(batch="race")}
        tracked = set(store.find_tracking(list(statuses)))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        store.close()

    sends = Counter(m["customFields"]["kmsgId"] for m in fake.accepted_messages())
    assert [i for i, n in sends.items() if n > 1] == [], "a job was sent twice"
    cancelled = {job_id for job_id, status in statuses.items() if status == "cancelled"}
    completed = {job_id for job_id, status in statuses.items() if status == "completed"}
    assert cancelled.isdisjoint(sends), "a cancelled job was sent"
    assert set(sends) == completed == tracked
    assert cancelled | completed == set(statuses) and len(statuses) == JOBS
    assert 20 <= len(completed) < JOBS and cancelled  # the cancel really raced the workers
    assert report.counts[CANCELLED] == len(cancelled) and report.selected == JOBS
    not_cancelled = {item.message_id: item.reason for item in report.items}
    assert set(not_cancelled) <= completed
    assert set(not_cancelled.values()) <= {"IN_FLIGHT", "ALREADY_SENT"}
