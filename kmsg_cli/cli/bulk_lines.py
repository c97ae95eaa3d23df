"""The words of `kmsg send-many` about single rows: invalid rows, fix hints, skipped rows.

Plain text (no rich), one line each, in the shape `row 2 (line 4): CODE: message` that a person
finds with `grep "^row 2 "`; `bulk_view` decides where and when they are printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kmsg_cli.cli.output import counted, them, were
from kmsg_cli.jobs.enqueue import EnqueueReport, RowProblem


def counts_text(counter: Any) -> str:
    """`SMS 2, LMS 1`: the counts of a Counter, by name."""
    return ", ".join(f"{name} {count:,}" for name, count in sorted(counter.items()))


def hint_lines(report: EnqueueReport) -> list[str]:
    """How to fix the invalid rows: each different hint once, with the rows it is for."""
    return [f"hint ({counted(n, 'row')}): {hint}" for hint, n in report.hints.items()]


def problem_line(problem: RowProblem, place: str) -> str:
    """`row 2 (line 4): CODE: message`, the same shape for every problem (grep "^row 2 ")."""
    message = problem.message
    named = _NAMED_ROW.match(message)  # the reader's own "row 2 (line 4) has ..."
    where = where_text(problem.row, problem.line, place)
    if named is not None and named[1] == str(problem.row):
        where = f"row {problem.row} {named[2]}" if named[2] else where
        message = message[named.end() :].removeprefix("is ")
    return f"{where}: {problem.code}: {message}"


_NAMED_ROW = re.compile(r"row (\d+)(?: (\([^)]*\)))? ")


def where_text(row: int, line: int | None, place: str) -> str:
    """`row 2`, or `row 2 (line 4)` / `row 2 (sheet row 4)` where the line is known."""
    return f"row {row}" if line is None else f"row {row} ({place} {line})"


def skipped_line(report: EnqueueReport, shown_ms: Callable[[int], str]) -> str | None:
    """`3 skipped: same content to the same number was accepted at ...`, or, when the rows
    were skipped for different reasons, each reason with its count (docs/duplicates.md)."""
    if not report.skipped:
        return None
    accepted, repeated = report.accepted_before, report.repeated_rows
    busy = report.skipped - accepted - repeated
    # (count, the reason said of the content, the reason said of `count` rows)
    reasons: list[tuple[int, str, str]] = []
    if repeated:
        said = "as an earlier row of the file"
        reasons.append((repeated, said, said))
    if accepted and report.first_accepted is not None:
        first = shown_ms(report.first_accepted)
        when = (
            f"accepted at {first}" if accepted == 1 else f"accepted recently (the first at {first})"
        )
        reasons.append((accepted, f"was {when}", f"{were(accepted)} {when}"))
    if busy:
        said = "already being sent or queued"
        reasons.append((busy, f"is {said}", f"{'is' if busy == 1 else 'are'} {said}"))
    line = f"{report.skipped:,} skipped: same content to the same number"
    if len(reasons) == 1:
        line += f" {reasons[0][1]}"
    else:
        line += ": " + ", ".join(f"{count:,} {of_rows}" for count, _, of_rows in reasons)
    return line + f" (--allow-duplicates sends {them(report.skipped)} anyway)"
