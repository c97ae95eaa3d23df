"""Provider clients of the active profile, built lazily, one per provider id, and the cache
they share through the database.

Credentials (`env:` references) are resolved when a provider is first used, so a missing
secret of one provider never breaks another. A provider that keeps a token (`UsesCache`,
e.g. Aligo's Kakao API token) gets `StoreCache`: the value lives in the database's
`kmsg_cache` table, so every process using the database shares it. Each resolved secret is
registered for redaction (`kmsg_cli.errors.register_secret`): whatever a vendor echoes back is
masked before it is shown or stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kmsg_cli.config.model import Profile
from kmsg_cli.errors import InvalidInput, StoreError, register_secret
from kmsg_cli.models import epoch_ms
from kmsg_cli.providers import create_provider
from kmsg_cli.providers.base import Cache, Provider, UsesCache
from kmsg_cli.providers.catalog import SECRET_SETTINGS

if TYPE_CHECKING:
    from kmsg_cli.store.contract import Store

log = logging.getLogger("kmsg.clients")


class StoreCache:
    """A `Cache` in the store's `kmsg_cache` table. The store is opened on first use; a store
    that fails is a cache miss (the provider then makes a new token), never an error."""

    def __init__(
        self,
        store: Callable[[], Store],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._clock = clock

    def get(self, key: str) -> str | None:
        try:
            return self._store().cache_get(key, now_ms=epoch_ms(self._clock()))
        except StoreError as error:
            log.warning("cache lookup of %s failed: %s", key, error.message)
            return None

    def put(self, key: str, value: str, *, expires_at: datetime) -> None:
        try:
            self._store().cache_put(key, value, expires_at_ms=epoch_ms(expires_at))
        except StoreError as error:
            log.warning("cache write of %s failed: %s", key, error.message)


class ProviderClients:
    def __init__(
        self, profile: Profile, environ: Mapping[str, str], cache: Cache | None = None
    ) -> None:
        self.profile = profile
        self.environ = environ
        self.cache = cache
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
            if self.cache is not None and isinstance(client, UsesCache):
                client.use_cache(self.cache)
            self._clients[provider_id] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
