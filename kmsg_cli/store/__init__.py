"""Open the store named by `--db`: a SQLite path or URL, or a PostgreSQL or MySQL/MariaDB URL.

Engines are imported inside `open_store`, so importing this package stays cheap for the CLI's
start-up (sqlite3 alone costs several milliseconds, the server drivers more), and a server's
driver is needed only by those who use it (`pip install 'kmsg[postgres]'` or `'kmsg[mysql]'`).
The password of a server URL may be an `env:NAME` reference, read from the environment when the
store is opened (docs/storage.md, "Engines").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from kmsg_cli.errors import StoreError, mask_url_passwords
from kmsg_cli.store.contract import Store

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})
_MYSQL_SCHEMES = frozenset({"mysql", "mariadb"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def open_store(target: str | os.PathLike[str], *, pool_size: int | None = None) -> Store:
    """A store for a path (`~` expanded), `sqlite:///relative`, `sqlite:////absolute`, a
    `postgresql://` / `postgres://` URL (any libpq URL: user, password, host, port, database,
    query parameters such as `sslmode` or `options`), or a `mysql://` / `mariadb://` URL
    (USER[:PASSWORD]@HOST[:PORT]/DATABASE).

    `pool_size` bounds a server's connection pool (default 10); give it at least the number of
    threads that use the store at once (`--concurrency` + 1). SQLite ignores it. The schema is
    not created here; call `initialize()`.
    """
    text = os.fspath(target)
    scheme = _scheme(text)
    if scheme in _POSTGRES_SCHEMES:
        return _open_postgres(resolve_password(text), pool_size)
    if scheme in _MYSQL_SCHEMES:
        return _open_mysql(resolve_password(text), pool_size)
    path = _sqlite_path(text)
    from kmsg_cli.store.sqlite import SqliteStore

    return SqliteStore(path)


def prepare(store: Store) -> Store:
    """Make `store` ready for kmsg: refuse a database whose kmsg tables were not made by kmsg
    (StoreError DB_FOREIGN_SCHEMA, before anything is created or sent), then create what is
    missing (`initialize`). Returns the store."""
    from kmsg_cli.store.inspect import inspector
    from kmsg_cli.store.schema import (
        JOB_COLUMNS,
        JOBS_TABLE,
        STATE_COLUMNS,
        STATE_TABLE,
        TRACKING_COLUMNS,
        TRACKING_TABLE,
    )

    expected = {
        TRACKING_TABLE: TRACKING_COLUMNS,
        JOBS_TABLE: JOB_COLUMNS,
        STATE_TABLE: STATE_COLUMNS,
    }
    found = inspector(store).schema_info().tables
    for table, columns in expected.items():
        if table not in found:
            continue
        missing = [column for column in columns if column not in found[table]]
        if missing:
            raise StoreError(
                f"database {store.describe()} has a table {table} that kmsg did not create "
                f"(it lacks the columns {', '.join(missing)}); kmsg will not use it",
                code="DB_FOREIGN_SCHEMA",
                hint="use another database (--db PATH or URL), or rename that table; "
                "nothing was sent",
            )
    store.initialize()
    return store


def _scheme(target: str) -> str | None:
    match = _SCHEME.match(target)
    return None if match is None else match.group(1).lower()


def _driver_missing(engine: str, drivers: str, extra: str, exc: ImportError) -> StoreError:
    return StoreError(
        f"the {engine} engine needs {drivers} ({exc.name or exc} is missing)",
        code="DB_BACKEND_UNAVAILABLE",
        hint=f"pip install 'kmsg[{extra}]'",
    )


def _open_postgres(url: str, pool_size: int | None) -> Store:
    try:
        from kmsg_cli.store.postgres import PostgresStore
        from kmsg_cli.store.server import DEFAULT_POOL_SIZE
    except ImportError as exc:
        raise _driver_missing("PostgreSQL", "psycopg 3 and psycopg-pool", "postgres", exc) from None
    return PostgresStore(url, pool_size=pool_size or DEFAULT_POOL_SIZE)


def _open_mysql(url: str, pool_size: int | None) -> Store:
    try:
        from kmsg_cli.store.mysql import MysqlStore
        from kmsg_cli.store.server import DEFAULT_POOL_SIZE
    except ImportError as exc:
        raise _driver_missing("MySQL/MariaDB", "PyMySQL", "mysql", exc) from None
    return MysqlStore(url, pool_size=pool_size or DEFAULT_POOL_SIZE)


def resolve_password(url: str, environ: Mapping[str, str] | None = None) -> str:
    """`url` with an `env:NAME` password replaced by the value of $NAME (URL-encoded); any
    other URL as it is. StoreError DB_URL_INVALID when the variable is not set."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    reference = unquote(password or "")
    if not reference.startswith("env:"):
        return url
    name = reference[len("env:") :]
    shown = describe_target(url)
    if not _ENV_NAME.fullmatch(name):
        raise StoreError(
            f"the password of {shown} is not a valid env: reference",
            code="DB_URL_INVALID",
            hint="write env:NAME; NAME is letters, digits and _, not starting with a digit",
        )
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        raise StoreError(
            f"the password of {shown} is env:{name}, but {name} is not set",
            code="DB_URL_INVALID",
            hint=f"export {name}=... before running kmsg",
        )
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}:{quote(value, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _sqlite_path(target: str) -> str:
    """The SQLite file a target names, or StoreError for any other kind of target."""
    match = _SCHEME.match(target)
    if match is None:
        if not target.strip():
            raise StoreError(
                "the database path is empty", code="DB_URL_INVALID", hint="pass --db PATH"
            )
        return os.path.expanduser(target)
    scheme = match.group(1).lower()
    if scheme != "sqlite":
        raise StoreError(
            f"unsupported database URL scheme {scheme!r} in {describe_target(target)}",
            code="DB_URL_INVALID",
            hint=(
                "use a file path, sqlite:///relative/path, sqlite:////absolute/path, "
                "postgresql://user@host/database or mysql://user@host/database"
            ),
        )
    # sqlite:///x.db is relative, sqlite:////x.db absolute (the SQLAlchemy convention).
    if not target.lower().startswith(_SQLITE_PREFIX) or len(target) == len(_SQLITE_PREFIX):
        raise StoreError(
            f"invalid SQLite URL {target!r}: expected sqlite:///relative or sqlite:////absolute",
            code="DB_URL_INVALID",
            hint="use a file path, sqlite:///relative/path or sqlite:////absolute/path",
        )
    return os.path.expanduser(target[len(_SQLITE_PREFIX) :])


def describe_target(target: str | os.PathLike[str]) -> str:
    """A target for display, with any password masked (`mysql://user:****@host/db`)."""
    return mask_url_passwords(os.fspath(target))


def sqlite_file(target: str | os.PathLike[str]) -> str | None:
    """The file a SQLite target names (`~` expanded, ":memory:" as is), or None for a server
    URL; StoreError DB_URL_INVALID for anything else. Opens nothing."""
    text = os.fspath(target)
    if _scheme(text) in _POSTGRES_SCHEMES | _MYSQL_SCHEMES:
        return None
    return _sqlite_path(text)


def same_database(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether two targets surely name one database: the same SQLite file (through any path,
    symlinks included), or the same server URL. Two different URLs of one server are not
    recognised."""
    one, other = sqlite_file(first), sqlite_file(second)
    if one is None or other is None:
        return one is None and other is None and os.fspath(first) == os.fspath(second)
    if ":memory:" in (one, other):
        return False
    if os.path.exists(one) and os.path.exists(other):
        return os.path.samefile(one, other)
    return os.path.realpath(one) == os.path.realpath(other)


__all__ = ["Store", "describe_target", "open_store", "prepare", "same_database", "sqlite_file"]
