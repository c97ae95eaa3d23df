"""Property tests (hypothesis) of what kmsg reads from files: send-many CSV / JSON Lines rows
(kmsg_cli.bulk_input) and the TOML config (kmsg_cli.config).

Any bytes give rows, row errors that name their row, or kmsg's typed errors; never another
exception. Valid files round-trip to the values that were written.

Profiles: the default `HYPOTHESIS_PROFILE=ci` is derandomized and sized for CI;
`HYPOTHESIS_PROFILE=long` runs 20x the examples (see tests/conftest.py). Files are written with
`tempfile` inside the tests, since hypothesis runs each test body many times per fixture.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from kmsg_cli.bulk_input import RECOGNISED, Row, RowError, open_rows
from kmsg_cli.config import (
    PROVIDER_TYPES,
    SETTINGS,
    STRATEGIES,
    LoadedConfig,
    load_config,
    select_profile,
    validate_config,
)
from kmsg_cli.errors import ConfigError, InvalidInput, KmsgError, UsageError
from kmsg_cli.providers.catalog import UNSET_ENV


def examples(n: int) -> settings:
    """`n` examples under the default profile, proportionally more under `long`."""
    return settings(
        max_examples=max(n, n * settings().max_examples // 100),
        suppress_health_check=[HealthCheck.too_slow],
    )


@contextmanager
def temp_file(data: bytes, suffix: str = "") -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "input" + suffix)
        with open(path, "wb") as handle:
            handle.write(data)
        yield path


# === send-many rows ==========================================================================

_PIECES = st.sampled_from(
    [
        b"to",
        b"TO ",
        b"text",
        b"name",
        b",",
        b"\n",
        b"\r\n",
        b"\r",
        b'"',
        b"\x00",
        b" ",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        "가".encode(),
        "가".encode("cp949"),
        b"\xff",
        b"\x81",
        b"\xc2",
        b"{",
        b"}",
        b"[",
        b":",
        b'"to"',
        b'"\\u0000"',
        b'"\\ud800"',
        b"01012345678",
        b"1e999",
        b"[" * 1200,
    ]
)
ANY_BYTES = st.one_of(
    st.binary(max_size=300),
    st.lists(_PIECES | st.binary(max_size=4), max_size=40).map(b"".join),
    st.tuples(st.sampled_from([b"to,text\n", b"TO;x\r\n", b'{"to": "010"}\n']), st.binary()).map(
        b"".join
    ),
)
ENCODINGS = st.none() | st.sampled_from(
    [
        "utf-8",
        "UTF-8-SIG",
        "cp949",
        " euc-kr ",
        "utf-16",
        "utf-16-le",
        "utf-32",
        "latin-1",
        "ascii",
        "shift_jis",
        "utf-7",
        "idna",
        "undefined",
        "hex",
        "rot13",
        "nope",
        "",
        "utf\x00-8",
    ]
)
FORMATS = st.none() | st.sampled_from(["csv", "jsonl", " NDJSON ", "json", "xml", ""])
SUFFIXES = st.sampled_from(["", ".csv", ".txt", ".jsonl", ".json", ".ndjson", ".CSV", ".tsv"])
UPFRONT = {
    "UNREADABLE_FILE",
    "INVALID_FORMAT",
    "INVALID_ENCODING",
    "MISSING_COLUMN",
    "DUPLICATE_COLUMN",
    "BAD_CSV",
    "ENCODING_ERROR",
}
MIDSTREAM = {"ENCODING_ERROR", "BAD_CSV", "UNREADABLE_FILE"}


def _one_line(text: str) -> None:
    assert "\n" not in text and "\r" not in text, text


def read_everything(
    data: bytes, *, encoding: str | None, format: str | None, via_file: str | None
) -> tuple[list[Row | RowError], KmsgError | None, Any]:
    """(items read, the error that stopped the reading or None, the source or None)."""
    try:
        if via_file is None:
            source = open_rows("-", encoding=encoding, format=format, stdin=io.BytesIO(data))
        else:
            with temp_file(data, via_file) as path:
                source = open_rows(path, encoding=encoding, format=format)
                return _drain(source)
    except UsageError as error:
        # the only usage error: a non-UTF-8 encoding asked for JSON Lines
        assert error.field == "encoding"
        return [], error, None
    except InvalidInput as error:
        assert error.code in UPFRONT, error
        _one_line(error.message)
        if error.code == "ENCODING_ERROR":
            assert error.details.get("row", 0) == 0  # the header row, or the file as a whole
        return [], error, None
    return _drain(source)


def _drain(source: Any) -> tuple[list[Row | RowError], KmsgError | None, Any]:
    items: list[Row | RowError] = []
    with source:
        try:
            for item in source:
                items.append(item)
        except InvalidInput as error:
            assert error.code in MIDSTREAM, error
            _one_line(error.message)
            assert error.details["row"] == len(items) + 1  # names the row at fault
            return items, error, source
    return items, None, source


def _check_items(items: list[Row | RowError]) -> None:
    assert [item.number for item in items] == list(range(1, len(items) + 1))
    for item in items:
        if isinstance(item, RowError):
            assert item.code in ("BAD_ROW", "DUPLICATE_COLUMN")
            _one_line(item.message)
            assert f"row {item.number}" in item.message
            item.message.encode("utf-8")
            (item.value or "").encode("utf-8")  # shown and stored as they are
            continue
        assert isinstance(item, Row)
        assert set(item.fields) <= set(RECOGNISED)
        for key, value in item.fields.items():
            assert value and value == value.strip() and "\x00" not in value, (key, value)
        for key, value in item.variables.items():
            assert key and key == key.strip()
            assert key.lower() not in RECOGNISED
            assert value == value.strip() and "\x00" not in value
        # undecodable bytes and \ud800 escapes are errors, never text that cannot be stored
        for text in (*item.fields.values(), *item.variables.values(), *item.variables):
            text.encode("utf-8")


@examples(300)
@given(ANY_BYTES, ENCODINGS, FORMATS, st.none() | SUFFIXES)
@example(b"to\n1\n\x00", "utf-16", None, None)
@example(b"to\n1\n", "undefined", None, None)
@example(b"to\n1\n", "utf\x00-8", None, None)
@example(b'{"to": "010"}\n{"a": ' + b"[" * 5000 + b"]}\n", None, None, None)
@example(b'{"to": "010", "name": "\\ud800"}\n', None, None, None)
@example(b'{"to": "010", "\\udfff": "x"}\n', None, "jsonl", None)
@example(b"to\n+2AA-\n", "utf-7", None, None)  # decodes to a lone surrogate
@example(b"\xff\xfet\x00o\x00\n\x00", None, None, ".csv")  # UTF-16 with its BOM
def test_any_bytes_give_numbered_rows_or_typed_errors(
    data: bytes, encoding: str | None, format: str | None, via_file: str | None
) -> None:
    items, error, source = read_everything(
        data, encoding=encoding, format=format, via_file=via_file
    )
    if source is None:
        return
    _check_items(items)
    if source.format == "csv":
        assert source.columns is not None
        assert "to" in [column.lower() for column in source.columns]
    if error is None:
        assert source.digest() == hashlib.sha256(data).hexdigest()  # every byte was read


# --- valid files round-trip ------------------------------------------------------------------

_CELL_CHARS = st.one_of(
    st.sampled_from(list(' ,"\r\n\t가나다홍길동쿠폰#{}')),
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
)
CELLS = st.text(_CELL_CHARS, max_size=12)
_EXTRA_NAMES = st.one_of(
    st.sampled_from(["name", "Name2", "쿠폰", "code", "x y"]),
    st.text(_CELL_CHARS, min_size=1, max_size=6).map(str.strip).filter(bool),
)


def _spelled(name: str) -> st.SearchStrategy[str]:
    """`name` as a header might spell it: any case, spaces around."""
    return st.tuples(
        st.sampled_from(["", " ", "  "]),
        st.sampled_from([name, name.upper(), name.title()]),
        st.sampled_from(["", " "]),
    ).map("".join)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str | None, list[str], list[list[str]]]:
    """(file bytes, encoding to pass, header as written, records as written)."""
    korean = draw(st.sampled_from([None, "cp949", "euc-kr"]))  # what Korean Excel writes
    cells = CELLS.filter(lambda s: _encodes(s, korean)) if korean else CELLS
    recognised = draw(st.lists(st.sampled_from(RECOGNISED[1:]), unique=True, max_size=4))
    extra = draw(
        st.lists(
            _EXTRA_NAMES.filter(lambda s: _encodes(s, korean)) if korean else _EXTRA_NAMES,
            unique_by=lambda s: s.strip().lower(),
            max_size=3,
        ).filter(lambda names: not {n.strip().lower() for n in names} & set(RECOGNISED))
    )
    names = ["to", *recognised, *extra]
    order = draw(st.permutations(names))
    header = [draw(_spelled(name)) if name in RECOGNISED else name for name in order]
    if draw(st.booleans()):
        header.append("")  # the trailing comma spreadsheets leave: an ignored column
    records = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header))))
    terminator = draw(st.sampled_from(["\r\n", "\n"]))
    if terminator == "\n":
        # csv.writer quotes only the characters of its lineterminator: an unquoted "\r" would
        # be a line break in the file written, so such a file would not hold these records
        records = [[cell.replace("\r", "\n") for cell in record] for record in records]
        header = [name.replace("\r", "\n") for name in header]
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer,
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])),
        lineterminator=terminator,
    )
    writer.writerow(header)
    writer.writerows(records)
    text = buffer.getvalue()
    if korean:
        given = draw(st.sampled_from([korean, korean.upper(), f" {korean} "]))
        return text.encode(korean), given, header, records
    bom = draw(st.booleans())
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    return data, draw(st.sampled_from([None, "utf-8", "utf-8-sig"])), header, records


def _encodes(text: str, encoding: str) -> bool:
    try:
        return text.encode(encoding).decode(encoding) == text
    except UnicodeEncodeError:
        return False


def expected_rows(header: list[str], records: list[list[str]]) -> list[Row]:
    rows: list[Row] = []
    for record in records:
        if not any(cell.strip() for cell in record):
            continue  # a fully blank record is skipped, not counted
        fields: dict[str, str] = {}
        variables: dict[str, str] = {}
        for name, cell in zip(header, record, strict=True):
            key = name.strip()
            if not key:
                continue
            if key.lower() in RECOGNISED:
                if cell.strip():
                    fields[key.lower()] = cell.strip()
            else:
                variables[key] = cell.strip()
        rows.append(Row(len(rows) + 1, fields, variables))
    return rows


@examples(200)
@given(csv_files(), st.booleans())
def test_valid_csv_files_round_trip(
    case: tuple[bytes, str | None, list[str], list[list[str]]], via_file: bool
) -> None:
    data, encoding, header, records = case
    items, error, source = read_everything(
        data, encoding=encoding, format=None, via_file=".csv" if via_file else None
    )
    assert error is None
    assert source.columns == [name.strip() for name in header]
    assert items == expected_rows(header, records)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=10),
)


def _rendered(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    return repr(value)


@examples(200)
@given(
    st.lists(
        st.one_of(
            st.dictionaries(
                st.one_of(_spelled("to"), _spelled("text"), _spelled("at"), _EXTRA_NAMES),
                JSON_SCALARS,
                max_size=5,
            ).filter(lambda d: len({k.strip().lower() for k in d}) == len(d)),
            st.sampled_from(["", "   ", "\t"]),  # blank lines are skipped, not counted
        ),
        max_size=8,
    ),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["\n", "\r\n"]),
)
def test_valid_json_lines_round_trip(
    lines: list[dict[str, Any] | str], ascii_only: bool, bom: bool, newline: str
) -> None:
    text = newline.join(
        line if isinstance(line, str) else json.dumps(line, ensure_ascii=ascii_only)
        for line in lines
    )
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    items, error, _ = read_everything(data, encoding=None, format="jsonl", via_file=None)
    assert error is None
    expected: list[Row] = []
    for line in lines:
        if isinstance(line, str):
            continue
        fields: dict[str, str] = {}
        variables: dict[str, str] = {}
        for raw_key, value in line.items():
            key = raw_key.strip()
            if not key:
                continue
            if key.lower() in RECOGNISED:
                if _rendered(value):
                    fields[key.lower()] = _rendered(value)
            else:
                variables[key] = _rendered(value)
        expected.append(Row(len(expected) + 1, fields, variables))
    assert items == expected


# === TOML config =============================================================================

_SECRET = st.from_regex(r"\AS3cr3t-[a-z0-9]{8}\Z")
# Text without control or line-break characters: the config package shows keys and some values
# (profile and provider names) raw in its messages (see test_config_messages_stay_on_one_line).
_TOML_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=8)
_KEY_TEXT = _TOML_TEXT
_JUNK = st.one_of(
    _TOML_TEXT,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.lists(st.integers(min_value=-5, max_value=5) | _TOML_TEXT, max_size=2),
    st.dictionaries(_KEY_TEXT, _TOML_TEXT, max_size=2),
)
_SETTING_KEYS = sorted({key for spec in SETTINGS.values() for key in spec} | {"type", "bogus"})


def _mostly(good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any] = _JUNK) -> Any:
    """`good` three times in four, else `odd`: enough valid files to select and resolve."""
    return st.one_of(good, good, good, odd)


def _now_and_then(draw: st.DrawFn) -> bool:
    """True about once in eight draws (hypothesis likes low integers, so the top one)."""
    return bool(draw(st.integers(min_value=0, max_value=7)) == 7)


_BY_KIND: dict[str, st.SearchStrategy[Any]] = {
    "str": st.sampled_from(["0212345678", "env:SOLAPI_API_KEY", "env:UNSET_VARIABLE", "env:1bad"])
    | _SECRET,
    "url": st.sampled_from(
        [
            "https://api.example.com/",
            "http://127.0.0.1:9",
            "http://[::1]:8080",
            "http://example.com",
            "http://[::1",
            "http://host:port",
            "ftp://example.com",
            "env:SOLAPI_BASE_URL",
        ]
    ),
    "int": st.integers(min_value=-5, max_value=20_000) | st.sampled_from(["12", " 5 ", "-3"]),
    "float": st.floats() | st.integers(min_value=-3, max_value=100) | st.sampled_from(["1e3"]),
    "bool": st.booleans() | st.sampled_from(["true", "0", "yes"]),
    "phone": st.sampled_from(["0212345678", "02-1234-5678", "+82 10 1234 5678", "12", "+1 202"]),
    "suffixes": st.lists(st.sampled_from(["0000", "1234", "x", ""]), max_size=3)
    | st.sampled_from(["0000,1234", "env:SUFFIXES"]),
}


@st.composite
def provider_tables(draw: st.DrawFn, provider_id: str) -> dict[str, Any]:
    kind = draw(_mostly(st.sampled_from(PROVIDER_TYPES), _TOML_TEXT))
    table: dict[str, Any] = {}
    if draw(st.booleans()) or provider_id not in PROVIDER_TYPES:
        table["type"] = kind
    spec = SETTINGS.get(kind, SETTINGS["solapi"])
    for key in draw(st.lists(st.sampled_from(sorted(spec)), unique=True, max_size=6)):
        table[key] = draw(_mostly(_BY_KIND.get(spec[key].kind, _TOML_TEXT)))
    if _now_and_then(draw):
        table[draw(st.sampled_from(_SETTING_KEYS))] = draw(_JUNK)
    return table


_IDS = st.sampled_from(["solapi", "iwinv", "aligo", "mock", "main", "backup"])
_ROUTING = st.dictionaries(
    _mostly(st.sampled_from(["SMS", "lms", "ALIMTALK", "MMS", "FriendTalk", "sms"]), _KEY_TEXT)
    | st.just("strategy"),
    _mostly(st.one_of(_IDS, st.lists(_IDS, max_size=3), st.sampled_from(STRATEGIES))),
    max_size=4,
)
_DURATIONS = _mostly(
    st.sampled_from(["30s", "2m", "1h30m", "90d"]) | st.integers(min_value=1, max_value=10**6),
    st.sampled_from(["0s", "500ms", "0.5ms", "x", "", "²", "9" * 400 + "w"]) | st.floats() | _JUNK,
)
_TRACKING = st.fixed_dictionaries(
    {},
    optional={
        "backoff": _mostly(st.lists(_DURATIONS, max_size=3)),
        "max_duration": _DURATIONS,
        "non_kakao_codes": _mostly(st.lists(st.sampled_from(["3108", 3104]), max_size=2)),
    },
)


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(_mostly(_IDS, _KEY_TEXT), unique=True, max_size=3))
    providers = {
        pid: draw(_JUNK) if _now_and_then(draw) else draw(provider_tables(pid)) for pid in ids
    }
    profile = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "db": _mostly(
                    st.sampled_from(["~/kmsg.sqlite", "/tmp/x.sqlite", "postgresql://u:pw@h/db"]),
                    st.sampled_from([" ", "~nobody-here/x"]) | _JUNK,
                ),
                "timezone": _mostly(
                    st.sampled_from(["Asia/Seoul", "UTC"]),
                    st.sampled_from(["asia/seoul", "Mars/Base", "", "../etc"]) | _JUNK,
                ),
                "auto_lms_bytes": _mostly(st.integers(min_value=-1, max_value=100)),
                "default_provider": _mostly(st.sampled_from(ids) if ids else _IDS),
                "routing": _mostly(_ROUTING),
                "tracking": _mostly(_TRACKING),
            },
        )
    )
    profile["providers"] = draw(_JUNK) if _now_and_then(draw) else providers
    if _now_and_then(draw):
        profile[draw(st.sampled_from(["bogus", "provider", "sender"]))] = draw(_JUNK)
    return profile


_NAMES = st.sampled_from(["prod", "dev", "sandbox"]) | _KEY_TEXT


@st.composite
def config_documents(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(_NAMES, unique=True, max_size=3))
    document: dict[str, Any] = {}
    if draw(st.booleans()):
        document["default_profile"] = draw(_mostly(st.sampled_from(names or ["prod"]), _NAMES))
    with_profiles: bool = draw(st.booleans())  # an empty [profiles] table too
    if names or with_profiles:
        tables = {name: draw(_JUNK) if _now_and_then(draw) else draw(profiles()) for name in names}
        document["profiles"] = draw(_JUNK) if _now_and_then(draw) else tables
    if _now_and_then(draw):
        document[draw(st.sampled_from(["bogus", "profile", "providers"]))] = draw(_JUNK)
    return document


CONFIG_DOCUMENTS = config_documents()
ENVIRONS = st.dictionaries(
    st.sampled_from(
        ["SOLAPI_API_KEY", "UNSET_VARIABLE", "KMSG_PROFILE", "KMSG_PROVIDER", "KMSG_TIMEZONE"]
    ),
    st.sampled_from(["", " ", "prod", "solapi", "mock", "UTC", "https://x", "12", "Mars/Base"]),
    max_size=3,
)


def _secrets_in(document: Any) -> set[str]:
    if isinstance(document, Mapping):
        return {s for value in document.values() for s in _secrets_in(value)}
    if isinstance(document, list):
        return {s for value in document for s in _secrets_in(value)}
    return {document} if isinstance(document, str) and document.startswith("S3cr3t-") else set()


def _check_profile(profile: Any, environ: Mapping[str, str], secrets: set[str]) -> None:
    assert 1 <= profile.auto_lms_bytes <= 90
    ZoneInfo(profile.timezone)
    assert profile.strategy in STRATEGIES
    for ids in profile.routing.values():
        assert ids and set(ids) <= set(profile.providers)
    assert profile.default_provider is None or profile.default_provider in profile.providers
    assert all(ms > 0 for ms in profile.tracking.backoff_ms) and profile.tracking.max_tracking_ms
    for provider in profile.providers.values():
        assert provider.type in PROVIDER_TYPES
        try:
            resolved = provider.resolve(environ)
        except ConfigError as error:
            _no_secret(error.to_dict(), secrets)
            continue
        assert set(SETTINGS[provider.type]) | {"id", "type", UNSET_ENV} == set(resolved)
        # an optional setting whose env: variable is unset keeps its default, and says which
        # variable it was
        spec = SETTINGS[provider.type]
        assert all(resolved[key] == spec[key].default for key in resolved[UNSET_ENV])
        assert resolved["connect_timeout"] > 0 and resolved["read_timeout"] > 0


def _no_secret(shown: Any, secrets: set[str]) -> None:
    text = json.dumps(shown, default=str, ensure_ascii=False)
    for secret in secrets:
        assert secret not in text, (secret, text)


@examples(200)
@given(CONFIG_DOCUMENTS, ENVIRONS, st.none() | _NAMES)
def test_any_config_document_loads_selects_and_resolves_or_is_config_error(
    document: dict[str, Any], environ: dict[str, str], flag: str | None
) -> None:
    data = tomli_w.dumps(document).encode("utf-8")
    secrets = _secrets_in(document)
    with temp_file(data, ".toml") as path:
        try:
            config = load_config(Path(path), "--config")
        except ConfigError as error:
            assert error.code in ("UNKNOWN_KEY", "INVALID_SETTING")
            _no_secret(error.to_dict(), secrets)
            return
        problems = validate_config(config, environ)
    _no_secret([problem._asdict() for problem in problems], secrets)
    for problem in problems:
        assert problem.level in ("error", "warning")
        _one_line(problem.message)
    event(f"{len(problems)} problems")
    try:
        profile = select_profile(config, flag=flag, environ=environ)
    except ConfigError as error:
        event(f"select: {error.code}")
        _no_secret(error.to_dict(), secrets)
    else:
        event(f"select: {profile.source}")
        _check_profile(profile, environ, secrets)
    if not any(problem.level == "error" for problem in problems):
        # a config that validates selects its default and every profile it names, and
        # every provider of those resolves
        _check_profile(select_profile(config, flag=None, environ={}), environ, secrets)
        for name in config.profile_names():
            if name != name.strip() or not name.strip():
                continue  # --profile strips its value: see test_a_padded_profile_name_...
            profile = select_profile(config, flag=name, environ={})
            _check_profile(profile, environ, secrets)
            for provider in profile.providers.values():
                provider.resolve(environ)


_TOML_PIECES = st.sampled_from(
    [
        "[profiles.prod]\n",
        "[profiles.prod.providers.solapi]\n",
        "[[profiles]]\n",
        'default_profile = "prod"\n',
        "timezone = 1979-05-27T07:32:00Z\n",
        "auto_lms_bytes = 0x5a\n",
        "batch_size = inf\n",
        "x = nan\n",
        'a."b" = 1\n',
        "= 1\n",
        '"\\u0000" = 1\n',
        "[",
        '"',
        "\n",
        "\xff",
        "\r\n",
    ]
)


@examples(150)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.lists(_TOML_PIECES | st.text(max_size=4), max_size=12).map(
            lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
        ),
    )
)
@example(b"\xff\xfe")
@example(b"profiles = 3")
def test_any_bytes_as_config_file_load_or_are_config_error(data: bytes) -> None:
    with temp_file(data, ".toml") as path:
        try:
            config = load_config(Path(path), "KMSG_CONFIG")
        except ConfigError as error:
            assert error.code in ("CONFIG_PARSE", "UNKNOWN_KEY", "INVALID_SETTING")
            assert "\n" not in error.message
            return
    assert isinstance(config, LoadedConfig)
    assert config.exists
    assert set(config.data) <= {"default_profile", "profiles"}
    assert isinstance(validate_config(config, {}), list)


# --- config bugs found by these properties (fixed; kept as regression tests) -----------------


def _loaded(text: str) -> LoadedConfig:
    with temp_file(text.encode("utf-8"), ".toml") as path:
        return load_config(Path(path), "--config")


def test_an_integer_too_long_for_python_is_a_parse_error() -> None:
    with pytest.raises(ConfigError) as caught:
        _loaded("[profiles.p]\nauto_lms_bytes = " + "9" * 4301 + "\n")
    assert caught.value.code == "CONFIG_PARSE"


def test_a_db_path_with_a_nul_character_is_invalid_setting() -> None:
    config = _loaded('[profiles.p]\ndb = "~\\u0000"\n')
    with pytest.raises(ConfigError) as caught:
        select_profile(config, flag="p", environ={})
    assert caught.value.code == "INVALID_SETTING"


def test_an_absurdly_long_integer_string_is_invalid_setting() -> None:
    config = _loaded('[profiles.p.providers.solapi]\napi_key = "k"\napi_secret = "s"\n')
    provider = select_profile(config, flag="p", environ={}).providers["solapi"]
    provider = type(provider)(
        provider.id, provider.type, {**provider.values, "batch_size": "1" * 4301}, provider.key_path
    )
    with pytest.raises(ConfigError) as caught:
        provider.resolve({})
    assert caught.value.code == "INVALID_SETTING"


def test_a_timeout_beyond_float_range_is_invalid_setting() -> None:
    text = "[profiles.p.providers.mock]\nconnect_timeout = 1" + "0" * 400 + "\n"
    provider = select_profile(_loaded(text), flag="p", environ={}).providers["mock"]
    with pytest.raises(ConfigError) as caught:
        provider.resolve({})
    assert caught.value.code == "INVALID_SETTING"


@pytest.mark.parametrize(
    "text",
    [
        '[profiles.p.providers."a\\rb"]\ntype = "solapi"\n',  # the key path of MISSING_SETTING
        '[profiles.p]\ndefault_provider = "\\n"\n',  # UNKNOWN_PROVIDER
        'default_profile = "a\\nb"\n',  # UNKNOWN_PROFILE
    ],
    ids=["key", "provider-name", "profile-name"],
)
def test_config_messages_stay_on_one_line(text: str) -> None:
    config = _loaded(text)
    messages = [problem.message for problem in validate_config(config, {})]
    try:
        for provider in select_profile(config, flag=None, environ={}).providers.values():
            provider.resolve({})
    except ConfigError as error:
        messages.append(error.message)
    assert messages
    for message in messages:
        assert "\r" not in message and "\n" not in message, message


def test_a_padded_profile_name_is_refused_when_the_file_is_loaded() -> None:
    # --profile/KMSG_PROFILE are stripped, so "prod " could never be chosen: say so at once.
    with pytest.raises(ConfigError) as caught:
        _loaded('[profiles."prod "]\n[profiles."prod ".providers.mock]\n')
    assert caught.value.code == "INVALID_SETTING"
    assert "profile name" in caught.value.message
