"""What kmsg writes: the starter config, `config show`'s masked copy, and the sample config."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path

import pytest

from kmsg_cli.config import (
    MASK,
    PROVIDER_TYPES,
    SANDBOX,
    SETTINGS,
    dump_toml,
    load_config,
    masked_data,
    select_profile,
    starter_config_text,
    validate_config,
    write_starter_config,
)
from kmsg_cli.errors import ConfigError
from tests.config.helpers import (
    PLAINTEXT,
    ROOT,
    loaded,
)

# ------------------------------------------------------------------------------- config init


def test_write_starter_config_creates_an_owner_only_file(tmp_path: Path) -> None:
    path = write_starter_config(tmp_path / "new" / "kmsg" / "config.toml", force=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text(encoding="utf-8") == starter_config_text()


def test_write_starter_config_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        write_starter_config(path, force=False)
    assert info.value.code == "CONFIG_EXISTS"
    assert info.value.hint == "kmsg config init --force"
    assert path.read_text(encoding="utf-8") == "# mine\n"


def test_write_starter_config_with_force_overwrites_and_tightens_mode(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# a much longer old file that must be truncated entirely\n" * 50)
    path.chmod(0o644)
    write_starter_config(path, force=True)
    assert path.read_text(encoding="utf-8") == starter_config_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_starter_config_loads_validates_and_selects_the_sandbox(tmp_path: Path) -> None:
    text = starter_config_text()
    assert len(text.splitlines()) <= 45
    path = write_starter_config(tmp_path / "config.toml", force=False)
    config = load_config(path, "--config")
    profile = select_profile(config, flag=None, environ={})
    assert profile.name == SANDBOX
    assert profile.providers["mock"].resolve({})["type"] == "mock"
    assert validate_config(config, {}) == []
    assert "[profiles.prod.providers.solapi]" in text  # documented, commented out


def test_masked_data_hides_plaintext_secrets_and_keeps_env_refs(tmp_path: Path) -> None:
    data = masked_data(loaded(tmp_path, PLAINTEXT))
    solapi = data["profiles"]["prod"]["providers"]["solapi"]
    assert solapi == {
        "api_key": MASK,
        "api_secret": "env:SOLAPI_API_SECRET",
        "sender": "0212345678",
    }
    assert data["profiles"]["prod"]["db"] == f"postgresql://kmsg:{MASK}@db.example.com/kmsg"
    shown = dump_toml(data)
    assert "SENTINEL" not in shown
    assert tomllib.loads(shown) == data


# --------------------------------------------------------------------------- sample config


def test_sample_config_loads_and_every_profile_validates() -> None:
    path = ROOT / "sample-config.toml"
    text = path.read_text(encoding="utf-8")
    environ = dict.fromkeys(re.findall(r'"env:([A-Za-z_][A-Za-z0-9_]*)"', text), "x")
    config = load_config(path, "--config")
    assert len(config.profile_names()) >= 2
    for name in config.profile_names():
        profile = select_profile(config, flag=name, environ={})
        for provider_config in profile.providers.values():
            provider_config.resolve(environ)
    assert validate_config(config, environ) == []  # no errors, and no plaintext secret either


def test_sample_config_documents_every_provider_type_and_setting() -> None:
    text = (ROOT / "sample-config.toml").read_text(encoding="utf-8")
    config = load_config(ROOT / "sample-config.toml", "--config")
    providers = [
        p
        for name in config.profile_names()
        for p in select_profile(config, flag=name, environ={}).providers.values()
    ]
    assert {p.type for p in providers} == set(PROVIDER_TYPES)
    for kind, settings in SETTINGS.items():
        for key in settings:
            assert re.search(rf"^#? ?{key} = ", text, re.MULTILINE), f"{kind}.{key} undocumented"
