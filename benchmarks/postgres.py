"""PostgreSQL vs SQLite. Prints figures; asserts nothing.

    python -m benchmarks.postgres workers [--jobs 4000] [--latency-ms 20]
        jobs/s of 1, 2 and 4 `kmsg queue process --drain` processes sharing one database,
        PostgreSQL beside SQLite, through the fake SOLAPI server (batches of 100)
    python -m benchmarks.postgres claim [--small 1000] [--large 1000000] [--rounds 200]
        claim + complete cost per job on PostgreSQL with a small and a large queue

PostgreSQL: postgresql://postgres@127.0.0.1:5432/test (a throwaway schema per case).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from benchmarks.send_many import environment, run_kmsg, write_csv

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    import psycopg

    schema = f"kmsg_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{ADMIN}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def drain(env: dict[str, str], processes: int) -> float:
    command = [
        sys.executable,
        "-m",
        "kmsg_cli",
        "queue",
        "process",
        "--drain",
        "-q",
        "--concurrency",
        "4",
    ]
    started = time.perf_counter()
    procs = [subprocess.Popen(command, env=env) for _ in range(processes)]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - started


def workers(jobs: int, latency_ms: float) -> None:
    from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

    print(
        f"queue process --drain with N processes: {jobs:,} jobs via the fake SOLAPI, "
        f"{latency_ms:g} ms/request, batches of 100"
    )
    print(f"{'backend':>10}{'processes':>11}{'drain s':>10}{'jobs/s':>10}")
    for backend in ("sqlite", "postgres"):
        for processes in (1, 2, 4):
            with (
                tempfile.TemporaryDirectory() as tmp,
                FakeSolapi(balance=1e12) as fake,
                pg_schema() if backend == "postgres" else contextlib.nullcontext(None) as url,
            ):
                home = Path(tmp)
                source = home / "in.csv"
                write_csv(source, jobs)
                config = (
                    f'default_profile = "bench"\n[profiles.bench.providers.solapi]\n'
                    f'type = "solapi"\napi_key = "{DEFAULT_API_KEY}"\n'
                    f'api_secret = "{DEFAULT_API_SECRET}"\nsender = "0212345678"\n'
                    f'base_url = "{fake.base_url}"\nbatch_size = 100\n'
                )
                env = environment(home, config)
                if url is not None:
                    env["KMSG_DB"] = url
                run_kmsg(["send-many", str(source), "--text", "#{name}", "--queue"], env)
                fake.latency = latency_ms / 1000
                seconds = drain(env, processes)
                sent = len(fake.accepted_messages())
            print(f"{backend:>10}{processes:>11}{seconds:>10.2f}{sent / seconds:>10,.0f}")


def claim(small: int, large: int, rounds: int) -> None:
    from kmsg_cli.models import Job
    from kmsg_cli.store import open_store

    print(f"PostgreSQL claim + complete per job (claims of 100, {rounds} rounds)")
    print(f"{'queued jobs':>14}{'µs/job':>10}")
    costs = []
    for depth in (small, large):
        with pg_schema() as url, open_store(url) as store:
            store.initialize()
            chunk: list[Job] = []
            for n in range(depth + rounds * 100):
                chunk.append(
                    Job(id=f"j{n:09d}", type="send", data={"n": n}, created_at=n, process_at=n)
                )
                if len(chunk) == 10_000:
                    store.insert_jobs(chunk)
                    chunk = []
            store.insert_jobs(chunk)
            owner = {"host": "bench", "pid": 1}
            started = time.perf_counter()
            for _ in range(rounds):
                claimed = store.claim_jobs(now_ms=10**13, lease_ms=60_000, owner=owner, limit=100)
                store.complete_jobs([j.id for j in claimed], [], now_ms=10**13)
            cost = (time.perf_counter() - started) / (rounds * 100)
        costs.append(cost)
        print(f"{depth:>14,}{cost * 1e6:>10.1f}")
    print(f"ratio large/small: {costs[1] / costs[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("workers")
    p.add_argument("--jobs", type=int, default=4000)
    p.add_argument("--latency-ms", type=float, default=20.0)
    p = sub.add_parser("claim")
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if args.case == "workers":
        workers(args.jobs, args.latency_ms)
    else:
        claim(args.small, args.large, args.rounds)


if __name__ == "__main__":
    main()
