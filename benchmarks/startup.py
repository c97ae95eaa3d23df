"""Startup benchmark: wall time of `kmsg --version`, `kmsg send --dry-run` and one `kmsg send`
to the sandbox's mock provider (validated, recorded in SQLite, sent, printed) beside `python -c
pass`, all measured in the same run (median of N, default 10).

    python -m benchmarks.startup [--runs 10]

The figures are those of an installed kmsg, whose bytecode pip compiled at install time: the
kmsg_cli package that runs is compiled first (`compileall`, as pip does for a wheel), so an
editable install under PYTHONDONTWRITEBYTECODE=1 is not timed compiling its own sources.
The commands take turns (one run of each, then the next round), so that a load that comes
and goes on a shared machine weighs on each of them alike, the reference included.
It prints figures; it asserts nothing (timings on shared machines are not test material).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def kmsg_command() -> list[str]:
    script = Path(sys.executable).with_name("kmsg")
    if script.exists():
        return [str(script)]
    found = shutil.which("kmsg")
    return [found] if found else [sys.executable, "-m", "kmsg_cli"]


def compile_kmsg() -> None:
    """Compile the kmsg_cli that runs into bytecode, as pip does when it installs the wheel
    (a read-only installation is left as it is)."""
    spec = importlib.util.find_spec("kmsg_cli")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(Path(spec.origin).parent, quiet=2)


def _seconds(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def median_seconds(
    commands: list[Callable[[int], list[str]]], runs: int, env: dict[str, str]
) -> list[float]:
    """The median wall time of each command over `runs` rounds; a round runs each command
    once, in turn. Round 0 warms the file cache (and creates the sandbox database): not kept."""
    samples: list[list[float]] = [[] for _ in commands]
    for run in range(runs + 1):
        for command, kept in zip(commands, samples, strict=True):
            seconds = _seconds(command(run), env)
            if run:
                kept.append(seconds)
    return [statistics.median(kept) for kept in samples]


def measure(runs: int) -> list[tuple[str, float]]:
    """Median seconds of `python -c pass`, `kmsg --version`, `kmsg send --dry-run` and one
    `kmsg send` to the mock provider (a different text each run: no duplicate warning)."""
    kmsg = kmsg_command()
    compile_kmsg()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=f"{home}/c", XDG_DATA_HOME=f"{home}/d")
        for name in ("KMSG_CONFIG", "KMSG_PROFILE", "KMSG_DB", "KMSG_PROVIDER"):
            env.pop(name, None)
        send = ["send", "--to", "010-1234-5678", "--text", "안녕하세요 #{n}"]
        cases: list[tuple[str, Callable[[int], list[str]]]] = [
            ("python -c pass", lambda run: [sys.executable, "-c", "pass"]),
            ("kmsg --version", lambda run: [*kmsg, "--version"]),
            ("kmsg send --dry-run", lambda run: [*kmsg, *send, "--var", "n=1", "--dry-run"]),
            ("kmsg send (mock provider)", lambda run: [*kmsg, *send, "--var", f"n={run}"]),
        ]
        medians = median_seconds([command for _, command in cases], runs, env)
        return [(name, seconds) for (name, _), seconds in zip(cases, medians, strict=True)]


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
