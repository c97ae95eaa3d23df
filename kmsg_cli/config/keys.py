"""What every config module shares: key paths, secret detection and one-line `ConfigError`s.

Key paths are spelled as TOML spells them (`profiles.prod.providers."my id".api_key`), so that
a message can be searched for in the file. A value is shown in a message only when it is not a
secret; URL passwords are masked in place. See docs/configuration.md, "Secrets".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kmsg_cli.errors import ConfigError, mask_url_passwords
from kmsg_cli.providers.catalog import SECRET_SETTINGS

MASK = "********"
HIDDEN = "<hidden>"

_ENV_REF = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_URL_ENV_PASSWORD = re.compile(r":env:[A-Za-z_][A-Za-z0-9_]*@")
SECRET_WORDS = ("secret", "password", "token")


def is_secret_key(name: str) -> bool:
    """True for setting names whose values must never be shown."""
    lowered = name.lower()
    return lowered in SECRET_SETTINGS or any(word in lowered for word in SECRET_WORDS)


def env_reference(value: object) -> str | None:
    """The variable name of an exact `env:NAME` string, else None."""
    match = _ENV_REF.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def is_env_name(name: str) -> bool:
    """True when `env:<name>` is a valid reference (letters, digits, _, no leading digit)."""
    return _ENV_REF.fullmatch(f"env:{name}") is not None


def config_error(
    code: str, key_path: str, message: str, value: str | None = None, hint: str | None = None
) -> ConfigError:
    return ConfigError(message, code=code, field=key_path, value=value, hint=hint)


def invalid_setting(
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
        value = mask_url(value)
    shown = HIDDEN if secret else show_value(value)
    raw = HIDDEN if secret else value if isinstance(value, str) else shown
    where = f" (from {origin})" if origin else ""
    message = f"{key_path} = {shown}{where} {problem}"
    return config_error("INVALID_SETTING", key_path, message, raw, hint)


def toml_key(part: str) -> str:
    """One key as TOML writes it: bare when it can be, quoted otherwise."""
    if _BARE_KEY.fullmatch(part):
        return part
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


def join_key(base: str, part: str) -> str:
    """`base.part`, with `part` spelled as TOML would spell it."""
    return f"{base}.{toml_key(part)}" if base else toml_key(part)


def show_value(value: object) -> str:
    """A short one-line rendering of a (non-secret) value for a message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def closest(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The choice closest to `word`, when one is close enough to be a likely typo."""
    import difflib

    guesses = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return guesses[0] if guesses else None


def unknown_hint(word: str, choices: tuple[str, ...] | list[str], label: str = "allowed") -> str:
    """`did you mean 'x'? allowed: a, b, c` (the guess only when one is close)."""
    allowed = f"{label}: {', '.join(choices)}" if choices else f"{label}: none"
    guess = closest(word, choices)
    return f"did you mean '{guess}'? {allowed}" if guess else allowed


def mask_url(url: str) -> str:
    """A URL's password and secret query parameters as `********`; other text as it is."""
    return mask_url_passwords(url, MASK) if "://" in url else url


def is_plaintext_secret(key: str, value: object) -> bool:
    """A secret written into the file itself (not `env:`), or a URL carrying a password (not
    an `env:NAME` one: docs/storage.md)."""
    if isinstance(value, str):
        referenced = _URL_ENV_PASSWORD.sub(":@", value)
        if mask_url(referenced) != referenced:
            return True  # a URL (db, base_url) carrying a password
    return is_secret_key(key) and value not in (None, "") and env_reference(value) is None


def masked_value(key: str, value: object) -> object:
    """A setting's value for display: secrets masked, URL passwords masked in place (an
    `env:NAME` one is only a name, and shown)."""
    if not is_plaintext_secret(key, value):
        return value
    if isinstance(value, str) and mask_url(value) != value:
        return mask_url(value)
    return MASK


# Parsers take a `report` callback: `raise_first` stops at the first problem (normal runs), a
# collector keeps going (validate_config).
Report = Callable[[ConfigError], None]


OUTPUT_FORMATS = ("table", "tsv", "csv", "json")
"""Values of the `format` setting: how listings print (docs/cli.md, "Output")."""


def check_output_format(value: object, key_path: str) -> ConfigError | None:
    """INVALID_SETTING unless `value` is absent or one of OUTPUT_FORMATS, in any case (as
    `--format TSV` is)."""
    if value is None or (isinstance(value, str) and value.lower() in OUTPUT_FORMATS):
        return None
    hint = "one of: " + ", ".join(OUTPUT_FORMATS)
    return invalid_setting(key_path, value, "is not an output format", hint)


def raise_first(error: ConfigError) -> None:
    raise error
