"""Every benchmark in one run, printed as a single table (Markdown, ready for README.md).

    python -m benchmarks              # the full sizes (about 9 minutes on 2 cores)
    python -m benchmarks --quick      # small sizes: checks that every benchmark still runs

Each figure stands beside its reference measured in the same run: `python -c pass` for
startup, the plain-Python floor (benchmarks/floor.py) for the per-message cost and for
send-many's own SQL statements replayed alone (benchmarks/protocol.py), the ideal
requests × latency ÷ concurrency and a bare httpx client posting the same batches for sends
through the fake SOLAPI server, sequential lookups (tracking.concurrency = 1) and the ideal
for tracking, the small case for the queue claim cost and the peak memory, `python -c
pass` for one shell-completion <Tab> (target under 150 ms), a plain COUNT(*) of the same table
for the report; the claim and report rows run on SQLite and on the servers at 127.0.0.1
(PostgreSQL at 5432, MariaDB at 3306: benchmarks/servers.py). It prints
figures; it asserts nothing (timings on shared machines are not test material).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import completion, floor, protocol, report, send_many, servers, startup, track


@dataclass(frozen=True)
class Sizes:
    startup_runs: int = 10
    overhead_rows: int = 100_000
    throughput_rows: int = 10_000
    latency_ms: float = 20.0
    slow_latency_ms: float = 100.0
    track_rows: int = 100_000
    track_compare_rows: int = 20_000
    claim_small: int = 1_000
    claim_large: int = 1_000_000
    claim_rounds: int = 200
    rss_small: int = 10_000
    rss_large: int = 1_000_000
    completion_runs: int = 10
    completion_rows: int = 10_000
    report_rows: int = 1_000_000


QUICK = Sizes(
    startup_runs=3,
    overhead_rows=2_000,
    throughput_rows=1_000,
    latency_ms=5.0,
    slow_latency_ms=20.0,
    track_rows=1_000,
    track_compare_rows=1_000,
    claim_small=100,
    claim_large=10_000,
    claim_rounds=20,
    rss_small=1_000,
    rss_large=10_000,
    completion_runs=3,
    completion_rows=200,
    report_rows=10_000,
)

Row = tuple[str, str, str, str]
"""benchmark, result, reference measured in the same run, result ÷ reference."""


def _ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}×" if reference else "—"


def _startup(sizes: Sizes) -> list[Row]:
    results = startup.measure(sizes.startup_runs)
    baseline = results[0][1]
    reference = f"{baseline * 1000:.0f} ms (`python -c pass`)"
    return [
        (f"startup: `{name}`", f"{seconds * 1000:.0f} ms", reference, _ratio(seconds, baseline))
        for name, seconds in results[1:]
    ]


def _overhead(sizes: Sizes) -> list[Row]:
    rows = sizes.overhead_rows
    m = send_many.measure_overhead(rows)
    base = floor.measure(rows)
    per_message = m["wall_s"] / rows * 1e6
    cpu = m["cpu_s"] / rows * 1e6
    name = f"per-message overhead, mock provider, {rows:,} rows (ledger + tracking)"
    reference = (
        f"{base['wall_s'] / rows * 1e6:.0f} µs wall, {base['cpu_s'] / rows * 1e6:.0f} µs CPU "
        "(floor: CSV, check, render, job + tracking row)"
    )
    result = f"{per_message:.0f} µs wall, {cpu:.0f} µs CPU"
    # Both ratios: the wall time also holds the back-off of the mock's retried failures
    # (numbers ending 0000), which the floor does not model; the CPU ratio is the work done.
    ratio = f"{_ratio(m['wall_s'], base['wall_s'])} wall, {_ratio(m['cpu_s'], base['cpu_s'])} CPU"
    # kmsg's own statements with none of its Python: what of the gap the SQL alone explains
    sql = protocol.measure(rows)
    # The same file again: every row found sent (an operator's re-run), nothing written.
    again = send_many.measure_overhead(rows, runs=2)
    return [
        (name, result, reference, ratio),
        (
            f"send-many re-run of the same {rows:,} rows (every row already sent), mock provider",
            f"{again['wall_s'] / rows * 1e6:.0f} µs wall, {again['cpu_s'] / rows * 1e6:.0f} µs CPU",
            reference,
            f"{_ratio(again['wall_s'], base['wall_s'])} wall, "
            f"{_ratio(again['cpu_s'], base['cpu_s'])} CPU",
        ),
        (
            f"per-message SQL alone: send-many's ledger statements replayed on plain sqlite3, "
            f"{rows:,} rows",
            f"{sql['cpu_s'] / rows * 1e6:.0f} µs CPU ({sql['statements']:,} statements)",
            f"{base['cpu_s'] / rows * 1e6:.0f} µs CPU (the floor above)",
            _ratio(sql["cpu_s"], base["cpu_s"]),
        ),
    ]


def _throughput(sizes: Sizes) -> list[Row]:
    rows, latency = sizes.throughput_rows, sizes.latency_ms
    out = []
    for concurrency in (1, 4, 16):
        m = send_many.measure_throughput(rows, latency, concurrency)
        send, ideal = m["send_s"], m["ideal_s"]
        name = (
            f"send-many {rows:,} rows via fake SOLAPI, {latency:g} ms/request, "
            f"concurrency {concurrency}"
        )
        result = f"{send:.2f} s ({rows / send:,.0f} msg/s)"
        out.append((name, result, f"{ideal:.2f} s ideal", _ratio(send, ideal)))
    # Beside a bare httpx client posting the same batches to the same server (4 threads).
    cases = (
        (latency, send_many.DEFAULT_BATCH, "default batch size"),
        (sizes.slow_latency_ms, send_many.BATCH, f"batches of {send_many.BATCH}"),
    )
    for case_latency, batch, label in cases:
        m = send_many.measure_throughput(rows, case_latency, 4, batch, bare=True)
        name = (
            f"send-many vs bare client, {rows:,} rows via fake SOLAPI, {case_latency:g} "
            f"ms/request, {label}, concurrency 4"
        )
        reference = f"{m['bare_s']:.2f} s (bare httpx client)"
        out.append((name, f"{m['send_s']:.2f} s", reference, _ratio(m["send_s"], m["bare_s"])))
    return out


def _track(sizes: Sizes) -> list[Row]:
    latency = sizes.latency_ms
    rows = sizes.track_compare_rows
    sequential = track.measure(rows, latency, concurrency=1)
    overlapped = track.measure(rows, latency, concurrency=4)
    name = (
        f"track run-once, {rows:,} due rows, {latency:g} ms/lookup of 100 ids, concurrency 4 vs 1"
    )
    result = (
        f"{overlapped['pass_s']:.1f} s, {overlapped['cpu_s'] / rows * 1e6:.0f} µs CPU/row "
        f"({overlapped['requests']:,} requests)"
    )
    reference = (
        f"{sequential['pass_s']:.1f} s, {sequential['cpu_s'] / rows * 1e6:.0f} µs CPU/row "
        "(concurrency 1: sequential lookups)"
    )
    out = [(name, result, reference, _ratio(overlapped["pass_s"], sequential["pass_s"]))]
    rows = sizes.track_rows
    m = track.measure(rows, latency, concurrency=4, bare=True)
    name = f"track run-once, {rows:,} due rows, {latency:g} ms/lookup of 100 ids, concurrency 4"
    result = (
        f"{m['pass_s']:.1f} s ({m['checked'] / m['pass_s']:,.0f} rows/s, "
        f"{m['cpu_s'] / rows * 1e6:.0f} µs CPU/row)"
    )
    reference = f"{m['ideal_s']:.1f} s ideal ({m['requests']:,} requests ÷ 4)"
    out.append((name, result, reference, _ratio(m["pass_s"], m["ideal_s"])))
    name = f"track run-once vs bare lookups, {rows:,} due rows, {latency:g} ms/lookup, 4 at once"
    reference = f"{m['bare_s']:.1f} s (bare httpx client: the same lookups, no database)"
    out.append((name, f"{m['pass_s']:.1f} s", reference, _ratio(m["pass_s"], m["bare_s"])))
    return out


def _claim(sizes: Sizes) -> list[Row]:
    out = []
    for engine, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL"), ("mysql", "MariaDB")):
        small, large = (
            servers.claim_cost_on(engine, depth, sizes.claim_rounds)
            for depth in (sizes.claim_small, sizes.claim_large)
        )
        name = (
            f"queue claim + complete per job, {sizes.claim_large:,} vs {sizes.claim_small:,} "
            f"queued, {label}"
        )
        out.append((name, f"{large * 1e6:.1f} µs", f"{small * 1e6:.1f} µs", _ratio(large, small)))
    return out


def _rss(sizes: Sizes) -> list[Row]:
    small, _ = send_many.measure_rss(sizes.rss_small)
    large, _ = send_many.measure_rss(sizes.rss_large)
    name = f"peak RSS of send-many, {sizes.rss_large:,} vs {sizes.rss_small:,} rows"
    return [(name, f"{large:.1f} MiB", f"{small:.1f} MiB", _ratio(large, small))]


def _completion(sizes: Sizes) -> list[Row]:
    results = completion.measure(sizes.completion_runs, sizes.completion_rows)
    baseline = results[0][1]
    reference = f"{baseline * 1000:.0f} ms (`python -c pass`)"
    return [
        (
            f"completion: one `{name}` (target < {completion.TARGET_MS} ms)",
            f"{wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU",
            reference,
            _ratio(wall, baseline),
        )
        for name, wall, cpu in results[1:]
    ]


def _report(sizes: Sizes) -> list[Row]:
    rows = sizes.report_rows
    out = []
    for engine, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        m = report.measure(rows, engine)
        name = f"kmsg report, {rows:,}-message batch, {label}"
        result = f"{m['batch_s']:.2f} s (time window {m['window_s']:.2f} s)"
        out.append((name, result, f"{m['count_s']:.3f} s COUNT(*)", "—"))
    return out


BENCHMARKS: list[tuple[str, Callable[[Sizes], list[Row]]]] = [
    ("startup", _startup),
    ("overhead", _overhead),
    ("throughput", _throughput),
    ("track", _track),
    ("claim", _claim),
    ("rss", _rss),
    ("completion", _completion),
    ("report", _report),
]


def machine() -> str:
    """One line: OS, CPU model, cores, memory, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.1f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores{memory}, "
        f"Python {sys.version.split()[0]}"
    )


def render(rows: list[Row]) -> str:
    lines = [
        "| benchmark | result | reference (same run) | ratio |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[name for name, _ in BENCHMARKS],
        help="run only this benchmark (repeatable)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    rows: list[Row] = []
    for name, run in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(run(sizes))
    print(f"kmsg benchmarks{' (--quick sizes)' if args.quick else ''} on {machine()}")
    print()
    print(render(rows))


if __name__ == "__main__":
    main()
