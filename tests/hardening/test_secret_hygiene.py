"""Secret hygiene (docs/configuration.md, "Secrets"): credentials never reach stdout, stderr,
logs, `--json`, exception messages, the database or a `--results` file, and the files kmsg
creates are private.

The sweep (`test_no_secret_reaches_any_output`) runs every command of the CLI (walked from the
Typer tree: a new command fails until SCENARIOS has an entry for it) against the fake SOLAPI,
IWINV and Aligo servers (tests/fakes/, real vendor auth on 127.0.0.1) configured with SENTINEL
credentials. Each command goes through its success and failure paths (wrong keys refused by the
fakes, 5xx outages, connection refused, read timeouts, bad input, a key that is not a valid
header value, an unreachable or malformed database URL); the whole scenario runs once with
`--json` and once with `-vv`. Worlds: secrets as literal config values or as `env:` references
on SQLite, and `env:` secrets on PostgreSQL with a password in the `--db` URL (every command;
timeouts skipped there, they do not touch the database), plus the URL in the profiles' `db` key
for the commands that show or open it. After the runs every table is dumped and searched, and
so is every file the runs wrote (results, SQLite files and their -wal, copies).

What is searched: stdout, stderr, every KmsgError created during a run (caught or not), the
exception that ended it, and every LogRecord raw, before any filter. kmsg has no log-file
option or variable (logs go to stderr only); the subprocess tests redirect stderr to a file.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import re
import shlex
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kmsg_cli.errors import KmsgError
from tests.fakes.aligo import FakeAligo
from tests.fakes.iwinv import FakeIwinv
from tests.fakes.solapi import DEFAULT_PF_ID, FakeSolapi

# -- sentinels ------------------------------------------------------------------------------------

SOLAPI_KEY = "SENTINEL-solapi-key-7f3a9c2e41d8"
SOLAPI_SECRET = "SENTINEL-solapi-secret-b61e05d4a7c3"
IWINV_KEY = "SENTINEL-iwinv-key-2c8f7a19e0b5"
IWINV_SMS_KEY = "SENTINEL-iwinv-smskey-93d1e6b4f27a"
IWINV_SMS_AUTH = "SENTINEL-iwinv-smsauth-5ae80c3f9d16"
ALIGO_KEY = "SENTINEL-aligo-key-e4b7d2091fa6"
ALIGO_SENDER_KEY = "SENTINEL-aligo-senderkey-0c59f3a8b2e7"
PG_PASSWORD = "SENTINEL-pg-password-8d3b61f0c2a9"
# Wrong keys are secrets too: a refused key must not be echoed either.
BAD_SOLAPI_KEY = "SENTINEL-solapi-badkey-41c7e9a03b5d"
BAD_SOLAPI_SECRET = "SENTINEL-solapi-badsecret-d92f6e1b8a04"
BAD_IWINV_KEY = "SENTINEL-iwinv-badkey-6b0e3d9a7f21"
BAD_IWINV_SMS_KEY = "SENTINEL-iwinv-badsmskey-a5f1c8e2d730"
BAD_IWINV_SMS_AUTH = "SENTINEL-iwinv-badsmsauth-1e7b4a9c0f62"
BAD_ALIGO_KEY = "SENTINEL-aligo-badkey-8c2d5f0e9b14"
# A key pasted with a line break in it (not a valid HTTP header value).
MALFORMED_SOLAPI_KEY = "SENTINEL-solapi-malformed-3e9a0b6c5d17\nx"

SECRETS = {
    "solapi api_key": SOLAPI_KEY,
    "solapi api_secret": SOLAPI_SECRET,
    "iwinv api_key": IWINV_KEY,
    "iwinv sms_api_key": IWINV_SMS_KEY,
    "iwinv sms_auth_key": IWINV_SMS_AUTH,
    "aligo api_key": ALIGO_KEY,
    "aligo sender_key": ALIGO_SENDER_KEY,
    "postgres password": PG_PASSWORD,
    "wrong solapi api_key": BAD_SOLAPI_KEY,
    "wrong solapi api_secret": BAD_SOLAPI_SECRET,
    "wrong iwinv api_key": BAD_IWINV_KEY,
    "wrong iwinv sms_api_key": BAD_IWINV_SMS_KEY,
    "wrong iwinv sms_auth_key": BAD_IWINV_SMS_AUTH,
    "wrong aligo api_key": BAD_ALIGO_KEY,
    "malformed solapi api_key": MALFORMED_SOLAPI_KEY,
}


def _encodings(text: str) -> list[str]:
    raw = text.encode()
    return [
        base64.standard_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def _needles() -> dict[str, str]:
    """What must never appear, and what it is: each secret, the random tail of each (catches a
    truncated copy), the base64 forms IWINV puts in its headers, and the word SENTINEL."""
    needles: dict[str, str] = {}
    for name, value in SECRETS.items():
        head = value.split("\n")[0]
        needles[head] = name
        needles[head.rsplit("-", 1)[1]] = f"{name} (its random tail)"
        for encoded in _encodings(value):
            needles[encoded] = f"{name} (base64)"
    for name, pair in {
        "iwinv SMS secret header": f"{IWINV_SMS_KEY}&{IWINV_SMS_AUTH}",
        "wrong iwinv SMS secret header": f"{BAD_IWINV_SMS_KEY}&{BAD_IWINV_SMS_AUTH}",
    }.items():
        for encoded in _encodings(pair):
            needles[encoded] = name
    return needles


NEEDLES = _needles()
_WORD = re.compile(r"sentinel", re.IGNORECASE)


def find_leaks(text: str) -> list[str]:
    """Names of the secrets found in `text`."""
    found = sorted({name for needle, name in NEEDLES.items() if needle in text})
    if not found and _WORD.search(text):
        found = ["a SENTINEL value (partial copy)"]
    return found


def excerpt(text: str, width: int = 100) -> str:
    """The text around the first leak, for the failure message."""
    positions = [text.find(n) for n in NEEDLES if n in text]
    match = _WORD.search(text)
    if match:
        positions.append(match.start())
    at = min(positions) if positions else 0
    return repr(text[max(0, at - width) : at + width])


# -- the command tree -----------------------------------------------------------------------------


def cli_commands() -> list[str]:
    """Every leaf command of `kmsg`, as 'group sub' strings (walked from the Typer app)."""
    import typer

    from kmsg_cli.cli.app import app
    from kmsg_cli.cli.framework import walk

    tree = walk(typer.main.get_command(app))
    return sorted(" ".join(path) for path, command in tree if not hasattr(command, "commands"))


COMMANDS = cli_commands()

# -- scenario table -------------------------------------------------------------------------------

PROVIDERS = ("solapi", "iwinv", "aligo")
MODES = ("json", "vv")
TO = "010-1111-2222"
SEND = f"send --to {TO} --text 안내"


@dataclass(frozen=True)
class Step:
    """One CLI run, made once with --json and once with -vv (the whole scenario is played
    once per mode; `{m}` in an argument is the mode, other `{name}`s are `World.vars()`).

    `path` is what the step exercises (the report's table). `prepare` runs just before the
    run (faults are cleared after it). `expect` must appear in stdout+stderr and `exit` must
    match, which proves the path was taken; `http` = a request reaches a fake, so -vv must
    show the httpx request line.
    """

    path: str
    args: tuple[str, ...]
    exit: frozenset[int]
    profile: str | None = None
    expect: str | None = None
    http: bool = False
    prepare: Callable[[World], None] | None = None
    stdin: str | None = None


@dataclass(frozen=True)
class Act:
    """A step that is not a CLI run: write an input file, make tracking rows due, ..."""

    action: Callable[[World], None]


def cli(
    path: str,
    command_line: str,
    *,
    exit: int | tuple[int, ...] = 0,
    profile: str | None = None,
    expect: str | None = None,
    http: bool = False,
    prepare: Callable[[World], None] | None = None,
    stdin: str | None = None,
) -> Step:
    """A Step from a shell-quoted command line (`-p PROFILE` comes from `profile`)."""
    codes = frozenset(exit if isinstance(exit, tuple) else (exit,))
    args = tuple(shlex.split(command_line))
    return Step(path, args, codes, profile, expect, http, prepare, stdin)


def faults(
    kind: str, *, everywhere: bool = False, once: bool = False, only: str | None = None
) -> Callable[[World], None]:
    """The fakes (or `only` one: solapi, iwinv, aligo) answer `kind` ("500", "503", "hang",
    ...) on their send paths (or on every path); `once` = only the next such request."""

    def apply(world: World) -> None:
        for fake in world.fakes if only is None else [getattr(world, only)]:
            if everywhere:
                fake.fault_paths = None
            if once:
                fake.script = [kind]
            else:
                fake.fault_rate, fake.fault_kinds = 1.0, [kind]

    return apply


def write(name: str, text: str) -> Act:
    """Write an input file into the test's directory; `{m}` in the name and text is the mode."""

    def action(world: World) -> None:
        mode = world.mode
        path = world.tmp / name.replace("{m}", mode)
        path.write_text(text.replace("{m}", mode), encoding="utf-8")

    return Act(action)


def make_due(world: World) -> None:
    world.sql("UPDATE kmsg_delivery_tracking SET next_check_at = 0")


DUE = Act(make_due)

ROWS = "to,text,provider\n" + "".join(
    f"010-2222-{n:04d},안내 {p},{p}\n" for n, p in enumerate(PROVIDERS, 1)
)
ROWS_WITH_IDS = "to,text,provider,id\n" + "".join(
    f"010-3333-{n:04d},안내 {p},{p},{{tag}}-{p}-{{m}}\n" for n, p in enumerate(PROVIDERS, 1)
)


# Every step sends the same rows again on purpose (each must reach the vendor), and the rows
# name their message ids in an `id` column.
REPEATS = "--id-column id --allow-duplicates"


def sent(tag: str = "s") -> list[Step | Act]:
    """One accepted message per provider, ids `<tag>-<provider>-{m}`."""
    return [
        write(f"{tag}-{{m}}.csv", ROWS_WITH_IDS.replace("{tag}", tag)),
        cli(
            "setup",
            f"send-many {{tmp}}/{tag}-{{m}}.csv --batch-id {tag}-{{m}} {REPEATS}",
            http=True,
        ),
    ]


def queued(tag: str) -> list[Step | Act]:
    """One queued job per provider, ids `<tag>-<provider>-{m}`."""
    return [
        write(f"{tag}-{{m}}.csv", ROWS_WITH_IDS.replace("{tag}", tag)),
        cli(
            "setup",
            f"send-many {{tmp}}/{tag}-{{m}}.csv --queue --max-attempts 2 --batch-id {tag}-{{m}}"
            f" {REPEATS}",
        ),
    ]


FAILED_JOBS: list[Step | Act] = [
    *queued("f"),
    cli("setup", "queue process --drain", profile="bad", exit=2),
]


def many(tag: str, rows: str = "rows") -> str:
    """send-many of `{tmp}/<rows>.csv` as batch `<tag>-{m}`, with a --results file."""
    results = f"{{tmp}}/results-{tag}-{{m}}.jsonl"
    batch = f"--batch-id {tag}-{{m}} --results {results} --allow-duplicates"
    return f"send-many {{tmp}}/{rows}.csv {batch}"


SEND_STEPS: list[Step | Act] = [
    *(cli("success", f"{SEND} --provider {p} --id ok-{p}-{{m}}", http=True) for p in PROVIDERS),
    cli(
        "success",
        f"send --to {TO} --provider iwinv --template WELCOME --id alimtalk-iwinv-{{m}}"
        " --text '#{name}님 가입을 환영합니다. 인증번호 #{code}'"
        """ --vars '{"name": "홍길동", "code": "1234"}'""",
        http=True,
    ),
    cli(
        "success",
        f"send --to {TO} --provider aligo --template TPL01 --id alimtalk-aligo-{{m}}"
        """ --vars '{"name": "홍길동", "order": "A-17"}'""",
        http=True,
    ),
    cli("success", f"{SEND} --dry-run"),
    cli("success", f"{SEND} --queue --id queued-{{m}}"),
    *(
        cli("auth", f"{SEND} --provider {p}", profile="bad", exit=2, expect="AUTHENTICATION_FAILED")
        for p in PROVIDERS
    ),
    *(cli("outage", f"{SEND} --provider {p}", prepare=faults("500"), exit=3) for p in PROVIDERS),
    cli("outage", SEND, profile="offline", exit=3, expect="NETWORK_ERROR"),
    # SOLAPI looks the message up by our id after a lost answer; IWINV and Aligo cannot.
    *(
        cli(
            "timeout",
            f"{SEND} --provider {p}",
            profile="hangs",
            prepare=faults("hang", once=True),
            exit=(0, 3),
        )
        for p in PROVIDERS
    ),
    cli("bad input", "send --to 12345 --text x", exit=2, expect="INVALID_PHONE"),
    cli("bad input", f"{SEND} --provider solapi", profile="malformed", exit=2),
    cli("bad input", f"{SEND} --db {{db_malformed}}", exit=2),
    cli("db down", f"{SEND} --db {{db_down}}", exit=2),
]

SEND_MANY: list[Step | Act] = [
    write("rows.csv", ROWS),
    write("mixed.csv", ROWS + "12345,잘못된 번호,solapi\n"),
    write("no-to.csv", "phone,text\n01011112222,x\n"),
    cli("success", many("ok"), http=True),
    cli(
        "success",
        "send-many - --batch-id stdin-{m} --results {tmp}/results-stdin-{m}.jsonl"
        " --allow-duplicates",
        stdin=ROWS,
    ),
    cli("success", "send-many {tmp}/rows.csv --dry-run --batch-id dry-{m}"),
    cli("success", "send-many {tmp}/rows.csv --queue --batch-id queued-{m} --allow-duplicates"),
    cli("auth", many("auth"), profile="bad", exit=2),
    cli("outage", many("down"), prepare=faults("503"), exit=3),
    cli("outage", many("offline"), profile="offline", exit=3),
    cli(
        "timeout",
        many("hang"),
        profile="hangs",
        prepare=faults("hang", once=True, only="iwinv"),
        exit=5,
    ),
    cli("bad input", many("mixed", rows="mixed"), exit=5, expect="INVALID_PHONE"),
    cli("bad input", "send-many {tmp}/no-to.csv", exit=2),
    # the malformed profile's IWINV and Aligo keys are fine: their rows are accepted
    cli("bad input", many("malformed"), profile="malformed", exit=5),
    cli("db down", "send-many {tmp}/rows.csv --db {db_down}", exit=2),
]

# Failure paths first: they leave the rows due (with last_error); the success pass ends them.
# The malformed profile's IWINV and Aligo keys are fine: their rows end there; SOLAPI's stays.
TRACK_RUN_ONCE: list[Step | Act] = [
    *sent(),
    DUE,
    cli("auth", "track run-once", profile="bad", exit=2, expect="AUTHENTICATION_FAILED", http=True),
    DUE,
    cli("outage", "track run-once", exit=3, prepare=faults("500", everywhere=True), http=True),
    DUE,
    cli("outage", "track run-once", exit=3, profile="offline", expect="NETWORK_ERROR"),
    DUE,
    cli("bad input", "track run-once", profile="malformed", expect="INVALID_CREDENTIALS"),
    cli("bad input", "track run-once --limit 0", exit=2),
    cli("db down", "track run-once --db {db_down}", exit=2),
    DUE,
    cli(
        "timeout",
        "track run-once",
        exit=3,  # its one due row could not be looked up
        profile="hangs",
        prepare=faults("hang", everywhere=True, once=True, only="solapi"),
        expect="NETWORK_TIMEOUT",
    ),
    DUE,
    cli("success", "track run-once", http=True),
]

WATCH = "track watch --interval 10ms --max-passes 1"
TRACK_WATCH: list[Step | Act] = [
    *sent(),
    DUE,
    cli("auth", WATCH, profile="bad", http=True),
    DUE,
    cli("outage", WATCH, prepare=faults("503", everywhere=True), http=True),
    DUE,
    cli(
        "timeout",
        WATCH,
        profile="hangs",
        prepare=faults("hang", everywhere=True, once=True, only="solapi"),
    ),
    cli("bad input", "track watch --interval 0s", exit=2),
    cli("db down", f"{WATCH} --db {{db_down}}", exit=2),
    DUE,
    cli("success", WATCH, http=True),
]

TRACK_SHOW: list[Step | Act] = [
    *sent(),
    DUE,
    # leaves last_error on the rows (a refused account leaves none: the pass stops, rows due)
    cli("setup", "track run-once", exit=3, prepare=faults("500", everywhere=True)),
    *(cli("success", f"track show s-{p}-{{m}}") for p in PROVIDERS),
    cli("bad input", "track show no-such-id", exit=2),
    cli("db down", "track show s-solapi-json --db {db_down}", exit=2),
]

TRACK_LIST: list[Step | Act] = [
    *sent(),
    DUE,
    cli("setup", "track run-once", exit=3, prepare=faults("500", everywhere=True)),
    cli("success", "track list"),
    cli("success", "track list --status SENT --provider solapi"),
    cli("bad input", "track list --status LOST", exit=2),
    cli("db down", "track list --db {db_down}", exit=2),
]

REPORT: list[Step | Act] = [
    *sent(),
    DUE,
    cli("setup", "track run-once", exit=3, prepare=faults("500", everywhere=True)),
    cli("success", "report --since 1h"),
    cli("success", "report --since 1h --provider solapi --type SMS"),
    cli("bad input", "report --format xml", exit=2),
    cli("db down", "report --since 1h --db {db_down}", exit=2),
]

DRAIN = "queue process --drain"
QUEUE_PROCESS: list[Step | Act] = [
    *queued("ok"),
    cli("success", DRAIN, http=True),
    *queued("auth"),
    cli("auth", DRAIN, profile="bad", exit=2),
    *queued("down"),
    cli("outage", DRAIN, prepare=faults("500"), exit=3),
    *queued("offline"),
    cli("outage", DRAIN, profile="offline", exit=3),
    *queued("hang"),
    # SOLAPI: the lookup by our id finds nothing, so the job is sent again (exit 0).
    cli(
        "timeout",
        DRAIN,
        profile="hangs",
        prepare=faults("hang", once=True, only="solapi"),
        exit=(0, 5),
    ),
    *queued("malformed"),
    cli("bad input", DRAIN, profile="malformed", exit=(3, 5)),
    cli("bad input", "queue process --concurrency 0", exit=2),
    cli("db down", f"{DRAIN} --db {{db_down}}", exit=2),
]

QUEUE_LIST: list[Step | Act] = [
    *FAILED_JOBS,
    cli("success", "queue list"),
    cli("success", "queue list --status failed"),
    cli("bad input", "queue list --status gone", exit=2),
    cli("db down", "queue list --db {db_down}", exit=2),
]

QUEUE_STATS: list[Step | Act] = [
    *FAILED_JOBS,
    cli("success", "queue stats"),
    cli("db down", "queue stats --db {db_down}", exit=2),
]

QUEUE_RETRY: list[Step | Act] = [
    *FAILED_JOBS,
    cli("success", "queue retry --failed"),
    cli("success", "queue retry --id f-solapi-json"),
    cli("bad input", "queue retry", exit=2),
    cli("db down", "queue retry --failed --db {db_down}", exit=2),
]

QUEUE_PURGE: list[Step | Act] = [
    *FAILED_JOBS,
    cli("success", "queue purge --older-than 1d --yes"),
    cli("bad input", "queue purge --older-than soon", exit=2),
    cli("db down", "queue purge --yes --db {db_down}", exit=2),
]


def scheduled(tag: str) -> list[Step | Act]:
    """One message per provider scheduled at the vendor, ids `<tag>-<provider>-{m}`."""
    return [
        cli("setup", f"{SEND} --provider {p} --at +2h --id {tag}-{p}-{{m}}", http=True)
        for p in PROVIDERS
    ]


VENDOR_CANCEL = "cancel --id {tag}-solapi-{m} --id {tag}-aligo-{m} --yes"
CANCEL: list[Step | Act] = [
    *queued("c"),
    cli("success", "cancel --batch c-{m} --yes"),
    *scheduled("v"),
    cli("success", VENDOR_CANCEL.replace("{tag}", "v"), http=True),
    *scheduled("w"),
    cli("auth", VENDOR_CANCEL.replace("{tag}", "w"), profile="bad", exit=5, http=True),
    cli(
        "outage",
        VENDOR_CANCEL.replace("{tag}", "w"),
        prepare=faults("500", everywhere=True),
        exit=5,
        expect="PROVIDER_ERROR",
    ),
    cli("no cancel API", "cancel --id w-iwinv-{m} --yes", exit=5, expect="NO_CANCEL_API"),
    cli("bad input", "cancel --yes", exit=2),
    cli("bad input", "cancel --id gone-{m} --yes", exit=2, expect="NOT_FOUND"),
    cli("db down", "cancel --batch c-{m} --yes --db {db_down}", exit=2),
]

INIT = "config init --config {tmp}/init-{m}/sub/config.toml"
CONFIG_INIT: list[Step | Act] = [
    cli("success", INIT),
    cli("success", f"{INIT} --no-input --force"),
    cli("bad input", INIT, exit=2, expect="CONFIG_EXISTS"),
    cli("bad input", "config init --config ''", exit=2),
]

ADD = "config add-provider solapi --no-input --set api_key={solapi_key_setting}"
CONFIG_ADD_PROVIDER: list[Step | Act] = [
    cli(
        "success",
        f"{ADD} --id extra-{{m}} --set api_secret={{solapi_secret_setting}}"
        " --set base_url=http://127.0.0.1:9",
    ),
    cli(
        "bad input",
        f"{ADD} --id insecure-{{m}} --set base_url=http://api.example.com",
        exit=2,
        expect="INSECURE_URL",
    ),
    cli("bad input", f"{ADD} --id late-{{m}} --set connect_timeout=soon", exit=2),
    # a key pasted where an env: reference belongs
    cli(
        "bad input",
        f"config add-provider aligo --id broken-{{m}} --no-input --set api_key=env:1{ALIGO_KEY}",
        exit=2,
    ),
    cli("config error", "config add-provider solapi --config {tmp}/none.toml", exit=2),
]

CONFIG_SHOW: list[Step | Act] = [
    cli("success", "config show"),
    cli("success", "config show", profile="bad"),
    cli("success", "config show", profile="malformed"),
    cli("config error", "config show", profile="nope", exit=2),
]

LIVE_SECRET = "profiles.live.providers.solapi.api_secret"
NO_FILE = "--config {tmp}/none.toml"
CONFIG_GET: list[Step | Act] = [
    cli("success", "config get profiles.live.providers.solapi"),
    cli("success", f"config get {LIVE_SECRET}"),
    cli("success", "config get profiles"),
    cli("bad input", "config get profiles.live.nothing", exit=2, expect="NOT_SET"),
    cli("config error", f"config get default_profile {NO_FILE}", exit=2),
]

CONFIG_SET: list[Step | Act] = [
    cli("success", f"config set {LIVE_SECRET} {{solapi_secret_setting}}"),
    cli(
        "bad input",  # a password in a URL, refused for its scheme: the error masks it
        "config set profiles.live.providers.solapi.base_url "
        f"http://user:{SOLAPI_SECRET}@api.example.com",
        exit=2,
        expect="INSECURE_URL",
    ),
    cli("bad input", f"config set profiles.live.nope {SOLAPI_SECRET}", exit=2),
    cli("config error", f"config set default_profile live {NO_FILE}", exit=2),
]

CONFIG_UNSET: list[Step | Act] = [
    cli("success", "config set profiles.live.timezone UTC"),
    cli("success", "config unset profiles.live.timezone"),
    cli("bad input", f"config unset {LIVE_SECRET}", exit=2, expect="MISSING_SETTING"),
    cli("config error", f"config unset default_profile {NO_FILE}", exit=2),
]

CONFIG_VALIDATE: list[Step | Act] = [
    cli("success", "config validate"),
    cli("config error", "config validate --config {tmp}/broken.toml", exit=2),
]

CONFIG_PATH: list[Step | Act] = [
    cli("success", "config path"),
    cli("bad input", "config path --config ''", exit=2),
]

DB_INIT: list[Step | Act] = [
    cli("success", "db init"),
    cli("bad input", "db init --db {db_bad_scheme}", exit=2, expect="DB_URL_INVALID"),
    cli("bad input", "db init --db {db_malformed}", exit=2, expect="DB_OPEN_FAILED"),
    cli("db down", "db init --db {db_down}", exit=2, expect="DB_OPEN_FAILED"),
    cli("db down", "db init --db {db_down_query}", exit=2, expect="DB_OPEN_FAILED"),
]

DB_SCHEMA: list[Step | Act] = [
    cli("success", "db schema --dialect postgres"),
    cli("bad input", "db schema --dialect oracle", exit=2),
]

DB_PURGE: list[Step | Act] = [
    *sent(),
    cli("success", "db purge --older-than 1s --yes"),
    cli("bad input", "db purge --older-than soon", exit=2),
    cli("db down", "db purge --yes --db {db_down}", exit=2),
]

DB_COPY: list[Step | Act] = [
    *sent(),
    *FAILED_JOBS,
    cli("success", "db copy --from {db_target} --to {tmp}/copy-{m}.sqlite"),
    cli("bad input", "db copy --from {db_target} --to {db_malformed}", exit=2),
    cli("bad input", "db copy --from {db_bad_scheme} --to {db_target}", exit=2),
    cli("db down", "db copy --from {db_target} --to {db_down}", exit=2),
    cli("db down", "db copy --from {db_down_query} --to {db_target}", exit=2),
]

DB_CHECK: list[Step | Act] = [
    *sent(),
    *FAILED_JOBS,
    cli("success", "db check"),
    cli("bad input", "db check --db {tmp}/missing.sqlite", exit=2, expect="DB_NOT_FOUND"),
    cli("bad input", "db check --db {db_malformed}", exit=2),
    cli("db down", "db check --db {db_down}", exit=2),
]

PROVIDERS_LIST: list[Step | Act] = [
    cli("success", "providers list"),
    cli("success", "providers list", profile="bad"),
    cli("config error", "providers list", profile="nope", exit=2),
]


def account_calls(command: str) -> list[Step | Act]:
    """A command that asks every provider of the profile about the account (its balance, its
    templates): each vendor refusing the keys, outages, a hang, bad input."""
    return [
        cli("success", command, http=True),
        *(
            cli(
                "auth",
                f"{command} --provider {p}",
                profile="bad",
                exit=2,
                expect="AUTHENTICATION_FAILED",
                http=True,
            )
            for p in PROVIDERS
        ),
        cli("outage", command, prepare=faults("500", everywhere=True), exit=3),
        cli("outage", command, profile="offline", exit=3),
        cli(
            "timeout",
            f"{command} --provider solapi",
            profile="hangs",
            prepare=faults("hang", everywhere=True),
            exit=3,
            expect="NETWORK_TIMEOUT",
        ),
        cli("bad input", f"{command} --provider nope", exit=2),
        cli("bad input", command, profile="malformed", exit=2, expect="INVALID_CREDENTIALS"),
    ]


PROVIDERS_BALANCE = account_calls("providers balance")
PROVIDERS_TEMPLATES = account_calls("providers templates")

DOCTOR = "providers doctor"
PROVIDERS_DOCTOR: list[Step | Act] = [
    cli("success", DOCTOR, http=True),
    cli("auth", DOCTOR, profile="bad", exit=2, expect="FAIL", http=True),
    cli("outage", DOCTOR, prepare=faults("503", everywhere=True), exit=2),
    cli("outage", DOCTOR, profile="offline", exit=2),
    cli(
        "timeout",
        DOCTOR,
        profile="hangs",
        prepare=faults("hang", everywhere=True, only="solapi"),
        exit=2,
        expect="did not answer",
    ),
    cli("bad input", DOCTOR, profile="malformed", exit=2, expect="HTTP headers cannot carry"),
    cli("config error", DOCTOR, profile="nope", exit=2),
]

COMPLETIONS: list[Step | Act] = [
    cli("success", "completions bash"),
    cli("bad input", "completions tcsh", exit=2),
]

SCENARIOS: dict[str, list[Step | Act]] = {
    "send": SEND_STEPS,
    "send-many": SEND_MANY,
    "completions": COMPLETIONS,
    "track run-once": TRACK_RUN_ONCE,
    "track watch": TRACK_WATCH,
    "track show": TRACK_SHOW,
    "track list": TRACK_LIST,
    "report": REPORT,
    "queue process": QUEUE_PROCESS,
    "queue list": QUEUE_LIST,
    "queue stats": QUEUE_STATS,
    "queue retry": QUEUE_RETRY,
    "queue purge": QUEUE_PURGE,
    "cancel": CANCEL,
    "config init": CONFIG_INIT,
    "config add-provider": CONFIG_ADD_PROVIDER,
    "config show": CONFIG_SHOW,
    "config get": CONFIG_GET,
    "config set": CONFIG_SET,
    "config unset": CONFIG_UNSET,
    "config validate": CONFIG_VALIDATE,
    "config path": CONFIG_PATH,
    "db init": DB_INIT,
    "db schema": DB_SCHEMA,
    "db purge": DB_PURGE,
    "db copy": DB_COPY,
    "db check": DB_CHECK,
    "providers list": PROVIDERS_LIST,
    "providers balance": PROVIDERS_BALANCE,
    "providers templates": PROVIDERS_TEMPLATES,
    "providers doctor": PROVIDERS_DOCTOR,
}

# -- the world: fakes, config, database -----------------------------------------------------------


def dead_port(stack: ExitStack) -> int:
    """A loopback port that refuses connections: bound (so nothing else can take it) and never
    listening, until the stack closes."""
    sock = stack.enter_context(socket.socket())
    sock.bind(("127.0.0.1", 0))
    return int(sock.getsockname()[1])


def with_password(url: str, password: str, **params: str) -> str:
    """`url` with `password` in its userinfo and extra query parameters."""
    parts = urlsplit(url)
    netloc = f"{parts.username or 'postgres'}:{password}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    query = "&".join([*filter(None, [parts.query]), *(f"{k}={v}" for k, v in params.items())])
    return parts._replace(netloc=netloc, query=query).geturl()


@dataclass
class Run:
    label: str
    exit_code: int
    stdout: str
    stderr: str
    errors: str  # every KmsgError created during the run, and the exception that ended it
    logs: str  # every LogRecord created during the run, raw (before any filter)


@dataclass
class World:
    tmp: Path
    secrets_mode: str  # "literal" | "env"
    backend: str  # "sqlite" | "postgres"
    fakes: list[Any]
    solapi: FakeSolapi
    iwinv: FakeIwinv
    aligo: FakeAligo
    db_url: str  # the database of the runs (a path or a postgresql:// URL with the password)
    admin_url: str | None  # the same PostgreSQL database without the password (dumps)
    schema: str | None
    dead_port: int  # refuses connections: the offline profile, unreachable databases
    errors: list[KmsgError] = field(default_factory=list)
    records: list[logging.LogRecord] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    mode: str = "json"
    # Timeouts are the providers' business, not the database's: the PostgreSQL world skips
    # them (the SQLite worlds run them with both kinds of secrets).
    skip_paths: frozenset[str] = frozenset()
    wrong_paths: list[str] = field(default_factory=list)
    _fault_paths: list[Any] = field(default_factory=list)

    def vars(self, mode: str) -> dict[str, str]:
        literal = self.secrets_mode == "literal"
        down = with_password(
            f"postgresql://postgres@127.0.0.1:{self.dead_port}/test",
            PG_PASSWORD,
            connect_timeout="1",
        )
        return {
            "m": mode,
            "tmp": str(self.tmp),
            "db_target": self.db_url,
            "db_down": down,
            "db_bad_scheme": f"mssql://root:{PG_PASSWORD}@127.0.0.1/kmsg",
            # libpq quotes a URL it cannot parse whole, password included
            "db_malformed": f"postgresql://postgres:{PG_PASSWORD}@[::1/test",
            "db_down_query": (
                f"postgresql://postgres@127.0.0.1:{self.dead_port}/test?password={PG_PASSWORD}"
            ),
            "solapi_key_setting": SOLAPI_KEY if literal else "env:SOLAPI_API_KEY",
            "solapi_secret_setting": SOLAPI_SECRET if literal else "env:SOLAPI_API_SECRET",
        }

    def global_options(self, mode: str) -> list[str]:
        options = ["--json"] if mode == "json" else ["-vv"]
        if self.backend == "sqlite" or self.secrets_mode == "env":
            options += ["--db", self.db_url]  # else the profiles' `db` key names it
        return options

    def clear_faults(self) -> None:
        for fake, paths in zip(self.fakes, self._fault_paths, strict=True):
            fake.fault_rate, fake.script, fake.fault_paths = 0.0, [], paths

    def __post_init__(self) -> None:
        self._fault_paths = [fake.fault_paths for fake in self.fakes]

    def sql(self, statement: str) -> None:
        if self.backend == "sqlite":
            with closing(sqlite3.connect(self.db_url)) as conn, conn:
                conn.execute(statement)
            return
        import psycopg

        assert self.admin_url is not None
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{self.schema}"')
            conn.execute(statement)

    def dump_database(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, as text."""
        tables: dict[str, list[tuple[Any, ...]]] = {}
        if self.backend == "sqlite":
            if not Path(self.db_url).exists():
                return tables
            with closing(sqlite3.connect(self.db_url)) as conn:
                names = [
                    row[0]
                    for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                ]
                for name in names:
                    tables[name] = list(conn.execute(f'SELECT * FROM "{name}"'))
            return tables
        import psycopg

        assert self.admin_url is not None
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (self.schema,),
                )
            ]
            for name in names:
                rows = conn.execute(f'SELECT * FROM "{self.schema}"."{name}"').fetchall()
                tables[name] = [tuple(json.dumps(v, default=str) for v in row) for row in rows]
        return tables


LIVE = (SOLAPI_KEY, SOLAPI_SECRET, IWINV_KEY, IWINV_SMS_KEY, IWINV_SMS_AUTH, ALIGO_KEY)
WRONG = (
    BAD_SOLAPI_KEY,
    BAD_SOLAPI_SECRET,
    BAD_IWINV_KEY,
    BAD_IWINV_SMS_KEY,
    BAD_IWINV_SMS_AUTH,
    BAD_ALIGO_KEY,
)
# profile -> its keys: live (right keys), bad (wrong keys), offline (right keys, nothing
# listens), malformed (a SOLAPI key with a line break; the others right), hangs (right keys,
# a 0.2 s read timeout for the timeout scenarios)
PROFILE_KEYS = {
    "live": LIVE,
    "bad": WRONG,
    "offline": LIVE,
    "malformed": (MALFORMED_SOLAPI_KEY, *LIVE[1:]),
    "hangs": LIVE,
}
# (provider, setting) of each key of PROFILE_KEYS; env: references are PROFILE_PROVIDER_SETTING
KEY_SETTINGS = (
    ("solapi", "api_key"),
    ("solapi", "api_secret"),
    ("iwinv", "api_key"),
    ("iwinv", "sms_api_key"),
    ("iwinv", "sms_auth_key"),
    ("aligo", "api_key"),
)


def variable(profile: str, provider: str, setting: str) -> str:
    return f"{profile}_{provider}_{setting}".upper()


def config_text(world: World, only: str | None = None) -> str:
    """Profiles live, bad, offline and malformed (or `only` one of them, the file's default),
    each holding all three providers, with their secrets literal or as env: references (see
    `environment`)."""
    literal = world.secrets_mode == "literal"
    lines = [f'default_profile = "{only or "live"}"']
    for profile, keys in PROFILE_KEYS.items():
        if only is not None and profile != only:
            continue
        values = dict(zip(KEY_SETTINGS, keys, strict=True))
        values["aligo", "sender_key"] = ALIGO_SENDER_KEY
        secret = {
            key: json.dumps(value if literal else f"env:{variable(profile, *key)}")
            for key, value in values.items()
        }
        urls = {
            "solapi": world.solapi.base_url,
            "iwinv_alimtalk": world.iwinv.alimtalk_base_url,
            "iwinv_sms": world.iwinv.sms_base_url,
            "aligo_sms": world.aligo.sms_base_url,
            "aligo_kakao": world.aligo.kakao_base_url,
        }
        if profile == "offline":
            urls = dict.fromkeys(urls, f"http://127.0.0.1:{world.dead_port}")
        # Read timeouts are short only where a scenario waits for one on purpose.
        read_timeout = 0.2 if profile == "hangs" else 10.0
        common = [
            'sender = "0212345678"',
            "connect_timeout = 2.0",
            f"read_timeout = {read_timeout}",
        ]
        if world.backend == "postgres" and literal:
            lines += [f"[profiles.{profile}]", f"db = {json.dumps(world.db_url)}"]
        lines += [
            f"[profiles.{profile}.providers.solapi]",
            f"api_key = {secret['solapi', 'api_key']}",
            f"api_secret = {secret['solapi', 'api_secret']}",
            f'kakao_pf_id = "{DEFAULT_PF_ID}"',
            f'base_url = "{urls["solapi"]}"',
            *common,
            f"[profiles.{profile}.providers.iwinv]",
            f"api_key = {secret['iwinv', 'api_key']}",
            f"sms_api_key = {secret['iwinv', 'sms_api_key']}",
            f"sms_auth_key = {secret['iwinv', 'sms_auth_key']}",
            'sms_company_id = "kmsgtest"',
            f'alimtalk_base_url = "{urls["iwinv_alimtalk"]}"',
            f'sms_base_url = "{urls["iwinv_sms"]}"',
            *common,
            f"[profiles.{profile}.providers.aligo]",
            f"api_key = {secret['aligo', 'api_key']}",
            'user_id = "testuser"',
            f"sender_key = {secret['aligo', 'sender_key']}",
            f'sms_base_url = "{urls["aligo_sms"]}"',
            f'kakao_base_url = "{urls["aligo_kakao"]}"',
            *common,
        ]
    return "\n".join(lines) + "\n"


def environment(world: World) -> dict[str, str]:
    """The variables the env: references of `config_text` name (none for literal secrets)."""
    if world.secrets_mode == "literal":
        return {}
    # `config add-provider` scenarios write env:SOLAPI_API_KEY / env:SOLAPI_API_SECRET
    env = {"SOLAPI_API_KEY": SOLAPI_KEY, "SOLAPI_API_SECRET": SOLAPI_SECRET}
    for profile, keys in PROFILE_KEYS.items():
        for (provider, setting), value in zip(KEY_SETTINGS, keys, strict=True):
            env[variable(profile, provider, setting)] = value
        env[variable(profile, "aligo", "sender_key")] = ALIGO_SENDER_KEY
    return env


BROKEN_CONFIG = f"""
default_profile = "b"
[profiles.b.providers.solapi]
type = "solapi"
api_key = ["{SOLAPI_KEY}"]
api_secret = 7
base_url = "http://user:{SOLAPI_SECRET}@api.example.com"
[profiles.b.providers.iwinv]
type = "iwinv"
sms_api_key = "{IWINV_SMS_KEY}"
[profiles.b.providers.aligo]
type = "aligo"
api_key = "env:KMSG_TEST_NOT_SET"
user_id = "testuser"
sender_key = "env:{ALIGO_SENDER_KEY}"
"""


# (secrets, database): every command runs in the first three worlds; the fourth (the URL with
# its password in the profiles' `db` key) runs the commands that read or show that key.
WORLDS = {
    "literal-sqlite": ("literal", "sqlite"),
    "env-sqlite": ("env", "sqlite"),
    "env-postgres-db-flag": ("env", "postgres"),
    "literal-postgres-in-profile": ("literal", "postgres"),
}
PROFILE_DB_COMMANDS = ("config show", "config validate", "db init")
CASES = [
    pytest.param(world, command, id=f"{name}-{command}")
    for name, world in WORLDS.items()
    for command in COMMANDS
    if name != "literal-postgres-in-profile" or command in PROFILE_DB_COMMANDS
]


@pytest.fixture
def world(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    secrets_mode, backend = request.param
    with ExitStack() as stack:
        solapi = FakeSolapi(
            credentials={SOLAPI_KEY: SOLAPI_SECRET}, progress_after=(0.0, 0.0), hang_seconds=0.5
        )
        iwinv = FakeIwinv(
            api_key=IWINV_KEY,
            sms_api_key=IWINV_SMS_KEY,
            sms_auth_key=IWINV_SMS_AUTH,
            progress_after=0.0,
            hang_seconds=0.5,
        )
        aligo = FakeAligo(
            key=ALIGO_KEY,
            sender_keys=[ALIGO_SENDER_KEY],
            progress_after=(0.0, 0.0),
            hang_seconds=0.5,
        )
        for fake in (solapi, iwinv, aligo):
            fake.start()
            stack.callback(fake.stop)
        admin_url = schema = None
        if backend == "postgres":
            from tests.store.conftest import postgres_schema

            schema, admin_url = stack.enter_context(postgres_schema())
            db_url = with_password(admin_url, PG_PASSWORD)
        else:
            db_url = str(tmp_path / "kmsg.sqlite")
        w = World(
            tmp=tmp_path,
            secrets_mode=secrets_mode,
            backend=backend,
            fakes=[solapi, iwinv, aligo],
            solapi=solapi,
            iwinv=iwinv,
            aligo=aligo,
            db_url=db_url,
            admin_url=admin_url,
            schema=schema,
            dead_port=dead_port(stack),
            skip_paths=frozenset({"timeout"} if backend == "postgres" else ()),
        )
        config = tmp_path / "config.toml"
        config.write_text(config_text(w), encoding="utf-8")
        config.chmod(0o600)
        # The sweep runs each profile from a file of its own: profiles of one file that give
        # one provider id other keys on one database are AMBIGUOUS_PROVIDER, and the commands
        # that take other runs' rows refuse them (docs/storage.md, "Claims").
        for name in PROFILE_KEYS:
            alone = tmp_path / f"profile-{name}.toml"
            alone.write_text(config_text(w, only=name), encoding="utf-8")
            alone.chmod(0o600)
        (tmp_path / "broken.toml").write_text(BROKEN_CONFIG, encoding="utf-8")
        (tmp_path / "broken.toml").chmod(0o600)
        monkeypatch.setenv("KMSG_CONFIG", str(config))
        for name, value in environment(w).items():
            monkeypatch.setenv(name, value)
        _spy(w, monkeypatch)
        yield w


@functools.cache
def _click_command(app: Any) -> Any:
    import typer

    return typer.main.get_command(app)


def _spy(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every KmsgError kmsg creates (caught or not) and every LogRecord, raw."""
    original_init = KmsgError.__init__

    def init(self: KmsgError, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        world.errors.append(self)

    monkeypatch.setattr(KmsgError, "__init__", init)
    factory = logging.getLogRecordFactory()

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = factory(*args, **kwargs)
        world.records.append(made)
        return made

    monkeypatch.setattr(logging, "_logRecordFactory", record)  # = setLogRecordFactory, undone
    # Typer rebuilds the click command tree on every CliRunner.invoke (75% of a run's time);
    # a process builds it once, and so does the sweep.
    monkeypatch.setattr("typer.testing._get_command", _click_command)
    # Retries wait 0 s here: the paths are the same, the sweep stays fast.
    monkeypatch.setattr("kmsg_cli.sending.backoff", lambda attempt, retry_after=None: 0.0)
    monkeypatch.setattr("kmsg_cli.jobs.worker.backoff", lambda attempt, retry_after=None: 0.0)


def _exception_text(exc: BaseException | None) -> str:
    """str() of an exception and of what it shows of its chain (as a traceback would)."""
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "\n".join(parts)


def _error_text(error: KmsgError) -> str:
    return json.dumps(
        {"str": str(error), "args": [str(a) for a in error.args], **error.to_dict()},
        ensure_ascii=False,
        default=str,
    )


def _record_text(record: logging.LogRecord) -> str:
    text = f"{record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        text += "\n" + _exception_text(record.exc_info[1])
    return text


def play(world: World, steps: list[Step | Act], label: str) -> None:
    """The whole scenario with --json, then again with -vv (ids carry the mode)."""
    from typer.testing import CliRunner

    from kmsg_cli.cli.app import app

    for mode in MODES:
        world.mode = mode
        values = world.vars(mode)
        for index, step in enumerate(steps):
            if isinstance(step, Act):
                step.action(world)
                continue
            if step.path in world.skip_paths:
                continue
            args = [_fill(arg, values) for arg in step.args]
            profile = ["-p", step.profile] if step.profile else []
            if "--config" not in args:
                alone = world.tmp / f"profile-{step.profile or 'live'}.toml"
                profile = ["--config", str(alone), *profile]
            argv = [*world.global_options(mode), *profile, *args]
            if step.prepare is not None:
                step.prepare(world)
            world.errors.clear()
            world.records.clear()
            try:
                result = CliRunner().invoke(app, argv, input=step.stdin)
            finally:
                world.clear_faults()
            run = Run(
                label=f"{label} step {index} [{step.path}] ({mode}): kmsg {' '.join(argv)}",
                exit_code=result.exit_code,
                stdout=result.stdout,
                stderr=result.stderr,
                errors="\n".join(
                    [*map(_error_text, world.errors), _exception_text(result.exception)]
                ),
                logs="\n".join(map(_record_text, world.records)),
            )
            world.runs.append(run)
            world.wrong_paths.extend(_check_run(run, step, mode))


def _fill(arg: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        arg = arg.replace("{" + name + "}", value)
    return arg


def _check_run(run: Run, step: Step, mode: str) -> list[str]:
    """The step took the path it is listed under (else the sweep proves nothing)."""
    both = run.stdout + run.stderr
    problems = []
    if run.exit_code not in step.exit:
        problems.append(f"exit {run.exit_code}, expected {sorted(step.exit)}")
    if step.expect and step.expect not in both:
        problems.append(f"{step.expect!r} not in the output")
    if mode == "json" and step.args[0] != "completions":  # completions: a shell script
        try:
            json.loads(run.stdout)
        except ValueError:
            # A usage error found while Typer parses a sub-group's options prints the one-line
            # error instead (kmsg_cli/cli/parsing.py decides json_mode before the callback).
            if run.stdout.strip() or run.exit_code != 2:
                problems.append("--json did not print one JSON document")
    if mode == "vv" and step.http and "HTTP Request: " not in run.stderr:
        problems.append("-vv did not log the httpx request line")
    if not problems:
        return []
    return [
        f"{run.label}: {'; '.join(problems)}\n  stdout: {run.stdout[-800:]!r}\n"
        f"  stderr: {run.stderr[-800:]!r}"
    ]


def _files_written(world: World) -> Iterator[Path]:
    """Files kmsg (or the runs) wrote: results, databases, copies; config files excluded (a
    literal secret in the user's own config file is where the user put it)."""
    for path in world.tmp.rglob("*"):
        if path.is_file() and path.suffix != ".toml":
            yield path


def _results_files(world: World, steps: list[Step | Act]) -> Iterator[Path]:
    """The --results files the scenario's runs were asked to write."""
    for step in steps:
        if isinstance(step, Step) and "--results" in step.args:
            if step.path in world.skip_paths:
                continue
            template = step.args[step.args.index("--results") + 1]
            for mode in MODES:
                yield Path(template.replace("{tmp}", str(world.tmp)).replace("{m}", mode))


# -- the sweep ------------------------------------------------------------------------------------


def test_every_command_has_a_scenario() -> None:
    missing = [c for c in COMMANDS if c not in SCENARIOS]
    stale = [c for c in SCENARIOS if c not in COMMANDS]
    assert not missing, f"commands without a secret-hygiene scenario (add to SCENARIOS): {missing}"
    assert not stale, f"SCENARIOS names commands that no longer exist: {stale}"
    for command, steps in SCENARIOS.items():
        paths = {s.path for s in steps if isinstance(s, Step) and s.path != "setup"}
        assert "success" in paths and len(paths) >= 2, f"{command}: success and a failure path"


@pytest.mark.parametrize(("world", "command"), CASES, indirect=["world"])
def test_no_secret_reaches_any_output(command: str, world: World) -> None:
    steps = SCENARIOS.get(command)
    if steps is None:
        pytest.fail(f"no secret-hygiene scenario for `kmsg {command}`: add one to SCENARIOS")
    play(world, steps, f"kmsg {command}")
    leaks: list[str] = []
    for run in world.runs:
        for where, text in (
            ("stdout", run.stdout),
            ("stderr", run.stderr),
            ("an exception message", run.errors),
            ("a log record", run.logs),
        ):
            if found := find_leaks(text):
                leaks.append(f"{run.label}\n    {', '.join(found)} in {where}: {excerpt(text)}")
    tables = world.dump_database()
    for table, rows in tables.items():
        for row in rows:
            text = " | ".join(map(str, row))
            if found := find_leaks(text):
                leaks.append(f"{', '.join(found)} in table {table}: {excerpt(text)}")
    writes = command.split()[0] in ("send", "send-many", "track", "queue", "db")
    if writes and command not in ("db schema", "db init"):
        assert any(tables.values()), "the database the runs wrote is empty: nothing was searched"
    for results in _results_files(world, steps):
        assert results.is_file() and results.stat().st_size, f"no --results file {results}"
    for path in _files_written(world):
        text = path.read_bytes().decode("latin-1")
        if found := find_leaks(text):
            leaks.append(f"{', '.join(found)} in file {path.name}: {excerpt(text)}")
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
    assert not world.wrong_paths, "steps that did not take their path:\n" + "\n".join(
        world.wrong_paths
    )


# -- config show ----------------------------------------------------------------------------------

SECRET_KEYS = {
    "solapi": ("api_key", "api_secret"),
    "iwinv": ("api_key", "sms_api_key", "sms_auth_key"),
    "aligo": ("api_key", "sender_key"),
}


def invoke(*args: str) -> Any:
    from typer.testing import CliRunner

    from kmsg_cli.cli.app import app

    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    "world", [WORLDS["literal-sqlite"], WORLDS["env-sqlite"]], indirect=True, ids=["literal", "env"]
)
def test_config_show_masks_literal_secrets_and_never_resolves_env_references(world: World) -> None:
    literal = world.secrets_mode == "literal"

    def expected(profile: str, provider: str, key: str) -> str:
        return "********" if literal else f"env:{variable(profile, provider, key)}"

    result = invoke("--json", "config", "show")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["data"]
    for profile in PROFILE_KEYS:
        shown = data["config"]["profiles"][profile]["providers"]
        for provider, keys in SECRET_KEYS.items():
            for key in keys:
                assert shown[provider][key] == expected(profile, provider, key)
                # the active profile's providers, as ProviderConfig.describe() shows them
                if profile == "live":
                    assert data["providers"][provider][key] == expected(profile, provider, key)
    human = invoke("config", "show")
    assert human.exit_code == 0
    assert f"api_secret = {json.dumps(expected('live', 'solapi', 'api_secret'))}" in human.stdout
    for text in (result.stdout, result.stderr, human.stdout, human.stderr):
        assert not find_leaks(text), excerpt(text)


def test_environment_only_mode_shows_references_and_hides_refused_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KMSG_PROVIDER=solapi, no config file: what CI runs."""
    with FakeSolapi(credentials={SOLAPI_KEY: SOLAPI_SECRET}) as fake:
        monkeypatch.setenv("KMSG_PROVIDER", "solapi")
        monkeypatch.setenv("SOLAPI_BASE_URL", fake.base_url)
        monkeypatch.setenv("SOLAPI_API_SECRET", SOLAPI_SECRET)
        for key, code in ((SOLAPI_KEY, 0), (BAD_SOLAPI_KEY, 2)):
            monkeypatch.setenv("SOLAPI_API_KEY", key)
            shown = invoke("--json", "config", "show")
            assert shown.exit_code == 0, shown.output
            settings = json.loads(shown.stdout)["data"]["providers"]["solapi"]
            assert settings["api_key"] == "env:SOLAPI_API_KEY"
            assert settings["api_secret"] == "env:SOLAPI_API_SECRET"
            doctor = invoke("-vv", "providers", "doctor")
            assert doctor.exit_code == code, doctor.output
            assert "HTTP Request: GET" in doctor.stderr
            for text in (shown.stdout, shown.stderr, doctor.stdout, doctor.stderr):
                assert not find_leaks(text), excerpt(text)


def _write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    return config


@pytest.mark.parametrize(
    ("key", "url"),
    [
        pytest.param("db", f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1/test", id="db-userinfo"),
        pytest.param(
            "db", f"postgresql://postgres@127.0.0.1/test?password={PG_PASSWORD}", id="db-query"
        ),
        pytest.param(
            "base_url", f"https://kmsg:{SOLAPI_SECRET}@api.solapi.com", id="base_url-userinfo"
        ),
    ],
)
def test_config_show_masks_url_passwords(
    key: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = f'{key} = "{url}"'
    monkeypatch.setenv("SOLAPI_API_KEY", SOLAPI_KEY)
    monkeypatch.setenv("SOLAPI_API_SECRET", SOLAPI_SECRET)
    _write_config(
        tmp_path,
        monkeypatch,
        f"""
default_profile = "p"
[profiles.p]
{line if key == "db" else ""}
[profiles.p.providers.solapi]
type = "solapi"
api_key = "env:SOLAPI_API_KEY"
api_secret = "env:SOLAPI_API_SECRET"
{line if key != "db" else ""}
""",
    )
    for args in (("config", "show"), ("--json", "config", "show"), ("config", "validate")):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        both = result.stdout + result.stderr
        assert not find_leaks(both), f"kmsg {' '.join(args)}: {excerpt(both)}"


@pytest.mark.parametrize(
    "world", [WORLDS["literal-sqlite"], WORLDS["env-sqlite"]], indirect=True, ids=["literal", "env"]
)
def test_provider_clients_never_show_their_keys(world: World) -> None:
    """What a debugging print of a client would show: not its keys."""
    from kmsg_cli import config as cfg
    from kmsg_cli.clients import ProviderClients

    loaded = cfg.load_config(world.tmp / "config.toml", "--config")
    profile = cfg.select_profile(loaded, flag="live", environ=os.environ)
    pool = ProviderClients(profile, os.environ)  # builds clients exactly as the commands do
    try:
        for provider in PROVIDERS:
            client = pool.get(provider)
            for text in (repr(client), str(client)):
                assert not find_leaks(text), (provider, excerpt(text))
    finally:
        pool.close()


@pytest.mark.parametrize("flaw", ["\n", "\r", "한"], ids=["LF", "CR", "hangul"])
def test_a_key_http_cannot_carry_is_refused_without_being_echoed(
    flaw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """h11 repeats an illegal header value in its error and httpx cannot encode a non-ASCII
    one; kmsg says which provider's keys are wrong, never what they are (exit 2)."""
    key = f"{SOLAPI_KEY[:-4]}{flaw}{SOLAPI_KEY[-4:]}"
    with FakeSolapi(credentials={SOLAPI_KEY: SOLAPI_SECRET}) as fake:
        monkeypatch.setenv("KMSG_PROVIDER", "solapi")
        monkeypatch.setenv("SOLAPI_BASE_URL", fake.base_url)
        monkeypatch.setenv("SOLAPI_API_KEY", key)
        monkeypatch.setenv("SOLAPI_API_SECRET", SOLAPI_SECRET)
        monkeypatch.setenv("KMSG_SENDER", "0212345678")
        for args in (("send", "--to", TO, "--text", "x"), ("providers", "balance")):
            result = invoke("--json", "--db", str(tmp_path / "k.sqlite"), *args)
            assert result.exit_code == 2, result.output
            assert "INVALID_CREDENTIALS" in result.stdout
            assert not find_leaks(result.stdout + result.stderr), excerpt(result.stdout)
        assert fake.requests == []


# -- http:// base URLs ----------------------------------------------------------------------------

URL_KEYS = [
    ("solapi", "base_url"),
    ("iwinv", "alimtalk_base_url"),
    ("iwinv", "sms_base_url"),
    ("aligo", "sms_base_url"),
    ("aligo", "kakao_base_url"),
]
CREDENTIALS = {
    "solapi": 'api_key = "env:SOLAPI_API_KEY"\napi_secret = "env:SOLAPI_API_SECRET"',
    "iwinv": 'api_key = "env:IWINV_API_KEY"\nsms_api_key = "env:IWINV_SMS_API_KEY"\n'
    'sms_auth_key = "env:IWINV_SMS_AUTH_KEY"',
    "aligo": 'api_key = "env:ALIGO_API_KEY"\nuser_id = "testuser"\n'
    'sender_key = "env:ALIGO_SENDER_KEY"',
}


def _url_config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    key: str,
    url: str,
    extra: str = "",
) -> str:
    """A profile `p` with one provider whose `key` is `url`; returns the key path."""
    for name, value in {
        "SOLAPI_API_KEY": SOLAPI_KEY,
        "SOLAPI_API_SECRET": SOLAPI_SECRET,
        "IWINV_API_KEY": IWINV_KEY,
        "IWINV_SMS_API_KEY": IWINV_SMS_KEY,
        "IWINV_SMS_AUTH_KEY": IWINV_SMS_AUTH,
        "ALIGO_API_KEY": ALIGO_KEY,
        "ALIGO_SENDER_KEY": ALIGO_SENDER_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    _write_config(
        tmp_path,
        monkeypatch,
        f"""
default_profile = "p"
[profiles.p.providers.{provider}]
type = "{provider}"
{CREDENTIALS[provider]}
sender = "0212345678"
{key} = "{url}"
{extra}
""",
    )
    return f"profiles.p.providers.{provider}.{key}"


REFUSED_URLS = [
    f"http://kmsg:{SOLAPI_SECRET}@api.example.com:8080/v4",
    "HTTP://API.EXAMPLE.COM",
    "http://10.0.0.7",
    "http://0.0.0.0:8089",
    "http://localhost.example.com",
    "http://127.0.0.1.nip.io",
]


@pytest.mark.parametrize(
    ("provider", "key", "url"),
    [
        *((provider, key, "http://api.example.com") for provider, key in URL_KEYS),
        *(("solapi", "base_url", url) for url in REFUSED_URLS),
    ],
)
def test_plain_http_is_refused_for_a_host_that_is_not_loopback(
    provider: str, key: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_path = _url_config(tmp_path, monkeypatch, provider, key, url)
    human = invoke("--db", str(tmp_path / "k.sqlite"), "send", "--to", TO, "--text", "x")
    assert human.exit_code == 2, human.output
    lines = human.stderr.splitlines()
    assert len([line for line in lines if line.startswith("error:")]) == 1, human.stderr
    (error,) = [line for line in lines if line.startswith("error:")]
    assert error.startswith(f"error: INSECURE_URL: {key_path} = "), error
    assert all(line.startswith(("error:", "hint:")) for line in lines), human.stderr
    as_json = invoke(
        "--json", "--db", str(tmp_path / "k.sqlite"), "send", "--to", TO, "--text", "x"
    )
    assert as_json.exit_code == 2
    document = json.loads(as_json.stdout)
    assert document["error"]["code"] == "INSECURE_URL"
    assert document["error"]["field"] == key_path
    for text in (human.stdout, human.stderr, as_json.stdout):
        assert not find_leaks(text), excerpt(text)


def test_plain_http_is_refused_in_environment_only_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMSG_PROVIDER", "solapi")
    monkeypatch.setenv("SOLAPI_API_KEY", SOLAPI_KEY)
    monkeypatch.setenv("SOLAPI_API_SECRET", SOLAPI_SECRET)
    monkeypatch.setenv("SOLAPI_BASE_URL", "http://api.example.com")
    result = invoke("--json", "providers", "doctor")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    (check,) = [c for c in document["data"]["providers"][0]["checks"] if c["result"] == "FAIL"]
    assert "env.providers.solapi.base_url" in check["message"], check
    assert "not HTTPS and not loopback" in check["message"], check
    assert not find_leaks(result.stdout + result.stderr)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "127.8.9.10", "api.example.com"]
)
def test_plain_http_is_accepted_for_loopback_or_with_allow_insecure(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked by `config validate` (no request is made)."""
    extra = "allow_insecure = true" if host == "api.example.com" else ""
    _url_config(tmp_path, monkeypatch, "solapi", "base_url", f"http://{host}:8089", extra)
    result = invoke("--json", "config", "validate")
    assert result.exit_code == 0, result.stdout
    codes = [p["code"] for p in json.loads(result.stdout)["data"]["problems"]]
    assert "INSECURE_URL" not in codes


def test_plain_http_to_a_loopback_fake_really_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeSolapi(credentials={SOLAPI_KEY: SOLAPI_SECRET}) as fake:
        for host in ("127.0.0.1", "localhost"):
            url = fake.base_url.replace("127.0.0.1", host)
            _url_config(tmp_path, monkeypatch, "solapi", "base_url", url)
            result = invoke(
                "-vv", "--db", str(tmp_path / "k.sqlite"), "send", "--to", TO, "--text", "x"
            )
            assert result.exit_code == 0, result.output
            assert f"HTTP Request: POST http://{host}:" in result.stderr
            assert not find_leaks(result.stdout + result.stderr)
        assert len(fake.accepted_messages()) == 2


# -- -vv log redaction ----------------------------------------------------------------------------


def test_vv_logs_redact_credential_headers_form_fields_and_url_passwords(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """kmsg logs no header or body today; if a line ever carries one, the filter still hides
    the credentials: SOLAPI's Authorization, IWINV's AUTH and secret headers (base64 of the
    keys), Aligo's key/apikey/senderkey form fields, and URL passwords."""
    from urllib.parse import urlencode

    from kmsg_cli.cli.logs import setup_logging
    from kmsg_cli.providers.iwinv.client import auth_header, sms_secret
    from kmsg_cli.providers.solapi.client import authorization

    setup_logging(2)
    signed = authorization(SOLAPI_KEY, SOLAPI_SECRET, date="2026-01-01T00:00:00Z", salt="s" * 32)
    form = {"key": ALIGO_KEY, "user_id": "testuser", "senderkey": ALIGO_SENDER_KEY, "msg": "hi"}
    kakao = {"apikey": ALIGO_KEY, "userid": "testuser", "senderkey": ALIGO_SENDER_KEY}
    headers = {
        "Authorization": signed,
        "AUTH": auth_header(IWINV_KEY),
        "secret": sms_secret(IWINV_SMS_KEY, IWINV_SMS_AUTH),
        "user-agent": "kmsg",
    }
    kmsg = logging.getLogger("kmsg.test")
    httpx_log = logging.getLogger("httpx")
    url = f"http://127.0.0.1:1/sms/send/?{urlencode(form)}"
    httpx_log.info('HTTP Request: %s %s "%s %d %s"', "POST", url, "HTTP/1.1", 200, "OK")
    kmsg.debug("request headers: %s", headers)
    kmsg.debug("Authorization: %s", signed)
    kmsg.debug("AUTH: %s", auth_header(IWINV_KEY))
    kmsg.debug("secret: %s", sms_secret(IWINV_SMS_KEY, IWINV_SMS_AUTH))
    kmsg.debug("form body: %s", urlencode(form))
    kmsg.debug("kakao body: %s", urlencode(kakao))
    kmsg.debug("fields: %s", form)
    kmsg.warning("database postgresql://postgres:%s@127.0.0.1/test is slow", PG_PASSWORD)
    err = capsys.readouterr().err
    assert not find_leaks(err), excerpt(err)
    assert err.count("<redacted>") >= 12, err
    assert "HTTP Request: POST http://127.0.0.1:1/sms/send/?key=<redacted>&user_id=testuser" in err
    assert "postgresql://postgres:<redacted>@127.0.0.1/test" in err
    assert "'user-agent': 'kmsg'" in err


# -- file modes, whatever the umask (real processes) ----------------------------------------------


def _kmsg(
    home: Path, umask: int, *args: str, env: dict[str, str] | None = None, stderr: Any = None
) -> Any:
    """`python -m kmsg_cli ARGS` in a fresh process with this umask; stderr captured unless
    a file is given."""
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "TZ": "UTC",
        "NO_COLOR": "1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "kmsg_cli", *args],
        env=base,
        umask=umask,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr is None else stderr,
        text=True,
        timeout=60,
        check=False,
    )


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_config_file_and_database_are_private_whatever_the_umask(
    umask: int, tmp_path: Path
) -> None:
    home = tmp_path / f"home-{umask:03o}"
    home.mkdir()
    init = _kmsg(home, umask, "config", "init", "--no-input")
    assert init.returncode == 0, init.stderr
    config = home / ".config" / "kmsg" / "config.toml"
    assert _mode(config) == "0o600"
    assert _mode(config.parent) == "0o700"

    sent = _kmsg(home, umask, "send", "--to", TO, "--text", "x")  # the sandbox, default database
    assert sent.returncode == 0, sent.stderr
    data = home / ".local" / "share" / "kmsg"
    assert _mode(data / "kmsg.sqlite") == "0o600"
    for directory in (home / ".local", home / ".local" / "share", data):  # created by kmsg
        assert _mode(directory) == "0o700", directory

    # While a store is open its -wal and -shm files exist: SQLite gives them the file's mode.
    probe = (
        "import json, os, stat, sys\n"
        "from kmsg_cli.store import open_store\n"
        "path = sys.argv[1]\n"
        "store = open_store(path)\n"
        "store.initialize()\n"
        "print(json.dumps({s: oct(stat.S_IMODE(os.stat(path + s).st_mode))\n"
        "    for s in ('', '-wal', '-shm') if os.path.exists(path + s)}))\n"
        "store.close()\n"
    )
    new_db = tmp_path / f"new-{umask:03o}" / "deeper" / "kmsg.sqlite"
    opened = subprocess.run(
        [sys.executable, "-c", probe, str(new_db)],
        umask=umask,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modes = json.loads(opened.stdout)
    assert modes == {"": "0o600", "-wal": "0o600", "-shm": "0o600"}, modes
    assert _mode(new_db.parent) == _mode(new_db.parent.parent) == "0o700"


def test_config_init_force_and_add_provider_keep_the_file_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("# an old file\n", encoding="utf-8")
    config.chmod(0o644)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    assert invoke("config", "init", "--no-input", "--force").exit_code == 0
    assert _mode(config) == "0o600"
    added = invoke(
        "config", "add-provider", "solapi", "--no-input", "--set", f"api_key={SOLAPI_KEY}"
    )
    assert added.exit_code == 0, added.output
    assert _mode(config) == "0o600"
    assert SOLAPI_KEY in config.read_text(encoding="utf-8")  # where the user asked for it
    assert not find_leaks(added.stdout + added.stderr), excerpt(added.stdout + added.stderr)


@pytest.mark.parametrize(
    "token", [f"api_key:{SOLAPI_KEY}", f"api_key {SOLAPI_KEY}"], ids=["colon", "space"]
)
def test_a_mistyped_set_option_does_not_echo_the_key(
    token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMSG_CONFIG", str(tmp_path / "config.toml"))
    assert invoke("config", "init", "--no-input").exit_code == 0
    for json_flag in ((), ("--json",)):
        result = invoke(
            *json_flag, "config", "add-provider", "solapi", "--no-input", "--set", token
        )
        assert result.exit_code == 2, result.output
        assert not find_leaks(result.stdout + result.stderr), excerpt(result.stdout + result.stderr)


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_config_init_creates_every_missing_parent_directory_0700(
    umask: int, tmp_path: Path
) -> None:
    home = tmp_path / "home-new"
    home.mkdir()
    assert _kmsg(home, umask, "config", "init", "--no-input").returncode == 0
    assert _mode(home / ".config") == "0o700"


def test_environment_only_mode_keeps_secrets_out_of_stdout_and_the_log_file(
    tmp_path: Path,
) -> None:
    """A CI step: credentials only in the environment, -vv, stderr redirected to a log file."""
    home = tmp_path / "home-ci"
    home.mkdir()
    env = {
        "KMSG_PROVIDER": "solapi",
        "SOLAPI_API_KEY": SOLAPI_KEY,
        "SOLAPI_API_SECRET": SOLAPI_SECRET,
        "KMSG_SENDER": "0212345678",
    }
    with FakeSolapi(credentials={SOLAPI_KEY: SOLAPI_SECRET}) as fake:
        env["SOLAPI_BASE_URL"] = fake.base_url
        log = tmp_path / "kmsg.log"
        for extra in ({}, {"SOLAPI_API_KEY": BAD_SOLAPI_KEY}):
            with log.open("a", encoding="utf-8") as stderr:
                done = _kmsg(
                    home,
                    0o022,
                    "-vv",
                    "--json",
                    "send",
                    "--to",
                    TO,
                    "--text",
                    "배포 완료",
                    env={**env, **extra},
                    stderr=stderr,
                )
            assert done.returncode == (2 if extra else 0), done.stdout
            assert not find_leaks(done.stdout), excerpt(done.stdout)
        text = log.read_text(encoding="utf-8")
        assert text.count("HTTP Request: POST") == 2, text
        assert not find_leaks(text), excerpt(text)
        assert len(fake.accepted_messages()) == 1
