"""The floor for send-many's per-message cost: plain Python doing the least a durable bulk send
must do. Prints figures; asserts nothing.

    python -m benchmarks.floor [--rows 100000]

In a child process (interpreter start included, as for `kmsg send-many`): read the CSV written
by `benchmarks.send_many.write_csv`, check each number (a Korean mobile number, dashes
removed), render the text (`#{name}` replaced), and write one job row and one tracking row per
message into SQLite (kmsg's own tables and indexes, WAL, synchronous=NORMAL) in transactions of
1,000 rows, with `executemany`. No routing, no provider, no exactly-once bookkeeping: what is
left when everything kmsg adds on top is free. The per-message benchmark is read against it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 1000
TEXT = "#{name}님, 점검 안내입니다"
_MOBILE = re.compile(r"01[016789][0-9]{7,8}")

_JOB_SQL = (
    'INSERT INTO "kmsg_jobs" ("id", "type", "data", "status", "priority", "attempts", '
    '"max_attempts", "delay", "created_at", "process_at", "completed_at", "metadata") '
    "VALUES (?, 'send', ?, 'completed', 0, 1, 3, 0, ?, ?, ?, ?)"
)
_TRACKING_SQL = (
    'INSERT INTO "kmsg_delivery_tracking" ("message_id", "provider_id", '
    '"provider_message_id", "type", "to", "status", "sent_at", "requested_at", '
    '"status_updated_at", "attempt_count", "next_check_at", "metadata") '
    "VALUES (?, 'mock', ?, ?, ?, 'SENT', ?, ?, ?, 0, ?, ?)"
)


def run(source: Path, database: Path) -> int:
    """The floor itself; returns how many messages it wrote."""
    from kmsg_cli.store.schema import ddl_statements

    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for statement in ddl_statements("sqlite"):
        conn.execute(statement)
    now = int(time.time() * 1000)
    written = 0
    jobs: list[tuple[object, ...]] = []
    tracking: list[tuple[object, ...]] = []

    def flush() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_JOB_SQL, jobs)
        conn.executemany(_TRACKING_SQL, tracking)
        conn.execute("COMMIT")
        jobs.clear()
        tracking.clear()

    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        to_at, name_at = header.index("to"), header.index("name")
        for number, row in enumerate(reader, start=2):
            to = row[to_at].replace("-", "")
            if not _MOBILE.fullmatch(to):
                continue
            text = TEXT.replace("#{name}", row[name_at])
            kind = "SMS" if len(text.encode("cp949", "replace")) <= 90 else "LMS"
            message_id = f"b:{number}"
            data = json.dumps(
                {"message": {"to": to, "text": text, "type": kind}, "provider": "mock"},
                ensure_ascii=False,
            )
            meta = json.dumps({"batch": "b", "row": number})
            jobs.append((message_id, data, now, now, now, meta))
            tracking.append(
                (message_id, f"mock-{message_id}", kind, to, now, now, now, now, '{"simulated":1}')
            )
            written += 1
            if len(jobs) >= CHUNK:
                flush()
    if jobs:
        flush()
    conn.close()
    return written


def measure(rows: int) -> dict[str, float]:
    """The floor over `rows` rows in a child process: wall and CPU seconds."""
    from benchmarks.send_many import write_csv

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        source = home / "in.csv"
        write_csv(source, rows)
        command = [sys.executable, "-m", "benchmarks.floor", "--child", str(source)]
        command.append(str(home / "floor.sqlite"))
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE)
        out = proc.stdout.read() if proc.stdout else b""
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("the floor benchmark failed")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "written": int(out)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, metavar=("CSV", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(run(Path(args.child[0]), Path(args.child[1])))
        return
    m = measure(args.rows)
    rows = args.rows
    print(f"floor: {rows:,} rows read, checked, rendered, job + tracking row written")
    print(f"wall {m['wall_s']:.2f} s ({m['wall_s'] / rows * 1e6:.1f} µs/msg)")
    print(f"cpu  {m['cpu_s']:.2f} s ({m['cpu_s'] / rows * 1e6:.1f} µs/msg)")
    print(f"written {m['written']:,}")


if __name__ == "__main__":
    main()
