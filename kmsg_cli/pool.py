"""Provider clients of the active profile, built lazily, one per provider id.

Credentials (`env:` references) are resolved when a provider is first used, so a missing
secret of one provider never breaks another.
"""

from __future__ import annotations

from collections.abc import Mapping

from kmsg_cli.config.model import Profile
from kmsg_cli.errors import InvalidInput
from kmsg_cli.providers import create_provider
from kmsg_cli.providers.base import Provider


class ProviderPool:
    def __init__(self, profile: Profile, environ: Mapping[str, str]) -> None:
        self.profile = profile
        self.environ = environ
        self._clients: dict[str, Provider] = {}

    def get(self, provider_id: str) -> Provider:
        client = self._clients.get(provider_id)
        if client is None:
            config = self.profile.providers.get(provider_id)
            if config is None:
                raise InvalidInput(
                    f"unknown provider '{provider_id}' in profile '{self.profile.name}'",
                    code="UNKNOWN_PROVIDER",
                    field="provider",
                    value=provider_id,
                    hint="kmsg providers list",
                )
            client = create_provider(provider_id, config.resolve(self.environ))
            self._clients[provider_id] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
