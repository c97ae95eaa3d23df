"""A small thread-safe pool of DB-API connections, for drivers that bring none (PyMySQL).

At most `size` connections, made on demand and lent for one unit of work at a time; a
connection that failed is closed instead of being lent again, and `recheck` drops the idle ones
that no longer answer (after a server restart).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

_C = TypeVar("_C")


class PoolTimeout(Exception):
    """No connection became free within the pool's timeout."""


class PoolClosed(Exception):
    """The pool was closed."""


class ConnectionPool(Generic[_C]):
    """See the module doc. `connect` makes a connection, `ping` raises if one is dead."""

    def __init__(
        self,
        connect: Callable[[], _C],
        size: int,
        timeout_s: float,
        *,
        ping: Callable[[_C], object],
    ) -> None:
        self._connect = connect
        self._ping = ping
        self._size = size
        self._timeout_s = timeout_s
        self._idle: list[_C] = []
        self._open = 0
        self._closed = False
        self._cond = threading.Condition()

    def adopt(self, conn: _C) -> None:
        """Count a connection made outside the pool (a probe at open time) as one of its own."""
        with self._cond:
            self._open += 1
        self.put(conn)

    def get(self) -> _C:
        """An idle connection, or a new one while fewer than `size` are open."""
        with self._cond:
            ready = self._cond.wait_for(
                lambda: self._closed or bool(self._idle) or self._open < self._size,
                self._timeout_s,
            )
            if self._closed:
                raise PoolClosed("the pool is closed")
            if not ready:
                raise PoolTimeout(f"no connection became free within {self._timeout_s:g} s")
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return self._connect()
        except BaseException:
            self._discard(None)
            raise

    def put(self, conn: _C, *, broken: bool = False) -> None:
        """Give a connection back; a broken one (or any, once closed) is closed."""
        with self._cond:
            if not broken and not self._closed:
                self._idle.append(conn)
                self._cond.notify()
                return
        self._discard(conn)

    def _discard(self, conn: _C | None) -> None:
        if conn is not None:
            try:
                conn.close()  # type: ignore[attr-defined]
            except Exception:  # already dead: nothing more to release
                pass
        with self._cond:
            self._open -= 1
            self._cond.notify()

    def recheck(self) -> None:
        """Close the idle connections that no longer answer."""
        with self._cond:
            idle, self._idle = self._idle, []
        for conn in idle:
            try:
                self._ping(conn)
            except Exception:
                self._discard(conn)
            else:
                self.put(conn)

    def close(self) -> None:
        """Close the idle connections; those lent out are closed when given back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for conn in idle:
            self._discard(conn)
