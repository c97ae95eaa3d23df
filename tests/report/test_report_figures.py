"""The report's figures on a known data set (tests/report/sample.py), on every engine: the SQL
groups, percentiles, timeline and batch input counts against what the data set was built with,
and honest empty selections."""

from __future__ import annotations

import json
import math
from collections import Counter
from itertools import pairwise

import pytest

from kmsg_cli.models import Job, TrackingRow
from kmsg_cli.report import Report, Selection, build_report, record_batch_input
from kmsg_cli.store.contract import Store
from tests.report import sample

NOW = sample.START_MS + 6 * 3_600_000


def report_of(store: Store, selection: Selection | None = None) -> Report:
    return build_report(
        store,
        selection or Selection(),
        now_ms=NOW,
        provider_types=sample.PROVIDER_TYPES,
        utc_offset_ms=9 * 3_600_000,
    )


def nearest_rank(values: list[int], percent: int) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


def test_the_last_batch_is_reported_with_every_figure_of_the_data_set(store: Store) -> None:
    expected = sample.build(store, now_ms=NOW)
    report = report_of(store)
    assert report.selection["batch"] == sample.BATCH and report.selection["last_batch"] is True
    f = report.funnel
    assert (f.rows, f.valid, f.invalid) == (expected.rows, 600, expected.invalid)
    tracked = sum(expected.statuses.values())
    assert f.accepted == tracked and f.untracked == 0
    assert f.delivered == expected.statuses["DELIVERED"]
    assert f.failed == expected.statuses["FAILED"]
    assert f.unknown == expected.statuses["UNKNOWN"]
    assert f.pending == expected.statuses["SENT"]
    assert f.sent == tracked  # nothing was scheduled: every accepted row was sent
    assert f.unknown_outcome == expected.unknown_outcome and f.queued == expected.queued
    assert f.rejected == sum(expected.send_codes.values())
    assert f.valid == f.accepted + f.rejected + f.unknown_outcome + f.queued

    delivery = Counter(
        {(x.provider_id, x.code): x.count for x in report.failures if x.stage == "delivery"}
    )
    assert delivery == expected.delivery_codes
    sends = Counter(
        {(x.provider_id, x.code): x.count for x in report.failures if x.stage == "send"}
    )
    assert sends == expected.send_codes
    by_code = {(x.provider_id, x.code): x for x in report.failures}
    assert by_code[("solapi", "3104")].meaning_ko == "카카오톡 미사용자"
    assert by_code[("solapi", "1062")].kmsg_code == "SENDER_NOT_REGISTERED"
    assert by_code[("solapi", "1062")].meaning == "sender number not registered"
    counts = [x.count for x in report.failures]
    assert counts == sorted(counts, reverse=True)

    lat = report.latency
    assert lat.count == len(expected.latencies)
    for p in (50, 90, 99):
        assert lat.percentiles_ms[p] == nearest_rank(expected.latencies, p)
    assert lat.max_ms == max(expected.latencies)
    assert lat.mean_ms == round(sum(expected.latencies) / len(expected.latencies))
    assert sum(n for _bound, n in lat.histogram) == lat.count

    assert report.fallbacks.api_sent == expected.fallbacks_sent == report.fallbacks.sent
    alimtalk = next(b for b in report.by_type if b.key == "ALIMTALK")
    assert report.fallbacks.requested == alimtalk.accepted  # every AlimTalk had fallback text
    assert report.tracking.still_tracked == expected.statuses["SENT"]
    assert report.tracking.due == expected.due
    assert report.tracking.hint == "run `kmsg track run-once`"
    assert report.tracking.next_check_ms is not None and report.tracking.next_check_ms > NOW

    assert sum(b.accepted for b in report.by_provider) == f.accepted
    assert sum(b.not_accepted + b.queued for b in report.by_type) == (
        f.rejected + f.unknown_outcome + f.queued
    )
    assert report.timeline_bucket_ms is not None
    assert sum(d for _at, d, _f in report.timeline) == f.delivered
    assert sum(x for _at, _d, x in report.timeline) == f.failed
    starts = [at for at, _d, _f in report.timeline]
    assert {b - a for a, b in pairwise(starts)} == {report.timeline_bucket_ms}


def test_filters_narrow_the_batch_and_match_track_list_counts(store: Store) -> None:
    sample.build(store, now_ms=NOW)
    report = report_of(store, Selection(batch=sample.BATCH, provider_id="backup"))
    statuses = store.count_tracking_by_status(provider_id="backup")
    assert report.funnel.accepted == sum(statuses.values())
    assert report.funnel.delivered == statuses.get("DELIVERED", 0)
    assert [b.key for b in report.by_provider] == ["backup"]
    assert report.funnel.rows is None  # input counts are the whole batch's, not one provider's
    assert report.funnel.valid == report.funnel.accepted + report.funnel.rejected + (
        report.funnel.unknown_outcome + report.funnel.queued
    )
    window = Selection(since_ms=sample.START_MS, until_ms=sample.START_MS + 10 * 60_000)
    ranged = report_of(store, window)
    counted = store.count_tracking_by_status(since_ms=window.since_ms, until_ms=window.until_ms)
    assert ranged.funnel.accepted == sum(counted.values()) > 0
    assert ranged.funnel.failed == counted.get("FAILED", 0)
    assert ranged.funnel.rows is None and ranged.funnel.valid is None
    assert ranged.selection["batch"] is None


def test_a_profiles_providers_narrow_a_window_and_choose_the_last_batch(store: Store) -> None:
    """Profiles may share a database: a time window keeps to the profile's providers, the last
    batch is the last one with a job of them, and a batch (named or chosen) is reported whole."""
    expected = sample.build(store, now_ms=NOW)
    window = Selection(since_ms=sample.START_MS, providers=("backup",))
    ranged = report_of(store, window)
    statuses = store.count_tracking_by_status(provider_id="backup", since_ms=sample.START_MS)
    assert ranged.funnel.accepted == sum(statuses.values()) > 0
    assert [b.key for b in ranged.by_provider] == ["backup"]
    assert ranged.selection["providers"] == ["backup"]
    # another profile's batch, run later, is not "the last one" of this profile
    data = {"message": {"id": "x:1", "type": "SMS", "to": "01011112222"}, "provider": "mock"}
    store.insert_jobs(
        [
            Job(
                id="x:1",
                type="send",
                data=data,
                created_at=NOW,
                process_at=NOW,
                metadata={"batch": "sandbox-test"},
            )
        ]
    )
    record_batch_input(store, "sandbox-test", rows=1, valid=1, invalid=0, now_ms=NOW + 1)
    assert report_of(store).selection["batch"] == "sandbox-test"  # no profile: the last one
    mine = report_of(store, Selection(providers=("solapi", "iwinv")))
    assert mine.selection["batch"] == sample.BATCH and mine.selection["last_batch"] is True
    assert mine.funnel.rows == expected.rows  # the whole batch, of both its providers
    assert {b.key for b in mine.by_provider} == {"solapi", "backup"}
    none = report_of(store, Selection(providers=("aligo",)))
    assert none.selection["batch"] is None and none.empty
    named = report_of(store, Selection(batch="sandbox-test", providers=("solapi",)))
    assert named.funnel.accepted + named.funnel.queued == 1 and named.selection["providers"] is None


def test_an_empty_database_and_an_unknown_batch_are_honest(store: Store) -> None:
    report = report_of(store)
    assert report.empty and report.selection["batch"] is None
    assert report.notes == ["no send-many batch yet: choose messages with --since/--until"]
    sample.build(store, now_ms=NOW)
    missing = report_of(store, Selection(batch="no-such-batch"))
    assert missing.empty and missing.funnel.accepted == 0 and missing.failures == []
    assert missing.notes == [f"recent batches: {sample.BATCH}"]
    window = report_of(store, Selection(since_ms=NOW + 1))
    assert window.empty and window.latency.count == 0 and window.timeline == []


def test_a_batch_without_recorded_input_starts_at_the_ledger(store: Store) -> None:
    created = sample.START_MS
    jobs = [
        Job(
            id=f"old:{n}",
            type="send",
            data={"message": {"type": "SMS", "to": "01012345678"}, "provider": "solapi"},
            status="completed",
            created_at=created + n,
            process_at=created,
            metadata={"batch": "old", "row": n},
        )
        for n in range(3)
    ]
    store.insert_jobs(jobs)
    store.insert_tracking(
        [
            TrackingRow(
                message_id=f"old:{n}",
                provider_id="solapi",
                provider_message_id=f"P{n}",
                type="SMS",
                to="01012345678",
                status="SENT",
                requested_at=created,
                status_updated_at=created,
                next_check_at=NOW + 60_000,
            )
            for n in range(2)
        ]
    )
    report = report_of(store)  # found through the job table: nothing was recorded
    assert report.selection["batch"] == "old"
    f = report.funnel
    assert (f.rows, f.valid, f.accepted, f.untracked, f.pending) == (None, 3, 3, 1, 2)
    assert "input rows were not recorded" in report.notes[0]


def test_refusals_without_a_vendor_code_are_listed_by_their_own_code(store: Store) -> None:
    # the mock's refusals carry "provider_code": null (or none at all); MySQL reads a JSON
    # null as the text 'null' unless asked not to, which merged every such code into one
    errors = [
        {"code": "MOCK_REJECTED", "message": "rejected", "provider_code": None},
        {"code": "MOCK_REJECTED", "message": "rejected", "provider_code": None},
        {"code": "MOCK_UNAVAILABLE", "message": "outage", "provider_code": None},
        {"code": "SEND_FAILED", "message": "refused"},
        {"code": "SENDER_NOT_REGISTERED", "message": "미등록", "provider_code": "1062"},
    ]
    store.insert_jobs(
        [
            Job(
                id=f"r:{n}",
                type="send",
                data={"message": {"type": "SMS", "to": "01012345678"}, "provider": "backup"},
                status="failed",
                error=json.dumps(error, ensure_ascii=False),
                created_at=sample.START_MS + n,
                process_at=sample.START_MS,
                failed_at=sample.START_MS,
                metadata={"batch": "r", "row": n},
            )
            for n, error in enumerate(errors)
        ]
    )
    report = report_of(store, Selection(batch="r"))
    listed = {(f.code, f.kmsg_code): f.count for f in report.failures if f.stage == "send"}
    assert listed == {  # kmsg's code beside the vendor's, where the vendor gave one
        ("MOCK_REJECTED", None): 2,
        ("MOCK_UNAVAILABLE", None): 1,
        ("SEND_FAILED", None): 1,
        ("1062", "SENDER_NOT_REGISTERED"): 1,
    }
    assert report.funnel.rejected == 5


def test_a_re_run_keeps_the_first_start_and_takes_the_new_counts(store: Store) -> None:
    record_batch_input(store, "b", rows=10, valid=8, invalid=2, now_ms=1_000)
    record_batch_input(store, "b", rows=11, valid=9, invalid=2, skipped=4, now_ms=5_000)
    record_batch_input(store, "later", rows=1, valid=1, invalid=0, now_ms=3_000)
    from kmsg_cli.store.report import report_queries

    queries = report_queries(store)
    found = queries.batch_input("b")
    assert found is not None
    assert (found.rows, found.valid, found.invalid, found.skipped) == (11, 9, 2, 4)
    assert queries.batch_input("later").skipped == 0  # type: ignore[union-attr]
    assert (found.started_ms, found.updated_ms) == (1_000, 5_000)
    assert queries.recent_batches() == ["b", "later"]  # the most recently run first
    assert queries.batch_input("nope") is None


@pytest.mark.parametrize("size", [1, 2])
def test_tiny_selections_give_exact_percentiles(store: Store, size: int) -> None:
    expected = sample.build(store, size=size, seed=3, now_ms=NOW)
    report = report_of(store)
    assert report.latency.count == len(expected.latencies)
    wanted = {p: nearest_rank(expected.latencies, p) for p in (50, 90, 99)}
    assert report.latency.percentiles_ms == (wanted if expected.latencies else {})


def test_a_chart_of_small_counts_has_whole_number_ticks() -> None:
    import re

    from kmsg_cli.report.page import _bar

    svg = _bar(["1042", "1043"], [("n", [1, 2], "#d33")], horizontal=True)
    ticks = set(re.findall(r">(\d+(?:\.\d+)?)</text>", svg))
    assert {"0", "1", "2"} <= ticks
    assert not any("." in tick for tick in ticks)  # never 0.1, 0.2, ...
