"""What the `#{name}` placeholders of send-many's `--text` ask of the input
(docs/bulk-input.md, "Empty cells"): a column for each, checked once against the header, and
a value in each row, whose absence is counted for a warning.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from kmsg_cli.bulk_input import Row
from kmsg_cli.bulk_input.columns import ColumnMap, ColumnPlan
from kmsg_cli.errors import InvalidInput, UsageError
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.normalize.variables import CASE_RULE, case_slips, check_syntax, placeholder_names


def check_placeholders(
    header: list[str], columns: ColumnMap | None, text: str | None, option: str = "text"
) -> None:
    """Refuse, before any row is read, a `--text` (or `--failover-text`: `option`) whose
    `#{name}` no column of the header can fill: every row would fail the same way. Not when
    the file has a column of that name of its own (its rows may not use the option), nor for
    `#{}`, which stays as written. A `{name}` naming a column is PLACEHOLDER_SYNTAX here too,
    once rather than on every row."""
    if not text:
        return
    plan = ColumnPlan(columns)
    keys = [key for key in map(plan.key, header) if key is not None]
    check_syntax(text, {name for recognised, name in keys if not recognised}, field=option)
    if "#{" not in text:
        return
    if (True, option.replace("-", "_")) in keys:
        return
    variables = {name for recognised, name in keys if not recognised}
    missing = [name for name in placeholder_names(text) if name not in variables]
    if not missing:
        return
    listed = ", ".join(f"#{{{name}}}" for name in missing)
    found = ", ".join(_quote(c, 40) for c in header if c) or "nothing"
    slips = case_slips(missing, variables)
    own = [name for name in missing if (plan.key(name) or (False, ""))[0]]
    if slips:
        hint = f"{slips}? {CASE_RULE}"
    elif own:  # `#{to}`: kmsg reads that column itself; it fills no placeholder
        hint = (
            f"#{{{own[0]}}} names a column kmsg reads itself ({own[0]}), not a variable: copy "
            "it into a column of another name to use it in the text"
        )
    else:
        close = difflib.get_close_matches(missing[0], sorted(variables), n=1, cutoff=0.5)
        hint = (f"did you mean #{{{close[0]}}}? or " if close else "") + (
            f"add a column named {_quote(missing[0])} to the file, or take "
            f"#{{{missing[0]}}} out of --{option}"
        )
    raise InvalidInput(
        f"--{option} uses {listed}, but the file has no "
        f"{'column by that name' if len(missing) == 1 else 'columns by those names'} "
        f"(found: {found})",
        code="MISSING_VARIABLE",
        field=option,
        value=",".join(missing),
        hint=hint,
    )


def check_failover_source(
    header: list[str],
    columns: ColumnMap | None,
    *,
    text: str | None,
    kind: str | None,
    subject: str | None,
) -> None:
    """Refuse `--failover-type` (`kind`) or `--failover-subject` with no failover text to
    shape: no `--failover-text` (`text`) and no failover_text column. They would change
    nothing."""
    given = [
        flag
        for flag, value in (("--failover-type", kind), ("--failover-subject", subject))
        if value is not None
    ]
    if not given or text is not None:
        return
    plan = ColumnPlan(columns)
    if (True, "failover_text") in map(plan.key, header):
        return
    raise UsageError(
        f"{' and '.join(given)} {'needs' if len(given) == 1 else 'need'} a failover text: "
        "give --failover-text or a "
        "failover_text column (field 'failover-text')",
        code="MISSING_FAILOVER_TEXT",
        field="failover-text",
        value="",
        hint="add --failover-text TEXT (sent as SMS/LMS when the channel cannot reach someone)",
    )


SHOWN_ROWS = 3  # rows named per empty placeholder or per warning of the rows


def empty_names(row: Row, text: str) -> tuple[str, ...]:
    """The placeholders of `text` that this valid row fills with an empty (or blank) cell:
    its message goes out without them (`이영희님 원`), which is seldom what was meant."""
    variables = row.variables
    return tuple(
        name
        for name in placeholder_names(text)
        if (value := variables.get(name)) is not None and not str(value).strip()
    )


def note_rows(
    table: dict[str, list[Any]],
    row: int,
    line: int | None,
    keys: Iterable[str],
    first: Callable[[str], str] | None = None,
) -> None:
    """Count a row that goes out under each of `keys` in `table`: per key, the count and the
    (row, line) of the first SHOWN_ROWS; with `first`, also first(key) of the first row
    (EnqueueReport.empty: placeholder names; EnqueueReport.warnings: warning codes)."""
    for key in keys:
        seen = table.setdefault(key, [0, []] if first is None else [0, [], first(key)])
        seen[0] += 1
        if len(seen[1]) < SHOWN_ROWS:
            seen[1].append((row, line or None))
