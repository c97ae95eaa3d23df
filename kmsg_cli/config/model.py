"""The configuration types the services use: a selected `Profile`, its providers, its tracking.

Importing this module reads no file and loads no TOML or platform-directory library, so the
sending, tracking and doctor services can depend on it alone. How the values get here is in
docs/configuration.md; the file is read by `kmsg_cli.config.loading` and parsed by
`kmsg_cli.config.parsing`.
"""

from collections.abc import Mapping
from dataclasses import field
from types import MappingProxyType
from typing import Any, NamedTuple

from kmsg_cli.config.keys import masked_value, raise_first
from kmsg_cli.models import MessageType, Record

SANDBOX = "sandbox"
STRATEGIES = ("first", "round_robin")
DEFAULT_TIMEZONE = "Asia/Seoul"
DEFAULT_AUTO_LMS_BYTES = 90


class Problem(NamedTuple):
    """One finding of `validate_config`."""

    level: str  # "error" | "warning"
    key_path: str
    code: str
    message: str
    hint: str | None = None  # what to do about it


class ProviderConfig(Record, frozen=True):
    """One `[profiles.NAME.providers.ID]` table, unresolved (values may hold `env:NAME`)."""

    id: str
    type: str
    values: Mapping[str, Any] = field(repr=False)  # may hold literal secrets
    key_path: str
    # Environment-only mode: {setting: variable} of the optional variables not set, so that a
    # message which needs one names the variable to export.
    unset_env: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, environ: Mapping[str, str]) -> dict[str, Any]:
        """Read `env:` references, apply defaults, check and coerce every setting.

        The result holds `id`, `type` and every known setting of the type (None when unset
        without a default; suffix lists as tuples). Raises the first `ConfigError` found.
        Resolution is lazy (done when the provider is used) so that one missing secret breaks
        only the provider that needs it.
        """
        from kmsg_cli.config.settings import resolve_settings

        resolved = resolve_settings(self, environ, raise_first)
        assert resolved is not None  # raise_first raises, so a failed resolution never gets here
        return resolved

    def describe(self) -> dict[str, Any]:
        """The raw settings for display: plaintext secrets masked, `env:` references kept."""
        shown: dict[str, Any] = {"type": self.type}
        for key, value in self.values.items():
            if key != "type":
                shown[key] = masked_value(key, value)
        return shown


DEFAULT_TRACKING_CONCURRENCY = 4
MAX_TRACKING_CONCURRENCY = 64


class TrackingSettings(NamedTuple):
    """`[profiles.NAME.tracking]`: delivery-check backoff, give-up time, and extra codes that
    earn a fallback (docs/channels.md, Fallback)."""

    backoff_ms: tuple[int, ...] = (30_000, 120_000, 600_000, 1_800_000, 7_200_000)
    max_tracking_ms: int = 86_400_000
    non_kakao_codes: tuple[str, ...] = ()  # AlimTalk and Brand Message
    non_rcs_codes: tuple[str, ...] = ()
    concurrency: int = DEFAULT_TRACKING_CONCURRENCY  # status lookups in flight at once


DEFAULT_TRACKING = TrackingSettings()  # immutable: one instance serves every profile
DEFAULT_DUPLICATE_WINDOW_MS = 24 * 3_600_000


class Profile(Record, frozen=True):
    """A selected profile: structure checked, provider secrets not yet read."""

    name: str
    source: str  # "builtin" | "file" | "environment"
    db: str | None
    timezone: str
    auto_lms_bytes: int
    default_provider: str | None
    routing: Mapping[MessageType, tuple[str, ...]]
    strategy: str
    providers: Mapping[str, ProviderConfig]
    tracking: TrackingSettings = DEFAULT_TRACKING
    # rows whose content was accepted this recently are not sent again (docs/duplicates.md)
    duplicate_window_ms: int = DEFAULT_DUPLICATE_WINDOW_MS
    output_format: str | None = None  # `format`: None = a table on a terminal, TSV in a pipe


BUILTIN_SANDBOX = Profile(
    name=SANDBOX,
    source="builtin",
    db=None,
    timezone=DEFAULT_TIMEZONE,
    auto_lms_bytes=DEFAULT_AUTO_LMS_BYTES,
    default_provider="mock",
    routing=MappingProxyType({}),
    strategy="first",
    providers=MappingProxyType(
        {
            "mock": ProviderConfig(
                "mock",
                "mock",
                MappingProxyType({"type": "mock"}),
                "profiles.sandbox.providers.mock",
            )
        }
    ),
)
"""The profile used when no other is chosen: the mock provider, which delivers nothing."""
