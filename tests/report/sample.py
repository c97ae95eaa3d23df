"""A deterministic sample database for `kmsg report`: one send-many batch of AlimTalk and SMS
messages through two providers, with failures, fallbacks, unknowns and rows still tracked.

The same seed gives the same rows, so the README screenshot (scripts/report_screenshot.py) and
the tests that read it agree. `EXPECTED` is what the data set was built to contain, counted
here while building, independently of the report's SQL.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field

from kmsg_cli.models import Job, TrackingRow
from kmsg_cli.report import record_batch_input
from kmsg_cli.store.contract import Store

BATCH = "2026-12-promo"
# 2026-12-07 09:00:00 KST
START_MS = 1_796_601_600_000
PROVIDER_TYPES = {"solapi": "solapi", "backup": "mock"}
MINUTE = 60_000


@dataclass
class Expected:
    rows: int = 0
    invalid: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    delivery_codes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (provider, code)
    send_codes: Counter[tuple[str, str]] = field(default_factory=Counter)
    unknown_outcome: int = 0
    queued: int = 0
    fallbacks_sent: int = 0
    latencies: list[int] = field(default_factory=list)
    due: int = 0


def build(store: Store, *, size: int = 600, seed: int = 7, now_ms: int | None = None) -> Expected:
    """Fill `store` (initialized, empty) with the sample batch; returns what it holds."""
    rng = random.Random(seed)
    expected = Expected()
    now = now_ms if now_ms is not None else START_MS + 6 * 60 * MINUTE
    jobs: list[Job] = []
    rows: list[TrackingRow] = []
    for n in range(1, size + 1):
        message_id = f"{BATCH}:{n}"
        provider = "solapi" if n % 5 else "backup"
        kind = "ALIMTALK" if provider == "solapi" and n % 3 else "SMS"
        to = f"010{rng.randrange(10_000_000, 99_999_999)}"
        created = START_MS + (n * 20 * MINUTE) // size  # sent over 20 minutes
        data = {"message": {"id": message_id, "type": kind, "to": to}, "provider": provider}
        job = Job(
            id=message_id,
            type="send",
            data=data,
            created_at=created,
            process_at=created,
            metadata={"batch": BATCH, "row": n},
        )
        draw = rng.random()
        if draw < 0.02:  # refused at sending
            code, vendor = (
                ("SENDER_NOT_REGISTERED", "1062")
                if provider == "solapi"
                else (
                    "MOCK_REJECTED",
                    None,
                )
            )
            job.status, job.failed_at = "failed", created
            job.error = json.dumps(
                {"code": code, "message": "발신번호 미등록", "provider_code": vendor},
                ensure_ascii=False,
            )
            expected.send_codes[(provider, vendor or code)] += 1
            jobs.append(job)
            continue
        if draw < 0.025:  # the answer was lost
            job.status, job.failed_at = "failed", created
            job.error = json.dumps({"code": "UNKNOWN_OUTCOME", "message": "timed out"})
            expected.unknown_outcome += 1
            jobs.append(job)
            continue
        if draw < 0.03:  # still in the queue
            expected.queued += 1
            jobs.append(job)
            continue
        job.status, job.completed_at = "completed", created
        jobs.append(job)
        row = TrackingRow(
            message_id=message_id,
            provider_id=provider,
            provider_message_id=f"P{n:06d}",
            type=kind,
            to=to,
            status="SENT",
            requested_at=created,
            status_updated_at=created,
            next_check_at=created + 30_000,
            sent_at=created,
            metadata={"origin": "send"},
        )
        if kind == "ALIMTALK":
            row.metadata = {"origin": "send", "failover": {"requested": True, "type": "SMS"}}
        outcome = rng.random()
        if outcome < 0.86:
            latency = int(rng.lognormvariate(9.3, 1.1))  # median about 11 s
            row.status, row.delivered_at = "DELIVERED", created + latency
            row.provider_status_code = "4000"
            expected.latencies.append(latency)
        elif outcome < 0.95:
            code = _failure_code(rng, kind)
            row.status, row.failed_at = "FAILED", created + int(rng.uniform(5_000, 900_000))
            row.provider_status_code = code
            row.provider_status_message = "실패"
            expected.delivery_codes[(provider, code)] += 1
            if kind == "ALIMTALK" and code == "3104":
                row.metadata = {
                    "origin": "send",
                    "failover": {
                        "requested": True,
                        "type": "SMS",
                        "path": "api",
                        "outcome": "sent",
                    },
                }
                expected.fallbacks_sent += 1
        elif outcome < 0.97:
            row.status = "UNKNOWN"
            row.last_error = {"code": "TRACKING_TIMEOUT", "message": "no final status"}
        else:
            row.next_check_at = now - 1_000 if n % 2 else now + 10 * MINUTE
            expected.due += 1 if n % 2 else 0
        row.status_updated_at = row.delivered_at or row.failed_at or created
        expected.statuses[row.status] += 1
        rows.append(row)
    store.insert_jobs(jobs)
    store.insert_tracking(rows)
    expected.invalid = size // 40
    expected.rows = size + expected.invalid
    record_batch_input(
        store, BATCH, rows=expected.rows, valid=size, invalid=expected.invalid, now_ms=START_MS
    )
    return expected


def _failure_code(rng: random.Random, kind: str) -> str:
    if kind == "ALIMTALK":
        return rng.choice(("3104", "3104", "3104", "3107", "3023"))
    return rng.choice(("3023", "3021", "3043"))
