"""Where the config file and the default SQLite database live (docs/configuration.md, "File")."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import platformdirs

from kmsg_cli.config.keys import config_error


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
            raise config_error(
                "INVALID_SETTING", "--config", "--config was given an empty path", ""
            )
        return Path(flag).expanduser(), "--config"
    # A blank variable counts as unset: `KMSG_CONFIG= kmsg ...` is the usual way to clear it.
    from_env = environ.get("KMSG_CONFIG", "").strip()
    if from_env:
        return Path(from_env).expanduser(), "KMSG_CONFIG"
    return default_config_path(), "default"
