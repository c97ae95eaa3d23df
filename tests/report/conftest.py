"""The engines the report's queries run on: a SQLite file, a fresh PostgreSQL schema and a fresh
MySQL/MariaDB database per test (skipped without a server, failing under CI: see
tests/store/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kmsg_cli.store import open_store
from kmsg_cli.store.contract import Store
from tests.store.conftest import mysql_database, postgres_schema


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        with open_store(str(tmp_path / "report.sqlite")) as opened:
            opened.initialize()
            yield opened
    elif request.param == "postgres":
        with postgres_schema() as (_name, url), open_store(url) as opened:
            opened.initialize()
            yield opened
    else:
        with mysql_database() as (_name, url), open_store(url) as opened:
            opened.initialize()
            yield opened
