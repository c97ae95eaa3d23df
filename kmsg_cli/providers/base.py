"""The provider contract: what the sending service may ask of a provider client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from kmsg_cli.errors import KmsgError
from kmsg_cli.models import (
    Balance,
    CancelAnswer,
    Message,
    MessageType,
    SendResult,
    StatusUpdate,
    TemplateInfo,
)
from kmsg_cli.providers.catalog import Capabilities

SIMULATED_NOTE = "mock provider: no real message was delivered"


class Provider(Protocol):
    """A client for one configured provider.

    `send` takes up to `batch_size` messages (one request) and returns one `SendResult` per
    message, in order. Per-message rejections are results (`accepted=False`), not
    exceptions. A failure of the whole request raises `ProviderError`; its
    `outcome_unknown` flag says whether the request may have been accepted anyway.
    """

    id: str
    type: str
    capabilities: Capabilities
    batch_size: int  # messages per request, as configured (≤ capabilities.max_batch)
    native_failover: bool  # an AlimTalk with failover text gets the vendor's own SMS fallback

    def validate(self, message: Message) -> None:
        """Raise InvalidInput/ConfigError for what the vendor would surely reject."""
        ...

    def send(self, messages: Sequence[Message]) -> list[SendResult]: ...

    def close(self) -> None: ...


@runtime_checkable
class StatusSource(Protocol):
    """A provider that can say what became of accepted messages."""

    def fetch_statuses(self, provider_message_ids: Sequence[str]) -> dict[str, StatusUpdate]:
        """Current status by provider message id; ids the vendor does not know are absent."""
        ...


@runtime_checkable
class RequestCounter(Protocol):
    """A provider that talks HTTP and can say how many requests were made."""

    def requests_made(self) -> int:
        """HTTP requests made so far by the calling thread (any provider): read it before and
        after one call to count that call's requests, whatever other threads do meanwhile."""
        ...


class ProviderSource(Protocol):
    """Gives the client of a configured provider, building it on first use."""

    def get(self, provider_id: str) -> Provider: ...


@runtime_checkable
class SentFinder(Protocol):
    """A provider that can find messages by recipient and time window (our id inside)."""

    def find_sent(
        self, to: str | None, *, since: datetime, until: datetime
    ) -> dict[str, tuple[str, StatusUpdate]]:
        """Our id -> (provider message id, status) of messages created in the window,
        to one recipient or (to=None) to anyone."""
        ...


@runtime_checkable
class Canceller(Protocol):
    """A provider whose vendor can take back a scheduled send (docs/cancel.md).

    The vendor cancels a whole unit at once: a SOLAPI group, an Aligo request (`mid`), an
    IWINV AlimTalk request (`seqNo`). `cancel_lead_s` is the vendor's cut-off: a unit whose
    send time is closer than that cannot be cancelled any more (0 when none is documented).
    """

    cancel_lead_s: float

    def cancel_unit(self, provider_message_id: str, group_id: str | None) -> str | None:
        """The unit (as `cancel_scheduled` takes it) that holds this accepted message, from
        its provider message id and the group id its send result gave; None when the vendor
        offers no cancel for it (an IWINV SMS, a message sent without a group id)."""
        ...

    def cancel_scheduled(self, unit: str) -> CancelAnswer:
        """Ask the vendor to cancel one unit. A refusal (too late, nothing scheduled) is an
        answer with `cancelled` false; a transport or credential failure raises
        ProviderError."""
        ...


@runtime_checkable
class BalanceSource(Protocol):
    def balance(self) -> Balance: ...


@runtime_checkable
class TemplateSource(Protocol):
    """A provider that can list the AlimTalk templates registered for its account (channel)."""

    def list_templates(self) -> list[TemplateInfo]:
        """Every template the vendor lists, in its order; raises ProviderError when it cannot
        list them (credentials, network, an answer that is not a list)."""
        ...


@runtime_checkable
class TemplateText(Protocol):
    """A provider that reads an AlimTalk's registered template before sending it."""

    def template_text(self, message: Message) -> str | None:
        """The text the AlimTalk `message` delivers: its template as the vendor has it
        registered, filled in with its variables; None for another type, or when the template
        could not be read."""
        ...


def template_codes(client: object) -> list[str] | None:
    """The codes of the AlimTalk templates `client` lists (what `--template` takes); None for
    a client that lists none, or when it could not list them."""
    if not isinstance(client, TemplateSource):
        return None
    try:
        return [template.code for template in client.list_templates()]
    except KmsgError:
        return None


def read_alimtalk(client: object, message: Message) -> tuple[str | None, bool]:
    """(the text the AlimTalk `message` delivers through `client`, filled in; whether `client`
    reads templates and could not read this one). (None, False) for another type, or for a
    client that reads no templates (the mock)."""
    if message.type is not MessageType.ALIMTALK or not isinstance(client, TemplateText):
        return None, False
    text = client.template_text(message)
    return text, text is None


@runtime_checkable
class KakaoChannelSource(Protocol):
    """A provider that can look up the KakaoTalk channel it sends from."""

    def kakao_channel(self) -> str | None:
        """The configured channel's name as people search for it (its search id), or None
        when no channel is configured; raises KmsgError when the vendor does not confirm it."""
        ...


@runtime_checkable
class SenderSource(Protocol):
    """A provider that can list the sender numbers its account may send from."""

    def active_senders(self) -> list[str]: ...


@runtime_checkable
class SenderCheck(Protocol):
    """A provider that can tell, before a bulk send, a sender number its account cannot send
    from (the vendor would refuse every message from it)."""

    def check_sender(self, message: Message) -> None:
        """Raise InvalidInput (SENDER_NOT_REGISTERED, field `from`) when the account surely
        cannot send `message` from its sender; the account's numbers are read once per
        client, and a listing that fails leaves the message to the vendor."""
        ...


class Cache(Protocol):
    """A small store of values with an expiry (a vendor's API token), which the service layer
    may share between processes; providers never know where it keeps them."""

    def get(self, key: str) -> str | None:
        """The value of `key`; None when there is none or it expired."""
        ...

    def put(self, key: str, value: str, *, expires_at: datetime) -> None:
        """Keep `value` under `key` until `expires_at`, replacing any value."""
        ...


@runtime_checkable
class UsesCache(Protocol):
    """A provider that keeps something in a `Cache` (by default one of its own, in memory)."""

    def use_cache(self, cache: Cache) -> None: ...
