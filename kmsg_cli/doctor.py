"""Readiness checks for the providers of a profile (`kmsg providers doctor`).

Each check ends PASS, WARN, FAIL or SKIP with a `next:` hint; a FAIL is a blocker.
Credentials are checked with a cheap authenticated call (the balance) where the provider
has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kmsg_cli.clients import ProviderClients
from kmsg_cli.config.model import Profile
from kmsg_cli.errors import AuthenticationError, KmsgError, ProviderError
from kmsg_cli.normalize.phone import format_phone
from kmsg_cli.providers.base import BalanceSource, KakaoChannelSource, SenderSource
from kmsg_cli.providers.catalog import PROVIDERS, capabilities


@dataclass(frozen=True)
class Check:
    name: str
    result: str  # PASS | WARN | FAIL | SKIP
    message: str
    next: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "result": self.result,
            "message": self.message,
            "next": self.next,
        }


@dataclass
class ProviderReport:
    provider_id: str
    type: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.result != "FAIL" for c in self.checks)


def examine(
    profile: Profile, environ: Mapping[str, str], clients: ProviderClients
) -> list[ProviderReport]:
    reports = []
    for provider_id, config in profile.providers.items():
        report = ProviderReport(provider_id, config.type)
        reports.append(report)
        caps = capabilities(config.type)
        if not caps.available:
            report.checks.append(
                Check(
                    "client",
                    "FAIL",
                    f"no {config.type} client in this version of kmsg",
                    "route its message types to another provider",
                )
            )
            continue
        try:
            settings = config.resolve(environ)
        except KmsgError as error:
            report.checks.append(Check("credentials", "FAIL", error.message, error.hint))
            continue
        report.checks.append(Check("credentials", "PASS", "every setting resolves"))
        if caps.simulated:
            report.checks.append(
                Check("authentication", "SKIP", "simulated provider: nothing is delivered")
            )
            continue
        authentication = _authentication(clients, provider_id)
        report.checks.append(authentication)
        active = _active_senders(clients, provider_id) if authentication.result == "PASS" else None
        report.checks.append(_sender(provider_id, settings.get("sender"), active))
        if PROVIDERS[config.type].kakao_setting is not None:
            checked = authentication.result == "PASS"
            report.checks.append(_kakao(clients, provider_id, config.type, settings, checked))
    return reports


def _kakao(
    clients: ProviderClients,
    provider_id: str,
    provider_type: str,
    settings: Mapping[str, Any],
    authenticated: bool,
) -> Check:
    """The Kakao channel setting, and the channel itself where the provider can look it up."""
    entry = PROVIDERS[provider_type]
    key = entry.kakao_setting
    assert key is not None
    if not settings.get(key):
        return Check(
            "kakao channel",
            "WARN",
            f"no {key}: {_kakao_channels(provider_type)} unavailable",
            f'set {key} = "env:{entry.env_variable(key)}" to send KakaoTalk messages',
        )
    try:
        client = clients.get(provider_id) if authenticated else None
        name = client.kakao_channel() if isinstance(client, KakaoChannelSource) else None
    except KmsgError as error:
        return Check(
            "kakao channel",
            "WARN",
            f"{key} is set, but the vendor did not confirm the channel: {error.message}",
            f"check {key}: the channel id the vendor's console shows (SOLAPI: KA01PF…)",
        )
    return Check("kakao channel", "PASS", f"{key} is set" + (f": channel {name}" if name else ""))


def _active_senders(clients: ProviderClients, provider_id: str) -> list[str] | KmsgError | None:
    """The account's active sender numbers (digits), the error that kept kmsg from listing
    them, or None when the provider cannot list them."""
    try:
        client = clients.get(provider_id)
        if not isinstance(client, SenderSource):
            return None
        return [_digits(number) for number in client.active_senders()]
    except KmsgError as error:
        return error


def _sender(provider_id: str, sender: Any, active: list[str] | KmsgError | None) -> Check:
    """The default sender, checked against the account's active numbers where the provider can
    list them: a number the vendor does not know makes every SMS fail (SOLAPI: 1062)."""
    listed = active if isinstance(active, list) else None
    if not sender:
        hint = f"set sender in provider '{provider_id}' (a number registered with the vendor)"
        if listed:
            hint = f"set sender = \"{listed[0]}\" in provider '{provider_id}' ({_numbers(listed)})"
        return Check("sender", "WARN", "no default sender: every SMS/LMS/MMS needs --from", hint)
    shown = format_phone(_digits(str(sender)))
    if isinstance(active, KmsgError):
        return Check(
            "sender",
            "WARN",
            f"default sender {shown}; the account's sender numbers could not be listed: "
            f"{active.message}",
            "check that the API key may read sender numbers",
        )
    if listed is None:
        return Check("sender", "PASS", f"default sender {shown}")
    if _digits(str(sender)) in listed:
        return Check("sender", "PASS", f"default sender {shown} is an active number of the account")
    return Check(
        "sender",
        "FAIL",
        f"default sender {shown} is not an active sender number of this account "
        f"({_numbers(listed)}); every SMS/LMS/MMS from it would be refused",
        "register it with the vendor, or set sender to one of the account's active numbers",
    )


def _digits(number: str) -> str:
    return "".join(char for char in number if char.isdigit())


def _numbers(listed: list[str]) -> str:
    """`active: 02-1234-5678, 010-0000-0000`, or that there are none."""
    if not listed:
        return "the account has no active sender number"
    shown = ", ".join(format_phone(number) for number in listed[:5])
    more = f" and {len(listed) - 5:,} more" if len(listed) > 5 else ""
    return f"active: {shown}{more}"


_KAKAO_CHANNELS = {"ALIMTALK": "AlimTalk", "FRIENDTALK": "FriendTalk", "BMS": "Brand Message"}


def _kakao_channels(provider_type: str) -> str:
    """The KakaoTalk channels this provider type sends, as people name them."""
    families = {kind.channel for kind in capabilities(provider_type).types}
    names = [name for family, name in _KAKAO_CHANNELS.items() if family in families]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _authentication(clients: ProviderClients, provider_id: str) -> Check:
    try:
        client = clients.get(provider_id)
        if not isinstance(client, BalanceSource):
            return Check("authentication", "SKIP", "the provider has no cheap authenticated call")
        balance = client.balance()
    except AuthenticationError as error:
        return Check("authentication", "FAIL", error.message, error.hint)
    except ProviderError as error:
        return Check(
            "authentication",
            "FAIL",
            error.message,
            error.hint or "check the network and the provider's base_url",
        )
    except KmsgError as error:
        return Check("authentication", "FAIL", error.message, error.hint)
    return Check(
        "authentication", "PASS", f"keys accepted; balance {balance.amount:,.0f} {balance.currency}"
    )
