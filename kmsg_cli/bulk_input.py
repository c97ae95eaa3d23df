"""Stream the recipients of `kmsg send-many FILE` from CSV or JSON Lines (docs/cli.md).

`open_rows(path)` checks what can be checked up front (the file opens, the format and encoding,
the CSV header has a `to` column) and raises `InvalidInput` before yielding anything. Iterating
the `RowSource` then yields one `Row` per data record, or a `RowError` for a record that cannot
be parsed; the caller reports those and goes on. Only an undecodable row (`ENCODING_ERROR`), a
line too long to be CSV (`BAD_CSV`) or a read failure (`UNREADABLE_FILE`) is raised mid-stream.

Files and standard input go through one path: a raw reader that feeds every byte to sha256
(`digest()`), under the usual buffered and text layers, so memory stays flat in the row count.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol

from kmsg_cli.cp949 import check_sample
from kmsg_cli.errors import InvalidInput, UsageError
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.files import NotRegularFile, open_regular

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["MAX_FIELD", "RECOGNISED", "Row", "RowError", "RowSource", "open_rows"]

RECOGNISED = (
    "to",
    "text",
    "type",
    "subject",
    "from",
    "template",
    "image",
    "provider",
    "at",
    "id",
    "failover_text",
)
_RECOGNISED_SET = frozenset(RECOGNISED)

# The csv module's default (128 KiB) is too small for long texts pasted into one cell; 16 MiB is
# far beyond any message and still bounds memory. JSON lines get the same limit.
MAX_FIELD = 16 * 1024 * 1024
# A physical CSV line longer than this cannot be a sane record (a binary file, a lost newline).
_MAX_LINE = 4 * MAX_FIELD
_CHUNK = 64 * 1024
_SAMPLE = 64 * 1024  # bytes looked at to sniff the format and the encoding
_READ_LIMIT = 1024 * 1024  # per readline call, so one huge line is read in bounded pieces
_BOM = codecs.BOM_UTF8
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".txt": "csv",
}
_FORMATS = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl"}
# Bytes the codec cannot decode come through as lone surrogates, which no valid input produces,
# so the row at fault can be named. The text layer decodes ahead of the lines it returns, so the
# handler also counts: lines are searched for surrogates only once the count has moved, which
# keeps the check off the per-row hot path.
_UNDECODED = re.compile("[\udc80-\udcff]+")
# Lone surrogates in any range: what escape-style codecs (utf-7, unicode_escape, ...) can decode
# to, and what JSON `\ud800` escapes give. No valid text has them and nothing can store them.
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


@dataclass(frozen=True, slots=True)
class Row:
    """One data record.

    `number` is the 1-based data row number: for CSV the first record after the header is 1 and
    fully empty records (every cell blank, e.g. `,,,`) are skipped without being counted; for
    JSON Lines it is the index among non-blank lines. `fields` holds the recognised columns that
    are present and non-empty, stripped; `variables` every other column under its stripped
    header name, stripped, empty kept as "".
    """

    number: int
    fields: dict[str, str]
    variables: dict[str, str]


@dataclass(frozen=True, slots=True)
class RowError:
    """A record that could not be parsed; `message` is one line and already names the row."""

    number: int
    code: str
    message: str
    value: str | None


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def _short(value: str, limit: int = 200) -> str:
    """`value` cut to `limit` characters, for the `value` member of an error."""
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _unreadable(name: str, exc: OSError) -> InvalidInput:
    reason = exc.strerror or type(exc).__name__
    return InvalidInput(
        f"cannot read input file {_quote(name)}: {reason}",
        code="UNREADABLE_FILE",
        field="file",
        value=name,
    )


class _HashingRaw(io.RawIOBase):
    """The input as a raw stream: every byte read from the source feeds sha256 exactly once.

    `peek` reads ahead for sniffing; those bytes are served again by `readinto`.
    """

    def __init__(self, source: _Readable, name: str, owned: BinaryIO | None) -> None:
        super().__init__()
        self._source = source
        self._name = name
        self._owned = owned
        self._sha = hashlib.sha256()
        self._ahead = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def _read(self, size: int) -> bytes:
        if self._eof:
            return b""
        try:
            data = self._source.read(size)
        except OSError as exc:
            raise _unreadable(self._name, exc) from None
        if data:
            self._sha.update(data)
        else:
            self._eof = True
        return data

    def peek(self, size: int) -> bytes:
        """Up to `size` bytes from the current position; fewer only at end of input."""
        while len(self._ahead) < size:
            data = self._read(max(size - len(self._ahead), _CHUNK))
            if not data:
                break
            self._ahead += data
        return self._ahead[:size]

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._ahead:
            data = self._ahead[: len(view)]
            self._ahead = self._ahead[len(data) :]
        else:
            data = self._read(len(view))
        view[: len(data)] = data
        return len(data)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def close(self) -> None:
        # standard input is not ours to close
        if self._owned is not None:
            self._owned.close()
            self._owned = None
        super().close()


def _check_encoding(encoding: str) -> str:
    """The codec name as given (stripped), or `InvalidInput` INVALID_ENCODING."""
    name = encoding.strip()
    try:
        info = codecs.lookup(name)
        b"to".decode(name, "ignore")  # rejects bytes-to-bytes codecs such as 'hex' or 'base64'
        if info.incrementaldecoder is None:
            raise LookupError(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name, the 'undefined' codec
        raise InvalidInput(
            f"{_quote(encoding)} is not a known text encoding (field 'encoding')",
            code="INVALID_ENCODING",
            field="encoding",
            value=encoding,
            hint="use utf-8, utf-8-sig, cp949 or euc-kr",
        ) from None
    return name


def _check_format(format: str) -> str:
    found = _FORMATS.get(format.strip().lower())
    if found is None:
        raise InvalidInput(
            f"{_quote(format)} is not a supported input format (field 'format')",
            code="INVALID_FORMAT",
            field="format",
            value=format,
            hint="use csv or jsonl",
        )
    return found


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}


def _detect_format(path: str, raw: _HashingRaw) -> str:
    if path != "-":
        found = _EXTENSIONS.get(os.path.splitext(path)[1].lower())
        if found is not None:
            return found
    head = raw.peek(_SAMPLE).removeprefix(_BOM).lstrip()
    # `[` too, so that a JSON array is reported as such rather than as a CSV without `to`
    return "jsonl" if head.startswith((b"{", b"[")) else "csv"


def _detect_encoding(raw: _HashingRaw, explicit: str | None) -> str:
    sample = raw.peek(_SAMPLE)
    if explicit is not None:
        # A BOM would otherwise end up in the first header name and hide the `to` column.
        if codecs.lookup(explicit).name == "utf-8" and sample.startswith(_BOM):
            return "utf-8-sig"
        return explicit
    if sample.startswith(_BOM):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # neither UTF-8 nor CP949 can start so; say what it is instead of "try utf-8"
        raise InvalidInput(
            "the input is UTF-16 (it starts with a UTF-16 byte order mark), not UTF-8 or CP949",
            code="ENCODING_ERROR",
            field="encoding",
            value="utf-16",
            hint="re-run with --encoding utf-16, or save the file as UTF-8",
        )
    at_eof = len(sample) < _SAMPLE
    try:
        # not final unless at EOF: a multi-byte character may be cut at the end of the sample
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=at_eof)
    except UnicodeDecodeError:
        check_sample(sample, at_eof)  # Shift-JIS or GBK read as CP949 is refused
        return "cp949"  # what Korean Excel writes by default
    return "utf-8"


class RowSource:
    """An open input: iterate it for `Row | RowError`; use it as a context manager.

    `format` is "csv" or "jsonl", `encoding` the encoding actually used, `columns` the stripped
    CSV header cells (None for JSON Lines). `digest()` is the hex sha256 of the raw bytes read
    so far: after iterating to the end, the content hash of the whole input.
    """

    def __init__(
        self,
        *,
        raw: _HashingRaw,
        top: IO[Any],
        format: str,
        encoding: str,
        columns: list[str] | None,
        rows: Iterator[Row | RowError],
    ) -> None:
        self._raw = raw
        self._top = top
        self.format = format
        self.encoding = encoding
        self.columns = columns
        self._rows = rows

    def __iter__(self) -> Iterator[Row | RowError]:
        # the generator itself, so a for loop does not pass through __next__ for every row
        return self._rows

    def __next__(self) -> Row | RowError:
        return next(self._rows)

    def digest(self) -> str:
        """Hex sha256 of every raw input byte read so far."""
        return self._raw.hexdigest()

    def close(self) -> None:
        """Close the file if this source opened it; standard input is left open."""
        self._top.close()

    def __enter__(self) -> RowSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_rows(
    path: str,
    *,
    encoding: str | None = None,
    format: str | None = None,
    stdin: BinaryIO | None = None,
) -> RowSource:
    """Open `path` (`-` = standard input) and check everything that can be checked up front.

    Raises `InvalidInput` with code UNREADABLE_FILE, INVALID_FORMAT, INVALID_ENCODING,
    MISSING_COLUMN, DUPLICATE_COLUMN or BAD_CSV (a broken header) before yielding any row, and
    `UsageError` when a non-UTF-8 `encoding` is asked for JSON Lines.
    """
    chosen_format = _check_format(format) if format is not None else None
    chosen_encoding = _check_encoding(encoding) if encoding is not None else None
    if path == "-":
        raw = _HashingRaw(stdin if stdin is not None else sys.stdin.buffer, "<stdin>", None)
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
            raise _unreadable(path, exc) from None
        raw = _HashingRaw(file, path, file)
    try:
        fmt = chosen_format or _detect_format(path, raw)
        if fmt == "jsonl":
            return _open_jsonl(raw, chosen_encoding)
        return _open_csv(raw, chosen_encoding)
    except BaseException:
        raw.close()
        raise


# --- CSV ---------------------------------------------------------------------------------------


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

    def __init__(self, text: io.TextIOWrapper, encoding: str) -> None:
        self.encoding = encoding
        self.detected = False  # True when `encoding` was guessed, not given with --encoding
        self._text = text
        self.nul = False  # set when a line of the record being read contains NUL
        # strict: a stray quote (`"a"b`) or a quote left open at the end is an error, not a
        # silently merged cell
        self._reader = csv.reader(self._lines(), strict=True)

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
        other = "cp949" if _is_utf8(self.encoding) else "utf-8"
        if bad is None:
            found = _UNDECODED.search(line)
            bad = bytes(ord(ch) - 0xDC00 for ch in found.group()[:4]) if found else b""
        what = f"invalid bytes {bad[:4].hex(' ')}" if bad else "no valid text"
        at = self.line + 1
        hint = f"re-run with --encoding {other}"
        if self.detected and not _is_utf8(self.encoding):
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


def _open_csv(raw: _HashingRaw, explicit: str | None) -> RowSource:
    encoding = _detect_encoding(raw, explicit)
    # Process-wide; nothing in kmsg wants the smaller default.
    csv.field_size_limit(MAX_FIELD)
    text = io.TextIOWrapper(
        io.BufferedReader(raw, _CHUNK), encoding=encoding, errors=_ERRORS, newline=""
    )
    records = _CsvRecords(text, encoding)
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
    plan = _plan_columns(columns)
    return RowSource(
        raw=raw,
        top=text,
        format="csv",
        encoding=encoding,
        columns=columns,
        rows=_csv_rows(records, plan),
    )


def _plan_columns(columns: list[str]) -> list[tuple[bool, str] | None]:
    """Per column: (recognised?, key), or None for a column without a name (ignored)."""
    plan: list[tuple[bool, str] | None] = []
    seen: dict[str, str] = {}
    for column in columns:
        if "\x00" in column:
            raise InvalidInput(
                f"CSV header column {_quote(column)} contains a NUL byte",
                code="BAD_CSV",
                field="file",
                value=column.replace("\x00", "\\x00"),
                hint="a UTF-16 file? re-run with --encoding utf-16-le, or save it as UTF-8",
            )
        if not column:
            # e.g. the trailing comma that spreadsheets leave after the last column
            plan.append(None)
            continue
        normal = column.lower()
        if normal in seen:
            raise InvalidInput(
                f"CSV header has the column {_quote(column)} twice "
                f"(also as {_quote(seen[normal])}); column names ignore case and spaces",
                code="DUPLICATE_COLUMN",
                field=column,
                value=column,
            )
        seen[normal] = column
        plan.append((True, normal) if normal in _RECOGNISED_SET else (False, column))
    if "to" not in seen:
        found = ", ".join(_quote(c, 40) for c in columns) or "nothing"
        raise InvalidInput(
            f"CSV header has no 'to' column (found: {found})",
            code="MISSING_COLUMN",
            field="to",
            value=",".join(columns),
            hint="the first row must name the columns, e.g. to,text; 'to' holds the phone number",
        )
    return plan


def _csv_rows(
    records: _CsvRecords, plan: list[tuple[bool, str] | None]
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
            yield _bad_record(number, cells, plan, records.line)
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
        yield Row(number, fields, variables)


def _bad_record(
    number: int, cells: list[str], plan: list[tuple[bool, str] | None], line: int
) -> RowError:
    width = len(plan)
    if len(cells) > width:
        extra = ",".join(cells[width:]).replace("\x00", "\\x00")
        return RowError(
            number,
            "BAD_ROW",
            f"row {number} (line {line}) has {len(cells)} cells but the header has {width} "
            f"columns (extra: {_quote(extra)}); quote cells that contain commas",
            _short(extra),
        )
    index, cell = next(((i, c) for i, c in enumerate(cells) if "\x00" in c), (0, ""))
    column = plan[index] if index < width else None
    name = column[1] if column is not None else f"#{index + 1}"
    return RowError(
        number,
        "BAD_ROW",
        f"row {number} (line {line}) column {_quote(name)} contains a NUL byte; "
        "is this a binary or UTF-16 file?",
        _short(cell.replace("\x00", "\\x00")),
    )


# --- JSON Lines --------------------------------------------------------------------------------


class _Object(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs, so duplicate keys are seen, not silently merged."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _open_jsonl(raw: _HashingRaw, explicit: str | None) -> RowSource:
    if explicit is not None and not _is_utf8(explicit):
        raise UsageError(
            f"--encoding {explicit} applies to CSV only: JSON Lines input is always UTF-8",
            field="encoding",
            value=explicit,
        )
    head = raw.peek(_SAMPLE)
    encoding = "utf-8-sig" if head.startswith(_BOM) else "utf-8"
    if head.removeprefix(_BOM).lstrip().startswith(b"["):
        raise InvalidInput(
            "the input is a JSON array, not JSON Lines: write one JSON object per line",
            code="INVALID_FORMAT",
            field="format",
            value="json",
        )
    binary = io.BufferedReader(raw, _CHUNK)
    if encoding == "utf-8-sig":
        binary.read(len(_BOM))
    return RowSource(
        raw=raw,
        top=binary,
        format="jsonl",
        encoding=encoding,
        columns=None,
        rows=_jsonl_rows(binary),
    )


def _read_json_line(binary: io.BufferedReader[Any]) -> tuple[bytes, bool] | None:
    """(line, too_long) or None at the end; of an over-long line only the start is kept."""
    first = binary.readline(_READ_LIMIT)
    if not first:
        return None
    if len(first) < _READ_LIMIT or first.endswith(b"\n"):
        return first, False
    parts = [first]
    size = len(first)
    while True:
        more = binary.readline(_READ_LIMIT)
        if not more:
            break
        size += len(more)
        if size <= MAX_FIELD:
            parts.append(more)
        if more.endswith(b"\n"):
            break
    if size > MAX_FIELD:
        return first, True
    return b"".join(parts), False


def _jsonl_rows(binary: io.BufferedReader[Any]) -> Iterator[Row | RowError]:
    number = 0
    line = 0
    while True:
        read = _read_json_line(binary)
        if read is None:
            return
        data, too_long = read
        line += 1
        if not data.strip():
            continue
        number += 1
        where = f"row {number} (line {line})"
        if too_long:
            shown = data[:80].decode("utf-8", "replace")
            yield RowError(
                number, "BAD_ROW", f"{where} is longer than {MAX_FIELD // 2**20} MiB", shown
            )
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = exc.object[exc.start : min(exc.end, exc.start + 4)]
            raise InvalidInput(
                f"{where} is not valid UTF-8 (invalid bytes {bad.hex(' ')}); "
                "JSON Lines input must be UTF-8",
                code="ENCODING_ERROR",
                field="encoding",
                value="utf-8",
                hint="convert the file to UTF-8, or export CSV and use --encoding cp949",
                details={"row": number, "line": line},
            ) from None
        yield _json_row(number, where, text.strip())


def _json_row(number: int, where: str, text: str) -> Row | RowError:
    try:
        data = json.loads(text, object_pairs_hook=_Object, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # + NaN/Infinity, too long an int, too deep
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return RowError(number, "BAD_ROW", f"{where} is not valid JSON: {reason}", _short(text))
    if not isinstance(data, _Object):
        if isinstance(data, list):
            kind = "an array"
        elif isinstance(data, str):
            kind = "a string"
        elif data is None or isinstance(data, bool):
            kind = json.dumps(data)
        else:
            kind = "a number"
        return RowError(number, "BAD_ROW", f"{where} is {kind}, not a JSON object", _short(text))
    fields: dict[str, str] = {}
    variables: dict[str, str] = {}
    seen: dict[str, str] = {}
    for raw_key, value in data:
        key = raw_key.strip()
        if not key:
            continue  # like a CSV column without a name
        if _SURROGATES.search(key):
            return _not_unicode(number, where, key, key)
        normal = key.lower()
        if normal in seen:
            return RowError(
                number,
                "DUPLICATE_COLUMN",
                f"{where} has the key {_quote(key)} twice (also as {_quote(seen[normal])}); "
                "keys ignore case and spaces",
                key,
            )
        seen[normal] = key
        rendered = _json_value(value)
        if rendered is None:
            kind = "an object" if isinstance(value, _Object) else "an array"
            return RowError(
                number,
                "BAD_ROW",
                f"{where} key {_quote(key)} holds {kind}; "
                "values must be strings, numbers, booleans or null",
                _short(_escaped(json.dumps(_plain(value), ensure_ascii=False))),
            )
        if _SURROGATES.search(rendered):
            return _not_unicode(number, where, key, rendered)
        if "\x00" in rendered:
            return RowError(
                number,
                "BAD_ROW",
                f"{where} key {_quote(key)} contains a NUL character",
                _short(rendered.replace("\x00", "\\x00")),
            )
        if normal in _RECOGNISED_SET:
            if rendered:
                fields[normal] = rendered
        else:
            variables[key] = rendered
    return Row(number, fields, variables)


def _escaped(text: str) -> str:
    """`text` with its lone surrogates written as JSON escapes (`\\ud800`), safe to show."""
    return _SURROGATES.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _not_unicode(number: int, where: str, key: str, text: str) -> RowError:
    return RowError(
        number,
        "BAD_ROW",
        f"{where} key {_quote(key)} holds a lone surrogate (an escape such as \\ud800), "
        "which is not text",
        _short(_escaped(text)),
    )


def _plain(value: Any) -> Any:
    """A parsed value with `_Object`s turned back into dicts, to show it in an error."""
    if isinstance(value, _Object):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _json_value(value: Any) -> str | None:
    """A scalar as text (strings stripped, null as ""); None for a nested array or object."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return repr(value)  # as JSON writes them: 1, 2.5, 1e+100
    return None
