"""The cancel service (kmsg_cli/cancel.py, docs/cancel.md): one decision per message of a
selection, queued jobs cancelled in the ledger, vendor groups only when wholly selected, and
what cannot be cancelled listed with its reason. Real providers: the mock, and SOLAPI / Aligo
/ IWINV against their fake servers on a manual clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kmsg_cli.cancel import (
    ALREADY_CANCELLED,
    CANCELLED,
    NOT_CANCELLED,
    NOTHING_TO_CANCEL,
    WOULD_CANCEL,
    CancelReport,
    Selection,
    cancel,
)
from kmsg_cli.errors import InvalidInput, UsageError
from kmsg_cli.jobs.codec import message_to_data
from kmsg_cli.jobs.worker import BatchRunner
from kmsg_cli.models import Job, Message, MessageType, Recipient, epoch_ms
from kmsg_cli.providers.aligo import AligoProvider
from kmsg_cli.providers.iwinv import IwinvProvider
from kmsg_cli.providers.mock import MockProvider
from kmsg_cli.providers.solapi import SolapiProvider
from kmsg_cli.store.sqlite import SqliteStore
from tests.fakes._server import ManualClock
from tests.fakes.aligo import FakeAligo
from tests.fakes.solapi import FakeSolapi
from tests.providers.test_cancel_against_fakes import (
    aligo,
    aligo_fake,
    clock,
    http,
    iwinv,
    iwinv_fake,
    solapi,
    solapi_fake,
    welcome,
)

# the fake servers on a manual clock and the clients on the same clock, as the providers'
# cancel tests build them
__all__ = ["aligo", "aligo_fake", "clock", "http", "iwinv", "iwinv_fake", "solapi", "solapi_fake"]


class Providers:
    """A `ProviderSource` over provider objects built by the test."""

    def __init__(self, **clients: Any) -> None:
        self.clients = clients

    def get(self, provider_id: str) -> Any:
        return self.clients[provider_id]


@pytest.fixture
def store(tmp_path: Any) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "kmsg.sqlite") as opened:
        opened.initialize()
        yield opened


def moment(clock: ManualClock, **delta: float) -> datetime:
    return datetime.fromtimestamp(clock(), UTC) + timedelta(**delta)


def message(mid: str, to: str = "01011112222", at: datetime | None = None) -> Message:
    return Message(mid, MessageType.SMS, Recipient(to), "점검 안내", 9, scheduled_at=at)


def queued(
    mid: str, provider: str, *, at: datetime | None = None, batch: str | None = None, **job: Any
) -> Job:
    values: dict[str, Any] = {
        "id": mid,
        "type": "send",
        "data": {
            "message": message_to_data(message(mid, at=at)),
            "provider": provider,
            "candidates": [provider],
        },
        "created_at": 1,
        "process_at": 1,
        "metadata": {"origin": "send", **({"batch": batch} if batch else {})},
    }
    values.update(job)
    return Job(**values)


def outcomes(report: CancelReport) -> dict[str, tuple[str, str | None]]:
    """message id -> (outcome, reason) of the messages not cancelled."""
    return {item.message_id: (item.outcome, item.reason) for item in report.items}


def send_all(store: SqliteStore, providers: Providers, clock: ManualClock) -> None:
    """Send every due job through the real runner (one provider request per claim)."""
    runner = BatchRunner(
        store=store,
        clients=providers,
        batch_id=None,
        claim_size=1000,
        until="drain",
        clock=lambda: datetime.fromtimestamp(clock(), UTC),
    )
    runner.run()


# -- the queue -------------------------------------------------------------------------------------


def test_every_kind_of_job_gets_its_decision(store: SqliteStore, clock: ManualClock) -> None:
    now = moment(clock)
    mock = MockProvider("mock", {})
    store.insert_jobs(
        [
            queued("waiting", "mock", batch="b"),
            queued("deferred", "mock", batch="b", process_at=epoch_ms(now) + 3_600_000),
            queued("failed", "mock", batch="b"),
            queued("unknown", "mock", batch="b"),
            queued("other-batch", "mock", batch="c"),
        ]
    )
    busy = queued("busy", "mock", batch="b", priority=9)  # claimed first
    store.insert_jobs([busy])
    claimed = store.claim_jobs(now_ms=1, lease_ms=60_000, owner={"host": "h"}, limit=1)
    assert [j.id for j in claimed] == ["busy"]
    store.fail_jobs(
        {
            "failed": json.dumps({"code": "PROVIDER_REJECTED", "message": "no"}),
            "unknown": json.dumps({"code": "UNKNOWN_OUTCOME", "message": "lost"}),
        },
        now_ms=2,
    )
    report = cancel(Selection(batch="b"), store=store, providers=Providers(mock=mock), now=now)
    assert outcomes(report) == {
        "busy": (NOT_CANCELLED, "IN_FLIGHT"),
        "failed": (NOTHING_TO_CANCEL, "FAILED"),
        "unknown": (NOT_CANCELLED, "MAY_HAVE_BEEN_SENT"),
    }
    assert report.counts[CANCELLED] == 2 == report.where["queue"]
    assert {j.id for j in store.iter_jobs(status="cancelled")} == {"waiting", "deferred"}
    assert store.get_jobs(["other-batch"])["other-batch"].status == "pending"
    assert report.not_cancelled == 2 and report.selected == 5

    again = cancel(Selection(batch="b"), store=store, providers=Providers(mock=mock), now=now)
    assert again.counts[ALREADY_CANCELLED] == 2 and again.counts[CANCELLED] == 0


def test_a_dry_run_changes_nothing_and_says_what_would_be_cancelled(
    store: SqliteStore, clock: ManualClock
) -> None:
    store.insert_jobs([queued("a", "mock", batch="b"), queued("b", "mock", batch="b")])
    source = Providers(mock=MockProvider("mock", {}))
    report = cancel(
        Selection(batch="b"), store=store, providers=source, now=moment(clock), dry_run=True
    )
    assert report.dry_run and report.counts[WOULD_CANCEL] == 2 and report.counts[CANCELLED] == 0
    assert store.job_counts() == {"pending": 2}
    assert report.to_dict()["would_cancel"] == 2


def test_selection_filters_all_hold(store: SqliteStore, clock: ManualClock) -> None:
    now = moment(clock)
    in_2h, in_4h = now + timedelta(hours=2), now + timedelta(hours=4)
    store.insert_jobs(
        [
            queued("early", "mock", process_at=epoch_ms(in_2h)),
            queued("late", "mock", process_at=epoch_ms(in_4h)),
            queued("late-other", "other", process_at=epoch_ms(in_4h)),
            queued("vendor-late", "mock", at=in_4h),  # scheduled at the vendor when sent
        ]
    )
    source = Providers(mock=MockProvider("mock", {}), other=MockProvider("other", {}))
    selection = Selection(at_or_after_ms=epoch_ms(now + timedelta(hours=3)), provider_id="mock")
    report = cancel(selection, store=store, providers=source, now=now)
    assert {j.id for j in store.iter_jobs(status="cancelled")} == {"late", "vendor-late"}
    assert report.selected == 2
    by_id = cancel(
        Selection(ids=("early", "late-other"), provider_id="other"),
        store=store,
        providers=source,
        now=now,
    )
    assert by_id.selected == 1 and {j.id for j in store.iter_jobs(status="cancelled")} >= {
        "late-other"
    }


def test_bad_selections_are_refused_before_anything_changes(
    store: SqliteStore, clock: ManualClock
) -> None:
    store.insert_jobs([queued("a", "mock", batch="b")])
    source = Providers(mock=MockProvider("mock", {}))
    with pytest.raises(UsageError):
        cancel(Selection(provider_id="mock"), store=store, providers=source, now=moment(clock))
    with pytest.raises(InvalidInput) as unknown:
        cancel(Selection(ids=("a", "typo")), store=store, providers=source, now=moment(clock))
    assert unknown.value.code == "NOT_FOUND" and unknown.value.value == "typo"
    with pytest.raises(InvalidInput) as no_batch:
        cancel(Selection(batch="nope"), store=store, providers=source, now=moment(clock))
    assert no_batch.value.field == "batch"
    assert store.job_counts() == {"pending": 1}


# -- vendor-scheduled messages (SOLAPI groups) -----------------------------------------------------


def test_a_group_holding_two_batches_is_cancelled_only_when_both_are_selected(
    store: SqliteStore, solapi: SolapiProvider, solapi_fake: FakeSolapi, clock: ManualClock
) -> None:
    at = moment(clock, hours=2)
    store.insert_jobs(
        [queued(f"a{n}", "solapi", at=at, batch="A") for n in range(2)]
        + [queued("b0", "solapi", at=at, batch="B")]
    )
    source = Providers(solapi=solapi)
    send_all(store, source, clock)
    (group,) = {m["groupId"] for m in solapi_fake.accepted_messages()}
    now = moment(clock)

    partial = cancel(Selection(batch="A"), store=store, providers=source, now=now)
    assert outcomes(partial) == {
        "a0": (NOT_CANCELLED, "PARTIAL_GROUP"),
        "a1": (NOT_CANCELLED, "PARTIAL_GROUP"),
    }
    assert "b0" in partial.items[0].detail and "batch B" in partial.items[0].detail
    assert [(u.unit, u.reason) for u in partial.units] == [(group, "PARTIAL_GROUP")]
    assert not [r for r in solapi_fake.requests if r["method"] == "DELETE"]
    assert solapi_fake.group(group)["status"] == "SCHEDULED"  # type: ignore[index]
    assert store.count_tracking_by_status() == {"PENDING": 3}

    whole = cancel(Selection(at_or_after_ms=epoch_ms(now)), store=store, providers=source, now=now)
    assert whole.counts[CANCELLED] == 3 and whole.where["vendor"] == 3 and not whole.items
    assert [(u.unit, u.outcome) for u in whole.units] == [(group, CANCELLED)]
    assert store.count_tracking_by_status() == {"CANCELLED": 3}
    row = store.get_tracking("a0")
    assert row is not None and row.provider_status_code == "PENDING"
    assert {m["status"] for m in solapi_fake.accepted_messages()} == {"CANCELED"}


def test_the_row_stays_pending_when_the_vendor_does_not_confirm(
    store: SqliteStore, solapi: SolapiProvider, solapi_fake: FakeSolapi, clock: ManualClock
) -> None:
    store.insert_jobs([queued("m1", "solapi", at=moment(clock, minutes=30), batch="A")])
    source = Providers(solapi=solapi)
    send_all(store, source, clock)
    clock.advance(31 * 60)  # the vendor sends it; kmsg's clock is told otherwise
    report = cancel(
        Selection(ids=("m1",)), store=store, providers=source, now=moment(clock, hours=-1)
    )
    assert outcomes(report) == {"m1": (NOT_CANCELLED, "TOO_LATE")}
    assert store.count_tracking_by_status() == {"PENDING": 1}

    solapi_fake.fault_paths = None
    solapi_fake.script = ["500", "500", "500", "500"]
    failing = cancel(
        Selection(ids=("m1",)), store=store, providers=source, now=moment(clock, hours=-1)
    )
    assert outcomes(failing) == {"m1": (NOT_CANCELLED, "PROVIDER_ERROR")}
    assert store.count_tracking_by_status() == {"PENDING": 1}


def test_sent_due_and_unsupported_messages_are_listed_with_their_reason(
    store: SqliteStore, clock: ManualClock
) -> None:
    now = moment(clock)
    mock = MockProvider("mock", {})
    store.insert_jobs(
        [
            queued("sent", "mock"),
            queued("due", "mock", at=now + timedelta(minutes=1)),
            queued("nocancel", "legacy", at=now + timedelta(hours=1)),
        ]
    )
    legacy = NoCancel(MockProvider("legacy", {}))
    send_all(store, Providers(mock=mock, legacy=legacy), clock)
    later = now + timedelta(minutes=2)
    report = cancel(
        Selection(ids=("sent", "due", "nocancel")),
        store=store,
        providers=Providers(mock=mock, legacy=legacy),
        now=later,
    )
    assert outcomes(report) == {
        "sent": (NOT_CANCELLED, "ALREADY_SENT"),
        "due": (NOT_CANCELLED, "TOO_LATE"),
        "nocancel": (NOT_CANCELLED, "NO_CANCEL_API"),
    }
    assert report.to_dict()["reasons"] == {"ALREADY_SENT": 1, "NO_CANCEL_API": 1, "TOO_LATE": 1}


class NoCancel:
    """A provider without a cancel API: the mock's sending, nothing more."""

    def __init__(self, inner: MockProvider) -> None:
        self.inner = inner
        self.id, self.type, self.capabilities = inner.id, inner.type, inner.capabilities
        self.batch_size, self.native_failover = inner.batch_size, inner.native_failover

    def validate(self, message: Message) -> None:
        self.inner.validate(message)

    def send(self, messages: Any) -> Any:
        return self.inner.send(messages)

    def close(self) -> None:
        pass


# -- Aligo's cut-off and IWINV --------------------------------------------------------------------


def test_aligo_is_not_asked_inside_its_cut_off(
    store: SqliteStore, aligo: AligoProvider, aligo_fake: FakeAligo, clock: ManualClock
) -> None:
    source = Providers(aligo=aligo)
    at = moment(clock, minutes=30)
    store.insert_jobs([queued("x", "aligo", at=at), queued("y", "aligo", at=at)])
    send_all(store, source, clock)
    inside = cancel(
        Selection(ids=("x", "y")), store=store, providers=source, now=at - timedelta(minutes=4)
    )
    assert {r for _, r in outcomes(inside).values()} == {"TOO_LATE"}
    assert not [r for r in aligo_fake.requests if r["endpoint"] == "/cancel/"]

    report = cancel(Selection(ids=("x", "y")), store=store, providers=source, now=moment(clock))
    assert report.counts[CANCELLED] == 2
    asked = [r["form"]["mid"] for r in aligo_fake.requests if r["endpoint"] == "/cancel/"]
    assert sorted(asked) == sorted({m["msg_id"] for m in aligo_fake.accepted_messages()})
    assert all(m["cancelled_at"] for m in aligo_fake.accepted_messages())


def test_iwinv_alimtalk_is_cancelled_and_sms_is_not(
    store: SqliteStore, iwinv: IwinvProvider, clock: ManualClock
) -> None:
    source = Providers(iwinv=iwinv)
    at = moment(clock, hours=1)
    job = queued("at1", "iwinv", batch="c")
    job.data["message"] = message_to_data(welcome("at1", "01011112222", at))
    store.insert_jobs([job, queued("sms1", "iwinv", at=at, batch="c")])
    send_all(store, source, clock)
    report = cancel(Selection(batch="c"), store=store, providers=source, now=moment(clock))
    assert outcomes(report) == {"sms1": (NOT_CANCELLED, "NO_CANCEL_API")}
    # the reason names the type: the same vendor cancels the AlimTalk
    assert [item.detail for item in report.items] == [
        "provider iwinv offers no cancel for a scheduled SMS: cancel it at the vendor, "
        "before its send time"
    ]
    assert report.counts[CANCELLED] == 1
    row = store.get_tracking("at1")
    assert row is not None and row.status == "CANCELLED"
