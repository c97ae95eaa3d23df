"""Choose the provider for a message (SPEC §6). Pure: no I/O, no provider code.

Order: explicit `--provider` > `routing[TYPE]` (skipping providers that cannot send the
message) > `default_provider` (if it can) > the first configured provider that can >
`NO_PROVIDER`. The result is an ordered list: the first entry is used, the others are the
failover order of the routing list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kmsg_cli.errors import InvalidInput, UnsupportedFeature
from kmsg_cli.models import MessageType
from kmsg_cli.providers.catalog import capabilities, senders_of


@dataclass(frozen=True)
class Need:
    """What a message asks of a provider."""

    type: MessageType
    scheduled: bool = False
    international: bool = False

    def describe(self) -> str:
        words = [self.type.value]
        if self.scheduled:
            words.append("scheduled")
        if self.international:
            words.append("to an international number")
        return " ".join(words)


def _only(need: Need) -> str:
    """' (only solapi sends RCS_SMS)': which provider types could, for an error message."""
    able = senders_of(need.type)
    if not able or len(able) > 2:
        return ""
    verb = "sends" if len(able) == 1 else "send"
    return f" (only {' and '.join(able)} {verb} {need.type.value})"


def _shortfall(provider_type: str, need: Need) -> str | None:
    caps = capabilities(provider_type)
    if not caps.supports(need.type):
        return f"cannot send {need.type.value}{_only(need)}"
    if need.scheduled and not caps.scheduling:
        return "cannot schedule messages (--at)"
    if need.international and not caps.international:
        return "cannot send to international numbers"
    return None


def route(
    need: Need,
    *,
    providers: Mapping[str, str],
    explicit: str | None = None,
    routing: Mapping[MessageType, Sequence[str]] | None = None,
    strategy: str = "first",
    default_provider: str | None = None,
    rotation: int = 0,
    profile_name: str = "",
) -> list[str]:
    """Provider ids able to send `need`, best first. `providers` maps id -> type."""
    if explicit:
        if explicit not in providers:
            raise InvalidInput(
                f"unknown provider '{explicit}' (profile '{profile_name}' has: "
                f"{', '.join(providers) or 'none'})",
                code="UNKNOWN_PROVIDER",
                field="provider",
                value=explicit,
                hint="kmsg providers list",
            )
        reason = _shortfall(providers[explicit], need)
        if reason:
            raise UnsupportedFeature(
                f"provider '{explicit}' {reason}",
                code="UNSUPPORTED_BY_PROVIDER",
                field="provider",
                value=explicit,
                hint="kmsg providers list",
            )
        return [explicit]

    listed = [p for p in (routing or {}).get(need.type, ()) if p in providers]
    able = [p for p in listed if _shortfall(providers[p], need) is None]
    if able:
        if strategy == "round_robin":
            start = rotation % len(able)
            able = able[start:] + able[:start]
        return able

    if (
        default_provider is not None
        and default_provider in providers
        and _shortfall(providers[default_provider], need) is None
    ):
        return [default_provider]

    for provider_id, provider_type in providers.items():
        if _shortfall(provider_type, need) is None:
            return [provider_id]

    raise UnsupportedFeature(
        f"no provider of profile '{profile_name}' can send {need.describe()}{_only(need)}",
        code="NO_PROVIDER",
        field="type",
        value=need.type.value,
        hint="kmsg providers list",
    )
