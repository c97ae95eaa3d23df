"""Provider settings: lazy env: resolution, defaults from the registry, coercion, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.config import (
    MASK,
    select_profile,
    validate_config,
)
from kmsg_cli.errors import ConfigError
from tests.config.helpers import (
    SENTINEL,
    SOLAPI_OK,
    loaded,
    provider,
)

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
    assert info.value.message == (
        "unknown setting profiles.p.providers.solapi.api_secert for solapi providers"
    )
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
