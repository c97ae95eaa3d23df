"""Provider choice (docs/routing.md), table-driven."""

from __future__ import annotations

import pytest

from kmsg_cli.errors import InvalidInput, UnsupportedFeature
from kmsg_cli.models import MessageType
from kmsg_cli.routing import Need, route

PROVIDERS = {"sol": "solapi", "iw": "iwinv", "al": "aligo", "mk": "mock"}
SMS, ALIM, FRIEND = MessageType.SMS, MessageType.ALIMTALK, MessageType.FRIENDTALK


@pytest.mark.parametrize(
    ("need", "kwargs", "expected"),
    [
        (Need(SMS), {"explicit": "iw"}, ["iw"]),
        (Need(SMS), {"routing": {SMS: ["al", "sol"]}}, ["al", "sol"]),
        # iwinv cannot send FriendTalk: skipped in the routing list
        (Need(FRIEND), {"routing": {FRIEND: ["iw", "sol"]}}, ["sol"]),
        (
            Need(SMS),
            {"routing": {SMS: ["al", "sol", "iw"]}, "strategy": "round_robin", "rotation": 1},
            ["sol", "iw", "al"],
        ),
        (
            Need(SMS),
            {"routing": {SMS: ["al", "sol"]}, "strategy": "round_robin", "rotation": 4},
            ["al", "sol"],
        ),
        # routing names a provider that is not configured: ignored
        (Need(SMS), {"routing": {SMS: ["ghost"]}, "default_provider": "al"}, ["al"]),
        (Need(SMS), {"default_provider": "al"}, ["al"]),
        # default cannot send FriendTalk -> first configured that can
        (Need(FRIEND), {"default_provider": "iw"}, ["sol"]),
        (Need(SMS), {}, ["sol"]),
        # international: only solapi and mock can
        (Need(SMS, international=True), {"default_provider": "al"}, ["sol"]),
        (Need(ALIM, scheduled=True), {"routing": {ALIM: ["iw"]}}, ["iw"]),
    ],
)
def test_route_order(need: Need, kwargs: dict, expected: list[str]) -> None:
    assert route(need, providers=PROVIDERS, **kwargs) == expected


def test_unknown_explicit_provider_is_bad_input() -> None:
    with pytest.raises(InvalidInput) as info:
        route(Need(SMS), providers=PROVIDERS, explicit="nope", profile_name="prod")
    assert info.value.code == "UNKNOWN_PROVIDER"
    assert "nope" in str(info.value) and "sol" in str(info.value)


def test_explicit_provider_that_cannot_send_the_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedFeature) as info:
        route(Need(FRIEND), providers=PROVIDERS, explicit="iw")
    assert info.value.code == "UNSUPPORTED_BY_PROVIDER"
    assert info.value.exit_code == 4


def test_no_capable_provider_is_no_provider() -> None:
    with pytest.raises(UnsupportedFeature) as info:
        route(Need(FRIEND), providers={"iw": "iwinv"}, profile_name="p")
    assert info.value.code == "NO_PROVIDER"
    assert "FRIENDTALK" in info.value.message
