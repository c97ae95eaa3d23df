"""`send-many --results PATH`: one JSON line per row, written safely (docs/recovery.md).

PATH must be new, empty, or an earlier results file: the database, the input, a device or any
other existing file is refused before anything is sent (the CLI compares PATH with the database
and the input; `check_results_target` does the rest). The lines go to a temporary file beside
PATH, mode 0600 (they hold phone numbers), renamed over PATH only when complete.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import stat
from collections.abc import Iterator
from typing import Any

from kmsg_cli.errors import InvalidInput
from kmsg_cli.jobs.enqueue import RowProblem
from kmsg_cli.jobs.outcomes import job_outcome, parse_error, row_and_line
from kmsg_cli.models import Job
from kmsg_cli.store.contract import Store

RESULT_KEYS = frozenset({"row", "id", "to", "status"})
_FIRST_LINE_LIMIT = 1 << 16


class ResultsFile:
    """`--results PATH`: one JSON line per row (each line names its row number).

    Invalid rows are spooled to a temporary file while reading (they never reach the ledger);
    at the end the batch's jobs are streamed from the store, then the invalid rows are
    appended, so memory stays flat whatever the number of rows. The file is written beside
    PATH under a temporary name (mode 0600: it holds phone numbers) and renamed over PATH only
    when complete. PATH must be new, empty, or an earlier results file: anything else (the
    database, the input, a device, any other file) is refused before anything is sent.
    """

    def __init__(self, path: str) -> None:
        import tempfile

        self.path = path
        check_results_target(path)
        # Fail now, before anything is sent, when the directory takes no file at all.
        try:
            fd, probe = tempfile.mkstemp(dir=_directory(path), prefix=".kmsg-results-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise self._failed(exc, before=True) from None
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")

    def _failed(self, exc: OSError, *, before: bool) -> InvalidInput:
        reason = exc.strerror or type(exc).__name__
        if before:
            hint = "choose another --results PATH; nothing was sent"
        else:
            hint = (
                "the messages are sent and recorded: re-run the same command with another "
                "--results PATH to write the file (nothing is sent twice)"
            )
        return InvalidInput(
            f"cannot write results file '{self.path}': {reason} (field 'results')",
            code="RESULTS_UNWRITABLE",
            field="results",
            value=self.path,
            hint=hint,
        )

    def invalid(self, problem: RowProblem) -> None:
        self._spooled(problem, "invalid")

    def skipped(self, problem: RowProblem) -> None:
        """A valid row not sent because it repeats an earlier message (docs/duplicates.md)."""
        self._spooled(problem, "skipped")

    def _spooled(self, problem: RowProblem, status: str) -> None:
        line = {
            "row": problem.row,
            "line": problem.line,  # where to fix it: the file's line or the sheet's row
            "id": None,
            "to": problem.to,
            "status": status,
            "provider_id": None,
            "provider_message_id": None,
            "error": {"code": problem.code, "message": problem.message},
        }
        self._spool.write(json.dumps(line, ensure_ascii=False) + "\n")

    def write(self, store: Store | None, batch_id: str) -> int:
        """Write the file; returns the number of lines. InvalidInput RESULTS_UNWRITABLE when
        the file cannot be written (a full disk); PATH is then left as it was.

        A PATH ending in `.csv` gets CSV in input row order, UTF-8 with a byte order mark so
        that Excel shows Korean text; any other PATH JSON Lines, jobs first. Without a
        `store` (a dry run), only the rows that would not be sent: invalid, or skipped.
        """
        import tempfile

        count = 0
        temp: str | None = None
        try:
            fd, temp = tempfile.mkstemp(dir=_directory(self.path), prefix=".kmsg-results-")
            as_csv = self.path.lower().endswith(".csv")
            with os.fdopen(fd, "w", encoding="utf-8-sig" if as_csv else "utf-8", newline="") as out:
                if as_csv:
                    count = _write_csv(out, self._lines(store, batch_id))
                else:
                    for line in self._lines(store, batch_id):
                        out.write(json.dumps(line, ensure_ascii=False) + "\n")
                        count += 1
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
            temp = None
        except OSError as exc:
            raise self._failed(exc, before=False) from None
        finally:
            self._spool.close()
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
        return count

    def _lines(self, store: Store | None, batch_id: str) -> Iterator[dict[str, Any]]:
        """Every row's line: the batch's jobs, then the rows that never became one."""
        if store is not None:
            yield from _job_lines(store, batch_id)
        self._spool.seek(0)
        for text in self._spool:
            yield json.loads(text)

    def discard(self) -> None:
        self._spool.close()


CSV_COLUMNS = (
    "row",
    "line",
    "id",
    "to",
    "status",
    "provider_id",
    "provider_message_id",
    "error_code",
    "error_message",
)
_CSV_HEADERS = frozenset(
    {",".join(CSV_COLUMNS), ",".join(column for column in CSV_COLUMNS if column != "line")}
)
_SORT_CHUNK = 50_000  # lines sorted in memory at once; more are merged from temporary files


def _write_csv(out: Any, lines: Iterator[dict[str, Any]]) -> int:
    """The lines as CSV sorted by row number (rows without one last), in bounded memory."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for line in _sorted_by_row(lines):
        error = line.get("error") or {}
        writer.writerow(
            [
                line.get("row") if line.get("row") is not None else "",
                line.get("line") or "",
                line.get("id") or "",
                line.get("to") or "",
                line.get("status") or "",
                line.get("provider_id") or "",
                line.get("provider_message_id") or "",
                error.get("code", "") if isinstance(error, dict) else "",
                error.get("message", "") if isinstance(error, dict) else "",
            ]
        )
        count += 1
    return count


def _row_key(line: dict[str, Any]) -> tuple[int, int]:
    row = line.get("row")
    return (0, row) if isinstance(row, int) else (1, 0)


def _sorted_by_row(lines: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """`lines` ordered by row: sorted chunks spilled to temporary files, then merged."""
    import heapq
    import tempfile

    runs: list[Any] = []
    try:
        while True:
            chunk = sorted(itertools.islice(lines, _SORT_CHUNK), key=_row_key)
            if not chunk:
                break
            run = tempfile.TemporaryFile("w+", encoding="utf-8")
            run.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in chunk)
            run.seek(0)
            runs.append(run)
        streams = [(json.loads(text) for text in run) for run in runs]
        yield from heapq.merge(*streams, key=_row_key)
    finally:
        for run in runs:
            run.close()


def _directory(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def check_results_target(path: str) -> None:
    """RESULTS_REFUSED unless `path` is new, an empty file or an earlier results file;
    RESULTS_UNWRITABLE for a directory."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise results_refused(path, exc.strerror or type(exc).__name__) from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInput(
            f"cannot write results file '{path}': it is a directory (field 'results')",
            code="RESULTS_UNWRITABLE",
            field="results",
            value=path,
            hint="name a file, e.g. --results results.jsonl; nothing was sent",
        )
    if not stat.S_ISREG(info.st_mode):
        raise results_refused(path, "it is not a regular file (a device or a pipe)")
    if info.st_size == 0:
        return
    try:
        with open(path, "rb") as handle:
            first = handle.readline(_FIRST_LINE_LIMIT)
    except OSError:
        first = b""
    header = first.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n").decode("utf-8", "replace")
    if header in _CSV_HEADERS:
        return  # an earlier CSV results file (of this version or one before the line column)
    try:
        line = json.loads(first)
    except (ValueError, RecursionError):
        line = None
    if not (isinstance(line, dict) and RESULT_KEYS <= line.keys()):
        raise results_refused(path, "it exists and is not a kmsg results file")


def results_refused(path: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"refusing to write results over '{path}': {reason} (field 'results')",
        code="RESULTS_REFUSED",
        field="results",
        value=path,
        hint="choose a new file for --results; nothing was sent",
    )


def _job_lines(store: Store, batch_id: str) -> Iterator[dict[str, Any]]:
    chunk: list[Job] = []
    for job in store.iter_jobs(batch=batch_id):
        chunk.append(job)
        if len(chunk) >= 500:
            yield from _lines_for(store, chunk)
            chunk = []
    yield from _lines_for(store, chunk)


def _lines_for(store: Store, jobs: list[Job]) -> Iterator[dict[str, Any]]:
    tracked = store.find_tracking([j.id for j in jobs if j.status == "completed"])
    for job in jobs:
        message = job.data.get("message", {}) if isinstance(job.data, dict) else {}
        row = tracked.get(job.id)
        row_number, line = row_and_line(job)
        yield {
            "row": row_number,
            "line": line,  # where the row stands in the file (None for jobs of older versions)
            "id": job.id,
            "to": message.get("to"),
            "status": job_outcome(job),
            # who accepted it: after a failover that is not the job's first provider
            "provider_id": row.provider_id if row else _planned_provider(job),
            "provider_message_id": row.provider_message_id if row else None,
            "error": parse_error(job.error) if job.status == "failed" else None,
        }


def _planned_provider(job: Job) -> str | None:
    return job.data.get("provider") if isinstance(job.data, dict) else None
