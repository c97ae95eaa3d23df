"""Provider failover: when a request surely was not accepted, the next provider of the
message's routing list may send it (docs/routing.md, "Failover"). Never after a timeout or a
lost answer: the message may be on its way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from kmsg_cli.errors import ACCOUNT_REFUSALS, KmsgError, ProviderError
from kmsg_cli.models import Message
from kmsg_cli.providers.base import Provider, ProviderSource

log = logging.getLogger("kmsg.send")

REFUSAL_PAUSE_S = 60  # a provider that refused the account is passed over this long


def failover_eligible(error: ProviderError) -> bool:
    """The request surely was not accepted (connect failure, 429/503 answered, or the whole
    request refused for the account: credentials, balance): the next provider of the routing
    list may have it (docs/routing.md, "Failover")."""
    if error.outcome_unknown:
        return False
    return (
        error.details.get("stage") == "connect"
        or error.http_status in (429, 503)
        or error.code in ACCOUNT_REFUSALS
    )


class Refusals:
    """The providers that refused the account for a whole request in this run, and when: while
    the routing list has another provider, a run does not ask them again for `pause_s`, then
    tries again (the cause may have been fixed meanwhile)."""

    def __init__(self, pause_s: float = REFUSAL_PAUSE_S) -> None:
        self.pause_s = pause_s
        self._when: dict[str, float] = {}  # provider id -> time.monotonic() of the refusal

    def heard(self, provider_id: str, error: ProviderError) -> None:
        """Note `error` from `provider_id` when it refused the account."""
        if error.code in ACCOUNT_REFUSALS:
            self._when[provider_id] = time.monotonic()

    def recent(self, provider_id: str) -> bool:
        when = self._when.get(provider_id)
        return when is not None and time.monotonic() - when < self.pause_s


class Alternates:
    """The next providers of a routing list, built and checked only when needed."""

    def __init__(self, source: ProviderSource, provider_ids: Sequence[str]) -> None:
        self.source = source
        self.remaining = list(provider_ids)

    def avoiding(
        self, client: Provider, batch: Sequence[Message], refused: Callable[[str], bool]
    ) -> Provider:
        """`client`, or while it is `refused` (it refused the account a moment ago), the next
        provider that can send `batch`; with none left, `client` after all."""
        while refused(client.id):
            alternate = self.next_for(batch)
            if alternate is None:
                break
            client = alternate
        return client

    def next_for(self, batch: Sequence[Message]) -> Provider | None:
        while self.remaining:
            provider_id = self.remaining.pop(0)
            try:
                client = self.source.get(provider_id)
                for message in batch:
                    client.validate(message)
            except KmsgError as error:
                log.warning("skipping provider %s for failover: %s", provider_id, error.message)
                continue
            return client
        return None
