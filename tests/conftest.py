"""Shared fixtures: every test runs with a clean environment and private config/data dirs."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

_PREFIXES = ("KMSG_", "SOLAPI_", "IWINV_", "ALIGO_")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "rule(*ids): the rules of docs/vendors/*.md this test proves (tests/test_vendor_rules.py "
        "checks that every sourced rule is named by a test)",
    )


# Tests talk to fake vendors on 127.0.0.1 only. Every name the test process resolves goes
# through this guard: loopback resolves; the names reserved never to exist (RFC 2606/6761:
# .invalid, .test, .example) fail as an unknown name would, which some tests want; any other
# name (a vendor's real host above all) fails too, and fails the test that asked for it.
_real_getaddrinfo = socket.getaddrinfo
_RESERVED = (".invalid", ".test", ".example")
_reached_out: list[str] = []


def _loopback(name: str) -> bool:
    if name in ("", "localhost", "0.0.0.0", "::") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or _loopback(name.lower().rstrip(".")):
        return _real_getaddrinfo(host, *args, **kwargs)
    if not name.lower().rstrip(".").endswith(_RESERVED):
        _reached_out.append(name)
    raise socket.gaierror(socket.EAI_NONAME, f"tests stay on loopback: {name} is not resolved")


socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def stays_on_loopback() -> Iterator[None]:
    """Fails a test that tried to resolve a real host (a vendor's default base URL, ...)."""
    _reached_out.clear()
    yield
    reached, _reached_out[:] = list(_reached_out), []
    assert not reached, f"the test tried to reach {sorted(set(reached))}: use a fake on 127.0.0.1"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No KMSG_*/vendor variables leak in; config and data dirs live under tmp_path."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in {"NO_COLOR", "FORCE_COLOR"}:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("TZ", "UTC")
    yield home


class Run:
    """Invoke the kmsg app in-process (typer's CliRunner) with stdout and stderr apart."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def __call__(self, *args: str, input: str | None = None, db: bool = True) -> Any:
        from typer.testing import CliRunner

        from kmsg_cli.cli.app import app

        argv = [*(["--db", str(self.db)] if db else []), *args]
        return CliRunner().invoke(app, argv, input=input)

    def json(self, *args: str, input: str | None = None) -> tuple[int, dict[str, Any]]:
        result = self(*args, "--json", input=input)
        return result.exit_code, json.loads(result.stdout)

    def rows(self, sql: str = "SELECT * FROM kmsg_delivery_tracking") -> list[dict[str, Any]]:
        import sqlite3

        with closing(sqlite3.connect(self.db)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql)]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path / "kmsg.sqlite")


# Two profiles on one database, each with a provider the other does not have: the sandbox's
# `mock` and the other profile's `stand-in` (a mock too, under another id).
TWO_PROFILES = """
[profiles.sandbox]
default_provider = "mock"
[profiles.sandbox.providers.mock]
type = "mock"

[profiles.other]
default_provider = "stand-in"
[profiles.other.providers.stand-in]
type = "mock"
"""


@pytest.fixture
def two_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """KMSG_CONFIG names a file with TWO_PROFILES (`-p other` picks the second)."""
    config = tmp_path / "two-profiles.toml"
    config.write_text(TWO_PROFILES, encoding="utf-8")
    monkeypatch.setenv("KMSG_CONFIG", str(config))


@pytest.fixture
def starter(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The starter config of `kmsg config init`, selected through KMSG_CONFIG."""
    path = tmp_path / "config.toml"
    monkeypatch.setenv("KMSG_CONFIG", str(path))
    assert run("config", "init").exit_code == 0
    return path


# --- hypothesis profiles (the property tests are tests/test_properties*.py) -------------------
# HYPOTHESIS_PROFILE=ci (the default): reproducible runs sized for CI (no example database, so
# failures found by earlier runs are not replayed). HYPOTHESIS_PROFILE=long: 20x the examples of
# every property test (they scale their max_examples by this profile's), failures saved and
# replayed from .hypothesis/.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile(
    "ci", deadline=None, derandomize=True, database=None, print_blob=True
)
_hypothesis_settings.register_profile("long", deadline=None, max_examples=2000, print_blob=True)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
