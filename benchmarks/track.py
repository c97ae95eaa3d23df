"""`kmsg track run-once` over many due rows against the fake SOLAPI server. Prints figures.

    python -m benchmarks.track [--rows 100000] [--latencies 0,20]

For each latency: the rows are sent once through `kmsg send-many` (not timed), made due, then
one `kmsg track run-once` is timed. Printed: rows/s, the number of HTTP lookups made, and the
ideal time for that request count (requests × latency, the lookups being sequential).
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


def measure(rows: int, latency_ms: float) -> dict[str, float]:
    """Send `rows` rows (not timed), make them due, time one `kmsg track run-once`."""
    from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

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
        )
        env = environment(home, config)
        run_kmsg(["send-many", str(source), "--text", "#{name}님", "--concurrency", "4"], env)
        with closing(sqlite3.connect(home / "k.sqlite")) as conn, conn:
            conn.execute("UPDATE kmsg_delivery_tracking SET next_check_at = 0")
        fake.reset_log()
        fake.latency = latency_ms / 1000
        started = time.perf_counter()
        data, _, _ = run_kmsg(["track", "run-once"], env)
        wall = time.perf_counter() - started
        requests = sum(1 for r in fake.requests if r["path"] == "/messages/v4/list")
    return {
        "pass_s": wall,
        "checked": data["checked"],
        "requests": requests,
        "ideal_s": requests * latency_ms / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latencies", default="0,20", help="milliseconds, comma separated")
    args = parser.parse_args()
    print(
        f"track run-once over {args.rows:,} due rows via the fake SOLAPI ({sys.version.split()[0]})"
    )
    header = ("latency ms", "pass s", "rows/s", "requests", "ideal s", "x ideal")
    print("".join(f"{h:>12}" for h in header))
    for latency in (float(v) for v in args.latencies.split(",")):
        m = measure(args.rows, latency)
        wall, ideal = m["pass_s"], m["ideal_s"]
        ratio = f"{wall / ideal:.2f}" if ideal else "-"
        print(
            f"{latency:>12g}{wall:>12.2f}{m['checked'] / wall:>12,.0f}{m['requests']:>12,}"
            f"{ideal:>12.2f}{ratio:>12}"
        )


if __name__ == "__main__":
    main()
