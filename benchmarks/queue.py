"""Job-queue benchmarks. They print figures; they assert nothing.

python -m benchmarks.queue claim [--small 1000] [--large 1000000] [--rounds 200]
    claim + complete cost per job (claims of 100) with a small and a large queue behind
    it; the ratio should stay near 1 (the claim walks an index, not the queue)
python -m benchmarks.queue throughput [--jobs 10000] [--latency-ms 20]
    `kmsg queue process --drain` through the fake SOLAPI (batches of 100) at concurrency
    1 and 16, beside the ideal requests × latency ÷ concurrency
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.send_many import environment, run_kmsg, write_csv

if TYPE_CHECKING:
    from kmsg_cli.store.contract import Store


def claim_cost(depth: int, rounds: int, batch: int = 100) -> float:
    """Seconds per job for claim(batch) + complete, with `depth` jobs queued (SQLite)."""
    from kmsg_cli.store.sqlite import SqliteStore

    with tempfile.TemporaryDirectory() as tmp, SqliteStore(Path(tmp) / "q.sqlite") as store:
        return claim_cost_in(store, depth, rounds, batch)


def claim_cost_in(store: Store, depth: int, rounds: int, batch: int = 100) -> float:
    """Seconds per job for claim(batch) + complete, with `depth` jobs queued in `store`."""
    from kmsg_cli.models import Job

    store.initialize()
    chunk: list[Job] = []
    for n in range(depth + rounds * batch):
        chunk.append(Job(id=f"j{n:09d}", type="send", data={"n": n}, created_at=n, process_at=n))
        if len(chunk) == 10_000:
            store.insert_jobs(chunk)
            chunk = []
    store.insert_jobs(chunk)
    owner = {"host": "bench", "pid": 1}
    now = 10**13
    started = time.perf_counter()
    for _ in range(rounds):
        jobs = store.claim_jobs(now_ms=now, lease_ms=60_000, owner=owner, limit=batch)
        store.complete_jobs([j.id for j in jobs], [], now_ms=now)
    return (time.perf_counter() - started) / (rounds * batch)


def claim(small: int, large: int, rounds: int) -> None:
    print(f"queue claim + complete per job (claims of 100, {rounds} rounds)")
    print(f"{'queued jobs':>14}{'µs/job':>10}")
    costs = []
    for depth in (small, large):
        cost = claim_cost(depth, rounds)
        costs.append(cost)
        print(f"{depth:>14,}{cost * 1e6:>10.1f}")
    print(f"ratio large/small: {costs[1] / costs[0]:.2f}")


def throughput(jobs: int, latency_ms: float) -> None:
    from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

    batch = 100
    requests = -(-jobs // batch)
    print(
        f"queue process --drain: {jobs:,} jobs via the fake SOLAPI, {latency_ms:g} ms/request, "
        f"batches of {batch} ({requests} requests)"
    )
    header = ("concurrency", "drain s", "ideal s", "x ideal", "jobs/s")
    print("".join(f"{h:>12}" for h in header))
    for concurrency in (1, 16):
        with tempfile.TemporaryDirectory() as tmp, FakeSolapi(balance=1e12) as fake:
            home = Path(tmp)
            source = home / "in.csv"
            write_csv(source, jobs)
            config = (
                f'default_profile = "bench"\n[profiles.bench.providers.solapi]\n'
                f'type = "solapi"\napi_key = "{DEFAULT_API_KEY}"\n'
                f'api_secret = "{DEFAULT_API_SECRET}"\nsender = "0212345678"\n'
                f'base_url = "{fake.base_url}"\nbatch_size = {batch}\n'
            )
            env = environment(home, config)
            run_kmsg(["send-many", str(source), "--text", "#{name}", "--queue"], env)
            fake.latency = latency_ms / 1000
            data, _, _ = run_kmsg(
                ["queue", "process", "--drain", "--concurrency", str(concurrency)], env
            )
        ideal = requests * latency_ms / 1000 / concurrency
        drain = data["elapsed_s"]
        print(
            f"{concurrency:>12}{drain:>12.2f}{ideal:>12.2f}{drain / ideal:>12.2f}"
            f"{data['accepted'] / drain:>12,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("claim")
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=200)
    p = sub.add_parser("throughput")
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    if args.case == "claim":
        claim(args.small, args.large, args.rounds)
    else:
        throughput(args.jobs, args.latency_ms)


if __name__ == "__main__":
    main()
