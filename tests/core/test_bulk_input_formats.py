"""What spreadsheets really export: UTF-16 "Unicode text", TSV, .xlsx, Shift-JIS, mapped headers."""

from __future__ import annotations

import io
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl  # the test extra installs it (as the xlsx extra does for users)
import pytest

from kmsg_cli.bulk_input import ColumnMap, Row, RowError, open_rows
from kmsg_cli.errors import InvalidInput, UsageError

KOREAN = "홍길동"


def rows_of(path: str, **options: Any) -> list[Row | RowError]:
    with open_rows(path, **options) as source:
        return list(source)


def from_bytes(data: bytes, **options: Any) -> list[Row | RowError]:
    with open_rows("-", stdin=io.BytesIO(data), **options) as source:
        return list(source)


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> str:
    book = openpyxl.Workbook()
    first = True
    for title, records in sheets.items():
        sheet = book.active if first else book.create_sheet()
        sheet.title = title
        first = False
        for record in records:
            sheet.append(record)
    book.save(path)
    return str(path)


# --- UTF-16 and tabs ---------------------------------------------------------------------------


def test_excel_unicode_text_export_is_read() -> None:
    # Excel "유니코드 텍스트": UTF-16 LE with a BOM, tab-separated, CRLF
    data = f"to\tname\r\n010-1234-5678\t{KOREAN}\r\n".encode("utf-16")
    (row,) = from_bytes(data)
    assert isinstance(row, Row)
    assert row.fields == {"to": "010-1234-5678"} and row.variables == {"name": KOREAN}


def test_utf16_without_a_bom_is_recognised() -> None:
    (row,) = from_bytes("to,name\n010-1234-5678,kim\n".encode("utf-16-le"))
    assert isinstance(row, Row) and row.variables == {"name": "kim"}


def test_tab_separated_utf8_is_sniffed_from_the_header() -> None:
    with open_rows("-", stdin=io.BytesIO(b"to\ttext\n010-1234-5678\thello, world\n")) as source:
        assert source.format == "tsv"
        (row,) = list(source)
    assert isinstance(row, Row) and row.fields["text"] == "hello, world"


@pytest.mark.parametrize(
    ("header", "row", "variables"),
    [
        # Excel where the comma is the decimal mark writes semicolons
        ("to;name", "010-1234-5678;김,민수", {"name": "김,민수"}),
        ("to|name", "010-1234-5678|김,민수", {"name": "김,민수"}),
        # the most of them: two semicolons beat one bar
        ("to;name|nick;age", "010-1234-5678;김|x;3", {"name|nick": "김|x", "age": "3"}),
    ],
)
def test_a_header_without_commas_names_its_delimiter(
    header: str, row: str, variables: dict[str, str]
) -> None:
    data = f"{header}\r\n{row}\r\n".encode("cp949")
    with open_rows("-", stdin=io.BytesIO(data)) as source:
        assert source.format == "csv"
        (parsed,) = list(source)
    assert isinstance(parsed, Row) and parsed.fields["to"] == "010-1234-5678"
    assert parsed.variables == variables


def test_a_header_with_a_comma_keeps_the_comma() -> None:
    (row,) = from_bytes(b"to,note;x\n010-1234-5678,a;b\n")
    assert isinstance(row, Row) and row.variables == {"note;x": "a;b"}


def test_a_tsv_name_means_tabs_even_with_commas_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "list.tsv"
    path.write_text("to\tname, title\n010-1234-5678\tkim\n", encoding="utf-8")
    (row,) = rows_of(str(path))
    assert isinstance(row, Row) and row.variables == {"name, title": "kim"}


@pytest.mark.parametrize(("given", "char"), [(";", ";"), ("|", "|"), ("tab", "\t"), ("\\t", "\t")])
def test_delimiter_option(given: str, char: str) -> None:
    data = f"to{char}text\n010-1234-5678{char}a,b\n".encode()
    (row,) = from_bytes(data, delimiter=given)
    assert isinstance(row, Row) and row.fields["text"] == "a,b"


def test_an_unknown_delimiter_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        from_bytes(b"to\n010-1234-5678\n", delimiter="::")
    assert caught.value.field == "delimiter" and "'::'" in caught.value.message


def test_an_extra_cell_names_the_delimiter_of_the_file() -> None:
    (error,) = from_bytes(b"to\ttext\n010-1234-5678\ta\tb\n")
    assert isinstance(error, RowError) and "quote cells that contain tabs" in error.message


# --- encodings that only look like CP949 -------------------------------------------------------


def test_shift_jis_is_refused_rather_than_sent_garbled() -> None:
    data = "to,text\n010-1234-5678,お知らせ：明日の点検について\n".encode("shift_jis")
    with pytest.raises(InvalidInput) as caught:
        from_bytes(data)
    assert caught.value.code == "ENCODING_ERROR"
    assert "Shift-JIS" in caught.value.message and caught.value.hint


def test_korean_cp949_with_a_few_rare_syllables_is_still_korean() -> None:
    text = "점검 안내: 똠양꿍 가게 휴무입니다. 감사합니다"
    (row,) = from_bytes(f"to,text\n010-1234-5678,{text}\n".encode("cp949"))
    assert isinstance(row, Row) and row.fields["text"] == text


# --- Excel workbooks ---------------------------------------------------------------------------


def test_xlsx_first_sheet_with_numbers_dates_and_empty_rows(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "list.xlsx",
        {
            "명단": [
                ["to", "name", "amount", "due", "id"],
                ["010-1234-5678", KOREAN, 15000, datetime(2026, 12, 7), 7],
                [None, None, None, None, None],
                [1098765432, "lee", 2.5, datetime(2026, 12, 7, 9, 30), None],
            ],
            "other": [["to"], ["010-0000-0000"]],
        },
    )
    first, second = rows_of(path)
    assert isinstance(first, Row) and isinstance(second, Row)
    assert first.number == 1 and second.number == 2
    assert (first.line, second.line) == (2, 4)  # the sheet's rows: the empty one is counted
    assert first.fields == {"to": "010-1234-5678"}
    # openpyxl writes a datetime under `yyyy-mm-dd h:mm:ss`, and Excel shows it so
    assert first.variables == {
        "name": KOREAN,
        "amount": "15000",
        "due": "2026-12-07 0:00:00",
        "id": "7",
    }
    # a number typed without its leading 0 comes through as Excel shows it (the phone check
    # then names the lost 0)
    assert second.fields["to"] == "1098765432"
    assert second.variables["amount"] == "2.5" and second.variables["due"] == "2026-12-07 9:30:00"


def formatted_row(path: Path, cells: dict[str, tuple[Any, str]]) -> Row:
    """The one row read from a sheet of `to` and these columns: header -> (value, format)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["to", *cells])
    sheet.append(["010-1234-5678", *(value for value, _format in cells.values())])
    for column, (_value, number_format) in enumerate(cells.values(), start=2):
        sheet.cell(row=2, column=column).number_format = number_format
    book.save(path)
    (row,) = rows_of(str(path))
    assert isinstance(row, Row)
    return row


def test_xlsx_numbers_read_as_their_number_format_shows_them(tmp_path: Path) -> None:
    row = formatted_row(
        tmp_path / "formats.xlsx",
        {
            "phone": (1012345678, "000-0000-0000"),  # a number kept as a number, with its 0
            "amount": (1234567.5, '#,##0.00"원"'),
            "rate": (0.15, "0%"),
            "code": (42, "@"),  # a text format on a number: shown as General
            "plain": (1234567.5, "General"),
        },
    )
    assert row.variables == {
        "phone": "010-1234-5678",
        "amount": "1,234,567.50원",
        "rate": "15%",
        "code": "42",
        "plain": "1234567.5",
    }


def test_xlsx_dates_read_as_their_format_shows_them_or_iso(tmp_path: Path) -> None:
    moment = datetime(2026, 12, 25, 14, 5)
    row = formatted_row(
        tmp_path / "dates.xlsx",
        {
            "korean": (moment, 'yyyy"년" m"월" d"일" aaaa'),
            "system": (moment, "mm-dd-yy"),  # Excel's short date: year first for a Korean reader
            "clock": (moment, "h:mm"),
            "named": (moment, "mmmm d"),  # a month name: language-dependent, so ISO
        },
    )
    assert row.variables == {
        "korean": "2026년 12월 25일 금요일",
        "system": "2026-12-25",
        "clock": "14:05",
        "named": "2026-12-25 14:05:00",
    }


def test_xlsx_sheet_by_name_or_number(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "book.xlsx", {"a": [["to"], ["010-1111-1111"]], "b": [["to"], ["010-2222-2222"]]}
    )
    for sheet in ("b", "2"):
        (row,) = rows_of(path, sheet=sheet)
        assert isinstance(row, Row) and row.fields["to"] == "010-2222-2222"
    with pytest.raises(InvalidInput) as caught:
        rows_of(path, sheet="missing")
    assert caught.value.code == "MISSING_SHEET" and "'a'" in caught.value.message


def test_a_workbook_is_never_read_as_text_whatever_its_name(tmp_path: Path) -> None:
    xlsx = workbook(tmp_path / "book.xlsx", {"s": [["to"], ["010-1111-1111"]]})
    renamed = tmp_path / "book.csv"
    renamed.write_bytes(Path(xlsx).read_bytes())
    (row,) = rows_of(str(renamed), format="csv")
    assert isinstance(row, Row) and row.fields["to"] == "010-1111-1111"


def test_xlsx_without_openpyxl_says_which_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook(tmp_path / "book.xlsx", {"s": [["to"], ["010-1111-1111"]]})
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(InvalidInput) as caught:
        rows_of(path)
    assert caught.value.code == "INVALID_FORMAT"
    assert "kmsg[xlsx]" in (caught.value.hint or "") and "CSV UTF-8" in (caught.value.hint or "")


def test_old_xls_is_refused_with_a_save_as_hint(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(InvalidInput) as caught:
        rows_of(str(path))
    assert "Excel 97-2003" in caught.value.message and "CSV UTF-8" in (caught.value.hint or "")


def test_a_broken_zip_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 20)
    with pytest.raises(InvalidInput) as caught:
        rows_of(str(path))
    assert caught.value.code == "INVALID_FORMAT" and "not a readable .xlsx" in caught.value.message


# --- column mapping and the id column ----------------------------------------------------------


def test_korean_headers_mapped_to_recognised_columns() -> None:
    data = f"전화번호,내용,이름\n010-1234-5678,안녕 #{{이름}},{KOREAN}\n".encode()
    columns = ColumnMap.parse(["to=전화번호", "text=내용"])
    (row,) = from_bytes(data, columns=columns)
    assert isinstance(row, Row)
    assert row.fields == {"to": "010-1234-5678", "text": "안녕 #{이름}"}
    assert row.variables == {"이름": KOREAN}


def test_a_mapped_header_that_is_missing_names_what_was_found() -> None:
    with pytest.raises(InvalidInput) as caught:
        from_bytes(b"phone,text\n010\n", columns=ColumnMap.parse(["to=HP"]))
    assert caught.value.code == "MISSING_COLUMN" and "'HP'" in caught.value.message
    assert "'phone'" in caught.value.message


def test_mapping_onto_a_name_the_file_also_has_shadows_the_original() -> None:
    # --column to=휴대폰: the file's own "to" column is then ordinary data
    data = b"to,\xed\x9c\xb4\xeb\x8c\x80\xed\x8f\xb0\nold,010-1234-5678\n"
    (row,) = from_bytes(data, columns=ColumnMap.parse(["to=휴대폰"]))
    assert isinstance(row, Row)
    assert row.fields == {"to": "010-1234-5678"} and row.variables == {"to": "old"}


@pytest.mark.parametrize(
    ("pairs", "wanted"),
    [(["to"], "NAME=HEADER"), (["phone=HP"], "'phone' is not a column"), (["=HP"], "NAME=HEADER")],
)
def test_bad_column_mappings_are_usage_errors(pairs: list[str], wanted: str) -> None:
    with pytest.raises(UsageError) as caught:
        ColumnMap.parse(pairs)
    assert wanted in caught.value.message and caught.value.field == "column"


def test_id_column_in_jsonl_and_csv() -> None:
    columns = ColumnMap.parse([], "주문번호")
    (row,) = from_bytes(
        b'{"to": "010-1234-5678", "\\uc8fc\\ubb38\\ubc88\\ud638": "o-1"}\n', columns=columns
    )
    assert isinstance(row, Row) and row.fields["id"] == "o-1"
    (row,) = from_bytes("to,주문번호\n010-1234-5678,o-2\n".encode(), columns=columns)
    assert isinstance(row, Row) and row.fields["id"] == "o-2" and row.variables == {}
    with pytest.raises(InvalidInput) as caught:
        from_bytes(b"to,id\n010-1234-5678,1\n", columns=columns)
    assert caught.value.field == "id-column"


def test_jsonl_options_may_be_an_object() -> None:
    (row,) = from_bytes(b'{"to": "010-1234-5678", "options": {"voiceType": "MALE"}}\n')
    assert isinstance(row, Row) and row.fields["options"] == '{"voiceType": "MALE"}'


def test_each_row_knows_its_line_in_the_file() -> None:
    # CSV: the line where the record ends (a blank line and a quoted line break counted)
    csv_rows = from_bytes(
        b'to,name\r\n010-1111-2222,a\r\n\r\n010-3333-4444,"b\r\nc"\r\n010-5555-6666,d\r\n'
    )
    assert [(r.number, r.line) for r in csv_rows if isinstance(r, Row)] == [(1, 2), (2, 5), (3, 6)]
    jsonl = from_bytes(b'{"to": "010-1111-2222"}\n\n{"to": "010-3333-4444"}\n', format="jsonl")
    assert [(r.number, r.line) for r in jsonl if isinstance(r, Row)] == [(1, 1), (2, 3)]
    # where a row stands is not what it holds: rows compare by their content
    assert csv_rows[0] == Row(1, {"to": "010-1111-2222"}, {"name": "a"})
