"""Shared pieces of the soaks (tests/hardening/test_*soak.py): the three fake vendors with
seeded faults, the input, the config, kmsg run as a real process (and killed), and the fakes'
request logs, which are the judges: what a vendor accepted, never what kmsg says.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes import aligo as aligo_fake
from tests.fakes import iwinv as iwinv_fake
from tests.fakes import solapi as solapi_fake
from tests.fakes.aligo import FakeAligo
from tests.fakes.iwinv import FakeIwinv
from tests.fakes.solapi import FakeSolapi

FULL = os.environ.get("KMSG_SOAK", "").strip().lower() == "full"
ROWS = 20_000 if FULL else 2_000
SEED = int(os.environ.get("KMSG_SOAK_SEED") or 0)  # another fault sequence: another seed
FAULT_RATE = 0.2
FAULT_KINDS = (
    "500",
    "503",
    "429",
    "html",
    "hang",
    "reset",
    # A cut-off 200 is the fault that once made a lookup look empty (every message "absent",
    # sent again): drawn three times as often as the others.
    "truncated",
    "truncated",
    "truncated",
    "hang_after_accept",
    "reset_after_accept",
)
# The client never reads a complete answer to these (a cut-off 200 included).
UNANSWERED = frozenset({"hang", "reset", "truncated", "hang_after_accept", "reset_after_accept"})
# Faults strike the sends and SOLAPI's message list, the lookup that resolves lost answers.
SOLAPI_LIST = "/messages/v4/list"
KILL_AT = (0.2, 0.55)  # fractions of the valid rows accepted by the fakes before each SIGKILL
SENDER = "0212345678"
BATCH_SIZE = 50
CONCURRENCY = 4
LATENCY_S = 0.01
READ_TIMEOUT_S = 1.0
# SOLAPI hangs outlast the read timeout (the client times out); IWINV and Aligo hangs end
# before it (the server closes the connection without an answer).
HANG_S = {"solapi": 1.5, "iwinv": 0.3, "aligo": 0.3}
RUN_TIMEOUT_S = 600 if FULL else 120  # hard limit on every subprocess
SHARED_SMS = ("[점검 안내] 오늘 23시 서버 점검이 있습니다", "배송이 시작되었습니다", "쿠폰 도착")
SHARED_LMS = ("긴 공지입니다. " * 12, "이번 달 이용 내역을 안내해 드립니다. " * 6)


# -- the input --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    number: int
    phone: str  # digits, unique per row
    kind: str  # "SMS" | "LMS" | "ALIMTALK" | "blocked" | "invalid"


def phone_of(number: int) -> str:
    return f"010{7000 + number // 10_000:04d}{number % 10_000:04d}"


def write_input(path: Path, count: int) -> dict[int, Row]:
    """A CSV of `count` rows: mostly SMS/LMS (some with per-row text), 2 % AlimTalk, a few
    recipients SOLAPI has blocked (a final refusal), ~1 % invalid numbers."""
    rows: dict[int, Row] = {}
    header = ["to", "text", "subject", "type", "template", "provider", "name", "order", "code"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n in range(1, count + 1):
            phone = phone_of(n)
            to = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
            cells = dict.fromkeys(header, "")
            cells.update(to=to, name=f"고객{n}", order=f"A{n:06d}", code=f"{n % 10_000:04d}")
            if n % 97 == 0:
                kind = "invalid"
                cells["to"] = "010-12"
            elif n % 401 == 0:
                kind = "blocked"
                cells.update(text=SHARED_SMS[0], provider="solapi")
            elif n % 50 == 7:
                kind = "ALIMTALK"
                cells.update(type="ALIMTALK", template="TPL_WELCOME")
            elif n % 4 == 1:
                kind = "LMS"
                cells.update(text=SHARED_LMS[n % len(SHARED_LMS)], subject="공지")
            elif n % 10 == 3:
                kind = "SMS"
                cells["text"] = "#{name}님, 주문 #{order} 접수"  # a text of its own
            else:
                kind = "SMS"
                cells["text"] = SHARED_SMS[n % len(SHARED_SMS)]
            writer.writerow([cells[c] for c in header])
            rows[n] = Row(n, phone, kind)
    return rows


# -- the fakes --------------------------------------------------------------------------------
@dataclass
class Fakes:
    solapi: FakeSolapi
    iwinv: FakeIwinv
    aligo: FakeAligo

    def all(self) -> dict[str, Any]:
        return {"solapi": self.solapi, "iwinv": self.iwinv, "aligo": self.aligo}

    def set_faults(self, rate: float) -> None:
        for fake in self.all().values():
            fake.fault_rate = rate


@contextmanager
def started_fakes(**overrides: Any) -> Iterator[Fakes]:
    """The three fakes with the soak's seeded faults (on sends, and on SOLAPI's lookups)."""
    common: dict[str, Any] = {
        "latency": LATENCY_S,
        "fault_rate": FAULT_RATE,
        "fault_kinds": FAULT_KINDS,
        **overrides,
    }
    started = Fakes(
        solapi=FakeSolapi(
            balance=1e9,
            seed=SEED + 101,
            hang_seconds=HANG_S["solapi"],
            fault_paths=(*solapi_fake.SEND_PATHS, SOLAPI_LIST),
            **common,
        ),
        iwinv=FakeIwinv(balance=1e9, seed=SEED + 202, hang_seconds=HANG_S["iwinv"], **common),
        aligo=FakeAligo(point=10**9, seed=SEED + 303, hang_seconds=HANG_S["aligo"], **common),
    )
    for fake in started.all().values():
        fake.start()
    try:
        yield started
    finally:
        for fake in started.all().values():
            fake.stop()


def write_config(path: Path, fakes: Fakes) -> Path:
    timeouts = f"read_timeout = {READ_TIMEOUT_S}\nconnect_timeout = 2.0\nbatch_size = {BATCH_SIZE}"
    path.write_text(
        f"""
default_profile = "soak"

[profiles.soak.routing]
SMS = ["solapi", "iwinv", "aligo"]
LMS = ["solapi", "iwinv", "aligo"]
ALIMTALK = "solapi"
strategy = "round_robin"

[profiles.soak.providers.solapi]
type = "solapi"
api_key = "{solapi_fake.DEFAULT_API_KEY}"
api_secret = "env:SOLAPI_API_SECRET"
sender = "{SENDER}"
kakao_pf_id = "{solapi_fake.DEFAULT_PF_ID}"
base_url = "{fakes.solapi.base_url}"
{timeouts}

[profiles.soak.providers.iwinv]
type = "iwinv"
sms_api_key = "{iwinv_fake.DEFAULT_SMS_API_KEY}"
sms_auth_key = "env:IWINV_SMS_AUTH_KEY"
sms_company_id = "{iwinv_fake.DEFAULT_SMS_COMPANY_ID}"
sender = "{SENDER}"
alimtalk_base_url = "{fakes.iwinv.alimtalk_base_url}"
sms_base_url = "{fakes.iwinv.sms_base_url}"
{timeouts}

[profiles.soak.providers.aligo]
type = "aligo"
api_key = "env:ALIGO_API_KEY"
user_id = "{aligo_fake.DEFAULT_USER_ID}"
sender = "{SENDER}"
sms_base_url = "{fakes.aligo.sms_base_url}"
kakao_base_url = "{fakes.aligo.kakao_base_url}"
{timeouts}
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def environment(tmp_path: Path, config: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KMSG_CONFIG=str(config),
        KMSG_DB=str(tmp_path / "soak.sqlite"),
        HOME=str(tmp_path),
        SOLAPI_API_SECRET=solapi_fake.DEFAULT_API_SECRET,
        IWINV_SMS_AUTH_KEY=iwinv_fake.DEFAULT_SMS_AUTH_KEY,
        ALIGO_API_KEY=aligo_fake.DEFAULT_KEY,
    )
    return env


# -- reading the fakes' logs ------------------------------------------------------------------
@dataclass(frozen=True)
class SendRequest:
    vendor: str
    time: float
    fault: str | None
    answered: bool  # the fake wrote a complete answer (or has not finished yet: False)
    phones: tuple[str, ...]
    record: dict[str, Any] = field(repr=False, compare=False)


def send_requests(fakes: Fakes) -> list[SendRequest]:
    """Every send request any fake received, oldest first, with the recipients it carried."""
    found: list[SendRequest] = []
    for record in list(fakes.solapi.requests):
        if record["path"] not in solapi_fake.SEND_PATHS:
            continue
        body = record["body"] if isinstance(record["body"], dict) else {}
        messages = body.get("messages") or [body.get("message") or {}]
        phones = tuple(str(m.get("to", "")).replace("-", "") for m in messages)
        found.append(_request("solapi", record, phones))
    for record in list(fakes.iwinv.requests):
        if record.get("canonical") not in iwinv_fake.SEND_PATHS:
            continue
        body = record["body"] if isinstance(record["body"], dict) else {}
        if "fields" in body:  # multipart (MMS)
            to = ",".join(body["fields"].get("to", []))
        elif "list" in body:  # AlimTalk
            to = ",".join(str(item.get("phone", "")) for item in body["list"])
        else:
            raw = body.get("to", [])
            to = raw if isinstance(raw, str) else ",".join(str(p) for p in raw)
        found.append(_request("iwinv", record, tuple(p for p in to.split(",") if p)))
    for record in list(fakes.aligo.requests):
        if record.get("endpoint") not in aligo_fake.SEND_PATHS:
            continue
        form = record.get("form") or {}
        phones = [p.strip() for p in form.get("receiver", "").split(",") if p.strip()]
        phones += [v for k, v in form.items() if k.startswith(("rec_", "receiver_"))]
        found.append(_request("aligo", record, tuple(p.replace("-", "") for p in phones)))
    found.sort(key=lambda r: r.time)
    return found


def _request(vendor: str, record: dict[str, Any], phones: tuple[str, ...]) -> SendRequest:
    fault = record.get("fault")
    answered = record.get("status") is not None and fault not in UNANSWERED
    return SendRequest(vendor, float(record["time"]), fault, answered, phones, record)


def accepted_so_far(fakes: Fakes) -> int:
    """Messages the fakes accepted until now, read from their request logs (cheap to poll)."""
    total = 0
    for request in send_requests(fakes):
        response = request.record.get("response")
        if not isinstance(response, dict):
            continue
        if request.vendor == "solapi" and isinstance(response.get("groupInfo"), dict):
            total += int(response["groupInfo"]["count"]["registeredSuccess"])
        elif request.vendor == "iwinv" and response.get("resultCode") == 0:
            total += len(request.phones)
        elif request.vendor == "aligo" and str(response.get("result_code")) == "1":
            total += int(response.get("success_cnt") or 0)
    return total


def accepted_at_least(fakes: Fakes, count: int) -> Callable[[], bool]:
    return lambda: accepted_so_far(fakes) >= count


def in_flight(fakes: Fakes) -> list[SendRequest]:
    """Send requests being processed right now: no fault, no answer yet."""
    return [r for r in send_requests(fakes) if r.fault is None and r.record["status"] is None]


@dataclass
class Accepted:
    """What the fakes accepted: per recipient, over all three."""

    count: Counter[str] = field(default_factory=Counter)
    vendor: dict[str, str] = field(default_factory=dict)
    type: dict[str, str] = field(default_factory=dict)  # SMS, LMS or ALIMTALK
    kmsg_id: dict[str, str] = field(default_factory=dict)  # SOLAPI: customFields.kmsgId
    per_kmsg_id: Counter[str] = field(default_factory=Counter)

    def add(self, vendor: str, phone: str, kind: str) -> None:
        self.count[phone] += 1
        self.vendor[phone] = vendor
        self.type[phone] = {"ATA": "ALIMTALK", "AT": "ALIMTALK"}.get(kind, kind)


def accepted_by_fakes(fakes: Fakes) -> Accepted:
    found = Accepted()
    for message in fakes.solapi.accepted_messages():
        found.add("solapi", message["to"], message["type"])
        found.kmsg_id[message["to"]] = message["customFields"]["kmsgId"]
        found.per_kmsg_id[message["customFields"]["kmsgId"]] += 1
    for message in fakes.iwinv.accepted_messages():
        kind = "ALIMTALK" if message["channel"] == "alimtalk" else message["msgType"]
        found.add("iwinv", message["phone"], kind)
    for message in fakes.aligo.accepted_messages():
        found.add("aligo", message["receiver"], message["msg_type"])
    return found


# -- running kmsg -----------------------------------------------------------------------------
@dataclass
class Run:
    code: int | None
    killed: bool
    note: str
    stdout: str
    stderr: str
    unanswered_at_kill: list[SendRequest] = field(default_factory=list)


def wait_until(condition: Callable[[], bool], seconds: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def run_kmsg(
    command: list[str],
    env: dict[str, str],
    logs: Path,
    *,
    kill_when: Callable[[], bool] | None = None,
    fakes: Fakes | None = None,
    aim: bool = True,
) -> Run:
    """Run kmsg; with `kill_when`, SIGKILL it once the condition holds (and, with `aim`, a
    send request is being processed by a fake: its answer will be lost).
    Output goes to files: a full pipe must never block the child."""
    out_path, err_path = logs.with_suffix(".out"), logs.with_suffix(".err")
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, text=True
        )
        killed, note = False, ""
        unanswered: list[SendRequest] = []
        try:
            if kill_when is not None:
                assert fakes is not None
                reached = wait_until(
                    lambda: proc.poll() is not None or kill_when(), RUN_TIMEOUT_S, 0.02
                )
                assert reached, "kmsg neither reached the kill point nor finished"
                if proc.poll() is None:
                    # aim the kill at an unanswered request: an unknown outcome to resolve
                    hit = aim and wait_until(lambda: bool(in_flight(fakes)), 5, 0.001)
                    proc.send_signal(signal.SIGKILL)
                    unanswered = in_flight(fakes)  # their answers can no longer be read
                    killed = True
                    note = "killed mid-request" if hit else "killed"
                    note += f" after {accepted_so_far(fakes)} accepted"
                else:  # still checked in full; the summary line says so
                    note = "finished before the kill point"
            proc.wait(timeout=RUN_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    return Run(
        proc.returncode,
        killed,
        note,
        out_path.read_text(encoding="utf-8"),
        err_path.read_text(encoding="utf-8"),
        unanswered,
    )


def kmsg(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kmsg_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def db_check_exists(env: dict[str, str]) -> bool:
    """`kmsg db check` is being added separately; its --help exits 0 once it exists."""
    return kmsg(env, "db", "check", "--help").returncode == 0
