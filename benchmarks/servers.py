"""The server engines (PostgreSQL, MySQL/MariaDB) beside SQLite. Prints figures; asserts nothing.

    python -m benchmarks.servers workers [--jobs 4000] [--latency-ms 20] [--engine NAME ...]
        jobs/s of 1, 2 and 4 `kmsg queue process --drain` processes sharing one database,
        each engine in turn, through the fake SOLAPI server (batches of 100)
    python -m benchmarks.servers claim [--small 1000] [--large 1000000] [--rounds 200]
        claim + complete cost per job on each server with a small and a large queue

PostgreSQL: postgresql://postgres@127.0.0.1:5432/test (a throwaway schema per case);
MySQL/MariaDB: mysql://root@127.0.0.1:3306 (a throwaway database per case).
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

from benchmarks.queue import claim_cost, claim_cost_in
from benchmarks.send_many import environment, run_kmsg, write_csv

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL = "mysql://root@127.0.0.1:3306"
ENGINES = ("sqlite", "postgres", "mysql")


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


@contextlib.contextmanager
def mysql_database() -> Iterator[str]:
    import pymysql

    name = f"kmsg_bench_{uuid.uuid4().hex[:8]}"
    with pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True) as admin:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
        try:
            yield f"{MYSQL}/{name}"
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE `{name}`")


def database(engine: str) -> contextlib.AbstractContextManager[str | None]:
    """A throwaway database of the engine (None: SQLite's default file in the home)."""
    if engine == "postgres":
        return pg_schema()
    if engine == "mysql":
        return mysql_database()
    return contextlib.nullcontext(None)


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


def workers(jobs: int, latency_ms: float, engines: tuple[str, ...]) -> None:
    from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

    print(
        f"queue process --drain with N processes: {jobs:,} jobs via the fake SOLAPI, "
        f"{latency_ms:g} ms/request, batches of 100"
    )
    print(f"{'backend':>10}{'processes':>11}{'drain s':>10}{'jobs/s':>10}")
    for backend in engines:
        for processes in (1, 2, 4):
            with (
                tempfile.TemporaryDirectory() as tmp,
                FakeSolapi(balance=1e12) as fake,
                database(backend) as url,
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


def claim(small: int, large: int, rounds: int, engines: tuple[str, ...]) -> None:
    for engine in engines:
        if engine != "sqlite":
            claim_on(engine, small, large, rounds)


def claim_cost_on(engine: str, depth: int, rounds: int) -> float:
    """Seconds per job for claim + complete with `depth` queued, in a throwaway database."""
    if engine == "sqlite":
        return claim_cost(depth, rounds)
    from kmsg_cli.store import open_store

    with database(engine) as url, open_store(url or "") as store:
        return claim_cost_in(store, depth, rounds)


def claim_on(engine: str, small: int, large: int, rounds: int) -> None:
    print(f"{engine}: claim + complete per job (claims of 100, {rounds} rounds)")
    print(f"{'queued jobs':>14}{'µs/job':>10}")
    costs = []
    for depth in (small, large):
        cost = claim_cost_on(engine, depth, rounds)
        costs.append(cost)
        print(f"{depth:>14,}{cost * 1e6:>10.1f}")
    print(f"ratio large/small: {costs[1] / costs[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("workers")
    p.add_argument("--jobs", type=int, default=4000)
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--engine", action="append", choices=ENGINES, help="repeatable; default all")
    p = sub.add_parser("claim")
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--engine", action="append", choices=ENGINES, help="repeatable; default all")
    args = parser.parse_args()
    engines = tuple(args.engine or ENGINES)
    if args.case == "workers":
        workers(args.jobs, args.latency_ms, engines)
    else:
        claim(args.small, args.large, args.rounds, engines)


if __name__ == "__main__":
    main()
