"""What the two server engines (PostgreSQL, MySQL/MariaDB) share: `kmsg_cli.store.server`."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from kmsg_cli.errors import StoreError
from kmsg_cli.store import open_store
from tests.store.conftest import require_mysql, require_postgres


@pytest.mark.parametrize(
    ("require", "create"),
    [(require_postgres, "createdb {name}"), (require_mysql, "CREATE DATABASE `{name}`")],
    ids=["postgres", "mysql"],
)
def test_a_database_the_server_lacks_gets_a_hint_to_create_it(
    require: Callable[[], str], create: str
) -> None:
    name = f"kmsg_absent_{uuid.uuid4().hex[:8]}"
    with pytest.raises(StoreError) as caught:
        open_store(require().rsplit("/", 1)[0] + "/" + name)
    assert caught.value.code == "DB_OPEN_FAILED"
    assert caught.value.hint == (
        f"the server has no database '{name}': create it ({create.format(name=name)}), or fix "
        "the name in the URL; kmsg then creates its tables in it"
    )
