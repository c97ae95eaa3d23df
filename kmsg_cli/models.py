"""The shared vocabulary of kmsg: message types, statuses, messages, results and rows.

Plain frozen dataclasses and enums, no I/O. Every other module speaks in these terms.

The dataclasses are made when their class is first instantiated (`deferred_dataclass`), not
when this module is imported: making one costs more than everything else here, and a command
uses a few of them (a dry run makes no `SendResult`, `Job` or `TrackingRow`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar, dataclass_transform

_C = TypeVar("_C", bound=type)
_MAKING = threading.Lock()


@dataclass_transform(field_specifiers=(field,))
def deferred_dataclass(*, frozen: bool = False) -> Callable[[_C], _C]:
    """`@dataclass(frozen=frozen)`, applied to the class when its first instance is made
    instead of at import; from then on the class is exactly that dataclass.

    Until then it is a plain class: `dataclasses.fields()` and `is_dataclass()` on the class
    itself answer once an instance exists. Not for classes that are subclassed."""

    def decorate(cls: _C) -> _C:
        def first_init(self: Any, *args: Any, **kwargs: Any) -> None:
            _make_dataclass(cls, frozen)
            vars(cls)["__init__"](self, *args, **kwargs)

        setattr(cls, "__init__", first_init)  # noqa: B010
        return cls

    return decorate


def _make_dataclass(cls: type, frozen: bool) -> None:
    """Make `cls` the dataclass `deferred_dataclass` promised (once, whatever the threads).

    Its `__init__` stays the first-use one until the dataclass's replaces it in one step (a
    class without `__init__` for a moment would fail a thread making an instance then): the
    dataclass `__init__` comes from a twin class of the same fields, the rest from `dataclass`
    itself, which keeps an `__init__` the class already has."""
    with _MAKING:
        if "__dataclass_fields__" in cls.__dict__:
            return
        names = (*cls.__annotations__, "__post_init__")
        body = {name: value for name, value in vars(cls).items() if name in names}
        twin = type(cls.__name__, (), {**body, "__annotations__": dict(cls.__annotations__)})
        twin.__module__, twin.__qualname__ = cls.__module__, cls.__qualname__
        init = vars(dataclass(frozen=frozen, repr=False, eq=False)(twin))["__init__"]
        dataclass(frozen=frozen)(cls)
        setattr(cls, "__init__", init)  # noqa: B010


class MessageType(StrEnum):
    SMS = "SMS"
    LMS = "LMS"
    MMS = "MMS"
    ALIMTALK = "ALIMTALK"
    FRIENDTALK = "FRIENDTALK"
    RCS_SMS = "RCS_SMS"
    RCS_LMS = "RCS_LMS"
    RCS_MMS = "RCS_MMS"
    RCS_TPL = "RCS_TPL"
    RCS_ITPL = "RCS_ITPL"
    RCS_LTPL = "RCS_LTPL"
    BMS_TEXT = "BMS_TEXT"
    BMS_IMAGE = "BMS_IMAGE"
    BMS_WIDE = "BMS_WIDE"
    BMS_WIDE_ITEM_LIST = "BMS_WIDE_ITEM_LIST"
    BMS_CAROUSEL_FEED = "BMS_CAROUSEL_FEED"
    BMS_PREMIUM_VIDEO = "BMS_PREMIUM_VIDEO"
    BMS_COMMERCE = "BMS_COMMERCE"
    BMS_CAROUSEL_COMMERCE = "BMS_CAROUSEL_COMMERCE"
    BMS_FREE = "BMS_FREE"
    VOICE = "VOICE"
    FAX = "FAX"
    NSA = "NSA"

    @property
    def channel(self) -> str:
        """The channel family: SMS (SMS/LMS/MMS), ALIMTALK, FRIENDTALK, RCS, BMS, VOICE,
        FAX or NSA (docs/channels.md)."""
        if self in (MessageType.SMS, MessageType.LMS, MessageType.MMS):
            return "SMS"
        return self.value.partition("_")[0]


RCS_TYPES = frozenset(t for t in MessageType if t.channel == "RCS")
BMS_TYPES = frozenset(t for t in MessageType if t.channel == "BMS")
KAKAO_TYPES = frozenset({MessageType.ALIMTALK, MessageType.FRIENDTALK, *BMS_TYPES})
CHANNEL_TYPES = frozenset(
    t for t in MessageType if t.channel in ("RCS", "BMS", "VOICE", "FAX", "NSA")
)
"""The types whose rules and options live in `kmsg_cli.channels`."""


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.CANCELLED,
        DeliveryStatus.UNKNOWN,
    }
)


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"  # taken back by `kmsg cancel` before any worker claimed it


@deferred_dataclass(frozen=True)
class Notice:
    """A warning attached to a message or a result (`NON_KS_CHARACTERS`, ...)."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@deferred_dataclass(frozen=True)
class Recipient:
    """A normalized phone number. `country` is "82" for Korean numbers.

    Korean numbers keep their national form (`01012345678`); others keep their national
    significant digits and travel with their country code.
    """

    number: str
    country: str = "82"

    @property
    def is_korean(self) -> bool:
        return self.country == "82"

    @property
    def e164(self) -> str:
        # the trunk 0 goes; representative numbers (15xx/16xx/18xx) have none
        national = self.number[1:] if self.is_korean and self.number[:1] == "0" else self.number
        return f"+{self.country}{national}"

    def __str__(self) -> str:
        return self.number if self.is_korean else self.e164


@deferred_dataclass(frozen=True)
class Failover:
    """SMS/LMS content to send when a message cannot reach its recipient on its own channel
    (AlimTalk, Brand Message, RCS; docs/channels.md, "Fallback")."""

    text: str
    type: MessageType  # SMS or LMS, decided from the byte count unless the user chose
    subject: str | None = None
    byte_length: int = 0


@deferred_dataclass(frozen=True)
class MessageDraft:
    """A message as the user typed it (flags, a CSV row): nothing checked yet.

    `kmsg_cli.normalize.build_message` turns it into a `Message` or raises `InvalidInput`.
    """

    to: str
    text: str | None = None
    type: str | None = None
    subject: str | None = None
    sender: str | None = None
    image: str | None = None
    template_id: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    at: str | None = None
    provider_id: str | None = None
    message_id: str | None = None
    failover_text: str | None = None
    failover_type: str | None = None
    failover_subject: str | None = None
    options: str | None = None  # channel options as JSON text (`--options FILE`, a column)
    option_flags: Mapping[str, Any] = field(default_factory=dict)  # from flags; they win
    files: tuple[str, ...] = ()  # documents of a fax (`--file`)


@deferred_dataclass(frozen=True)
class Message:
    """A validated message for one recipient, ready for a provider.

    `text` is already interpolated for SMS/LMS/MMS/FRIENDTALK. For ALIMTALK the provider
    renders the approved template; `variables` travel in the provider's wire form and
    `text` is the optional local rendering (may be empty). The other channels (RCS, Brand
    Message, voice, fax, Naver) carry their checked `options` (docs/channels.md).
    """

    message_id: str
    type: MessageType
    to: Recipient
    text: str
    byte_length: int
    sender: str | None = None
    subject: str | None = None
    image: str | None = None
    template_id: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    scheduled_at: datetime | None = None
    provider_id: str | None = None
    failover: Failover | None = None
    warnings: tuple[Notice, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)  # checked channel options
    files: tuple[str, ...] = ()  # local files besides `image`: fax documents, option images


# The metadata key of a job (or tracking row) that carries its content key (docs/duplicates.md).
CONTENT_KEY = "content_key"


@deferred_dataclass(frozen=True)
class ContentMatch:
    """An earlier message with the same content key, as the store found it (docs/duplicates.md).

    `created_at`: when its key was recorded (it entered the ledger); `tracked_at`: the
    `requested_at` of its tracking row, present once a provider accepted it.
    """

    content_key: str
    message_id: str
    created_at: int
    job_status: str | None
    job_error_code: str | None
    tracked_at: int | None
    completed_at: int | None

    @property
    def accepted_at(self) -> int:
        return self.tracked_at or self.completed_at or self.created_at


@deferred_dataclass(frozen=True)
class SendResult:
    """What a provider said about one message.

    `accepted` means the provider took responsibility for the message (it may still fail to
    deliver; tracking finds out). `simulated` is true for the mock provider: nothing real
    was delivered.
    """

    message_id: str
    provider_id: str
    accepted: bool
    status: DeliveryStatus
    provider_message_id: str = ""
    group_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    provider_code: str | None = None  # the vendor's own code, e.g. SOLAPI "1062"
    retryable: bool = False
    outcome_unknown: bool = False
    simulated: bool = False
    native_failover: bool = False  # the vendor itself sends the AlimTalk's SMS fallback
    warnings: tuple[Notice, ...] = ()
    raw: Mapping[str, Any] | None = None


@deferred_dataclass(frozen=True)
class StatusUpdate:
    """What a provider says now about one accepted message.

    `status` is None when the provider's code is not one kmsg knows: the row keeps its status
    and is checked again, with the code kept in `provider_status_code`.
    """

    provider_message_id: str
    status: DeliveryStatus | None
    provider_status_code: str | None = None
    provider_status_message: str | None = None
    sent_at: int | None = None
    delivered_at: int | None = None
    failed_at: int | None = None
    replaced: bool = False  # the vendor delivered its own SMS fallback instead (native failover)
    raw: Mapping[str, Any] | None = None


@deferred_dataclass(frozen=True)
class CancelAnswer:
    """What a vendor said when asked to cancel one scheduled unit (a SOLAPI group, an Aligo
    request, an IWINV AlimTalk request: every message of the unit goes together).

    `cancelled` is true only when the vendor confirmed. Otherwise `code` says why not:
    `TOO_LATE` (the vendor is sending it, has sent it, or its cut-off has passed),
    `NOT_SCHEDULED` (nothing waits under that id) or `VENDOR_REFUSED` (any other refusal).
    """

    unit: str
    cancelled: bool
    code: str | None = None
    message: str = ""
    provider_code: str | None = None


@deferred_dataclass(frozen=True)
class Balance:
    provider_id: str
    amount: float
    currency: str = "KRW"
    point: float | None = None
    raw: Mapping[str, Any] | None = None


@deferred_dataclass()
class TrackingRow:
    """One row of `kmsg_delivery_tracking`. Times are epoch milliseconds."""

    message_id: str
    provider_id: str
    provider_message_id: str
    type: str
    to: str
    status: str
    requested_at: int
    status_updated_at: int
    next_check_at: int
    sender: str | None = None
    provider_status_code: str | None = None
    provider_status_message: str | None = None
    sent_at: int | None = None
    delivered_at: int | None = None
    failed_at: int | None = None
    scheduled_at: int | None = None
    attempt_count: int = 0
    last_checked_at: int | None = None
    last_error: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


@deferred_dataclass()
class Job:
    """One row of `kmsg_jobs`. `data` and `metadata` are JSON objects; times are epoch ms."""

    id: str
    type: str
    data: dict[str, Any]
    status: str = JobStatus.PENDING.value
    priority: int = 0
    attempts: int = 0
    max_attempts: int = 3
    delay: int = 0
    created_at: int = 0
    process_at: int = 0
    completed_at: int | None = None
    failed_at: int | None = None
    error: str | None = None
    metadata: dict[str, Any] | None = None


def native_fallback(message: Message) -> bool:
    """Whether a provider with native failover sends this message's fallback itself: only an
    AlimTalk's; RCS and Brand Message fall back through kmsg (docs/channels.md, Fallback)."""
    return message.failover is not None and message.type is MessageType.ALIMTALK


def epoch_ms(moment: datetime) -> int:
    """Aware datetime -> integer epoch milliseconds."""
    return round(moment.timestamp() * 1000)
