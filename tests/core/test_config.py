"""Configuration: paths, profile precedence, lazy env: resolution, secrets, init and validation."""

from __future__ import annotations

import os
import re
import stat
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.config import (
    BUILTIN_SANDBOX,
    ENV_VARIABLES,
    MASK,
    PROVIDER_TYPES,
    SANDBOX,
    SETTINGS,
    LoadedConfig,
    ProviderConfig,
    default_config_path,
    default_db_path,
    dump_toml,
    env_profile,
    insecure_permissions_warning,
    load_config,
    masked_data,
    resolve_config_path,
    select_profile,
    starter_config_text,
    validate_config,
    write_starter_config,
)
from kmsg_cli.errors import ConfigError
from kmsg_cli.models import MessageType

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


# ------------------------------------------------------------------------------------- paths


def test_default_paths_live_in_the_user_dirs(isolated_env: Path) -> None:
    assert default_config_path() == isolated_env / ".config" / "kmsg" / "config.toml"
    assert default_db_path() == isolated_env / ".local" / "share" / "kmsg" / "kmsg.sqlite"


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


# ------------------------------------------------------------------------ lazy env resolution

LAZY = """
[profiles.prod]
[profiles.prod.providers.solapi]
api_key = "env:SOLAPI_API_KEY"
api_secret = "env:SOLAPI_API_SECRET"
[profiles.prod.providers.aligo]
api_key = "env:ALIGO_API_KEY"
user_id = "env:ALIGO_USER_ID"
"""


def test_a_missing_variable_breaks_only_its_own_provider(tmp_path: Path) -> None:
    environ = {"ALIGO_API_KEY": "k", "ALIGO_USER_ID": "u", "SOLAPI_API_KEY": "k"}
    profile = select_profile(loaded(tmp_path, LAZY), flag="prod", environ=environ)
    assert profile.providers["aligo"].resolve(environ)["user_id"] == "u"
    with pytest.raises(ConfigError) as info:
        profile.providers["solapi"].resolve(environ)
    assert info.value.code == "MISSING_ENV"


def test_missing_env_names_the_variable_and_the_key_path(tmp_path: Path) -> None:
    profile = select_profile(loaded(tmp_path, LAZY), flag="prod", environ={})
    with pytest.raises(ConfigError) as info:
        profile.providers["solapi"].resolve({"SOLAPI_API_KEY": "k", "SOLAPI_API_SECRET": "  "})
    error = info.value
    assert error.code == "MISSING_ENV"
    assert error.field == "profiles.prod.providers.solapi.api_secret"
    assert "SOLAPI_API_SECRET" in error.message
    assert "profiles.prod.providers.solapi.api_secret" in error.message
    assert error.hint == "export SOLAPI_API_SECRET=... or edit the config file"


def test_resolve_applies_defaults_and_returns_id_and_type() -> None:
    settings = provider(SOLAPI_OK).resolve({})
    assert settings["id"] == "solapi" and settings["type"] == "solapi"
    assert settings["base_url"] == "https://api.solapi.com"
    assert settings["batch_size"] == 1000
    assert (settings["connect_timeout"], settings["read_timeout"]) == (5.0, 30.0)
    assert settings["allow_insecure"] is False
    assert settings["sender"] is None


@pytest.mark.parametrize(
    ("key", "env_value", "expected"),
    [
        ("batch_size", "500", 500),
        ("connect_timeout", "2.5", 2.5),
        ("read_timeout", "10", 10.0),
        ("allow_insecure", "true", True),
        ("allow_insecure", "0", False),
        ("sender", " 0212345678\n", "0212345678"),
    ],
)
def test_values_from_the_environment_are_coerced(key: str, env_value: str, expected: Any) -> None:
    settings = provider({**SOLAPI_OK, key: "env:VALUE"}).resolve({"VALUE": env_value})
    assert settings[key] == expected
    assert type(settings[key]) is type(expected)


def test_mock_suffixes_come_from_lists_or_comma_separated_env() -> None:
    mock = provider({"reject_suffixes": "env:REJECT", "unavailable_suffixes": ["1", "22"]}, "mock")
    settings = mock.resolve({"REJECT": "0000, 9999"})
    assert settings["reject_suffixes"] == ("0000", "9999")
    assert settings["unavailable_suffixes"] == ("1", "22")
    assert provider({}, "mock").resolve({})["reject_suffixes"] == ("0000",)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10001}, "batch_size"),
        ({"batch_size": "many"}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"allow_insecure": "maybe"}, "allow_insecure"),
        ({"sender": 212345678}, "sender"),
        ({"base_url": "ftp://api.example.com"}, "base_url"),
        ({"api_key": "env:1BAD"}, "api_key"),
    ],
)
def test_invalid_values_name_key_path_and_value(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        provider({**SOLAPI_OK, **values}).resolve({})
    assert info.value.code == "INVALID_SETTING"
    assert info.value.field == f"profiles.p.providers.solapi.{field}"
    assert info.value.field in info.value.message


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("solapi", "api_secret", [SENTINEL]),
        ("solapi", "api_key", f"env:-{SENTINEL}"),
        ("aligo", "sender_key", {"nested": SENTINEL}),
        ("iwinv", "sms_auth_key", ["x", SENTINEL]),
    ],
)
def test_secret_values_never_appear_in_errors(kind: str, key: str, value: Any) -> None:
    base: dict[str, dict[str, Any]] = {
        "solapi": dict(SOLAPI_OK),
        "aligo": {"api_key": "k", "user_id": "u"},
        "iwinv": {"sms_api_key": "k"},
    }
    with pytest.raises(ConfigError) as info:
        provider({**base[kind], key: value}, kind).resolve({})
    error = info.value
    assert error.code == "INVALID_SETTING"
    assert error.field == f"profiles.p.providers.{kind}.{key}"
    assert "<hidden>" in error.message
    assert SENTINEL not in f"{error} {error.hint} {error.to_dict()}"


def test_unknown_setting_suggests_the_closest_name() -> None:
    with pytest.raises(ConfigError) as info:
        provider({**SOLAPI_OK, "api_secert": "x"}).resolve({})
    assert info.value.code == "UNKNOWN_SETTING"
    assert info.value.field == "profiles.p.providers.solapi.api_secert"
    assert info.value.hint is not None and "did you mean 'api_secret'" in info.value.hint


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("solapi", {"api_key": "k"}),
        ("aligo", {"api_key": "k"}),
        ("iwinv", {}),
        ("iwinv", {"sms_api_key": "k"}),
    ],
)
def test_required_settings_are_enforced(kind: str, values: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        provider(values, kind).resolve({})
    assert info.value.code == "MISSING_SETTING"


@pytest.mark.parametrize(
    "values",
    [{"api_key": "k"}, {"sms_api_key": "k", "sms_auth_key": "a"}],
    ids=["alimtalk-only", "sms-only"],
)
def test_iwinv_accepts_either_credential_set(values: dict[str, Any]) -> None:
    assert provider(values, "iwinv").resolve({})["type"] == "iwinv"


def test_iwinv_without_credentials_explains_both_options() -> None:
    with pytest.raises(ConfigError) as info:
        provider({}, "iwinv").resolve({})
    assert "api_key" in info.value.message and "sms_api_key + sms_auth_key" in info.value.message


@pytest.mark.parametrize(
    ("url", "allow_insecure", "ok"),
    [
        ("http://api.example.com", False, False),
        ("http://127.0.0.1:8080", False, True),
        ("http://127.9.9.9", False, True),
        ("http://[::1]:8080/v4", False, True),
        ("http://localhost:9000", False, True),
        ("http://api.example.com", True, True),
        ("https://api.example.com/", False, True),
    ],
)
def test_plain_http_is_refused_except_loopback_or_allow_insecure(
    url: str, allow_insecure: bool, ok: bool
) -> None:
    config = provider({**SOLAPI_OK, "base_url": url, "allow_insecure": allow_insecure})
    if ok:
        assert config.resolve({})["base_url"] == url.rstrip("/")
    else:
        with pytest.raises(ConfigError) as info:
            config.resolve({})
        assert info.value.code == "INSECURE_URL"
        assert info.value.field == "profiles.p.providers.solapi.base_url"
        assert url in info.value.message


def test_describe_masks_plaintext_secrets_but_keeps_env_references() -> None:
    config = provider({"api_key": SENTINEL, "api_secret": "env:SOLAPI_API_SECRET", "sender": "02"})
    assert config.describe() == {
        "type": "solapi",
        "api_key": MASK,
        "api_secret": "env:SOLAPI_API_SECRET",
        "sender": "02",
    }


# ---------------------------------------------------------------------- environment-only mode


def test_env_only_solapi_resolves_when_both_variables_are_set() -> None:
    environ = {
        "KMSG_PROVIDER": "solapi",
        "SOLAPI_API_KEY": "key",
        "SOLAPI_API_SECRET": "secret",
        "KMSG_SENDER": "0212345678",
    }
    profile = select_profile(NO_FILE, flag=None, environ=environ)
    assert (profile.name, profile.source, profile.default_provider) == (
        "env",
        "environment",
        "solapi",
    )
    settings = profile.providers["solapi"].resolve(environ)
    assert (settings["api_key"], settings["api_secret"]) == ("key", "secret")
    assert settings["sender"] == "0212345678"
    assert settings["kakao_pf_id"] is None
    assert settings["base_url"] == "https://api.solapi.com"


def test_env_only_solapi_missing_secret_names_the_variable() -> None:
    environ = {"KMSG_PROVIDER": "solapi", "SOLAPI_API_KEY": "key"}
    profile = select_profile(NO_FILE, flag=None, environ=environ)
    with pytest.raises(ConfigError) as info:
        profile.providers["solapi"].resolve(environ)
    assert info.value.code == "MISSING_ENV"
    assert "SOLAPI_API_SECRET" in info.value.message
    assert info.value.hint == "export SOLAPI_API_SECRET=..."


def test_env_only_optional_variables_are_referenced_only_when_set() -> None:
    environ = {"KMSG_PROVIDER": "solapi", "SOLAPI_BASE_URL": "http://127.0.0.1:9"}
    values = env_profile(environ).providers["solapi"].values
    assert values["base_url"] == "env:SOLAPI_BASE_URL"
    assert "kakao_pf_id" not in values and "sender" not in values


def test_env_only_timezone_and_unknown_type() -> None:
    assert env_profile({"KMSG_PROVIDER": "mock", "KMSG_TIMEZONE": "UTC"}).timezone == "UTC"
    with pytest.raises(ConfigError) as info:
        env_profile({"KMSG_PROVIDER": "solapii"})
    assert info.value.code == "UNKNOWN_PROVIDER_TYPE"
    assert info.value.hint is not None and "did you mean 'solapi'" in info.value.hint


def test_env_variables_are_documented_for_every_type() -> None:
    assert set(ENV_VARIABLES) == set(PROVIDER_TYPES)
    assert ENV_VARIABLES["solapi"][:2] == ("SOLAPI_API_KEY", "SOLAPI_API_SECRET")
    assert "ALIGO_TESTMODE" in ENV_VARIABLES["aligo"]


def test_env_only_iwinv_and_aligo_resolve_from_their_variables() -> None:
    iwinv = {"KMSG_PROVIDER": "iwinv", "IWINV_SMS_API_KEY": "k", "IWINV_SMS_AUTH_KEY": "a"}
    assert env_profile(iwinv).providers["iwinv"].resolve(iwinv)["sms_auth_key"] == "a"
    aligo = {
        "KMSG_PROVIDER": "aligo",
        "ALIGO_API_KEY": "k",
        "ALIGO_USER_ID": "u",
        "ALIGO_TESTMODE": "1",
    }
    assert env_profile(aligo).providers["aligo"].resolve(aligo)["testmode"] is True


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


# ------------------------------------------------------------------- masking and validation

PLAINTEXT = """
[profiles.prod]
db = "postgresql://kmsg:dbpass-SENTINEL@db.example.com/kmsg"
[profiles.prod.providers.solapi]
api_key = "s3cr3t-SENTINEL-value"
api_secret = "env:SOLAPI_API_SECRET"
sender = "0212345678"
"""


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


def test_insecure_permissions_warning_for_a_readable_file_with_secrets(tmp_path: Path) -> None:
    config = loaded(tmp_path, PLAINTEXT)
    assert insecure_permissions_warning(config) is None  # 0600
    config.path.chmod(0o644)
    warning = insecure_permissions_warning(config)
    assert warning is not None
    assert "0644" in warning and "chmod 600" in warning and "\n" not in warning
    assert "SENTINEL" not in warning
    codes = {problem.code for problem in validate_config(config, {"SOLAPI_API_SECRET": "x"})}
    assert {"INSECURE_PERMISSIONS", "PLAINTEXT_SECRET"} <= codes


def test_no_permission_warning_when_every_secret_is_an_env_reference(tmp_path: Path) -> None:
    config = loaded(tmp_path, TWO_PROFILES)
    config.path.chmod(0o644)
    assert insecure_permissions_warning(config) is None


def test_validate_config_collects_every_problem_at_once(tmp_path: Path) -> None:
    config = loaded(
        tmp_path,
        """
        default_profile = "missing"
        [profiles.a]
        timezone = "Mars/Base"
        default_provider = "nope"
        [profiles.a.providers.solapi]
        api_key = "env:SOLAPI_API_KEY"
        api_secret = "env:SOLAPI_API_SECRET"
        base_url = "http://api.example.com"
        [profiles.b.providers.aligo]
        api_key = "plain-key"
        usr_id = "u"
        """,
    )
    problems = validate_config(config, {"SOLAPI_API_KEY": "k"})
    found = {(p.level, p.code, p.key_path) for p in problems}
    assert {
        ("error", "UNKNOWN_PROFILE", "default_profile"),
        ("error", "INVALID_SETTING", "profiles.a.timezone"),
        ("error", "UNKNOWN_PROVIDER", "profiles.a.default_provider"),
        ("error", "MISSING_ENV", "profiles.a.providers.solapi.api_secret"),
        ("error", "UNKNOWN_SETTING", "profiles.b.providers.aligo.usr_id"),
        ("error", "MISSING_SETTING", "profiles.b.providers.aligo.user_id"),
        ("warning", "PLAINTEXT_SECRET", "profiles.b.providers.aligo.api_key"),
    } <= found
    levels = [p.level for p in problems]
    assert levels == sorted(levels, key=lambda level: level != "error")  # errors first
    assert all("plain-key" not in p.message for p in problems)


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


def test_config_module_stays_cheap_to_import() -> None:
    import subprocess
    import sys

    code = "import sys, kmsg_cli.config; print(sorted({'httpx', 'sqlite3'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=os.environ,
    )
    assert out.stdout.strip() == "[]"


def test_an_unset_optional_variable_leaves_the_setting_unset(tmp_path: Path) -> None:
    text = LAZY.replace(
        'api_secret = "env:SOLAPI_API_SECRET"',
        'api_secret = "env:SOLAPI_API_SECRET"\nkakao_pf_id = "env:SOLAPI_KAKAO_PF_ID"',
    )
    config = loaded(tmp_path, text)
    environ = {"SOLAPI_API_KEY": "k", "SOLAPI_API_SECRET": "s", "ALIGO_API_KEY": "a"}
    profile = select_profile(config, flag="prod", environ=environ)
    assert profile.providers["solapi"].resolve(environ)["kakao_pf_id"] is None
    problems = validate_config(config, environ)
    unset = [p for p in problems if p.code == "UNSET_ENV"]
    assert [p.level for p in unset] == ["warning"]
    assert "SOLAPI_KAKAO_PF_ID" in unset[0].message
    # the required ALIGO_USER_ID is still an error
    assert any(p.level == "error" and "ALIGO_USER_ID" in p.message for p in problems)


def test_tracking_settings_are_read_per_profile(tmp_path: Path) -> None:
    text = """
[profiles.p.providers.mock]
[profiles.p.tracking]
backoff = ["10s", "1m", 300]
max_duration = "12h"
non_kakao_codes = ["3108", 3109]
"""
    profile = select_profile(loaded(tmp_path, text), flag="p", environ={})
    assert profile.tracking.backoff_ms == (10_000, 60_000, 300_000)
    assert profile.tracking.max_tracking_ms == 12 * 3_600_000
    assert profile.tracking.non_kakao_codes == ("3108", "3109")


@pytest.mark.parametrize(
    "line",
    [
        'backoff = ["soon"]',
        "backoff = []",
        'max_duration = "-1h"',
        "colour = 1",
        "non_kakao_codes = 5",
    ],
)
def test_bad_tracking_settings_are_reported(tmp_path: Path, line: str) -> None:
    text = f"[profiles.p.providers.mock]\n[profiles.p.tracking]\n{line}\n"
    with pytest.raises(ConfigError) as info:
        select_profile(loaded(tmp_path, text), flag="p", environ={})
    assert info.value.code in ("INVALID_SETTING", "UNKNOWN_KEY")
    assert (info.value.field or "").startswith("profiles.p.tracking")
