"""The benchmark runner still runs: `python -m benchmarks --quick` prints one full table.

Only the shape is checked (every benchmark has a row with figures); the figures themselves are
for people to read, not for a test on a shared machine to judge.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_prints_one_table_with_every_benchmark() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("kmsg benchmarks (--quick sizes) on ")
    assert "cores" in lines[0] and "Python 3." in lines[0]
    table = [line for line in lines if line.startswith("| ")]
    assert table[0] == "| benchmark | result | reference (same run) | ratio |"
    body = table[1:]
    names = [row.split(" | ")[0].lstrip("| ") for row in body]
    expected = [
        "startup: `kmsg --version`",
        "startup: `kmsg send --dry-run`",
        "startup: `kmsg send (mock provider)`",
        "per-message overhead",
        "send-many re-run of the same 2,000 rows (every row already sent)",
        "per-message SQL alone: send-many's ledger statements replayed on plain sqlite3",
        "send-many 1,000 rows via fake SOLAPI, 5 ms/request, concurrency 1",
        "send-many 1,000 rows via fake SOLAPI, 5 ms/request, concurrency 4",
        "send-many 1,000 rows via fake SOLAPI, 5 ms/request, concurrency 16",
        "send-many vs bare client, 1,000 rows via fake SOLAPI, 5 ms/request, default batch size",
        "send-many vs bare client, 1,000 rows via fake SOLAPI, 20 ms/request, batches of 100",
        "track run-once, 1,000 due rows, 5 ms/lookup of 100 ids, concurrency 4 vs 1",
        "track run-once, 1,000 due rows, 5 ms/lookup of 100 ids, concurrency 4",
        "track run-once vs bare lookups, 1,000 due rows, 5 ms/lookup, 4 at once",
        "queue claim + complete per job, 10,000 vs 100 queued, SQLite",
        "queue claim + complete per job, 10,000 vs 100 queued, PostgreSQL",
        "queue claim + complete per job, 10,000 vs 100 queued, MariaDB",
        "peak RSS of send-many",
        "completion: one `kmsg tr<Tab>`",
        "completion: one `kmsg track show ID<Tab>",
        "kmsg report, 10,000-message batch, SQLite",
        "kmsg report, 10,000-message batch, PostgreSQL",
    ]
    assert len(names) == len(expected)
    for name, prefix in zip(names, expected, strict=True):
        assert name.startswith(prefix), (name, prefix)
    for row in body:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert re.search(r"\d", cells[1]), row  # a measured figure
        ratio = r"\d+\.\d\d×"
        # one ratio, or the per-message row's wall and CPU ratios
        assert cells[3] == "—" or re.fullmatch(rf"{ratio}|{ratio} wall, {ratio} CPU", cells[3]), row
