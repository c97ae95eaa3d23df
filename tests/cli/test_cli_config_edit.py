"""`kmsg config get | set | unset`: one key of the file, edited in place and checked."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.config import editing
from kmsg_cli.errors import ConfigError
from tests.conftest import Run

SECRET = "sk-SENTINEL-0123456789"


def _load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _with_solapi(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOLAPI_API_KEY", "k")
    monkeypatch.setenv("SOLAPI_API_SECRET", "s")
    added = run("-p", "prod", "config", "add-provider", "solapi", "--set", "sender=0212345678")
    assert added.exit_code == 0, added.stderr


def test_set_keeps_every_comment_and_the_mode_and_get_reads_it_back(
    run: Run, starter: Path
) -> None:
    original = starter.read_text(encoding="utf-8")
    result = run("config", "set", "profiles.sandbox.timezone", "UTC")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f'set profiles.sandbox.timezone = "UTC" in {starter}\n'
    text = starter.read_text(encoding="utf-8")
    comments = [line for line in original.splitlines() if line.startswith("#")]
    assert comments and comments == [line for line in text.splitlines() if line.startswith("#")]
    assert _load(starter)["profiles"]["sandbox"] == {
        "default_provider": "mock",
        "timezone": "UTC",
        "providers": {"mock": {"type": "mock"}},
    }
    assert stat.S_IMODE(os.stat(starter).st_mode) == 0o600
    assert not [p.name for p in starter.parent.iterdir() if p.name.endswith(".tmp")]
    got = run("config", "get", "profiles.sandbox.timezone")
    assert (got.exit_code, got.stdout) == (0, "UTC\n")  # plain text, for $(kmsg config get ...)
    code, doc = run.json("config", "get", "profiles.sandbox.timezone")
    assert code == 0 and doc["data"]["value"] == "UTC"


def test_a_linked_config_file_stays_a_link(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "kmsg.toml"
    real.write_text('default_profile = "sandbox"\n', encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    monkeypatch.setenv("KMSG_CONFIG", str(link))
    assert run("config", "set", "profiles.sandbox.timezone", "UTC").exit_code == 0
    assert link.is_symlink() and _load(real)["profiles"]["sandbox"]["timezone"] == "UTC"
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640  # the mode it had
    assert sorted(p.name for p in dotfiles.iterdir()) == ["kmsg.toml"]


def test_values_are_typed_as_the_file_would_type_them(run: Run, starter: Path) -> None:
    assert run("config", "set", "profiles.sandbox.auto_lms_bytes", "80").exit_code == 0
    routing = run("config", "set", "profiles.sandbox.routing.SMS", '["mock"]')
    assert routing.exit_code == 0, routing.stderr
    assert 'routing.SMS = ["mock"]' in routing.stdout
    reject = run("config", "set", "profiles.sandbox.providers.mock.reject_suffixes", "0000,1234")
    assert reject.exit_code == 0, reject.stderr
    table = _load(starter)["profiles"]["sandbox"]
    assert table["auto_lms_bytes"] == 80 and table["routing"] == {"SMS": ["mock"]}
    assert table["providers"]["mock"]["reject_suffixes"] == ["0000", "1234"]
    # the profile now works with what was set: 1234 is refused by the mock
    sent = run("send", "--to", "010-2222-1234", "--text", "x" * 85)
    assert sent.exit_code == 3 and "LMS" in sent.stdout


def test_a_sender_number_stays_text(
    run: Run, starter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_solapi(run, monkeypatch)
    result = run("config", "set", "profiles.prod.providers.solapi.sender", "1588-1234")
    assert result.exit_code == 0, result.stderr
    assert _load(starter)["profiles"]["prod"]["providers"]["solapi"]["sender"] == "15881234"


def test_a_value_that_breaks_the_file_is_undone(run: Run, starter: Path) -> None:
    before = starter.read_bytes()
    result = run("config", "set", "profiles.sandbox.timezone", "Seoul")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        "error: INVALID_SETTING: profiles.sandbox.timezone = 'Seoul' is not a known IANA time "
        f"zone\nhint: did you mean 'Asia/Seoul'?; {starter} was left unchanged\n"
    )
    assert starter.read_bytes() == before
    bytes_ = run("config", "set", "profiles.sandbox.auto_lms_bytes", "lots")
    assert bytes_.exit_code == 2 and "auto_lms_bytes = 'lots'" in bytes_.stderr
    assert starter.read_bytes() == before


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("db", "hint: a profile's key: profiles.NAME.db, such as profiles.prod.db"),
        ("profile.prod.db", "hint: did you mean 'profiles'?"),
        ("profiles..db", "error: INVALID_KEY: 'profiles..db' is not a config key"),
        ("profiles.prod.db = 1", "error: INVALID_KEY"),
        ("default_profile.x", "error: INVALID_KEY: default_profile is a value, not a table"),
    ],
)
def test_a_mistyped_key_is_one_line_naming_it(
    run: Run, starter: Path, key: str, expected: str
) -> None:
    before = starter.read_bytes()
    result = run("config", "set", key, "x")
    assert result.exit_code == 2 and expected in result.stderr, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("error:") == 1
    assert starter.read_bytes() == before


def test_secrets_are_masked_and_a_literal_one_is_warned_about(
    run: Run, starter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_solapi(run, monkeypatch)
    key = "profiles.prod.providers.solapi.api_secret"
    result = run("config", "set", key, SECRET)
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "warning: PLAINTEXT_SECRET" in result.stderr
    assert f'{key} = "********"' in result.stdout
    for shown in (run("config", "get", key), run("config", "get", "profiles.prod")):
        assert shown.exit_code == 0 and "********" in shown.stdout
        assert SECRET not in shown.stdout + shown.stderr
    assert "[profiles.prod.providers.solapi]" in run("config", "get", "profiles.prod").stdout
    code, doc = run.json("config", "set", key, "env:KMSG_TEST_SECRET")
    assert code == 0 and doc["data"]["unset_env"] == ["KMSG_TEST_SECRET"]
    assert doc["data"]["value"] == "env:KMSG_TEST_SECRET" and not doc["warnings"]
    assert run("config", "get", key).stdout == "env:KMSG_TEST_SECRET\n"


def test_a_setting_is_checked_even_while_the_credentials_are_not_exported(
    run: Run, starter: Path
) -> None:
    added = run("-p", "prod", "config", "add-provider", "solapi", "--no-input")
    assert added.exit_code == 0, added.stderr  # api_key and api_secret: env:, not exported
    before = starter.read_bytes()
    key = "profiles.prod.providers.solapi.base_url"
    result = run("config", "set", key, "http://example.com")
    assert result.exit_code == 2 and "INSECURE_URL" in result.stderr, result.stderr
    assert starter.read_bytes() == before
    assert run("config", "set", key, "http://127.0.0.1:8089").exit_code == 0


def test_a_password_in_a_database_url_is_masked_and_warned_about(run: Run, starter: Path) -> None:
    url = f"postgresql://kmsg:{SECRET}@127.0.0.1/test"
    result = run("config", "set", "profiles.sandbox.db", url)
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "postgresql://kmsg:********@127.0.0.1/test" in result.stdout
    assert "warning: PLAINTEXT_SECRET: profiles.sandbox.db now holds a plaintext" in result.stderr
    shown = run("config", "get", "profiles.sandbox.db")
    assert shown.stdout == "postgresql://kmsg:********@127.0.0.1/test\n"
    quiet = run("config", "set", "profiles.sandbox.db", "postgresql://kmsg:env:PGPASS@127.0.0.1/t")
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr, quiet.stderr
    # a password given as env:NAME is only a name: shown, by get and by show
    named = "postgresql://kmsg:env:PGPASS@127.0.0.1/t"
    assert run("config", "get", "profiles.sandbox.db").stdout == f"{named}\n"
    assert f'db = "{named}"' in run("config", "show").stdout


def test_a_provider_is_added_whole_not_key_by_key(run: Run, starter: Path) -> None:
    before = starter.read_bytes()
    result = run("config", "set", "profiles.prod.providers.solapi.sender", "0212345678")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: NOT_SET: profiles.prod.providers.solapi does not exist: a provider is added "
        "whole, with its credentials\n"
        "hint: kmsg -p prod config add-provider solapi --set sender=...\n"
    )
    assert starter.read_bytes() == before


def test_unset_removes_and_refuses_what_other_settings_need(
    run: Run, starter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_solapi(run, monkeypatch)
    assert run("config", "set", "profiles.prod.routing.SMS", "solapi").exit_code == 0
    needed = run("config", "unset", "profiles.prod.providers.solapi")
    assert needed.exit_code == 2 and "UNKNOWN_PROVIDER" in needed.stderr
    assert "solapi" in _load(starter)["profiles"]["prod"]["providers"]
    removed = run("config", "unset", "profiles.prod.routing")
    assert (removed.exit_code, removed.stdout) == (
        0,
        f"removed profiles.prod.routing from {starter}\n",
    )
    assert "routing" not in _load(starter)["profiles"]["prod"]
    again = run("config", "unset", "profiles.prod.routing")
    assert again.exit_code == 2 and "NOT_SET: profiles.prod.routing is not set" in again.stderr


def test_get_of_a_key_not_set_fails_for_scripts(run: Run, starter: Path) -> None:
    result = run("config", "get", "profiles.sandbox.db")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: NOT_SET: profiles.sandbox.db is not set")


def test_without_a_config_file(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for args in (
        ("get", "default_profile"),
        ("set", "default_profile", "x"),
        ("unset", "default_profile"),
    ):
        result = run("config", *args)
        assert result.exit_code == 2, args
        assert result.stderr.startswith("error: CONFIG_NOT_FOUND: there is no config file at")
        assert "hint: kmsg config init writes one" in result.stderr
    assert not Path(run("config", "path").stdout.strip()).exists()  # nothing was created
    monkeypatch.setenv("KMSG_CONFIG", str(tmp_path / "none.toml"))
    named = run("config", "set", "default_profile", "x")
    assert named.exit_code == 2 and "none.toml (from KMSG_CONFIG) does not exist" in named.stderr
    assert not (tmp_path / "none.toml").exists()


def test_a_key_below_a_value_is_named_not_a_crash(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "odd.toml"
    path.write_text("[profiles.prod]\nproviders = 5\n", encoding="utf-8")
    for key in ("profiles.prod.providers.m.type", "profiles.prod.providers.x"):
        result = run("--config", str(path), "config", "set", key, "mock")
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith(
            "error: INVALID_KEY: profiles.prod.providers is a value, not a table"
        )
    assert path.read_text(encoding="utf-8") == "[profiles.prod]\nproviders = 5\n"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("90", 90),
        ("1.5", 1.5),
        ('["a", "b"]', ["a", "b"]),
        ("Asia/Seoul", "Asia/Seoul"),
        ("2026-12-07", "2026-12-07"),  # a date is text to kmsg
        ('"quoted"', "quoted"),
        ("env:NAME", "env:NAME"),
        ("1\nx = 2", "1\nx = 2"),
    ],
)
def test_typed_value_outside_providers(raw: str, value: object) -> None:
    assert editing.typed_value({}, ("profiles", "p", "key"), raw) == value


def test_parse_key_spells_quoted_parts() -> None:
    assert editing.parse_key('profiles.prod.providers."my id".sender') == (
        "profiles",
        "prod",
        "providers",
        "my id",
        "sender",
    )
    assert editing.key_text(("profiles", "prod", "providers", "my id")) == (
        'profiles.prod.providers."my id"'
    )
    with pytest.raises(ConfigError) as caught:
        editing.parse_key("profiles.a\nb")
    assert caught.value.code == "INVALID_KEY"
