"""Clean stops for long commands: SIGTERM behaves like Ctrl-C while the work runs."""

from __future__ import annotations

import signal
from collections.abc import Callable


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_until_stopped(work: Callable[[], object]) -> bool:
    """Run `work`; return True when Ctrl-C or SIGTERM stopped it (the work has cleaned up)."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: signals cannot be handled here
        previous = None
    try:
        work()
    except KeyboardInterrupt:
        return True
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return False
