"""The duplicate window: which new messages repeat one that already went out.

`send-many` (and every enqueue) asks `DuplicateFilter.decide` about each chunk of jobs before
it writes them: a job whose content key was accepted within the window, is being sent, has an
unknown outcome, or is the same content as an earlier row of this run, is skipped; one whose
earlier twin is still queued in another batch takes that job over (it is moved into this batch,
so it goes out once, under its first id). See docs/duplicates.md.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from kmsg_cli.content import Earlier, deciding, describe, earlier
from kmsg_cli.models import CONTENT_KEY, ContentMatch, Job
from kmsg_cli.store.contract import Store
from kmsg_cli.store.scratch import FirstRows

DUPLICATE = "DUPLICATE_CONTENT"


class Skip(NamedTuple):
    """A job not written because its content repeats an earlier message."""

    job: Job
    reason: str  # one line for people
    earlier_id: str  # "" when it repeats an earlier row of this run, not a message
    accepted_at: int | None  # when the earlier one was accepted (None: not accepted yet)


class Decision:
    """What to do with one chunk of new jobs."""

    def __init__(self) -> None:
        self.insert: list[Job] = []
        self.skips: list[Skip] = []
        self.adopted: dict[str, Job] = {}  # earlier job id -> the new job


class DuplicateFilter:
    """Decides, chunk by chunk, which new jobs repeat what went out within `window_ms`."""

    def __init__(
        self,
        store: Store,
        *,
        window_ms: int,
        now_ms: int,
        shown_time: Callable[[datetime], str],
        batch: str | None = None,
    ) -> None:
        self.store = store
        self.since_ms = now_ms - window_ms
        self.shown_time = shown_time
        self.batch = batch
        self._rows = FirstRows()  # key -> row of this run that first had it (flat memory)

    def decide(self, jobs: Sequence[Job], *, write: bool = True) -> Decision:
        """Split `jobs` (carrying metadata.content_key) into what to insert and what not.

        With `write` (a real run) a queued twin in another batch is adopted; without (a dry
        run) it is only reported as adopted.
        """
        decision = Decision()
        keys = [_key(job) for job in jobs]
        found = self.store.content_matches([k for k in keys if k], since_ms=self.since_ms)
        moves: dict[str, tuple[str, int, int | None]] = {}
        rows = [_row(job) for job in jobs]
        keyed = [(key, row) for key, row in zip(keys, rows, strict=True) if key]
        first_rows = iter(self._rows.first(keyed))
        for job, key, row in zip(jobs, keys, rows, strict=True):
            if key is None:
                decision.insert.append(job)
                continue
            first_row = next(first_rows)
            if first_row != row:
                decision.skips.append(
                    Skip(job, f"same content to the same number as row {first_row}", "", None)
                )
                continue
            # Its own earlier job (same id: a re-run of this batch) is the ledger's to settle,
            # by id, which never sends it twice (a dry run reads it too).
            match = deciding(found.get(key, ()), exclude=job.id)
            if match is None:
                decision.insert.append(job)
            elif earlier(match) is Earlier.QUEUED and self.batch is not None:
                line = (job.metadata or {}).get("line")
                moves[match.message_id] = (self.batch, row, line if isinstance(line, int) else None)
                decision.adopted[match.message_id] = job
            else:
                decision.skips.append(self._skip(job, match))
        if moves and write:
            taken = self.store.adopt_jobs(moves)
            for earlier_id in set(moves) - taken:  # claimed meanwhile: it is being sent
                job = decision.adopted.pop(earlier_id)
                reason = f"same content to the same number is being sent now (id {earlier_id})"
                decision.skips.append(Skip(job, reason, earlier_id, None))
        return decision

    def close(self) -> None:
        """Let go of the keys of this run (and the temporary file that holds many of them)."""
        self._rows.close()

    def _skip(self, job: Job, match: ContentMatch) -> Skip:
        accepted = match.accepted_at if earlier(match) is Earlier.ACCEPTED else None
        return Skip(job, describe(match, self.shown_time), match.message_id, accepted)


def repeats(
    store: Store, keys: Mapping[str, str], *, window_ms: int, now_ms: int
) -> dict[str, ContentMatch]:
    """For `kmsg send`: message id -> the earlier message its content repeats (accepted, in
    flight, unknown or queued within the window); messages without one are absent."""
    found = store.content_matches(list(keys.values()), since_ms=now_ms - window_ms)
    earlier_of: dict[str, ContentMatch] = {}
    for message_id, key in keys.items():
        match = deciding(found.get(key, ()), exclude=message_id)
        if match is not None:
            earlier_of[message_id] = match
    return earlier_of


def _key(job: Job) -> str | None:
    key = (job.metadata or {}).get(CONTENT_KEY)
    return key if isinstance(key, str) and key else None


def _row(job: Job) -> int:
    row = (job.metadata or {}).get("row")
    return row if isinstance(row, int) else 0
