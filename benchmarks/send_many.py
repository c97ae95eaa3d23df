"""send-many benchmarks. They print figures; they assert nothing.

    python -m benchmarks.send_many overhead [--rows 100000] [--runs 1]
        per-message cost with the mock provider, ledger and tracking writes included
        (µs/message, wall and CPU of the kmsg process); --runs 2 measures a re-run of the
        same file, which finds every row sent
    python -m benchmarks.send_many throughput [--rows 10000] [--latency-ms 20]
        through the fake SOLAPI server (batches of 100) at concurrency 1, 4 and 16, beside the
        ideal requests × latency ÷ concurrency measured in the same run
    python -m benchmarks.send_many memory [--small 10000] [--large 1000000]
        peak RSS of the kmsg process for a small and a large CSV (mock provider)
    python -m benchmarks.send_many bare [--rows 10000] [--latency-ms 20] [--batch 1000]
        kmsg's send phase beside a BARE client: plain httpx posting the same batches to the
        same fake SOLAPI server from 4 threads, with no ledger, no routing, no tracking

Each case runs `kmsg send-many` (and the bare client) as a child process in a fresh
temporary directory.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["to", "name"])
        for n in range(rows):
            writer.writerow([f"010-{1000 + n // 10000:04d}-{n % 10000:04d}", f"고객{n}"])


def run_kmsg(args: list[str], env: dict[str, str]) -> tuple[dict[str, Any], float, Any]:
    """Run kmsg; returns (summary data, wall seconds, rusage of the child)."""
    command = [sys.executable, "-m", "kmsg_cli", *args, "--json", "-q"]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 5):
        raise SystemExit(f"kmsg failed ({proc.returncode}): {err.decode()[-2000:]}")
    return json.loads(out)["data"], wall, usage


def environment(home: Path, config: str | None = None) -> dict[str, str]:
    env = dict(os.environ, HOME=str(home), KMSG_DB=str(home / "k.sqlite"))
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env.pop("KMSG_PROFILE", None)
    if config is not None:
        path = home / "config.toml"
        path.write_text(config, encoding="utf-8")
        env["KMSG_CONFIG"] = str(path)
    return env


def measure_overhead(rows: int, *, runs: int = 1) -> dict[str, float]:
    """`kmsg send-many` of `rows` rows with the mock provider: wall, CPU and send-phase seconds
    of the last of `runs` runs of the same file (2: a re-run, which finds every row sent)."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        source = home / "in.csv"
        write_csv(source, rows)
        for _ in range(runs):
            args = ["send-many", str(source), "--text", "#{name}님, 점검 안내입니다"]
            data, wall, usage = run_kmsg(args, environment(home))
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "send_s": data["send_elapsed_s"],
        "accepted": data["accepted"],
        "failed": data["failed"],
    }


def overhead(rows: int, runs: int = 1) -> None:
    m = measure_overhead(rows, runs=runs)
    wall, cpu, send = m["wall_s"], m["cpu_s"], m["send_s"]
    print(f"per-message overhead, mock provider, {rows:,} rows (ledger + tracking writes)")
    print(f"{'':<22}{'total s':>10}{'µs/msg':>10}")
    print(f"{'wall':<22}{wall:>10.2f}{wall / rows * 1e6:>10.1f}")
    print(f"{'cpu (user+sys)':<22}{cpu:>10.2f}{cpu / rows * 1e6:>10.1f}")
    print(f"{'send phase (wall)':<22}{send:>10.2f}{send / rows * 1e6:>10.1f}")
    print(f"accepted {m['accepted']:,}, failed {m['failed']:,} (mock rule: numbers ending 0000)")


BATCH = 100
DEFAULT_BATCH = 1000  # SOLAPI's default batch_size


def measure_throughput(
    rows: int, latency_ms: float, concurrency: int, batch: int = BATCH, *, bare: bool = False
) -> dict[str, float]:
    """`kmsg send-many` through the fake SOLAPI (batches of `batch`) beside the ideal time;
    with `bare`, also the bare client's time for the same batches against the same server."""
    from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

    requests = -(-rows // batch)
    with tempfile.TemporaryDirectory() as tmp, FakeSolapi(balance=1e12) as fake:
        fake.latency = latency_ms / 1000
        home = Path(tmp)
        source = home / "in.csv"
        write_csv(source, rows)
        config = (
            f'default_profile = "bench"\n[profiles.bench.providers.solapi]\n'
            f'type = "solapi"\napi_key = "{DEFAULT_API_KEY}"\n'
            f'api_secret = "{DEFAULT_API_SECRET}"\n'
            f'sender = "0212345678"\nbase_url = "{fake.base_url}"\nbatch_size = {batch}\n'
        )
        args = ["send-many", str(source), "--text", "#{name}님", "--concurrency", str(concurrency)]
        data, wall, _ = run_kmsg(args, environment(home, config))
        sent = len(fake.accepted_messages())
        bare_s, bare_sent = 0.0, rows
        if bare:
            bare_s, bare_sent = run_bare(fake.base_url, source, batch, concurrency)
    if sent != rows or bare_sent != rows:
        raise SystemExit(f"the fake accepted {sent} (bare client: {bare_sent}) of {rows}")
    return {
        "send_s": data["send_elapsed_s"],
        "ideal_s": requests * (latency_ms / 1000) / concurrency,
        "wall_s": wall,
        "requests": requests,
        "bare_s": bare_s,
    }


# -- the bare client: the least a SOLAPI bulk sender does ------------------------------------
def _bare_authorization() -> str:
    from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET

    date = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    salt = secrets.token_hex(16)
    mac = hmac.new(DEFAULT_API_SECRET.encode(), (date + salt).encode(), hashlib.sha256)
    return (
        f"HMAC-SHA256 apiKey={DEFAULT_API_KEY}, date={date}, salt={salt}, "
        f"signature={mac.hexdigest()}"
    )


def bare_send(base_url: str, source: Path, batch: int, concurrency: int) -> tuple[float, int]:
    """Read the CSV, render the text, then time posting its batches with `concurrency`
    threads (one httpx client): (seconds, messages accepted)."""
    import httpx

    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        entries = [
            {
                "to": to.replace("-", ""),
                "from": "0212345678",
                "type": "SMS",
                "text": f"{name}님",
                "customFields": {"kmsgId": f"bare:{n}"},
            }
            for n, (to, name) in enumerate(reader)
        ]
    url = base_url + "/messages/v4/send-many/detail"

    with httpx.Client(trust_env=False, timeout=60) as client:

        def post(start: int) -> int:
            body = {
                "messages": entries[start : start + batch],
                "allowDuplicates": True,
                "showMessageList": True,
            }
            response = client.post(
                url,
                content=json.dumps(body, ensure_ascii=False).encode(),
                headers={
                    "Authorization": _bare_authorization(),
                    "Content-Type": "application/json",
                },
            )
            response.raise_for_status()
            return len(response.json().get("messageList") or [])

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            accepted = sum(pool.map(post, range(0, len(entries), batch)))
        return time.perf_counter() - started, accepted


def run_bare(base_url: str, source: Path, batch: int, concurrency: int) -> tuple[float, int]:
    """The bare client in a child process (as kmsg runs): its send seconds and how many
    messages the server accepted."""
    command = [sys.executable, "-m", "benchmarks.send_many", "bare-child", base_url, str(source)]
    command += [str(batch), str(concurrency)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds, accepted = done.stdout.split()
    return float(seconds), int(accepted)


def bare(rows: int, latency_ms: float, batch: int) -> None:
    print(
        f"send-many vs a bare httpx client: {rows:,} rows via the fake SOLAPI, "
        f"{latency_ms:g} ms per request, batches of {batch}, concurrency 4"
    )
    m = measure_throughput(rows, latency_ms, 4, batch, bare=True)
    print(f"kmsg send phase {m['send_s']:.2f} s, bare client {m['bare_s']:.2f} s, ", end="")
    print(f"ratio {m['send_s'] / m['bare_s']:.2f}, ideal {m['ideal_s']:.2f} s")


def throughput(rows: int, latency_ms: float) -> None:
    requests = -(-rows // BATCH)
    print(
        f"send-many throughput: {rows:,} rows via the fake SOLAPI, {latency_ms:g} ms per request,"
        f" batches of {BATCH} ({requests} requests)"
    )
    header = ("concurrency", "send s", "ideal s", "x ideal", "msg/s", "total s")
    print("".join(f"{h:>{w}}" for h, w in zip(header, (11, 10, 10, 9, 10, 10), strict=True)))
    for concurrency in (1, 4, 16):
        m = measure_throughput(rows, latency_ms, concurrency)
        send, ideal = m["send_s"], m["ideal_s"]
        print(
            f"{concurrency:>11}{send:>10.2f}{ideal:>10.2f}{send / ideal:>9.2f}"
            f"{rows / send:>10,.0f}{m['wall_s']:>10.2f}"
        )


# ru_maxrss survives execve: a child forked from a large parent (the runner after the queue
# benchmark) would report the parent's peak. A fresh interpreter in between forks kmsg from a
# small process and reports the peak of its children only.
_PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(rc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def measure_rss(rows: int) -> tuple[float, float]:
    """Peak RSS (MiB) and wall seconds of `kmsg send-many` over `rows` rows (mock provider)."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        source = home / "in.csv"
        write_csv(source, rows)
        kmsg = [sys.executable, "-m", "kmsg_cli", "send-many", str(source), "--text", "#{name}"]
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_OF_CHILD, *kmsg, "--json", "-q"],
            env=environment(home),
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - started
    returncode, peak_kib = (int(word) for word in done.stdout.split())
    if returncode not in (0, 5):
        raise SystemExit(f"kmsg send-many failed ({returncode})")
    return peak_kib / 1024, wall


def memory(small: int, large: int) -> None:
    print("peak RSS of kmsg send-many (mock provider)")
    print(f"{'rows':>10}{'peak RSS MiB':>14}{'wall s':>10}")
    for rows in (small, large):
        rss, wall = measure_rss(rows)
        print(f"{rows:>10,}{rss:>14.1f}{wall:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("overhead")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=1)
    p = sub.add_parser("throughput")
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--latency-ms", type=float, default=20.0)
    p = sub.add_parser("memory")
    p.add_argument("--small", type=int, default=10_000)
    p.add_argument("--large", type=int, default=1_000_000)
    p = sub.add_parser("bare")
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    p = sub.add_parser("bare-child")  # the bare client's own process (run_bare)
    p.add_argument("base_url")
    p.add_argument("source", type=Path)
    p.add_argument("batch", type=int)
    p.add_argument("concurrency", type=int)
    args = parser.parse_args()
    if args.case == "overhead":
        overhead(args.rows, args.runs)
    elif args.case == "throughput":
        throughput(args.rows, args.latency_ms)
    elif args.case == "bare":
        bare(args.rows, args.latency_ms, args.batch)
    elif args.case == "bare-child":
        seconds, accepted = bare_send(args.base_url, args.source, args.batch, args.concurrency)
        print(seconds, accepted)
    else:
        memory(args.small, args.large)


if __name__ == "__main__":
    main()
