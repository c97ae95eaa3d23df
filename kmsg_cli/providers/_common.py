"""What every vendor client needs: the provider base class, numbers and digits from vendor
answers, Korea time, the `#{name}` placeholder of AlimTalk templates, one-line vendor text,
settings, image files, and the send results and status updates made from vendor answers or
errors.

The vendor packages (`solapi`, `iwinv`, `aligo`) import these instead of keeping copies;
nothing here knows a vendor.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import httpx

from kmsg_cli.errors import (
    ConfigError,
    InvalidInput,
    KmsgError,
    ProviderError,
    quoted,
    scrub,
)
from kmsg_cli.models import (
    DeliveryStatus,
    Message,
    MessageType,
    Notice,
    SendResult,
    StatusUpdate,
    TemplateInfo,
)
from kmsg_cli.normalize.variables import GIVE_VARIABLES, give_value
from kmsg_cli.normalize.variables import placeholders as placeholders
from kmsg_cli.providers._http import Connection, requests_made
from kmsg_cli.providers.catalog import KST, PROVIDERS, UNSET_ENV, Capabilities

# `#{name}` in an AlimTalk template; `#{}` is literal text, not a variable.
PLACEHOLDER = re.compile(r"#\{([^{}]*)\}")

_NOT_DIGITS = re.compile(r"\D")

ClientT = TypeVar("ClientT", bound=Connection)


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- the provider base -----------------------------------------------------------------------
class VendorProvider(Generic[ClientT]):
    """What the vendor providers share: they are built from a provider id, its resolved
    settings, an optional injected httpx client (tests) and a clock; they talk to the vendor
    through `client` (made by `connect`) and close it with themselves. `batch_size` is the
    configured one within the bounds of the provider registry."""

    type: str

    def __init__(
        self,
        provider_id: str,
        settings: Mapping[str, Any],
        http: httpx.Client | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.id = provider_id
        self.clock = clock
        self.unset_env: Mapping[str, str] = settings.get(UNSET_ENV) or {}
        limits = PROVIDERS[self.type].settings["batch_size"]
        batch = int(settings.get("batch_size") or limits.default)
        self.batch_size = max(1, min(batch, int(limits.maximum or batch)))
        self.client = self.connect(settings, http)
        self.configure(settings)

    def connect(self, settings: Mapping[str, Any], http: httpx.Client | None) -> ClientT:
        """The vendor connection (credentials, base URLs, the HTTP client)."""
        raise NotImplementedError

    def configure(self, settings: Mapping[str, Any]) -> None:
        """Read the settings the provider itself uses (sender, batch size, ...)."""

    @property
    def http(self) -> httpx.Client:
        return self.client.http

    def requests_made(self) -> int:
        """HTTP requests this thread has made so far (`providers.base.RequestCounter`)."""
        return requests_made()

    def close(self) -> None:
        self.client.close()


class MemoryCache:
    """A `Cache` in this process's memory (what a provider uses unless it is given another)."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, datetime]] = {}

    def get(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def put(self, key: str, value: str, *, expires_at: datetime) -> None:
        self._values[key] = (value, expires_at)


_V = TypeVar("_V")


class ReadOnce(Generic[_V]):
    """What a vendor answered for each key (a template, say), read once per key and run,
    whichever thread asks first; a key `read` found nothing for (None) is not asked again."""

    def __init__(self, read: Callable[[str], _V | None]) -> None:
        self._read = read
        self._known: dict[str, _V | None] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> _V | None:
        with self._lock:
            if key not in self._known:
                self._known[key] = self._read(key)
            return self._known[key]


def url_setting(settings: Mapping[str, Any], provider_type: str, key: str) -> str:
    """A base URL setting without its trailing slash; the registry's default when unset."""
    value = text_setting(settings, key) or PROVIDERS[provider_type].settings[key].default
    return str(value).rstrip("/")


# -- numbers and text from vendor answers ----------------------------------------------------
def number(value: Any, *, commas: bool = False) -> float | None:
    """A finite number from a number or a numeric string; None otherwise (bools included).

    `commas=True` also reads thousands separators ("1,000")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        # str() of an int beyond 4300 digits raises ValueError too
        result = float(str(value).replace(",", "").strip() if commas else value)
    except (ValueError, OverflowError):  # OverflowError: an int beyond float range
        return None
    return result if math.isfinite(result) else None


def digits(value: Any) -> str:
    """Only the digits of a value ("010-1234-5678" -> "01012345678"; None -> "")."""
    return _NOT_DIGITS.sub("", str(value or ""))


def one_line(text: Any, limit: int = 200, secrets: Sequence[str] = ()) -> str:
    """Vendor text on one line, at most `limit` characters, with any secret blanked out
    (the registered ones too, before the cut, so that no part of one survives)."""
    line = scrub(" ".join(str(text or "").split()))
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return line[:limit] + ("…" if len(line) > limit else "")


def text_setting(settings: Mapping[str, Any], key: str) -> str | None:
    """A string setting without surrounding blanks; None when absent or blank."""
    value = settings.get(key)
    text = str(value).strip() if value is not None else ""
    return text or None


# -- Korea time ------------------------------------------------------------------------------
def to_kst(moment: datetime) -> datetime:
    """Korean wall-clock time of an instant; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(KST)


def kst_midnight(moment: datetime) -> datetime:
    """The start of the Korean day of an instant."""
    return to_kst(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def kst_epoch_ms(value: Any) -> int | None:
    """Epoch ms of a vendor timestamp in Korea time ("2026-11-22 10:00:05",
    "2026-11-22 10:00" or "20261122100005"); None when absent or unreadable."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    found = digits(value)
    if len(found) < 12 or found.startswith("0000"):
        return None
    found = (found + "00")[:14]
    try:
        moment = datetime.strptime(found, "%Y%m%d%H%M%S").replace(tzinfo=KST)
    except ValueError:
        return None
    return round(moment.timestamp() * 1000)


# -- AlimTalk placeholders (`placeholders` lists them, in order of first appearance) ---------


def variable_name(key: str) -> str:
    """A variable's bare name, whether written `name` or `#{name}`."""
    key = key.strip()
    match = PLACEHOLDER.fullmatch(key)
    return match.group(1).strip() if match else key


def render_template(content: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """Fill every `#{name}`; returns the text and the names without a value (in order)."""
    values = {variable_name(k): str(v) for k, v in variables.items()}
    missing: dict[str, None] = {}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in values:
            return values[name]
        missing.setdefault(name, None)
        return match.group(0)

    return PLACEHOLDER.sub(fill, content), list(missing)


def filled_template(message: Message, content: str | None) -> str | None:
    """An AlimTalk's registered template `content` filled in with the message's variables
    (`#{name}`s without a value stay as they are), or None without content or for another
    type (TemplateText)."""
    if content is None or message.type is not MessageType.ALIMTALK:
        return None
    return render_template(content, message.variables)[0]


def check_template_text(message: Message, content: str, vendor: str) -> None:
    """An AlimTalk delivers its registered template, filled in, whatever text the message
    carries: a `--text` that says something else (blanks aside) would not be what the
    recipient reads, so it is refused before sending (TEMPLATE_MISMATCH, docs/messages.md)."""
    if not message.text or not message.text.strip():
        return
    rendered, _ = render_template(content, message.variables)
    text, _ = render_template(message.text, message.variables)  # as written, or filled in
    if rendered.split() == text.split():
        return
    template_id = message.template_id or ""
    raise InvalidInput(
        f"the text {quoted(message.text, 40)} differs from AlimTalk template '{template_id}' as "
        f"{vendor} has it registered, and an AlimTalk delivers the template's text (field "
        "'text')",
        code="TEMPLATE_MISMATCH",
        field="text",
        value=message.text,
        hint="leave out --text (the template is filled from --var values), or give the "
        f"template's own text: {quoted(content)}",
    )


# -- errors and results ----------------------------------------------------------------------
def bad_response(
    provider_id: str, what: str, *, http_status: int | None = None, outcome_unknown: bool = False
) -> ProviderError:
    """An answer that cannot be read; for a send it may have been accepted anyway."""
    return ProviderError(
        f"unexpected answer from {provider_id}: {what}",
        code="PROVIDER_BAD_RESPONSE",
        provider_id=provider_id,
        http_status=http_status,
        outcome_unknown=outcome_unknown,
    )


def missing_setting(
    provider_id: str,
    key: str,
    env: str,
    needed_for: str,
    unset_env: Mapping[str, str] | None = None,
    instead: str = "",
) -> ConfigError:
    """A setting the message needs is not configured (with how to set it from `env`), or is
    an `env:` reference to a variable that is not set (`unset_env`, from the settings).
    `instead`: how a message may give the value itself, ending the hint (", or ...")."""
    variable = (unset_env or {}).get(key)
    if variable:
        return ConfigError(
            f"provider '{provider_id}' has no {key}, needed for {needed_for}: "
            f"env:{variable} is not set",
            code="MISSING_SETTING",
            field=key,
            value=f"env:{variable}",
            hint=f"export {variable}=...{instead}",
        )
    return ConfigError(
        f"provider '{provider_id}' has no {key}, needed for {needed_for}",
        code="MISSING_SETTING",
        field=key,
        hint=f'set {key} = "env:{env}" and export the variable{instead}',
    )


def coded_items(body: Any, list_key: str, code_key: str) -> list[tuple[str, Mapping[str, Any]]]:
    """(code, item) for each object of `body[list_key]` with a non-empty `code_key`: what a
    vendor's template list holds, whatever else the answer carries."""
    listed = body.get(list_key) if isinstance(body, Mapping) else None
    found = []
    for item in listed if isinstance(listed, list) else ():
        code = str(item.get(code_key) or "") if isinstance(item, Mapping) else ""
        if code:
            found.append((code, item))
    return found


class VendorTemplate(Protocol):
    """A template as a vendor module reads it (its own dataclass)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def content(self) -> str | None: ...


def template_infos(
    provider_id: str, templates: Iterable[VendorTemplate], approved: Collection[str]
) -> list[TemplateInfo]:
    """A vendor's templates as `kmsg providers templates` lists them: usable when the vendor
    gives no status or one of `approved`; the variables are the content's `#{name}`s."""
    return [
        TemplateInfo(
            provider_id=provider_id,
            code=found.code,
            name=found.name,
            status=found.status,
            usable=found.status is None or found.status in approved,
            content=found.content,
            variables=tuple(placeholders(found.content or "")),
        )
        for found in templates
    ]


def template_not_approved(template_id: str, status: str) -> InvalidInput:
    """An AlimTalk template the vendor lists as not approved: Kakao delivers approved ones
    only."""
    return InvalidInput(
        f"AlimTalk template '{template_id}' is not approved ({status})",
        code="TEMPLATE_NOT_APPROVED",
        field="template",
        value=template_id,
        hint="wait for Kakao's review or use an approved template",
    )


def missing_template_variables(template_id: str, names: Sequence[str]) -> InvalidInput:
    """`#{name}`s of an AlimTalk template that the message gives no value for."""
    listed = ", ".join(names)
    plural = "s" if len(names) > 1 else ""
    return InvalidInput(
        f"missing variable{plural} for template '{template_id}': {listed} ({give_value(names[0])})",
        code="MISSING_VARIABLE",
        field="variables",
        value=listed,
        hint=GIVE_VARIABLES,
    )


def schedule_refusal(
    capabilities: Capabilities,
    provider_id: str,
    message: Message,
    at: datetime | None,
    now: datetime,
) -> InvalidInput | None:
    """The refusal of `message` scheduled at `at` when the vendor's reservation window (the
    registry's `Capabilities.window`) does not hold that time at `now`; None otherwise."""
    window = capabilities.window(message.type)
    if at is None or window is None:
        return None
    return window.refusal(provider_id, at, now)


def missing_sender(message: Message, provider_id: str) -> InvalidInput:
    return InvalidInput(
        f"a sender number is required for {message.type.value} through '{provider_id}'",
        code="MISSING_SENDER",
        field="from",
        hint=(
            f"pass --from 0212345678, or set sender in provider '{provider_id}' "
            "(without a config file: export KMSG_SENDER=0212345678)"
        ),
    )


def accepted(
    message: Message,
    provider_id: str,
    *,
    scheduled: bool,
    provider_message_id: str,
    group_id: str | None,
    provider_code: str | None,
    native_failover: bool,
    raw: Mapping[str, Any],
    warnings: tuple[Notice, ...] = (),
) -> SendResult:
    """A message the provider took: PENDING until its scheduled time, else SENT."""
    return SendResult(
        message_id=message.message_id,
        provider_id=provider_id,
        accepted=True,
        status=DeliveryStatus.PENDING if scheduled else DeliveryStatus.SENT,
        provider_message_id=provider_message_id,
        group_id=group_id,
        provider_code=provider_code,
        native_failover=native_failover,
        warnings=warnings,
        raw=dict(raw),
    )


def refused(
    message: Message,
    provider_id: str,
    code: str,
    text: str,
    *,
    retryable: bool = False,
    outcome_unknown: bool = False,
    provider_code: str | None = None,
    group_id: str | None = None,
    raw: Mapping[str, Any] | None = None,
) -> SendResult:
    """A message the provider did not take (UNKNOWN when it may have taken it after all)."""
    return SendResult(
        message_id=message.message_id,
        provider_id=provider_id,
        accepted=False,
        status=DeliveryStatus.UNKNOWN if outcome_unknown else DeliveryStatus.FAILED,
        group_id=group_id,
        error_code=code,
        error_message=text,
        provider_code=provider_code,
        retryable=retryable,
        outcome_unknown=outcome_unknown,
        raw=dict(raw) if raw is not None else None,
    )


def result_from_error(message: Message, provider_id: str, error: KmsgError) -> SendResult:
    """The send result of one message whose request failed with `error` (or that was
    refused before any request): the error's code, text, vendor code and retry flags."""
    if isinstance(error, ProviderError):
        return refused(
            message,
            provider_id,
            error.code,
            error.message,
            retryable=error.retryable,
            outcome_unknown=error.outcome_unknown,
            provider_code=error.provider_code,
        )
    return refused(message, provider_id, error.code, error.message)


def status_update(
    item: Mapping[str, Any],
    provider_message_id: str,
    status: DeliveryStatus | None,
    *,
    code: str | None,
    text: str | None,
    sent_at: int | None,
    final_at: int | None,
    replaced: bool = False,
) -> StatusUpdate:
    """A vendor's history item as a status update; `final_at` is the delivery time of a
    DELIVERED message and the failure time of a FAILED one."""
    return StatusUpdate(
        provider_message_id=provider_message_id,
        status=status,
        provider_status_code=code or None,
        provider_status_message=text or None,
        sent_at=sent_at,
        delivered_at=final_at if status is DeliveryStatus.DELIVERED else None,
        failed_at=final_at if status is DeliveryStatus.FAILED else None,
        replaced=replaced,
        raw=dict(item),
    )


# -- image files -----------------------------------------------------------------------------
IMAGE_SIGNATURES: Mapping[str, tuple[bytes, ...]] = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "GIF": (b"GIF87a", b"GIF89a"),
}


def image_format(data: bytes) -> str | None:
    """JPEG, PNG or GIF by the file's first bytes; None for anything else."""
    for name, signatures in IMAGE_SIGNATURES.items():
        if data.startswith(signatures):
            return name
    return None


def check_image(
    path: str,
    *,
    limit: int,
    vendor: str,
    kind: str,
    formats: Sequence[str] = ("JPEG",),
    below: bool = False,
) -> bytes:
    """The bytes of an image that exists, fits the size limit (at most `limit` bytes, or
    `below`: strictly less) and is one of `formats` (empty: any); InvalidInput
    IMAGE_NOT_FOUND, IMAGE_TOO_LARGE or IMAGE_FORMAT otherwise (one read of at most
    `limit + 1` bytes: one more than allowed shows it is too large)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read image '{path}': {exc.strerror or type(exc).__name__}",
            code="IMAGE_NOT_FOUND",
            field="image",
            value=path,
        ) from None
    if len(data) > limit or (below and len(data) == limit):
        size = f"{limit // 1024} KB ({limit:,} bytes)" if limit % 1024 == 0 else f"{limit:,} bytes"
        bound = "smaller than" if below else "at most"
        raise InvalidInput(
            f"image '{path}' is too large: {vendor} {kind} images must be {bound} {size}",
            code="IMAGE_TOO_LARGE",
            field="image",
            value=path,
            hint=f"resize or recompress the image to {bound} {size}",
        )
    if formats and image_format(data) not in formats:
        allowed = ", ".join(formats[:-1]) + " or " + formats[-1] if len(formats) > 1 else formats[0]
        raise InvalidInput(
            f"image '{path}' is not a {allowed} file ({vendor} {kind} images must be {allowed})",
            code="IMAGE_FORMAT",
            field="image",
            value=path,
            hint=f"convert the image to {formats[0]}",
        )
    return data
