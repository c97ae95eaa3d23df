"""Choosing the profile of a run, and building the profile of environment-only mode.

Precedence: `--profile` > `KMSG_PROFILE` > environment-only mode (`KMSG_PROVIDER`) >
`default_profile` > the built-in sandbox. Described in docs/configuration.md ("Which profile"
and "Environment-only mode").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from kmsg_cli.config.keys import config_error, raise_first, show_value, unknown_hint
from kmsg_cli.config.loading import LoadedConfig, check_top_level
from kmsg_cli.config.model import (
    BUILTIN_SANDBOX,
    DEFAULT_AUTO_LMS_BYTES,
    DEFAULT_TIMEZONE,
    SANDBOX,
    Profile,
    ProviderConfig,
)
from kmsg_cli.config.parsing import check_timezone, parse_profile
from kmsg_cli.config.paths import database_key, default_db_path
from kmsg_cli.errors import KmsgError
from kmsg_cli.providers.catalog import PROVIDER_TYPES, PROVIDERS, capabilities

COMMON_ENV_VARIABLES = ("KMSG_PROVIDER", "KMSG_SENDER", "KMSG_TIMEZONE")
"""Variables of environment-only mode shared by every provider type."""


def select_profile(
    config: LoadedConfig, *, flag: str | None, environ: Mapping[str, str]
) -> Profile:
    """`--profile` > `KMSG_PROFILE` > `KMSG_PROVIDER` (env-only) > `default_profile` > sandbox.

    A profile without its own `format` takes the file's top-level one.
    """
    if flag is not None and flag.strip():
        profile = _named_profile(config, flag.strip(), "--profile")
    elif from_env := environ.get("KMSG_PROFILE", "").strip():
        profile = _named_profile(config, from_env, "KMSG_PROFILE")
    elif environ.get("KMSG_PROVIDER", "").strip():
        profile = env_profile(environ)
    elif config.default_profile is not None:
        profile = _named_profile(config, config.default_profile, "default_profile")
    else:
        profile = _named_profile(config, SANDBOX, "builtin")
    file_format = config.data.get("format")
    if profile.output_format is None and isinstance(file_format, str):
        profile = replace(profile, output_format=file_format.lower())
    return profile


def profile_chosen_by(config: LoadedConfig, *, flag: str | None, environ: Mapping[str, str]) -> str:
    """What `select_profile` goes by: `--profile`, `KMSG_PROFILE`, `KMSG_PROVIDER` (env-only),
    `default_profile` (the file's) or `default` (the built-in sandbox)."""
    if flag is not None and flag.strip():
        return "--profile"
    if environ.get("KMSG_PROFILE", "").strip():
        return "KMSG_PROFILE"
    if environ.get("KMSG_PROVIDER", "").strip():
        return "KMSG_PROVIDER"
    return "default_profile" if config.default_profile is not None else "default"


def _named_profile(config: LoadedConfig, name: str, chosen_by: str) -> Profile:
    profiles = config.data.get("profiles", {})
    if isinstance(profiles, Mapping) and name in profiles:
        check_top_level(config.data)  # done by load_config; repeated for hand-built configs
        profile, _ = parse_profile(name, profiles[name], raise_first)
        assert profile is not None  # raise_first raised on the first problem
        return profile
    if name == SANDBOX:
        return BUILTIN_SANDBOX
    names = config.profile_names()
    available = names if SANDBOX in names else [*names, SANDBOX]
    hint = unknown_hint(name, available, "available profiles")
    if config.exists:
        where = f"in {config.path}"
    else:
        where = f"(there is no config file at {config.path})"
        hint += "; create one with: kmsg config init"
    message = f"profile '{name}' (from {chosen_by}) is not defined {where}"
    raise config_error("UNKNOWN_PROFILE", chosen_by, message, name, hint)


def env_profile(environ: Mapping[str, str]) -> Profile:
    """The profile of environment-only mode (`KMSG_PROVIDER=<type>`); secrets stay `env:` refs.

    The provider type's variables come from the registry (`ProviderType.env_settings`).
    """
    kind = environ.get("KMSG_PROVIDER", "").strip()
    if kind not in PROVIDER_TYPES:
        message = f"KMSG_PROVIDER = {show_value(kind)} is not a provider type"
        hint = unknown_hint(kind, PROVIDER_TYPES)
        raise config_error("UNKNOWN_PROVIDER_TYPE", "KMSG_PROVIDER", message, kind, hint)

    def is_set(variable: str) -> bool:
        return bool(environ.get(variable, "").strip())

    # References rather than copies, so that a resolution error names the variable to export.
    values: dict[str, Any] = {"type": kind}
    unset: dict[str, str] = {}
    for key, variable, required in PROVIDERS[kind].env_settings():
        if required or is_set(variable):
            values[key] = f"env:{variable}"
        else:
            unset[key] = variable
    if is_set("KMSG_SENDER"):
        values["sender"] = "env:KMSG_SENDER"
    timezone = environ.get("KMSG_TIMEZONE", "").strip() or DEFAULT_TIMEZONE
    if (tz_error := check_timezone(timezone, "KMSG_TIMEZONE")) is not None:
        raise tz_error
    provider = ProviderConfig(
        kind, kind, MappingProxyType(values), f"env.providers.{kind}", MappingProxyType(unset)
    )
    return Profile(
        name="env",
        source="environment",
        db=None,
        timezone=timezone,
        auto_lms_bytes=DEFAULT_AUTO_LMS_BYTES,
        default_provider=kind,
        routing=MappingProxyType({}),
        strategy="first",
        providers=MappingProxyType({kind: provider}),
    )


def _account(provider: ProviderConfig) -> tuple[str, dict[str, Any]]:
    """What makes a provider table one account and sender: its settings as written, defaults
    filled in, less the tuning ones (an unknown key counts as written)."""
    entry = PROVIDERS.get(provider.type)
    settings = entry.settings if entry else {}
    values = {k: v for k, v in provider.values.items() if k != "type"}
    values.update((k, s.default) for k, s in settings.items() if k not in values)
    return provider.type, {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in values.items()
        if not (k in settings and settings[k].tuning)
    }


def _simulated(*providers: ProviderConfig) -> bool:
    return all(capabilities(p.type).simulated for p in providers)


def ambiguous_providers(
    config: LoadedConfig, active: Profile, database: str | None = None
) -> list[tuple[str, str]]:
    """(provider id, profile) for each other profile that has a provider of the same id as
    `active`, set to another account, sender or channel (two mocks excepted), on the same
    database: jobs and tracking rows name their provider by id alone, so a worker of either
    profile would take the other's and send or look them up with its own settings
    (docs/storage.md, "Claims").
    `database` (--db, KMSG_DB) is every profile's database when given; otherwise each has its
    `db` or the default file. A profile that does not parse is left out."""
    if active.source != "file" and active.source != "builtin":
        return []  # environment-only mode has no file to set apart
    default = str(default_db_path())

    def shares_database(other: Profile) -> bool:
        return database is not None or database_key(other.db or default) == database_key(
            active.db or default
        )

    names = config.profile_names()
    found: list[tuple[str, str]] = []
    for name in names if SANDBOX in names else [*names, SANDBOX]:
        if name == active.name:
            continue
        try:
            other = _named_profile(config, name, "profile")
        except KmsgError:
            continue
        clashes = [
            provider_id
            for provider_id, provider in active.providers.items()
            if provider_id in other.providers
            and _account(other.providers[provider_id]) != _account(provider)
            # two mocks deliver nothing, whoever runs them; a mock and a real provider under
            # one id would "send" real jobs into the mock, or mock jobs for real
            and not _simulated(provider, other.providers[provider_id])
        ]
        if clashes and shares_database(other):
            found.extend((provider_id, name) for provider_id in clashes)
    return found


def profiles_with(config: LoadedConfig, provider_id: str) -> list[str]:
    """The profiles (of the file, and the built-in sandbox unless the file redefines it) that
    have a provider of this id: where a job or a message of another profile belongs. A profile
    that does not parse is left out (this only names where to look)."""
    names = config.profile_names()
    found = []
    for name in names if SANDBOX in names else [*names, SANDBOX]:
        try:
            profile = _named_profile(config, name, "profile")
        except KmsgError:
            continue
        if provider_id in profile.providers:
            found.append(name)
    return found
