"""Where the config file and the default SQLite database live (docs/configuration.md, "File")."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from kmsg_cli.config.keys import config_error


def _linux_user_dir(variable: str, under_home: str) -> Path | None:
    """platformdirs' answer on Linux in the usual cases, without importing it (it costs every
    start): `$variable` when it is an absolute path, else `~/under_home` when HOME is one.
    None elsewhere (other systems, Android, no usable HOME): platformdirs decides."""
    if sys.platform != "linux" or "ANDROID_DATA" in os.environ:
        return None
    base = os.environ.get(variable, "")
    if os.path.isabs(base):
        return Path(base) / "kmsg"
    home = os.environ.get("HOME", "")
    return Path(home) / under_home / "kmsg" if os.path.isabs(home) else None


def default_config_path() -> Path:
    """`<user config dir>/kmsg/config.toml`."""
    found = _linux_user_dir("XDG_CONFIG_HOME", ".config")
    if found is None:
        import platformdirs

        found = Path(platformdirs.user_config_dir("kmsg"))
    return found / "config.toml"


def default_db_path() -> Path:
    """`<user data dir>/kmsg/kmsg.sqlite`."""
    found = _linux_user_dir("XDG_DATA_HOME", ".local/share")
    if found is None:
        import platformdirs

        found = Path(platformdirs.user_data_dir("kmsg"))
    return found / "kmsg.sqlite"


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


def database_key(target: str) -> str:
    """A database target in one spelling, to tell whether two profiles share one: a SQLite path
    made absolute, a URL as written."""
    if "://" in target or target == ":memory:":
        return target
    return os.path.abspath(os.path.expanduser(target))
