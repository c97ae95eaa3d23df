"""The shared vocabulary of kmsg: message types, statuses, messages, results and rows.

Plain frozen dataclasses and enums, no I/O. Every other module speaks in these terms.

The dataclasses are made when their class is first instantiated (`Record`), not when this
module is imported: making one costs more than everything else here, and a command uses a few
of them (a dry run makes no `SendResult`, `Job` or `TrackingRow`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from reprlib import recursive_repr
from typing import Any, ClassVar, cast, dataclass_transform

_MAKING = threading.Lock()


@dataclass_transform(field_specifiers=(field,))
class Record:
    """Base of the dataclasses below: `class Notice(Record, frozen=True)` is
    `@dataclass(frozen=True) class Notice`, made when its first instance is, not at import.

    Until then the class is a plain class whose `__init__` (this one) makes the dataclass and
    then calls the dataclass's own; `dataclasses.fields()` and `is_dataclass()` on the class
    itself answer once an instance exists. Not for classes that are subclassed."""

    _record_frozen: ClassVar[bool] = False
    _record_made: ClassVar[bool] = False  # set on each class once its dataclass is made

    def __init_subclass__(cls, *, frozen: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._record_frozen = frozen

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _make_dataclass(type(self))
        type(self).__init__(self, *args, **kwargs)  # the dataclass's, found first from now on

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling makes an instance without `__init__`: make the dataclass all the same."""
        _make_dataclass(type(self))
        self.__dict__.update(state)

    # `dataclass` compiles an `__eq__`, `__hash__` and `__repr__` for each class (a third of
    # the time it takes to make one, paid by every command at start); these do the same from
    # the names of the fields it would compare (and hash) and show.
    _record_names: ClassVar[tuple[str, ...]] = ()
    _record_shown: ClassVar[tuple[str, ...]] = ()

    def _record_values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._record_names)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._record_values() == other._record_values()

    def __hash__(self) -> int:  # set to None for the classes that are not frozen
        return hash(self._record_values())

    @recursive_repr()
    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_shown)
        return f"{type(self).__qualname__}({shown})"


def _make_dataclass(cls: type[Record]) -> None:
    # `_record_made` is set once `dataclass` has returned (it sets `__dataclass_fields__`
    # before the methods): a thread that sees it finds the dataclass's `__init__` on `cls`.
    if "_record_made" in cls.__dict__:
        return
    with _MAKING:  # threads may make the first instances together
        if "_record_made" not in cls.__dict__:
            frozen = cls._record_frozen
            dataclass(frozen=frozen, eq=False, repr=False, init=not frozen)(cls)
            made = fields(cast(Any, cls))
            if frozen:
                cls.__init__ = _frozen_init(cls, made)  # type: ignore[method-assign]
            cls._record_names = tuple(f.name for f in made if f.compare)
            cls._record_shown = tuple(f.name for f in made if f.repr)
            if not cls._record_frozen:
                cls.__hash__ = None  # type: ignore[assignment]  # mutable: unhashable
            cls._record_made = True


def _frozen_init(cls: type[Record], made: tuple[Field[Any], ...]) -> Callable[..., None]:
    """The `__init__` of a frozen record: what `dataclass(frozen=True)` writes, but storing
    each value in the instance's `__dict__` directly instead of through `object.__setattr__`
    (4x faster for `Message`'s sixteen fields; send-many makes several records per row).

    Every field of a record is an `__init__` parameter in declaration order (no `kw_only`,
    `init=False` or `__post_init__`; this refuses them)."""
    name = cls.__qualname__
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{name}: a record has no __post_init__")
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    params, body = ["self"], ["d = self.__dict__"]
    for i, f in enumerate(made):
        if not f.init or f.kw_only is True:
            raise TypeError(f"{name}.{f.name}: a record's fields are all positional parameters")
        if f.default is not MISSING:
            namespace[f"_d{i}"] = f.default
            params.append(f"{f.name}=_d{i}")
            body.append(f"d[{f.name!r}] = {f.name}")
        elif f.default_factory is not MISSING:
            namespace[f"_f{i}"] = f.default_factory
            params.append(f"{f.name}=_FACTORY")
            body.append(f"d[{f.name!r}] = _f{i}() if {f.name} is _FACTORY else {f.name}")
        else:
            params.append(f.name)
            body.append(f"d[{f.name!r}] = {f.name}")
    source = f"def __init__({', '.join(params)}):\n    " + "\n    ".join(body)
    exec(source, namespace)  # names and defaults are the class's own fields
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{name}.__init__"
    init.__annotations__ = {f.name: f.type for f in made} | {"return": None}
    return init


class _Factory:
    """The default of a parameter whose field has a default factory (shown as dataclass does)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def record_fields(cls: type[Record]) -> tuple[Field[Any], ...]:
    """`dataclasses.fields(cls)`, the dataclass made first if no instance has made it yet: for
    code that reads a model's fields at import, or makes instances without `__init__`."""
    _make_dataclass(cls)
    return fields(cast(Any, cls))


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


class Notice(Record, frozen=True):
    """A warning attached to a message or a result (`NON_KS_CHARACTERS`, ...)."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class Recipient(Record, frozen=True):
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


class Failover(Record, frozen=True):
    """SMS/LMS content to send when a message cannot reach its recipient on its own channel
    (AlimTalk, Brand Message, RCS; docs/channels.md, "Fallback")."""

    text: str
    type: MessageType  # SMS or LMS, decided from the byte count unless the user chose
    subject: str | None = None
    byte_length: int = 0


class MessageDraft(Record, frozen=True):
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


class Message(Record, frozen=True):
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


class ContentMatch(Record, frozen=True):
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


class SendResult(Record, frozen=True):
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


class StatusUpdate(Record, frozen=True):
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


class CancelAnswer(Record, frozen=True):
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


class Balance(Record, frozen=True):
    provider_id: str
    amount: float
    currency: str = "KRW"
    point: float | None = None
    raw: Mapping[str, Any] | None = None


class TemplateInfo(Record, frozen=True):
    """A template as its vendor lists it (`kmsg providers templates`, docs/cli.md)."""

    provider_id: str
    code: str  # what --template takes
    name: str | None
    status: str | None  # the vendor's own word (APPROVED, Y, APR, ...)
    usable: bool  # approved for sending
    content: str | None  # the text with its #{name} placeholders
    variables: tuple[str, ...] = ()  # the content's #{name}s, in order


class TrackingRow(Record):
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


class Job(Record):
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
