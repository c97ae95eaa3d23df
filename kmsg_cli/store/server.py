"""What the engines on a database server share: pooled connections borrowed per unit of work,
transient failures retried, and errors that name the database without its password.

PostgreSQL and MySQL/MariaDB subclass `ServerStore` with how to borrow a connection and which
driver errors are transient (docs/storage.md, "Engines"). A write whose commit was sent but
never acknowledged is ambiguous; every write of `SqlStore` is safe to run twice (inserts skip
existing ids, updates are guarded by the state they expect), and a claim whose answer was lost
leaves its jobs or rows claimed by nobody alive: they come back after their lease, exactly like
the claims of a worker that died.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import ClassVar, TypeVar
from urllib.parse import unquote, urlsplit

from kmsg_cli.errors import StoreError, mask_url_passwords
from kmsg_cli.store.dialect import q
from kmsg_cli.store.rows import bad_json_hint
from kmsg_cli.store.schema import SCHEMA_VERSION, VERSION_TABLE
from kmsg_cli.store.session import Session
from kmsg_cli.store.sql import SqlStore

_T = TypeVar("_T")

DEFAULT_POOL_SIZE = 10
DEFAULT_POOL_TIMEOUT_S = 10.0
DEFAULT_CONNECT_TIMEOUT_S = 10
DEFAULT_ATTEMPTS = 5


class Failure(Enum):
    """How `_run` treats a driver error."""

    QUERY = "query"  # the statement failed: DB_QUERY_FAILED at once
    TRANSIENT = "transient"  # run the whole unit of work again on a fresh connection
    LOST = "lost"  # transient, and the idle connections probably died with this one
    UNAVAILABLE = "unavailable"  # no connection could be had in time: DB_UNAVAILABLE
    CLOSED = "closed"  # the store was closed: DB_CLOSED


def one_line(text: str) -> str:
    return " ".join(text.split())


def url_password(url: str) -> list[str]:
    """The password of a URL in every spelling an error message might repeat."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return [password, unquote(password)] if password else []


class ServerStore(SqlStore):
    """A `SqlStore` on a server: see the module doc. Subclasses set `engine` and `scheme`,
    and implement `_attempt`, `_classify` and `_recheck`."""

    engine: str
    scheme: ClassVar[str]  # of the URLs in hints

    def __init__(self, url: str, *, attempts: int, secrets: list[str]) -> None:
        self.url = url
        self.attempts = max(1, attempts)
        self._display = mask_url_passwords(url)
        self._secrets = sorted({s for s in [*url_password(url), *secrets] if s}, key=len)[::-1]
        self._closed = False
        self._close_lock = threading.Lock()

    # -- what an engine provides -------------------------------------------------------------

    def _attempt(self, work: Callable[[Session], _T], transaction: bool) -> _T:
        """Run `work` once on a borrowed connection (in one transaction when asked)."""
        raise NotImplementedError

    def _classify(self, exc: Exception) -> Failure | None:
        """How to treat `exc`; None when it is no driver error (it is raised as it is)."""
        raise NotImplementedError

    def _recheck(self) -> None:
        """After a lost connection: test the idle ones now rather than fail on each in turn."""

    # -- errors --------------------------------------------------------------------------------

    def _reason(self, exc: BaseException) -> str:
        text = one_line(str(exc)) or type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return text

    def _open_failed(self, exc: BaseException) -> StoreError:
        reason = self._reason(exc)
        hint = (
            f"check the URL ({self.scheme}://USER@HOST[:PORT]/DATABASE, with USER:PASSWORD "
            "or USER:env:NAME for a password), that the server is running and that it "
            "accepts this user"
        )
        # the server answered but has no such database: kmsg creates tables, not databases
        missing = re.search(
            r"""database "([^"]+)" does not exist|Unknown database '([^']+)'""", reason
        )
        if missing is not None:
            name = missing[1] or missing[2]
            create = f"createdb {name}" if missing[1] else f"CREATE DATABASE `{name}`"
            hint = (
                f"the server has no database {name!r}: create it ({create}), or fix the name "
                "in the URL; kmsg then creates its tables in it"
            )
        return StoreError(
            f"cannot open {self.engine} database {self._display}: {reason}",
            code="DB_OPEN_FAILED",
            hint=hint,
        )

    def _unavailable(self, exc: BaseException, tries: int) -> StoreError:
        return StoreError(
            f"{self.engine} database {self._display} is unavailable "
            f"(tried {tries} time{'s' if tries != 1 else ''}): {self._reason(exc)}",
            code="DB_UNAVAILABLE",
            hint=f"the {self.engine} server could not be reached; "
            "check it and run the command again",
        )

    def _closed_error(self) -> StoreError:
        return StoreError(f"{self.engine} database {self._display} is closed", code="DB_CLOSED")

    def _query_failed(self, exc: BaseException) -> StoreError:
        reason = self._reason(exc)
        return StoreError(
            f"{self.engine} database {self._display}: {reason}",
            code="DB_QUERY_FAILED",
            hint=bad_json_hint(reason),
        )

    def _too_new(self, version: int, current: int) -> StoreError:
        return StoreError(
            f"{self.engine} database {self._display} has schema version {version}; "
            f"this kmsg understands up to {current}",
            code="DB_SCHEMA_TOO_NEW",
            hint="upgrade kmsg, or use another database with --db",
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _run(self, work: Callable[[Session], _T], *, transaction: bool = False) -> _T:
        """Run `work` on a pooled connection (inside one transaction when asked), running it
        again on a fresh connection after a transient failure, a few times with a short
        backoff, before DB_UNAVAILABLE; driver errors become StoreError."""
        tries = 0
        delay = 0.05
        while True:
            if self._closed:
                raise self._closed_error()
            tries += 1
            try:
                return self._attempt(work, transaction)
            except Exception as exc:
                failure = self._classify(exc)
                if failure is None:
                    raise
                if failure is Failure.CLOSED:
                    raise self._closed_error() from None
                if failure is Failure.UNAVAILABLE:
                    raise self._unavailable(exc, tries) from None
                if failure is Failure.QUERY:
                    raise self._query_failed(exc) from None
                if tries >= self.attempts:
                    raise self._unavailable(exc, tries) from None
                if failure is Failure.LOST:
                    self._recheck()
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)

    def describe(self) -> str:
        """`Engine url` with the password masked."""
        return f"{self.engine} {self._display}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._display!r})"

    # -- the schema version (one row of `kmsg_schema_version`) -------------------------------

    def _version_rows(self, s: Session) -> tuple[int, int]:
        """(recorded version or 0, number of rows of the version table)."""
        if not self._table_columns(s, VERSION_TABLE):
            return 0, 0
        row = s.execute(f'SELECT MAX("version"), COUNT(*) FROM {q(VERSION_TABLE)}').first()
        if row is None or row[0] is None:
            return 0, 0
        return int(row[0]), int(row[1])

    def _record_version(self, s: Session, version: int, rows: int) -> None:
        """Leave exactly one row holding SCHEMA_VERSION (extra rows written by hand are folded
        into one); `version` and `rows` are what `_version_rows` found."""
        insert = f'INSERT INTO {q(VERSION_TABLE)} ("version") VALUES ({self.dialect.p("v")})'
        if rows == 0:
            s.execute(insert, {"v": SCHEMA_VERSION})
        elif version < SCHEMA_VERSION or rows > 1:
            s.execute(f"DELETE FROM {q(VERSION_TABLE)}")
            s.execute(insert, {"v": SCHEMA_VERSION})

    def _recorded_version(self, s: Session) -> int:
        return self._version_rows(s)[0]

    def schema_version(self) -> int:
        """The version in the one-row `kmsg_schema_version` table (0 when there is none)."""
        return self._run(self._recorded_version)
