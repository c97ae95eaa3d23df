"""`kmsg report`: what became of a send-many batch or of the messages of a time range.

`build_report` picks the selection (by default the last batch), asks the store for grouped
counts (kmsg_cli.store.report) and turns them into a `Report` (kmsg_cli.report.figures);
`record_batch_input` is what send-many calls so that a batch's report can start at the rows
it read. The HTML page is kmsg_cli.report.page (optional extra `[report]`). docs/report.md
describes every figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kmsg_cli.report.figures import (
    PERCENTILES,
    Report,
    add_jobs,
    add_tracking,
    fill_timeline,
    latency_from,
    timeline_bucket,
)
from kmsg_cli.store.contract import Store
from kmsg_cli.store.report import Selection, SqlReports, report_queries
from kmsg_cli.tracking import FALLBACK_BATCH

__all__ = ["Report", "Selection", "build_report", "record_batch_input"]


def record_batch_input(
    store: Store, batch: str, *, rows: int, valid: int, invalid: int, skipped: int = 0, now_ms: int
) -> None:
    """Remember what send-many read for `batch` (kept across re-runs: the first start time);
    `skipped`: valid rows not sent because they repeat another message (docs/duplicates.md)."""
    queries = report_queries(store)
    queries.record_batch(
        batch, rows=rows, valid=valid, invalid=invalid, skipped=skipped, now_ms=now_ms
    )


def build_report(
    store: Store,
    selection: Selection,
    *,
    now_ms: int,
    provider_types: Mapping[str, str] | None = None,
    utc_offset_ms: int = 0,
) -> Report:
    """The report of `selection`; without a batch and a time window, of the last batch.

    `provider_types` maps the profile's provider ids to their types (for the meaning of
    failure codes); `utc_offset_ms` aligns the timeline's buckets to local midnight.
    """
    queries = report_queries(store)
    types = dict(provider_types or {})
    chosen, default = _resolve(queries, selection)
    described: dict[str, Any] = {
        "batch": chosen.batch,
        "since_ms": chosen.since_ms,
        "until_ms": chosen.until_ms,
        "provider_id": chosen.provider_id,
        "type": chosen.type,
        "to": chosen.to,
        "providers": None if chosen.providers is None else list(chosen.providers),
        "last_batch": default,
    }
    report = Report(selection=described, generated_ms=now_ms)
    if default and chosen.batch is None:
        report.notes.append("no send-many batch yet: choose messages with --since/--until")
        return report
    groups = queries.tracking_groups(chosen, now_ms=now_ms)
    add_tracking(report, groups, types)
    recorded = queries.batch_input(chosen.batch) if chosen.batch is not None else None
    # The completed jobs of a batch are counted (a pass over all of them) only where the
    # recorded input cannot tell how many accepted messages have no tracking row.
    whole = recorded is not None and recorded.valid is not None and not chosen.narrowed
    counting = chosen.batch is not None and not whole
    completed = add_jobs(report, queries.job_groups(chosen, completed=counting), types)
    funnel = report.funnel
    if chosen.batch is not None:
        report.batch_input = recorded
        settled = (
            funnel.accepted
            + funnel.rejected
            + funnel.unknown_outcome
            + funnel.queued
            + funnel.withdrawn
        )
        if whole:
            assert recorded is not None
            funnel.rows, funnel.valid, funnel.invalid = (
                recorded.rows,
                recorded.valid,
                recorded.invalid,
            )
            # Skipped rows repeat another message (of an earlier batch, or an earlier row of the
            # file): they have no job of their own, and are not "accepted without tracking".
            funnel.skipped = recorded.skipped or 0
            funnel.untracked = max(0, (recorded.valid or 0) - funnel.skipped - settled)
        else:
            funnel.untracked = max(0, completed - funnel.accepted)
            funnel.valid = settled + funnel.untracked
            if recorded is None and funnel.valid:
                report.notes.append(
                    "input rows were not recorded for this batch (sent before kmsg recorded "
                    "them): the funnel starts at the valid rows in the job ledger"
                )
        funnel.accepted += funnel.untracked
        if report.empty and recorded is None:
            recent = queries.recent_batches()
            if recent:
                report.notes.append("recent batches: " + ", ".join(recent))
    latency, ranks = latency_from(groups)
    if ranks:
        values = queries.latency_ranks(chosen, ranks)
        latency.percentiles_ms = {
            p: values[rank] for p, rank in zip(PERCENTILES, ranks, strict=True) if rank in values
        }
    report.latency = latency
    bucket = timeline_bucket(groups)
    if bucket is not None:
        points = queries.timeline(chosen, bucket_ms=bucket, offset_ms=utc_offset_ms)
        report.timeline_bucket_ms = bucket
        report.timeline = fill_timeline(points, bucket)
    return report


RECENT_BATCHES = 50  # how far back the last batch of the profile's providers is looked for


def _resolve(queries: SqlReports, selection: Selection) -> tuple[Selection, bool]:
    """The selection to report on, and whether the last batch was chosen by default.

    A batch, named or the last one, is reported whole; the last one is the last of the
    selection's `providers` (the profile's) when it has them. A time window keeps them."""
    if selection.batch is not None:
        return replace(selection, providers=None), False
    if selection.since_ms is not None or selection.until_ms is not None:
        return selection, False
    wanted = selection.providers

    def ours(batch: str) -> bool:
        return wanted is None or queries.batch_has_provider(batch, wanted)

    recent = queries.recent_batches(1 if wanted is None else RECENT_BATCHES)
    batch = next((b for b in recent if ours(b)), None)
    if batch is None and not recent:  # a database from before batches were recorded
        # The fallback SMS of AlimTalk messages run as a batch of their own: not one to report.
        batch = queries.last_batch_from_jobs(exclude=[FALLBACK_BATCH])
        batch = batch if batch is not None and ours(batch) else None
    return Selection(
        batch=batch,
        provider_id=selection.provider_id,
        type=selection.type,
        to=selection.to,
    ), True
