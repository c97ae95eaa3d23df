"""Shared by the config tests: writing a config file, loading it, building a provider table."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from kmsg_cli.config import LoadedConfig, ProviderConfig, load_config

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = "s3cr3t-SENTINEL-value"

TWO_PROFILES = """
default_profile = "prod"

[profiles.prod]
default_provider = "solapi"
[profiles.prod.providers.solapi]
api_key = "env:SOLAPI_API_KEY"
api_secret = "env:SOLAPI_API_SECRET"

[profiles.dev]
default_provider = "mock"
[profiles.dev.providers.mock]
type = "mock"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(0o600)
    return path


def loaded(tmp_path: Path, text: str) -> LoadedConfig:
    return load_config(write(tmp_path, text), "--config")


def provider(values: dict[str, Any], kind: str = "solapi") -> ProviderConfig:
    return ProviderConfig(kind, kind, {"type": kind, **values}, f"profiles.p.providers.{kind}")


SOLAPI_OK = {"api_key": "key", "api_secret": "secret"}
NO_FILE = LoadedConfig(path=Path("/nonexistent/kmsg/config.toml"), source="default", exists=False)

PLAINTEXT = """
[profiles.prod]
db = "postgresql://kmsg:dbpass-SENTINEL@db.example.com/kmsg"
[profiles.prod.providers.solapi]
api_key = "s3cr3t-SENTINEL-value"
api_secret = "env:SOLAPI_API_SECRET"
sender = "0212345678"
"""
