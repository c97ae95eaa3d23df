"""Copy a whole history and queue from one store to another (`kmsg db copy`).

Typically a local SQLite file into PostgreSQL when moving to several hosts, but any backend to
any backend works: rows are read through the Store protocol and written with its
insert-or-skip methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from kmsg_cli.models import Job, TrackingRow
from kmsg_cli.store.contract import Store

_T = TypeVar("_T")
SHOWN_CONFLICTS = 5  # ids named per kind of row


def _batches(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def copy_store(
    source: Store,
    target: Store,
    *,
    chunk: int = 1000,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Copy every job and tracking row of `source` into `target`, then kmsg's named values
    (`kmsg_state`: send-many's batch inputs for `kmsg report`, routing counters; not the
    cache of vendor tokens, which expire); returns the counts.

    Both stores must be initialized. Rows are streamed `chunk` at a time (keyset pagination
    on the source, one `INSERT ... ON CONFLICT DO NOTHING` transaction per chunk on the
    target), so memory stays bounded whatever the size of the history. Every column is copied
    as it is: statuses, attempts, leases, times, JSON metadata (pending jobs stay due, jobs
    `processing` keep their owner and lease and are recovered as usual once it expires).

    Rows whose id the target already has are left untouched and counted as skipped, so the
    copy is idempotent: running it again after an interruption copies only what is missing.
    The source should not be in use meanwhile (stop `queue process` / `track` first): rows it
    changes during the copy may be copied in either state. `on_progress` receives the number
    of rows handled so far (jobs, then tracking rows, then named values) after each chunk.

    A skipped job or tracking row that is not the target's row of that id (another creation
    time: two databases that each sent a batch of the same default id, a hash of its input) is
    a conflict: counted, its first ids named, and left out all the same.

    Returns {"jobs_copied", "jobs_skipped", "tracking_copied", "tracking_skipped",
    "state_copied", "state_skipped", "jobs_conflicting", "tracking_conflicting",
    "conflicts": {"jobs": [id, ...], "tracking": [id, ...]}}.
    """
    if chunk <= 0:
        raise ValueError("chunk must be positive")
    counts: dict[str, Any] = {}
    conflicts: dict[str, list[str]] = {"jobs": [], "tracking": []}
    done = 0

    def copy(
        kind: str,
        rows: Iterable[_T],
        insert: Callable[[list[_T]], int],
        clashes: Callable[[list[_T]], list[str]] | None = None,
    ) -> None:
        nonlocal done
        counts[f"{kind}_copied"] = counts[f"{kind}_skipped"] = 0
        if clashes is not None:
            counts[f"{kind}_conflicting"] = 0
        for batch in _batches(rows, chunk):
            inserted = insert(batch)
            counts[f"{kind}_copied"] += inserted
            counts[f"{kind}_skipped"] += len(batch) - inserted
            if clashes is not None and inserted < len(batch):
                found = clashes(batch)
                counts[f"{kind}_conflicting"] += len(found)
                shown = conflicts[kind]
                shown.extend(found[: SHOWN_CONFLICTS - len(shown)])
            done += len(batch)
            if on_progress is not None:
                on_progress(done)

    def job_clashes(jobs: list[Job]) -> list[str]:
        held = target.get_jobs([job.id for job in jobs])
        return [
            job.id for job in jobs if job.id in held and job.created_at != held[job.id].created_at
        ]

    def tracking_clashes(rows: list[TrackingRow]) -> list[str]:
        held = target.find_tracking([row.message_id for row in rows])
        return [
            row.message_id
            for row in rows
            if row.message_id in held and row.requested_at != held[row.message_id].requested_at
        ]

    copy("jobs", source.iter_jobs(chunk=chunk), target.insert_jobs, job_clashes)
    copy("tracking", source.iter_tracking(chunk=chunk), target.insert_tracking, tracking_clashes)
    copy("state", source.iter_state(chunk=chunk), target.insert_state)
    counts["conflicts"] = conflicts
    return counts
