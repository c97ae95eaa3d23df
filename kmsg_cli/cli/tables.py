"""Rows for people and for pipes: every listing rendered as a table, TSV, CSV or JSON.

A command that prints rows declares its fields once (`Listing`), takes the same three options
(`--format`, `--no-header`, `--fields`, declared here) and hands its rows to `View.emit`.
The format is `--format`, else `--json`, else the `format` setting, else a table when stdout
is a terminal and TSV when it is not, so a pipe always gets one row per line. Times show in
the profile's zone: `2026-12-07 09:00:00 KST` in a table, ISO 8601 with the offset in TSV,
CSV and JSON; numbers are plain integers outside the table. docs/cli.md describes it all.
rich is imported only to draw a table.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from kmsg_cli.cli.bounds import check_choice
from kmsg_cli.cli.options import option
from kmsg_cli.errors import KmsgError, UsageError, printable

if TYPE_CHECKING:
    from rich.console import Console

    from kmsg_cli.cli.output import Output
    from kmsg_cli.cli.runtime import Runtime
    from kmsg_cli.when import TimeView

FORMATS = ("table", "tsv", "csv", "json")  # = config.keys.OUTPUT_FORMATS, cheap to import
Kind = Literal["text", "time", "int", "bool", "list", "json", "error", "phone"]
OUTPUT_PANEL = "Output"


def _complete_formats(ctx: Any, incomplete: str) -> list[str]:
    return [name for name in FORMATS if name.startswith(incomplete.lower())]


FormatOpt = Annotated[
    str | None,
    option(
        "--format",
        "table|tsv|csv|json",
        "Output format (default: the `format` setting, else a table on a terminal and "
        "TSV in a pipe).",
        OUTPUT_PANEL,
        complete=_complete_formats,
        show_default=False,
    ),
]
NoHeaderOpt = Annotated[
    bool,
    option("--no-header", "", "Leave out the header line (table, TSV, CSV).", OUTPUT_PANEL),
]
FieldsOpt = Annotated[
    str | None,
    option(
        "--fields",
        "A,B,C",
        "Only these fields, in this order (comma separated).",
        OUTPUT_PANEL,
        show_default=False,
    ),
]


@dataclass(frozen=True)
class Field:
    """One field of a listing: its name (header, `--fields`, JSON key) and how to show it."""

    name: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Listing:
    """The fields a command can print, the ones shown by default, and where --json puts rows."""

    fields: tuple[Field, ...]
    default: tuple[str, ...]
    key: str = "rows"

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def kind(self, name: str) -> Kind:
        return next(f.kind for f in self.fields if f.name == name)


def fields(*specs: str) -> tuple[Field, ...]:
    """`fields("id", "created_at:time", "attempts:int")`: Field specs in a line."""
    found = []
    for spec in specs:
        name, _, kind = spec.partition(":")
        found.append(Field(name, kind or "text"))  # type: ignore[arg-type]
    return tuple(found)


def parse_fields(value: str | None, listing: Listing) -> tuple[str, ...] | None:
    """`--fields a,b`: the chosen names, or UsageError INVALID_FIELD naming the unknown one."""
    if value is None:
        return None
    chosen = tuple(name.strip() for name in value.split(",") if name.strip())
    valid = listing.names()
    hint = "fields: " + ",".join(valid)
    for name in chosen:
        check_choice(name, valid, "field", "INVALID_FIELD", field="fields", hint=hint)
    if not chosen:
        raise UsageError(
            "--fields names no field (field 'fields')",
            code="INVALID_FIELD",
            field="fields",
            value=value,
            hint="fields: " + ",".join(valid),
        )
    return chosen


def check_format(value: str | None, *, field_name: str = "format") -> str | None:
    """A format name in lower case, or UsageError INVALID_FORMAT."""
    return None if value is None else format_name(value, FORMATS, field_name=field_name)


def format_name(value: str, formats: Sequence[str], *, field_name: str = "format") -> str:
    """`value` in lower case when it is one of `formats`, else UsageError INVALID_FORMAT."""
    hint = "formats: " + ", ".join(formats)
    name = value.strip().lower()
    return check_choice(
        name, formats, "output format", "INVALID_FORMAT", field=field_name, given=value, hint=hint
    )


@dataclass
class View:
    """How one command prints its rows; built by `view()` before any work is done."""

    out: Output
    listing: Listing
    format: str
    chosen: tuple[str, ...] | None
    header: bool
    times: TimeView

    @property
    def shown(self) -> tuple[str, ...]:
        return self.chosen or self.listing.default

    # -- values -------------------------------------------------------------------------
    def machine(self, name: str, value: Any) -> Any:
        """A value for --json: ISO times, everything else as it is."""
        if self.listing.kind(name) == "time":
            return self.times.iso(value)
        return value

    def text(self, name: str, value: Any) -> str:
        """A value as one cell: human in a table, machine-readable in TSV and CSV."""
        if value is None:
            return ""
        kind = self.listing.kind(name)
        table = self.format == "table"
        if kind == "time":
            return (self.times.human(value) if table else self.times.iso(value)) or ""
        if kind == "phone" and table:  # 010-1234-5678 for people, the digits for scripts
            from kmsg_cli.normalize.phone import format_phone

            return format_phone(str(value))
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}" if table else str(value)
        if kind == "bool" or isinstance(value, bool):
            return ("yes" if value else "no") if table else ("true" if value else "false")
        if kind == "error" and isinstance(value, dict):  # {"code": ..., "message": ...}
            return f"{value.get('code', '')}: {value.get('message', '')}"
        if kind == "list" and isinstance(value, list | tuple):
            return " ".join(str(item) for item in value)
        if isinstance(value, dict | list):
            import json

            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        return str(value)

    def json_rows(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        names = self.chosen or self.listing.names()
        return [{name: self.machine(name, row.get(name)) for name in names} for row in rows]

    # -- output -------------------------------------------------------------------------
    def emit(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        data: dict[str, Any] | None = None,
        before: Sequence[str] = (),
        after: Sequence[str] = (),
        ok: bool = True,
        error: KmsgError | None = None,
    ) -> None:
        """Print `rows` (and `data` around them for --json); `before`/`after` are lines for
        people: printed around a table, on stderr with TSV/CSV, left out of JSON."""
        document = dict(data or {})
        document[self.listing.key] = self.json_rows(rows)
        if self.format == "json":
            self.out.result(document, ok=ok, error=error)
            return
        if self.format == "table":
            self.out.result(
                document, lambda console: self._table(console, rows, before, after), error=error
            )
            return
        for line in before:
            self.out.note(line)
        if not self.out.quiet:
            self._delimited(rows)
        for line in after:
            self.out.note(line)
        if error is not None:
            self.out.error(error)

    def _delimited(self, rows: Sequence[Mapping[str, Any]]) -> None:
        names = self.shown
        stream = sys.stdout
        if self.format == "csv":
            import csv

            excel_mark(stream)
            writer = csv.writer(stream, lineterminator="\n")
            if self.header:
                writer.writerow(names)
            for row in rows:
                writer.writerow([self.text(name, row.get(name)) for name in names])
        else:
            if self.header:
                stream.write("\t".join(names) + "\n")
            for row in rows:
                cells = (printable(self.text(name, row.get(name))) for name in names)
                stream.write("\t".join(cells) + "\n")
        stream.flush()

    def _table(
        self,
        console: Console,
        rows: Sequence[Mapping[str, Any]],
        before: Sequence[str],
        after: Sequence[str],
    ) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(show_edge=False, header_style="bold", show_header=self.header)
        for name in self.shown:
            right = self.listing.kind(name) == "int"
            table.add_column(name, overflow="fold", justify="right" if right else "left")
        for row in rows:
            table.add_row(*(Text(printable(self.text(name, row.get(name)))) for name in self.shown))
        for line in before:
            console.print(line, markup=False, highlight=False)
        if rows or self.header:
            print_table(console, table)
        for line in after:
            console.print(line, markup=False, highlight=False)


def print_table(console: Console, table: Any) -> None:
    """Print a rich table; outside a terminal without wrapping, one row per line at any width."""
    if _stdout_is_terminal():
        console.print(table)
        return
    from rich.console import Console as RichConsole

    for column in table.columns:
        column.no_wrap = True
        column.overflow = "ignore"
    RichConsole(highlight=False, width=100_000, no_color=True).print(table)


def view(
    runtime: Runtime,
    listing: Listing,
    *,
    format: str | None = None,
    no_header: bool = False,
    fields: str | None = None,
) -> View:
    """Check the output options (exit 2 on a bad one) and decide the format; see the module
    docstring for the order."""
    chosen_format = check_format(format)
    out = runtime.out
    if chosen_format is None and out.json_mode:
        chosen_format = "json"
    if chosen_format == "json":
        out.json_mode = True  # errors from here on are JSON documents too
    chosen = parse_fields(fields, listing)
    if chosen_format is None:
        chosen_format = configured_format(runtime)
    if chosen_format is None:
        chosen_format = "table" if _stdout_is_terminal() else "tsv"
    if chosen_format == "json":
        out.json_mode = True
    return View(
        out=out,
        listing=listing,
        format=chosen_format,
        chosen=chosen,
        header=not no_header,
        times=runtime.times(),
    )


def configured_format(runtime: Runtime) -> str | None:
    """The `format` setting of the profile (or the file's top level), if any."""
    return runtime.profile().output_format


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stdout
        return False


def excel_mark(stream: Any) -> None:
    """Start CSV written into a new file (`> out.csv`) with a UTF-8 byte order mark, the sign
    Excel needs to read it as UTF-8 rather than the system's code page (CP949: Korean text
    would come out garbled). A pipe, a terminal, or a file being appended to (`>>`) gets
    none: `grep`, `cut` and scripts see the header's first name as it is (docs/cli.md)."""
    import os
    import stat

    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # not a real file (a test's buffer)
        return
    if stat.S_ISREG(status.st_mode) and status.st_size == 0 and stream.tell() == 0:
        stream.write("\ufeff")
