"""Editing one key of the config file in place: `kmsg config get`, `set` and `unset`.

A key is the path that kmsg's own messages print (`profiles.prod.db`,
`profiles.prod.providers.solapi.sender`), so an error can be fixed by pasting its key. The file
is edited with tomlkit, which keeps comments, order and layout; the new text replaces the old
in one rename, with the old file's mode. Every edit is checked by loading and validating the
file again: an edit that brings an error of its own is undone, and the file stays as it was.
See docs/configuration.md, "Changing one setting".
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from kmsg_cli.config.checks import validate_config
from kmsg_cli.config.keys import config_error, env_reference, join_key, masked_value, unknown_hint
from kmsg_cli.config.loading import TOP_LEVEL_KEYS, LoadedConfig, load_config
from kmsg_cli.config.model import Problem
from kmsg_cli.config.parsing import PROFILE_KEYS
from kmsg_cli.config.writing import provider_setting_value
from kmsg_cli.errors import ConfigError
from kmsg_cli.providers.catalog import PROVIDER_TYPES, SETTINGS


@dataclass(frozen=True)
class Edit:
    """What `set_key`/`unset_key` did: the key, the value written (None: removed), the file
    as it loads now, and the variables that the value references but this shell lacks."""

    key: str
    value: Any
    config: LoadedConfig
    unset_env: tuple[str, ...]


def parse_key(text: str) -> tuple[str, ...]:
    """`profiles.prod."my id".sender` -> ("profiles", "prod", "my id", "sender").

    INVALID_KEY when `text` is not one dotted TOML key, or does not start at the top level.
    """
    parts = _dotted(text)
    if parts is None:
        message = f"'{text}' is not a config key (a dotted path such as profiles.prod.db)"
        raise config_error("INVALID_KEY", "key", message, text, "kmsg config show lists the keys")
    if parts[0] not in TOP_LEVEL_KEYS:
        hint = unknown_hint(parts[0], TOP_LEVEL_KEYS)
        if parts[0] in PROFILE_KEYS:  # `db` for `profiles.NAME.db`: name the profile
            hint = f"a profile's key: profiles.NAME.{text}, such as profiles.prod.{text}"
        message = f"'{text}' is not a config key: keys start with {', '.join(TOP_LEVEL_KEYS)}"
        raise config_error("INVALID_KEY", "key", message, text, hint)
    return parts


def key_text(parts: tuple[str, ...]) -> str:
    """The key as TOML and kmsg's messages spell it."""
    text = ""
    for part in parts:
        text = join_key(text, part)
    return text


def get_value(data: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at `parts` in the loaded file; NOT_SET when the file does not set it."""
    node: Any = data
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            key = key_text(parts)
            message = f"{key} is not set in the config file"
            hint = "kmsg config show prints what is set; defaults are in docs/configuration.md"
            raise config_error("NOT_SET", key, message, None, hint)
        node = node[part]
    return node


def shown_value(parts: tuple[str, ...], value: Any) -> Any:
    """`value` as it may be shown: a secret key's literal value masked (an env: reference is
    only a name), and so on inside a table."""
    if isinstance(value, Mapping):
        return {key: shown_value((*parts, key), item) for key, item in value.items()}
    return masked_value(parts[-1], value)


def toml_literal(value: Any) -> str:
    """`value` as TOML writes it after `key = ` (a list inline)."""
    import tomlkit

    return str(tomlkit.item(value).as_string())


def plain_text(parts: tuple[str, ...], value: Any) -> str:
    """What `config get` prints: text as it is (for `$(kmsg config get ...)`), a table as the
    file's TOML under its full name, anything else as a TOML value."""
    import tomlkit

    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for part in reversed(parts):
            value = {part: value}
        return tomlkit.dumps(value).strip()
    return toml_literal(value)


def typed_value(data: Mapping[str, Any], parts: tuple[str, ...], raw: str) -> Any:
    """The TOML value that `raw` (a command-line word) stands for at `parts`.

    A provider setting is read as `config add-provider --set` reads it (the provider type's
    own rules: a sender number stays text, "0000,1234" is a list). Elsewhere a TOML literal —
    true, 90, ["solapi", "iwinv"] — is that value, and anything else is text as typed."""
    if len(parts) == 5 and parts[0] == "profiles" and parts[2] == "providers":
        table = _table(data, parts[:4])
        kind = table.get("type") if table is not None else None
        if kind is None and parts[3] in PROVIDER_TYPES:
            kind = parts[3]
        if parts[4] != "type" and isinstance(kind, str) and kind in PROVIDER_TYPES:
            return provider_setting_value(kind, parts[4], raw, key_text(parts[:4]))
    if "\n" not in raw and "\r" not in raw:
        try:
            value = tomllib.loads(f"value = {raw}")["value"]
        except tomllib.TOMLDecodeError:
            return raw
        # A date is text to kmsg (times are read with the profile's zone), as is a string.
        if not isinstance(value, datetime | date | time):
            return value
    return raw


def set_key(
    loaded: LoadedConfig, parts: tuple[str, ...], value: Any, environ: Mapping[str, str]
) -> Edit:
    """Write `value` at `parts` (tables created as needed), keeping the rest of the file."""
    import tomlkit

    _refuse_new_provider(loaded, parts)
    document = tomlkit.parse(_read(loaded))
    node: Any = document
    for depth, part in enumerate(parts[:-1], start=1):
        child = node.get(part)
        if child is None:
            node[part] = tomlkit.table()
            child = node[part]
        elif not isinstance(child, dict):
            key = key_text(parts[:depth])
            message = f"{key} is a value, not a table: {key_text(parts)} cannot be set"
            raise config_error("INVALID_KEY", key, message, None, f"kmsg config unset {key}")
        node = child
    node[parts[-1]] = value
    return _checked(loaded, parts, value, tomlkit.dumps(document), environ)


def unset_key(loaded: LoadedConfig, parts: tuple[str, ...], environ: Mapping[str, str]) -> Edit:
    """Remove the key at `parts` (NOT_SET when the file does not set it)."""
    import tomlkit

    get_value(loaded.data, parts)
    document = tomlkit.parse(_read(loaded))
    node: Any = document
    for part in parts[:-1]:
        node = node[part]
    del node[parts[-1]]
    return _checked(loaded, parts, None, tomlkit.dumps(document), environ)


def _refuse_new_provider(loaded: LoadedConfig, parts: tuple[str, ...]) -> None:
    """A provider is added whole (`config add-provider`), not one key at a time: each key
    alone would leave a provider without its credentials, which the check refuses."""
    if len(parts) < 4 or parts[0] != "profiles" or parts[2] != "providers":
        return
    providers = _table(loaded.data, parts[:3])
    if providers is None or parts[3] in providers:
        return  # there, or `providers` is no table: the check after the edit names it
    table = key_text(parts[:4])
    kind = parts[3] if parts[3] in PROVIDER_TYPES else "TYPE"
    hint = f"kmsg -p {parts[1]} config add-provider {kind}"
    if kind == "TYPE":
        hint += f" --id {parts[3]}"
    if len(parts) == 5 and parts[4] != "type":
        hint += f" --set {parts[4]}=..."
    message = f"{table} does not exist: a provider is added whole, with its credentials"
    raise config_error("NOT_SET", table, message, None, hint)


def _table(data: Mapping[str, Any], parts: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The table at `parts` of the loaded file; None when absent or not a table. A missing
    `profiles.NAME.providers` is an empty table, as the file would read it."""
    node: Any = data
    for part in parts:
        node = node.get(part, {}) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def _dotted(text: str) -> tuple[str, ...] | None:
    if not text.strip() or any(char in text for char in "=\n\r#[]{}"):
        return None
    try:
        node: Any = tomllib.loads(f"{text} = 0")
    except tomllib.TOMLDecodeError:
        return None
    parts: list[str] = []
    while isinstance(node, dict):
        if len(node) != 1:
            return None
        ((part, node),) = node.items()
        parts.append(part)
    return tuple(parts)


def require_file(loaded: LoadedConfig) -> None:
    """CONFIG_NOT_FOUND when there is no file to read or edit."""
    if not loaded.exists:
        message = f"there is no config file at {loaded.path}"
        hint = "kmsg config init writes one"
        raise config_error("CONFIG_NOT_FOUND", loaded.source, message, str(loaded.path), hint)


def _read(loaded: LoadedConfig) -> str:
    require_file(loaded)
    return loaded.path.read_text(encoding="utf-8")


def _checked(
    loaded: LoadedConfig,
    parts: tuple[str, ...],
    value: Any,
    text: str,
    environ: Mapping[str, str],
) -> Edit:
    """`write_checked` of one key's edit, and the variables that the new value references but
    this shell lacks (listed, to export before sending)."""
    key = key_text(parts)
    missing = tuple(n for n in _references(value) if not environ.get(n, "").strip())
    return Edit(key, value, write_checked(loaded, text, environ, field=key), missing)


def write_checked(
    loaded: LoadedConfig,
    text: str,
    environ: Mapping[str, str],
    *,
    field: str,
    what: str | None = None,
) -> LoadedConfig:
    """Replace the file by `text`, then load and validate it as if every variable it references
    were exported; put the old text back and raise when it no longer loads ("`what` would break
    the file: ..."), or when it has an error the file did not have. Returns the file as
    loaded."""
    path = loaded.path
    original = path.read_bytes()
    environ = as_if_exported((loaded.data, _parsed(text)), environ)
    before = {_identity(problem) for problem in _errors(loaded, environ)}
    unchanged = f"{path} was left unchanged"
    _replace(path, text.encode("utf-8"))
    try:
        try:
            reloaded = load_config(path, loaded.source)
        except ConfigError as error:
            message = f"{what} would break the file: {error.message}" if what else error.message
            hint = f"{error.hint}; {unchanged}" if error.hint else unchanged
            raise ConfigError(message, code=error.code, field=field, hint=hint) from None
        new = [p for p in _errors(reloaded, environ) if _identity(p) not in before]
        if new:
            first = new[0]
            hint = f"{first.hint}; {unchanged}" if first.hint else unchanged
            raise ConfigError(first.message, code=first.code, field=first.key_path, hint=hint)
    except BaseException:
        _replace(path, original)
        raise
    return reloaded


# Stand-ins for variables that provider tables reference but this shell lacks, so that an edit
# is checked as if they were exported: a missing credential would otherwise stop the check of
# its provider before the setting just changed. Per setting kind, a value that kind accepts.
_PLACEHOLDERS = {
    "url": "https://placeholder.invalid",
    "phone": "0212345678",
    "int": "1",
    "float": "1",
    "bool": "false",
    "suffixes": "0000",
}


def as_if_exported(
    files: tuple[Mapping[str, Any], ...], environ: Mapping[str, str]
) -> dict[str, str]:
    """`environ` with a stand-in for each variable that a provider table of `files` references
    and `environ` lacks."""
    filled = dict(environ)
    for data in files:
        profiles = data.get("profiles")
        for profile in profiles.values() if isinstance(profiles, Mapping) else ():
            providers = profile.get("providers") if isinstance(profile, Mapping) else None
            for pid, table in providers.items() if isinstance(providers, Mapping) else ():
                if not isinstance(table, Mapping):
                    continue
                spec = SETTINGS.get(table.get("type", pid), {})
                for key, value in table.items():
                    name = env_reference(value)
                    if name is not None and not filled.get(name, "").strip():
                        kind = spec[key].kind if key in spec else "str"
                        filled[name] = _PLACEHOLDERS.get(kind, "placeholder")
    return filled


def _parsed(text: str) -> Mapping[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}  # the load after the write says what is wrong


def _replace(path: Path, data: bytes) -> None:
    """Write `data` as `path` in one rename, with the mode the file had (a crash leaves the old
    file or the new one, never half of one). A config file that is a link (to a dotfiles
    repository, say) stays one: the file it points to is replaced."""
    path = path.resolve()
    mode = stat.S_IMODE(path.stat().st_mode)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode & 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        message = f"cannot write config file {path}: {exc.strerror or exc}"
        raise config_error("CONFIG_UNWRITABLE", "path", message, str(path)) from None


def _errors(loaded: LoadedConfig, environ: Mapping[str, str]) -> list[Problem]:
    return [p for p in validate_config(loaded, environ) if p.level == "error"]


def _identity(problem: Problem) -> tuple[str, str, str]:
    return (problem.code, problem.key_path, problem.message)


def _references(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(name for item in items if (name := env_reference(item)) is not None)
