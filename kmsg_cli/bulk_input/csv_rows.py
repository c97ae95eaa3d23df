"""CSV and TSV input: a header row, then one record per recipient (docs/bulk-input.md).

The delimiter is a comma unless `--delimiter` says otherwise or the header line holds no comma
but tabs (Excel's "Unicode text" export is tab-separated UTF-16), semicolons (Excel's CSV where
the comma is the decimal mark) or bars. Only an undecodable row
(`ENCODING_ERROR`), a line too long to be CSV (`BAD_CSV`) or a read failure is raised
mid-stream; any other bad record becomes a `RowError` and the rest goes on.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator

from kmsg_cli.bulk_input.columns import ColumnPlan
from kmsg_cli.bulk_input.encoding import detect_encoding, is_utf8
from kmsg_cli.bulk_input.raw import CHUNK, SAMPLE, HashingRaw
from kmsg_cli.bulk_input.rows import MAX_FIELD, Row, RowError, RowSource, short
from kmsg_cli.errors import InvalidInput, UsageError
from kmsg_cli.errors import quoted as _quote

# A physical CSV line longer than this cannot be a sane record (a binary file, a lost newline).
_MAX_LINE = 4 * MAX_FIELD
_READ_LIMIT = 1024 * 1024  # per readline call, so one huge line is read in bounded pieces
_DELIMITERS = {",": ",", "\t": "\t", "tab": "\t", "\\t": "\t", ";": ";", "|": "|"}
# Bytes the codec cannot decode come through as lone surrogates, which no valid input produces,
# so the row at fault can be named. The text layer decodes ahead of the lines it returns, so the
# handler also counts: lines are searched for surrogates only once the count has moved, which
# keeps the check off the per-row hot path.
_UNDECODED = re.compile("[\udc80-\udcff]+")
# Lone surrogates in any range: what escape-style codecs (utf-7, unicode_escape, ...) can decode
# to. No valid text has them and nothing can store them.
_SURROGATES = re.compile("[\ud800-\udfff]")
# Codecs whose decoders never produce a surrogate by themselves: only the error handler does.
_PLAIN_CODECS = frozenset({"utf-8", "utf-8-sig", "cp949", "euc_kr"})
_ERRORS = "kmsg-bulk-input"
_undecodable = 0
_surrogateescape = codecs.lookup_error("surrogateescape")


def _count_undecodable(exc: UnicodeError) -> tuple[str | bytes, int]:
    global _undecodable
    _undecodable += 1
    return _surrogateescape(exc)


codecs.register_error(_ERRORS, _count_undecodable)


def check_delimiter(value: str) -> str:
    """`--delimiter`: one of , ; | or a tab (`tab`, `\\t`); UsageError otherwise."""
    found = _DELIMITERS.get(value if value in _DELIMITERS else value.strip().lower())
    if found is None:
        raise UsageError(
            f"--delimiter {_quote(value)} is not a delimiter kmsg reads (field 'delimiter')",
            code="INVALID_DELIMITER",
            field="delimiter",
            value=value,
            hint="use ',', ';', '|' or tab",
        )
    return found


class _DecodeFailure(Exception):
    """An undecodable line, carried out of csv.reader to where the row number is known."""

    def __init__(self, line: str, bad: bytes | None = None) -> None:
        super().__init__(line)
        self.line = line
        self.bad = bad  # the bytes at fault when the codec itself failed


class _LineTooLong(Exception):
    pass


class _CsvRecords:
    """csv.reader over the decoded text, skipping blank records and flagging NUL bytes."""

    def __init__(self, text: io.TextIOWrapper, encoding: str, delimiter: str) -> None:
        self.encoding = encoding
        self.detected = False  # True when `encoding` was guessed, not given with --encoding
        self._text = text
        self.nul = False  # set when a line of the record being read contains NUL
        # strict: a stray quote (`"a"b`) or a quote left open at the end is an error, not a
        # silently merged cell
        self._reader = csv.reader(self._lines(), strict=True, delimiter=delimiter)

    @property
    def line(self) -> int:
        return self._reader.line_num

    def _lines(self) -> Iterator[str]:
        readline = self._text.readline
        undecodable = _undecodable
        plain = codecs.lookup(self.encoding).name in _PLAIN_CODECS
        suspect = _UNDECODED if plain else _SURROGATES
        while True:
            try:
                line = readline(_READ_LIMIT)
                if len(line) == _READ_LIMIT and not line.endswith(("\n", "\r")):
                    line = self._rest_of_line(line)
            except UnicodeError as exc:
                # What the error handler cannot carry: bytes below 0x80 in a UTF-16/32 error,
                # a UTF-16 file without a byte order mark.
                bad = (
                    exc.object[exc.start : exc.end] if isinstance(exc, UnicodeDecodeError) else b""
                )
                raise _DecodeFailure("", bytes(bad)) from None
            if not line:
                return
            if (not plain or undecodable != _undecodable) and suspect.search(line):
                raise _DecodeFailure(line)
            if "\x00" in line:
                # Python >= 3.11's csv accepts NUL; a NUL in a spreadsheet export means a
                # binary or UTF-16 file, so the row is refused
                self.nul = True
            yield line

    def _rest_of_line(self, start: str) -> str:
        parts = [start]
        size = len(start)
        while True:
            more = self._text.readline(_READ_LIMIT)
            if not more:
                break
            size += len(more)
            if size > _MAX_LINE:
                raise _LineTooLong
            parts.append(more)
            if len(more) < _READ_LIMIT or more.endswith(("\n", "\r")):
                break
        return "".join(parts)

    def next(self, number: int) -> list[str] | None:
        """The next record not entirely blank, or None at the end; may raise csv.Error."""
        while True:
            self.nul = False
            try:
                cells = next(self._reader)
            except StopIteration:
                return None
            except _DecodeFailure as failure:
                raise self._encoding_error(number, failure.line, failure.bad) from None
            except _LineTooLong:
                raise InvalidInput(
                    f"{_where(number)} (line {self.line + 1}) is longer than "
                    f"{_MAX_LINE // 2**20} MiB without a line break; this is not a CSV file",
                    code="BAD_CSV",
                    field="file",
                    details={"row": number, "line": self.line + 1},
                ) from None
            if not cells:
                continue  # a blank line
            first = cells[0]
            if first and not first.isspace():
                return cells
            for cell in cells:
                if cell and not cell.isspace():
                    return cells

    def _encoding_error(self, number: int, line: str, bad: bytes | None = None) -> InvalidInput:
        other = "cp949" if is_utf8(self.encoding) else "utf-8"
        if bad is None:
            found = _UNDECODED.search(line)
            bad = bytes(ord(ch) - 0xDC00 for ch in found.group()[:4]) if found else b""
        what = f"invalid bytes {bad[:4].hex(' ')}" if bad else "no valid text"
        at = self.line + 1
        hint = f"re-run with --encoding {other}"
        if self.detected and not is_utf8(self.encoding):
            # CP949 was chosen because UTF-8 had already failed: suggesting it again loops
            hint = "it is neither UTF-8 nor CP949: save it as UTF-8, or name it with --encoding"
        return InvalidInput(
            f"{_where(number)} (line {at}) cannot be decoded as {self.encoding}: "
            f"{what}; the file is probably in another encoding",
            code="ENCODING_ERROR",
            field="encoding",
            value=self.encoding,
            hint=hint,
            details={"row": number, "line": at},
        )


def _where(number: int) -> str:
    return f"row {number}" if number else "the header row"


def _sniff_delimiter(raw: HashingRaw, encoding: str, tsv_name: bool) -> str:
    """Tab when the file is named .tsv; else a comma, unless the header line has none but has
    tabs, semicolons (Excel where the comma is the decimal mark) or bars: the most of those."""
    if tsv_name:
        return "\t"
    sample = raw.peek(SAMPLE)
    try:
        header = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample)
    except UnicodeError:  # e.g. UTF-16 without a byte order mark: reported when read
        return ","
    first = header.lstrip("\ufeff").split("\n", 1)[0]
    if "," in first:
        return ","
    counts = {mark: first.count(mark) for mark in _SNIFFED}
    mark = max(_SNIFFED, key=counts.__getitem__)  # ties: the order of _SNIFFED
    return mark if counts[mark] else ","


_SNIFFED = ("\t", ";", "|")  # the delimiters a header line without commas may show


def open_csv(
    raw: HashingRaw,
    explicit: str | None,
    plan: ColumnPlan,
    *,
    delimiter: str | None = None,
    tsv_name: bool = False,
) -> RowSource:
    encoding = detect_encoding(raw, explicit)
    chosen = delimiter or _sniff_delimiter(raw, encoding, tsv_name)
    # Process-wide; nothing in kmsg wants the smaller default.
    csv.field_size_limit(MAX_FIELD)
    text = io.TextIOWrapper(
        io.BufferedReader(raw, CHUNK), encoding=encoding, errors=_ERRORS, newline=""
    )
    records = _CsvRecords(text, encoding, chosen)
    records.detected = explicit is None
    try:
        header = records.next(0)
    except csv.Error as exc:
        raise InvalidInput(
            f"the header row (line {records.line}) is not valid CSV: {exc}",
            code="BAD_CSV",
            field="file",
        ) from None
    if header is None:
        raise InvalidInput(
            "the CSV input is empty: it needs a header row with a 'to' column",
            code="MISSING_COLUMN",
            field="to",
            hint="start the file with a header such as: to,text",
        )
    columns = [cell.strip() for cell in header]
    keys = plan.plan_header(columns)
    return RowSource(
        raw=raw,
        top=text,
        format="tsv" if chosen == "\t" else "csv",
        encoding=encoding,
        columns=columns,
        rows=_csv_rows(records, keys, chosen),
    )


def _csv_rows(
    records: _CsvRecords, plan: list[tuple[bool, str] | None], delimiter: str
) -> Iterator[Row | RowError]:
    width = len(plan)
    number = 0
    while True:
        number += 1
        try:
            cells = records.next(number)
        except csv.Error as exc:
            yield RowError(
                number,
                "BAD_ROW",
                f"row {number} (line {records.line}) is not valid CSV: {exc}",
                None,
            )
            continue
        if cells is None:
            return
        if len(cells) > width or records.nul:
            yield _bad_record(number, cells, plan, records.line, delimiter)
            continue
        if len(cells) < width:
            cells += [""] * (width - len(cells))  # the missing cells are empty
        fields: dict[str, str] = {}
        variables: dict[str, str] = {}
        # an index loop rather than zip(): this is the per-row hot path
        index = 0
        for column in plan:
            if column is not None:
                if column[0]:
                    value = cells[index].strip()
                    if value:
                        fields[column[1]] = value
                else:
                    variables[column[1]] = cells[index].strip()
            index += 1
        yield Row(number, fields, variables, records.line)


def _bad_record(
    number: int, cells: list[str], plan: list[tuple[bool, str] | None], line: int, delimiter: str
) -> RowError:
    width = len(plan)
    if len(cells) > width:
        extra = delimiter.join(cells[width:]).replace("\x00", "\\x00")
        named = {"\t": "tabs", ",": "commas"}.get(delimiter, f"'{delimiter}'")
        return RowError(
            number,
            "BAD_ROW",
            f"row {number} (line {line}) has {len(cells)} cells but the header has {width} "
            f"columns (extra: {_quote(extra)}); quote cells that contain {named}",
            short(extra),
        )
    index, cell = next(((i, c) for i, c in enumerate(cells) if "\x00" in c), (0, ""))
    column = plan[index] if index < width else None
    name = column[1] if column is not None else f"#{index + 1}"
    return RowError(
        number,
        "BAD_ROW",
        f"row {number} (line {line}) column {_quote(name)} contains a NUL byte; "
        "is this a binary or UTF-16 file?",
        short(cell.replace("\x00", "\\x00")),
    )
