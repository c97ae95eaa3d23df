"""A fault soak through all three fake vendors: SOLAPI, IWINV and Aligo at once.

`kmsg send-many` runs as a real subprocess over one CSV (SMS and LMS spread round-robin over
the three providers with failover, AlimTalk through SOLAPI), while every fake answers 20 % of
its send requests with a seeded mix of faults: 500/503/429 (with Retry-After), an HTML 502,
hangs, connection resets, and "accepted, then the connection dropped". The sender is killed
with SIGKILL twice (once 20 % and once 55 % of the rows are accepted, each time aimed at a
moment when a fake is processing a send request), and the same command is run again to
finish. The judges are the fakes' own logs, never kmsg's database:

- no duplicate: no recipient (unique per row) accepted twice by any fake, nor one of our ids
  (SOLAPI `customFields.kmsgId`) twice;
- no loss: every valid row is accepted exactly once, or reported failed by kmsg with a code
  and a message; nothing is left pending or processing;
- unknown outcomes (SPEC §8) end resolved: found at SOLAPI and recorded as accepted, or failed
  with UNKNOWN_OUTCOME and listed by `kmsg queue list --status failed`.

Size: 2,000 rows by default (every CI run); `KMSG_SOAK=full` runs 20,000; `KMSG_SOAK_SEED=N`
draws another fault sequence. `pytest -s` shows a one-line summary of the figures. Once
`kmsg db check` exists it must pass at the end too.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

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
    "hang_after_accept",
    "reset_after_accept",
)
UNANSWERED = frozenset({"hang", "reset", "hang_after_accept", "reset_after_accept"})
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


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    common: dict[str, Any] = {
        "latency": LATENCY_S,
        "fault_rate": FAULT_RATE,
        "fault_kinds": FAULT_KINDS,
    }
    started = Fakes(
        solapi=FakeSolapi(balance=1e9, seed=SEED + 101, hang_seconds=HANG_S["solapi"], **common),
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


# -- the soak ---------------------------------------------------------------------------------
def test_fault_soak_three_vendors_two_sigkills(fakes: Fakes, tmp_path: Path) -> None:
    started = time.monotonic()
    source = tmp_path / "soak.csv"
    rows = write_input(source, ROWS)
    valid = {n: r for n, r in rows.items() if r.kind != "invalid"}
    fakes.solapi.blocked = {r.phone for r in rows.values() if r.kind == "blocked"}
    env = environment(tmp_path, write_config(tmp_path / "soak.toml", fakes))
    results = tmp_path / "results.jsonl"
    command = [
        sys.executable,
        "-m",
        "kmsg_cli",
        "send-many",
        str(source),
        "--json",
        "--yes",
        "--concurrency",
        str(CONCURRENCY),
        "--results",
        str(results),
    ]

    runs: list[Run] = []
    for index, fraction in enumerate(KILL_AT, start=1):
        threshold = int(len(valid) * fraction)
        run = run_kmsg(
            command,
            env,
            tmp_path / f"run{index}",
            kill_when=accepted_at_least(fakes, threshold),
            fakes=fakes,
        )
        runs.append(run)
        if run.killed:
            assert run.code == -signal.SIGKILL, run.stderr[-2000:]
    final = run_kmsg(command, env, tmp_path / "run3")
    runs.append(final)
    assert final.code in (0, 5), final.stderr[-3000:]  # 5: the invalid rows
    summary: dict[str, Any] = json.loads(final.stdout)["data"]

    # -- the fakes' verdict: no duplicate ---------------------------------------------------
    fake = accepted_by_fakes(fakes)
    per_phone, vendor_of = fake.count, fake.vendor
    twice = {p: c for p, c in per_phone.items() if c > 1}
    assert not twice, f"accepted more than once: {sorted(twice.items())[:10]}"
    assert set(fake.per_kmsg_id.values()) <= {1}, "a kmsg id was accepted twice by SOLAPI"
    phone_row = {r.phone: n for n, r in rows.items()}
    assert set(per_phone) <= {r.phone for r in valid.values()}, "an unknown recipient was sent"
    for phone, n in phone_row.items():
        if phone in per_phone:  # the right message: type, and our id where the vendor keeps it
            assert fake.type[phone] == rows[n].kind, (n, fake.type[phone])
            if phone in fake.kmsg_id:
                assert fake.kmsg_id[phone] == f"{summary['batch_id']}:{n}", n
    assert {vendor_of[r.phone] for r in valid.values() if r.kind == "ALIMTALK"} <= {"solapi"}

    # -- kmsg's report: one line per row, every valid row settled ----------------------------
    lines = [json.loads(x) for x in results.read_text(encoding="utf-8").splitlines()]
    by_row = {line["row"]: line for line in lines}
    assert len(by_row) == len(lines) == ROWS
    statuses = Counter(line["status"] for line in lines)
    assert set(statuses) <= {"accepted", "failed", "unknown", "invalid"}, statuses
    assert statuses["invalid"] == ROWS - len(valid)
    for n, row in rows.items():
        line = by_row[n]
        fake_count = per_phone.get(row.phone, 0)
        if row.kind == "invalid":
            assert line["status"] == "invalid" and line["error"]["code"], line
            continue
        if line["status"] == "accepted":
            assert fake_count == 1, ("kmsg says accepted, no fake has it", line)
            assert line["provider_id"] == vendor_of[row.phone], line
        elif line["status"] == "failed":
            assert fake_count == 0, ("failed with a reason, yet a fake accepted it", line)
            assert line["error"]["code"] and line["error"]["message"], line
            assert line["error"]["code"] != "UNKNOWN_OUTCOME", line
        else:  # unknown: may or may not be at a fake, never re-sent, always explained
            assert line["error"]["code"] == "UNKNOWN_OUTCOME" and line["error"]["message"], line
        if row.kind == "blocked":  # refused by SOLAPI (1060), or failed trying: never accepted
            assert line["status"] == "failed", line
        if vendor_of.get(row.phone) == "solapi":  # SOLAPI can always be asked: never unknown
            assert line["status"] == "accepted", line
    accepted, failed = statuses["accepted"], statuses["failed"] + statuses["unknown"]
    assert accepted + failed == len(valid)
    # every acceptance at a fake is a row kmsg reports accepted, or one it says it cannot know
    unknown_at_a_fake = sum(
        1 for n, r in valid.items() if by_row[n]["status"] == "unknown" and r.phone in per_phone
    )
    assert sum(per_phone.values()) == accepted + unknown_at_a_fake
    assert (summary["accepted_total"], summary["unknown"], summary["pending"]) == (
        accepted,
        statuses["unknown"],
        0,
    )

    # -- the queue agrees: nothing pending or processing; unknowns are listed as failed --------
    stats = json.loads(kmsg(env, "queue", "stats", "--json").stdout)["data"]
    assert {k: v for k, v in stats["counts"].items() if v} == {
        k: v for k, v in {"completed": accepted, "failed": failed}.items() if v
    }, stats
    listed = json.loads(
        kmsg(env, "queue", "list", "--status", "failed", "--limit", str(ROWS), "--json").stdout
    )["data"]["jobs"]
    listed_unknown = {j["id"] for j in listed if (j["error"] or {})["code"] == "UNKNOWN_OUTCOME"}
    assert len(listed) == failed
    assert listed_unknown == {by_row[n]["id"] for n in valid if by_row[n]["status"] == "unknown"}

    # -- the database's own check, once `kmsg db check` exists --------------------------------
    has_db_check = db_check_exists(env)
    if has_db_check:
        check = kmsg(env, "db", "check")
        assert check.returncode == 0, check.stdout + check.stderr

    # -- the figures --------------------------------------------------------------------------
    requests = send_requests(fakes)
    faults = Counter(r.fault for r in requests if r.fault)
    assert faults, "no fault was injected"
    seen: dict[str, str] = {}
    retried = failed_over = 0
    for request in requests:
        before = {seen[p] for p in request.phones if p in seen}
        if before:
            retried += 1
            failed_over += 1 if before - {request.vendor} else 0
        seen.update(dict.fromkeys(request.phones, request.vendor))
    unanswered: list[SendRequest] = [r for r in requests if r.fault in UNANSWERED]
    for run in runs:
        unanswered += run.unanswered_at_kill
    unknown_outcomes = {p for r in unanswered for p in r.phones}  # the answer was lost
    reconciled = sum(  # accepted by the request whose answer was lost, and recorded as such
        1
        for r in unanswered
        if r.fault != "hang" and r.fault != "reset"
        for p in r.phones
        if p in per_phone and by_row[phone_row[p]]["status"] == "accepted"
    )
    by_vendor = dict(sorted(Counter(vendor_of.values()).items()))
    kills = "; ".join(f"run {i}: {r.note}" for i, r in enumerate(runs[:2], start=1))
    print(
        f"\nsoak: seed={SEED} rows={ROWS} (valid {len(valid)}, invalid {ROWS - len(valid)}) "
        f"accepted={accepted} failed={failed} (UNKNOWN_OUTCOME {statuses['unknown']}, "
        f"other {statuses['failed']}) by_vendor={by_vendor} "
        f"send_requests={len(requests)} retried_requests={retried} (failovers {failed_over}) "
        f"faults={dict(sorted(faults.items()))} unknown_outcomes={len(unknown_outcomes)} "
        f"reconciled={reconciled} duplicates=0 lost=0 kills=[{kills}] "
        f"db_check={'ok' if has_db_check else 'absent'} "
        f"elapsed={time.monotonic() - started:.1f}s"
    )


# -- a SIGKILL right after a failover ---------------------------------------------------------
@pytest.mark.parametrize(
    ("first", "second"), [("solapi", "iwinv"), ("iwinv", "solapi")], ids=["to-iwinv", "to-solapi"]
)
def test_sigkill_after_failover_never_sends_twice(
    fakes: Fakes, tmp_path: Path, first: str, second: str
) -> None:
    """The first provider answers 503, the messages fail over to the second, which accepts
    them and hangs; SIGKILL. The ledger still names the first provider: the re-run must look
    for the messages at both (found at SOLAPI: accepted; not askable at IWINV: unknown) and
    never send them to the first provider as if they were surely not accepted."""
    fakes.set_faults(0.0)
    vendors = fakes.all()
    vendors[first].script = ["503"]
    vendors[second].script = ["hang_after_accept"]
    vendors[second].hang_seconds = RUN_TIMEOUT_S  # until the fake stops
    config = write_config(tmp_path / "c.toml", fakes)
    text = config.read_text(encoding="utf-8")
    text = text.replace(f"read_timeout = {READ_TIMEOUT_S}", "read_timeout = 60")
    text = text.replace('strategy = "round_robin"', 'strategy = "first"')
    text = text.replace('["solapi", "iwinv", "aligo"]', f'["{first}", "{second}"]')
    config.write_text(text, encoding="utf-8")
    env = environment(tmp_path, config)
    source = tmp_path / "in.csv"
    source.write_text(
        "to,text\n" + "".join(f"{phone_of(n)},점검 안내\n" for n in range(1, 11)), encoding="utf-8"
    )
    command = [sys.executable, "-m", "kmsg_cli", "send-many", str(source), "--json"]
    results = tmp_path / "r.jsonl"

    killed = run_kmsg(
        command,
        env,
        tmp_path / "run1",
        kill_when=lambda: accepted_so_far(fakes) >= 10,
        fakes=fakes,
        aim=False,  # the request to the second provider hangs: kill at once
    )
    assert killed.killed, killed.note
    rerun = run_kmsg([*command, "--results", str(results)], env, tmp_path / "run2")
    assert rerun.code in (0, 3), rerun.stderr

    fake = accepted_by_fakes(fakes)
    assert fake.count == Counter({phone_of(n): 1 for n in range(1, 11)}), "sent twice"
    assert set(fake.vendor.values()) == {second}
    lines = [json.loads(x) for x in results.read_text(encoding="utf-8").splitlines()]
    if second == "solapi":  # found there by our id
        assert {(x["status"], x["provider_id"]) for x in lines} == {("accepted", "solapi")}
    else:  # IWINV cannot be asked: failed as an unknown outcome, listed for a decision
        assert {x["status"] for x in lines} == {"unknown"}
        assert {x["error"]["code"] for x in lines} == {"UNKNOWN_OUTCOME"}


def test_lost_answer_for_a_refused_message_is_not_taken_as_accepted(
    fakes: Fakes, tmp_path: Path
) -> None:
    """SOLAPI lists messages it refused at registration (1xxx) too: a lookup after a lost
    answer must not record such a message as accepted."""
    fakes.set_faults(0.0)
    fakes.solapi.blocked = {phone_of(2)}
    fakes.solapi.script = ["reset_after_accept"]
    env = environment(tmp_path, write_config(tmp_path / "c.toml", fakes))
    source = tmp_path / "in.csv"
    source.write_text(
        "to,text,provider\n" + "".join(f"{phone_of(n)},안내,solapi\n" for n in (1, 2, 3)),
        encoding="utf-8",
    )
    results = tmp_path / "r.jsonl"
    command = [sys.executable, "-m", "kmsg_cli", "send-many", str(source), "--json"]
    run = run_kmsg([*command, "--results", str(results)], env, tmp_path / "run")
    assert run.code == 5, run.stderr
    lines = {x["row"]: x for x in map(json.loads, results.read_text("utf-8").splitlines())}
    assert lines[1]["status"] == lines[3]["status"] == "accepted"
    assert lines[2]["status"] == "failed" and lines[2]["error"]["provider_code"] == "1060"
    assert accepted_by_fakes(fakes).count == Counter({phone_of(1): 1, phone_of(3): 1})
