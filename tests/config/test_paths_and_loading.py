"""Configuration paths and reading the file: precedence, parse errors, top-level checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kmsg_cli.config import (
    BUILTIN_SANDBOX,
    default_config_path,
    default_db_path,
    load_config,
    resolve_config_path,
    select_profile,
)
from kmsg_cli.errors import ConfigError
from tests.config.helpers import (
    ROOT,
    TWO_PROFILES,
    loaded,
    write,
)

# ------------------------------------------------------------------------------------- paths


def test_default_paths_live_in_the_user_dirs(isolated_env: Path) -> None:
    assert default_config_path() == isolated_env / ".config" / "kmsg" / "config.toml"
    assert default_db_path() == isolated_env / ".local" / "share" / "kmsg" / "kmsg.sqlite"


@pytest.mark.parametrize("xdg", [None, "", "relative/dir", "/abs/xdg", "/abs/xdg/"])
@pytest.mark.parametrize("home", [None, "/home/op", "/home/op/", "relative-home"])
def test_default_paths_are_platformdirs_answers(
    xdg: str | None, home: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kmsg finds the usual Linux answers without importing platformdirs; they are its own."""
    import platformdirs

    for name, value in (("XDG_CONFIG_HOME", xdg), ("XDG_DATA_HOME", xdg), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("ANDROID_DATA", raising=False)
    config_dir = Path(platformdirs.user_config_dir("kmsg"))
    data_dir = Path(platformdirs.user_data_dir("kmsg"))
    assert default_config_path() == config_dir / "config.toml"
    assert default_db_path() == data_dir / "kmsg.sqlite"


@pytest.mark.parametrize(
    ("flag", "environ", "expected", "source"),
    [
        ("/a/flag.toml", {"KMSG_CONFIG": "/a/env.toml"}, Path("/a/flag.toml"), "--config"),
        (None, {"KMSG_CONFIG": "/a/env.toml"}, Path("/a/env.toml"), "KMSG_CONFIG"),
        (None, {"KMSG_CONFIG": "  "}, None, "default"),
        (None, {}, None, "default"),
    ],
)
def test_config_path_precedence_is_flag_then_env_then_default(
    flag: str | None, environ: dict[str, str], expected: Path | None, source: str
) -> None:
    path, got_source = resolve_config_path(flag, environ)
    assert got_source == source
    assert path == (expected or default_config_path())


def test_config_path_expands_the_home_directory(isolated_env: Path) -> None:
    path, _ = resolve_config_path("~/kmsg.toml", {})
    assert path == isolated_env / "kmsg.toml"


# ------------------------------------------------------------------------------ loading file


def test_missing_default_file_is_fine_and_selects_the_builtin_sandbox() -> None:
    config = load_config(default_config_path(), "default")
    assert not config.exists
    assert config.data == {}
    profile = select_profile(config, flag=None, environ={})
    assert profile is BUILTIN_SANDBOX
    assert profile.providers["mock"].resolve({})["type"] == "mock"


@pytest.mark.parametrize("source", ["--config", "KMSG_CONFIG"])
def test_explicitly_named_missing_file_is_config_not_found(tmp_path: Path, source: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml", source)
    assert info.value.code == "CONFIG_NOT_FOUND"
    assert "nope.toml" in info.value.message
    assert info.value.hint == "kmsg config init --config PATH"


def test_parse_error_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_profile = "x"\n[profiles.prod]\ntimezone = \n')
    with pytest.raises(ConfigError) as info:
        load_config(path, "--config")
    assert info.value.code == "CONFIG_PARSE"
    assert "line 3" in info.value.message
    assert "\n" not in info.value.message


def test_unknown_top_level_key_suggests_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        loaded(tmp_path, 'default_profil = "prod"\n')
    assert info.value.code == "UNKNOWN_KEY"
    assert "default_profil" in info.value.message
    assert info.value.hint is not None and "did you mean 'default_profile'" in info.value.hint


def test_profile_names_keep_file_order(tmp_path: Path) -> None:
    config = loaded(tmp_path, TWO_PROFILES)
    assert config.profile_names() == ["prod", "dev"]
    assert config.default_profile == "prod"


# ------------------------------------------------------------------------- package imports

HEAVY = ("httpx", "sqlite3", "tomllib", "tomli_w", "platformdirs")


def _loaded_after(code: str) -> list[str]:
    """Which of HEAVY and the config modules a fresh interpreter has loaded after `code`."""
    script = (
        f"import sys\n{code}\n"
        f"names = [*{HEAVY!r}, *(m for m in sys.modules if m.startswith('kmsg_cli.config.'))]\n"
        "print(','.join(sorted(m for m in names if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=os.environ,
    )
    return [name for name in out.stdout.strip().split(",") if name]


def test_config_package_stays_cheap_to_import() -> None:
    assert _loaded_after("import kmsg_cli.config") == []


def test_the_types_of_the_services_load_no_file_io() -> None:
    loaded = _loaded_after("from kmsg_cli.config import Profile, ProviderConfig, TrackingSettings")
    assert loaded == ["kmsg_cli.config.keys", "kmsg_cli.config.model"]


def test_loading_a_file_does_not_load_the_toml_writer(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('default_profile = "sandbox"\n', encoding="utf-8")
    load = "from pathlib import Path\nfrom kmsg_cli.config import load_config, select_profile\n"
    loaded = _loaded_after(f"{load}load_config(Path({str(path)!r}), 'default')")
    assert "tomllib" in loaded and "kmsg_cli.config.profiles" in loaded
    assert "tomli_w" not in loaded and "kmsg_cli.config.writing" not in loaded


def test_without_a_config_file_no_toml_parser_is_loaded(tmp_path: Path) -> None:
    load = "from pathlib import Path\nfrom kmsg_cli.config import load_config\n"
    missing = str(tmp_path / "none.toml")
    loaded = _loaded_after(f"{load}assert not load_config(Path({missing!r}), 'default').exists")
    assert "kmsg_cli.config.loading" in loaded
    assert "tomllib" not in loaded


def test_every_exported_name_resolves_to_its_module() -> None:
    import importlib

    import kmsg_cli.config as package

    for module, names in package._EXPORTS.items():
        home = importlib.import_module(module)
        for name in names:
            assert getattr(package, name) is getattr(home, name), name
    assert sorted(package.__all__) == sorted(package._HOME)
    with pytest.raises(AttributeError, match="no attribute 'load_confg'"):
        package.load_confg  # noqa: B018
