"""`kmsg config validate` and the warnings of every run: all problems of a file at once,
plaintext secrets, and a secret-holding file that others can read (docs/configuration.md,
"Checking a file" and "Secrets")."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from typing import Any

from kmsg_cli.config.keys import config_error, is_plaintext_secret, join_key, unknown_hint
from kmsg_cli.config.loading import LoadedConfig, check_top_level
from kmsg_cli.config.model import SANDBOX, Problem, Profile
from kmsg_cli.config.parsing import parse_profile
from kmsg_cli.config.profiles import ambiguous_providers
from kmsg_cli.config.settings import resolve_settings
from kmsg_cli.errors import ConfigError


def validate_config(config: LoadedConfig, environ: Mapping[str, str]) -> list[Problem]:
    """Check every profile and resolve every provider; return all problems, errors first."""
    errors: list[ConfigError] = []
    warnings: list[Problem] = []
    try:
        check_top_level(config.data)
    except ConfigError as exc:
        return [Problem("error", exc.field or "", exc.code, exc.message, exc.hint)]
    names = config.profile_names()
    default = config.default_profile
    if default is not None and default not in names and default != SANDBOX:
        message = f"default_profile = {default!r} names a profile that is not defined"
        hint = unknown_hint(default, [*names, SANDBOX])
        errors.append(config_error("UNKNOWN_PROFILE", "default_profile", message, default, hint))
    reported: set[frozenset[str]] = set()
    for name in names:
        profile, providers = parse_profile(name, config.data["profiles"][name], errors.append)
        if profile is not None and not providers:
            message = f"profile '{name}' defines no providers, so it cannot send anything"
            key_path = join_key(join_key("profiles", name), "providers")
            warnings.append(Problem("warning", key_path, "NO_PROVIDERS", message))
        for provider in providers.values():
            resolve_settings(provider, environ, errors.append, warnings.append)
        if profile is not None:
            for provider_id, other in ambiguous_providers(config, profile):
                pair = frozenset({f"{name}.{provider_id}", f"{other}.{provider_id}"})
                if pair not in reported:
                    reported.add(pair)
                    errors.append(_ambiguous(name, other, provider_id))
    for key_path in plaintext_secret_paths(config.data):
        message = f'{key_path} holds a plaintext secret; prefer an env: reference ("env:NAME")'
        warnings.append(Problem("warning", key_path, "PLAINTEXT_SECRET", message))
    if (permissions := insecure_permissions_warning(config)) is not None:
        warnings.append(Problem("warning", str(config.path), "INSECURE_PERMISSIONS", permissions))
    found = [Problem("error", exc.field or "", exc.code, exc.message, exc.hint) for exc in errors]
    return found + warnings


def validate_env_profile(profile: Profile, environ: Mapping[str, str]) -> list[Problem]:
    """The problems of environment-only mode's profile (`KMSG_PROVIDER`): its provider's
    settings resolved from the environment, as a send would resolve them (docs/configuration.md,
    "Environment-only mode"); errors first."""
    errors: list[ConfigError] = []
    warnings: list[Problem] = []
    for provider in profile.providers.values():
        resolve_settings(provider, environ, errors.append, warnings.append)
    found = [Problem("error", exc.field or "", exc.code, exc.message, exc.hint) for exc in errors]
    return found + warnings


def _ambiguous(name: str, other: str, provider_id: str) -> ConfigError:
    """Two profiles on one database with a provider of one id, set differently."""
    message = (
        f"profiles '{name}' and '{other}' both have a provider '{provider_id}', set "
        "differently, and use the same database: kmsg cannot tell their jobs and messages "
        "apart (queue workers, tracking passes and cancels by time refuse to run)"
    )
    hint = 'rename one of the two tables, or give one profile its own db = "..."'
    key_path = join_key(join_key(join_key("profiles", name), "providers"), provider_id)
    return config_error("AMBIGUOUS_PROVIDER", key_path, message, provider_id, hint)


def _walk(data: Mapping[str, Any], base: str = "") -> Iterator[tuple[str, str, Any]]:
    """(key path, key, value) for every non-table value, depth first."""
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _walk(value, join_key(base, key))
        else:
            yield join_key(base, key), key, value


def plaintext_secret_paths(data: Mapping[str, Any]) -> list[str]:
    """Key paths that hold a secret in plain text (not `env:`), including db URL passwords."""
    return [path for path, key, value in _walk(data) if is_plaintext_secret(key, value)]


def insecure_permissions_warning(config: LoadedConfig) -> str | None:
    """One line when a file holding plaintext secrets is readable by group or others."""
    # POSIX mode bits say nothing about access on Windows.
    if not config.exists or os.name == "nt" or not plaintext_secret_paths(config.data):
        return None
    try:
        mode = stat.S_IMODE(config.path.stat().st_mode)
    except OSError:
        return None
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    return (
        f"config file {config.path} holds plaintext secrets and is readable by group/others "
        f"(mode {mode:04o}); run: chmod 600 {config.path}"
    )
