"""Output into a pipe whose reader went away (`kmsg queue list | head`): kmsg stops quietly
with 141, as a program ended by SIGPIPE does, never with an internal error (docs/cli.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, HOME=str(tmp_path), KMSG_DB=str(tmp_path / "k.sqlite"))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    for name in ("KMSG_CONFIG", "KMSG_PROFILE", "KMSG_PROVIDER"):
        env.pop(name, None)
    return env


def _into_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before kmsg writes a byte
    try:
        return subprocess.run(
            [sys.executable, "-m", "kmsg_cli", *args],
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [("queue", "list"), ("track", "list"), ("track", "list", "--json")],
    ids=["queue-list", "track-list", "track-list-json"],
)
def test_a_listing_into_a_closed_pipe_stops_quietly_with_141(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    env = _env(tmp_path)
    sent = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", "send", "--to", "010-1234-5678", "--text", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    proc = _into_closed_pipe(env, *args)
    assert proc.returncode == 141, proc.stderr
    assert "INTERNAL_ERROR" not in proc.stderr and "Traceback" not in proc.stderr
    assert "Exception ignored" not in proc.stderr


def test_a_send_whose_output_pipe_is_closed_is_still_recorded(tmp_path: Path) -> None:
    env = _env(tmp_path)
    args = ("send", "--to", "010-1234-5678", "--text", "hi", "--id", "pipe-1", "--json")
    proc = _into_closed_pipe(env, *args)
    assert proc.returncode == 141, proc.stderr
    again = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "already" in again.stdout  # recorded the first time: not sent again
