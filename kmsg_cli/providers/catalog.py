"""What each provider type can do, known without importing any client code.

Routing, `providers list` and dry runs read this table; the clients themselves are imported
only when a message is really sent (`kmsg_cli.providers.create_provider`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kmsg_cli.models import MessageType

ALL_TYPES = frozenset(MessageType)


@dataclass(frozen=True)
class Capabilities:
    types: frozenset[MessageType]
    scheduling: bool  # the vendor holds a message until a given time
    international: bool  # recipients outside Korea
    status_lookup: bool  # delivery status can be asked for
    balance: bool
    native_failover: bool  # AlimTalk -> SMS fallback done by the vendor
    max_batch: int  # messages per send request
    simulated: bool = False  # nothing real is ever delivered
    available: bool = True  # a client exists in this version
    summary: str = ""

    def supports(self, message_type: MessageType) -> bool:
        return message_type in self.types


CATALOG: dict[str, Capabilities] = {
    "mock": Capabilities(
        types=ALL_TYPES,
        scheduling=True,
        international=True,
        status_lookup=True,
        balance=False,
        native_failover=False,
        max_batch=10_000,
        simulated=True,
        summary="in-process simulator for demos and tests; no real message is delivered",
    ),
    "solapi": Capabilities(
        types=ALL_TYPES,
        scheduling=True,
        international=True,
        status_lookup=True,
        balance=True,
        native_failover=True,
        max_batch=10_000,
        summary="SOLAPI REST API",
    ),
    "iwinv": Capabilities(
        types=frozenset({MessageType.SMS, MessageType.LMS, MessageType.MMS, MessageType.ALIMTALK}),
        scheduling=True,
        international=False,
        status_lookup=True,
        balance=True,
        native_failover=True,
        max_batch=1_000,
        summary="IWINV AlimTalk and SMS APIs",
    ),
    "aligo": Capabilities(
        types=ALL_TYPES,
        scheduling=True,
        international=False,
        status_lookup=True,
        balance=True,
        native_failover=True,
        max_batch=1_000,
        summary="Aligo SMS and Kakao APIs",
    ),
}


def capabilities(provider_type: str) -> Capabilities:
    """Capabilities of a provider type; unknown types can do nothing."""
    return CATALOG.get(
        provider_type,
        Capabilities(
            types=frozenset(),
            scheduling=False,
            international=False,
            status_lookup=False,
            balance=False,
            native_failover=False,
            max_batch=1,
            available=False,
        ),
    )
