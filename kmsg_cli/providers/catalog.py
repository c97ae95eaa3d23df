"""The provider registry: one entry per provider type, known without importing any client code.

An entry says what the type can do (`Capabilities`), which settings its config table takes
(kind, default, bounds, whether the value is a secret, whether environment-only mode reads it),
which credentials it needs, and which client class sends for it. Config, routing, `providers
doctor`, shell completion and the config wizard all read this registry; the clients themselves
are imported only when a message is really sent (`kmsg_cli.providers.create_provider`).

docs/configuration.md lists every setting of every type; a test checks it against this file.
The entries are named tuples, immutable records that cost next to nothing to define (a
dataclass costs a millisecond each, and every command that sends reads this registry). No
`from __future__ import annotations`: a named tuple compiles each annotation given as a string.
Vendor facts here (reservation windows, batch limits) cite their rule ids in docs/vendors/.
"""

import calendar
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, NamedTuple

from kmsg_cli.errors import InvalidInput
from kmsg_cli.models import MessageType

ALL_TYPES = frozenset(MessageType)
SMS_FAMILY = frozenset({MessageType.SMS, MessageType.LMS, MessageType.MMS})

# Korea has kept UTC+9 without daylight saving since 1988: a fixed offset is exact. The
# vendors' times (reservations, histories) are Korean wall-clock times.
KST = timezone(timedelta(hours=9), "KST")


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock time `months` calendar months later, in Korea time; a day the
    month lacks becomes its last day (2027-01-31 + 1 month = 2027-02-28)."""
    local = moment.astimezone(KST)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


class Window(NamedTuple):
    """How far ahead a vendor holds a scheduled message: at least `min_lead` ahead and before
    `max_lead` (or `max_months` calendar months, Korea time); `inclusive`: the upper bound
    itself is allowed. `rule` names the rule in docs/vendors/."""

    min_lead: timedelta = timedelta(0)
    max_lead: timedelta | None = None
    max_months: int = 0
    inclusive: bool = False
    rule: str = ""
    what: str = ""  # e.g. "IWINV SMS/LMS/MMS reservations"

    def earliest(self, now: datetime) -> datetime:
        return now + self.min_lead

    def latest(self, now: datetime) -> datetime | None:
        if self.max_months:
            return add_months(now, self.max_months)
        return now + self.max_lead if self.max_lead is not None else None

    def allows(self, at: datetime, now: datetime) -> bool:
        if at < self.earliest(now):
            return False
        latest = self.latest(now)
        if latest is None:
            return True
        return at <= latest if self.inclusive else at < latest

    def describe(self, now: datetime) -> str:
        """The rule and the allowed range in Korea time, for an error message."""
        span = f"at least {_duration(self.min_lead)} ahead"
        if self.max_months:
            limit = f"{self.max_months} month{'s' if self.max_months > 1 else ''}"
        elif self.max_lead is not None:
            limit = _duration(self.max_lead)
        else:
            limit = ""
        if limit:
            word = "at most" if self.inclusive else "less than"
            span += f" and {word} {limit} ahead"
        start = f"{self.earliest(now).astimezone(KST):%Y-%m-%d %H:%M} KST"
        latest = self.latest(now)
        if latest is None:
            allowed = f"from {start}"
        else:
            sign = "≤" if self.inclusive else "<"
            allowed = f"from {start} to {sign} {latest.astimezone(KST):%Y-%m-%d %H:%M} KST"
        return f"{self.what} must be {span} ({allowed})"

    def refusal(self, provider_id: str, at: datetime, now: datetime) -> InvalidInput | None:
        """The error for a message scheduled at `at` through `provider_id`, or None when the
        window holds it."""
        if self.allows(at, now):
            return None
        return InvalidInput(
            f"cannot schedule through provider '{provider_id}' for "
            f"{at.astimezone(KST):%Y-%m-%d %H:%M} KST: {self.describe(now)} [{self.rule}]",
            code="SCHEDULE_OUTSIDE_WINDOW",
            field="at",
            value=at.isoformat(),
            hint="choose a time inside the allowed range, or another provider (--provider)",
        )


def _duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes and minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day{'s' if days > 1 else ''}"
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class Capabilities(NamedTuple):
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
    windows: tuple[tuple[frozenset[MessageType], Window], ...] = ()  # reservation windows
    replacement: tuple[tuple[MessageType, str], ...] = ()  # a type it refuses -> what to use

    def supports(self, message_type: MessageType) -> bool:
        return message_type in self.types

    def window(self, message_type: MessageType) -> Window | None:
        """How far ahead the vendor schedules `message_type`; None: no documented bounds."""
        for types, window in self.windows:
            if message_type in types:
                return window
        return None

    def replaced_by(self, message_type: MessageType) -> str | None:
        """What to use instead of a type this vendor does not offer (any more), if known."""
        return dict(self.replacement).get(message_type)


class Setting(NamedTuple):
    """One key of a provider table: how its value is checked, its default, how it is shown."""

    kind: str  # "str" | "url" | "phone" | "int" | "float" | "bool" | "suffixes"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False  # never shown: masked by `config show`, <hidden> in errors
    env: bool = False  # environment-only mode reads it from <TYPE>_<KEY> (`env_variable`)
    credential: bool = False  # an account key or id that the config wizard asks for
    about: str = ""  # one line for docs/configuration.md and the wizard's questions
    # how kmsg talks to the account (timeouts, batch size), not which account or sender it is:
    # two tables of one id that differ only in these are one provider to a worker
    tuning: bool = False


class CredentialSet(NamedTuple):
    """Credentials that only work together, for one of the APIs of a vendor."""

    name: str  # the config wizard's answer to "send with ...", e.g. "sms"
    label: str  # what the set sends, e.g. "SMS/LMS/MMS"
    keys: tuple[str, ...]  # all of them, or none
    extra: tuple[str, ...] = ()  # optional settings that belong with the set


class ProviderType(NamedTuple):
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
        tuning=True,
    )


def _key(about: str, *, secret: bool = True, env: bool = True) -> Setting:
    return Setting("str", secret=secret, env=env, credential=True, about=about)


def _url(default: str, about: str) -> Setting:
    return Setting("url", default, env=True, about=about)


COMMON_SETTINGS: Mapping[str, Setting] = MappingProxyType(
    {
        "sender": Setting("phone", about="default sender number, registered with the vendor"),
        "connect_timeout": Setting(
            "float", 5.0, minimum=0.0, about="seconds to wait for a connection", tuning=True
        ),
        "read_timeout": Setting(
            "float", 30.0, minimum=0.0, about="seconds to wait for an answer", tuning=True
        ),
        "allow_insecure": Setting(
            "bool", False, about="permit plain http:// to a host that is not loopback", tuning=True
        ),
    }
)
"""Settings every provider type takes (environment-only mode: `KMSG_SENDER` for `sender`)."""

BRAND_MESSAGE = "Brand Message, Kakao's replacement for FriendTalk"


def _vendor(types: frozenset[MessageType], **facts: Any) -> Capabilities:
    """A real vendor: it schedules, reports delivery and a balance, and sends the AlimTalk's
    SMS fallback itself; `facts` are the rest (international, max_batch, windows, ...)."""
    common = {"scheduling": True, "status_lookup": True, "balance": True, "native_failover": True}
    return Capabilities(types=types, **{**common, **facts})


_SOLAPI = _vendor(
    ALL_TYPES,
    international=True,
    max_batch=10_000,
    summary="SOLAPI REST API",
    windows=(
        (
            ALL_TYPES,
            Window(max_months=6, inclusive=True, rule="SOLAPI-SCHED-WINDOW", what="SOLAPI sends"),
        ),
    ),
)
_IWINV = _vendor(
    SMS_FAMILY | {MessageType.ALIMTALK},
    international=False,
    max_batch=1_000,
    summary="IWINV AlimTalk and SMS APIs",
    windows=(
        (
            SMS_FAMILY,
            Window(
                min_lead=timedelta(minutes=15),
                max_months=1,
                rule="IWINV-SMS-WINDOW",
                what="IWINV SMS/LMS/MMS reservations",
            ),
        ),
        (
            frozenset({MessageType.ALIMTALK}),
            Window(
                min_lead=timedelta(minutes=15),
                max_lead=timedelta(days=2),
                inclusive=True,
                rule="IWINV-AT-WINDOW",
                what="IWINV AlimTalk reservations",
            ),
        ),
    ),
    replacement=((MessageType.FRIENDTALK, BRAND_MESSAGE),),  # IWINV-NO-FT
)
_ALIGO = _vendor(
    SMS_FAMILY | {MessageType.ALIMTALK, MessageType.FRIENDTALK},  # ALIGO-NO-BMS
    international=False,
    max_batch=1_000,
    summary="Aligo SMS and Kakao APIs",
    windows=(
        (
            SMS_FAMILY,
            Window(
                min_lead=timedelta(minutes=10),
                rule="ALIGO-SMS-RESERVE",
                what="Aligo SMS/LMS/MMS reservations",
            ),
        ),
    ),
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
_IMAGE_LINK = Setting(
    "url", about="where a tap on a FriendTalk image leads (SOLAPI requires one for images)"
)


def _vendor_type(
    name: str, capabilities: Capabilities, settings: Mapping[str, Setting], **rest: Any
) -> ProviderType:
    """A real vendor's entry: its own settings, then `batch_size` up to what the vendor takes
    in one request and the `COMMON_SETTINGS`."""
    return ProviderType(
        name=name,
        capabilities=capabilities,
        settings={**settings, "batch_size": _batch_size(capabilities), **COMMON_SETTINGS},
        **rest,
    )


PROVIDERS: Mapping[str, ProviderType] = MappingProxyType(
    {
        "solapi": _vendor_type(
            "solapi",
            _SOLAPI,
            {
                "api_key": _key("API key"),
                "api_secret": _key("API secret"),
                "kakao_pf_id": _key(
                    f"KakaoTalk channel id (pfId, {_KAKAO_NOTE}/Brand Message)", secret=False
                ),
                "rcs_brand_id": Setting(
                    "str", env=True, about="RCS brand id (brandId) for RCS messages"
                ),
                "naver_talk_id": Setting(
                    "str", env=True, about="Naver talk id (talkId) for Naver smart alerts (NSA)"
                ),
                "friendtalk_image_link": _IMAGE_LINK,
                "base_url": _url("https://api.solapi.com", "API address"),
            },
            required=("api_key", "api_secret"),
            kakao_setting="kakao_pf_id",
            factory="kmsg_cli.providers.solapi:SolapiProvider",
        ),
        "iwinv": _vendor_type(
            "iwinv",
            _IWINV,
            {
                "api_key": _key("API key"),
                "sms_api_key": _key("SMS API key"),
                "sms_auth_key": _key("SMS auth key"),
                "sms_company_id": _key("SMS company id", secret=False),
                "alimtalk_base_url": _url(
                    "https://alimtalk.bizservice.iwinv.kr", "AlimTalk API address"
                ),
                "sms_base_url": _url("https://sms.bizservice.iwinv.kr", "SMS API address"),
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
        "aligo": _vendor_type(
            "aligo",
            _ALIGO,
            {
                "api_key": _key("API key"),
                "user_id": _key("user id", secret=False),
                "sender_key": _key(f"KakaoTalk sender key ({_KAKAO_NOTE})"),
                "friendtalk_image_link": _IMAGE_LINK,
                "sms_base_url": _url("https://apis.aligo.in", "SMS API address"),
                "kakao_base_url": _url("https://kakaoapi.aligo.in", "Kakao API address"),
                "testmode": Setting(
                    "bool", False, env=True, about="Aligo accepts messages but delivers none"
                ),
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
                    "int",
                    0,
                    minimum=0,
                    about="simulated delay per request, in milliseconds",
                    tuning=True,
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

UNSET_ENV = "unset_env"
"""The key, in resolved settings, of {setting: variable} for the optional settings that are
`env:` references to variables not set (docs/configuration.md, "env: references")."""

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


def any_real(provider_types: Iterable[str]) -> bool:
    """Whether one of these provider types delivers for real (is not the simulated mock)."""
    return any(not capabilities(kind).simulated for kind in provider_types)


def senders_of(message_type: MessageType) -> tuple[str, ...]:
    """The provider types that deliver `message_type` for real (the mock excluded)."""
    return tuple(
        name for name, caps in CATALOG.items() if caps.supports(message_type) and not caps.simulated
    )
