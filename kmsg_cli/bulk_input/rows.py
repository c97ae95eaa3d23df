"""What every input format yields: `Row`s and `RowError`s, through one `RowSource`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

# The csv module's default (128 KiB) is too small for long texts pasted into one cell; 16 MiB is
# far beyond any message and still bounds memory. JSON lines get the same limit.
MAX_FIELD = 16 * 1024 * 1024


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Row:
    """One data record.

    `number` is the 1-based data row number: for CSV the first record after the header is 1 and
    fully empty records (every cell blank, e.g. `,,,`) are skipped without being counted; for
    JSON Lines it is the index among non-blank lines. `fields` holds the recognised columns that
    are present and non-empty, stripped; `variables` every other column under its stripped
    header name, stripped, empty kept as "".

    `line` is where the record stands as an editor or a spreadsheet numbers it, for errors a
    person fixes there: the line of the file (CSV/TSV: the line where the record ends; JSON
    Lines) or the row of the sheet (xlsx); 0 when not known.
    """

    number: int
    fields: dict[str, str]
    variables: dict[str, str]
    line: int = field(default=0, compare=False)  # where, not what: rows compare by content


@dataclass(frozen=True, slots=True)
class RowError:
    """A record that could not be parsed; `message` is one line and already names the row."""

    number: int
    code: str
    message: str
    value: str | None


def short(value: str, limit: int = 200) -> str:
    """`value` cut to `limit` characters, for the `value` member of an error."""
    return value if len(value) <= limit else value[: limit - 3] + "..."


class RowSource:
    """An open input: iterate it for `Row | RowError`; use it as a context manager.

    `format` is "csv", "tsv", "jsonl" or "xlsx", `encoding` the encoding actually used, `columns`
    the stripped header cells (None for JSON Lines). `digest()` is the hex sha256 of the raw
    bytes read so far: after iterating to the end, the content hash of the whole input.
    """

    def __init__(
        self,
        *,
        raw: Any,
        top: Closable,
        format: str,
        encoding: str,
        columns: list[str] | None,
        rows: Iterator[Row | RowError],
        digest: Callable[[], str] | None = None,
    ) -> None:
        self._raw = raw
        self._top = top
        self.format = format
        self.encoding = encoding
        self.columns = columns
        self._rows = rows
        self._digest = digest or raw.hexdigest

    def __iter__(self) -> Iterator[Row | RowError]:
        # the generator itself, so a for loop does not pass through __next__ for every row
        return self._rows

    def __next__(self) -> Row | RowError:
        return next(self._rows)

    def digest(self) -> str:
        """Hex sha256 of every raw input byte read so far."""
        return self._digest()

    def close(self) -> None:
        """Close the file if this source opened it; standard input is left open."""
        self._top.close()

    def __enter__(self) -> RowSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
