"""Excel workbooks (.xlsx) as input, read with openpyxl (extra `kmsg[xlsx]`).

A workbook is never parsed as text: without openpyxl, or for the old binary .xls format, the
error says how to save the sheet as CSV instead. A number comes out as Excel shows it under its
number format (`xlsx_format`: `15,000`, `15%`, `010-1234-5678`), as a CSV saved from the sheet
would have it; under General, or a format that module does not render, as Excel shows it in
the General format: whole numbers without ".0" (a phone number typed as a number has lost its
leading 0, which the phone check then names). Dates likewise, under a format of digits and
Korean weekdays (`2026년 12월 25일 금요일`); otherwise as ISO dates.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from kmsg_cli.bulk_input.columns import ColumnPlan
from kmsg_cli.bulk_input.raw import HashingRaw
from kmsg_cli.bulk_input.rows import MAX_FIELD, Row, RowError, RowSource, short
from kmsg_cli.bulk_input.xlsx_format import display, display_date
from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls) and other OLE files
_SAVE_AS_CSV = "in Excel: File > Save As > 'CSV UTF-8 (쉼표로 분리)', then send that file"
_MAX_BYTES = 512 * 1024 * 1024


def _unreadable(
    name: str,
    problem: str,
    *,
    field: str = "file",
    value: str | None = None,
    hint: str = _SAVE_AS_CSV,
) -> InvalidInput:
    """INVALID_FORMAT: the file `name` cannot be read as a workbook (by default the hint says
    how to save it as CSV instead)."""
    return InvalidInput(
        f"{_quote(name)} {problem}",
        code="INVALID_FORMAT",
        field=field,
        value=name if value is None else value,
        hint=hint,
    )


def refuse_old_excel(name: str) -> InvalidInput:
    problem = "is an Excel 97-2003 workbook (.xls), which kmsg does not read"
    hint = _SAVE_AS_CSV + " (or save it as .xlsx)"
    return _unreadable(name, problem, field="format", value="xls", hint=hint)


def open_xlsx(raw: HashingRaw, plan: ColumnPlan, *, sheet: str | None = None) -> RowSource:
    """Rows of one sheet (the first unless `sheet` names one by name or 1-based number)."""
    try:
        import openpyxl
    except ImportError:
        problem = "is an Excel workbook; reading .xlsx needs openpyxl"
        hint = "pip install 'kmsg[xlsx]', or " + _SAVE_AS_CSV
        raise _unreadable(raw.name, problem, field="format", value="xlsx", hint=hint) from None
    data = raw.read(_MAX_BYTES + 1)
    if len(data) > _MAX_BYTES:
        raise _unreadable(raw.name, f"is larger than {_MAX_BYTES // 2**20} MiB")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken or foreign ZIP
        problem = f"is not a readable .xlsx workbook: {type(exc).__name__}"
        raise _unreadable(raw.name, problem) from None
    worksheet = _sheet(book, sheet)
    values = worksheet.iter_rows()
    header_cells = next(values, None)
    if header_cells is None:
        book.close()
        raise InvalidInput(
            f"sheet {_quote(worksheet.title)} is empty: it needs a header row with a 'to' column",
            code="MISSING_COLUMN",
            field="to",
        )
    columns = [_cell(cell) for cell in header_cells]
    keys = plan.plan_header(columns)
    return RowSource(
        raw=raw,
        top=_Closer(book, raw),
        format="xlsx",
        encoding="xlsx",
        columns=columns,
        rows=_xlsx_rows(values, keys, first=(getattr(worksheet, "min_row", None) or 1) + 1),
    )


def _sheet(book: Any, sheet: str | None) -> Any:
    names = list(book.sheetnames)
    if sheet is None:
        return book.worksheets[0]
    if sheet in names:
        return book[sheet]
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return book.worksheets[int(sheet) - 1]
    book.close()
    raise InvalidInput(
        f"the workbook has no sheet {_quote(sheet)} (sheets: {', '.join(map(_quote, names))})",
        code="MISSING_SHEET",
        field="sheet",
        value=sheet,
        hint="name a sheet, or give its number counting from 1",
    )


class _Closer(io.RawIOBase):
    """Closes the workbook (and its ZIP) when the row source is closed."""

    def __init__(self, book: Any, raw: HashingRaw) -> None:
        super().__init__()
        self._book = book
        self._raw = raw

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
            self._book = None
            self._raw.close()
        super().close()


def _cell(cell: Any) -> str:
    """A cell as the text a person sees in the sheet."""
    value = cell.value
    if value is not None and not isinstance(value, str | bool):
        try:
            number_format = cell.number_format
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            number_format = None  # a style table openpyxl cannot read: shown as General
        if isinstance(number_format, str) and number_format != "General":
            if isinstance(value, date | time):
                shown = display_date(value, number_format)
            else:
                shown = display(value, number_format)
            if shown is not None:
                return shown
    return _general(value)


def _general(value: Any) -> str:
    """A value as the text a person sees in the General format."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(
    values: Iterator[Any], plan: list[tuple[bool, str] | None], *, first: int = 2
) -> Iterator[Row | RowError]:
    """The records after the header; `first` is the sheet row of the first one (empty rows
    come as rows of empty cells, so the sheet row is counted from it)."""
    width = len(plan)
    number = 0
    for sheet_row, record in enumerate(values, start=first):
        cells = [_cell(cell) for cell in record]
        if not any(cells):
            continue  # an empty row, as Excel leaves them
        number += 1
        if any(cells[width:]):
            extra = ", ".join(c for c in cells[width:] if c)
            yield RowError(
                number,
                "BAD_ROW",
                f"row {number} has values right of the last named column: {_quote(extra)}",
                short(extra),
            )
            continue
        fields: dict[str, str] = {}
        variables: dict[str, str] = {}
        for index, column in enumerate(plan):
            if column is None:
                continue
            value = cells[index] if index < len(cells) else ""
            if len(value) > MAX_FIELD or "\x00" in value:
                yield RowError(number, "BAD_ROW", f"row {number} has an unusable cell", None)
                break
            if column[0]:
                if value:
                    fields[column[1]] = value
            else:
                variables[column[1]] = value
        else:
            yield Row(number, fields, variables, sheet_row)
