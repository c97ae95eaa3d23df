"""The provider registry: one entry per provider type, known without importing any client code.

An entry says what the type can do (`Capabilities`), which settings its config table takes
(kind, default, bounds, whether the value is a secret, whether environment-only mode reads it),
which credentials it needs, and which client class sends for it. Config, routing, `providers
doctor`, shell completion and the config wizard all read this registry; the clients themselves
are imported only when a message is really sent (`kmsg_cli.providers.create_provider`).

docs/configuration.md lists every setting of every type; a test checks it against this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kmsg_cli.models import MessageType

ALL_TYPES = frozenset(MessageType)


@dataclass(frozen=True)
class Capabilities:
    types: frozenset[MessageType]
    scheduling: bool  # the vendor holds a message until a given time
    international: bool  # recipients outside Korea
    status_lookup: bool  # delivery status can be asked for
    balance: bool
    native_failover: bool  # AlimTalk -> SMS fallback done by the vendor
    max_batch: int  # messages per send request
    simulated: bool = False  # nothing real is ever delivered
    available: bool = True  # a client exists in this version
    summary: str = ""

    def supports(self, message_type: MessageType) -> bool:
        return message_type in self.types


@dataclass(frozen=True)
class Setting:
    """One key of a provider table: how its value is checked, its default, how it is shown."""

    kind: str  # "str" | "url" | "phone" | "int" | "float" | "bool" | "suffixes"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False  # never shown: masked by `config show`, <hidden> in errors
    env: bool = False  # environment-only mode reads it from <TYPE>_<KEY> (`env_variable`)
    credential: bool = False  # an account key or id that the config wizard asks for
    about: str = ""  # one line for docs/configuration.md and the wizard's questions


@dataclass(frozen=True)
class CredentialSet:
    """Credentials that only work together, for one of the APIs of a vendor."""

    name: str  # the config wizard's answer to "send with ...", e.g. "sms"
    label: str  # what the set sends, e.g. "SMS/LMS/MMS"
    keys: tuple[str, ...]  # all of them, or none
    extra: tuple[str, ...] = ()  # optional settings that belong with the set


@dataclass(frozen=True)
class ProviderType:
    """Everything kmsg knows about a provider type before any client code is imported."""

    name: str
    capabilities: Capabilities
    settings: Mapping[str, Setting]
    required: tuple[str, ...] = ()  # always required
    any_of: tuple[CredentialSet, ...] = ()  # when given: at least one whole set
    kakao_setting: str | None = None  # without it the type cannot send KakaoTalk messages
    factory: str | None = None  # "module:Class" of the client, imported on first use

    @property
    def own_settings(self) -> tuple[str, ...]:
        """The keys of this type that are not `COMMON_SETTINGS`, in table order."""
        return tuple(key for key in self.settings if key not in COMMON_SETTINGS)

    def env_variable(self, key: str) -> str:
        """The variable that holds `key` in environment-only mode, e.g. `SOLAPI_API_KEY`."""
        return f"{self.name}_{key}".upper()

    def env_settings(self) -> tuple[tuple[str, str, bool], ...]:
        """(setting, variable, required) for environment-only mode, in table order."""
        return tuple(
            (key, self.env_variable(key), key in self.required)
            for key, setting in self.settings.items()
            if setting.env
        )

    def credentials(self) -> tuple[tuple[str, bool], ...]:
        """(setting, required) of the credentials the config wizard asks for, in table order."""
        return tuple(
            (key, key in self.required)
            for key, setting in self.settings.items()
            if setting.credential
        )


def _batch_size(capabilities: Capabilities) -> Setting:
    return Setting(
        "int",
        1000,
        minimum=1,
        maximum=capabilities.max_batch,
        about="messages per send request",
    )


def _key(about: str, *, secret: bool = True, env: bool = True) -> Setting:
    return Setting("str", secret=secret, env=env, credential=True, about=about)


def _url(default: str, about: str) -> Setting:
    return Setting("url", default, env=True, about=about)


COMMON_SETTINGS: Mapping[str, Setting] = MappingProxyType(
    {
        "sender": Setting("phone", about="default sender number, registered with the vendor"),
        "connect_timeout": Setting(
            "float", 5.0, minimum=0.0, about="seconds to wait for a connection"
        ),
        "read_timeout": Setting("float", 30.0, minimum=0.0, about="seconds to wait for an answer"),
        "allow_insecure": Setting(
            "bool", False, about="permit plain http:// to a host that is not loopback"
        ),
    }
)
"""Settings every provider type takes (environment-only mode: `KMSG_SENDER` for `sender`)."""

_SOLAPI = Capabilities(
    types=ALL_TYPES,
    scheduling=True,
    international=True,
    status_lookup=True,
    balance=True,
    native_failover=True,
    max_batch=10_000,
    summary="SOLAPI REST API",
)
_IWINV = Capabilities(
    types=frozenset({MessageType.SMS, MessageType.LMS, MessageType.MMS, MessageType.ALIMTALK}),
    scheduling=True,
    international=False,
    status_lookup=True,
    balance=True,
    native_failover=True,
    max_batch=1_000,
    summary="IWINV AlimTalk and SMS APIs",
)
_ALIGO = Capabilities(
    types=ALL_TYPES,
    scheduling=True,
    international=False,
    status_lookup=True,
    balance=True,
    native_failover=True,
    max_batch=1_000,
    summary="Aligo SMS and Kakao APIs",
)
_MOCK = Capabilities(
    types=ALL_TYPES,
    scheduling=True,
    international=True,
    status_lookup=True,
    balance=False,
    native_failover=False,
    max_batch=10_000,
    simulated=True,
    summary="in-process simulator for demos and tests; no real message is delivered",
)

_KAKAO_NOTE = "for AlimTalk/FriendTalk"

PROVIDERS: Mapping[str, ProviderType] = MappingProxyType(
    {
        "solapi": ProviderType(
            name="solapi",
            capabilities=_SOLAPI,
            settings={
                "api_key": _key("API key"),
                "api_secret": _key("API secret"),
                "kakao_pf_id": _key(f"KakaoTalk channel id (pfId, {_KAKAO_NOTE})", secret=False),
                "base_url": _url("https://api.solapi.com", "API address"),
                "batch_size": _batch_size(_SOLAPI),
                **COMMON_SETTINGS,
            },
            required=("api_key", "api_secret"),
            kakao_setting="kakao_pf_id",
            factory="kmsg_cli.providers.solapi:SolapiProvider",
        ),
        "iwinv": ProviderType(
            name="iwinv",
            capabilities=_IWINV,
            settings={
                "api_key": _key("API key"),
                "sms_api_key": _key("SMS API key"),
                "sms_auth_key": _key("SMS auth key"),
                "sms_company_id": _key("SMS company id", secret=False),
                "alimtalk_base_url": _url(
                    "https://alimtalk.bizservice.iwinv.kr", "AlimTalk API address"
                ),
                "sms_base_url": _url("https://sms.bizservice.iwinv.kr", "SMS API address"),
                "batch_size": _batch_size(_IWINV),
                **COMMON_SETTINGS,
            },
            any_of=(
                CredentialSet("alimtalk", "AlimTalk", ("api_key",)),
                CredentialSet(
                    "sms", "SMS/LMS/MMS", ("sms_api_key", "sms_auth_key"), ("sms_company_id",)
                ),
            ),
            kakao_setting="api_key",
            factory="kmsg_cli.providers.iwinv:IwinvProvider",
        ),
        "aligo": ProviderType(
            name="aligo",
            capabilities=_ALIGO,
            settings={
                "api_key": _key("API key"),
                "user_id": _key("user id", secret=False),
                "sender_key": _key(f"KakaoTalk sender key ({_KAKAO_NOTE})"),
                "sms_base_url": _url("https://apis.aligo.in", "SMS API address"),
                "kakao_base_url": _url("https://kakaoapi.aligo.in", "Kakao API address"),
                "testmode": Setting(
                    "bool", False, env=True, about="Aligo accepts messages but delivers none"
                ),
                "batch_size": _batch_size(_ALIGO),
                **COMMON_SETTINGS,
            },
            required=("api_key", "user_id"),
            kakao_setting="sender_key",
            factory="kmsg_cli.providers.aligo:AligoProvider",
        ),
        "mock": ProviderType(
            name="mock",
            capabilities=_MOCK,
            settings={
                "reject_suffixes": Setting(
                    "suffixes", ("0000",), about="recipients ending in these digits are rejected"
                ),
                "unavailable_suffixes": Setting(
                    "suffixes",
                    ("0503",),
                    about="recipients ending in these digits fail like an outage (retryable)",
                ),
                "latency_ms": Setting(
                    "int", 0, minimum=0, about="simulated delay per request, in milliseconds"
                ),
                **COMMON_SETTINGS,
            },
            factory="kmsg_cli.providers.mock:MockProvider",
        ),
    }
)
"""The provider types, in the order they are offered (the first is the wizard's default)."""

PROVIDER_TYPES: tuple[str, ...] = tuple(PROVIDERS)

CATALOG: Mapping[str, Capabilities] = MappingProxyType(
    {name: entry.capabilities for name, entry in PROVIDERS.items()}
)
"""Capabilities per provider type (routing, `providers list`, dry runs)."""

SETTINGS: Mapping[str, Mapping[str, Setting]] = MappingProxyType(
    {name: entry.settings for name, entry in PROVIDERS.items()}
)
"""Known settings per provider type (`config validate` and docs/configuration.md)."""

REQUIRED_SETTINGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {name: entry.required for name, entry in PROVIDERS.items()}
)
"""Always-required settings; iwinv instead needs one of its `any_of` credential sets."""

SECRET_SETTINGS: frozenset[str] = frozenset(
    key for entry in PROVIDERS.values() for key, setting in entry.settings.items() if setting.secret
)
"""Setting names whose values are never shown, whatever table they appear in."""

ENV_VARIABLES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {name: tuple(var for _, var, _ in entry.env_settings()) for name, entry in PROVIDERS.items()}
)
"""Provider variables of environment-only mode, per `KMSG_PROVIDER` type."""

REQUIRED_ENV_VARIABLES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        name: tuple(var for _, var, required in entry.env_settings() if required)
        for name, entry in PROVIDERS.items()
    }
)
"""The variables of `ENV_VARIABLES` that must be set (iwinv: one of its credential sets)."""

_UNKNOWN = Capabilities(
    types=frozenset(),
    scheduling=False,
    international=False,
    status_lookup=False,
    balance=False,
    native_failover=False,
    max_batch=1,
    available=False,
)


def capabilities(provider_type: str) -> Capabilities:
    """Capabilities of a provider type; unknown types can do nothing."""
    return CATALOG.get(provider_type, _UNKNOWN)
