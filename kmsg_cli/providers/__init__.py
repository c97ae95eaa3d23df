"""Provider clients, created by type name; client modules are imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from kmsg_cli.errors import UnsupportedFeature
from kmsg_cli.providers.base import Provider
from kmsg_cli.providers.catalog import PROVIDERS, capabilities


def create_provider(provider_id: str, settings: Mapping[str, Any]) -> Provider:
    """Build the client for one configured provider from its resolved settings."""
    provider_type = str(settings.get("type", provider_id))
    entry = PROVIDERS.get(provider_type)
    if entry is None or entry.factory is None:
        known = capabilities(provider_type).summary or provider_type
        raise UnsupportedFeature(
            f"provider '{provider_id}' ({known}) has no client in this version of kmsg",
            code="PROVIDER_NOT_AVAILABLE",
            field="provider",
            value=provider_id,
            hint="use the mock provider (profile 'sandbox') or upgrade kmsg",
        )
    module_name, _, attr = entry.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    provider: Provider = factory(provider_id, settings)
    return provider
