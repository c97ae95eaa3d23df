"""The provider contract: what the sending service may ask of a provider client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kmsg_cli.models import Message, SendResult
from kmsg_cli.providers.catalog import Capabilities

SIMULATED_NOTE = "mock provider: no real message was delivered"


class Provider(Protocol):
    """A client for one configured provider.

    `send` takes up to `capabilities.max_batch` messages and returns one `SendResult` per
    message, in order. Per-message rejections are results (`accepted=False`), not
    exceptions. A failure of the whole request raises `ProviderError`; its
    `outcome_unknown` flag says whether the request may have been accepted anyway.
    """

    id: str
    type: str
    capabilities: Capabilities

    def send(self, messages: Sequence[Message]) -> list[SendResult]: ...

    def close(self) -> None: ...
