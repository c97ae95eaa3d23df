"""Startup benchmark: wall time of `kmsg --version` and `kmsg send --dry-run` beside
`python -c pass`, all measured in the same run (median of N, default 10).

    python -m benchmarks.startup [--runs 10]

It prints figures; it asserts nothing (timings on shared machines are not test material).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def kmsg_command() -> list[str]:
    script = Path(sys.executable).with_name("kmsg")
    if script.exists():
        return [str(script)]
    found = shutil.which("kmsg")
    return [found] if found else [sys.executable, "-m", "kmsg_cli"]


def median_seconds(command: list[str], runs: int, env: dict[str, str]) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(runs: int) -> list[tuple[str, float]]:
    """Median seconds of `python -c pass`, `kmsg --version` and `kmsg send --dry-run`."""
    kmsg = kmsg_command()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=f"{home}/c", XDG_DATA_HOME=f"{home}/d")
        env.pop("KMSG_CONFIG", None)
        env.pop("KMSG_PROFILE", None)
        dry_run = ["send", "--dry-run", "--to", "010-1234-5678", "--text", "안녕하세요 #{n}"]
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("kmsg --version", [*kmsg, "--version"]),
            ("kmsg send --dry-run", [*kmsg, *dry_run, "--var", "n=1"]),
        ]
        return [(name, median_seconds(cmd, runs, env)) for name, cmd in cases]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    results = measure(args.runs)
    baseline = results[0][1]
    print(f"startup, median of {args.runs} runs ({sys.version.split()[0]}, {os.cpu_count()} cores)")
    print(f"{'command':<24}{'ms':>10}{'x python':>10}")
    for name, seconds in results:
        print(f"{name:<24}{seconds * 1000:>10.1f}{seconds / baseline:>10.2f}")


if __name__ == "__main__":
    main()
