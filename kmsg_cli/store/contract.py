"""The storage contract: what the services ask of a store, whatever the engine.

It is declared once, by its one implementation: `Store` is `kmsg_cli.store.sql.SqlStore`, the
SQL written once for every engine (SQLite, PostgreSQL and MySQL/MariaDB subclass it; its parts
are the job ledger, delivery tracking and content keys). Services name it `Store`, from here,
and never import an engine. What each method promises is in docs/storage.md ("The `Store`
methods"), beside the rules they keep together; what only `kmsg db check` asks for is in
`kmsg_cli.store.inspect`.
"""

from __future__ import annotations

from kmsg_cli.store.sql import SqlStore as Store

__all__ = ["Store"]
