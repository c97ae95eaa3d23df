"""Checking one `[profiles.NAME]` table: its keys, providers, routing and tracking settings.

Every problem is reported through a `report` callback, so that a normal run can stop at the
first one and `config validate` can collect them all. Provider settings are not resolved here
(no secret is read): that happens when a provider is used. See docs/configuration.md, "Profiles".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from kmsg_cli.config.keys import (
    Report,
    check_output_format,
    closest,
    config_error,
    invalid_setting,
    join_key,
    show_value,
    unknown_hint,
)
from kmsg_cli.config.model import (
    DEFAULT_AUTO_LMS_BYTES,
    DEFAULT_DUPLICATE_WINDOW_MS,
    DEFAULT_TIMEZONE,
    MAX_TRACKING_CONCURRENCY,
    STRATEGIES,
    Profile,
    ProviderConfig,
    TrackingSettings,
)
from kmsg_cli.errors import ConfigError, KmsgError
from kmsg_cli.models import MessageType
from kmsg_cli.providers.catalog import PROVIDER_TYPES
from kmsg_cli.when import parse_duration

PROFILE_KEYS = (
    "db",
    "timezone",
    "format",
    "auto_lms_bytes",
    "default_provider",
    "routing",
    "providers",
    "tracking",
    "duplicate_window",
)
TRACKING_KEYS = ("backoff", "max_duration", "non_kakao_codes", "non_rcs_codes", "concurrency")


def check_timezone(name: Any, key_path: str) -> ConfigError | None:
    """INVALID_SETTING unless `name` is an IANA time zone known to this machine."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    if not isinstance(name, str) or not name.strip():
        return invalid_setting(
            key_path, name, "must be an IANA time zone name such as 'Asia/Seoul'"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        guess = closest(name, sorted(available_timezones()))
        hint = f"did you mean '{guess}'?" if guess else "use a name such as 'Asia/Seoul'"
        return invalid_setting(key_path, name, "is not a known IANA time zone", hint)
    return None


def parse_profile(
    name: str, table: Mapping[str, Any], report: Report
) -> tuple[Profile | None, dict[str, ProviderConfig]]:
    """Check one `[profiles.NAME]` table, reporting every problem.

    Returns the profile (None after any problem) and the providers that parsed, which
    validation resolves even when another part of the profile is wrong.
    """
    base = join_key("profiles", name)
    errors: list[ConfigError] = []
    for key in table:
        if key not in PROFILE_KEYS:
            message = f"unknown key {join_key(base, key)} in profile '{name}'"
            hint = unknown_hint(key, PROFILE_KEYS)
            errors.append(config_error("UNKNOWN_KEY", join_key(base, key), message, None, hint))

    db = table.get("db")
    db_path = join_key(base, "db")
    if db is not None and (not isinstance(db, str) or not db.strip()):
        errors.append(invalid_setting(db_path, db, "must be a file path or a database URL"))
    elif isinstance(db, str) and "\x00" in db:
        errors.append(invalid_setting(db_path, db, "must not contain a NUL character"))
    elif isinstance(db, str):
        db = os.path.expanduser(db.strip())

    timezone = table.get("timezone", DEFAULT_TIMEZONE)
    if (tz_error := check_timezone(timezone, join_key(base, "timezone"))) is not None:
        errors.append(tz_error)

    output_format = table.get("format")
    if (format_error := check_output_format(output_format, join_key(base, "format"))) is not None:
        errors.append(format_error)
    elif isinstance(output_format, str):
        output_format = output_format.lower()

    auto_lms = table.get("auto_lms_bytes", DEFAULT_AUTO_LMS_BYTES)
    if isinstance(auto_lms, bool) or not isinstance(auto_lms, int) or not 1 <= auto_lms <= 90:
        # An SMS holds at most 90 bytes, so a higher threshold could only produce errors.
        key_path = join_key(base, "auto_lms_bytes")
        errors.append(invalid_setting(key_path, auto_lms, "must be an integer from 1 to 90"))

    window = table.get("duplicate_window", "24h")
    window_ms = DEFAULT_DUPLICATE_WINDOW_MS
    window_path = join_key(base, "duplicate_window")
    if not isinstance(window, str) or not window.strip() or window.strip().isdigit():
        # a person types this: a bare number is ambiguous (seconds? hours?), so a unit is needed
        errors.append(
            invalid_setting(window_path, window, "must be a duration with a unit, e.g. '24h'")
        )
    else:
        try:
            window_ms = parse_duration(window, field=window_path)
        except KmsgError:
            problem = "must be a duration such as '24h', '30m' or '7d'"
            errors.append(invalid_setting(window_path, window, problem))

    providers: dict[str, ProviderConfig] = {}
    providers_base = join_key(base, "providers")
    providers_table = table.get("providers", {})
    if not isinstance(providers_table, Mapping):
        problem = "must be a table of tables"
        errors.append(invalid_setting(providers_base, providers_table, problem))
        providers_table = {}
    # References are checked against every declared id, so one malformed provider table does
    # not also produce "unknown provider" noise in routing.
    provider_ids = list(providers_table)
    for provider_id, provider_table in providers_table.items():
        parsed = _parse_provider(provider_id, provider_table, providers_base, errors.append)
        if parsed is not None:
            providers[provider_id] = parsed

    default_provider = table.get("default_provider")
    key_path = join_key(base, "default_provider")
    if default_provider is not None and not isinstance(default_provider, str):
        errors.append(invalid_setting(key_path, default_provider, "must be a provider id"))
    elif default_provider is not None and default_provider not in provider_ids:
        errors.append(_unknown_provider(key_path, default_provider, provider_ids))

    routing_table = table.get("routing", {})
    routing, strategy = _parse_routing(
        routing_table, join_key(base, "routing"), provider_ids, errors.append
    )
    tracking = _parse_tracking(table.get("tracking", {}), join_key(base, "tracking"), errors.append)

    for error in errors:
        report(error)
    if errors:
        return None, providers
    profile = Profile(
        name=name,
        source="file",
        db=db,
        timezone=timezone,
        auto_lms_bytes=auto_lms,
        default_provider=default_provider,
        routing=MappingProxyType(routing),
        strategy=strategy,
        providers=MappingProxyType(providers),
        tracking=tracking,
        duplicate_window_ms=window_ms,
        output_format=output_format,
    )
    return profile, providers


def _parse_provider(
    provider_id: str, table: Any, base: str, report: Report
) -> ProviderConfig | None:
    key_path = join_key(base, provider_id)
    if not isinstance(table, Mapping):
        report(invalid_setting(key_path, table, "must be a table", f"write it as [{key_path}]"))
        return None
    kind = table.get("type", provider_id if provider_id in PROVIDER_TYPES else None)
    type_path = join_key(key_path, "type")
    if kind is None:
        message = f"{type_path} is missing and '{provider_id}' is not a provider type"
        hint = f"add type = one of: {', '.join(PROVIDER_TYPES)}"
        report(config_error("MISSING_SETTING", type_path, message, None, hint))
        return None
    if kind not in PROVIDER_TYPES:
        message = f"{type_path} = {show_value(kind)} is not a provider type"
        hint = unknown_hint(str(kind), PROVIDER_TYPES)
        report(config_error("UNKNOWN_PROVIDER_TYPE", type_path, message, show_value(kind), hint))
        return None
    return ProviderConfig(provider_id, kind, MappingProxyType(dict(table)), key_path)


def _unknown_provider(key_path: str, provider_id: str, provider_ids: list[str]) -> ConfigError:
    message = f"{key_path} names provider '{provider_id}', which this profile does not define"
    hint = unknown_hint(provider_id, provider_ids)
    return config_error("UNKNOWN_PROVIDER", key_path, message, provider_id, hint)


def _parse_routing(
    table: Any, base: str, provider_ids: list[str], report: Report
) -> tuple[dict[MessageType, tuple[str, ...]], str]:
    routing: dict[MessageType, tuple[str, ...]] = {}
    strategy = "first"
    if not isinstance(table, Mapping):
        report(invalid_setting(base, table, "must be a table of MESSAGE_TYPE = provider id(s)"))
        return routing, strategy
    allowed = (*MessageType, "strategy")
    for key, value in table.items():
        key_path = join_key(base, key)
        if key == "strategy":
            if value in STRATEGIES:
                strategy = value
            else:
                report(invalid_setting(key_path, value, f"must be one of: {', '.join(STRATEGIES)}"))
            continue
        message_type = MessageType.__members__.get(key.upper())
        ids = [value] if isinstance(value, str) else value
        if message_type is None:
            message = f"unknown routing key {key_path}"
            hint = unknown_hint(key, allowed)
            report(config_error("UNKNOWN_KEY", key_path, message, None, hint))
        elif message_type in routing:
            problem = f"routes {message_type} twice (keys ignore case)"
            report(invalid_setting(key_path, value, problem))
        elif not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            report(invalid_setting(key_path, value, "must be a provider id or a list of ids"))
        elif unknown := [item for item in ids if item not in provider_ids]:
            report(_unknown_provider(key_path, unknown[0], provider_ids))
        else:
            routing[message_type] = tuple(ids)
    return routing, strategy


def _parse_tracking(table: Any, base: str, report: Report) -> TrackingSettings:
    """`[profiles.NAME.tracking]`: backoff = ["30s", "2m", ...], max_duration = "24h",
    non_kakao_codes = ["3108"], non_rcs_codes = ["3047"], concurrency = 4."""
    defaults = TrackingSettings()
    if not isinstance(table, Mapping):
        report(invalid_setting(base, table, "must be a table"))
        return defaults
    for key in table:
        if key not in TRACKING_KEYS:
            key_path = join_key(base, key)
            hint = unknown_hint(key, TRACKING_KEYS)
            report(config_error("UNKNOWN_KEY", key_path, f"unknown key {key_path}", None, hint))
    try:
        backoff = table.get("backoff")
        backoff_ms = defaults.backoff_ms
        if backoff is not None:
            backoff_path = join_key(base, "backoff")
            if not isinstance(backoff, list) or not backoff:
                raise invalid_setting(
                    backoff_path, backoff, "must be a non-empty list of durations"
                )
            backoff_ms = tuple(parse_duration(v, field=backoff_path) for v in backoff)
        limit = table.get("max_duration")
        max_ms = (
            defaults.max_tracking_ms
            if limit is None
            else parse_duration(limit, field=join_key(base, "max_duration"))
        )
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("non_kakao_codes", "non_rcs_codes"):
            codes = table.get(key, [])
            if not isinstance(codes, list) or not all(isinstance(c, str | int) for c in codes):
                raise invalid_setting(join_key(base, key), codes, "must be a list of codes")
            lists[key] = tuple(str(c) for c in codes)
        concurrency = table.get("concurrency", defaults.concurrency)
        if (
            not isinstance(concurrency, int)
            or isinstance(concurrency, bool)
            or not 1 <= concurrency <= MAX_TRACKING_CONCURRENCY
        ):
            raise invalid_setting(
                join_key(base, "concurrency"),
                concurrency,
                f"must be a whole number from 1 to {MAX_TRACKING_CONCURRENCY}",
            )
    except KmsgError as error:
        report(config_error("INVALID_SETTING", error.field or base, error.message, error.value))
        return defaults
    return TrackingSettings(
        backoff_ms, max_ms, lists["non_kakao_codes"], lists["non_rcs_codes"], concurrency
    )
