"""Choose the provider for a message (docs/routing.md). Pure: no I/O, no provider code.

Order: explicit `--provider` > `routing[TYPE]` (skipping providers that cannot send the
message) > `default_provider` (if it can) > the first configured provider that can >
`NO_PROVIDER`. The result is an ordered list: the first entry is used, the others are the
failover order of the routing list.

A scheduled message must also fall inside the chosen vendor's reservation window (the
registry's `Capabilities.window`, e.g. IWINV SMS 15 minutes to 1 month ahead): a provider
whose window refuses the time is passed over like one that cannot send the type, and when no
provider is left the message is bad input (exit 2) with the allowed range in Korea time.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from kmsg_cli.errors import InvalidInput, UnsupportedFeature
from kmsg_cli.models import MessageType
from kmsg_cli.providers.catalog import capabilities, senders_of


class Need(NamedTuple):
    """What a message asks of a provider. `at`: the scheduled time, for window checks."""

    type: MessageType
    scheduled: bool = False
    international: bool = False
    at: datetime | None = None

    def describe(self) -> str:
        words = [self.type.value]
        if self.scheduled:
            words.append("scheduled")
        if self.international:
            words.append("to an international number")
        return " ".join(words)


class Choice(NamedTuple):
    """Providers able to send, best first, and those of the routing list passed over
    because their reservation window refuses the time: (provider id, why)."""

    candidates: list[str]
    passed_over: tuple[tuple[str, str], ...] = ()


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
        reason = f"cannot send {need.type.value}"
        replacement = caps.replaced_by(need.type)
        if replacement:
            return f"{reason} (the vendor offers none; use {replacement})"
        return reason + _only(need)
    if need.scheduled and not caps.scheduling:
        return "cannot schedule messages (--at)"
    if need.international and not caps.international:
        return "cannot send to international numbers"
    return None


def _outside_window(
    provider_id: str, provider_type: str, need: Need, now: datetime | None
) -> InvalidInput | None:
    if need.at is None or now is None:
        return None
    window = capabilities(provider_type).window(need.type)
    return window.refusal(provider_id, need.at, now) if window is not None else None


def choose(
    need: Need,
    *,
    providers: Mapping[str, str],
    explicit: str | None = None,
    routing: Mapping[MessageType, Sequence[str]] | None = None,
    strategy: str = "first",
    default_provider: str | None = None,
    rotation: int = 0,
    profile_name: str = "",
    now: datetime | None = None,
) -> Choice:
    """Providers able to send `need`, best first (see the module docstring). `providers`
    maps id -> type; `now` enables the reservation-window checks of a scheduled need."""
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
        outside = _outside_window(explicit, providers[explicit], need, now)
        if outside:
            raise outside
        return Choice([explicit])

    passed: dict[str, InvalidInput] = {}

    def fits(provider_id: str) -> bool:
        if _shortfall(providers[provider_id], need) is not None:
            return False
        outside = _outside_window(provider_id, providers[provider_id], need, now)
        if outside:
            passed.setdefault(provider_id, outside)
            return False
        return True

    def notes() -> tuple[tuple[str, str], ...]:
        return tuple((provider_id, error.message) for provider_id, error in passed.items())

    listed = [p for p in (routing or {}).get(need.type, ()) if p in providers]
    able = [p for p in listed if fits(p)]
    if able:
        if strategy == "round_robin":
            start = rotation % len(able)
            able = able[start:] + able[:start]
        return Choice(able, notes())

    if default_provider is not None and default_provider in providers and fits(default_provider):
        return Choice([default_provider], notes())

    for provider_id in providers:
        if fits(provider_id):
            return Choice([provider_id], notes())

    if passed:
        raise next(iter(passed.values()))
    replacements = {capabilities(kind).replaced_by(need.type) for kind in providers.values()}
    instead = sorted(r for r in replacements if r)
    raise UnsupportedFeature(
        f"no provider of profile '{profile_name}' can send {need.describe()}"
        + (f"; use {' or '.join(instead)}" if instead else _only(need)),
        code="NO_PROVIDER",
        field="type",
        value=need.type.value,
        hint="kmsg providers list",
    )


def route(need: Need, **options: Any) -> list[str]:
    """The candidates of `choose` (same arguments), best first."""
    return choose(need, **options).candidates
