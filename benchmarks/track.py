"""`kmsg track run-once` over many due rows against the fake SOLAPI server. Prints figures.

    python -m benchmarks.track [--rows 100000] [--latencies 0,20] [--concurrency 1,4]

For each latency and `tracking.concurrency`: the rows are sent once through `kmsg send-many`
(not timed), made due, then one `kmsg track run-once` is timed, with kmsg's bytecode compiled
as an installed kmsg has it (benchmarks/startup.py). Printed: rows/s, the CPU of
the kmsg process per row, the number of HTTP lookups the fake server saw, and the ideal time
for that request count (requests × latency ÷ concurrency). Concurrency 1 is the sequential
reference.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from benchmarks.send_many import environment, run_kmsg, write_csv
from benchmarks.startup import compile_kmsg


def measure(rows: int, latency_ms: float, concurrency: int = 1) -> dict[str, float]:
    """Send `rows` rows (not timed), make them due, time one `kmsg track run-once` with
    `tracking.concurrency` set to `concurrency`."""
    from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

    compile_kmsg()  # as installed: bytecode compiled (benchmarks/startup.py)
    with tempfile.TemporaryDirectory() as tmp, FakeSolapi(balance=1e12) as fake:
        fake.progress_after = (0.0, 0.0)
        home = Path(tmp)
        source = home / "in.csv"
        write_csv(source, rows)
        config = (
            f'default_profile = "bench"\n[profiles.bench.providers.solapi]\n'
            f'type = "solapi"\napi_key = "{DEFAULT_API_KEY}"\n'
            f'api_secret = "{DEFAULT_API_SECRET}"\nsender = "0212345678"\n'
            f'base_url = "{fake.base_url}"\n'
            f"[profiles.bench.tracking]\nconcurrency = {concurrency}\n"
        )
        env = environment(home, config)
        run_kmsg(["send-many", str(source), "--text", "#{name}님", "--concurrency", "4"], env)
        with closing(sqlite3.connect(home / "k.sqlite")) as conn, conn:
            conn.execute("UPDATE kmsg_delivery_tracking SET next_check_at = 0")
        fake.reset_log()
        fake.latency = latency_ms / 1000
        started = time.perf_counter()
        data, _, usage = run_kmsg(["track", "run-once"], env)
        wall = time.perf_counter() - started
        requests = sum(1 for r in fake.requests if r["path"] == "/messages/v4/list")
    if data["requests"] != requests:
        raise SystemExit(f"kmsg counted {data['requests']} requests, the fake saw {requests}")
    return {
        "pass_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "checked": data["checked"],
        "requests": requests,
        "ideal_s": requests * latency_ms / 1000 / concurrency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latencies", default="0,20", help="milliseconds, comma separated")
    parser.add_argument("--concurrency", default="1,4", help="tracking.concurrency values")
    args = parser.parse_args()
    print(
        f"track run-once over {args.rows:,} due rows via the fake SOLAPI ({sys.version.split()[0]})"
    )
    header = ("latency ms", "concurrency", "pass s", "rows/s", "CPU µs/row", "requests", "ideal s")
    print("".join(f"{h:>12}" for h in header))
    for latency in (float(v) for v in args.latencies.split(",")):
        for concurrency in (int(v) for v in args.concurrency.split(",")):
            m = measure(args.rows, latency, concurrency)
            wall = m["pass_s"]
            print(
                f"{latency:>12g}{concurrency:>12}{wall:>12.2f}{m['checked'] / wall:>12,.0f}"
                f"{m['cpu_s'] / args.rows * 1e6:>12.0f}{m['requests']:>12,}{m['ideal_s']:>12.2f}"
            )


if __name__ == "__main__":
    main()
