"""`kmsg cancel`: take back messages that have not gone out yet (docs/cancel.md).

A selection (`Selection`: a batch, message ids, a send time, a provider; every filter given
must hold) is walked once, and each message is decided by where it is now:

| where it is                                        | what happens                             |
|----------------------------------------------------|------------------------------------------|
| a queued or deferred job nobody has claimed        | cancelled in the ledger (`cancel_jobs`)  |
| tracked PENDING, scheduled at a vendor with a      | the vendor is asked to cancel its unit   |
| cancel API, before the vendor's cut-off            | (group or request); the row becomes      |
|                                                    | CANCELLED only when the vendor confirms  |
| claimed by a worker (processing)                   | not cancelled: IN_FLIGHT                 |
| sent, delivered, or due at the vendor now          | not cancelled: ALREADY_SENT / TOO_LATE   |
| a vendor or message without a cancel               | not cancelled: NO_CANCEL_API             |
| failed with an unknown outcome, or UNKNOWN         | not cancelled: MAY_HAVE_BEEN_SENT        |
| failed (nothing went out)                          | nothing to cancel                        |
| cancelled before                                   | already cancelled                        |

A vendor cancels a whole unit (a SOLAPI group holds every message of one send request; an
Aligo or IWINV request all its recipients). A unit is cancelled only when every message it
still holds is selected; otherwise none of it is (PARTIAL_GROUP), and the report names the
messages outside the selection. With `dry_run` nothing is written and no vendor is asked: the
report says what would happen.

Memory stays bounded by the messages that could not be cancelled and the vendor units touched:
jobs are read and cancelled a chunk at a time.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kmsg_cli.errors import InvalidInput, KmsgError, ProviderError, UsageError
from kmsg_cli.jobs.outcomes import job_outcome
from kmsg_cli.models import DeliveryStatus, Job, JobStatus, TrackingRow, epoch_ms
from kmsg_cli.providers.base import Canceller, ProviderSource
from kmsg_cli.store.contract import Store

log = logging.getLogger("kmsg.cancel")

CHUNK = 500

# Outcomes of one message.
CANCELLED = "cancelled"
WOULD_CANCEL = "would_cancel"  # dry run
ALREADY_CANCELLED = "already_cancelled"
NOTHING_TO_CANCEL = "nothing_to_cancel"
NOT_CANCELLED = "not_cancelled"
OUTCOMES = (CANCELLED, WOULD_CANCEL, ALREADY_CANCELLED, NOTHING_TO_CANCEL, NOT_CANCELLED)


@dataclass(frozen=True)
class Selection:
    """What to cancel; every filter given must hold (at least one of the first three)."""

    batch: str | None = None
    ids: tuple[str, ...] = ()
    at_or_after_ms: int | None = None
    provider_id: str | None = None
    # the profile's provider ids: a selection by time alone leaves the messages of other
    # providers (another profile's, in a shared database) alone; None: every provider
    providers: tuple[str, ...] | None = None

    def check(self) -> None:
        if self.batch is None and not self.ids and self.at_or_after_ms is None:
            raise UsageError(
                "say what to cancel: --batch, --id or --at-or-after",
                code="USAGE",
                field="batch",
                hint="kmsg cancel --batch BATCH_ID --dry-run",
            )

    def holds(self, message_id: str, job: Job | None, row: TrackingRow | None) -> bool:
        """Whether one message (its job and/or tracking row) is selected."""
        if self.ids and message_id not in self.ids:
            return False
        if self.batch is not None and (job is None or _batch_of(job) != self.batch):
            return False
        if self.provider_id is not None and _provider_of(job, row) != self.provider_id:
            return False
        if self.foreign(job, row):
            return False
        if self.at_or_after_ms is not None:
            if row is not None:
                return row.scheduled_at is not None and row.scheduled_at >= self.at_or_after_ms
            pending = job is not None and job.status == JobStatus.PENDING.value
            return pending and job is not None and send_time_ms(job) >= self.at_or_after_ms
        return True

    def foreign(self, job: Job | None, row: TrackingRow | None) -> bool:
        """Whether a message is of a provider outside `providers` in a selection by time
        alone (a batch or ids, named on purpose, are taken whole)."""
        if self.providers is None or self.batch is not None or self.ids:
            return False
        return _provider_of(job, row) not in self.providers


@dataclass(frozen=True)
class Item:
    """One message and what became of it (`outcome`, with a reason code unless cancelled)."""

    message_id: str
    outcome: str
    where: str = ""  # "queue" or "vendor" for a cancel (or a planned one)
    reason: str | None = None
    detail: str = ""
    provider_id: str | None = None
    unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "outcome": self.outcome,
            "where": self.where or None,
            "reason": self.reason,
            "message": self.detail,
            "provider_id": self.provider_id,
            "unit": self.unit,
        }


@dataclass
class Unit:
    """One vendor unit (group/request) touched by the selection and what the vendor said."""

    provider_id: str
    unit: str
    rows: list[TrackingRow] = field(default_factory=list)
    outcome: str = ""
    reason: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider_id": self.provider_id,
            "unit": self.unit,
            "messages": len(self.rows),
            "outcome": self.outcome,
            "reason": self.reason,
            "message": self.detail,
        }


@dataclass
class CancelReport:
    """Counts by outcome, where cancels happened, the units asked, and every message that was
    not (or will not be) cancelled."""

    dry_run: bool
    counts: Counter[str] = field(default_factory=Counter)
    where: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    units: list[Unit] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    # provider id -> messages a selection by time left: not of the profile's providers
    other_providers: Counter[str] = field(default_factory=Counter)

    @property
    def selected(self) -> int:
        return sum(self.counts.values())

    @property
    def not_cancelled(self) -> int:
        return self.counts[NOT_CANCELLED]

    def add(self, item: Item) -> None:
        self.counts[item.outcome] += 1
        if item.outcome in (CANCELLED, WOULD_CANCEL):
            self.where[item.where] += 1
        else:
            self.items.append(item)
            if item.reason:
                self.reasons[item.reason] += 1

    def to_dict(self) -> dict[str, Any]:
        done = WOULD_CANCEL if self.dry_run else CANCELLED
        return {
            "dry_run": self.dry_run,
            "selected": self.selected,
            done: self.counts[done],
            "in_queue": self.where["queue"],
            "at_vendor": self.where["vendor"],
            ALREADY_CANCELLED: self.counts[ALREADY_CANCELLED],
            NOTHING_TO_CANCEL: self.counts[NOTHING_TO_CANCEL],
            NOT_CANCELLED: self.counts[NOT_CANCELLED],
            "reasons": dict(sorted(self.reasons.items())),
            "units": [unit.to_dict() for unit in self.units],
            "items": [item.to_dict() for item in self.items],
            "other_providers": dict(sorted(self.other_providers.items())),
        }


def cancel(
    selection: Selection,
    *,
    store: Store,
    providers: ProviderSource,
    now: datetime,
    dry_run: bool = False,
) -> CancelReport:
    """Cancel what the selection holds (or, with `dry_run`, say what would be); see the
    module docstring."""
    selection.check()
    run = _Run(selection, store, providers, epoch_ms(now), dry_run)
    seen = 0
    for chunk in _candidates(selection, store, run.report.other_providers):
        seen += len(chunk)
        run.decide_chunk(chunk)
    run.finish()
    if seen == 0 and selection.batch is not None and not selection.ids:
        if not store.job_counts(batch=selection.batch):
            raise InvalidInput(
                f"no job of batch '{selection.batch}'",
                code="NOT_FOUND",
                field="batch",
                value=selection.batch,
                hint="kmsg queue list --batch ID shows a batch's jobs",
            )
    return run.report


Candidate = tuple[str, Job | None, TrackingRow | None]


def _candidates(
    selection: Selection, store: Store, others: Counter[str]
) -> Iterator[list[Candidate]]:
    """The selected messages, a chunk at a time: (message id, job, tracking row); what a
    selection by time leaves for other profiles is counted in `others`, by provider."""
    if selection.ids:
        yield _by_ids(selection, store)
        return
    if selection.batch is not None:
        for batch_jobs in _chunks(store.iter_jobs(batch=selection.batch)):
            sent = [j.id for j in batch_jobs if j.status == JobStatus.COMPLETED.value]
            tracked = store.find_tracking(sent)
            found = [(j.id, j, tracked.get(j.id)) for j in batch_jobs]
            yield [c for c in found if selection.holds(*c)]
        return
    for pending in _chunks(store.iter_jobs(status=JobStatus.PENDING.value)):
        queued: list[Candidate] = [(j.id, j, None) for j in pending]
        _count_foreign(selection, queued, others)
        yield [c for c in queued if selection.holds(*c)]
    assert selection.at_or_after_ms is not None
    scheduled = store.iter_scheduled_tracking(
        since_ms=selection.at_or_after_ms, provider_id=selection.provider_id
    )
    for rows in _chunks(scheduled):
        at_vendor: list[Candidate] = [(r.message_id, None, r) for r in rows]
        _count_foreign(selection, at_vendor, others)
        yield [c for c in at_vendor if not selection.foreign(c[1], c[2])]


def _count_foreign(selection: Selection, found: Sequence[Candidate], others: Counter[str]) -> None:
    """Count the candidates that only their provider keeps out of the selection."""
    foreign = [c for c in found if selection.foreign(c[1], c[2])]
    if not foreign:
        return
    unrestricted = replace(selection, providers=None)
    for message_id, job, row in foreign:
        if unrestricted.holds(message_id, job, row):
            others[_provider_of(job, row) or ""] += 1


def _by_ids(selection: Selection, store: Store) -> list[Candidate]:
    """The messages named by id (every one must exist), under the other filters."""
    ids = list(dict.fromkeys(selection.ids))
    jobs, rows = store.get_jobs(ids), store.find_tracking(ids)
    unknown = [i for i in ids if i not in jobs and i not in rows]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise InvalidInput(
            f"no job or tracked message with id '{unknown[0]}'{more}",
            code="NOT_FOUND",
            field="id",
            value=unknown[0],
            hint="kmsg track list / kmsg queue list show the ids",
        )
    found = [(i, jobs.get(i), rows.get(i)) for i in ids]
    return [c for c in found if selection.holds(*c)]


def _chunks(items: Iterator[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class _Run:
    """One walk over a selection: decides each message, cancels queued jobs a chunk at a
    time, and gathers vendor units to ask at the end."""

    selection: Selection
    store: Store
    providers: ProviderSource
    now_ms: int
    dry_run: bool
    report: CancelReport = field(init=False)
    units: dict[tuple[str, str], Unit] = field(init=False, default_factory=dict)
    _cancellers: dict[str, Canceller | KmsgError | None] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.report = CancelReport(self.dry_run)

    # -- deciding ----------------------------------------------------------------------------
    def decide_chunk(self, chunk: Sequence[Candidate]) -> None:
        queued: list[Job] = []
        for message_id, job, row in chunk:
            if job is not None and job.status == JobStatus.PENDING.value:
                queued.append(job)
            else:
                self._decide_sent(message_id, job, row)
        if queued:
            self._cancel_queued(queued)

    def _decide_sent(self, message_id: str, job: Job | None, row: TrackingRow | None) -> None:
        """A message that is not a pending job: by its job's status, then its tracking row."""
        add = self.report.add
        provider = _provider_of(job, row)
        if job is not None and job.status != JobStatus.COMPLETED.value:
            add(_job_item(message_id, job, provider))
            return
        if row is None:
            add(_not(message_id, "NO_TRACKING", "sent, but kmsg holds no tracking row", provider))
            return
        item = _row_item(row, self.now_ms)
        if item is not None:
            add(item)
            return
        self._to_vendor(row)

    def _to_vendor(self, row: TrackingRow) -> None:
        """A PENDING row scheduled in the future: file it under its vendor unit."""
        message_id, provider_id = row.message_id, row.provider_id
        canceller = self._canceller(provider_id)
        if isinstance(canceller, KmsgError):
            self.report.add(
                _not(message_id, "PROVIDER_UNAVAILABLE", canceller.message, provider_id)
            )
            return
        group = _group_of(row)
        unit = canceller.cancel_unit(row.provider_message_id, group) if canceller else None
        if canceller is None or unit is None or not group:
            why = (
                f"provider {provider_id} offers no cancel for a scheduled {row.type}: "
                "cancel it at the vendor, before its send time"
                if canceller is None or unit is None
                else "kmsg did not record which vendor request holds it"
            )
            self.report.add(_not(message_id, "NO_CANCEL_API", why, provider_id))
            return
        assert row.scheduled_at is not None  # _row_item sent every other row elsewhere
        lead_ms = round(canceller.cancel_lead_s * 1000)
        if row.scheduled_at - self.now_ms < lead_ms:
            why = (
                f"the vendor cancels only up to {canceller.cancel_lead_s / 60:g} minutes "
                "before the send time"
            )
            self.report.add(_not(message_id, "TOO_LATE", why, provider_id, unit))
            return
        key = (provider_id, unit)
        self.units.setdefault(key, Unit(provider_id, unit)).rows.append(row)

    def _canceller(self, provider_id: str) -> Canceller | KmsgError | None:
        if provider_id not in self._cancellers:
            try:
                client = self.providers.get(provider_id)
            except KmsgError as error:
                self._cancellers[provider_id] = error
            else:
                found = client if isinstance(client, Canceller) else None
                self._cancellers[provider_id] = found
        return self._cancellers[provider_id]

    # -- the queue ---------------------------------------------------------------------------
    def _cancel_queued(self, jobs: Sequence[Job]) -> None:
        if self.dry_run:
            for job in jobs:
                self.report.add(
                    Item(job.id, WOULD_CANCEL, "queue", provider_id=_provider_of(job, None))
                )
            return
        won = self.store.cancel_jobs([job.id for job in jobs], now_ms=self.now_ms)
        lost = [job.id for job in jobs if job.id not in won]
        for job in jobs:
            if job.id in won:
                self.report.add(
                    Item(job.id, CANCELLED, "queue", provider_id=_provider_of(job, None))
                )
        if lost:
            # A worker claimed them between our read and our cancel: decide them as they are now.
            fresh, rows = self.store.get_jobs(lost), self.store.find_tracking(lost)
            for job_id in lost:
                now = fresh.get(job_id)
                if now is None or now.status == JobStatus.PENDING.value:
                    self.report.add(_not(job_id, "CHANGED", "the job changed while cancelling"))
                else:
                    self._decide_sent(job_id, now, rows.get(job_id))

    # -- the vendors ---------------------------------------------------------------------------
    def finish(self) -> None:
        for unit in self.units.values():
            self._finish_unit(unit)
            self.report.units.append(unit)

    def _finish_unit(self, unit: Unit) -> None:
        canceller = self._cancellers.get(unit.provider_id)
        assert isinstance(canceller, Canceller)
        group = _group_of(unit.rows[0])
        members = [
            m
            for m in self.store.pending_in_group(unit.provider_id, group)
            if canceller.cancel_unit(m.provider_message_id, _group_of(m)) == unit.unit
        ]
        outside = self._outside(members)
        if outside:
            self._refuse_unit(unit, "PARTIAL_GROUP", self._partial_text(unit, outside))
            return
        if self.dry_run:
            self._settle(unit, WOULD_CANCEL, None, "")
            return
        log.info(
            "asking %s to cancel %s (%d message(s))", unit.provider_id, unit.unit, len(members)
        )
        try:
            answer = canceller.cancel_scheduled(unit.unit)
        except ProviderError as error:
            self._refuse_unit(unit, "PROVIDER_ERROR", error.message)
            return
        if not answer.cancelled:
            self._refuse_unit(unit, answer.code or "VENDOR_REFUSED", answer.message)
            return
        changed = self.store.cancel_tracking(
            [*(m.message_id for m in members), *(r.message_id for r in unit.rows)],
            now_ms=self.now_ms,
            provider_status_code=answer.provider_code or "CANCELLED",
            provider_status_message=answer.message or None,
        )
        unit.outcome, unit.detail = CANCELLED, answer.message
        for row in unit.rows:
            if row.message_id in changed:
                self.report.add(
                    Item(row.message_id, CANCELLED, "vendor", None, "", unit.provider_id, unit.unit)
                )
            else:
                why = f"{answer.message}, but its tracking row had changed meanwhile"
                self.report.add(_not(row.message_id, "CHANGED", why, unit.provider_id, unit.unit))

    def _outside(self, members: Sequence[TrackingRow]) -> list[TrackingRow]:
        """The members of a unit the selection does not hold."""
        jobs = self.store.get_jobs([m.message_id for m in members]) if members else {}
        return [
            m for m in members if not self.selection.holds(m.message_id, jobs.get(m.message_id), m)
        ]

    def _partial_text(self, unit: Unit, outside: Sequence[TrackingRow]) -> str:
        jobs = self.store.get_jobs([m.message_id for m in outside[:CHUNK]])
        batches = sorted({b for j in jobs.values() if (b := _batch_of(j))})
        examples = ", ".join(m.message_id for m in outside[:3])
        of = f" (of batch {', '.join(batches)})" if batches else ""
        return (
            f"{unit.unit} also holds {len(outside)} message(s) outside the selection{of}, "
            f"e.g. {examples}: nothing of it was cancelled"
        )

    def _refuse_unit(self, unit: Unit, reason: str, detail: str) -> None:
        self._settle(unit, NOT_CANCELLED, reason, detail)

    def _settle(self, unit: Unit, outcome: str, reason: str | None, detail: str) -> None:
        unit.outcome, unit.reason, unit.detail = outcome, reason, detail
        where = "vendor" if outcome == WOULD_CANCEL else ""
        for row in unit.rows:
            self.report.add(
                Item(row.message_id, outcome, where, reason, detail, unit.provider_id, unit.unit)
            )


# -- deciding one message ----------------------------------------------------------------------
def _job_item(message_id: str, job: Job, provider: str | None) -> Item:
    """A job that is neither pending nor completed."""
    if job.status == JobStatus.PROCESSING.value:
        return _not(
            message_id, "IN_FLIGHT", "a worker has claimed it and may be sending it", provider
        )
    if job.status == JobStatus.CANCELLED.value:
        return Item(message_id, ALREADY_CANCELLED, provider_id=provider)
    if job.status == JobStatus.FAILED.value:
        if job_outcome(job) == "unknown":
            why = "its outcome is unknown: the vendor may have accepted it"
            return _not(message_id, "MAY_HAVE_BEEN_SENT", why, provider)
        why = "it failed and nothing was sent (only `kmsg queue retry` would send it)"
        return Item(message_id, NOTHING_TO_CANCEL, "", "FAILED", why, provider)
    return _not(message_id, "UNKNOWN_STATUS", f"its job has status {job.status!r}", provider)


def _row_item(row: TrackingRow, now_ms: int) -> Item | None:
    """The item of a tracked message that no vendor can take back; None when it is
    scheduled in the future (a vendor cancel may work)."""
    status, message_id, provider = row.status, row.message_id, row.provider_id
    if status == DeliveryStatus.CANCELLED.value:
        return Item(message_id, ALREADY_CANCELLED, provider_id=provider)
    if status in (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value):
        return _not(message_id, "ALREADY_SENT", f"the vendor reports it {status}", provider)
    if status == DeliveryStatus.FAILED.value:
        why = "the vendor reports it FAILED: nothing was delivered"
        return Item(message_id, NOTHING_TO_CANCEL, "", "FAILED", why, provider)
    if status != DeliveryStatus.PENDING.value:
        return _not(message_id, "MAY_HAVE_BEEN_SENT", f"its status is {status}", provider)
    if row.scheduled_at is None or row.scheduled_at <= now_ms:
        why = "it is due now: the vendor is sending it"
        return _not(message_id, "TOO_LATE", why, provider)
    return None


def _not(
    message_id: str,
    reason: str,
    detail: str,
    provider_id: str | None = None,
    unit: str | None = None,
) -> Item:
    return Item(message_id, NOT_CANCELLED, "", reason, detail, provider_id, unit)


def send_time_ms(job: Job) -> int:
    """When a queued job's message goes out: its vendor schedule (`at`) if it has one, else
    when the queue makes it due (`process_at`)."""
    message = job.data.get("message")
    at = message.get("at") if isinstance(message, dict) else None
    if isinstance(at, str):
        try:
            return epoch_ms(datetime.fromisoformat(at))
        except ValueError:
            pass
    return job.process_at


def _batch_of(job: Job) -> str | None:
    batch = (job.metadata or {}).get("batch")
    return batch if isinstance(batch, str) else None


def _group_of(row: TrackingRow) -> str:
    group = (row.metadata or {}).get("group_id")
    return str(group) if group else ""


def _provider_of(job: Job | None, row: TrackingRow | None) -> str | None:
    if row is not None:
        return row.provider_id
    provider = job.data.get("provider") if job is not None else None
    return provider if isinstance(provider, str) else None
