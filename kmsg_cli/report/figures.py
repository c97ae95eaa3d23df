"""The figures of a report, and how they follow from the grouped rows the store returns.

Every count comes from a GROUP BY in the database (kmsg_cli.store.report); this module only
adds groups up: a few dozen rows, whatever the number of messages. docs/report.md defines
each figure.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from kmsg_cli.report.codes import meaning
from kmsg_cli.store.report import LATENCY_BOUNDS_MS, BatchInput, JobGroup, TrackingGroup

PERCENTILES = (50, 90, 99)
UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
# Timeline bucket widths (ms), the smallest giving at most MAX_POINTS points is used.
BUCKETS_MS = (
    60_000,
    300_000,
    900_000,
    1_800_000,
    3_600_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    604_800_000,
)
MAX_POINTS = 48
# A Korean phone number inside a vendor's error text (`recipient 01077770000 rejected`): the
# example of a failure is masked, as a report is meant to be passed on (docs/report.md).
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])(0[0-9]{1,2})([-. ]?)[0-9]{3,4}([-. ]?)([0-9]{4})(?![0-9])")


def mask_numbers(text: str) -> str:
    """`text` with the middle digits of every Korean phone number in it starred:
    `01077770000` -> `010****0000`, `010-1234-5678` -> `010-****-5678`."""
    return _PHONE_IN_TEXT.sub(lambda m: f"{m[1]}{m[2]}****{m[3]}{m[4]}", text)


Iso = Callable[[int | None], str | None]


def duration_text(ms: int | None, units: tuple[str, str, str]) -> str:
    """A latency for people: milliseconds below a second, else one decimal of the largest
    of seconds, minutes and hours (`units`, their names, each with its space if any) that
    fits; `—` when there is none."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    seconds, minutes, hours = units
    if ms < 60_000:
        return f"{ms / 1000:.1f}{seconds}"
    if ms < 3_600_000:
        return f"{ms / 60_000:.1f}{minutes}"
    return f"{ms / 3_600_000:.1f}{hours}"


@dataclass
class Funnel:
    """rows -> valid -> accepted -> sent -> delivered / failed / unknown / cancelled / pending.

    None: not known for this selection (input counts exist only for a whole batch).
    """

    rows: int | None = None
    valid: int | None = None
    invalid: int | None = None
    skipped: int = 0  # valid, not sent: it repeats another message (docs/duplicates.md)
    accepted: int = 0
    rejected: int = 0  # not accepted: refused or failed for good at sending
    unknown_outcome: int = 0  # not known whether the provider accepted it
    queued: int = 0  # not sent yet (pending, retrying or being sent)
    withdrawn: int = 0  # taken back from the queue by `kmsg cancel`: never sent
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    pending: int = 0  # accepted, still being tracked (PENDING or SENT)
    untracked: int = 0  # accepted, but without a tracking row

    @property
    def delivery_rate(self) -> float | None:
        """See `delivery_rate`."""
        return delivery_rate(self.delivered, self.accepted, self.cancelled)


def delivery_rate(delivered: int, accepted: int, cancelled: int) -> float | None:
    """Delivered share of the accepted messages that were not cancelled (taken back at the
    vendor: they were never meant to arrive); None when there are none (docs/report.md)."""
    meant = accepted - cancelled
    return delivered / meant if meant > 0 else None


@dataclass
class Failure:
    """One group of the failure list: a stage, a provider and a code."""

    stage: str  # "send" (never accepted), "delivery" (FAILED after acceptance), "unknown"
    provider_id: str
    code: str
    count: int
    kmsg_code: str | None = None
    meaning: str | None = None
    meaning_ko: str | None = None
    example: str | None = None


@dataclass
class Breakdown:
    """Counts for one provider or one message type."""

    key: str
    accepted: int = 0
    delivered: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    pending: int = 0
    not_accepted: int = 0
    queued: int = 0

    @property
    def delivery_rate(self) -> float | None:
        """See `delivery_rate`."""
        return delivery_rate(self.delivered, self.accepted, self.cancelled)


@dataclass
class Latency:
    """Acceptance (or the scheduled time) -> delivery, over rows with a delivery time."""

    count: int = 0
    percentiles_ms: dict[int, int] = field(default_factory=dict)
    mean_ms: int | None = None
    max_ms: int | None = None
    histogram: list[tuple[int | None, int]] = field(default_factory=list)  # (up to ms, count)


@dataclass
class Fallbacks:
    """SMS/LMS fallbacks of AlimTalk (and other Kakao/RCS) messages, from metadata.failover."""

    requested: int = 0  # messages sent with fallback text
    api_sent: int = 0  # kmsg sent `<id>:api-fallback`
    api_failed: int = 0
    api_queued: int = 0
    native: int = 0  # the provider sent its own fallback
    not_sent: int = 0  # decided against (the failure was not "not a KakaoTalk user", ...)

    @property
    def sent(self) -> int:
        return self.api_sent + self.native


@dataclass
class Tracking:
    """Accepted messages still waiting for a final status."""

    still_tracked: int = 0
    due: int = 0
    next_check_ms: int | None = None
    run_once: str = "kmsg track run-once"  # the command, as the CLI spells it for the profile

    @property
    def hint(self) -> str | None:
        return f"run `{self.run_once}`" if self.due else None


@dataclass
class Report:
    """Everything `kmsg report` shows (terminal, --json, --html)."""

    selection: dict[str, Any]
    generated_ms: int
    batch_input: BatchInput | None = None
    funnel: Funnel = field(default_factory=Funnel)
    failures: list[Failure] = field(default_factory=list)
    latency: Latency = field(default_factory=Latency)
    by_provider: list[Breakdown] = field(default_factory=list)
    by_type: list[Breakdown] = field(default_factory=list)
    fallbacks: Fallbacks = field(default_factory=Fallbacks)
    tracking: Tracking = field(default_factory=Tracking)
    timeline_bucket_ms: int | None = None
    timeline: list[tuple[int, int, int]] = field(default_factory=list)  # (at, delivered, failed)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        f = self.funnel
        return not (
            f.accepted or f.rejected or f.unknown_outcome or f.queued or f.withdrawn or f.skipped
        )

    def selection_parts(self, clock: LocalClock, words: Mapping[str, str]) -> list[str]:
        """What the report covers, a part per filter given, in `words` (the terminal's English,
        the page's Korean): "batch", "last_batch", "no_batch" (the last batch was asked for and
        there is none), "period" (a format of `start` and `end`), "start" and "end" (an open
        end of the period), "provider_id", "providers" (the profile's, of a time window), "type"
        and "to"."""
        s = self.selection
        parts = []
        if s["batch"]:
            last = f" ({words['last_batch']})" if s["last_batch"] else ""
            parts.append(f"{words['batch']} {s['batch']}{last}")
        elif s["last_batch"]:  # the last batch was asked for, and there is none
            parts.append(words["no_batch"])
        if s["since_ms"] is not None or s["until_ms"] is not None:
            start = clock.text(s["since_ms"]) or words["start"]
            end = clock.text(s["until_ms"]) or words["end"]
            parts.append(words["period"].format(start=start, end=end))
        if s.get("providers"):
            parts.append(f"{words['providers']} {', '.join(s['providers'])}")
        for key in ("provider_id", "type", "to"):
            if s[key]:
                parts.append(f"{words[key]} {s[key]}")
        return parts

    def to_dict(self, iso: Iso) -> dict[str, Any]:
        """The JSON document of `--json`; times as `iso` renders epoch milliseconds."""
        funnel = asdict(self.funnel)
        latency = {
            "count": self.latency.count,
            **{f"p{p}_ms": self.latency.percentiles_ms.get(p) for p in PERCENTILES},
            "mean_ms": self.latency.mean_ms,
            "max_ms": self.latency.max_ms,
            "histogram": [{"up_to_ms": b, "count": n} for b, n in self.latency.histogram],
        }
        fallbacks = {**asdict(self.fallbacks), "sent": self.fallbacks.sent}
        tracking = {
            "still_tracked": self.tracking.still_tracked,
            "due": self.tracking.due,
            "next_check_at": iso(self.tracking.next_check_ms),
            "hint": self.tracking.hint,
        }
        return {
            "selection": self.selection,
            "generated_at": iso(self.generated_ms),
            "empty": self.empty,
            "batch_started_at": iso(self.batch_input.started_ms) if self.batch_input else None,
            "funnel": funnel,
            "failures": [asdict(f) for f in self.failures],
            "latency": latency,
            "by_provider": [_breakdown(b, "provider_id") for b in self.by_provider],
            "by_type": [_breakdown(b, "type") for b in self.by_type],
            "fallbacks": fallbacks,
            "tracking": tracking,
            "timeline": {
                "bucket_ms": self.timeline_bucket_ms,
                "points": [
                    {"at": iso(at), "delivered": d, "failed": f} for at, d, f in self.timeline
                ],
            },
            "notes": self.notes,
        }


def _breakdown(b: Breakdown, key: str) -> dict[str, Any]:
    values = asdict(b)
    values[key] = values.pop("key")
    rate = b.delivery_rate
    values["delivery_rate"] = None if rate is None else round(rate, 4)
    return values


# -- from groups to figures ---------------------------------------------------------------------


def add_tracking(report: Report, groups: Iterable[TrackingGroup], types: dict[str, str]) -> None:
    """Funnel statuses, delivery failures, breakdowns, fallbacks and tracking from the groups."""
    funnel, fallbacks, tracking = report.funnel, report.fallbacks, report.tracking
    providers: dict[str, Breakdown] = {}
    kinds: dict[str, Breakdown] = {}
    failures: dict[tuple[str, str, str], Failure] = {}
    for g in groups:
        funnel.accepted += g.count
        for table, key in ((providers, g.provider_id), (kinds, g.type)):
            row = table.setdefault(key, Breakdown(key))
            row.accepted += g.count
            _count_status(row, g.status, g.count)
        _count_status(funnel, g.status, g.count)
        if g.status in ("SENT", "DELIVERED", "FAILED", "UNKNOWN"):
            funnel.sent += g.count
        if g.status in ("FAILED", "UNKNOWN"):
            stage = "delivery" if g.status == "FAILED" else "unknown"
            code = g.code or ("TRACKING_TIMEOUT" if stage == "unknown" else "")
            _add_failure(failures, stage, g.provider_id, code, None, g.count, g.message, types)
        if g.status in ("PENDING", "SENT"):
            tracking.still_tracked += g.count
            if g.due:
                tracking.due += g.count
            elif g.next_check_ms is not None:
                current = tracking.next_check_ms
                tracking.next_check_ms = min(g.next_check_ms, current or g.next_check_ms)
        if g.failover_type is not None:
            _count_fallback(fallbacks, g.failover_path, g.failover_outcome, g.count)
    report.by_provider = sorted(providers.values(), key=lambda b: (-b.accepted, b.key))
    report.by_type = sorted(kinds.values(), key=lambda b: (-b.accepted, b.key))
    report.failures += failures.values()


def _count_status(row: Funnel | Breakdown, status: str, count: int) -> None:
    if status == "DELIVERED":
        row.delivered += count
    elif status == "FAILED":
        row.failed += count
    elif status == "UNKNOWN":
        row.unknown += count
    elif status == "CANCELLED":
        row.cancelled += count
    else:  # PENDING or SENT (or a status kmsg does not know: still open)
        row.pending += count


def _count_fallback(f: Fallbacks, path: str | None, outcome: str | None, count: int) -> None:
    f.requested += count
    if path == "api":
        if outcome == "sent":
            f.api_sent += count
        elif outcome == "failed":
            f.api_failed += count
        else:
            f.api_queued += count
    elif path == "native":
        f.native += count
    elif path == "none":
        f.not_sent += count


def _add_failure(
    failures: dict[tuple[str, str, str], Failure],
    stage: str,
    provider_id: str,
    code: str,
    kmsg_code: str | None,
    count: int,
    example: str | None,
    types: dict[str, str],
) -> None:
    key = (stage, provider_id, code)
    found = failures.get(key)
    if found is None:
        text = meaning(types.get(provider_id, provider_id), code) or meaning(None, kmsg_code)
        found = failures[key] = Failure(
            stage=stage,
            provider_id=provider_id,
            code=code,
            count=0,
            kmsg_code=kmsg_code if kmsg_code != code else None,
            meaning=text[0] if text else None,
            meaning_ko=text[1] if text else None,
            example=None if example is None else mask_numbers(example),
        )
    found.count += count


def add_jobs(report: Report, groups: Iterable[JobGroup], types: dict[str, str]) -> int:
    """Send failures, unknown outcomes and queued jobs; returns the completed jobs' count."""
    funnel = report.funnel
    failures: dict[tuple[str, str, str], Failure] = {}
    providers = {b.key: b for b in report.by_provider}
    kinds = {b.key: b for b in report.by_type}
    completed = 0
    for g in groups:
        if g.status == "completed":
            completed += g.count
            continue
        provider = g.provider_id or "?"
        rows = [
            providers.setdefault(provider, Breakdown(provider)),
            kinds.setdefault(g.type or "?", Breakdown(g.type or "?")),
        ]
        if g.status == "cancelled":
            funnel.withdrawn += g.count
            for row in rows:
                row.not_accepted += g.count
            continue
        if g.status == "failed":
            unknown = g.code == UNKNOWN_OUTCOME
            if unknown:
                funnel.unknown_outcome += g.count
            else:
                funnel.rejected += g.count
            for row in rows:
                row.not_accepted += g.count
            code = g.provider_code or g.code or "ERROR"
            stage = "unknown" if unknown else "send"
            example = _error_message(g.error)
            _add_failure(failures, stage, provider, code, g.code, g.count, example, types)
        else:
            funnel.queued += g.count
            for row in rows:
                row.queued += g.count
    report.by_provider = sorted(providers.values(), key=lambda b: (-b.accepted, b.key))
    report.by_type = sorted(kinds.values(), key=lambda b: (-b.accepted, b.key))
    report.failures += failures.values()
    report.failures.sort(key=lambda f: (-f.count, f.stage, f.provider_id, f.code))
    return completed


def _error_message(text: str | None) -> str | None:
    if not text:
        return None
    import json

    try:
        value = json.loads(text)
    except ValueError:
        return text
    return str(value.get("message")) if isinstance(value, dict) and "message" in value else text


def latency_from(groups: Iterable[TrackingGroup]) -> tuple[Latency, list[int]]:
    """The histogram, mean and maximum; and the ranks whose latency gives the percentiles."""
    buckets: Counter[int] = Counter()
    total = 0
    highest: int | None = None
    for g in groups:
        if g.latency_bucket is None:
            continue
        buckets[g.latency_bucket] += g.count
        total += g.latency_sum_ms
        if g.latency_max_ms is not None:
            highest = max(highest or 0, g.latency_max_ms)
    count = sum(buckets.values())
    latency = Latency(count=count, max_ms=highest)
    if not count:
        return latency, []
    latency.mean_ms = round(total / count)
    bounds: list[int | None] = [*LATENCY_BOUNDS_MS, None]
    latency.histogram = [(bounds[i], buckets.get(i, 0)) for i in range(len(bounds))]
    return latency, [percentile_rank(p, count) for p in PERCENTILES]


def percentile_rank(percent: int, count: int) -> int:
    """The nearest-rank method: the value at rank ceil(p/100 x n) of the sorted values."""
    return max(1, math.ceil(percent * count / 100))


def timeline_bucket(groups: Iterable[TrackingGroup]) -> int | None:
    """The bucket width for the delivery timeline, or None when nothing finished."""
    times = [t for g in groups for t in (g.first_done_ms, g.last_done_ms) if t is not None]
    if not times:
        return None
    span = max(times) - min(times)
    return next((b for b in BUCKETS_MS if span / b <= MAX_POINTS), BUCKETS_MS[-1])


def fill_timeline(
    points: Iterable[tuple[int, str, int]], bucket_ms: int
) -> list[tuple[int, int, int]]:
    """(at, delivered, failed) for every bucket from the first to the last, gaps as zeros."""
    counts: dict[int, list[int]] = {}  # at -> [delivered, failed]
    for at, status, n in points:
        pair = counts.setdefault(at, [0, 0])
        pair[0 if status == "DELIVERED" else 1] += n
    if not counts:
        return []
    first, last = min(counts), max(counts)
    steps = (last - first) // bucket_ms
    filled = []
    for at in (first + i * bucket_ms for i in range(steps + 1)):
        delivered, failed = counts.get(at, (0, 0))
        filled.append((at, delivered, failed))
    return filled


class LocalClock:
    """Epoch milliseconds in one time zone: `2026-12-07 09:00:00 KST` for people (`text`),
    ISO 8601 with the zone's offset for machines (`iso`)."""

    def __init__(self, timezone: str) -> None:
        from kmsg_cli.when import load_zone

        self.zone = load_zone(timezone)

    def local(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(self.zone)

    def text(self, ms: int | None) -> str:
        if ms is None:
            return ""
        moment = self.local(ms)
        return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname()}"

    def iso(self, ms: int | None) -> str | None:
        return None if ms is None else self.local(ms).isoformat(timespec="seconds")
