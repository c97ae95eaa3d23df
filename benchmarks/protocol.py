"""The SQL of send-many's exactly-once ledger, alone. Prints figures; asserts nothing.

    python -m benchmarks.protocol [--rows 100000]

A `kmsg send-many` of `rows` rows to the mock provider runs in a child process with every
statement it gives SQLite recorded, parameters and transaction bounds included (the job and
content-key inserts, the claims, the in-flight marks, the completions with their tracking
rows, the look-ups). A second child replays them, in the same order, on a fresh database with
the same schema and settings through plain `sqlite3`: its CPU time is what those statements
cost with none of kmsg's Python around them. Read beside the per-message row and the floor
(benchmarks/floor.py), it splits kmsg's cost into its SQL and the rest.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def record(source: Path, database: Path, log_path: Path) -> None:
    """Run send-many in this process, appending each statement to `log_path` (pickles)."""
    from kmsg_cli.store import session
    from kmsg_cli.store.sqlite import SqliteStore

    log = log_path.open("wb")
    lock = threading.Lock()  # the store's lock already orders them; this guards the file

    def write(kind: str, sql: str, params: Any) -> None:
        with lock:
            pickle.dump((kind, sql, params), log, pickle.HIGHEST_PROTOCOL)

    def wrap(kind: str, method: Any) -> Any:
        def recorded(self: Any, sql: str, params: Any = None) -> Any:
            write(kind, sql, list(params) if kind == "many" else params)
            return method(self, sql, params) if params is not None else method(self, sql)

        return recorded

    session.DbApiSession.execute = wrap("one", session.DbApiSession.execute)  # type: ignore[method-assign]
    session.DbApiSession.executemany = wrap("many", session.DbApiSession.executemany)  # type: ignore[method-assign]
    session.DbApiSession.rowcounts = wrap("each", session.DbApiSession.rowcounts)  # type: ignore[method-assign]
    transaction = SqliteStore._transaction

    @contextmanager
    def bounded(self: Any) -> Iterator[Any]:
        with transaction(self) as conn:
            write("one", "BEGIN IMMEDIATE", None)
            try:
                yield conn
            except BaseException:
                write("one", "ROLLBACK", None)
                raise
            write("one", "COMMIT", None)

    SqliteStore._transaction = bounded  # type: ignore[method-assign]
    os.environ["KMSG_DB"] = str(database)
    sys.argv = ["kmsg", "send-many", str(source), "--text", "#{name}님, 점검 안내입니다"]
    sys.argv += ["--json", "-q"]
    from kmsg_cli.cli.app import main

    try:
        main()
    except SystemExit as exit_:
        if exit_.code not in (0, 5, None):
            raise
    finally:
        log.close()


def _shape(sql: str) -> str:
    """A statement's first words, to group its replays: `UPDATE "kmsg_jobs" SET "status" =
    :completed` (the claim and the completion apart)."""
    return " ".join(sql.split()[:6]).rstrip(",")


def replay(log_path: Path, database: Path) -> tuple[float, int, int, dict[str, float]]:
    """Replay the log on a fresh `database`; returns the CPU seconds spent in SQLite calls,
    the statements, the tracking rows written (a check that the replay did what kmsg did) and
    the seconds by statement shape."""
    import sqlite3

    from kmsg_cli.store import open_store, prepare

    with open_store(database) as store:  # kmsg's own schema, every table and index
        prepare(store)
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    spent = 0.0
    count = 0
    shapes: dict[str, float] = {}
    clock = time.process_time
    with log_path.open("rb") as log:
        while True:
            try:
                kind, sql, params = pickle.load(log)
            except EOFError:
                break
            started = clock()
            if kind == "many":
                conn.executemany(sql, params)
            elif kind == "each":
                cursor = conn.cursor()
                for one in params:
                    cursor.execute(sql, one)
            else:
                cursor = conn.execute(sql) if params is None else conn.execute(sql, params)
                cursor.fetchall()
            took = clock() - started
            spent += took
            shapes[_shape(sql)] = shapes.get(_shape(sql), 0.0) + took
            count += 1
    (tracked,) = conn.execute('SELECT COUNT(*) FROM "kmsg_delivery_tracking"').fetchone()
    conn.close()
    return spent, count, int(tracked), shapes


def measure(rows: int) -> dict[str, Any]:
    """Record in one child, replay in another: the replay's CPU seconds and statements."""
    from benchmarks.send_many import environment, write_csv

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        source, log = home / "in.csv", home / "statements.pickle"
        write_csv(source, rows)
        env = environment(home)
        here = [sys.executable, "-m", "benchmarks.protocol"]
        recording = [*here, "--record", str(source), str(home / "kmsg.sqlite"), str(log)]
        subprocess.run(recording, env=env, check=True, stdout=subprocess.DEVNULL)
        replaying = [*here, "--replay", str(log), str(home / "replay.sqlite")]
        done = subprocess.run(replaying, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the replay failed: {done.stderr[-2000:]}")
    spent, count, tracked, *shapes = done.stdout.splitlines()
    by_shape = {shape: float(took) for took, shape in (line.split(" ", 1) for line in shapes)}
    return {
        "cpu_s": float(spent),
        "statements": int(count),
        "tracked": int(tracked),
        "by_shape": by_shape,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--record", nargs=3, metavar=("CSV", "DB", "LOG"), help=argparse.SUPPRESS)
    parser.add_argument("--replay", nargs=2, metavar=("LOG", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        record(*(Path(part) for part in args.record))
        return
    if args.replay:
        spent, count, tracked, shapes = replay(Path(args.replay[0]), Path(args.replay[1]))
        print(spent, count, tracked, sep="\n")
        for shape, took in sorted(shapes.items(), key=lambda item: -item[1]):
            print(took, shape)
        return
    m = measure(args.rows)
    rows = args.rows
    print(f"send-many's ledger SQL, {rows:,} rows, replayed alone on plain sqlite3")
    print(f"{m['statements']:,} statements, {m['cpu_s']:.2f} s CPU, {m['tracked']:,} tracked")
    print(f"{m['cpu_s'] / rows * 1e6:.1f} µs/msg, by statement:")
    for shape, took in m["by_shape"].items():
        print(f"{took / rows * 1e6:8.1f} µs/msg  {shape}")


if __name__ == "__main__":
    main()
