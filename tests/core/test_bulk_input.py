"""open_rows: CSV / JSON Lines recipients for send-many, streamed, with row-level errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsg_cli.bulk_input import MAX_FIELD, RECOGNISED, Row, RowError, RowSource, open_rows
from kmsg_cli.errors import InvalidInput, UsageError

KOREAN = "홍길동"


def read_all(source: RowSource) -> list[Row | RowError]:
    with source:
        return list(source)


def from_stdin(data: bytes, **options: Any) -> list[Row | RowError]:
    return read_all(open_rows("-", stdin=io.BytesIO(data), **options))


def rows_only(items: list[Row | RowError]) -> list[Row]:
    assert all(isinstance(item, Row) for item in items), items
    return [item for item in items if isinstance(item, Row)]


def one_line(err: InvalidInput | UsageError | RowError) -> str:
    message = err.message
    assert "\n" not in message and "\r" not in message
    return message


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# --- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (f"to,name\n01012345678,{KOREAN}\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + f"to,name\n01012345678,{KOREAN}\n".encode(), "utf-8-sig"),
        (f"to,name\n01012345678,{KOREAN}\n".encode("cp949"), "cp949"),
        # a Hangul syllable cut by the end of the 64 KiB sample is still UTF-8
        (
            b"to,name\n" + b"0" * (64 * 1024 - 10) + f",{KOREAN}\n01012345678,{KOREAN}\n".encode(),
            "utf-8",
        ),
    ],
    ids=["utf-8", "utf-8-bom", "cp949", "utf-8-cut-sample"],
)
def test_encoding_is_detected_and_decoded(data: bytes, encoding: str) -> None:
    with open_rows("-", stdin=io.BytesIO(data)) as source:
        assert source.encoding == encoding
        assert source.columns == ["to", "name"]
        rows = rows_only(list(source))
    assert rows[-1] == Row(len(rows), {"to": "01012345678"}, {"name": KOREAN})


@pytest.mark.parametrize(
    ("data", "option", "used"),
    [
        (f"to,name\n010,{KOREAN}\n".encode("euc-kr"), "euc-kr", "euc-kr"),
        (f"to,name\n010,{KOREAN}\n".encode("cp949"), " CP949 ", "CP949"),
        (f"to,name\n010,{KOREAN}\n".encode("utf-16"), "utf-16", "utf-16"),
        # an explicit utf-8 still drops the BOM, else it would hide the `to` column
        (b"\xef\xbb\xbf" + f"to,name\n010,{KOREAN}\n".encode(), "utf-8", "utf-8-sig"),
    ],
    ids=["euc-kr", "cp949-spaces-and-case", "utf-16", "utf-8-with-bom"],
)
def test_explicit_encoding_wins(data: bytes, option: str, used: str) -> None:
    with open_rows("-", stdin=io.BytesIO(data), encoding=option) as source:
        assert source.encoding == used
        assert rows_only(list(source)) == [Row(1, {"to": "010"}, {"name": KOREAN})]


@pytest.mark.parametrize("encoding", ["no-such-codec", "hex", "base64", ""])
def test_unknown_encoding_is_refused(encoding: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        open_rows("-", stdin=io.BytesIO(b"to\n010\n"), encoding=encoding)
    assert caught.value.code == "INVALID_ENCODING"
    assert caught.value.field == "encoding"
    assert repr(encoding)[1:-1] in one_line(caught.value)


def test_cp949_file_forced_to_utf8_fails_naming_the_row() -> None:
    data = f"to,name\n0101,a\n0102,b\n0103,{KOREAN}\n0104,c\n".encode("cp949")
    seen: list[Row | RowError] = []
    with (
        pytest.raises(InvalidInput) as caught,
        open_rows("-", stdin=io.BytesIO(data), encoding="utf-8") as source,
    ):
        for item in source:
            seen.append(item)
    err = caught.value
    assert [row.number for row in rows_only(seen)] == [1, 2]
    assert err.code == "ENCODING_ERROR"
    assert "row 3" in one_line(err)
    assert err.details["row"] == 3
    assert err.hint is not None and "--encoding cp949" in err.hint


def test_cp949_after_a_utf8_looking_sample_fails_naming_the_row() -> None:
    ascii_rows = "".join(f"010{n:08d},plain\n" for n in range(1, 8001))  # > 64 KiB
    data = ("to,name\n" + ascii_rows + f"01099999999,{KOREAN}\n").encode("cp949")
    with open_rows("-", stdin=io.BytesIO(data)) as source:
        assert source.encoding == "utf-8"
        with pytest.raises(InvalidInput) as caught:
            for _ in source:
                pass
    assert caught.value.code == "ENCODING_ERROR"
    assert "row 8001 " in one_line(caught.value)


# --- CSV shape ---------------------------------------------------------------------------------


def test_header_names_are_matched_ignoring_case_and_spaces() -> None:
    data = b" To ,TEXT,  Name  ,Failover_Text\n010,hi,Kim,fb\n"
    with open_rows("-", stdin=io.BytesIO(data)) as source:
        assert source.columns == ["To", "TEXT", "Name", "Failover_Text"]
        rows = rows_only(list(source))
    assert rows == [
        Row(1, {"to": "010", "text": "hi", "failover_text": "fb"}, {"Name": "Kim"}),
    ]


def test_recognised_columns_are_fields_and_the_rest_variables() -> None:
    header = [*RECOGNISED, "name", "쿠폰"]
    values = [f"v-{column}" for column in header]
    data = (",".join(header) + "\n" + ",".join(values) + "\n").encode()
    (row,) = rows_only(from_stdin(data))
    assert row.fields == {column: f"v-{column}" for column in RECOGNISED}
    assert row.variables == {"name": "v-name", "쿠폰": "v-쿠폰"}


@pytest.mark.parametrize(
    ("line", "fields", "variables"),
    [
        ("010,,", {"to": "010"}, {"name": ""}),
        ("010,  hi  ,  Kim ", {"to": "010", "text": "hi"}, {"name": "Kim"}),
        ("010,   ,", {"to": "010"}, {"name": ""}),
        ("010", {"to": "010"}, {"name": ""}),
        (",hello,Kim", {"text": "hello"}, {"name": "Kim"}),
    ],
    ids=["empty-cells", "stripped", "blank-text", "short-record", "no-to-value"],
)
def test_empty_and_missing_cells(line: str, fields: dict[str, str], variables: dict[str, str]):
    data = f"to,text,name\n{line}\n".encode()
    assert rows_only(from_stdin(data)) == [Row(1, fields, variables)]


def test_quoted_cells_keep_commas_quotes_and_newlines() -> None:
    data = b'to,text\r\n010,"a, b"\r\n011,"line 1\r\nline 2"\r\n012,"say ""hi"""\r\n013,"x\ny"\r\n'
    rows = rows_only(from_stdin(data))
    assert [row.fields["text"] for row in rows] == ["a, b", "line 1\r\nline 2", 'say "hi"', "x\ny"]
    assert [row.number for row in rows] == [1, 2, 3, 4]


def test_blank_records_are_skipped_and_not_counted() -> None:
    data = b"\n\nto,name\n\n010,a\n,,\n  ,  \n011,b\n"
    rows = rows_only(from_stdin(data))
    assert [(row.number, row.fields["to"]) for row in rows] == [(1, "010"), (2, "011")]


def test_old_mac_line_endings() -> None:
    rows = rows_only(from_stdin(b"to,name\r010,a\r011,b"))
    assert [row.variables["name"] for row in rows] == ["a", "b"]


def test_unnamed_columns_are_ignored() -> None:
    rows = rows_only(from_stdin(b"to,text,,\n010,hi,,\n"))
    assert rows == [Row(1, {"to": "010", "text": "hi"}, {})]


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        (b"to,text\n010,hello, world\n011,ok\n", "3 cells but the header has 2"),
        (b'to,text\n010,"a"b\n011,ok\n', "not valid CSV"),
        (b"to,text\n010,a\x00b\n011,ok\n", "NUL"),
        (b"to,text\n\x00,x\n011,ok\n", "NUL"),
    ],
    ids=["more-cells-than-header", "stray-quote", "nul-byte", "nul-only-cell"],
)
def test_bad_record_is_a_row_error_and_the_next_row_still_comes(
    data: bytes, message_part: str
) -> None:
    first, second = from_stdin(data)
    assert isinstance(first, RowError)
    assert (first.number, first.code) == (1, "BAD_ROW")
    assert message_part in one_line(first)
    assert "row 1" in first.message
    assert second == Row(2, {"to": "011", "text": "ok"}, {})


def test_unterminated_quote_at_the_end_is_a_row_error() -> None:
    items = from_stdin(b'to,text\n010,ok\n011,"never closed\nmore\n')
    assert items[0] == Row(1, {"to": "010", "text": "ok"}, {})
    assert isinstance(items[1], RowError)
    assert items[1].code == "BAD_ROW"


def test_cell_over_the_size_limit_is_a_row_error() -> None:
    data = b"to,text\n010," + b"x" * (MAX_FIELD + 1) + b"\n011,ok\n"
    first, second = from_stdin(data)
    assert isinstance(first, RowError)
    assert first.code == "BAD_ROW"
    assert second == Row(2, {"to": "011", "text": "ok"}, {})


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"phone,text\n010,hi\n", "'phone', 'text'"),
        (b"01012345678,hello\n", "'01012345678', 'hello'"),
        (b"\xef\xbb\xbfname\n", "'name'"),
    ],
    ids=["other-names", "no-header-row", "bom-single-column"],
)
def test_missing_to_column_fails_before_any_row(data: bytes, found: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        open_rows("-", stdin=io.BytesIO(data))
    err = caught.value
    assert (err.code, err.field) == ("MISSING_COLUMN", "to")
    assert found in one_line(err)


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("이름,휴대폰번호", "map it: --column 'to=휴대폰번호' (or rename it 'to')"),
        ("주문번호,Mobile Phone", "map it: --column 'to=Mobile Phone' (or rename it 'to')"),
        ("주문번호,이름", "name the phone number column 'to', or map it: --column to=전화번호"),
    ],
    ids=["korean-export", "spaces-quoted", "nothing-like-a-phone"],
)
def test_a_header_that_looks_like_the_phone_column_is_suggested(header: str, hint: str) -> None:
    # A guess is only suggested: 주문번호 (an order number) is never taken for the phone
    with pytest.raises(InvalidInput) as caught:
        open_rows("-", stdin=io.BytesIO(f"{header}\n1,2\n".encode()))
    assert caught.value.code == "MISSING_COLUMN" and caught.value.hint == hint


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom"])
def test_input_without_a_header_is_missing_the_to_column(data: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        open_rows("-", stdin=io.BytesIO(data))
    assert caught.value.code == "MISSING_COLUMN"
    one_line(caught.value)


def test_duplicate_header_after_normalisation_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        open_rows("-", stdin=io.BytesIO(b"to,Name, name \n010,a,b\n"))
    assert caught.value.code == "DUPLICATE_COLUMN"
    assert "'name'" in one_line(caught.value)


# --- files -------------------------------------------------------------------------------------


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.csv")
    with pytest.raises(InvalidInput) as caught:
        open_rows(path)
    assert (caught.value.code, caught.value.field, caught.value.value) == (
        "UNREADABLE_FILE",
        "file",
        path,
    )
    assert path in one_line(caught.value)


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        open_rows(str(tmp_path))
    assert caught.value.code == "UNREADABLE_FILE"


def test_file_without_read_permission_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "secret.csv", b"to\n010\n")
    os.chmod(path, 0)
    if os.geteuid() == 0:
        # root reads anything: the refusal an ordinary user gets comes from the system call
        from kmsg_cli import files

        real_open = os.open

        def refuse(name: str, flags: int, *args: int) -> int:
            if os.fspath(name) == path:
                raise PermissionError(13, "Permission denied", name)
            return real_open(name, flags, *args)

        monkeypatch.setattr(files.os, "open", refuse)
    with pytest.raises(InvalidInput) as caught:
        open_rows(path)
    assert caught.value.code == "UNREADABLE_FILE"
    assert "Permission denied" in caught.value.message


@pytest.mark.parametrize("fmt", ["xml", "docx", ""])
def test_unknown_format_is_refused(fmt: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        open_rows("-", stdin=io.BytesIO(b"to\n010\n"), format=fmt)
    assert (caught.value.code, caught.value.field) == ("INVALID_FORMAT", "format")


def test_file_is_closed_and_stdin_left_open(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", b"to\n010\n")
    source = open_rows(path)
    with source:
        list(source)
    assert source._raw.closed
    stdin = io.BytesIO(b"to\n010\n")
    with open_rows("-", stdin=stdin) as source:
        list(source)
    assert not stdin.closed


def test_failed_open_closes_the_file(tmp_path: Path) -> None:
    # filterwarnings=error turns an unclosed file's ResourceWarning into a failure
    path = write(tmp_path, "a.csv", b"phone\n010\n")
    with pytest.raises(InvalidInput):
        open_rows(path)


# --- format detection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "option", "expected"),
    [
        ("a.csv", b"to\n010\n", None, "csv"),
        ("a.TXT", b"to\n010\n", None, "csv"),
        ("a.jsonl", b'{"to": "010"}\n', None, "jsonl"),
        ("a.ndjson", b'{"to": "010"}\n', None, "jsonl"),
        ("a.json", b'{"to": "010"}\n', None, "jsonl"),
        ("recipients", b'  \n {"to": "010"}\n', None, "jsonl"),
        ("recipients", b'\xef\xbb\xbf{"to": "010"}\n', None, "jsonl"),
        ("recipients.dat", b"to\n010\n", None, "csv"),
        ("a.csv", b'{"to": "010"}\n', "jsonl", "jsonl"),
        ("a.jsonl", b"to\n010\n", "CSV", "csv"),
        ("a.data", b'{"to": "010"}\n', "ndjson", "jsonl"),
    ],
)
def test_format_from_extension_then_content(
    tmp_path: Path, name: str, data: bytes, option: str | None, expected: str
) -> None:
    path = write(tmp_path, name, data)
    with open_rows(path, format=option) as source:
        assert source.format == expected
        assert rows_only(list(source)) == [Row(1, {"to": "010"}, {})]
    # without a name, the content decides (or the option): the same answer here
    with open_rows("-", stdin=io.BytesIO(data), format=option) as source:
        assert source.format == expected


def test_extension_wins_over_content(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", b'{"to": "010"}\n')
    with pytest.raises(InvalidInput) as caught:
        open_rows(path)
    assert caught.value.code == "MISSING_COLUMN"


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b'{"to": "010"}\n', "jsonl"), (b"to\n010\n", "csv"), (b'\n\t{"to":"010"}', "jsonl")],
)
def test_stdin_format_is_sniffed(data: bytes, expected: str) -> None:
    with open_rows("-", stdin=io.BytesIO(data)) as source:
        assert source.format == expected
        assert rows_only(list(source)) == [Row(1, {"to": "010"}, {})]


def test_json_array_is_not_json_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", b'[{"to": "010"}]\n')
    with pytest.raises(InvalidInput) as caught:
        open_rows(path)
    assert caught.value.code == "INVALID_FORMAT"
    assert "JSON array" in one_line(caught.value)


# --- JSON Lines --------------------------------------------------------------------------------


def test_jsonl_values_are_rendered_as_text() -> None:
    line = {
        " To ": " 010 ",
        "TEXT": "hi #{n}",
        "subject": None,
        "n": 1,
        "price": 2.5,
        "big": 10**20,
        "ok": True,
        "no": False,
        "none": None,
        "empty": "",
    }
    (row,) = rows_only(from_stdin(json.dumps(line).encode() + b"\n"))
    assert row.fields == {"to": "010", "text": "hi #{n}"}
    assert row.variables == {
        "n": "1",
        "price": "2.5",
        "big": "100000000000000000000",
        "ok": "true",
        "no": "false",
        "none": "",
        "empty": "",
    }


def test_jsonl_blank_lines_are_skipped_and_not_counted() -> None:
    data = b'\n{"to": "010"}\n   \n\r\n{"to": "011"}\r\n{"to": "012"}'
    rows = rows_only(from_stdin(data))
    assert [(row.number, row.fields["to"]) for row in rows] == [(1, "010"), (2, "011"), (3, "012")]


def test_jsonl_row_without_to_is_still_yielded() -> None:
    assert rows_only(from_stdin(b'{"text": "hi"}\n')) == [Row(1, {"text": "hi"}, {})]


@pytest.mark.parametrize(
    ("line", "code", "message_part"),
    [
        (b'{"to": "010", "vars": {"a": 1}}', "BAD_ROW", "'vars' holds an object"),
        (b'{"to": ["010", "011"]}', "BAD_ROW", "'to' holds an array"),
        (b"[1, 2]", "BAD_ROW", "an array, not a JSON object"),
        (b'"010"', "BAD_ROW", "a string, not a JSON object"),
        (b"42", "BAD_ROW", "a number, not a JSON object"),
        (b"null", "BAD_ROW", "null, not a JSON object"),
        (b"to,text", "BAD_ROW", "not valid JSON"),
        (b'{"to": "010"', "BAD_ROW", "not valid JSON"),
        (b'{"to": NaN}', "BAD_ROW", "NaN"),
        (b'{"to": "010", "TO": "011"}', "DUPLICATE_COLUMN", "twice"),
        (b'{"to": "0\\u00001"}', "BAD_ROW", "NUL"),
    ],
)
def test_jsonl_bad_line_is_a_row_error_and_iteration_goes_on(
    line: bytes, code: str, message_part: str
) -> None:
    data = b'{"to": "010"}\n' + line + b'\n{"to": "012"}\n'
    first, bad, last = from_stdin(data)
    assert first == Row(1, {"to": "010"}, {})
    assert isinstance(bad, RowError)
    assert (bad.number, bad.code) == (2, code)
    assert message_part in one_line(bad)
    assert "row 2" in bad.message
    assert last == Row(3, {"to": "012"}, {})


def test_jsonl_must_be_utf8() -> None:
    data = b'{"to": "010"}\n' + f'{{"to": "011", "n": "{KOREAN}"}}\n'.encode("cp949")
    with (
        pytest.raises(InvalidInput) as caught,
        open_rows("-", stdin=io.BytesIO(data)) as source,
    ):
        list(source)
    assert caught.value.code == "ENCODING_ERROR"
    assert "row 2" in one_line(caught.value)


def test_jsonl_refuses_a_non_utf8_encoding_option() -> None:
    with pytest.raises(UsageError) as caught:
        open_rows("-", stdin=io.BytesIO(b'{"to": "010"}\n'), encoding="cp949")
    assert caught.value.field == "encoding"
    one_line(caught.value)


# --- digest and stdin --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        f"to,name\n010,{KOREAN}\n011,x\n".encode("cp949"),
        b"\xef\xbb\xbfto,name\r\n" + b"".join(b"010%07d,n\r\n" % n for n in range(20000)),
        b'{"to": "010"}\n\n{"to": "011"}',
        b'\xef\xbb\xbf{"to": "010"}\n' * 10000,
    ],
    ids=["csv-small", "csv-large-bom", "jsonl-small", "jsonl-large-bom"],
)
def test_digest_is_sha256_of_the_whole_input(tmp_path: Path, data: bytes) -> None:
    expected = hashlib.sha256(data).hexdigest()
    for path, stdin in ((write(tmp_path, "in.data", data), None), ("-", io.BytesIO(data))):
        with open_rows(path, stdin=stdin) as source:
            for _ in source:
                pass
            assert source.digest() == expected


def test_stdin_defaults_to_the_process_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"to\n010\n"

    class FakeStdin:
        buffer = io.BytesIO(data)

    monkeypatch.setattr("sys.stdin", FakeStdin)
    with open_rows("-") as source:
        assert rows_only(list(source)) == [Row(1, {"to": "010"}, {})]
        assert source.digest() == hashlib.sha256(data).hexdigest()


# --- streaming ---------------------------------------------------------------------------------


def test_large_csv_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    rows = 200_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("to,text,name\n")
        block = 10_000
        for start in range(0, rows, block):
            out.write(
                "".join(
                    f"010{n:08d},안녕하세요 #{{name}}님,{KOREAN}{n}\n"
                    for n in range(start, start + block)
                )
            )
    began = time.perf_counter()
    tracemalloc.start()
    try:
        count = 0
        last: Row | RowError | None = None
        with open_rows(str(path)) as source:
            for last in source:  # noqa: B007 - `last` is checked after the loop
                count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows
    assert isinstance(last, Row) and last.number == rows
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while reading {path.stat().st_size}"
    assert time.perf_counter() - began < 30  # generous: only catches something pathological


# --- property ----------------------------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
_NAMES = st.one_of(
    st.sampled_from([name for name in RECOGNISED if name != "to"] + ["Text", "NAME", "쿠폰"]),
    _TEXT.map(str.strip).filter(bool),
)


@settings(deadline=None, max_examples=150)
@given(
    names=st.lists(_NAMES, max_size=5, unique_by=str.lower).filter(
        lambda names: "to" not in [name.lower() for name in names]
    ),
    data=st.data(),
)
def test_csv_written_by_dictwriter_reads_back_equal(names: list[str], data: Any) -> None:
    header = ["to", *names]
    records = data.draw(st.lists(st.fixed_dictionaries(dict.fromkeys(header, _TEXT))))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(records)

    expected: list[Row | RowError] = []
    for record in records:
        if not any(value.strip() for value in record.values()):
            continue  # a fully blank record is skipped
        fields: dict[str, str] = {}
        variables: dict[str, str] = {}
        for name, value in record.items():
            if name.lower() in RECOGNISED:
                if value.strip():
                    fields[name.lower()] = value.strip()
            else:
                variables[name] = value.strip()
        expected.append(Row(len(expected) + 1, fields, variables))

    got = from_stdin(buffer.getvalue().encode(), format="csv")
    assert got == expected
