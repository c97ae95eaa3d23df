"""The in-process mock provider: every message type of every channel, deterministic, nothing
delivered.

Outcomes are scripted by the recipient's last digits (configurable per profile):

| recipient ends in          | outcome                                                     |
|----------------------------|-------------------------------------------------------------|
| `reject_suffixes` (0000)   | rejected, code `MOCK_REJECTED` (not retryable)              |
| `unavailable_suffixes` (0503) | not accepted, code `MOCK_UNAVAILABLE` (retryable outage) |
| anything else              | accepted: status SENT, or PENDING when scheduled            |

Delivery, when tracked (`kmsg track run-once`), is decided the same way and is final at the
first check:

| recipient ends in | delivery status                                                           |
|-------------------|---------------------------------------------------------------------------|
| `3104`            | AlimTalk, FriendTalk, Brand Message: FAILED, 3104 (not a KakaoTalk user)  |
| `3043`            | any type: FAILED, 3043 (handset off; for RCS a failure that falls back)   |
| anything else     | DELIVERED                                                                 |

The provider message id is derived from our message id (a re-run gives the same id) and
carries the delivery outcome, so lookups need no state. Every result is marked `simulated`.

A scheduled message can be cancelled (`kmsg cancel`): each one is a group of its own (its
group id is its provider message id), and the mock confirms every cancel it is asked for
(kmsg asks only before the scheduled time).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from kmsg_cli.digest import sha256_hex
from kmsg_cli.models import (
    KAKAO_TYPES,
    CancelAnswer,
    DeliveryStatus,
    Message,
    Notice,
    SendResult,
    StatusUpdate,
)
from kmsg_cli.providers.base import SIMULATED_NOTE
from kmsg_cli.providers.catalog import CATALOG, Capabilities

REJECTED = "MOCK_REJECTED"
UNAVAILABLE = "MOCK_UNAVAILABLE"


class MockProvider:
    type = "mock"
    capabilities: Capabilities = CATALOG["mock"]

    def __init__(
        self, provider_id: str, settings: Mapping[str, Any], *, record: bool = False
    ) -> None:
        self.id = provider_id
        self.reject_suffixes = tuple(str(s) for s in settings.get("reject_suffixes", ("0000",)))
        self.unavailable_suffixes = tuple(
            str(s) for s in settings.get("unavailable_suffixes", ("0503",))
        )
        self.latency = float(settings.get("latency_ms", 0)) / 1000.0
        self.batch_size = 1000
        self.native_failover = False
        # What was "delivered", kept only when asked (tests): a bulk run must not grow memory.
        self.record = record
        self.sent: list[Message] = []
        self.sent_count = 0
        self._note: tuple[Notice, ...] = ()  # made at the first send, shared by every result

    def validate(self, message: Message) -> None:
        return None  # the mock accepts anything the message rules allow

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        if self.latency:
            time.sleep(self.latency)
        return [self._send_one(message) for message in messages]

    def _send_one(self, message: Message) -> SendResult:
        number = message.to.number
        note = self._note or self._first_note()
        for suffix in self.reject_suffixes:
            if suffix and number.endswith(suffix):
                return self._refused(
                    message, REJECTED, f"recipient {number} rejected (mock rule: ends in {suffix})"
                )
        for suffix in self.unavailable_suffixes:
            if suffix and number.endswith(suffix):
                return self._refused(
                    message,
                    UNAVAILABLE,
                    f"mock outage for recipient {number} (mock rule: ends in {suffix})",
                    retryable=True,
                )
        self.sent_count += 1
        if self.record:
            self.sent.append(message)
        digest = sha256_hex(message.message_id.encode("utf-8"))[:20]
        status = DeliveryStatus.PENDING if message.scheduled_at else DeliveryStatus.SENT
        outcome = "4000"
        if number.endswith("3104") and message.type in KAKAO_TYPES:
            outcome = "3104"
        elif number.endswith("3043"):
            outcome = "3043"
        provider_message_id = f"mock-{digest}-{outcome}"
        return SendResult(
            message_id=message.message_id,
            provider_id=self.id,
            accepted=True,
            status=status,
            provider_message_id=provider_message_id,
            # a scheduled mock message is a group of its own: cancelled alone
            group_id=provider_message_id if message.scheduled_at else None,
            simulated=True,
            warnings=note,
        )

    def _first_note(self) -> tuple[Notice, ...]:
        self._note = (Notice("SIMULATED", SIMULATED_NOTE),)  # immutable: one serves every result
        return self._note

    def _refused(
        self, message: Message, code: str, text: str, *, retryable: bool = False
    ) -> SendResult:
        return SendResult(
            message_id=message.message_id,
            provider_id=self.id,
            accepted=False,
            status=DeliveryStatus.FAILED,
            error_code=code,
            error_message=text,
            retryable=retryable,
            simulated=True,
        )

    def fetch_statuses(self, provider_message_ids: Sequence[str]) -> dict[str, StatusUpdate]:
        """Final status at the first check, read from the id (see the module table)."""
        now = round(time.time() * 1000)
        found = {}
        for pid in provider_message_ids:
            if not pid.startswith("mock-"):
                continue
            code = pid.rsplit("-", 1)[-1]
            if code == "4000":
                found[pid] = StatusUpdate(
                    pid,
                    DeliveryStatus.DELIVERED,
                    code,
                    "delivered (simulated)",
                    sent_at=now,
                    delivered_at=now,
                )
            elif code in _FAILURES:
                found[pid] = StatusUpdate(
                    pid, DeliveryStatus.FAILED, code, _FAILURES[code], sent_at=now, failed_at=now
                )
        return found

    cancel_lead_s = 0.0

    def cancel_unit(self, provider_message_id: str, group_id: str | None) -> str | None:
        return provider_message_id if provider_message_id.startswith("mock-") else None

    def cancel_scheduled(self, unit: str) -> CancelAnswer:
        return CancelAnswer(unit, True, message="mock provider: cancelled (simulated)")

    def close(self) -> None:
        return None


_FAILURES = {"3104": "카카오톡 미사용자 (simulated)", "3043": "handset switched off (simulated)"}
