"""Run `kmsg` as a real process, on a pseudo-terminal or in a pipe, for TTY-dependent tests.

`on_terminal` gives the process a pty as stdin, stdout and stderr (what a person at a
terminal has) and types `answer` once the output contains `wait_for`; `in_pipe` runs it with
pipes, as cron or `| cat` does. Both return the exit code and the text it printed.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KMSG = [sys.executable, "-m", "kmsg_cli"]


def environment(home: Path, **extra: str) -> dict[str, str]:
    """The test's isolated environment, with a terminal size and no colour."""
    env = dict(os.environ, HOME=str(home), COLUMNS="100", LINES="40", TERM="xterm", NO_COLOR="1")
    env.update(extra)
    return env


def on_terminal(
    args: list[str],
    env: Mapping[str, str],
    *,
    answer: str | None = None,
    wait_for: str = "[y/N]",
    timeout: float = 60.0,
) -> tuple[int, str]:
    """Exit code and everything printed, with a pty as the terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*KMSG, *args], stdin=slave, stdout=slave, stderr=slave, env=dict(env), cwd=ROOT
    )
    os.close(slave)
    output = b""
    answered = answer is None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the process closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if not answered and wait_for.encode() in output:
                os.write(master, (answer or "").encode() + b"\r")
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, output.decode("utf-8", errors="replace").replace("\r\n", "\n")


def in_pipe(
    args: list[str], env: Mapping[str, str], *, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The process with pipes for stdin, stdout and stderr (no terminal at all)."""
    return subprocess.run(
        [*KMSG, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=ROOT,
        timeout=60,
    )
