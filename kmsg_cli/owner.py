"""Who holds a claim: host, process id and process start time, and whether it is alive.

A claim records its owner so that a re-run on the same host can take over at once from a
process that provably no longer exists, while claims of other hosts, or of live processes,
are respected until their lease expires (docs/recovery.md, "Crashes"). The start time guards
against a reused process id.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any

_RUN = uuid.uuid4().hex[:12]


def _host() -> str:
    """This machine's host name: the kernel's node name, what `socket.gethostname()` returns,
    without importing the socket module on every send (Windows has no `os.uname`)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return raw.rsplit(")", 1)[-1].split()


def _start_ticks(pid: int) -> int | None:
    """Process start time in clock ticks since boot (Linux), else None."""
    fields = _stat(pid)
    try:
        return int(fields[19]) if fields else None  # field 22 overall
    except (IndexError, ValueError):
        return None


def current() -> dict[str, Any]:
    """The owner record of this process."""
    pid = os.getpid()
    return {"host": _host(), "pid": pid, "started": _start_ticks(pid), "run": _RUN}


def is_current(owner: Mapping[str, Any] | None) -> bool:
    return bool(owner) and owner.get("run") == _RUN and owner.get("pid") == os.getpid()  # type: ignore[union-attr]


def provably_dead(owner: Mapping[str, Any] | None) -> bool:
    """True only when the owner ran on this host and that process is gone (or was replaced)."""
    if not owner or owner.get("host") != _host():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return owner.get("run") != _RUN  # an earlier run of a reused pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by someone else
    fields = _stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return True  # killed, not yet reaped by its parent
    started = owner.get("started")
    if isinstance(started, int):
        now_started = _start_ticks(pid)
        if now_started is not None and now_started != started:
            return True  # the pid was reused by another process
    return False


def alive_here(owner: Mapping[str, Any] | None) -> bool:
    """True when the owner ran on this host and that process still exists (running, stopped
    with Ctrl-Z, or stuck): it may still finish what it started."""
    return bool(owner) and owner.get("host") == _host() and not provably_dead(owner)  # type: ignore[union-attr]
