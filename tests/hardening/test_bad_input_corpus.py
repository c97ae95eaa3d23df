"""A corpus of hostile and broken input, each run through the real CLI (exit codes:
docs/cli.md).

Every entry runs one command against a copy of a small database that kmsg itself wrote, then
checks: the exit code; exactly one `error: CODE: message` line on stderr (plus an optional
`hint:` line; send-many may list its row problems before it) naming the field and/or value; no
traceback; nothing half-sent (the tracking rows and jobs added are exactly the expected ones:
none for a refused command); and that `kmsg db check` passes on the database afterwards.

tests/cli/test_cli_bad_input.py and tests/cli/test_cli_send_many.py cover the basic cases; this file
extends them. Entries that kmsg still gets wrong in files owned by others are
`xfail(strict=True)` with the fix in the reason.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run

Content = bytes | Callable[[], bytes]

TO = ("--to", "010-1234-5678")
HUGE = "99999999999999999999"
ROW_LINE = re.compile(
    r"^(row \d+( \((line|sheet row) \d+\))?: [A-Z_]+: .+|[A-Z_]+: row \d+ .+"
    r"|\.\.\. and [\d,]+ more invalid rows .*|hint \([\d,]+ rows?\): .+)$"
)
SOLAPI_CONFIG = (
    b'default_profile = "s"\n[profiles.s.providers.solapi]\ntype = "solapi"\n'
    b'api_key = "k"\napi_secret = "s"\nsender = "0212345678"\n'
    b'base_url = "http://127.0.0.1:9"\n'  # a closed loopback port: nothing can go out
)


def mock_config(extra: str = "", provider: str = "") -> bytes:
    return (
        f'default_profile = "p"\n[profiles.p]\n{extra}'
        f'[profiles.p.providers.m]\ntype = "mock"\n{provider}'
    ).encode()


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def big_cell() -> bytes:
    return b"to,text\n010-1111-2222," + b"a" * 10_000_000 + b"\n010-1111-3333,ok\n"


def big_json_value() -> bytes:
    row = {"to": "010-1111-2222", "text": "가" * 3_500_000}
    return (
        json.dumps(row, ensure_ascii=False).encode() + b'\n{"to": "010-1111-3333", "text": "ok"}\n'
    )


def huge_json_line() -> bytes:
    return b'{"to": "010-1111-2222", "text": "' + b"x" * (17 * 2**20) + b'"}\n'


def jpeg(size: int) -> Callable[[], bytes]:
    return lambda: b"\xff\xd8\xff\xe0" + b"\x00" * (size - 4)


@dataclass(frozen=True)
class Case:
    """One hostile input. `{tmp}` in args is the case's directory, `{db}` its database."""

    args: tuple[str, ...]
    code: int
    error: str | None  # the code of the one `error:` line; None: success, no error line
    names: tuple[str, ...] = ()  # what the error (or a row problem) must name
    files: Mapping[str, Content] = field(default_factory=dict)
    stdin: bytes | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    sent: int = 0  # tracking rows the command adds (accepted messages)
    jobs: int = 0  # jobs it adds
    rows: bool = False  # send-many row problems may precede the error line
    json: bool = False  # --json: one envelope on stdout, nothing on stderr
    db: bool = True  # pass --db {db}
    check_db: bool = True


def case(name: str, *args: str, xfail: str | None = None, **kw: Any) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    if args and args[0] == "send" and "jobs" not in kw:
        kw["jobs"] = kw.get("sent", 0)  # a direct send writes its ledger row before sending
    return pytest.param(Case(tuple(args), **kw), id=name, marks=marks)


MANY = ",".join(f"010-5555-{n:04d}" for n in range(1001))

CORPUS = [
    # --- kmsg send: recipients and senders -------------------------------------------------
    case(
        "to: 1001 recipients",
        "send",
        "--to",
        MANY,
        "--text",
        "x",
        code=2,
        error="TOO_MANY_RECIPIENTS",
        names=("1001", "1000"),
    ),
    case(
        "to: mobile too short",
        "send",
        "--to",
        "010-123",
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("'010-123'", "field 'to'"),
    ),
    case(
        "to: Seoul number too short",
        "send",
        "--to",
        "02-123",
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("'02-123'",),
    ),
    case(
        "to: representative number too short",
        "send",
        "--to",
        "1588-12",
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("'1588-12'",),
    ),
    case(
        "to: unknown country code",
        "send",
        "--to",
        "+999 1234 5678",
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("unknown country code",),
    ),
    case(
        "to: +82 and nothing",
        "send",
        "--to",
        "+82",
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("'+82'",),
    ),
    case(
        "to: full-width letters",
        "send",
        "--to",
        "０１０-ＡＢＣＤ-５６７８",
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("ＡＢＣＤ",),
    ),
    case(
        "to: garbage after empty items",
        "send",
        "--to",
        "010-1111-2222,,abc",
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("'abc'",),
    ),
    case(
        "from: international sender",
        "send",
        *TO,
        "--text",
        "x",
        "--from",
        "+441234567890",
        code=2,
        error="INVALID_PHONE",
        names=("field 'from'", "+441234567890"),
    ),
    case(
        "from: short mobile sender",
        "send",
        *TO,
        "--text",
        "x",
        "--from",
        "010-1234",
        code=2,
        error="INVALID_PHONE",
        names=("'010-1234'", "field 'from'"),
    ),
    # --- kmsg send: time, type, variables ---------------------------------------------------
    case(
        "at: impossible date",
        "send",
        *TO,
        "--text",
        "x",
        "--at",
        "2026-13-45 25:61",
        code=2,
        error="INVALID_TIME",
        names=("2026-13-45 25:61", "field 'at'"),
    ),
    case(
        "at: negative relative",
        "send",
        *TO,
        "--text",
        "x",
        "--at",
        "+-5m",
        code=2,
        error="INVALID_TIME",
        names=("'+-5m'",),
    ),
    case(
        "at: overflowing relative",
        "send",
        *TO,
        "--text",
        "x",
        "--at",
        "+99999999999999d",
        code=2,
        error="INVALID_TIME",
        names=("too far",),
    ),
    case(
        "at: the epoch",
        "send",
        *TO,
        "--text",
        "x",
        "--at",
        "1970-01-01T00:00:00Z",
        code=2,
        error="PAST_TIME",
        names=("1970-01-01T00:00:00Z",),
    ),
    case(
        "at: now is not the future",
        "send",
        *TO,
        "--text",
        "x",
        "--at",
        "+0m",
        code=2,
        error="PAST_TIME",
        names=("'+0m'",),
    ),
    case(
        "at: offset out of range",
        "send",
        *TO,
        "--text",
        "x",
        "--at",
        "2030-01-01T00:00:00+25:00",
        code=2,
        error="INVALID_TIME",
        names=("+25:00",),
    ),
    case(
        "type: unknown",
        "send",
        *TO,
        "--text",
        "x",
        "--type",
        "kakao",
        code=2,
        error="INVALID_TYPE",
        names=("'kakao'", "field 'type'"),
    ),
    case(
        "failover-type: not SMS/LMS",
        "send",
        *TO,
        "--type",
        "ALIMTALK",
        "--template",
        "T",
        "--failover-text",
        "hi",
        "--failover-type",
        "FAX",
        code=2,
        error="INVALID_TYPE",
        names=("FAX", "failover_type"),
    ),
    case(
        "var: empty name",
        "send",
        *TO,
        "--text",
        "x",
        "--var",
        "=x",
        code=2,
        error="INVALID_VARIABLE",
        names=("'=x'", "field 'var'"),
    ),
    case(
        "vars: nested object",
        "send",
        *TO,
        "--text",
        "x",
        "--vars",
        '{"a": {"b": 1}}',
        code=2,
        error="INVALID_VARIABLE",
        names=("'a'", "field 'vars'"),
    ),
    case(
        "vars: broken JSON",
        "send",
        *TO,
        "--text",
        "x",
        "--vars",
        "{bad",
        code=2,
        error="INVALID_VARIABLE",
        names=("{bad", "field 'vars'"),
    ),
    case(
        "vars: 5000-digit number",
        "send",
        *TO,
        "--text",
        "x",
        "--vars",
        '{"a": 1' + "0" * 5000 + "}",
        code=2,
        error="INVALID_VARIABLE",
        names=("vars",),
    ),
    case(
        "vars: nested 100000 deep",
        "send",
        *TO,
        "--text",
        "x",
        "--vars",
        "[" * 100_000,
        code=2,
        error="INVALID_VARIABLE",
        names=("vars",),
    ),
    case(
        "vars: NaN value",
        "send",
        *TO,
        "--text",
        "#{a}",
        "--vars",
        '{"a": NaN}',
        code=2,
        error="INVALID_VARIABLE",
        names=("NaN",),
    ),
    case(
        "template: some variables missing",
        "send",
        *TO,
        "--text",
        "#{이름}님 #{날짜} #{시간}",
        "--var",
        "이름=홍길동",
        code=2,
        error="MISSING_VARIABLE",
        names=("날짜, 시간",),
    ),
    case(
        "template: a variable written {name}, another tool's syntax",
        "send",
        *TO,
        "--text",
        "{{이름}}님 안녕하세요",
        "--var",
        "이름=홍길동",
        code=2,
        error="PLACEHOLDER_SYNTAX",
        names=("{{이름}}", "#{이름}"),
    ),
    case(
        "failover text: a variable written ${code}",
        "send",
        *TO,
        "--type",
        "ALIMTALK",
        "--template",
        "T",
        "--var",
        "code=1",
        "--failover-text",
        "${code}",
        code=2,
        error="PLACEHOLDER_SYNTAX",
        names=("${code}", "failover_text"),
    ),
    case(
        "failover text: variable missing",
        "send",
        *TO,
        "--type",
        "ALIMTALK",
        "--template",
        "T",
        "--failover-text",
        "#{code}",
        code=2,
        error="MISSING_VARIABLE",
        names=("code", "failover_text"),
    ),
    # --- kmsg send: sizes ---------------------------------------------------------------------
    case(
        "text: 1001 Korean characters",
        "send",
        *TO,
        "--text",
        "가" * 1001,
        code=2,
        error="TEXT_TOO_LONG",
        names=("2002", "field 'text'"),
    ),
    case(
        "text: FriendTalk over 1000 characters",
        "send",
        *TO,
        "--type",
        "FRIENDTALK",
        "--text",
        "a" * 1001,
        code=2,
        error="TEXT_TOO_LONG",
        names=("1001", "FRIENDTALK"),
    ),
    case(
        "subject: 41 bytes",
        "send",
        *TO,
        "--text",
        "x",
        "--subject",
        "s" * 41,
        code=2,
        error="SUBJECT_TOO_LONG",
        names=("41 bytes",),
    ),
    case(
        "failover subject too long",
        "send",
        *TO,
        "--type",
        "ALIMTALK",
        "--template",
        "T",
        "--failover-text",
        "hi",
        "--failover-subject",
        "가" * 21,
        code=2,
        error="SUBJECT_TOO_LONG",
        names=("failover_subject",),
    ),
    case(
        "text-file: NUL byte",
        "send",
        *TO,
        "--text-file",
        "{tmp}/nul.txt",
        code=2,
        error="INVALID_TEXT",
        names=("NUL", "nul.txt"),
        files={"nul.txt": b"he\x00llo"},
    ),
    case(
        "text-file: invalid UTF-8",
        "send",
        *TO,
        "--text-file",
        "{tmp}/bad.txt",
        code=2,
        error="ENCODING_ERROR",
        names=("bad.txt", "ff"),
        files={"bad.txt": b"he\xffllo"},
    ),
    case(
        "text-file: a directory",
        "send",
        *TO,
        "--text-file",
        "{tmp}",
        code=2,
        error="UNREADABLE_FILE",
        names=("directory",),
    ),
    case(
        "text-file: /dev/zero",
        "send",
        *TO,
        "--text-file",
        "/dev/zero",
        code=2,
        error="TEXT_TOO_LONG",
        names=("/dev/zero",),
    ),
    case(
        "stdin: NUL byte",
        "send",
        *TO,
        "--text",
        "-",
        stdin=b"a\x00b",
        code=2,
        error="INVALID_TEXT",
        names=("standard input", "NUL"),
    ),
    case(
        "stdin: invalid UTF-8",
        "send",
        *TO,
        "--text",
        "-",
        stdin=b"\xff\xfe ok",
        code=2,
        error="ENCODING_ERROR",
        names=("standard input", "ff"),
    ),
    case(
        "stdin: 2 MB of text",
        "send",
        *TO,
        "--text",
        "-",
        stdin=b"a" * 2_000_000,
        code=2,
        error="TEXT_TOO_LONG",
        names=("standard input",),
    ),
    # --- kmsg send: images --------------------------------------------------------------------
    case(
        "image: missing file",
        "send",
        *TO,
        "--text",
        "x",
        "--image",
        "{tmp}/nope.jpg",
        code=2,
        error="IMAGE_NOT_FOUND",
        names=("nope.jpg",),
    ),
    case(
        "image: a directory",
        "send",
        *TO,
        "--text",
        "x",
        "--image",
        "{tmp}",
        code=2,
        error="IMAGE_NOT_FOUND",
        names=("directory",),
    ),
    case(
        "image: too big for SOLAPI MMS",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        "--image",
        "{tmp}/big.jpg",
        code=2,
        error="IMAGE_TOO_LARGE",
        names=("big.jpg", "200 KB"),
        files={"c.toml": SOLAPI_CONFIG, "big.jpg": jpeg(300 * 1024)},
    ),
    case(
        "image: BMP for SOLAPI MMS (JPEG, PNG or GIF only)",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        "--image",
        "{tmp}/a.bmp",
        code=2,
        error="IMAGE_FORMAT",
        names=("a.bmp", "JPEG, PNG or GIF"),
        files={"c.toml": SOLAPI_CONFIG, "a.bmp": b"BM" + b"\x00" * 64},
    ),
    case(
        "image: on an explicit SMS",
        "send",
        *TO,
        "--type",
        "SMS",
        "--text",
        "x",
        "--image",
        "{tmp}/a.jpg",
        code=2,
        error="IMAGE_NOT_ALLOWED",
        names=("a.jpg", "SMS"),
        files={"a.jpg": jpeg(1024)},
    ),
    # --- kmsg send: ids, queue options, provider ---------------------------------------------
    case(
        "id: 201 characters",
        "send",
        *TO,
        "--text",
        "x",
        "--id",
        "i" * 201,
        code=2,
        error="INVALID_ID",
        names=("201 characters",),
    ),
    case(
        "id: bidi override character",
        "send",
        *TO,
        "--text",
        "x",
        "--id",
        "a\u202eb",
        code=2,
        error="INVALID_ID",
        names=("\\u202e",),
    ),
    case(
        "id: SQL in an id is only an id",
        "send",
        *TO,
        "--text",
        "x",
        "--id",
        "x');DROP_TABLE_kmsg_jobs;--",
        code=0,
        error=None,
        sent=1,
    ),
    case(
        "priority: beyond 64 bits",
        "send",
        *TO,
        "--text",
        "x",
        "--queue",
        "--priority",
        HUGE,
        code=2,
        error="INVALID_PRIORITY",
        names=(HUGE,),
    ),
    case(
        "max-attempts: 0 with --queue",
        "send",
        *TO,
        "--text",
        "x",
        "--queue",
        "--max-attempts",
        "0",
        code=2,
        error="INVALID_MAX_ATTEMPTS",
        names=("0",),
    ),
    case(
        "provider: unknown",
        "send",
        *TO,
        "--text",
        "x",
        "--provider",
        "ghost",
        code=2,
        error="UNKNOWN_PROVIDER",
        names=("'ghost'",),
    ),
    case(
        "provider: escape sequence in the id",
        "send",
        *TO,
        "--text",
        "x",
        "--provider",
        "g\x1b[31mx",
        code=2,
        error="UNKNOWN_PROVIDER",
        names=("provider",),
    ),
    case(
        "queue: an id accepted before is not queued again",
        "send",
        "--to",
        "010-7000-0001",
        "--text",
        "x",
        "--id",
        "base-d",
        "--queue",
        code=0,
        error=None,
    ),
    case(
        "json: bad phone gives one envelope",
        "send",
        "--to",
        "010-12",
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("010-12",),
        json=True,
    ),
    # --- configuration ------------------------------------------------------------------------
    case(
        "config: unterminated string",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="CONFIG_PARSE",
        names=("c.toml",),
        files={"c.toml": b'a = """unterminated\n'},
    ),
    case(
        "config: not UTF-8",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="CONFIG_PARSE",
        names=("UTF-8",),
        files={"c.toml": b"\xff\xfe junk"},
    ),
    case(
        "config: a directory",
        "--config",
        "{tmp}",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="CONFIG_UNREADABLE",
        names=("directory",),
    ),
    case(
        "config: missing file",
        "--config",
        "{tmp}/none.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="CONFIG_NOT_FOUND",
        names=("none.toml",),
    ),
    case(
        "config: unknown profile key",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="UNKNOWN_KEY",
        names=("profiles.p.bogus",),
        files={"c.toml": mock_config(extra="bogus = 1\n")},
    ),
    case(
        "config: unknown provider setting",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="UNKNOWN_SETTING",
        names=("profiles.p.providers.m.foo",),
        files={"c.toml": mock_config(provider='foo = "bar"\n')},
    ),
    case(
        "config: unknown profile from the environment",
        "send",
        *TO,
        "--text",
        "x",
        env={"KMSG_PROFILE": "nope"},
        code=2,
        error="UNKNOWN_PROFILE",
        names=("'nope'",),
    ),
    case(
        "config: unknown KMSG_PROVIDER",
        "send",
        *TO,
        "--text",
        "x",
        env={"KMSG_PROVIDER": "pigeon"},
        code=2,
        error="UNKNOWN_PROVIDER_TYPE",
        names=("'pigeon'",),
    ),
    case(
        "config: env: variable not set",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="MISSING_ENV",
        names=("KMSG_TEST_NOPE", "api_key"),
        files={
            "c.toml": SOLAPI_CONFIG.replace(b'api_key = "k"', b'api_key = "env:KMSG_TEST_NOPE"')
        },
    ),
    case(
        "config: plain http to a remote host",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="INSECURE_URL",
        names=("http://example.com",),
        files={"c.toml": SOLAPI_CONFIG.replace(b"http://127.0.0.1:9", b"http://example.com")},
    ),
    case(
        "config: ftp base_url",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="INVALID_SETTING",
        names=("ftp://127.0.0.1",),
        files={"c.toml": SOLAPI_CONFIG.replace(b"http://127.0.0.1:9", b"ftp://127.0.0.1")},
    ),
    case(
        "config: unknown time zone",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="INVALID_SETTING",
        names=("Mars/Phobos",),
        files={"c.toml": mock_config(extra='timezone = "Mars/Phobos"\n')},
    ),
    case(
        "config: routing to an undefined provider",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="UNKNOWN_PROVIDER",
        names=("'ghost'",),
        files={"c.toml": mock_config(extra='[profiles.p.routing]\nSMS = "ghost"\n')},
    ),
    case(
        "config: invalid sender number",
        "--config",
        "{tmp}/c.toml",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="INVALID_PHONE",
        names=("'12'",),
        files={"c.toml": SOLAPI_CONFIG.replace(b'"0212345678"', b'"12"')},
    ),
    case(
        "config validate: a problem is reported once",
        "--config",
        "{tmp}/c.toml",
        "-p",
        "p",
        "config",
        "validate",
        code=2,
        error="CONFIG_INVALID",
        names=("1 problem",),
        files={"c.toml": mock_config(extra="bogus = 1\n")},
    ),
    # --- the database -------------------------------------------------------------------------
    case(
        "db: a directory",
        "--db",
        "{tmp}",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="DB_OPEN_FAILED",
        names=("directory",),
        db=False,
    ),
    case(
        "db: /dev/full (disk full)",
        "--db",
        "/dev/full",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="DB_OPEN_FAILED",
        names=("full",),
        db=False,
    ),
    case(
        "db: not a SQLite file",
        "--db",
        "{tmp}/text.db",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="DB_NOT_SQLITE",
        names=("text.db",),
        db=False,
        files={"text.db": b"this is not a database\n" * 200},
    ),
    case(
        "db: mysql URL without a database",
        "--db",
        "mysql://u@h",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="DB_URL_INVALID",
        names=("mysql",),
        db=False,
    ),
    case(
        "db: PostgreSQL port closed",
        "--db",
        "postgresql://kmsg:pw@127.0.0.1:1/x",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="DB_OPEN_FAILED",
        names=("127.0.0.1",),
        db=False,
    ),
    case(
        "db: empty --db",
        "--db",
        "",
        "send",
        *TO,
        "--text",
        "x",
        code=2,
        error="DB_URL_INVALID",
        names=("empty",),
        db=False,
    ),
    # --- kmsg send-many: files ----------------------------------------------------------------
    case(
        "csv: quote never closed",
        "send-many",
        "{tmp}/in.csv",
        code=2,
        error="NO_VALID_ROWS",
        rows=True,
        names=("row 1", "BAD_ROW"),
        files={"in.csv": csv("to,text", '"010-1,hi')},
    ),
    case(
        "csv: stray quote in one row",
        "send-many",
        "{tmp}/in.csv",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1", "BAD_ROW"),
        sent=2,
        jobs=2,
        files={
            "in.csv": csv("to,text", '010-1111-2222,"hi"x', "010-1111-3333,a", "010-1111-4444,b")
        },
    ),
    case(
        "csv: NUL in a cell",
        "send-many",
        "{tmp}/in.csv",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1", "NUL"),
        sent=1,
        jobs=1,
        files={"in.csv": b"to,text\n010-1111-2222,h\x00i\n010-1111-3333,ok\n"},
    ),
    case(
        "csv: too many cells",
        "send-many",
        "{tmp}/in.csv",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 2", "extra"),
        sent=1,
        jobs=1,
        files={"in.csv": csv("to,text", "010-1111-2222,ok", "010-1111-3333,a,b,c")},
    ),
    case(
        "csv: a 10 MB cell",
        "send-many",
        "{tmp}/in.csv",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1", "TEXT_TOO_LONG", "10000000"),
        sent=1,
        jobs=1,
        files={"in.csv": big_cell},
    ),
    case(
        "csv: neither UTF-8 nor CP949",
        "send-many",
        "{tmp}/in.csv",
        code=2,
        error="ENCODING_ERROR",
        names=("ff fe fd 80", "neither UTF-8 nor CP949"),
        files={"in.csv": b"to,text\n010-1111-2222,\xff\xfe\xfd\x80\n"},
    ),
    case(
        "csv: no header row",
        "send-many",
        "{tmp}/in.csv",
        code=2,
        error="MISSING_COLUMN",
        names=("'010-1111-2222'",),
        files={"in.csv": csv("010-1111-2222,hi")},
    ),
    case(
        "csv: duplicate header",
        "send-many",
        "{tmp}/in.csv",
        code=2,
        error="DUPLICATE_COLUMN",
        names=("'To'",),
        files={"in.csv": csv("to,To", "1,2")},
    ),
    case(
        "csv: unknown columns are variables",
        "send-many",
        "{tmp}/in.csv",
        code=0,
        error=None,
        sent=1,
        jobs=1,
        files={"in.csv": csv("to,text,weird col,", "010-1111-2222,#{weird col},v,")},
    ),
    case(
        "csv: empty file",
        "send-many",
        "{tmp}/in.csv",
        code=2,
        error="MISSING_COLUMN",
        names=("empty",),
        files={"in.csv": b""},
    ),
    case(
        "csv: header only",
        "send-many",
        "{tmp}/in.csv",
        code=0,
        error=None,
        files={"in.csv": csv("to,text")},
    ),
    case(
        "csv: a directory",
        "send-many",
        "{tmp}",
        code=2,
        error="UNREADABLE_FILE",
        names=("directory",),
    ),
    case(
        "jsonl: escaped NUL",
        "send-many",
        "{tmp}/in.jsonl",
        code=2,
        error="NO_VALID_ROWS",
        rows=True,
        names=("row 1", "NUL"),
        files={"in.jsonl": b'{"to": "010-1111-2222", "text": "a\\u0000b"}\n'},
    ),
    case(
        "jsonl: raw NUL byte",
        "send-many",
        "{tmp}/in.jsonl",
        code=2,
        error="NO_VALID_ROWS",
        rows=True,
        names=("row 1", "not valid JSON"),
        files={"in.jsonl": b'{"to": "010-1111-2222", "text": "a\x00b"}\n'},
    ),
    case(
        "jsonl: invalid UTF-8",
        "send-many",
        "{tmp}/in.jsonl",
        code=2,
        error="ENCODING_ERROR",
        names=("row 1", "UTF-8"),
        files={"in.jsonl": b'{"to": "010-1111-2222", "text": "\xff"}\n'},
    ),
    case(
        "jsonl: a 10 MB value",
        "send-many",
        "{tmp}/in.jsonl",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1", "TEXT_TOO_LONG"),
        files={"in.jsonl": big_json_value},
        sent=1,
        jobs=1,
    ),
    case(
        "jsonl: a 17 MiB line",
        "send-many",
        "{tmp}/in.jsonl",
        code=2,
        error="NO_VALID_ROWS",
        rows=True,
        names=("row 1", "16 MiB"),
        files={"in.jsonl": huge_json_line},
    ),
    case(
        "jsonl: a JSON array",
        "send-many",
        "{tmp}/in.json",
        code=2,
        error="INVALID_FORMAT",
        names=("JSON array",),
        files={"in.json": b'[{"to": "010-1111-2222"}]\n'},
    ),
    case(
        "jsonl: nested value",
        "send-many",
        "{tmp}/in.jsonl",
        code=2,
        error="NO_VALID_ROWS",
        rows=True,
        names=("row 1", "'text'"),
        files={"in.jsonl": b'{"to": "010-1111-2222", "text": {"a": 1}}\n'},
    ),
    case(
        "jsonl: the same key twice",
        "send-many",
        "{tmp}/in.jsonl",
        code=2,
        error="NO_VALID_ROWS",
        rows=True,
        names=("row 1", "DUPLICATE_COLUMN"),
        files={"in.jsonl": b'{"to": "010-1111-2222", "TO": "010-1111-3333"}\n'},
    ),
    case(
        "jsonl: empty file",
        "send-many",
        "{tmp}/in.jsonl",
        code=0,
        error=None,
        files={"in.jsonl": b""},
    ),
    # --- kmsg send-many: rows -----------------------------------------------------------------
    case(
        "rows: missing image",
        "send-many",
        "{tmp}/in.csv",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1", "IMAGE_NOT_FOUND", "nope.jpg"),
        sent=1,
        jobs=1,
        files={
            "in.csv": csv("to,text,image", "010-1111-2222,hi,{tmp}/nope.jpg", "010-1111-3333,hi,")
        },
    ),
    case(
        "rows: past and malformed times",
        "send-many",
        "{tmp}/in.csv",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1 (line 2): INVALID_TIME", "'yesterday'", "row 2 (line 3): PAST_TIME"),
        sent=1,
        jobs=1,
        files={
            "in.csv": csv(
                "to,text,at",
                "010-1111-2222,hi,yesterday",
                "010-1111-3333,hi,2020-01-01 10:00",
                "010-1111-4444,hi,+10m",
            )
        },
    ),
    case(
        "rows: unknown provider",
        "send-many",
        "{tmp}/in.csv",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1 (line 2): UNKNOWN_PROVIDER", "'ghost'"),
        sent=1,
        jobs=1,
        files={"in.csv": csv("to,text,provider", "010-1111-2222,hi,ghost", "010-1111-3333,hi,")},
    ),
    case(
        "rows: id with a space",
        "send-many",
        "{tmp}/in.csv",
        "--id-column",
        "id",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1 (line 2): INVALID_ID", "'a b'"),
        sent=1,
        jobs=1,
        files={"in.csv": csv("to,text,id", "010-1111-2222,hi,a b", "010-1111-3333,hi,ok-1")},
    ),
    case(
        "rows: an id already sent by kmsg send",
        "send-many",
        "{tmp}/in.csv",
        "--id-column",
        "id",
        code=5,
        error="PARTIAL_FAILURE",
        rows=True,
        names=("row 1 (line 2): DUPLICATE_ID", "'base-d'"),
        sent=1,
        jobs=1,
        files={"in.csv": csv("to,text,id", "010-7000-0009,hi,base-d", "010-1111-3333,hi,fresh-1")},
    ),
    case(
        "type: --type for every row, wrong",  # one error before any row is read
        "send-many",
        "{tmp}/in.csv",
        "--type",
        "TELEX",
        code=2,
        error="INVALID_TYPE",
        names=("'TELEX'", "(field 'type')"),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "from: --from for every row, not a number",
        "send-many",
        "{tmp}/in.csv",
        "--from",
        "abc",
        code=2,
        error="INVALID_PHONE",
        names=("'abc'", "(field 'from')"),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "rows: every type wrong",
        "send-many",
        "{tmp}/in.csv",
        code=2,
        error="NO_VALID_ROWS",
        rows=True,
        names=("row 1 (line 2): INVALID_TYPE", "'TELEX'"),
        files={"in.csv": csv("to,text,type", "010-1111-2222,hi,TELEX")},
    ),
    # --- kmsg send-many: options --------------------------------------------------------------
    case(
        "concurrency: beyond 64 bits",
        "send-many",
        "{tmp}/in.csv",
        "--concurrency",
        HUGE,
        code=2,
        error="INVALID_CONCURRENCY",
        names=(HUGE,),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "concurrency: not a number",
        "send-many",
        "{tmp}/in.csv",
        "--concurrency",
        "lots",
        code=2,
        error="USAGE",
        names=("--concurrency",),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "rate: zero per second",
        "send-many",
        "{tmp}/in.csv",
        "--rate",
        "0/s",
        code=2,
        error="INVALID_RATE",
        names=("'0/s'", "field 'rate'"),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "rate: nan",
        "send-many",
        "{tmp}/in.csv",
        "--rate",
        "nan",
        code=2,
        error="INVALID_RATE",
        names=("'nan'",),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "encoding: unknown codec",
        "send-many",
        "{tmp}/in.csv",
        "--encoding",
        "klingon",
        code=2,
        error="INVALID_ENCODING",
        names=("'klingon'",),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "format: xml",
        "send-many",
        "{tmp}/in.csv",
        "--format",
        "xml",
        code=2,
        error="INVALID_FORMAT",
        names=("'xml'",),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "batch-id: with a tab",
        "send-many",
        "{tmp}/in.csv",
        "--batch-id",
        "a\tb",
        code=2,
        error="INVALID_BATCH_ID",
        names=("a\\tb", "field 'batch-id'"),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "batch-id: empty",
        "send-many",
        "{tmp}/in.csv",
        "--batch-id",
        "",
        code=2,
        error="INVALID_BATCH_ID",
        names=("empty",),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "priority: beyond 64 bits (send-many)",
        "send-many",
        "{tmp}/in.csv",
        "--queue",
        "--priority",
        HUGE,
        code=2,
        error="INVALID_PRIORITY",
        names=(HUGE,),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "max-attempts: 21",
        "send-many",
        "{tmp}/in.csv",
        "--max-attempts",
        "21",
        code=2,
        error="INVALID_MAX_ATTEMPTS",
        names=("21",),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "results: a directory",
        "send-many",
        "{tmp}/in.csv",
        "--results",
        "{tmp}",
        code=2,
        error="RESULTS_UNWRITABLE",
        names=("directory", "field 'results'"),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "results: /dev/full (a device)",
        "send-many",
        "{tmp}/in.csv",
        "--results",
        "/dev/full",
        code=2,
        error="RESULTS_REFUSED",
        names=("/dev/full", "not a regular file"),
        files={"in.csv": csv("to,text", "010-1111-2222,hi")},
    ),
    case(
        "json: no valid row gives one envelope",
        "send-many",
        "{tmp}/in.csv",
        code=2,
        error="NO_VALID_ROWS",
        json=True,
        files={"in.csv": csv("to,text", "1,hi")},
    ),
    # --- track, queue, db ---------------------------------------------------------------------
    case(
        "track show: unknown id",
        "track",
        "show",
        "no-such-id",
        code=2,
        error="NOT_FOUND",
        names=("'no-such-id'",),
    ),
    case(
        "track show: escape sequence in the id",
        "track",
        "show",
        "x\x1b[31mred",
        code=2,
        error="NOT_FOUND",
        names=("red",),
    ),
    case(
        "track list: unknown status",
        "track",
        "list",
        "--status",
        "LOST",
        code=2,
        error="INVALID_STATUS",
        names=("'LOST'",),
    ),
    case(
        "track list: --since garbage",
        "track",
        "list",
        "--since",
        "whenever",
        code=2,
        error="INVALID_TIME",
        names=("'whenever'", "field 'since'"),
    ),
    case(
        "track list: --since beyond 1970",
        "track",
        "list",
        "--since",
        HUGE + "d",
        code=0,
        error=None,
    ),
    case(
        "track list: --limit beyond 64 bits",
        "track",
        "list",
        "--limit",
        HUGE,
        code=2,
        error="INVALID_LIMIT",
        names=(HUGE,),
    ),
    case(
        "track run-once: --limit 0",
        "track",
        "run-once",
        "--limit",
        "0",
        code=2,
        error="USAGE",
        names=("--limit 0",),
    ),
    case(
        "track watch: --interval nan",
        "track",
        "watch",
        "--interval",
        "nan",
        code=2,
        error="INVALID_DURATION",
        names=("'nan'", "field 'interval'"),
    ),
    case(
        "track watch: --interval -1",
        "track",
        "watch",
        "--interval",
        "-1s",
        code=2,
        error="INVALID_DURATION",
        names=("'-1s'",),
    ),
    case(
        "track watch: --interval without a unit",
        "track",
        "watch",
        "--interval",
        "30",
        code=2,
        error="INVALID_DURATION",
        names=("'30'", "field 'interval'"),
    ),
    case(
        "queue retry: unknown id",
        "queue",
        "retry",
        "--id",
        "no-such-job",
        code=2,
        error="NOT_FOUND",
        names=("'no-such-job'",),
    ),
    case(
        "queue retry: nothing chosen", "queue", "retry", code=2, error="USAGE", names=("--failed",)
    ),
    case(
        "queue list: unknown status",
        "queue",
        "list",
        "--status",
        "weird",
        code=2,
        error="INVALID_STATUS",
        names=("'weird'",),
    ),
    case(
        "queue list: --limit beyond 64 bits",
        "queue",
        "list",
        "--limit",
        HUGE,
        code=2,
        error="INVALID_LIMIT",
        names=(HUGE,),
    ),
    case(
        "queue process: --lease garbage",
        "queue",
        "process",
        "--drain",
        "--lease",
        "soonish",
        code=2,
        error="INVALID_DURATION",
        names=("'soonish'", "field 'lease'"),
    ),
    case(
        "queue process: --lease of ages",
        "queue",
        "process",
        "--drain",
        "--lease",
        HUGE + "d",
        code=2,
        error="INVALID_DURATION",
        names=("too long",),
    ),
    case(
        "queue process: --concurrency 0",
        "queue",
        "process",
        "--drain",
        "--concurrency",
        "0",
        code=2,
        error="INVALID_CONCURRENCY",
        names=("--concurrency 0",),
    ),
    case(
        "queue process: --max-jobs 0",
        "queue",
        "process",
        "--drain",
        "--max-jobs",
        "0",
        code=2,
        error="USAGE",
        names=("--max-jobs 0",),
    ),
    case(
        "queue purge: --older-than 1y",
        "queue",
        "purge",
        "--older-than",
        "1y",
        code=2,
        error="INVALID_DURATION",
        names=("'1y'",),
    ),
    case(
        "queue purge: --older-than beyond 1970",
        "queue",
        "purge",
        "--older-than",
        HUGE + "d",
        "--yes",
        code=0,
        error=None,
    ),
    case(
        "queue purge: no terminal and no --yes",
        "queue",
        "purge",
        "--older-than",
        "30d",
        code=2,
        error="CONFIRMATION_REQUIRED",
        names=("--yes",),
    ),
    case(
        "db purge: --older-than garbage",
        "db",
        "purge",
        "--older-than",
        "old",
        code=2,
        error="INVALID_DURATION",
        names=("'old'", "field 'older-than'"),
    ),
    case(
        "db purge: --older-than 0d",
        "db",
        "purge",
        "--older-than",
        "0d",
        code=2,
        error="INVALID_DURATION",
        names=("'0d'",),
    ),
    case(
        "db purge: --older-than beyond 1970",
        "db",
        "purge",
        "--older-than",
        HUGE + "d",
        "--yes",
        code=0,
        error=None,
    ),
    case(
        "db purge: a bare number of days",
        "db",
        "purge",
        "--older-than",
        "90",
        "--yes",
        code=2,
        error="INVALID_DURATION",
        names=("'90'", "field 'older-than'"),
    ),
    case(
        "db copy: to the same database",
        "db",
        "copy",
        "--from",
        "{db}",
        "--to",
        "{tmp}/./kmsg.sqlite",
        code=2,
        error="DB_SAME",
        names=("kmsg.sqlite",),
    ),
    case(
        "db copy: from a missing file",
        "db",
        "copy",
        "--from",
        "{tmp}/missing.sqlite",
        "--to",
        "{tmp}/copy.sqlite",
        code=2,
        error="DB_NOT_FOUND",
        names=("missing.sqlite",),
    ),
    case(
        "db copy: to a mysql URL without a database",
        "db",
        "copy",
        "--from",
        "{db}",
        "--to",
        "mysql://u@h",
        code=2,
        error="DB_URL_INVALID",
        names=("mysql",),
    ),
    case(
        "db schema: unknown dialect",
        "db",
        "schema",
        "--dialect",
        "oracle",
        code=2,
        error="USAGE",
        names=("oracle",),
    ),
    case(
        "providers balance: unknown provider",
        "providers",
        "balance",
        "--provider",
        "ghost",
        code=2,
        error="UNKNOWN_PROVIDER",
        names=("'ghost'",),
    ),
]


# --- the database every entry starts from ---------------------------------------------------

_TEMPLATE: dict[str, bytes] = {}


def _template(tmp_path: Path) -> bytes:
    """A database kmsg wrote itself: accepted, refused and queued jobs, tracking rows."""
    if "db" not in _TEMPLATE:
        path = tmp_path / "template.sqlite"
        run = Run(path)
        rows = tmp_path / "base.csv"
        rows.write_bytes(csv("to,text", "010-7000-0001,a", "010-7000-0002,b", "010-7000-0000,c"))
        assert run("send-many", str(rows), "--batch-id", "base").exit_code == 5
        queued = run("send", "--to", "010-7000-0003", "--text", "q", "--queue", "--id", "base-q")
        assert queued.exit_code == 0
        assert run("send", "--to", "010-7000-0004", "--text", "d", "--id", "base-d").exit_code == 0
        assert run("db", "check").exit_code == 0
        _TEMPLATE["db"] = path.read_bytes()
        assert not Path(f"{path}-wal").exists()  # everything is in the main file
    return _TEMPLATE["db"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "kmsg.sqlite"
    path.write_bytes(_template(tmp_path))
    return path


def counts(path: Path) -> tuple[int, int]:
    with closing(sqlite3.connect(path)) as conn:
        (tracking,) = conn.execute("SELECT COUNT(1) FROM kmsg_delivery_tracking").fetchone()
        (jobs,) = conn.execute("SELECT COUNT(1) FROM kmsg_jobs").fetchone()
    return int(tracking), int(jobs)


def assert_db_check_passes(path: Path) -> None:
    result = Run(path)("db", "check")
    assert result.exit_code == 0, result.stdout + result.stderr


def assert_one_error(stderr: str, code: str, names: tuple[str, ...], *, rows: bool) -> None:
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, lines
    (line,) = errors
    assert re.match(rf"error: {code}: \S", line), line
    at = lines.index(line)
    after = lines[at + 1 :]
    assert after == [] or (len(after) == 1 and after[0].startswith("hint: ")), lines
    before = lines[:at]
    if rows:
        assert all(ROW_LINE.match(text) for text in before), before
        where = stderr
    else:
        assert before == [], before
        where = "\n".join(lines[at:])
    for name in names:
        assert name in where, (name, where)
    assert "\x1b" not in stderr


def _materialise(case: Case, tmp_path: Path, db: Path) -> list[str]:
    for name, content in case.files.items():
        data = content() if callable(content) else content
        data = data.replace(b"{tmp}", str(tmp_path).encode())
        target = tmp_path / name
        target.write_bytes(data)
        if name.endswith(".toml"):
            target.chmod(0o600)
    return [arg.replace("{tmp}", str(tmp_path)).replace("{db}", str(db)) for arg in case.args]


@pytest.mark.parametrize("case", CORPUS)
def test_bad_input(case: Case, tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = _materialise(case, tmp_path, db)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = counts(db)
    run = Run(db)
    result = run(*args, *(["--json"] if case.json else []), input=case.stdin, db=case.db)
    output = result.stdout + result.stderr
    assert result.exit_code == case.code, output
    assert "Traceback" not in output and "INTERNAL_ERROR" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    if case.json:
        doc = json.loads(result.stdout)
        assert doc["ok"] is False and doc["error"]["code"] == case.error
        assert result.stderr == ""
        for name in case.names:
            assert name in json.dumps(doc["error"], ensure_ascii=False)
    elif case.error is None:
        assert not any(line.startswith("error:") for line in result.stderr.splitlines()), output
    else:
        assert_one_error(result.stderr, case.error, case.names, rows=case.rows)
    after = counts(db)
    assert (after[0] - before[0], after[1] - before[1]) == (case.sent, case.jobs), output
    for name in case.env:
        monkeypatch.delenv(name)
    if case.check_db:
        assert_db_check_passes(db)


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 60


# --- inputs that need a second process, a lock, a signal or a file size limit ---------------


@pytest.mark.parametrize(
    "args", [("send", *TO, "--text", "x"), ("send-many", "{tmp}/in.csv")], ids=["send", "send-many"]
)
def test_a_database_locked_by_another_writer(
    args: tuple[str, ...], tmp_path: Path, db: Path
) -> None:
    """A write lock held elsewhere: DB_LOCKED after the 5 s busy timeout, nothing sent."""
    (tmp_path / "in.csv").write_bytes(csv("to,text", "010-1111-2222,hi"))
    before = counts(db)
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        result = Run(db)(*[arg.replace("{tmp}", str(tmp_path)) for arg in args])
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 2, result.stdout + result.stderr
    assert_one_error(result.stderr, "DB_LOCKED", ("is locked", "5000 ms"), rows=False)
    assert 4.5 <= elapsed < 15
    assert counts(db) == before
    assert_db_check_passes(db)


def _unwritable_path(tmp_path: Path) -> Path:
    """A database path in a directory this process cannot write to (root ignores modes)."""
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        (locked / "probe").touch()
    except PermissionError:
        return locked / "kmsg.sqlite"
    for parent in (Path("/sys"), Path("/proc")):
        try:
            (parent / "kmsg-probe").touch()
        except OSError:
            return parent / "kmsg-corpus.sqlite"
    pytest.skip("no directory is read-only for this user")


def test_an_unwritable_database_path(tmp_path: Path) -> None:
    path = _unwritable_path(tmp_path)
    result = Run(path)("send", *TO, "--text", "x")
    assert result.exit_code == 2
    assert_one_error(result.stderr, "DB_OPEN_FAILED", (str(path),), rows=False)
    assert not path.exists()


def _kmsg(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-m", "kmsg_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


def test_disk_full_in_the_middle_of_a_bulk_send(tmp_path: Path, db: Path) -> None:
    """The file size limit (RLIMIT_FSIZE, what a full disk looks like to SQLite) is hit while
    the ledger is written: one DB error line, exit 2, nothing half-recorded; a re-run without
    the limit sends every row exactly once."""
    rows = 3000
    numbers = [f"010-6{n // 1000:03d}-{1000 + n % 1000:04d}" for n in range(rows)]
    source = tmp_path / "in.csv"
    source.write_bytes(csv("to,text", *(f"{number},안녕하세요 {number}" for number in numbers)))
    before = counts(db)
    limit = db.stat().st_size + 128 * 1024

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = _kmsg("--db", str(db), "send-many", str(source), preexec_fn=limit_file_size)
    assert full.returncode == 2, full.stdout + full.stderr
    assert_one_error(full.stderr, "DB_IO_ERROR", ("could not be written",), rows=False)
    assert "Traceback" not in full.stdout + full.stderr
    with closing(sqlite3.connect(db)) as conn:
        (completed,) = conn.execute(
            "SELECT COUNT(1) FROM kmsg_jobs WHERE status = 'completed'"
        ).fetchone()
    assert counts(db)[0] - before[0] <= completed  # no tracking row without its job
    assert_db_check_passes(db)

    again = _kmsg("--db", str(db), "send-many", str(source), "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    summary = json.loads(again.stdout)["data"]
    assert summary["accepted"] + summary["already_sent"] == rows
    with closing(sqlite3.connect(db)) as conn:
        sent = [to for (to,) in conn.execute('SELECT "to" FROM kmsg_delivery_tracking')]
    assert sorted(set(sent) & {n.replace("-", "") for n in numbers}) == sorted(
        n.replace("-", "") for n in numbers
    )
    assert len(sent) == len(set(sent))  # every number once
    assert_db_check_passes(db)


def test_ctrl_c_in_the_middle_of_a_bulk_send(tmp_path: Path, db: Path) -> None:
    """SIGINT while sending: exit 130 with one INTERRUPTED line; a re-run finishes the rest."""
    config = tmp_path / "slow.toml"
    config.write_text(
        'default_profile = "slow"\n[profiles.slow.providers.mock]\ntype = "mock"\n'
        "latency_ms = 50\n",
        encoding="utf-8",
    )
    rows = 200
    source = tmp_path / "in.csv"
    source.write_bytes(csv("to,text", *(f"010-4444-{1000 + n:04d},hi" for n in range(rows))))
    command = [
        sys.executable, "-m", "kmsg_cli", "--config", str(config), "--db", str(db),
        "send-many", str(source), "--concurrency", "1", "--rate", "40/s",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.1)
        with closing(sqlite3.connect(db)) as conn:
            (done,) = conn.execute(
                "SELECT COUNT(1) FROM kmsg_jobs WHERE status = 'completed' AND id LIKE 'b%'"
            ).fetchone()
        if done >= 20:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert_one_error(err, "INTERRUPTED", ("re-run",), rows=False)
    assert "Traceback" not in out + err
    assert_db_check_passes(db)
    with closing(sqlite3.connect(db)) as conn:
        (held,) = conn.execute(
            "SELECT COUNT(1) FROM kmsg_jobs WHERE status = 'processing'"
        ).fetchone()
    assert held == 0  # unsent claims were released

    finish = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert finish.returncode == 0, finish.stdout + finish.stderr
    with closing(sqlite3.connect(db)) as conn:
        (sent,) = conn.execute(
            'SELECT COUNT(DISTINCT "to") FROM kmsg_delivery_tracking WHERE "to" LIKE \'0104444%\''
        ).fetchone()
        (rows_sent,) = conn.execute(
            "SELECT COUNT(1) FROM kmsg_delivery_tracking WHERE \"to\" LIKE '0104444%'"
        ).fetchone()
    assert sent == rows_sent == rows
    assert_db_check_passes(db)


def test_an_id_queued_and_then_sent_directly_goes_out_once(db: Path) -> None:
    run = Run(db)
    assert run("queue", "process", "--drain").exit_code == 0  # the template's queued job
    assert run("send", *TO, "--text", "x", "--id", "twice", "--queue").exit_code == 0
    assert run("send", *TO, "--text", "x", "--id", "twice").exit_code == 0
    code, doc = run.json("queue", "process", "--drain")
    assert code == 0, doc
    assert doc["data"]["requests"] == 0, doc  # the queued copy must not be sent again
    assert_db_check_passes(db)
