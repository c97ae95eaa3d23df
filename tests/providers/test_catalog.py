"""The provider registry is consistent: every fact that config, routing, doctor and the wizard
read from it fits the others (settings, credentials, environment variables, client classes)."""

from __future__ import annotations

import importlib

import pytest

from kmsg_cli.config.settings import coerce_setting
from kmsg_cli.errors import UnsupportedFeature
from kmsg_cli.providers import create_provider
from kmsg_cli.providers.catalog import (
    CATALOG,
    ENV_VARIABLES,
    PROVIDER_TYPES,
    PROVIDERS,
    REQUIRED_ENV_VARIABLES,
    SECRET_SETTINGS,
    capabilities,
)

KINDS = list(PROVIDERS)


def test_provider_types_are_offered_solapi_first() -> None:
    assert PROVIDER_TYPES == ("solapi", "iwinv", "aligo", "mock")
    assert list(CATALOG) == list(PROVIDER_TYPES)


@pytest.mark.parametrize("kind", KINDS)
def test_factory_names_a_client_with_the_registry_capabilities(kind: str) -> None:
    entry = PROVIDERS[kind]
    assert entry.name == kind and entry.factory is not None
    module, _, attr = entry.factory.partition(":")
    client = getattr(importlib.import_module(module), attr)
    assert client.capabilities is CATALOG[kind]


def test_create_provider_builds_the_registry_client_and_refuses_unknown_types() -> None:
    mock = create_provider("m", {"type": "mock"})
    factory = PROVIDERS["mock"].factory
    assert factory is not None and type(mock).__name__ == factory.rpartition(":")[2]
    with pytest.raises(UnsupportedFeature) as info:
        create_provider("x", {"type": "twilio"})
    assert info.value.code == "PROVIDER_NOT_AVAILABLE"
    assert not capabilities("twilio").available


@pytest.mark.parametrize("kind", KINDS)
def test_every_default_is_a_valid_value_of_its_setting(kind: str) -> None:
    for key, setting in PROVIDERS[kind].settings.items():
        if setting.default is None:
            continue
        value = coerce_setting(f"{kind}.{key}", key, setting, setting.default, None)
        assert value == setting.default, key
        if setting.kind == "url":
            assert setting.default.startswith("https://"), key


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_have_no_default_and_are_known_secret(kind: str) -> None:
    for key, setting in PROVIDERS[kind].settings.items():
        if setting.secret:
            assert setting.default is None and key in SECRET_SETTINGS, key


@pytest.mark.parametrize("kind", KINDS)
def test_batch_size_is_bounded_by_what_one_request_may_carry(kind: str) -> None:
    setting = PROVIDERS[kind].settings.get("batch_size")
    if setting is not None:
        assert setting.maximum == CATALOG[kind].max_batch
        assert setting.default <= CATALOG[kind].max_batch


@pytest.mark.parametrize("kind", KINDS)
def test_credentials_and_kakao_setting_are_settings_of_the_type(kind: str) -> None:
    entry = PROVIDERS[kind]
    named = {*entry.required, entry.kakao_setting} - {None}
    for group in entry.any_of:
        named |= {*group.keys, *group.extra}
    assert named <= set(entry.settings)
    # environment-only mode must be able to supply whatever the type needs
    for key in entry.required:
        assert entry.settings[key].env and entry.env_variable(key) in REQUIRED_ENV_VARIABLES[kind]
    for group in entry.any_of:
        assert all(entry.settings[key].env for key in (*group.keys, *group.extra))
        assert not set(group.keys) & set(entry.required)


def test_environment_variables_follow_the_type_and_setting_names() -> None:
    assert ENV_VARIABLES["solapi"][:2] == ("SOLAPI_API_KEY", "SOLAPI_API_SECRET")
    assert REQUIRED_ENV_VARIABLES["iwinv"] == ()  # one of its credential sets instead
    for kind, entry in PROVIDERS.items():
        for key, variable, _ in entry.env_settings():
            assert variable == f"{kind}_{key}".upper()


def test_any_real_tells_the_sandbox_from_a_profile_that_delivers() -> None:
    from kmsg_cli.providers.catalog import any_real

    assert not any_real(["mock"]) and not any_real([])
    assert any_real(["mock", "solapi"]) and any_real(["iwinv"])
