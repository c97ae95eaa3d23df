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
from kmsg_cli.providers.base import BalanceSource
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
        report.checks.append(_authentication(clients, provider_id))
        report.checks.append(
            Check("sender", "PASS", f"default sender {settings['sender']}")
            if settings.get("sender")
            else Check(
                "sender",
                "WARN",
                "no default sender: every SMS/LMS/MMS needs --from",
                f"set sender in provider '{provider_id}' (a number registered with the vendor)",
            )
        )
        entry = PROVIDERS[config.type]
        if (key := entry.kakao_setting) is not None:
            variable = entry.env_variable(key)
            report.checks.append(
                Check("kakao channel", "PASS", f"{key} is set")
                if settings.get(key)
                else Check(
                    "kakao channel",
                    "WARN",
                    f"no {key}: AlimTalk/FriendTalk unavailable",
                    f'set {key} = "env:{variable}" to send KakaoTalk messages',
                )
            )
    return reports


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
