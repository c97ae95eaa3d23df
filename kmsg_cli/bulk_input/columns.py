"""Which input column means what (docs/bulk-input.md, "Columns").

A header names a recognised column (`to`, `text`, ... compared without case), a column that
`--column NAME=HEADER` maps to a recognised one, the id column named by `--id-column`, or a
template variable (every other column, under its exact header). A column called `id` is an
ordinary variable unless `--id-column id` asks for it: CRM exports carry their own ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kmsg_cli.errors import InvalidInput, UsageError
from kmsg_cli.errors import quoted as _quote

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
    "failover_text",
    "failover_type",
    "failover_subject",
    "options",
)
ID = "id"  # the recognised name of the id column, when one is asked for
# Words by which an export's header names its phone number column (휴대폰번호, 연락처, Mobile,
# ...), for the MISSING_COLUMN hint only: a guess is suggested, never applied. `번호` alone is
# not one: 주문번호 is an order number.
_PHONE_WORDS = ("휴대폰", "핸드폰", "휴대전화", "전화", "연락처", "수신", "phone", "mobile", "tel")
_RECOGNISED_SET = frozenset(RECOGNISED)


@dataclass(frozen=True)
class ColumnMap:
    """`--column NAME=HEADER` mappings (recognised name -> header) and `--id-column`."""

    mapped: Mapping[str, str] = field(default_factory=dict)
    id_column: str | None = None

    @classmethod
    def parse(cls, pairs: Sequence[str], id_column: str | None = None) -> ColumnMap:
        """From the command line; UsageError (exit 2) for a malformed or unknown mapping."""
        mapped: dict[str, str] = {}
        for pair in pairs:
            name, sep, header = pair.partition("=")
            name, header = name.strip().lower(), header.strip()
            if not sep or not name or not header:
                raise UsageError(
                    f"--column {_quote(pair)} is not NAME=HEADER (field 'column')",
                    code="INVALID_COLUMN_MAP",
                    field="column",
                    value=pair,
                    hint="e.g. --column to=전화번호 --column text=문자내용",
                )
            if name == ID:
                if id_column is not None and id_column != header:
                    raise UsageError(
                        f"--column id={header} and --id-column {id_column} disagree",
                        code="INVALID_COLUMN_MAP",
                        field="column",
                        value=pair,
                    )
                id_column = header
                continue
            if name not in _RECOGNISED_SET:
                raise UsageError(
                    f"--column {_quote(pair)}: {_quote(name)} is not a column kmsg knows "
                    f"(field 'column'); known: {', '.join(RECOGNISED)}",
                    code="INVALID_COLUMN_MAP",
                    field="column",
                    value=pair,
                    hint="other columns need no mapping: they are #{variables} as they are",
                )
            if name in mapped and mapped[name] != header:
                raise UsageError(
                    f"--column maps {name!r} twice ({mapped[name]!r} and {header!r})",
                    code="INVALID_COLUMN_MAP",
                    field="column",
                    value=pair,
                )
            mapped[name] = header
        if id_column is not None and not id_column.strip():
            raise UsageError(
                "--id-column needs a column name", code="INVALID_COLUMN_MAP", field="id-column"
            )
        return cls(mapped=mapped, id_column=id_column.strip() if id_column else None)


class ColumnPlan:
    """Classifies header names: `key(name)` is (recognised?, key) or None to ignore it."""

    def __init__(self, columns: ColumnMap | None = None) -> None:
        columns = columns or ColumnMap()
        self._by_header: dict[str, str] = {h.lower(): n for n, h in columns.mapped.items()}
        if columns.id_column is not None:
            self._by_header[columns.id_column.lower()] = ID
        # a recognised name mapped from another header no longer names that column itself
        self._shadowed = frozenset(n for n, h in columns.mapped.items() if h.lower() != n)
        self.columns = columns

    def key(self, name: str) -> tuple[bool, str] | None:
        """(True, recognised name) or (False, variable name); None for an empty name."""
        if not name:
            return None
        normal = name.lower()
        target = self._by_header.get(normal)
        if target is not None:
            return True, target
        if normal in _RECOGNISED_SET and normal not in self._shadowed:
            return True, normal
        return False, name

    def plan_header(self, columns: list[str]) -> list[tuple[bool, str] | None]:
        """Per header cell its key; refuses a header kmsg cannot use (exit 2)."""
        plan: list[tuple[bool, str] | None] = []
        seen: dict[str, str] = {}  # recognised name -> header
        variables: dict[str, str] = {}  # lower-cased variable name -> header
        for column in columns:
            if "\x00" in column:
                raise InvalidInput(
                    f"header column {_quote(column)} contains a NUL byte",
                    code="BAD_CSV",
                    field="file",
                    value=column.replace("\x00", "\\x00"),
                    hint="a UTF-16 file? re-run with --encoding utf-16-le, or save it as UTF-8",
                )
            key = self.key(column)
            plan.append(key)
            if key is None:
                continue  # e.g. the trailing comma that spreadsheets leave after the last column
            names = seen if key[0] else variables
            normal = key[1] if key[0] else key[1].lower()
            if normal in names:
                raise InvalidInput(
                    f"the header has the column {_quote(column)} twice "
                    f"(also as {_quote(names[normal])}); column names ignore case and spaces, "
                    "and --column/--id-column map other headers to these names",
                    code="DUPLICATE_COLUMN",
                    field=column,
                    value=column,
                )
            names[normal] = column
        self._check_present(columns, seen)
        return plan

    def _check_present(self, columns: list[str], seen: Mapping[str, str]) -> None:
        found = ", ".join(_quote(c, 40) for c in columns if c) or "nothing"
        for name, header in self.columns.mapped.items():
            if name not in seen:
                raise InvalidInput(
                    f"--column {name}={header}: the header has no column {_quote(header)} "
                    f"(found: {found})",
                    code="MISSING_COLUMN",
                    field="column",
                    value=header,
                )
        if self.columns.id_column is not None and ID not in seen:
            raise InvalidInput(
                f"--id-column {self.columns.id_column}: the header has no such column "
                f"(found: {found})",
                code="MISSING_COLUMN",
                field="id-column",
                value=self.columns.id_column,
            )
        if "to" not in seen:
            raise InvalidInput(
                f"the header has no 'to' column (found: {found})",
                code="MISSING_COLUMN",
                field="to",
                value=",".join(columns),
                hint=_to_hint(columns),
            )


def _to_hint(columns: Sequence[str]) -> str:
    """How to name the phone number column: map the header that looks like one, if any."""
    import shlex

    for header in columns:
        if any(word in header.lower() for word in _PHONE_WORDS):
            return f"map it: --column {shlex.quote('to=' + header)} (or rename it 'to')"
    return "name the phone number column 'to', or map it: --column to=전화번호"
