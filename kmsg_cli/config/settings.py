"""Resolving one provider table: `env:` references, defaults, types, bounds, credentials, URLs.

Which settings a provider type takes, with their defaults and bounds, comes from the provider
registry (`kmsg_cli.providers.catalog`); this module only applies it. The rules are described in
docs/configuration.md ("Provider settings" and "env: references").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from kmsg_cli.config.keys import (
    Report,
    config_error,
    env_reference,
    invalid_setting,
    is_secret_key,
    join_key,
    mask_url,
    show_value,
    unknown_hint,
)
from kmsg_cli.config.model import Problem, ProviderConfig
from kmsg_cli.errors import ConfigError, KmsgError
from kmsg_cli.providers.catalog import PROVIDERS, UNSET_ENV, Setting

_BAD_REFERENCE_HINT = "write env:NAME; NAME is letters, digits and _, not starting with a digit"


def resolve_settings(
    config: ProviderConfig,
    environ: Mapping[str, str],
    report: Report,
    warn: Callable[[Problem], None] | None = None,
) -> dict[str, Any] | None:
    """Every setting of `config`'s type, resolved; None after reporting any problem.

    An optional setting whose variable is unset stays unset (`warn` hears of it): an SMS-only
    user need not export the Kakao key. `UNSET_ENV` maps such settings to their variable, so
    that a message which needs one can say which variable to export.
    """
    entry = PROVIDERS[config.type]
    spec = entry.settings
    errors: list[ConfigError] = []
    unset: dict[str, str] = dict(config.unset_env)
    out: dict[str, Any] = {"id": config.id, "type": config.type, UNSET_ENV: unset}
    out.update((key, setting.default) for key, setting in spec.items())
    for key, value in config.values.items():
        if key == "type":
            continue
        path = join_key(config.key_path, key)
        if key not in spec:
            message = f"unknown setting {path} for {config.type} providers"
            hint = unknown_hint(key, ("type", *spec))
            errors.append(config_error("UNKNOWN_SETTING", path, message, None, hint))
            continue
        try:
            raw, variable = _read_env(config, key, value, environ)
            out[key] = coerce_setting(path, key, spec[key], raw, variable)
        except ConfigError as exc:
            if exc.code == "MISSING_ENV" and key not in entry.required:
                unset[key] = env_reference(value) or ""
                if warn is not None:
                    warn(Problem("warning", exc.field or key, "UNSET_ENV", exc.message, exc.hint))
                continue
            errors.append(exc)
    # A key that is present but bad was reported above; only absent keys are "missing".
    errors.extend(_missing(config, {key for key in config.values if key != "type"} - set(unset)))
    if not errors:
        errors.extend(_insecure_urls(config, spec, out))
    for problem in errors:
        report(problem)
    return None if errors else out


def _read_env(
    config: ProviderConfig, key: str, value: Any, environ: Mapping[str, str]
) -> tuple[Any, str | None]:
    path = join_key(config.key_path, key)
    variable = env_reference(value)
    if variable is None:
        if isinstance(value, str) and value.startswith("env:"):
            raise bad_reference(path, key, value)
        return value, None
    env_value = environ.get(variable)
    if env_value is None or not env_value.strip():
        state = "is not set" if env_value is None else "is empty"
        message = f"environment variable {variable} {state} (needed by {path})"
        # Environment-only mode has no file to edit.
        edit = " or edit the config file" if config.key_path.startswith("profiles.") else ""
        hint = f"export {variable}=...{edit}"
        raise config_error("MISSING_ENV", path, message, f"env:{variable}", hint)
    # `$(cat file)` and .env files easily add stray whitespace; no key or number has any.
    return env_value.strip(), variable


def bad_reference(path: str, key: str, raw: str) -> ConfigError:
    """INVALID_SETTING for an `env:` value whose NAME is not a variable name."""
    problem = "is not a valid env: reference"
    return invalid_setting(path, raw, problem, _BAD_REFERENCE_HINT, secret=is_secret_key(key))


def coerce_setting(path: str, key: str, setting: Setting, value: Any, variable: str | None) -> Any:
    """`value` checked and converted to the setting's kind; INVALID_SETTING naming `path`."""

    def invalid(problem: str) -> ConfigError:
        secret = is_secret_key(key)
        return invalid_setting(path, value, problem, secret=secret, origin=variable)

    kind = setting.kind
    if kind in ("str", "url", "phone"):
        if not isinstance(value, str):
            raise invalid("must be a string (put it in quotes)")
        if not value.strip():
            raise invalid("must not be empty")
        if kind == "phone":
            return _phone(path, value)
        return _check_url(value, invalid) if kind == "url" else value
    if kind == "bool":
        return _to_bool(value, invalid)
    if kind == "suffixes":
        return _to_suffixes(value, invalid)
    number = _to_number(value, kind, invalid)
    low, high = setting.minimum, setting.maximum
    if kind == "float" and low is not None and number <= low:
        raise invalid(f"must be greater than {low:g}")
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"from {low:g} to {high:g}" if high is not None else f"of at least {low:g}"
        raise invalid(
            f"must be a number {bounds}" if kind == "float" else f"must be an integer {bounds}"
        )
    return number


def _phone(path: str, value: str) -> str:
    """A sender number in national digits; INVALID_PHONE naming the key path otherwise."""
    from kmsg_cli.normalize import normalize_sender

    try:
        return normalize_sender(value, field=path)
    except KmsgError as exc:
        message = f"{path}: {exc.message}"
        raise config_error("INVALID_PHONE", path, message, value, exc.hint) from None


def _missing(config: ProviderConfig, present: set[str]) -> Iterator[ConfigError]:
    entry = PROVIDERS[config.type]
    for key in entry.required:
        if key not in present:
            path = join_key(config.key_path, key)
            message = f"{path} is required for {config.type} providers"
            hint = f'add {key} = "env:{entry.env_variable(key)}" to [{config.key_path}]'
            yield config_error("MISSING_SETTING", path, message, None, hint)
    if not entry.any_of:
        return
    complete = False
    for group in entry.any_of:
        given = [key for key in group.keys if key in present]
        complete = complete or len(given) == len(group.keys)
        if given and len(given) < len(group.keys):
            for other in (key for key in group.keys if key not in given):
                path = join_key(config.key_path, other)
                needs = " + ".join(group.keys)
                message = (
                    f"{path} is required when {given[0]} is set "
                    f"({config.type} {group.label} needs {needs})"
                )
                hint = f"set {' and '.join(group.keys)} together, or none of them"
                yield config_error("MISSING_SETTING", path, message, None, hint)
            return
    if not complete:
        options = " and/or ".join(f"{' + '.join(g.keys)} ({g.label})" for g in entry.any_of)
        settings = " and/or ".join(" + ".join(g.keys) for g in entry.any_of)
        variables = " and/or ".join(
            " + ".join(entry.env_variable(key) for key in g.keys) for g in entry.any_of
        )
        message = f"{config.key_path} has no credentials: {config.type} needs {options}"
        hint = f"set {settings} (environment-only mode: {variables})"
        path = join_key(config.key_path, entry.any_of[0].keys[0])
        yield config_error("MISSING_SETTING", path, message, None, hint)


def _insecure_urls(
    config: ProviderConfig, spec: Mapping[str, Setting], out: Mapping[str, Any]
) -> Iterator[ConfigError]:
    if out["allow_insecure"]:
        return
    for key, setting in spec.items():
        url = out[key]
        if setting.kind != "url" or url is None:
            continue
        parts = urlsplit(url)
        if parts.scheme == "https" or _is_loopback(parts.hostname or ""):
            continue
        path = join_key(config.key_path, key)
        shown = mask_url(url)
        message = f"{path} = {show_value(shown)} is refused: not HTTPS and not loopback"
        hint = f"use https://, or set allow_insecure = true in [{config.key_path}]"
        yield config_error("INSECURE_URL", path, message, shown, hint)


def _check_url(value: str, invalid: Callable[[str], ConfigError]) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise invalid("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("must be an http:// or https:// URL with a host")
    # Providers append API paths to the base URL; a trailing slash would double the "/".
    return text.rstrip("/")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _to_bool(value: Any, invalid: Callable[[str], ConfigError]) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower() if isinstance(value, str) else None
    if lowered in ("true", "1", "false", "0"):
        return lowered in ("true", "1")
    raise invalid("must be true or false")


def _to_number(value: Any, kind: str, invalid: Callable[[str], ConfigError]) -> Any:
    # bool is an int subclass: `batch_size = true` is a mistake, not 1.
    if isinstance(value, bool):
        raise invalid("must be a number")
    if kind == "int":
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            try:
                return int(value)
            except ValueError:  # longer than Python's integer-string limit
                raise invalid("must be an integer of sensible size") from None
        raise invalid("must be an integer")
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except (ValueError, OverflowError):
        number = None
    if number is None or number != number or number in (float("inf"), float("-inf")):
        raise invalid("must be a number")
    return number


def _to_suffixes(value: Any, invalid: Callable[[str], ConfigError]) -> tuple[str, ...]:
    # From the environment a list arrives as "0000,1234".
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise invalid('must be a list of digit strings, e.g. ["0000"]')
    suffixes = tuple(item.strip() for item in items if isinstance(item, str))
    if len(suffixes) != len(items) or not all(s.isascii() and s.isdigit() for s in suffixes):
        raise invalid('must be a list of digit strings, e.g. ["0000"]')
    return suffixes
