"""One session of commands on SQLite, PostgreSQL and MySQL/MariaDB prints the same thing.

The store contract tests each method on every engine; this runs what a user types (send-many,
sends with ids, scheduled and queued sends, listings, counts, the queue, a report, a cancel)
on a fresh database of each engine and compares what the three printed, times and generated
ids aside. Differences it found: MySQL reading a JSON null as the text 'null' (the report
merged every refusal without a vendor code into one failure 'null'), PostgreSQL giving counts by
status in its hash order, and the keys of a tracking row's metadata in JSONB's order.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.conftest import mysql_database, postgres_schema

ROWS = [(f"010-5000-{n:04d}", f"고객{n}") for n in range(1, 25)] + [
    ("010-5000-0000", "거절"),  # the mock refuses numbers ending 0000 for good
    ("010-5000-0503", "장애"),  # ... and fails those ending 0503 as an outage
    ("12345", "잘못"),  # invalid
]

SESSION: list[tuple[str, ...]] = [
    ("send-many", "{csv}", "--text", "#{name}님 점검", "--batch-id", "B1"),
    ("send-many", "{csv}", "--text", "#{name}님 점검", "--batch-id", "B1"),
    ("send", "--to", "010-6000-0001,010-6000-0000", "--text", "x", "--id", "d1"),
    ("send", "--to", "010-6000-0002", "--text", "later", "--at", "+2h", "--id", "s1"),
    ("send", "--to", "010-6000-0003", "--text", "q", "--queue", "--id", "q1"),
    ("queue", "list", "--fields", "id,status,type,error"),
    ("queue", "list", "--status", "failed", "--json"),
    ("queue", "stats", "--json"),
    ("queue", "process", "--drain"),
    ("track", "list", "--limit", "100", "--fields", "message_id,status,to,type"),
    ("track", "list", "--batch", "B1", "--status", "SENT", "--limit", "3", "--json"),
    ("track", "list", "--to", "010-6000-0001", "--until", "now"),
    ("track", "show", "d1:01060000001"),
    ("report", "--batch", "B1", "--json"),
    ("report", "--batch", "B1"),
    ("cancel", "--id", "s1", "--dry-run"),
    ("cancel", "--id", "s1", "--yes"),
    ("queue", "retry", "--failed", "--json"),
    ("queue", "list", "--status", "pending", "--fields", "id,attempts"),
    ("queue", "list", "--error", "MOCK_REJECTED", "--json"),
    ("queue", "list", "--type", "SMS", "--provider", "mock", "--limit", "5"),
    ("track", "list", "--status", "CANCELLED", "--since", "1h", "--json"),
    ("track", "list", "--type", "SMS", "--limit", "3", "--format", "csv"),
    ("report", "--since", "1d", "--json"),
    ("report", "--since", "1d", "--provider", "mock", "--type", "SMS"),
    ("cancel", "--batch", "B1", "--dry-run", "--json"),
    ("send-many", "{csv}", "--text", "#{name}님 다시", "--id-column", "name", "--dry-run"),
    ("queue", "purge", "--older-than", "1d", "--dry-run"),
    ("db", "purge", "--older-than", "1d", "--dry-run", "--json"),
]

# What differs by nature between runs and engines: times, durations, generated ids
_NOISE = [
    (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?([+-]\d{2}:\d{2}|Z| UTC)?"),
        "T",
    ),
    (re.compile(r'"(\w+_(ms|s|at)|elapsed\w*|messages_per_s|generated_at|cutoff)": [^,\n]+'), "X"),
    (re.compile(r"\b\d+(\.\d+)? (ms|s)\b"), "D"),
    (re.compile(r"\(\d[\d,]* msg/s\)"), "R"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "U"),
    (re.compile(r"mock-[0-9a-f]{20}"), "M"),
    (re.compile(r"(SQLite|PostgreSQL|MariaDB|MySQL) \S+"), "DB"),
]


def _normal(text: str) -> str:
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return text


@pytest.fixture
def targets(tmp_path: Path) -> Iterator[dict[str, str]]:
    with postgres_schema() as (_pg, pg_url), mysql_database() as (_my, my_url):
        yield {"sqlite": str(tmp_path / "s.sqlite"), "postgres": pg_url, "mysql": my_url}


def _session(db: str, source: Path) -> list[str]:
    from typer.testing import CliRunner

    from kmsg_cli.cli.app import app

    printed = []
    for command in SESSION:
        argv = ["--db", db, *(part.replace("{csv}", str(source)) for part in command)]
        result = CliRunner().invoke(app, argv)
        said = f"$ {' '.join(command)}\nexit {result.exit_code}\n{result.stdout}{result.stderr}"
        printed.append(_normal(said))
    return printed


def test_one_session_prints_the_same_on_every_engine(
    targets: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["to", "name"])
        writer.writerows(ROWS)
    printed = {engine: _session(db, source) for engine, db in targets.items()}
    # the session did what it was written for, on SQLite at least
    first = printed["sqlite"]
    assert not [step for step in first if "USAGE" in step]  # every command as written runs
    assert "exit 5" in first[0] and "24 accepted, 2 failed" in first[0]
    assert "MOCK_UNAVAILABLE" in first[14] and "MOCK_REJECTED" in first[14]
    assert "cancelled 1 of 1" in first[16]
    for engine in ("postgres", "mysql"):
        for step, (expected, got) in enumerate(zip(first, printed[engine], strict=True)):
            assert got == expected, f"{engine} differs from sqlite at step {step}"
