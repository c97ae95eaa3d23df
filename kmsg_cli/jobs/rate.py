"""`--rate`: at most so many messages per second, shared by every worker thread of a run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """A token bucket shared by all workers: at most `rate` messages per second."""

    def __init__(self, rate: float | None, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.sleep = sleep
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def acquire(self, count: int) -> None:
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + count / self.rate
        if start > now:
            self.sleep(start - now)
