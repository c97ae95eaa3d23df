"""Environment-only mode: KMSG_PROVIDER builds a profile from the provider's variables."""

from __future__ import annotations

import pytest

from kmsg_cli.config import (
    ENV_VARIABLES,
    PROVIDER_TYPES,
    env_profile,
    select_profile,
)
from kmsg_cli.errors import ConfigError
from tests.config.helpers import (
    NO_FILE,
)

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
