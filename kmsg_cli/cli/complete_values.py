"""Values for shell completion: profile names, provider ids, types, statuses, message ids.

Each completer takes the Click context of the command line being completed (its root holds
`--profile`, `--config` and `--db` when they were typed) and the word under the cursor. A
completer never raises and never writes: a broken config or a missing database gives no
candidates, and the shell falls back to file names. Heavy modules are imported on use so that
declaring completers costs nothing at start-up. No `from __future__ import annotations`: Typer
reads the completers' signatures when it builds a command, and strings are compiled first.
"""

import os
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

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


def config_keys(ctx: Any, incomplete: str) -> list[str]:
    """Keys of the config file in use (tables and values), and every profile's known keys."""
    try:
        from kmsg_cli import config as cfg
        from kmsg_cli.config.editing import key_text
        from kmsg_cli.config.loading import TOP_LEVEL_KEYS
        from kmsg_cli.config.parsing import PROFILE_KEYS

        options = _global_options(ctx)
        path, source = cfg.resolve_config_path(options.config, os.environ)
        loaded = cfg.load_config(path, source)
        keys = {key for key in TOP_LEVEL_KEYS if key != "profiles"}
        for name in {*loaded.profile_names(), options.profile or cfg.SANDBOX}:
            keys.update(key_text(("profiles", name, key)) for key in PROFILE_KEYS)

        def walk(node: Any, parts: tuple[str, ...]) -> None:
            for key, value in node.items():
                keys.add(key_text((*parts, key)))
                if isinstance(value, dict):
                    walk(value, (*parts, key))

        walk(loaded.data, ())
    except Exception:
        return []
    return sorted(key for key in keys if key.startswith(incomplete))


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


def voice_types(ctx: Any, incomplete: str) -> list[str]:
    return _matching(["FEMALE", "MALE"], incomplete)


def bms_targeting(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    found = [
        ("I", "channel friends (every channel)"),
        ("M", "friends and marketing consent (Kakao-approved channels)"),
        ("N", "marketing consent, not friends (Kakao-approved channels)"),
    ]
    return [item for item in found if item[0].startswith(incomplete.upper())]


def delivery_statuses(ctx: Any, incomplete: str) -> list[str]:
    from kmsg_cli.models import DeliveryStatus

    return _matching([s.value for s in DeliveryStatus], incomplete)


def job_statuses(ctx: Any, incomplete: str) -> list[str]:
    from kmsg_cli.models import JobStatus

    return _matching([s.value for s in JobStatus], incomplete)


def message_ids(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """The newest tracked message ids (at most TRACK_ID_LIMIT), with status and recipient."""
    rows = _read(ctx, lambda store: store.list_tracking(limit=TRACK_ID_LIMIT)) or []
    return [
        (row.message_id, f"{row.status} {row.type} {row.to}")
        for row in rows
        if row.message_id.startswith(incomplete)
    ]


def failed_job_ids(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """Failed queue jobs (the ones `queue retry --id` takes), newest first, bounded."""
    jobs = _read(ctx, lambda store: store.list_jobs(status="failed", limit=TRACK_ID_LIMIT)) or []
    return [(job.id, job.type) for job in jobs if job.id.startswith(incomplete)]


def cancellable_ids(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """What `kmsg cancel --id` may take back: pending jobs and PENDING (scheduled) tracking
    rows, newest first, at most TRACK_ID_LIMIT of each."""

    def read(store: Any) -> dict[str, str]:
        found = {j.id: "queued" for j in store.list_jobs(status="pending", limit=TRACK_ID_LIMIT)}
        for row in store.list_tracking(status=["PENDING"], limit=TRACK_ID_LIMIT):
            found.setdefault(row.message_id, f"scheduled {row.type} {row.to}")
        return found

    found = _read(ctx, read) or {}
    return [(i, text) for i, text in found.items() if i.startswith(incomplete)]


def batch_ids(ctx: Any, incomplete: str) -> list[str]:
    """Batches that still have pending jobs (of the newest TRACK_ID_LIMIT pending jobs)."""
    jobs = _read(ctx, lambda store: store.list_jobs(status="pending", limit=TRACK_ID_LIMIT)) or []
    batches = dict.fromkeys(str(b) for j in jobs if (b := (j.metadata or {}).get("batch")))
    return [b for b in batches if b.startswith(incomplete)]


def recent_batch_ids(ctx: Any, incomplete: str) -> list[str]:
    """The batches send-many ran, the most recent first (the newest TRACK_ID_LIMIT)."""

    def recent(store: Any) -> list[str]:
        from kmsg_cli.store.report import report_queries

        return report_queries(store).recent_batches(limit=TRACK_ID_LIMIT)

    return [b for b in _read(ctx, recent) or [] if b.startswith(incomplete)]


def _read(ctx: Any, read: Callable[[Any], T]) -> T | None:
    """`read(store)` on the database of the command line; None when there is none to read
    (a missing SQLite file is never created) or it cannot be read."""
    try:
        target = _runtime(ctx).db_target()
        if not _database_exists(target):
            return None
        from kmsg_cli.store import open_store

        with open_store(target, pool_size=1) as store:
            return read(store)
    except Exception:
        return None


def _database_exists(target: str) -> bool:
    """Completion must not create a SQLite file; PostgreSQL URLs are tried as they are."""
    from kmsg_cli.store import sqlite_file

    path = sqlite_file(target)
    return path is None or os.path.isfile(path)


def _matching(values: list[str], incomplete: str) -> list[str]:
    upper = incomplete.upper()
    return [value for value in values if value.upper().startswith(upper)]
