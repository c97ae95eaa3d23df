"""Values for shell completion: profile names, provider ids, types, statuses, message ids.

Each completer takes the Click context of the command line being completed (its root holds
`--profile`, `--config` and `--db` when they were typed) and the word under the cursor. A
completer never raises and never writes: a broken config or a missing database gives no
candidates, and the shell falls back to file names. Heavy modules are imported on use so that
declaring completers costs nothing at start-up.
"""

from __future__ import annotations

import os
from typing import Any

TRACK_ID_LIMIT = 200
"""`track show` offers at most this many of the newest message ids."""


def _global_options(ctx: Any) -> Any:
    from kmsg_cli.cli.runtime import GlobalOptions

    params = getattr(ctx.find_root(), "params", None) or {}
    return GlobalOptions(
        profile=params.get("profile"), config=params.get("config"), db=params.get("db")
    )


def _runtime(ctx: Any) -> Any:
    from kmsg_cli.cli.runtime import Runtime

    return Runtime(_global_options(ctx))


def profiles(ctx: Any, incomplete: str) -> list[str]:
    """Profile names of the config file in use, and the built-in `sandbox`."""
    try:
        from kmsg_cli import config as cfg

        options = _global_options(ctx)
        path, source = cfg.resolve_config_path(options.config, os.environ)
        loaded = cfg.load_config(path, source)
        names = {*loaded.profile_names(), cfg.SANDBOX}
    except Exception:
        return []
    return sorted(name for name in names if name.startswith(incomplete))


def provider_ids(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """Provider ids of the active profile, with their type as help."""
    try:
        profile = _runtime(ctx).profile()
        found = [(pid, p.type) for pid, p in profile.providers.items()]
    except Exception:
        return []
    return sorted(item for item in found if item[0].startswith(incomplete))


def provider_types(ctx: Any, incomplete: str) -> list[str]:
    from kmsg_cli.providers.catalog import PROVIDER_TYPES

    return [name for name in PROVIDER_TYPES if name.startswith(incomplete)]


def message_types(ctx: Any, incomplete: str) -> list[str]:
    from kmsg_cli.models import MessageType

    return _matching([t.value for t in MessageType], incomplete)


def failover_types(ctx: Any, incomplete: str) -> list[str]:
    return _matching(["SMS", "LMS"], incomplete)


def delivery_statuses(ctx: Any, incomplete: str) -> list[str]:
    from kmsg_cli.models import DeliveryStatus

    return _matching([s.value for s in DeliveryStatus], incomplete)


def job_statuses(ctx: Any, incomplete: str) -> list[str]:
    from kmsg_cli.models import JobStatus

    return _matching([s.value for s in JobStatus], incomplete)


def message_ids(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """The newest tracked message ids (at most TRACK_ID_LIMIT), with status and recipient."""
    try:
        runtime = _runtime(ctx)
        target = runtime.db_target()
        if not _database_exists(target):
            return []
        from kmsg_cli.store import open_store

        with open_store(target, pool_size=1) as store:
            rows = store.list_tracking(limit=TRACK_ID_LIMIT)
    except Exception:
        return []
    return [
        (row.message_id, f"{row.status} {row.type} {row.to}")
        for row in rows
        if row.message_id.startswith(incomplete)
    ]


def failed_job_ids(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """Failed queue jobs (the ones `queue retry --id` takes), newest first, bounded."""
    try:
        runtime = _runtime(ctx)
        target = runtime.db_target()
        if not _database_exists(target):
            return []
        from kmsg_cli.store import open_store

        with open_store(target, pool_size=1) as store:
            jobs = store.list_jobs(status="failed", limit=TRACK_ID_LIMIT)
    except Exception:
        return []
    return [(job.id, job.type) for job in jobs if job.id.startswith(incomplete)]


def _database_exists(target: str) -> bool:
    """Completion must not create a SQLite file; PostgreSQL URLs are tried as they are."""
    from kmsg_cli.store import sqlite_file

    path = sqlite_file(target)
    return path is None or os.path.isfile(path)


def _matching(values: list[str], incomplete: str) -> list[str]:
    upper = incomplete.upper()
    return [value for value in values if value.upper().startswith(upper)]
