"""Provider clients of the active profile, built lazily, one per provider id.

Credentials (`env:` references) are resolved when a provider is first used, so a missing
secret of one provider never breaks another. Each resolved secret is registered for redaction
(`kmsg_cli.errors.register_secret`): whatever a vendor echoes back is masked before it is shown
or stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from kmsg_cli.config.model import Profile
from kmsg_cli.errors import InvalidInput, register_secret
from kmsg_cli.providers import create_provider
from kmsg_cli.providers.base import Provider
from kmsg_cli.providers.catalog import SECRET_SETTINGS


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
            settings = config.resolve(self.environ)
            for key, value in settings.items():
                if key in SECRET_SETTINGS and isinstance(value, str):
                    register_secret(value)  # a vendor's echo of it is masked everywhere
            client = create_provider(provider_id, settings)
            self._clients[provider_id] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
