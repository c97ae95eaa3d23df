"""Shell completion: the time of one <Tab>, as bash runs it (median of N, default 10).

    python -m benchmarks.completion [--runs 10] [--rows 10000]

A <Tab> starts `kmsg` with `_KMSG_COMPLETE=complete_bash` and the command line; the shell
waits for its answer. Two lines are timed: a sub-command name (`kmsg tr`) and a message id
of `kmsg track show` read from a database of ROWS tracked messages (ids `BATCH:ROW`, so the
`:` word break is crossed), beside `python -c pass`. The target is under 150 ms a <Tab>.
Wall and CPU time are both given: on a busy machine the wall time includes waiting for a core.
It prints figures; it asserts nothing (timings on shared machines are not test material).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from benchmarks.send_many import environment, run_kmsg, write_csv
from benchmarks.startup import compile_kmsg, kmsg_command

TARGET_MS = 150


def timed(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of `command`."""
    wall, cpu = [], []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall.append(time.perf_counter() - started)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{command} exited {proc.returncode}")
        cpu.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def measure(runs: int, rows: int) -> list[tuple[str, float, float]]:
    """Median wall and CPU seconds of `python -c pass` and of one completion of each line."""
    compile_kmsg()  # as installed: bytecode compiled (benchmarks/startup.py)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        source = home / "in.csv"
        write_csv(source, rows)
        env = environment(home)
        run_kmsg(["send-many", str(source), "--text", "#{name}님"], env)  # not timed
        with closing(sqlite3.connect(home / "k.sqlite")) as conn:
            (newest,) = conn.execute(
                "SELECT message_id FROM kmsg_delivery_tracking ORDER BY requested_at DESC LIMIT 1"
            ).fetchone()
        prefix = str(newest).split(":", 1)[0] + ":"
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"], env),
            ("kmsg tr<Tab>", kmsg_command(), _completing(env, "kmsg tr", "tr")),
            (
                f"kmsg track show ID<Tab>, {rows:,} tracked messages",
                kmsg_command(),
                _completing(env, f"kmsg track show {prefix}", ":"),
            ),
        ]
        return [(name, *timed(cmd, runs, case_env)) for name, cmd, case_env in cases]


def _completing(env: dict[str, str], line: str, current: str) -> dict[str, str]:
    """The environment the bash script gives `kmsg` on <Tab> (completions/kmsg.bash)."""
    return dict(
        env,
        _KMSG_COMPLETE="complete_bash",
        _KMSG_COMPLETE_LINE=line,
        _KMSG_COMPLETE_CUR=current,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    results = measure(args.runs, args.rows)
    baseline = results[0][1]
    print(
        f"completion, median of {args.runs} runs, target < {TARGET_MS} ms ({os.cpu_count()} cores)"
    )
    print(f"{'line':<52}{'wall ms':>10}{'CPU ms':>10}{'x python':>10}")
    for name, wall, cpu in results:
        print(f"{name:<52}{wall * 1000:>10.0f}{cpu * 1000:>10.0f}{wall / baseline:>10.2f}")


if __name__ == "__main__":
    main()
