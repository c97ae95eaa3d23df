"""What became of send-many's rows, read back from the ledger: a job's outcome, the batch's
state for the summary, the failed rows it lists, and the retry of temporary failures on a
re-run (docs/bulk-input.md, "After the run").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kmsg_cli.jobs.ledger import UNKNOWN_OUTCOME, unknown_info
from kmsg_cli.models import Job
from kmsg_cli.store.contract import Store


def parse_error(text: str | None) -> dict[str, Any] | None:
    """The JSON object kept in `kmsg_jobs.error`, tolerant of plain text."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return {"code": "ERROR", "message": text}
    return value if isinstance(value, dict) else {"code": "ERROR", "message": text}


def standing(job: Job) -> str:
    """Where a message without a tracking row stands, from its job, as the end of a sentence
    (`kmsg track show`): queued, being sent, its outcome being looked up, failed, cancelled."""
    if job.status in ("failed", "cancelled"):
        code = (parse_error(job.error) or {}).get("code")
        return f": its job {job.status}" + (f" ({code})" if code else "")
    state = (
        "its outcome is unknown and is being looked up at the provider"
        if job.status == "processing" and unknown_info(job)
        else f"its job is {job.status}"
    )
    return f": {state}; a row is written once a provider accepts it"


def job_outcome(job: Job) -> str:
    """accepted, failed, unknown (failed for good as UNKNOWN_OUTCOME, or still claimed for
    another lookup: docs/recovery.md), pending or processing."""
    if job.status == "completed":
        return "accepted"
    if job.status == "failed":
        error = parse_error(job.error) or {}
        return "unknown" if error.get("code") == UNKNOWN_OUTCOME else "failed"
    if job.status == "processing" and unknown_info(job) is not None:
        return "unknown"
    return job.status


SHOWN_FAILURES = 10


@dataclass(frozen=True)
class FailedRow:
    """A row of the batch that was not accepted, as the summary lists it."""

    row: int | None
    to: str | None
    code: str
    message: str
    unknown: bool  # the outcome is unknown: retrying may send it twice
    temporary: bool  # it failed for a reason that may pass (network, 5xx, 429)
    line: int | None = None  # the file's line or the sheet's row, when the ledger has it


@dataclass(frozen=True)
class BatchState:
    accepted: int
    failed: int
    unknown: int
    pending: int
    processing: int
    temporary: int = 0  # of `failed`: failures a re-run retries
    failures: tuple[FailedRow, ...] = ()  # the first SHOWN_FAILURES, in row order
    # The first failed row when every failed row has its code and message (but for its own
    # number): a provider out of reach, a sender it refuses. The summary says it once.
    one_reason: FailedRow | None = None

    @property
    def total(self) -> int:
        return self.accepted + self.failed + self.unknown + self.pending + self.processing


def batch_state(store: Store, batch_id: str) -> BatchState:
    """Where every job of the batch stands now (failed jobs are read to sort them, claimed
    ones to count the unknown outcomes still being looked up: docs/recovery.md)."""
    counts = store.job_counts(batch=batch_id)
    unknown = temporary = 0
    failures: list[FailedRow] = []
    reasons: set[tuple[str, str]] = set()  # up to two: enough to know whether they differ
    for job in store.iter_jobs(batch=batch_id, status="failed"):
        failure = failed_row(job)
        unknown += failure.unknown
        temporary += failure.temporary
        if len(reasons) < 2:
            reasons.add(_reason(failure))
        failures.append(failure)
        failures.sort(key=lambda f: (f.row is None, f.row or 0))
        del failures[SHOWN_FAILURES:]
    resolving = 0
    if counts.get("processing"):
        resolving = sum(
            1
            for job in store.iter_jobs(batch=batch_id, status="processing")
            if unknown_info(job) is not None
        )
    return BatchState(
        accepted=counts.get("completed", 0),
        failed=counts.get("failed", 0) - unknown,
        unknown=unknown + resolving,
        pending=counts.get("pending", 0),
        processing=counts.get("processing", 0) - resolving,
        temporary=temporary,
        failures=tuple(failures),
        one_reason=failures[0] if len(reasons) == 1 else None,  # the first in row order
    )


def _reason(failure: FailedRow) -> tuple[str, str]:
    """A failure's code and message with its own number taken out (a vendor may name it)."""
    message = failure.message
    return failure.code, message.replace(failure.to, "\0") if failure.to else message


def failed_row(job: Job) -> FailedRow:
    error = parse_error(job.error) or {}
    message = job.data.get("message", {}) if isinstance(job.data, dict) else {}
    row, line = row_and_line(job)
    unknown = error.get("code") == "UNKNOWN_OUTCOME"
    return FailedRow(
        row=row,
        line=line,
        to=message.get("to") if isinstance(message, dict) else None,
        code=str(error.get("code", "SEND_FAILED")),
        message=" ".join(str(error.get("message", "")).split()),
        unknown=unknown,
        temporary=bool(error.get("retryable")) and not unknown,
    )


def row_and_line(job: Job) -> tuple[int | None, int | None]:
    """The row a send-many job came from and where it stands in the file (None: unknown;
    jobs written before the ledger kept lines have no line)."""
    metadata = job.metadata or {}
    row, line = metadata.get("row"), metadata.get("line")
    return (row if isinstance(row, int) else None), (line if isinstance(line, int) else None)


def retry_temporary_failures(store: Store, batch_id: str, *, now_ms: int) -> int:
    """Make the batch's temporarily failed jobs due again (a re-run of the same batch)."""
    ids = [
        job.id
        for job in store.iter_jobs(batch=batch_id, status="failed")
        if failed_row(job).temporary
    ]
    return store.reset_jobs(ids, now_ms=now_ms) if ids else 0
