"""`kmsg track run-once` over many due rows against the fake SOLAPI server. Prints figures.

    python -m benchmarks.track [--rows 100000] [--latencies 0,20] [--concurrency 1,4]

For each latency and `tracking.concurrency`: the rows are sent once through `kmsg send-many`
(not timed), made due, then one `kmsg track run-once` is timed, with kmsg's bytecode compiled
as an installed kmsg has it (benchmarks/startup.py). Printed: rows/s, the CPU of
the kmsg process per row, the number of HTTP lookups the fake server saw, and the ideal time
for that request count (requests × latency ÷ concurrency). Concurrency 1 is the sequential
reference. `python -m benchmarks` also times a bare httpx client looking up the same ids, 100
per request and as many at once, in its own process and with no database (`bare_lookups`): what
the lookups alone cost against this fake server on this machine.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from benchmarks.send_many import environment, run_kmsg, write_csv
from benchmarks.startup import compile_kmsg


def measure(
    rows: int, latency_ms: float, concurrency: int = 1, *, bare: bool = False
) -> dict[str, float]:
    """Send `rows` rows (not timed), make them due, time one `kmsg track run-once` with
    `tracking.concurrency` set to `concurrency`; with `bare`, then also the bare client's
    lookups of the same ids (`bare_s`)."""
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
        bare_s = run_bare(fake.base_url, home, concurrency) if bare else 0.0
    if data["requests"] != requests:
        raise SystemExit(f"kmsg counted {data['requests']} requests, the fake saw {requests}")
    return {
        "pass_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "checked": data["checked"],
        "requests": requests,
        "ideal_s": requests * latency_ms / 1000 / concurrency,
        "bare_s": bare_s,
    }


# -- the bare client: the least a status tracker does -----------------------------------------
def bare_lookups(base_url: str, ids: list[str], concurrency: int) -> tuple[float, int]:
    """Look the ids up, 100 per request and `concurrency` requests at a time, with one httpx
    client, decoding each answer: (seconds, messages listed). No database is read or written."""
    import httpx

    from benchmarks.send_many import _bare_authorization

    url = base_url + "/messages/v4/list"
    chunks = [ids[start : start + 100] for start in range(0, len(ids), 100)]
    with httpx.Client(trust_env=False, timeout=60) as client:

        def get(chunk: list[str]) -> int:
            params: list[tuple[str, str | int | float | bool | None]] = [
                ("limit", len(chunk)),
                *(("messageIds", i) for i in chunk),
            ]
            response = client.get(
                url, params=params, headers={"Authorization": _bare_authorization()}
            )
            response.raise_for_status()
            return len(response.json().get("messageList") or {})

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            listed = sum(pool.map(get, chunks))
        return time.perf_counter() - started, listed


def run_bare(base_url: str, home: Path, concurrency: int) -> float:
    """The bare client in a child process (as kmsg runs), over the ids kmsg tracks in `home`."""
    with closing(sqlite3.connect(home / "k.sqlite")) as conn:
        ids = [i for (i,) in conn.execute("SELECT provider_message_id FROM kmsg_delivery_tracking")]
    path = home / "ids.json"
    path.write_text(json.dumps(ids), encoding="utf-8")
    command = [sys.executable, "-m", "benchmarks.track", "bare-child", base_url, str(path)]
    done = subprocess.run([*command, str(concurrency)], capture_output=True, text=True, check=True)
    seconds, listed = done.stdout.split()
    if int(listed) != len(ids):
        raise SystemExit(f"the bare client saw {listed} of {len(ids)} messages")
    return float(seconds)


def main() -> None:
    if sys.argv[1:2] == ["bare-child"]:  # the bare client's own process (run_bare)
        base_url, path, slots = sys.argv[2:5]
        ids = json.loads(Path(path).read_text(encoding="utf-8"))
        seconds, listed = bare_lookups(base_url, ids, int(slots))
        print(seconds, listed)
        return
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
