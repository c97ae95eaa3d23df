"""JSON Lines input: one JSON object per line, keys as CSV headers (docs/bulk-input.md).

Input is read as bytes line by line, so one huge line is read in bounded pieces and memory
stays flat; a bad line is a `RowError` and the rest goes on.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

from kmsg_cli.bulk_input.columns import ColumnPlan
from kmsg_cli.bulk_input.encoding import BOM_UTF8, is_utf8
from kmsg_cli.bulk_input.raw import CHUNK, SAMPLE, HashingRaw
from kmsg_cli.bulk_input.rows import MAX_FIELD, Row, RowError, RowSource, short
from kmsg_cli.errors import InvalidInput, UsageError
from kmsg_cli.errors import quoted as _quote

_READ_LIMIT = 1024 * 1024  # per readline call
# Lone surrogates: what JSON `\ud800` escapes give. No valid text has them.
_SURROGATES = re.compile("[\ud800-\udfff]")


class _Object(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs, so duplicate keys are seen, not silently merged."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def open_jsonl(raw: HashingRaw, explicit: str | None, plan: ColumnPlan) -> RowSource:
    if explicit is not None and not is_utf8(explicit):
        raise UsageError(
            f"--encoding {explicit} applies to CSV only: JSON Lines input is always UTF-8",
            field="encoding",
            value=explicit,
        )
    head = raw.peek(SAMPLE)
    encoding = "utf-8-sig" if head.startswith(BOM_UTF8) else "utf-8"
    if head.removeprefix(BOM_UTF8).lstrip().startswith(b"["):
        raise InvalidInput(
            "the input is a JSON array, not JSON Lines: write one JSON object per line",
            code="INVALID_FORMAT",
            field="format",
            value="json",
        )
    binary = io.BufferedReader(raw, CHUNK)
    if encoding == "utf-8-sig":
        binary.read(len(BOM_UTF8))
    return RowSource(
        raw=raw,
        top=binary,
        format="jsonl",
        encoding=encoding,
        columns=None,
        rows=_jsonl_rows(binary, plan),
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


def _jsonl_rows(binary: io.BufferedReader[Any], plan: ColumnPlan) -> Iterator[Row | RowError]:
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
        yield _json_row(number, where, text.strip(), plan, line)


def _json_row(
    number: int, where: str, text: str, plan: ColumnPlan, line: int = 0
) -> Row | RowError:
    try:
        data = json.loads(text, object_pairs_hook=_Object, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # + NaN/Infinity, too long an int, too deep
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return RowError(number, "BAD_ROW", f"{where} is not valid JSON: {reason}", short(text))
    if not isinstance(data, _Object):
        if isinstance(data, list):
            kind = "an array"
        elif isinstance(data, str):
            kind = "a string"
        elif data is None or isinstance(data, bool):
            kind = json.dumps(data)
        else:
            kind = "a number"
        return RowError(number, "BAD_ROW", f"{where} is {kind}, not a JSON object", short(text))
    fields: dict[str, str] = {}
    variables: dict[str, str] = {}
    seen: dict[tuple[bool, str], str] = {}
    for raw_key, value in data:
        key = raw_key.strip()
        if not key:
            continue  # like a CSV column without a name
        if _SURROGATES.search(key):
            return _not_unicode(number, where, key, key)
        recognised, name = plan.key(key) or (False, key)
        normal = (recognised, name if recognised else name.lower())
        if normal in seen:
            return RowError(
                number,
                "DUPLICATE_COLUMN",
                f"{where} has the key {_quote(key)} twice (also as {_quote(seen[normal])}); "
                "keys ignore case and spaces",
                key,
            )
        seen[normal] = key
        if recognised and name == "options" and isinstance(value, _Object):
            # channel options are a JSON object: kept as JSON text, checked when built
            value = json.dumps(_plain(value), ensure_ascii=False)
        rendered = _json_value(value)
        if rendered is None:
            kind = "an object" if isinstance(value, _Object) else "an array"
            return RowError(
                number,
                "BAD_ROW",
                f"{where} key {_quote(key)} holds {kind}; "
                "values must be strings, numbers, booleans or null",
                short(_escaped(json.dumps(_plain(value), ensure_ascii=False))),
            )
        if _SURROGATES.search(rendered):
            return _not_unicode(number, where, key, rendered)
        if "\x00" in rendered:
            return RowError(
                number,
                "BAD_ROW",
                f"{where} key {_quote(key)} contains a NUL character",
                short(rendered.replace("\x00", "\\x00")),
            )
        if recognised:
            if rendered:
                fields[name] = rendered
        else:
            variables[name] = rendered
    return Row(number, fields, variables, line)


def _escaped(text: str) -> str:
    """`text` with its lone surrogates written as JSON escapes (`\\ud800`), safe to show."""
    return _SURROGATES.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _not_unicode(number: int, where: str, key: str, text: str) -> RowError:
    return RowError(
        number,
        "BAD_ROW",
        f"{where} key {_quote(key)} holds a lone surrogate (an escape such as \\ud800), "
        "which is not text",
        short(_escaped(text)),
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
