"""Configuration: the TOML file, profiles, provider settings and environment-only mode.

Flow: `resolve_config_path` -> `load_config` (parse, top-level shape) -> `select_profile`
(structure of one profile; no secret is read) -> `ProviderConfig.resolve` (one provider, when it
is used: `env:NAME` references, defaults, types, URL safety). Resolution is lazy so that one
missing secret breaks only the provider that needs it (SPEC §4).

Nothing here prints. Every problem is a `ConfigError` with a one-line message naming the key path
and the value; values of secret keys are never shown.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from kmsg_cli.errors import ConfigError, KmsgError, mask_url_passwords
from kmsg_cli.files import make_private_parents, read_small_file
from kmsg_cli.models import MessageType
from kmsg_cli.when import parse_duration

# difflib, ipaddress, zoneinfo and tomli_w are imported inside the functions that use them: this
# module is imported on every CLI start, and most runs never need them.

SANDBOX = "sandbox"
PROVIDER_TYPES = ("solapi", "iwinv", "aligo", "mock")
STRATEGIES = ("first", "round_robin")
DEFAULT_TIMEZONE = "Asia/Seoul"
DEFAULT_AUTO_LMS_BYTES = 90
MASK = "********"
HIDDEN = "<hidden>"

_ENV_REF = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SECRET_KEYS = frozenset({"api_key", "api_secret", "sms_api_key", "sms_auth_key", "sender_key"})
_SECRET_WORDS = ("secret", "password", "token")
_TOP_LEVEL_KEYS = ("default_profile", "profiles")
_PROFILE_KEYS = (
    "db",
    "timezone",
    "auto_lms_bytes",
    "default_provider",
    "routing",
    "providers",
    "tracking",
)
_TRACKING_KEYS = ("backoff", "max_duration", "non_kakao_codes")


# ------------------------------------------------------------------------------------- paths


def default_config_path() -> Path:
    """`<user config dir>/kmsg/config.toml`."""
    return Path(platformdirs.user_config_dir("kmsg")) / "config.toml"


def default_db_path() -> Path:
    """`<user data dir>/kmsg/kmsg.sqlite`."""
    return Path(platformdirs.user_data_dir("kmsg")) / "kmsg.sqlite"


def resolve_config_path(flag: str | None, environ: Mapping[str, str]) -> tuple[Path, str]:
    """Pick the config file: `--config` > `KMSG_CONFIG` > default. Returns (path, source)."""
    if flag is not None:
        if not flag.strip():
            raise _error("INVALID_SETTING", "--config", "--config was given an empty path", "")
        return Path(flag).expanduser(), "--config"
    # A blank variable counts as unset: `KMSG_CONFIG= kmsg ...` is the usual way to clear it.
    from_env = environ.get("KMSG_CONFIG", "").strip()
    if from_env:
        return Path(from_env).expanduser(), "KMSG_CONFIG"
    return default_config_path(), "default"


# ----------------------------------------------------------------------------------- helpers


def is_secret_key(name: str) -> bool:
    """True for setting names whose values must never be shown."""
    lowered = name.lower()
    return lowered in _SECRET_KEYS or any(word in lowered for word in _SECRET_WORDS)


def env_reference(value: object) -> str | None:
    """The variable name of an exact `env:NAME` string, else None."""
    match = _ENV_REF.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def _error(
    code: str, key_path: str, message: str, value: str | None = None, hint: str | None = None
) -> ConfigError:
    return ConfigError(message, code=code, field=key_path, value=value, hint=hint)


def _invalid(
    key_path: str,
    value: object,
    problem: str,
    hint: str | None = None,
    *,
    secret: bool = False,
    origin: str | None = None,
) -> ConfigError:
    """INVALID_SETTING `<key path> = <value> [(from VAR)] <problem>`; a secret shows as HIDDEN."""
    if isinstance(value, str):
        value = _mask_url_password(value)
    shown = HIDDEN if secret else _show(value)
    raw = HIDDEN if secret else value if isinstance(value, str) else shown
    where = f" (from {origin})" if origin else ""
    message = f"{key_path} = {shown}{where} {problem}"
    return _error("INVALID_SETTING", key_path, message, raw, hint)


def _key(part: str) -> str:
    # Key paths are spelled as TOML would spell them, so they can be searched for in the file.
    if _BARE_KEY.fullmatch(part):
        return part
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _join(base: str, part: str) -> str:
    return f"{base}.{_key(part)}" if base else _key(part)


def _show(value: object) -> str:
    """A short one-line rendering of a (non-secret) value for a message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _guess(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    import difflib

    guesses = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return guesses[0] if guesses else None


def _unknown_hint(word: str, choices: tuple[str, ...] | list[str], label: str = "allowed") -> str:
    """`did you mean 'x'? allowed: a, b, c` (the guess only when one is close)."""
    allowed = f"{label}: {', '.join(choices)}" if choices else f"{label}: none"
    guess = _guess(word, choices)
    return f"did you mean '{guess}'? {allowed}" if guess else allowed


def _mask_url_password(url: str) -> str:
    """A URL's password and secret query parameters as `********`; other text as it is."""
    return mask_url_passwords(url, MASK) if "://" in url else url


def _is_plaintext_secret(key: str, value: object) -> bool:
    if isinstance(value, str) and _mask_url_password(value) != value:
        return True  # a URL (db, base_url) carrying a password
    return is_secret_key(key) and value not in (None, "") and env_reference(value) is None


def _masked(key: str, value: object) -> object:
    """A setting's value for display: secrets masked, URL passwords masked in place."""
    if isinstance(value, str) and _mask_url_password(value) != value:
        return _mask_url_password(value)
    return MASK if _is_plaintext_secret(key, value) else value


# Parsers take a `report` callback: `_raise` stops at the first problem (normal runs), a
# collector keeps going (validate_config).
_Report = Callable[[ConfigError], None]


def _raise(error: ConfigError) -> None:
    raise error


# ------------------------------------------------------------------------------- loaded file


@dataclass(frozen=True)
class LoadedConfig:
    """The parsed config file (or its absence) and where its path came from."""

    path: Path
    source: str  # "--config" | "KMSG_CONFIG" | "default"
    exists: bool
    data: Mapping[str, Any] = field(default_factory=dict)

    def profile_names(self) -> list[str]:
        """Names of the profiles defined in the file, in file order."""
        profiles = self.data.get("profiles")
        return list(profiles) if isinstance(profiles, Mapping) else []

    @property
    def default_profile(self) -> str | None:
        value = self.data.get("default_profile")
        return value if isinstance(value, str) else None


MAX_CONFIG_BYTES = 1 << 20


def load_config(path: Path, source: str) -> LoadedConfig:
    """Read and parse the file and check its top-level shape; profiles are checked on use."""
    try:
        # A config is small: a FIFO or /dev/zero named by mistake is an error, not a hang.
        data = tomllib.loads(read_small_file(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except FileNotFoundError:
        if source == "default":
            return LoadedConfig(path=path, source=source, exists=False, data={})
        message = f"config file {path} (from {source}) does not exist"
        hint = "kmsg config init --config PATH"
        raise _error("CONFIG_NOT_FOUND", source, message, str(path), hint) from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends in "(at line L, column C)".
        message = f"cannot parse {path}: {exc}"
        hint = "fix the TOML syntax there, then run: kmsg config validate"
        raise _error("CONFIG_PARSE", source, message, str(path), hint) from None
    except UnicodeDecodeError:
        message = f"cannot parse {path}: the file is not UTF-8"
        raise _error("CONFIG_PARSE", source, message, str(path), "save it as UTF-8") from None
    except ValueError as exc:  # e.g. an integer longer than Python's integer-string limit
        message = f"cannot parse {path}: {exc}"
        hint = "fix the value there, then run: kmsg config validate"
        raise _error("CONFIG_PARSE", source, message, str(path), hint) from None
    except OSError as exc:
        message = f"cannot read config file {path}: {exc.strerror or exc}"
        raise _error("CONFIG_UNREADABLE", source, message, str(path)) from None
    _check_top_level(data)
    return LoadedConfig(path=path, source=source, exists=True, data=data)


def _check_top_level(data: Mapping[str, Any]) -> None:
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            message = f"unknown top-level key {_key(key)} in the config file"
            raise _error(
                "UNKNOWN_KEY", _key(key), message, None, _unknown_hint(key, _TOP_LEVEL_KEYS)
            )
    default = data.get("default_profile")
    if default is not None and (not isinstance(default, str) or not default.strip()):
        raise _invalid("default_profile", default, "must be a profile name")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, Mapping):
        raise _invalid("profiles", profiles, "must be a table of [profiles.NAME] tables")
    for name, table in profiles.items():
        key_path = _join("profiles", name)
        if not isinstance(table, Mapping):
            raise _invalid(key_path, table, "must be a table", f"write it as [{key_path}]")
        if name != name.strip() or not name:
            # --profile and KMSG_PROFILE are stripped: such a profile could never be chosen.
            hint = f"rename it [profiles.{name.strip() or 'NAME'}]"
            raise _invalid(key_path, name, "is not a usable profile name (blank or padded)", hint)


# ------------------------------------------------------------------------- provider settings


@dataclass(frozen=True)
class Setting:
    """How one provider setting is checked: kind, default and bounds."""

    kind: str  # "str" | "url" | "phone" | "int" | "float" | "bool" | "suffixes"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None


_COMMON: dict[str, Setting] = {
    "sender": Setting("phone"),
    "connect_timeout": Setting("float", 5.0, minimum=0.0),
    "read_timeout": Setting("float", 30.0, minimum=0.0),
    "allow_insecure": Setting("bool", False),
}

SETTINGS: Mapping[str, Mapping[str, Setting]] = MappingProxyType(
    {
        "solapi": {
            "api_key": Setting("str"),
            "api_secret": Setting("str"),
            "kakao_pf_id": Setting("str"),
            "base_url": Setting("url", "https://api.solapi.com"),
            "batch_size": Setting("int", 1000, minimum=1, maximum=10000),
            **_COMMON,
        },
        "iwinv": {
            "api_key": Setting("str"),
            "sms_api_key": Setting("str"),
            "sms_auth_key": Setting("str"),
            "sms_company_id": Setting("str"),
            "alimtalk_base_url": Setting("url", "https://alimtalk.bizservice.iwinv.kr"),
            "sms_base_url": Setting("url", "https://sms.bizservice.iwinv.kr"),
            "batch_size": Setting("int", 1000, minimum=1, maximum=1000),
            **_COMMON,
        },
        "aligo": {
            "api_key": Setting("str"),
            "user_id": Setting("str"),
            "sender_key": Setting("str"),
            "sms_base_url": Setting("url", "https://apis.aligo.in"),
            "kakao_base_url": Setting("url", "https://kakaoapi.aligo.in"),
            "testmode": Setting("bool", False),
            "batch_size": Setting("int", 1000, minimum=1, maximum=1000),
            **_COMMON,
        },
        "mock": {
            "reject_suffixes": Setting("suffixes", ("0000",)),
            "unavailable_suffixes": Setting("suffixes", ("0503",)),
            "latency_ms": Setting("int", 0, minimum=0),
            **_COMMON,
        },
    }
)
"""Known settings per provider type (the docs and `config validate` read this)."""

REQUIRED_SETTINGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"solapi": ("api_key", "api_secret"), "iwinv": (), "aligo": ("api_key", "user_id"), "mock": ()}
)
"""Always-required settings; iwinv instead needs `api_key` and/or `sms_api_key` + `sms_auth_key`."""


@dataclass(frozen=True)
class ProviderConfig:
    """One `[profiles.NAME.providers.ID]` table, unresolved (values may hold `env:NAME`)."""

    id: str
    type: str
    values: Mapping[str, Any] = field(repr=False)  # may hold literal secrets
    key_path: str

    def resolve(self, environ: Mapping[str, str]) -> dict[str, Any]:
        """Read `env:` references, apply defaults, check and coerce every setting.

        The result holds `id`, `type` and every known setting of the type (None when unset
        without a default; suffix lists as tuples). Raises the first `ConfigError` found.
        """
        resolved = self._resolve(environ, _raise)
        assert resolved is not None  # _raise raises, so a failed resolution never gets here
        return resolved

    def describe(self) -> dict[str, Any]:
        """The raw settings for display: plaintext secrets masked, `env:` references kept."""
        shown: dict[str, Any] = {"type": self.type}
        for key, value in self.values.items():
            if key != "type":
                shown[key] = _masked(key, value)
        return shown

    def _path(self, key: str) -> str:
        return _join(self.key_path, key)

    def _resolve(
        self,
        environ: Mapping[str, str],
        report: _Report,
        warn: Callable[[Problem], None] | None = None,
    ) -> dict[str, Any] | None:
        spec = SETTINGS[self.type]
        errors: list[ConfigError] = []
        unset: set[str] = set()
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        out.update((key, setting.default) for key, setting in spec.items())
        for key, value in self.values.items():
            if key == "type":
                continue
            if key not in spec:
                message = f"unknown setting {self._path(key)} for a {self.type} provider"
                hint = _unknown_hint(key, ("type", *spec))
                errors.append(_error("UNKNOWN_SETTING", self._path(key), message, None, hint))
                continue
            try:
                raw, variable = self._read_env(key, value, environ)
                out[key] = self._coerce(key, spec[key], raw, variable)
            except ConfigError as exc:
                if exc.code == "MISSING_ENV" and key not in REQUIRED_SETTINGS[self.type]:
                    # An optional setting whose variable is unset is simply not set: an SMS-only
                    # user need not export the Kakao key. `config validate` still mentions it.
                    unset.add(key)
                    if warn is not None:
                        warn(Problem("warning", exc.field or key, "UNSET_ENV", exc.message))
                    continue
                errors.append(exc)
        # A key that is present but bad was reported above; only absent keys are "missing".
        errors.extend(self._missing({key for key in self.values if key != "type"} - unset))
        if not errors:
            errors.extend(self._insecure_urls(spec, out))
        for problem in errors:
            report(problem)
        return None if errors else out

    def _read_env(self, key: str, value: Any, environ: Mapping[str, str]) -> tuple[Any, str | None]:
        variable = env_reference(value)
        if variable is None:
            if isinstance(value, str) and value.startswith("env:"):
                hint = "write env:NAME; NAME is letters, digits and _, not starting with a digit"
                problem = "is not a valid env: reference"
                raise _invalid(self._path(key), value, problem, hint, secret=is_secret_key(key))
            return value, None
        env_value = environ.get(variable)
        if env_value is None or not env_value.strip():
            state = "is not set" if env_value is None else "is empty"
            message = f"environment variable {variable} {state} (needed by {self._path(key)})"
            # Environment-only mode has no file to edit.
            edit = " or edit the config file" if self.key_path.startswith("profiles.") else ""
            hint = f"export {variable}=...{edit}"
            raise _error("MISSING_ENV", self._path(key), message, f"env:{variable}", hint)
        # `$(cat file)` and .env files easily add stray whitespace; no key or number has any.
        return env_value.strip(), variable

    def _phone(self, key: str, value: str) -> str:
        """A sender number in national digits; INVALID_PHONE naming the key path otherwise."""
        from kmsg_cli.normalize import normalize_sender

        try:
            return normalize_sender(value, field=self._path(key))
        except KmsgError as exc:
            message = f"{self._path(key)}: {exc.message}"
            raise _error("INVALID_PHONE", self._path(key), message, value, exc.hint) from None

    def _coerce(self, key: str, setting: Setting, value: Any, variable: str | None) -> Any:
        def invalid(problem: str) -> ConfigError:
            secret = is_secret_key(key)
            return _invalid(self._path(key), value, problem, secret=secret, origin=variable)

        kind = setting.kind
        if kind in ("str", "url", "phone"):
            if not isinstance(value, str):
                raise invalid("must be a string (put it in quotes)")
            if not value.strip():
                raise invalid("must not be empty")
            if kind == "phone":
                return self._phone(key, value)
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

    def _missing(self, present: set[str]) -> Iterator[ConfigError]:
        for key in REQUIRED_SETTINGS[self.type]:
            if key not in present:
                message = f"{self._path(key)} is required for a {self.type} provider"
                hint = f'add {key} = "env:{self.type.upper()}_{key.upper()}" to [{self.key_path}]'
                yield _error("MISSING_SETTING", self._path(key), message, None, hint)
        if self.type != "iwinv":
            return
        pair = [key for key in ("sms_api_key", "sms_auth_key") if key in present]
        if len(pair) == 1:
            other = "sms_auth_key" if pair[0] == "sms_api_key" else "sms_api_key"
            message = (
                f"{self._path(other)} is required when {pair[0]} is set (iwinv SMS needs both)"
            )
            hint = "set both sms_api_key and sms_auth_key, or neither"
            yield _error("MISSING_SETTING", self._path(other), message, None, hint)
        elif not pair and "api_key" not in present:
            message = (
                f"{self.key_path} has no credentials: iwinv needs api_key (AlimTalk) "
                "and/or sms_api_key + sms_auth_key (SMS/LMS/MMS)"
            )
            hint = (
                "set api_key and/or sms_api_key + sms_auth_key (environment-only mode: "
                "IWINV_API_KEY and/or IWINV_SMS_API_KEY + IWINV_SMS_AUTH_KEY)"
            )
            yield _error("MISSING_SETTING", self._path("api_key"), message, None, hint)

    def _insecure_urls(
        self, spec: Mapping[str, Setting], out: Mapping[str, Any]
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
            shown = _mask_url_password(url)
            message = f"{self._path(key)} = {_show(shown)} is refused: not HTTPS and not loopback"
            hint = f"use https://, or set allow_insecure = true in [{self.key_path}]"
            yield _error("INSECURE_URL", self._path(key), message, shown, hint)


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


# ---------------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class TrackingSettings:
    """`[profiles.NAME.tracking]`: delivery-check backoff, give-up time, extra non-Kakao codes."""

    backoff_ms: tuple[int, ...] = (30_000, 120_000, 600_000, 1_800_000, 7_200_000)
    max_tracking_ms: int = 86_400_000
    non_kakao_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A selected profile: structure checked, provider secrets not yet read."""

    name: str
    source: str  # "builtin" | "file" | "environment"
    db: str | None
    timezone: str
    auto_lms_bytes: int
    default_provider: str | None
    routing: Mapping[MessageType, tuple[str, ...]]
    strategy: str
    providers: Mapping[str, ProviderConfig]
    tracking: TrackingSettings = field(default_factory=TrackingSettings)


BUILTIN_SANDBOX = Profile(
    name=SANDBOX,
    source="builtin",
    db=None,
    timezone=DEFAULT_TIMEZONE,
    auto_lms_bytes=DEFAULT_AUTO_LMS_BYTES,
    default_provider="mock",
    routing=MappingProxyType({}),
    strategy="first",
    providers=MappingProxyType(
        {
            "mock": ProviderConfig(
                "mock",
                "mock",
                MappingProxyType({"type": "mock"}),
                "profiles.sandbox.providers.mock",
            )
        }
    ),
)


def _check_timezone(name: Any, key_path: str) -> ConfigError | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    if not isinstance(name, str) or not name.strip():
        return _invalid(key_path, name, "must be an IANA time zone name such as 'Asia/Seoul'")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        guess = _guess(name, sorted(available_timezones()))
        hint = f"did you mean '{guess}'?" if guess else "use a name such as 'Asia/Seoul'"
        return _invalid(key_path, name, "is not a known IANA time zone", hint)
    return None


def _parse_provider(
    provider_id: str, table: Any, base: str, report: _Report
) -> ProviderConfig | None:
    key_path = _join(base, provider_id)
    if not isinstance(table, Mapping):
        report(_invalid(key_path, table, "must be a table", f"write it as [{key_path}]"))
        return None
    kind = table.get("type", provider_id if provider_id in PROVIDER_TYPES else None)
    type_path = _join(key_path, "type")
    if kind is None:
        message = f"{type_path} is missing and '{provider_id}' is not a provider type"
        hint = f"add type = one of: {', '.join(PROVIDER_TYPES)}"
        report(_error("MISSING_SETTING", type_path, message, None, hint))
        return None
    if kind not in PROVIDER_TYPES:
        message = f"{type_path} = {_show(kind)} is not a provider type"
        hint = _unknown_hint(str(kind), PROVIDER_TYPES)
        report(_error("UNKNOWN_PROVIDER_TYPE", type_path, message, _show(kind), hint))
        return None
    return ProviderConfig(provider_id, kind, MappingProxyType(dict(table)), key_path)


def _unknown_provider(key_path: str, provider_id: str, provider_ids: list[str]) -> ConfigError:
    message = f"{key_path} names provider '{provider_id}', which this profile does not define"
    hint = _unknown_hint(provider_id, provider_ids)
    return _error("UNKNOWN_PROVIDER", key_path, message, provider_id, hint)


def _parse_routing(
    table: Any, base: str, provider_ids: list[str], report: _Report
) -> tuple[dict[MessageType, tuple[str, ...]], str]:
    routing: dict[MessageType, tuple[str, ...]] = {}
    strategy = "first"
    if not isinstance(table, Mapping):
        report(_invalid(base, table, "must be a table of MESSAGE_TYPE = provider id(s)"))
        return routing, strategy
    allowed = (*MessageType, "strategy")
    for key, value in table.items():
        key_path = _join(base, key)
        if key == "strategy":
            if value in STRATEGIES:
                strategy = value
            else:
                report(_invalid(key_path, value, f"must be one of: {', '.join(STRATEGIES)}"))
            continue
        message_type = MessageType.__members__.get(key.upper())
        ids = [value] if isinstance(value, str) else value
        if message_type is None:
            message = f"unknown routing key {key_path}"
            report(_error("UNKNOWN_KEY", key_path, message, None, _unknown_hint(key, allowed)))
        elif message_type in routing:
            report(_invalid(key_path, value, f"routes {message_type} twice (keys ignore case)"))
        elif not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            report(_invalid(key_path, value, "must be a provider id or a list of ids"))
        elif unknown := [item for item in ids if item not in provider_ids]:
            report(_unknown_provider(key_path, unknown[0], provider_ids))
        else:
            routing[message_type] = tuple(ids)
    return routing, strategy


def _parse_profile(
    name: str, table: Mapping[str, Any], report: _Report
) -> tuple[Profile | None, dict[str, ProviderConfig]]:
    """Check one `[profiles.NAME]` table, reporting every problem.

    Returns the profile (None after any problem) and the providers that parsed, which
    validation resolves even when another part of the profile is wrong.
    """
    base = _join("profiles", name)
    errors: list[ConfigError] = []
    for key in table:
        if key not in _PROFILE_KEYS:
            message = f"unknown key {_join(base, key)} in profile '{name}'"
            hint = _unknown_hint(key, _PROFILE_KEYS)
            errors.append(_error("UNKNOWN_KEY", _join(base, key), message, None, hint))

    db = table.get("db")
    if db is not None and (not isinstance(db, str) or not db.strip()):
        errors.append(_invalid(_join(base, "db"), db, "must be a file path or a database URL"))
    elif isinstance(db, str) and "\x00" in db:
        errors.append(_invalid(_join(base, "db"), db, "must not contain a NUL character"))
    elif isinstance(db, str):
        db = os.path.expanduser(db.strip())

    timezone = table.get("timezone", DEFAULT_TIMEZONE)
    if (tz_error := _check_timezone(timezone, _join(base, "timezone"))) is not None:
        errors.append(tz_error)

    auto_lms = table.get("auto_lms_bytes", DEFAULT_AUTO_LMS_BYTES)
    if isinstance(auto_lms, bool) or not isinstance(auto_lms, int) or not 1 <= auto_lms <= 90:
        # An SMS holds at most 90 bytes, so a higher threshold could only produce errors.
        key_path = _join(base, "auto_lms_bytes")
        errors.append(_invalid(key_path, auto_lms, "must be an integer from 1 to 90"))

    providers: dict[str, ProviderConfig] = {}
    providers_base = _join(base, "providers")
    providers_table = table.get("providers", {})
    if not isinstance(providers_table, Mapping):
        errors.append(_invalid(providers_base, providers_table, "must be a table of tables"))
        providers_table = {}
    # References are checked against every declared id, so one malformed provider table does
    # not also produce "unknown provider" noise in routing.
    provider_ids = list(providers_table)
    for provider_id, provider_table in providers_table.items():
        parsed = _parse_provider(provider_id, provider_table, providers_base, errors.append)
        if parsed is not None:
            providers[provider_id] = parsed

    default_provider = table.get("default_provider")
    key_path = _join(base, "default_provider")
    if default_provider is not None and not isinstance(default_provider, str):
        errors.append(_invalid(key_path, default_provider, "must be a provider id"))
    elif default_provider is not None and default_provider not in provider_ids:
        errors.append(_unknown_provider(key_path, default_provider, provider_ids))

    routing_table = table.get("routing", {})
    routing, strategy = _parse_routing(
        routing_table, _join(base, "routing"), provider_ids, errors.append
    )
    tracking = _parse_tracking(table.get("tracking", {}), _join(base, "tracking"), errors.append)

    for problem in errors:
        report(problem)
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
    )
    return profile, providers


def _parse_tracking(table: Any, base: str, report: _Report) -> TrackingSettings:
    """`[profiles.NAME.tracking]`: backoff = ["30s", "2m", ...], max_duration = "24h",
    non_kakao_codes = ["3108"]."""
    defaults = TrackingSettings()
    if not isinstance(table, Mapping):
        report(_invalid(base, table, "must be a table"))
        return defaults
    for key in table:
        if key not in _TRACKING_KEYS:
            hint = _unknown_hint(key, _TRACKING_KEYS)
            report(
                _error(
                    "UNKNOWN_KEY", _join(base, key), f"unknown key {_join(base, key)}", None, hint
                )
            )
    try:
        backoff = table.get("backoff")
        backoff_ms = defaults.backoff_ms
        if backoff is not None:
            if not isinstance(backoff, list) or not backoff:
                raise _invalid(
                    _join(base, "backoff"), backoff, "must be a non-empty list of durations"
                )
            backoff_ms = tuple(parse_duration(v, field=_join(base, "backoff")) for v in backoff)
        limit = table.get("max_duration")
        max_ms = (
            defaults.max_tracking_ms
            if limit is None
            else parse_duration(limit, field=_join(base, "max_duration"))
        )
        codes = table.get("non_kakao_codes", [])
        if not isinstance(codes, list) or not all(isinstance(c, str | int) for c in codes):
            raise _invalid(_join(base, "non_kakao_codes"), codes, "must be a list of codes")
    except KmsgError as error:
        report(_error("INVALID_SETTING", error.field or base, error.message, error.value))
        return defaults
    return TrackingSettings(backoff_ms, max_ms, tuple(str(c) for c in codes))


# ---------------------------------------------------------------------- environment-only mode

# (setting key, variable, required) per provider type, in documentation order.
_ENV_SETTINGS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "solapi": (
        ("api_key", "SOLAPI_API_KEY", True),
        ("api_secret", "SOLAPI_API_SECRET", True),
        ("kakao_pf_id", "SOLAPI_KAKAO_PF_ID", False),
        ("base_url", "SOLAPI_BASE_URL", False),
    ),
    "iwinv": (
        ("api_key", "IWINV_API_KEY", False),
        ("sms_api_key", "IWINV_SMS_API_KEY", False),
        ("sms_auth_key", "IWINV_SMS_AUTH_KEY", False),
        ("sms_company_id", "IWINV_SMS_COMPANY_ID", False),
        ("alimtalk_base_url", "IWINV_ALIMTALK_BASE_URL", False),
        ("sms_base_url", "IWINV_SMS_BASE_URL", False),
    ),
    "aligo": (
        ("api_key", "ALIGO_API_KEY", True),
        ("user_id", "ALIGO_USER_ID", True),
        ("sender_key", "ALIGO_SENDER_KEY", False),
        ("sms_base_url", "ALIGO_SMS_BASE_URL", False),
        ("kakao_base_url", "ALIGO_KAKAO_BASE_URL", False),
        ("testmode", "ALIGO_TESTMODE", False),
    ),
    "mock": (),
}

ENV_VARIABLES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {kind: tuple(var for _, var, _ in entries) for kind, entries in _ENV_SETTINGS.items()}
)
"""Provider variables of environment-only mode, per `KMSG_PROVIDER` type."""

REQUIRED_ENV_VARIABLES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {kind: tuple(var for _, var, req in entries if req) for kind, entries in _ENV_SETTINGS.items()}
)
"""The variables of `ENV_VARIABLES` that must be set (iwinv: api key and/or the SMS pair)."""

COMMON_ENV_VARIABLES = ("KMSG_PROVIDER", "KMSG_SENDER", "KMSG_TIMEZONE")
"""Variables of environment-only mode shared by every provider type."""


def env_profile(environ: Mapping[str, str]) -> Profile:
    """The profile of environment-only mode (`KMSG_PROVIDER=<type>`); secrets stay `env:` refs."""
    kind = environ.get("KMSG_PROVIDER", "").strip()
    if kind not in PROVIDER_TYPES:
        message = f"KMSG_PROVIDER = {_show(kind)} is not a provider type"
        hint = _unknown_hint(kind, PROVIDER_TYPES)
        raise _error("UNKNOWN_PROVIDER_TYPE", "KMSG_PROVIDER", message, kind, hint)

    def is_set(variable: str) -> bool:
        return bool(environ.get(variable, "").strip())

    # References rather than copies, so that a resolution error names the variable to export.
    values: dict[str, Any] = {"type": kind}
    for key, variable, required in _ENV_SETTINGS[kind]:
        if required or is_set(variable):
            values[key] = f"env:{variable}"
    if is_set("KMSG_SENDER"):
        values["sender"] = "env:KMSG_SENDER"
    timezone = environ.get("KMSG_TIMEZONE", "").strip() or DEFAULT_TIMEZONE
    if (tz_error := _check_timezone(timezone, "KMSG_TIMEZONE")) is not None:
        raise tz_error
    provider = ProviderConfig(kind, kind, MappingProxyType(values), f"env.providers.{kind}")
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


# ------------------------------------------------------------------------- profile selection


def select_profile(
    config: LoadedConfig, *, flag: str | None, environ: Mapping[str, str]
) -> Profile:
    """`--profile` > `KMSG_PROFILE` > `KMSG_PROVIDER` (env-only) > `default_profile` > sandbox."""
    if flag is not None and flag.strip():
        return _named_profile(config, flag.strip(), "--profile")
    if from_env := environ.get("KMSG_PROFILE", "").strip():
        return _named_profile(config, from_env, "KMSG_PROFILE")
    if environ.get("KMSG_PROVIDER", "").strip():
        return env_profile(environ)
    if config.default_profile is not None:
        return _named_profile(config, config.default_profile, "default_profile")
    return _named_profile(config, SANDBOX, "builtin")


def _named_profile(config: LoadedConfig, name: str, chosen_by: str) -> Profile:
    profiles = config.data.get("profiles", {})
    if isinstance(profiles, Mapping) and name in profiles:
        _check_top_level(config.data)  # done by load_config; repeated for hand-built configs
        profile, _ = _parse_profile(name, profiles[name], _raise)
        assert profile is not None  # _raise raised on the first problem
        return profile
    if name == SANDBOX:
        return BUILTIN_SANDBOX
    names = config.profile_names()
    available = names if SANDBOX in names else [*names, SANDBOX]
    hint = _unknown_hint(name, available, "available profiles")
    if config.exists:
        where = f"in {config.path}"
    else:
        where = f"(there is no config file at {config.path})"
        hint += "; create one with: kmsg config init"
    message = f"profile '{name}' (from {chosen_by}) is not defined {where}"
    raise _error("UNKNOWN_PROFILE", chosen_by, message, name, hint)


# --------------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Problem:
    """One finding of `validate_config`."""

    level: str  # "error" | "warning"
    key_path: str
    code: str
    message: str


def validate_config(config: LoadedConfig, environ: Mapping[str, str]) -> list[Problem]:
    """Check every profile and resolve every provider; return all problems, errors first."""
    errors: list[ConfigError] = []
    warnings: list[Problem] = []
    try:
        _check_top_level(config.data)
    except ConfigError as exc:
        return [Problem("error", exc.field or "", exc.code, exc.message)]
    names = config.profile_names()
    default = config.default_profile
    if default is not None and default not in names and default != SANDBOX:
        message = f"default_profile = {default!r} names a profile that is not defined"
        hint = _unknown_hint(default, [*names, SANDBOX])
        errors.append(_error("UNKNOWN_PROFILE", "default_profile", message, default, hint))
    for name in names:
        profile, providers = _parse_profile(name, config.data["profiles"][name], errors.append)
        if profile is not None and not providers:
            message = f"profile '{name}' defines no providers, so it cannot send anything"
            key_path = _join(_join("profiles", name), "providers")
            warnings.append(Problem("warning", key_path, "NO_PROVIDERS", message))
        for provider in providers.values():
            provider._resolve(environ, errors.append, warnings.append)
    for key_path in plaintext_secret_paths(config.data):
        message = f'{key_path} holds a plaintext secret; prefer an env: reference ("env:NAME")'
        warnings.append(Problem("warning", key_path, "PLAINTEXT_SECRET", message))
    if (permissions := insecure_permissions_warning(config)) is not None:
        warnings.append(Problem("warning", str(config.path), "INSECURE_PERMISSIONS", permissions))
    found = [Problem("error", exc.field or "", exc.code, exc.message) for exc in errors]
    return found + warnings


def _walk(data: Mapping[str, Any], base: str = "") -> Iterator[tuple[str, str, Any]]:
    """(key path, key, value) for every non-table value, depth first."""
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _walk(value, _join(base, key))
        else:
            yield _join(base, key), key, value


def plaintext_secret_paths(data: Mapping[str, Any]) -> list[str]:
    """Key paths that hold a secret in plain text (not `env:`), including db URL passwords."""
    return [path for path, key, value in _walk(data) if _is_plaintext_secret(key, value)]


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


def masked_data(config: LoadedConfig) -> dict[str, Any]:
    """A copy of the file data with plaintext secrets replaced by `********`."""

    def mask(data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, Mapping):
                out[key] = mask(value)
            else:
                out[key] = _masked(key, value)
        return out

    return mask(config.data)


def dump_toml(data: Mapping[str, Any]) -> str:
    """Plain data (e.g. `masked_data(...)`) as TOML text."""
    import tomli_w

    return tomli_w.dumps(data)


# -------------------------------------------------------------------------------- config init

_STARTER_CONFIG = """\
# kmsg configuration. Every key is documented in sample-config.toml (kmsg sources).
# Keep secrets out of this file: write "env:NAME" and kmsg reads $NAME when the provider is used.
# The file was created with mode 0600 (owner only); keep it that way.

# Used when neither --profile nor KMSG_PROFILE is given.
default_profile = "sandbox"

# The sandbox delivers nothing: the in-process mock provider only pretends.
[profiles.sandbox]
default_provider = "mock"

[profiles.sandbox.providers.mock]
type = "mock"
# reject_suffixes = ["0000"]        # recipients ending in these digits are rejected
# unavailable_suffixes = ["0503"]   # ... and these fail like a provider outage

# A real profile: uncomment, export the two variables, then run  kmsg -p prod send ...
# [profiles.prod]
# timezone = "Asia/Seoul"           # for --at times without an offset
# auto_lms_bytes = 90               # SMS longer than this many bytes is sent as LMS
# default_provider = "solapi"
#
# [profiles.prod.routing]           # message type -> provider id, or a list tried in order
# SMS = "solapi"
# ALIMTALK = "solapi"
# strategy = "first"                # or "round_robin"
#
# [profiles.prod.providers.solapi]
# type = "solapi"
# api_key = "env:SOLAPI_API_KEY"
# api_secret = "env:SOLAPI_API_SECRET"
# sender = "0212345678"             # your registered sender number
# kakao_pf_id = "env:SOLAPI_KAKAO_PF_ID"
"""


def starter_config_text() -> str:
    """The commented config that `kmsg config init` writes; it selects the sandbox."""
    return _STARTER_CONFIG


def write_starter_config(path: Path, *, force: bool) -> Path:
    """Write the starter config with mode 0600 (new parents 0700); overwrite only when forced."""
    return write_config_file(path, _STARTER_CONFIG, force=force)


def config_exists_error(path: Path) -> ConfigError:
    """CONFIG_EXISTS: `kmsg config init` will not overwrite `path` without --force."""
    message = f"config file {path} already exists"
    return _error("CONFIG_EXISTS", "path", message, str(path), "kmsg config init --force")


def write_config_file(path: Path, text: str, *, force: bool) -> Path:
    """Write `text` as a new config file, mode 0600 (new parents 0700); overwrite when forced."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        make_private_parents(path)
        # 0600 from the first byte: a chmod after writing would leave a readable window.
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        raise config_exists_error(path) from None
    except OSError as exc:
        message = f"cannot create config file {path}: {exc.strerror or exc}"
        raise _error("CONFIG_UNWRITABLE", "path", message, str(path)) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    if force:
        # os.open applies its mode only when it creates the file; an old file keeps its mode.
        os.chmod(path, 0o600)
    return path


# ------------------------------------------------------------- config init wizard, add-provider

_GENERATED_HEADER = """\
# kmsg configuration, written by `kmsg config init`. Every key is documented in
# sample-config.toml (kmsg sources). "env:NAME" values are read from $NAME when the provider
# is used. The file was created with mode 0600 (owner only); keep it that way.

"""


def provider_key_path(profile: str, provider_id: str) -> str:
    """`profiles.NAME.providers.ID`, spelled as TOML spells it."""
    return _join(_join(_join("profiles", profile), "providers"), provider_id)


def provider_table_text(profile: str, provider_id: str, values: Mapping[str, Any]) -> str:
    """One `[profiles.NAME.providers.ID]` table as TOML text (values quoted by tomli_w)."""
    import tomli_w

    body = tomli_w.dumps(dict(values))
    return f"[{provider_key_path(profile, provider_id)}]\n{body}"


def new_config_text(profile: str, provider_id: str, values: Mapping[str, Any]) -> str:
    """A whole config file with one profile (the default) holding one provider."""
    import tomli_w

    data = {
        "default_profile": profile,
        "profiles": {
            profile: {"default_provider": provider_id, "providers": {provider_id: dict(values)}}
        },
    }
    return _GENERATED_HEADER + tomli_w.dumps(data)


def is_env_name(name: str) -> bool:
    """True when `env:<name>` is a valid reference (letters, digits, _, no leading digit)."""
    return _ENV_REF.fullmatch(f"env:{name}") is not None


def provider_setting_value(kind: str, key: str, raw: str, key_path: str) -> Any:
    """The TOML value of one `KEY=VALUE` given on the command line for a `kind` provider.

    `env:NAME` stays a reference; anything else is checked and converted like a file value
    (numbers, booleans, suffix lists as "0000,1234"). Unknown keys are UNKNOWN_SETTING.
    """
    spec = SETTINGS[kind]
    if key not in spec:
        message = f"unknown setting '{key}' for {kind} providers"
        raise _error("UNKNOWN_SETTING", key, message, key, _unknown_hint(key, tuple(spec)))
    path = _join(key_path, key)
    if env_reference(raw) is not None:
        return raw
    if raw.startswith("env:"):
        hint = "write env:NAME; NAME is letters, digits and _, not starting with a digit"
        problem = "is not a valid env: reference"
        raise _invalid(path, raw, problem, hint, secret=is_secret_key(key))
    value = ProviderConfig(key, kind, MappingProxyType({}), key_path)._coerce(
        key, spec[key], raw, None
    )
    return list(value) if isinstance(value, tuple) else value
