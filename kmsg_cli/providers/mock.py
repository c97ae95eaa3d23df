"""The in-process mock provider: every message type, deterministic, nothing delivered.

Outcomes are scripted by the recipient's last digits (configurable per profile):

| recipient ends in          | outcome                                                     |
|----------------------------|-------------------------------------------------------------|
| `reject_suffixes` (0000)   | rejected, code `MOCK_REJECTED` (not retryable)              |
| `unavailable_suffixes` (0503) | not accepted, code `MOCK_UNAVAILABLE` (retryable outage) |
| anything else              | accepted: status SENT, or PENDING when scheduled            |

The provider message id is derived from our message id, so a re-run gives the same id.
Every result is marked `simulated`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kmsg_cli.models import DeliveryStatus, Message, Notice, SendResult
from kmsg_cli.providers.base import SIMULATED_NOTE
from kmsg_cli.providers.catalog import CATALOG, Capabilities

REJECTED = "MOCK_REJECTED"
UNAVAILABLE = "MOCK_UNAVAILABLE"


class MockProvider:
    type = "mock"
    capabilities: Capabilities = CATALOG["mock"]

    def __init__(self, provider_id: str, settings: Mapping[str, Any]) -> None:
        self.id = provider_id
        self.reject_suffixes = tuple(str(s) for s in settings.get("reject_suffixes", ("0000",)))
        self.unavailable_suffixes = tuple(
            str(s) for s in settings.get("unavailable_suffixes", ("0503",))
        )
        self.latency = float(settings.get("latency_ms", 0)) / 1000.0
        self.batch_size = 1000
        self.sent: list[Message] = []  # what was "delivered", for tests and demos

    def validate(self, message: Message) -> None:
        return None  # the mock accepts anything the message rules allow

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        if self.latency:
            time.sleep(self.latency)
        return [self._send_one(message) for message in messages]

    def _send_one(self, message: Message) -> SendResult:
        number = message.to.number
        note = (Notice("SIMULATED", SIMULATED_NOTE),)
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
        self.sent.append(message)
        digest = hashlib.sha256(message.message_id.encode("utf-8")).hexdigest()[:20]
        status = DeliveryStatus.PENDING if message.scheduled_at else DeliveryStatus.SENT
        return SendResult(
            message_id=message.message_id,
            provider_id=self.id,
            accepted=True,
            status=status,
            provider_message_id=f"mock-{digest}",
            simulated=True,
            warnings=note,
        )

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

    def close(self) -> None:
        return None
