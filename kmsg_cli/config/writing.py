"""Writing config text: the starter file of `config init`, the wizard's file, the tables of
`config add-provider`, and the masked copy that `config show` prints.

Files are created with mode 0600 from the first byte (docs/configuration.md, "File").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kmsg_cli.config.keys import (
    config_error,
    env_reference,
    join_key,
    masked_value,
    unknown_hint,
)
from kmsg_cli.config.loading import LoadedConfig
from kmsg_cli.config.settings import bad_reference, coerce_setting
from kmsg_cli.errors import ConfigError
from kmsg_cli.files import make_private_parents
from kmsg_cli.providers.catalog import SETTINGS

# tomli_w is imported inside the functions that use it: most runs never write TOML.

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
# timezone = "Asia/Seoul"           # for --at times without an offset, and times shown
# format = "table"                  # listings: table, tsv, csv or json (default: by terminal)
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

_GENERATED_HEADER = """\
# kmsg configuration, written by `kmsg config init`. Every key is documented in
# sample-config.toml (kmsg sources). "env:NAME" values are read from $NAME when the provider
# is used. The file was created with mode 0600 (owner only); keep it that way.

"""


def masked_data(config: LoadedConfig) -> dict[str, Any]:
    """A copy of the file data with plaintext secrets replaced by `********`."""

    def mask(data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, Mapping):
                out[key] = mask(value)
            else:
                out[key] = masked_value(key, value)
        return out

    return mask(config.data)


def dump_toml(data: Mapping[str, Any]) -> str:
    """Plain data (e.g. `masked_data(...)`) as TOML text."""
    import tomli_w

    return tomli_w.dumps(data)


def starter_config_text() -> str:
    """The commented config that `kmsg config init` writes; it selects the sandbox."""
    return _STARTER_CONFIG


def write_starter_config(path: Path, *, force: bool) -> Path:
    """Write the starter config with mode 0600 (new parents 0700); overwrite only when forced."""
    return write_config_file(path, _STARTER_CONFIG, force=force)


def config_exists_error(path: Path) -> ConfigError:
    """CONFIG_EXISTS: `kmsg config init` will not overwrite `path` without --force."""
    message = f"config file {path} already exists"
    return config_error("CONFIG_EXISTS", "path", message, str(path), "kmsg config init --force")


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
        raise config_error("CONFIG_UNWRITABLE", "path", message, str(path)) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    if force:
        # os.open applies its mode only when it creates the file; an old file keeps its mode.
        os.chmod(path, 0o600)
    return path


def provider_key_path(profile: str, provider_id: str) -> str:
    """`profiles.NAME.providers.ID`, spelled as TOML spells it."""
    return join_key(join_key(join_key("profiles", profile), "providers"), provider_id)


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


def provider_setting_value(kind: str, key: str, raw: str, key_path: str) -> Any:
    """The TOML value of one `KEY=VALUE` given on the command line for a `kind` provider.

    `env:NAME` stays a reference; anything else is checked and converted like a file value
    (numbers, booleans, suffix lists as "0000,1234"). Unknown keys are UNKNOWN_SETTING.
    """
    spec = SETTINGS[kind]
    if key not in spec:
        message = f"unknown setting '{key}' for {kind} providers"
        raise config_error("UNKNOWN_SETTING", key, message, key, unknown_hint(key, tuple(spec)))
    path = join_key(key_path, key)
    if env_reference(raw) is not None:
        return raw
    if raw.startswith("env:"):
        raise bad_reference(path, key, raw)
    value = coerce_setting(path, key, spec[key], raw, None)
    return list(value) if isinstance(value, tuple) else value
