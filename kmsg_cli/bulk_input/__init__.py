"""Stream the recipients of `kmsg send-many FILE` (docs/bulk-input.md).

`open_rows(path)` checks what can be checked up front (the file opens, the format and encoding,
the header has a `to` column) and raises `InvalidInput` before yielding anything. Iterating
the `RowSource` then yields one `Row` per data record, or a `RowError` for a record that cannot
be parsed; the caller reports those and goes on.

Formats: CSV (comma, or tab-separated TSV), JSON Lines, and Excel .xlsx with the `xlsx` extra.
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

from kmsg_cli.bulk_input.columns import RECOGNISED, ColumnMap, ColumnPlan
from kmsg_cli.bulk_input.csv_rows import check_delimiter, open_csv
from kmsg_cli.bulk_input.encoding import BOM_UTF8, check_encoding
from kmsg_cli.bulk_input.jsonl_rows import open_jsonl
from kmsg_cli.bulk_input.raw import SAMPLE, HashingRaw, unreadable
from kmsg_cli.bulk_input.rows import MAX_FIELD, Row, RowError, RowSource
from kmsg_cli.bulk_input.xlsx_rows import OLE_MAGIC, ZIP_MAGIC, open_xlsx, refuse_old_excel
from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.files import NotRegularFile, open_regular

__all__ = [
    "MAX_FIELD",
    "RECOGNISED",
    "ColumnMap",
    "Row",
    "RowError",
    "RowSource",
    "check_delimiter",
    "open_rows",
]

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
}
_FORMATS = {
    "csv": "csv",
    "tsv": "tsv",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "xlsx": "xlsx",
}


def _check_format(format: str) -> str:
    found = _FORMATS.get(format.strip().lower())
    if found is None:
        raise InvalidInput(
            f"{_quote(format)} is not a supported input format (field 'format')",
            code="INVALID_FORMAT",
            field="format",
            value=format,
            hint="use csv, tsv, jsonl or xlsx",
        )
    return found


def _detect_format(path: str, raw: HashingRaw) -> str:
    head = raw.peek(SAMPLE)
    # The bytes decide for workbooks, whatever the name says: never read one as text.
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if path != "-":
        found = _EXTENSIONS.get(os.path.splitext(path)[1].lower())
        if found is not None:
            return found
    start = head.removeprefix(BOM_UTF8).lstrip()
    # `[` too, so that a JSON array is reported as such rather than as a CSV without `to`
    return "jsonl" if start.startswith((b"{", b"[")) else "csv"


def open_rows(
    path: str,
    *,
    encoding: str | None = None,
    format: str | None = None,
    stdin: BinaryIO | None = None,
    columns: ColumnMap | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> RowSource:
    """Open `path` (`-` = standard input) and check everything that can be checked up front.

    Raises `InvalidInput` with code UNREADABLE_FILE, INVALID_FORMAT, INVALID_ENCODING,
    ENCODING_ERROR, MISSING_COLUMN, DUPLICATE_COLUMN, MISSING_SHEET or BAD_CSV (a broken header)
    before yielding any row, and `UsageError` when a non-UTF-8 `encoding` is asked for JSON Lines.
    """
    chosen_format = _check_format(format) if format is not None else None
    chosen_encoding = check_encoding(encoding) if encoding is not None else None
    chosen_delimiter = check_delimiter(delimiter) if delimiter is not None else None
    plan = ColumnPlan(columns)
    if path == "-":
        raw = HashingRaw(stdin if stdin is not None else sys.stdin.buffer, "<stdin>", None)
    else:
        try:
            # Read twice (hash, then rows), so a regular file; unbuffered: the buffered layer
            # sits on top of the hashing reader.
            file = os.fdopen(open_regular(path), "rb", buffering=0)
        except NotRegularFile as exc:
            raise InvalidInput(
                f"cannot read input file {_quote(path)}: {exc.strerror}",
                code="UNREADABLE_FILE",
                field="file",
                value=path,
                hint=f"pass a file, or pipe it in: kmsg send-many - < {path}",
            ) from None
        except OSError as exc:
            raise unreadable(path, exc) from None
        raw = HashingRaw(file, path, file)
    try:
        detected = _detect_format(path, raw)
        fmt = chosen_format or detected
        if detected in ("xlsx", "xls") and fmt != detected:
            fmt = detected  # --format csv cannot make a workbook text
        if fmt == "xls":
            raise refuse_old_excel(path)
        if fmt == "xlsx":
            return open_xlsx(raw, plan, sheet=sheet)
        if fmt == "jsonl":
            return open_jsonl(raw, chosen_encoding, plan)
        return open_csv(
            raw, chosen_encoding, plan, delimiter=chosen_delimiter, tsv_name=fmt == "tsv"
        )
    except BaseException:
        raw.close()
        raise
