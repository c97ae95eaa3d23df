"""Configuration: the TOML file, profiles, provider settings and environment-only mode.

Flow: `resolve_config_path` (paths) -> `load_config` (loading: parse, top-level shape) ->
`select_profile` (profiles, parsing: one profile's structure; no secret is read) ->
`ProviderConfig.resolve` (settings: one provider, when it is used: `env:NAME` references,
defaults, types, URL safety). Resolution is lazy so that one missing secret breaks only the
provider that needs it. `config validate` is in checks; what is written to files in writing.
Which settings each provider type takes comes from the provider registry,
`kmsg_cli.providers.catalog`. The user's view of all this is docs/configuration.md.

Nothing here prints. Every problem is a `ConfigError` with a one-line message naming the key path
and the value; values of secret keys are never shown.

The names below are imported from their modules on first use, so that importing this package
(every CLI start) loads neither a TOML library nor platformdirs. Services import the types they
need from `kmsg_cli.config.model`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, tuple[str, ...]] = {
    "kmsg_cli.config.model": (
        "BUILTIN_SANDBOX",
        "DEFAULT_AUTO_LMS_BYTES",
        "DEFAULT_TIMEZONE",
        "SANDBOX",
        "STRATEGIES",
        "Problem",
        "Profile",
        "ProviderConfig",
        "TrackingSettings",
    ),
    "kmsg_cli.config.keys": ("HIDDEN", "MASK", "env_reference", "is_env_name", "is_secret_key"),
    "kmsg_cli.config.paths": ("default_config_path", "default_db_path", "resolve_config_path"),
    "kmsg_cli.config.loading": ("LoadedConfig", "load_config"),
    "kmsg_cli.config.profiles": (
        "COMMON_ENV_VARIABLES",
        "ambiguous_providers",
        "env_profile",
        "profile_chosen_by",
        "profiles_with",
        "select_profile",
    ),
    "kmsg_cli.config.checks": (
        "insecure_permissions_warning",
        "plaintext_secret_paths",
        "validate_config",
        "validate_env_profile",
    ),
    "kmsg_cli.config.writing": (
        "config_exists_error",
        "dump_toml",
        "masked_data",
        "new_config_text",
        "provider_key_path",
        "provider_setting_value",
        "provider_table_text",
        "starter_config_text",
        "write_config_file",
        "write_starter_config",
    ),
    "kmsg_cli.providers.catalog": (
        "ENV_VARIABLES",
        "PROVIDER_TYPES",
        "REQUIRED_ENV_VARIABLES",
        "REQUIRED_SETTINGS",
        "SETTINGS",
        "Setting",
    ),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:
    from kmsg_cli.config.checks import (
        insecure_permissions_warning,
        plaintext_secret_paths,
        validate_config,
        validate_env_profile,
    )
    from kmsg_cli.config.keys import HIDDEN, MASK, env_reference, is_env_name, is_secret_key
    from kmsg_cli.config.loading import LoadedConfig, load_config
    from kmsg_cli.config.model import (
        BUILTIN_SANDBOX,
        DEFAULT_AUTO_LMS_BYTES,
        DEFAULT_TIMEZONE,
        SANDBOX,
        STRATEGIES,
        Problem,
        Profile,
        ProviderConfig,
        TrackingSettings,
    )
    from kmsg_cli.config.paths import default_config_path, default_db_path, resolve_config_path
    from kmsg_cli.config.profiles import (
        COMMON_ENV_VARIABLES,
        ambiguous_providers,
        env_profile,
        profile_chosen_by,
        profiles_with,
        select_profile,
    )
    from kmsg_cli.config.writing import (
        config_exists_error,
        dump_toml,
        masked_data,
        new_config_text,
        provider_key_path,
        provider_setting_value,
        provider_table_text,
        starter_config_text,
        write_config_file,
        write_starter_config,
    )
    from kmsg_cli.providers.catalog import (
        ENV_VARIABLES,
        PROVIDER_TYPES,
        REQUIRED_ENV_VARIABLES,
        REQUIRED_SETTINGS,
        SETTINGS,
        Setting,
    )
else:

    def __getattr__(name: str) -> Any:
        module = _HOME.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later look-ups skip this function
        return value


__all__ = [
    "BUILTIN_SANDBOX",
    "COMMON_ENV_VARIABLES",
    "DEFAULT_AUTO_LMS_BYTES",
    "DEFAULT_TIMEZONE",
    "ENV_VARIABLES",
    "HIDDEN",
    "MASK",
    "PROVIDER_TYPES",
    "REQUIRED_ENV_VARIABLES",
    "REQUIRED_SETTINGS",
    "SANDBOX",
    "SETTINGS",
    "STRATEGIES",
    "LoadedConfig",
    "Problem",
    "Profile",
    "ProviderConfig",
    "Setting",
    "TrackingSettings",
    "ambiguous_providers",
    "config_exists_error",
    "default_config_path",
    "default_db_path",
    "dump_toml",
    "env_profile",
    "env_reference",
    "insecure_permissions_warning",
    "is_env_name",
    "is_secret_key",
    "load_config",
    "masked_data",
    "new_config_text",
    "plaintext_secret_paths",
    "profile_chosen_by",
    "profiles_with",
    "provider_key_path",
    "provider_setting_value",
    "provider_table_text",
    "resolve_config_path",
    "select_profile",
    "starter_config_text",
    "validate_config",
    "validate_env_profile",
    "write_config_file",
    "write_starter_config",
]
