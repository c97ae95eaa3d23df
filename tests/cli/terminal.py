"""Real processes on a pseudo-terminal or in a pipe, for tests whose subject is the terminal.

`Pty` runs `python -m kmsg_cli ...` (or another program) with a pty as stdin, stdout and
stderr, as a person at a terminal has it: `expect` waits for text, `send` types a line.
`on_terminal` runs one kmsg command that way; `in_pipe` runs it with pipes, as cron or
`| cat` does.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KMSG = (sys.executable, "-m", "kmsg_cli")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


def environment(home: Path, **extra: str) -> dict[str, str]:
    """The test's environment with its own HOME, a terminal size and no colour."""
    env = dict(os.environ, HOME=str(home), COLUMNS="100", LINES="40", TERM="xterm", NO_COLOR="1")
    env.update(extra)
    return env


class Pty:
    """A program on a pseudo-terminal, with one deadline for the whole run."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        program: Sequence[str] = KMSG,
        cwd: Path = ROOT,
        # A bound, not a target: on a loaded 2-core machine a start-up alone can take seconds.
        timeout: float = 180.0,
    ) -> None:
        master, slave = os.openpty()
        if env is None:
            env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
        # A new session has no controlling terminal, so a hidden prompt (getpass) reads this
        # pty instead of the terminal that runs pytest.
        self.proc = subprocess.Popen(
            [*program, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.deadline = time.monotonic() + timeout
        self.raw = b""
        self.seen = 0  # `expect` searches the transcript from here

    @property
    def text(self) -> str:
        return _ANSI.sub("", self.raw.decode("utf-8", "replace")).replace("\r", "")

    def _read(self) -> bool:
        """Read what is there (waiting until the deadline); False at end of output."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.kill()
            raise AssertionError(f"timed out; the terminal shows:\n{self.text}")
        ready, _, _ = select.select([self.master], [], [], min(remaining, 0.5))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)

    def expect(self, needle: str) -> str:
        """Wait for `needle`; returns what appeared since the previous `expect`."""
        start = self.seen
        while True:
            found = self.text.find(needle, self.seen)
            if found >= 0:
                self.seen = found + len(needle)
                return self.text[start : self.seen]
            if not self._read():
                raise AssertionError(f"{needle!r} never appeared; the terminal shows:\n{self.text}")

    def send(self, line: str, end: bytes = b"\r") -> None:
        os.write(self.master, line.encode() + end)

    def send_hidden(self, line: str) -> None:
        """Type once the program has turned echo off (what was typed before is discarded)."""
        import termios

        while termios.tcgetattr(self.master)[3] & termios.ECHO:
            if time.monotonic() > self.deadline:
                self.kill()
                raise AssertionError(f"echo was never turned off; the terminal shows:\n{self.text}")
            time.sleep(0.02)
        self.send(line)

    def interrupt(self, quiet_seconds: float = 10.0) -> None:
        """Press Ctrl-C: SIGINT to the program, again if it neither printed nor exited for a while.

        CPython can lose a SIGINT that lands just before a terminal read starts waiting (the
        handler runs but the read blocks on): a person presses Ctrl-C again, and so does this.
        """
        while self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            shown, quiet_until = len(self.raw), time.monotonic() + quiet_seconds
            while self.proc.poll() is None and len(self.raw) == shown:
                if time.monotonic() > quiet_until or not self._read():
                    break
            if len(self.raw) != shown:
                return  # it answered; finish() reads the rest

    def finish(self) -> int:
        while self._read():
            if self.proc.poll() is not None and not select.select([self.master], [], [], 0.2)[0]:
                break
        try:
            return self.proc.wait(timeout=max(1.0, self.deadline - time.monotonic()))
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        try:
            os.close(self.master)
        except OSError:
            pass


def on_terminal(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    answer: str | None = None,
    wait_for: str = "[y/N]",
) -> tuple[int, str]:
    """Exit code and everything kmsg printed on a terminal; `answer` is typed at `wait_for`."""
    term = Pty(args, env=env)
    try:
        if answer is not None:
            term.expect(wait_for)
            term.send(answer)
        return term.finish(), term.text
    finally:
        term.kill()


def in_pipe(
    args: Sequence[str], env: Mapping[str, str], *, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """kmsg with pipes for stdin, stdout and stderr (no terminal at all)."""
    return subprocess.run(
        [*KMSG, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=ROOT,
        timeout=60,
    )
