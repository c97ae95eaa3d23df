"""Reading the config file: TOML parsing and the top-level shape (docs/configuration.md, "File").

Only the top level is checked here; a profile is checked when it is selected
(`kmsg_cli.config.profiles`) and a provider's settings when the provider is used.
"""

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from kmsg_cli.config.keys import (
    check_output_format,
    config_error,
    invalid_setting,
    join_key,
    toml_key,
    unknown_hint,
)
from kmsg_cli.files import read_small_file

TOP_LEVEL_KEYS = ("default_profile", "format", "profiles")
MAX_CONFIG_BYTES = 1 << 20


class LoadedConfig(NamedTuple):
    """The parsed config file (or its absence) and where its path came from."""

    path: Path
    source: str  # "--config" | "KMSG_CONFIG" | "default"
    exists: bool
    data: Mapping[str, Any] = MappingProxyType({})

    def profile_names(self) -> list[str]:
        """Names of the profiles defined in the file, in file order."""
        profiles = self.data.get("profiles")
        return list(profiles) if isinstance(profiles, Mapping) else []

    @property
    def default_profile(self) -> str | None:
        value = self.data.get("default_profile")
        return value if isinstance(value, str) else None


def load_config(path: Path, source: str) -> LoadedConfig:
    """Read and parse the file and check its top-level shape; profiles are checked on use."""
    try:
        # A config is small: a FIFO or /dev/zero named by mistake is an error, not a hang.
        raw = read_small_file(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        if source == "default":
            return LoadedConfig(path=path, source=source, exists=False, data={})
        message = f"config file {path} (from {source}) does not exist"
        hint = "kmsg config init --config PATH"
        raise config_error("CONFIG_NOT_FOUND", source, message, str(path), hint) from None
    except ValueError as exc:  # a path the system cannot take (an embedded NUL)
        raise _unparsable(path, source, exc) from None
    except OSError as exc:
        message = f"cannot read config file {path}: {exc.strerror or exc}"
        raise config_error("CONFIG_UNREADABLE", source, message, str(path)) from None
    import tomllib  # only when there is a file to parse

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends in "(at line L, column C)".
        message = f"cannot parse {path}: {exc}"
        hint = "fix the TOML syntax there, then run: kmsg config validate"
        raise config_error("CONFIG_PARSE", source, message, str(path), hint) from None
    except UnicodeDecodeError:
        message = f"cannot parse {path}: the file is not UTF-8"
        raise config_error("CONFIG_PARSE", source, message, str(path), "save it as UTF-8") from None
    except ValueError as exc:  # e.g. an integer longer than Python's integer-string limit
        raise _unparsable(path, source, exc) from None
    check_top_level(data)
    return LoadedConfig(path=path, source=source, exists=True, data=data)


def _unparsable(path: Path, source: str, exc: ValueError) -> Exception:
    message = f"cannot parse {path}: {exc}"
    hint = "fix the value there, then run: kmsg config validate"
    return config_error("CONFIG_PARSE", source, message, str(path), hint)


def check_top_level(data: Mapping[str, Any]) -> None:
    """Raise the first problem of the file's top level: unknown keys, profiles not tables."""
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            message = f"unknown top-level key {toml_key(key)} in the config file"
            hint = unknown_hint(key, TOP_LEVEL_KEYS)
            raise config_error("UNKNOWN_KEY", toml_key(key), message, None, hint)
    default = data.get("default_profile")
    if default is not None and (not isinstance(default, str) or not default.strip()):
        raise invalid_setting("default_profile", default, "must be a profile name")
    if (format_error := check_output_format(data.get("format"), "format")) is not None:
        raise format_error
    profiles = data.get("profiles", {})
    if not isinstance(profiles, Mapping):
        raise invalid_setting("profiles", profiles, "must be a table of [profiles.NAME] tables")
    for name, table in profiles.items():
        key_path = join_key("profiles", name)
        if not isinstance(table, Mapping):
            raise invalid_setting(key_path, table, "must be a table", f"write it as [{key_path}]")
        if name != name.strip() or not name:
            # --profile and KMSG_PROFILE are stripped: such a profile could never be chosen.
            hint = f"rename it [profiles.{name.strip() or 'NAME'}]"
            problem = "is not a usable profile name (blank or padded)"
            raise invalid_setting(key_path, name, problem, hint)
