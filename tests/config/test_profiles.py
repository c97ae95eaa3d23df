"""Profiles: precedence, structure errors naming the key path, routing and tracking settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsg_cli.config import (
    BUILTIN_SANDBOX,
    SANDBOX,
    select_profile,
)
from kmsg_cli.errors import ConfigError
from kmsg_cli.models import MessageType
from tests.config.helpers import (
    NO_FILE,
    TWO_PROFILES,
    loaded,
)

# ------------------------------------------------------------------------ profile selection

PRECEDENCE_FILE = """
default_profile = "fromfile"
[profiles.flag.providers.mock]
[profiles.envvar.providers.mock]
[profiles.fromfile.providers.mock]
"""


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        ("flag", {"KMSG_PROFILE": "envvar", "KMSG_PROVIDER": "mock"}, "flag"),
        (None, {"KMSG_PROFILE": "envvar", "KMSG_PROVIDER": "mock"}, "envvar"),
        (None, {"KMSG_PROVIDER": "mock"}, "env"),
        (None, {}, "fromfile"),
        (None, {"KMSG_PROFILE": " "}, "fromfile"),
    ],
    ids=[
        "flag-wins",
        "KMSG_PROFILE-beats-KMSG_PROVIDER",
        "env-only-beats-default",
        "default",
        "blank-env",
    ],
)
def test_profile_precedence(
    tmp_path: Path, flag: str | None, environ: dict[str, str], expected: str
) -> None:
    config = loaded(tmp_path, PRECEDENCE_FILE)
    assert select_profile(config, flag=flag, environ=environ).name == expected


def test_without_default_profile_the_sandbox_is_used(tmp_path: Path) -> None:
    config = loaded(tmp_path, "[profiles.prod.providers.mock]\n")
    assert select_profile(config, flag=None, environ={}) is BUILTIN_SANDBOX


def test_sandbox_defined_in_the_file_wins_over_the_builtin(tmp_path: Path) -> None:
    config = loaded(
        tmp_path, '[profiles.sandbox]\ntimezone = "UTC"\n[profiles.sandbox.providers.mock]\n'
    )
    profile = select_profile(config, flag=SANDBOX, environ={})
    assert profile.source == "file"
    assert profile.timezone == "UTC"


def test_unknown_profile_lists_available_names(tmp_path: Path) -> None:
    config = loaded(tmp_path, TWO_PROFILES)
    with pytest.raises(ConfigError) as info:
        select_profile(config, flag="prdo", environ={})
    error = info.value
    assert error.code == "UNKNOWN_PROFILE"
    assert error.field == "--profile"
    assert error.hint is not None
    assert "did you mean 'prod'" in error.hint
    assert all(name in error.hint for name in ("prod", "dev", "sandbox"))


def test_unknown_profile_without_a_file_suggests_config_init() -> None:
    with pytest.raises(ConfigError) as info:
        select_profile(NO_FILE, flag=None, environ={"KMSG_PROFILE": "prod"})
    assert info.value.code == "UNKNOWN_PROFILE"
    assert info.value.field == "KMSG_PROFILE"
    assert info.value.hint is not None and "kmsg config init" in info.value.hint


def test_default_profile_naming_a_missing_profile_is_unknown_profile(tmp_path: Path) -> None:
    config = loaded(tmp_path, 'default_profile = "gone"\n[profiles.prod.providers.mock]\n')
    with pytest.raises(ConfigError) as info:
        select_profile(config, flag=None, environ={})
    assert (info.value.code, info.value.field) == ("UNKNOWN_PROFILE", "default_profile")


def test_profile_fields_are_parsed(tmp_path: Path, isolated_env: Path) -> None:
    config = loaded(
        tmp_path,
        """
        [profiles.prod]
        db = "~/data/kmsg.sqlite"
        timezone = "UTC"
        auto_lms_bytes = 80
        default_provider = "a"
        [profiles.prod.routing]
        sms = "a"
        ALIMTALK = ["b", "a"]
        strategy = "round_robin"
        [profiles.prod.providers.a]
        type = "mock"
        [profiles.prod.providers.b]
        type = "mock"
        """,
    )
    profile = select_profile(config, flag="prod", environ={})
    assert profile.db == str(isolated_env / "data" / "kmsg.sqlite")
    assert (profile.timezone, profile.auto_lms_bytes, profile.default_provider) == ("UTC", 80, "a")
    assert dict(profile.routing) == {MessageType.SMS: ("a",), MessageType.ALIMTALK: ("b", "a")}
    assert profile.strategy == "round_robin"
    assert list(profile.providers) == ["a", "b"]


@pytest.mark.parametrize(
    ("profile_toml", "code", "field"),
    [
        ('tz = "UTC"', "UNKNOWN_KEY", "profiles.p.tz"),
        ('timezone = "Asia/Seul"', "INVALID_SETTING", "profiles.p.timezone"),
        ("auto_lms_bytes = 0", "INVALID_SETTING", "profiles.p.auto_lms_bytes"),
        ("auto_lms_bytes = 91", "INVALID_SETTING", "profiles.p.auto_lms_bytes"),
        ('default_provider = "nope"', "UNKNOWN_PROVIDER", "profiles.p.default_provider"),
        ('routing = { SMS = "nope" }', "UNKNOWN_PROVIDER", "profiles.p.routing.SMS"),
        ('routing = { SMSS = "m" }', "UNKNOWN_KEY", "profiles.p.routing.SMSS"),
        ('routing = { strategy = "random" }', "INVALID_SETTING", "profiles.p.routing.strategy"),
        ("routing = { SMS = [] }", "INVALID_SETTING", "profiles.p.routing.SMS"),
        (
            'providers.x = { type = "twilio" }',
            "UNKNOWN_PROVIDER_TYPE",
            "profiles.p.providers.x.type",
        ),
        ("providers.x = {}", "MISSING_SETTING", "profiles.p.providers.x.type"),
    ],
)
def test_profile_structure_errors_name_the_key_path(
    tmp_path: Path, profile_toml: str, code: str, field: str
) -> None:
    config = loaded(
        tmp_path, f"[profiles.p]\n{profile_toml}\n[profiles.p.providers.m]\ntype = 'mock'\n"
    )
    with pytest.raises(ConfigError) as info:
        select_profile(config, flag="p", environ={})
    assert (info.value.code, info.value.field) == (code, field)
    assert field in info.value.message
    assert "\n" not in info.value.message


def test_timezone_typo_gets_a_suggestion(tmp_path: Path) -> None:
    config = loaded(tmp_path, '[profiles.p]\ntimezone = "Asia/Seul"\n')
    with pytest.raises(ConfigError) as info:
        select_profile(config, flag="p", environ={})
    assert info.value.hint == "did you mean 'Asia/Seoul'?"


def test_provider_type_defaults_to_its_id(tmp_path: Path) -> None:
    config = loaded(tmp_path, '[profiles.p.providers.aligo]\napi_key = "env:K"\n')
    assert select_profile(config, flag="p", environ={}).providers["aligo"].type == "aligo"


def test_tracking_settings_are_read_per_profile(tmp_path: Path) -> None:
    text = """
[profiles.p.providers.mock]
[profiles.p.tracking]
backoff = ["10s", "1m", 300]
max_duration = "12h"
non_kakao_codes = ["3108", 3109]
concurrency = 8
"""
    profile = select_profile(loaded(tmp_path, text), flag="p", environ={})
    assert profile.tracking.backoff_ms == (10_000, 60_000, 300_000)
    assert profile.tracking.max_tracking_ms == 12 * 3_600_000
    assert profile.tracking.non_kakao_codes == ("3108", "3109")
    assert profile.tracking.concurrency == 8


def test_tracking_concurrency_defaults_to_four(tmp_path: Path) -> None:
    text = "[profiles.p.providers.mock]\n"
    assert select_profile(loaded(tmp_path, text), flag="p", environ={}).tracking.concurrency == 4


@pytest.mark.parametrize(
    "line",
    [
        'backoff = ["soon"]',
        "backoff = []",
        'max_duration = "-1h"',
        "colour = 1",
        "non_kakao_codes = 5",
        "concurrency = 0",
        "concurrency = 65",
        'concurrency = "4"',
        "concurrency = 2.5",
        "concurrency = true",
    ],
)
def test_bad_tracking_settings_are_reported(tmp_path: Path, line: str) -> None:
    text = f"[profiles.p.providers.mock]\n[profiles.p.tracking]\n{line}\n"
    with pytest.raises(ConfigError) as info:
        select_profile(loaded(tmp_path, text), flag="p", environ={})
    assert info.value.code in ("INVALID_SETTING", "UNKNOWN_KEY")
    assert (info.value.field or "").startswith("profiles.p.tracking")
