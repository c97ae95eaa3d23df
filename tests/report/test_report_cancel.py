"""What `kmsg cancel` leaves behind, as the report counts it (docs/report.md): a message taken
back from the queue is `withdrawn` (never accepted), one cancelled at the vendor `cancelled`
(accepted, then cancelled), with or without the batch's recorded input."""

from __future__ import annotations

import pytest

from kmsg_cli.models import Job, TrackingRow
from kmsg_cli.report import Report, Selection, build_report, record_batch_input
from kmsg_cli.store.contract import Store
from tests.report import sample

NOW = sample.START_MS + 3_600_000


def _batch(store: Store) -> None:
    def job(n: int) -> Job:
        return Job(
            id=f"c:{n}",
            type="send",
            data={"message": {"type": "SMS", "to": "01012345678"}, "provider": "solapi"},
            created_at=sample.START_MS,
            process_at=sample.START_MS,
            metadata={"batch": "c", "row": n},
        )

    store.insert_jobs([job(n) for n in range(4)])
    vendor = TrackingRow(
        message_id="c:0",
        provider_id="solapi",
        provider_message_id="P0",
        type="SMS",
        to="01012345678",
        status="PENDING",
        requested_at=sample.START_MS,
        status_updated_at=sample.START_MS,
        next_check_at=NOW + 3_600_000,
        scheduled_at=NOW + 3_480_000,
        metadata={"group_id": "G1"},
    )
    store.complete_jobs(["c:0"], [vendor], now_ms=sample.START_MS)
    store.cancel_tracking(
        ["c:0"], now_ms=NOW, provider_status_code="PENDING", provider_status_message=None
    )
    assert store.cancel_jobs(["c:1", "c:2"], now_ms=NOW) == {"c:1", "c:2"}


def report_of(store: Store) -> Report:
    return build_report(
        store,
        Selection(batch="c"),
        now_ms=NOW,
        provider_types=sample.PROVIDER_TYPES,
        utc_offset_ms=9 * 3_600_000,
    )


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded input", "ledger only"])
def test_cancelled_messages_are_counted_apart(store: Store, recorded: bool) -> None:
    _batch(store)
    if recorded:
        record_batch_input(store, "c", rows=4, valid=4, invalid=0, now_ms=sample.START_MS)
    f = report_of(store).funnel
    assert (f.valid, f.accepted, f.cancelled, f.withdrawn, f.queued) == (4, 1, 1, 2, 1)
    assert (f.untracked, f.sent, f.rejected) == (0, 0, 0)


def test_the_delivery_rate_leaves_out_what_was_cancelled_at_the_vendor(store: Store) -> None:
    """A message cancelled at the vendor was never meant to arrive: it does not count against
    the delivery rate, and a batch cancelled whole has none (docs/report.md)."""
    from kmsg_cli.report.page import render_page

    _batch(store)
    report = report_of(store)
    (solapi,) = report.by_provider
    assert (solapi.accepted, solapi.cancelled, solapi.delivered) == (1, 1, 0)
    assert solapi.delivery_rate is None and report.funnel.delivery_rate is None
    page = render_page(report, timezone="Asia/Seoul")
    # the card is the funnel's 취소 row (at the vendor); the two taken from the queue under it
    assert 'data-figure="cancelled">1<' in page
    assert 'data-figure="withdrawn">발송 전 취소 2<' in page
    assert "전달률 —" in page


def test_a_rate_counts_delivered_among_those_not_cancelled() -> None:
    from kmsg_cli.report.figures import Breakdown, delivery_rate

    assert Breakdown("solapi", accepted=10, delivered=6, failed=0, cancelled=4).delivery_rate == 1
    assert delivery_rate(delivered=3, accepted=10, cancelled=4) == 0.5
    assert delivery_rate(delivered=0, accepted=2, cancelled=2) is None
    assert delivery_rate(delivered=0, accepted=0, cancelled=0) is None
