"""send-many, part one: rows become validated messages and jobs in the ledger
(docs/recovery.md, "The ledger").

Every valid row is written to `kmsg_jobs` (id = message id, `INSERT ... ON CONFLICT DO
NOTHING`) before anything is sent, so a crash loses nothing and a re-run of the same command
finds the same ids (`<batch_id>:<row>` unless the row has an `id`). Invalid rows are reported
with their row number and never stop the others.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmsg_cli.bulk_input import Row, RowError
from kmsg_cli.channels import FALLBACK_TYPES, describe
from kmsg_cli.config.model import SANDBOX, Profile
from kmsg_cli.content import FileDigests, content_key
from kmsg_cli.dedupe import DUPLICATE, DuplicateFilter, Skip
from kmsg_cli.errors import ConfigError, KmsgError
from kmsg_cli.jobs.codec import send_job
from kmsg_cli.jobs.outcomes import row_and_line
from kmsg_cli.jobs.placeholders import empty_names, note_rows
from kmsg_cli.models import CONTENT_KEY, Job, Message, MessageDraft, MessageType, Notice, epoch_ms
from kmsg_cli.normalize import build_message, validate_message_id
from kmsg_cli.providers.base import (
    Provider,
    ProviderSource,
    read_alimtalk,
    template_codes,
)
from kmsg_cli.providers.catalog import capabilities
from kmsg_cli.report import record_batch_input
from kmsg_cli.sending import check_files, plan
from kmsg_cli.store.contract import Store

INSERT_CHUNK = 1000
KEPT_PROBLEMS = 20
KEPT_HINTS = 3
PREVIEW_ROWS = 5


@dataclass(frozen=True)
class Defaults:
    """Command-line values for rows that lack them."""

    text: str | None = None
    template: str | None = None
    type: str | None = None
    sender: str | None = None
    failover_text: str | None = None  # for the rows whose type takes one (FALLBACK_TYPES)
    failover_type: str | None = None  # for the rows with a failover text and no type of it
    failover_subject: str | None = None  # likewise, its subject
    at: str | None = None  # as typed: `+2h` is resolved against the run's one `now`

    def fingerprint(self) -> str:
        own: tuple[str | None, ...] = (self.text, self.template, self.type, self.sender)
        # without the failover options, the same as before they existed: a batch keeps its id
        if self.failover_text is not None:
            own = (*own, self.failover_text)
        if self.failover_type is not None or self.failover_subject is not None:
            own = (*own, "failover", self.failover_type, self.failover_subject)
        if self.at is not None:  # as typed, so that a re-run of the command is the same batch
            own = (*own, "at", self.at)
        return repr(own)


@dataclass(frozen=True)
class RowProblem:
    row: int
    code: str
    message: str
    to: str | None = None
    line: int | None = None  # the line of the file, or the row of the sheet (`Row.line`)
    hint: str | None = None  # how to fix it, as `kmsg send` would say for the same value

    def to_dict(self) -> dict[str, Any]:
        data = {"row": self.row, "code": self.code, "message": self.message, "to": self.to}
        if self.line is not None:
            data["line"] = self.line
        return data if self.hint is None else {**data, "hint": self.hint}


@dataclass
class EnqueueReport:
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    inserted: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    by_provider: Counter[str] = field(default_factory=Counter)
    problems: list[RowProblem] = field(default_factory=list)  # the first KEPT_PROBLEMS
    real: int = 0  # messages that would reach a real provider (not simulated)
    preview: list[dict[str, Any]] = field(default_factory=list)  # the first valid rows
    skipped: int = 0  # valid rows not sent: they repeat a message within the window
    skips: list[RowProblem] = field(default_factory=list)  # the first KEPT_PROBLEMS
    # Of `skipped`: repeats of an earlier row of this file, and repeats of a message accepted
    # before (a fixed file run again: expected, so not listed row by row); the rest are
    # repeats of one being sent, queued or of unknown outcome.
    repeated_rows: int = 0
    accepted_before: int = 0
    listed_skips: list[RowProblem] = field(default_factory=list)  # the first KEPT not accepted
    first_accepted: int | None = None  # earliest acceptance (epoch ms) among the repeated
    adopted: int = 0  # queued twins from an earlier batch taken over by this one
    already_sent: int = 0  # a dry run's rows this batch sent before (a real run counts its own)
    # placeholder name -> [valid rows whose cell for it was empty, (row, line) of the first few]
    empty: dict[str, list[Any]] = field(default_factory=dict)
    # warning code of the messages (NOT_MOBILE, ...) -> [valid rows with it, (row, line) of the
    # first few, the first such row's warning text]
    warnings: dict[str, list[Any]] = field(default_factory=dict)
    # (provider id, AlimTalk template) -> whether the provider could read the template
    templates: dict[tuple[str, str], bool] = field(default_factory=dict)
    # provider id -> the templates it lists, read once a template of it could not be read
    template_codes: dict[str, list[str] | None] = field(default_factory=dict)
    # the invalid rows' hints (the first KEPT_HINTS different ones) -> rows with that hint
    hints: Counter[str] = field(default_factory=Counter)

    def note(self, problem: RowProblem) -> None:
        self.invalid += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(problem)
        if problem.hint and (problem.hint in self.hints or len(self.hints) < KEPT_HINTS):
            self.hints[problem.hint] += 1


FALLBACK_TYPE_NAMES = frozenset(kind.value for kind in FALLBACK_TYPES)


def batch_id_for(digest: str, defaults: Defaults, profile: str = SANDBOX) -> str:
    """The default batch id: a hash of the input's content, of the command-line defaults and
    of the profile (the sandbox's as before profiles counted): a file tried on the sandbox and
    then sent with a real profile is two batches, not a re-run that finds it "already sent"."""
    seed = f"{digest}\n{defaults.fingerprint()}"
    if profile != SANDBOX:
        seed += f"\nprofile {profile}"
    return "b" + hashlib.sha256(seed.encode()).hexdigest()[:16]


def _takes_failover(kind: str | None, template: str | None) -> bool:
    """Whether a row of this type (or, with none, this template: AlimTalk) takes a failover
    text: `--failover-text` fills only those rows, not the SMS of a mixed file."""
    if kind is None or not kind.strip():
        return bool(template and template.strip())
    return kind.strip().upper() in FALLBACK_TYPE_NAMES


def draft_from_row(row: Row, defaults: Defaults) -> MessageDraft:
    get = row.fields.get
    failover = get("failover_text")
    if failover is None and defaults.failover_text is not None:
        kind, template = get("type", defaults.type), get("template", defaults.template)
        failover = defaults.failover_text if _takes_failover(kind, template) else None
    failover_type, failover_subject = get("failover_type"), get("failover_subject")
    if failover and failover.strip():  # the defaults shape a failover text, never stand alone
        if failover_type is None:
            failover_type = defaults.failover_type
        if failover_subject is None:
            failover_subject = defaults.failover_subject
    return MessageDraft(
        to=get("to", ""),
        text=get("text", defaults.text),
        type=get("type", defaults.type),
        subject=get("subject"),
        sender=get("from", defaults.sender),
        image=get("image"),
        template_id=get("template", defaults.template),
        variables=row.variables,
        at=get("at", defaults.at),
        provider_id=get("provider"),
        message_id=get("id"),
        failover_text=failover,
        failover_type=failover_type,
        failover_subject=failover_subject,
        options=get("options"),
    )


def enqueue(
    rows: Iterable[Row | RowError],
    defaults: Defaults,
    *,
    profile: Profile,
    clients: ProviderSource,
    store: Store | None,
    batch_id: str,
    now: datetime,
    max_attempts: int = 3,
    priority: int = 0,
    rotation: int = 0,
    on_problem: Callable[[RowProblem], None] | None = None,
    on_rows: Callable[[int], None] | None = None,
    duplicates: DuplicateFilter | None = None,
    on_skip: Callable[[RowProblem], None] | None = None,
    dry_run: bool = False,
) -> EnqueueReport:
    """Validate every row; write valid ones as pending jobs into `store` (None: no ledger).

    With `duplicates`, rows that repeat an earlier message within its window are skipped
    (and reported to `on_skip`). A `dry_run` writes nothing: it reads the ledger by id as the
    run would, so its problems are the run's, and it counts the rows this batch sent before
    (`already_sent`).
    """
    report = EnqueueReport()
    pending: list[Job] = []
    now_ms = epoch_ms(now)
    digests = FileDigests()
    routes: dict[tuple[Any, ...], tuple[str, ...]] = {}
    lines: dict[int, int] = {}  # row -> line of the pending rows, for the problems of a flush
    empties: dict[int, tuple[str, ...]] = {}  # row -> placeholders its cells leave empty
    notices: dict[int, tuple[Notice, ...]] = {}  # row -> its message's warnings
    simulated = {pid: capabilities(cfg.type).simulated for pid, cfg in profile.providers.items()}

    def flush() -> None:
        if duplicates is not None and pending:
            decision = duplicates.decide(pending, write=not dry_run)
            for skip in decision.skips:
                _skipped(report, skip, on_skip)
            report.adopted += len(decision.adopted)
            pending[:] = decision.insert
        known: dict[str, Job] = {}  # jobs already in the ledger under ids of this chunk
        if store is not None and pending:
            known = _reject_sent_ids(store, pending, (report, simulated), on_problem, lines)
        if empties or notices:  # only the rows that go out: not those skipped or refused now
            going = {(job.metadata or {}).get("row") for job in pending}
            for row, names in empties.items():
                if row in going:
                    note_rows(report.empty, row, lines.get(row), names)
            for row, found in notices.items():
                if row in going:
                    text = {notice.code: notice.message for notice in found}
                    note_rows(report.warnings, row, lines.get(row), text, text.__getitem__)
            empties.clear()
            notices.clear()
        if store is not None and pending:
            # A re-run's rows are known already: not written again, and read only once.
            fresh = [job for job in pending if job.id not in known]
            if dry_run:  # what the insert would skip: the ids in the ledger, tracked or not
                known.update(store.get_jobs([job.id for job in fresh]) if fresh else {})
                inserted = len(fresh) - sum(1 for job in fresh if job.id in known)
            else:
                inserted = store.insert_jobs(fresh) if fresh else 0
                report.inserted += inserted
                if inserted < len(fresh):  # ids taken meanwhile, or not tracked: read them
                    known.update(store.get_jobs([job.id for job in fresh]))
            if inserted < len(pending):
                _reject_foreign_ids(
                    pending, known, (batch_id, profile), (report, simulated), on_problem, lines
                )
                if dry_run:
                    report.already_sent += _sent_before(pending, known, batch_id)
        pending.clear()
        lines.clear()

    for item in rows:
        report.rows += 1
        if on_rows is not None and report.rows % 500 == 0:
            on_rows(report.rows)
        if isinstance(item, RowError):
            _problem(report, on_problem, RowProblem(item.number, item.code, item.message))
            continue
        try:
            message, candidates = prepare_row(
                item,
                defaults,
                profile=profile,
                clients=clients,
                batch_id=batch_id,
                now=now,
                rotation=rotation,
                routes=routes,
            )
            provider_id = candidates[0]
        except ConfigError:
            raise  # a credential problem concerns every row: stop before sending anything
        except KmsgError as error:
            where = item.line or None
            to = item.fields.get("to")
            problem = RowProblem(item.number, error.code, error.message, to, where, error.hint)
            _problem(report, on_problem, problem)
            continue
        report.valid += 1
        text = item.fields.get("text", defaults.text)
        if text and "#{" in text:
            names = empty_names(item, text)
            if names:
                empties[item.number] = names
        if message.warnings:
            notices[item.number] = message.warnings
        # An AlimTalk's template as the vendor has it: filled in for the preview's rows, and
        # whether it could be read at all once per template (a dry run names those it could not)
        preview = len(report.preview) < PREVIEW_ROWS
        template = (provider_id, message.template_id or "")
        if preview or (message.type is MessageType.ALIMTALK and template not in report.templates):
            filled, unread = read_alimtalk(clients.get(provider_id), message)
            if message.type is MessageType.ALIMTALK:
                report.templates.setdefault(template, not unread)
                # what a dry run suggests instead (a real run leaves the code to the vendor)
                if unread and dry_run and provider_id not in report.template_codes:
                    report.template_codes[provider_id] = template_codes(clients.get(provider_id))
            if preview:
                report.preview.append(_preview(item.number, message, provider_id, filled))
        report.by_type[message.type.value] += 1
        report.by_provider[provider_id] += 1
        if not simulated[provider_id]:
            report.real += 1
        metadata = {
            "batch": batch_id,
            "row": item.number,
            CONTENT_KEY: content_key(message, profile.name, digests),
        }
        if item.line:  # where to fix the row, should it fail at the provider
            metadata["line"] = item.line
        pending.append(
            send_job(
                message,
                candidates,
                priority=priority,
                max_attempts=max_attempts,
                created_at=now_ms,
                process_at=now_ms,
                metadata=metadata,
            )
        )
        if item.line:
            lines[item.number] = item.line
        if len(pending) >= INSERT_CHUNK:
            flush()
    flush()
    if store is not None:  # the report's funnel starts at the rows read (docs/report.md)
        counts = {
            "rows": report.rows,
            "valid": report.valid,
            "invalid": report.invalid,
            "skipped": report.skipped,
        }
        record_batch_input(store, batch_id, **counts, now_ms=now_ms)
    if on_rows is not None:
        on_rows(report.rows)
    return report


def _skipped(
    report: EnqueueReport, skip: Skip, on_skip: Callable[[RowProblem], None] | None
) -> None:
    """A valid row not written because it repeats an earlier message (not a failure)."""
    row, line = row_and_line(skip.job)
    to = skip.job.data["message"].get("to")
    problem = RowProblem(row or 0, DUPLICATE, skip.reason, to, line)
    report.skipped += 1
    if skip.accepted_at is not None:
        first = report.first_accepted
        report.first_accepted = skip.accepted_at if first is None else min(first, skip.accepted_at)
        report.accepted_before += 1
    else:
        report.repeated_rows += not skip.earlier_id  # an earlier row of this run, not a message
        if len(report.listed_skips) < KEPT_PROBLEMS:
            report.listed_skips.append(problem)
    if len(report.skips) < KEPT_PROBLEMS:
        report.skips.append(problem)
    if on_skip is not None:
        on_skip(problem)


def _preview(
    row: int, message: Message, provider_id: str, template_text: str | None = None
) -> dict[str, Any]:
    """What a dry run shows of a valid row: the message as it would be sent (an AlimTalk's
    template as the vendor has it registered, filled in, when it was read)."""
    return {
        "row": row,
        "id": message.message_id,
        "to": str(message.to),
        "type": message.type.value,
        "provider": provider_id,
        "subject": message.subject,
        "text": message.text,
        "template": message.template_id,
        "template_text": template_text,
        "bytes": message.byte_length,
        "scheduled_at": message.scheduled_at.isoformat() if message.scheduled_at else None,
        "checks": describe(message),  # what a channel type's rules checked
    }


_Counts = tuple[EnqueueReport, Mapping[str, bool]]  # the report, and provider id -> simulated


def _refuse(
    counts: _Counts,
    job: Job,
    problem: tuple[str, str],
    on_problem: Callable[[RowProblem], None] | None,
    lines: Mapping[int, int],
) -> None:
    """A row counted valid that is not sent after all: out of the counts, into the problems."""
    report, simulated = counts
    report.valid -= 1
    report.by_type[job.data["message"]["type"]] -= 1
    provider = job.data["provider"]
    report.by_provider[provider] -= 1
    if not simulated.get(provider, False):
        report.real -= 1
    number = int((job.metadata or {}).get("row") or 0)
    to = job.data["message"].get("to")
    _problem(report, on_problem, RowProblem(number, *problem, to, lines.get(number)))


def _reject_sent_ids(
    store: Store,
    jobs: list[Job],
    counts: _Counts,
    on_problem: Callable[[RowProblem], None] | None,
    lines: Mapping[int, int],
) -> dict[str, Job]:
    """Drop (as DUPLICATE_ID problems) the jobs whose id was accepted outside the ledger, by
    `kmsg send --id`: it has a tracking row but no job, and must never be sent again.
    Returns the jobs found under the tracked ids (a re-run of this batch, or another batch's
    ids), for `_reject_foreign_ids`."""
    tracked_ids = store.tracked_ids([job.id for job in jobs])
    if not tracked_ids:
        return {}
    known = store.get_jobs(list(tracked_ids))
    outside = [job for job in jobs if job.id in tracked_ids and job.id not in known]
    if not outside:
        return known
    tracked = store.find_tracking([job.id for job in outside])
    for job in outside:
        jobs.remove(job)
        earlier = tracked.get(job.id)  # None: purged since it was seen; accepted all the same
        where = (
            f" (to {earlier.to} via {earlier.provider_id}, status {earlier.status})"
            if earlier is not None
            else ""
        )
        message = f"id '{job.id}' was already accepted earlier{where}; this row is not sent again"
        _refuse(counts, job, ("DUPLICATE_ID", message), on_problem, lines)
    counts[0].by_type += Counter()  # drop zero counts
    counts[0].by_provider += Counter()
    return known


def _reject_foreign_ids(
    jobs: list[Job],
    existing: Mapping[str, Job],
    batch: tuple[str, Profile],
    counts: _Counts,
    on_problem: Callable[[RowProblem], None] | None,
    lines: Mapping[int, int],
) -> None:
    """Jobs whose id exists (`existing`: read before the insert, or after it for the ids it did
    not write): fine when it is this very row as it was (a re-run); a problem when another row
    or batch owns the id (a repeated `id` value), when another profile queued it (a
    `--batch-id` or `--id-column` tried on the sandbox, then used for real: its jobs went
    through the sandbox's providers), or when the row now says something else than the message
    queued for it (a file edited and re-run under the same --batch-id: the earlier message
    stands)."""
    batch_id, profile = batch
    for job in jobs:
        found = existing.get(job.id)
        meta = (found.metadata or {}) if found else {}
        row = (job.metadata or {}).get("row")
        if found is None:
            continue
        provider = found.data.get("provider") if isinstance(found.data, dict) else None
        if isinstance(provider, str) and provider not in profile.providers:
            code, message = (
                "ID_OF_OTHER_PROFILE",
                f"id '{job.id}' was queued under another profile (provider {provider}, which "
                f"profile '{profile.name}' does not have); this row is not sent: under this "
                "profile it needs another id",
            )
        elif meta.get("batch") == batch_id and meta.get("row") == row:
            changed = _changed_parts(found.data, job.data)
            if not changed:
                continue
            again = "send the changed row under a new --batch-id"
            if found.status == "pending":  # not sent yet: it will be, unless cancelled
                earlier = f"is still queued (to replace it: kmsg cancel --id {job.id} --yes, then "
            else:
                earlier = "was sent (" if found.status == "completed" else f"is {found.status} ("
            code, message = (
                "ROW_CHANGED",
                f"the row's {', '.join(changed)} changed since batch '{batch_id}' queued it as "
                f"'{job.id}', which {earlier}{again}); this row is not sent",
            )
        else:
            owner = f"row {meta.get('row')}" if meta.get("batch") == batch_id else "another batch"
            code, message = (
                "DUPLICATE_ID",
                f"id '{job.id}' already belongs to {owner}; this row is not sent",
            )
        _refuse(counts, job, (code, message), on_problem, lines)
    counts[0].by_type += Counter()  # drop zero counts
    counts[0].by_provider += Counter()


def _sent_before(jobs: list[Job], known: Mapping[str, Job], batch_id: str) -> int:
    """How many of `jobs` (those `_reject_foreign_ids` kept) this batch sent already: their
    own earlier job, of this batch and row, completed. The run would not send them again."""
    sent = 0
    for job in jobs:
        found = known.get(job.id)
        if found is not None and found.status == "completed":
            meta, row = found.metadata or {}, (job.metadata or {}).get("row")
            sent += meta.get("batch") == batch_id and meta.get("row") == row
    return sent


# What a row says, compared between a queued job and the same row read again (its time is not
# compared: a relative `at` such as +10m moves with each run).
_COMPARED = ("to", "country", "type", "text", "subject", "template", "variables", "image")


def _changed_parts(earlier: Any, now: dict[str, Any]) -> list[str]:
    """The parts of the message in `now` (job data) that differ from `earlier`'s."""
    if not isinstance(earlier, dict) or not isinstance(earlier.get("message"), dict):
        return []  # not kmsg's job data: nothing to compare
    before, after = earlier["message"], now["message"]
    changed = [key for key in _COMPARED if before.get(key) != after.get(key)]
    if before.get("options") != after.get("options"):
        changed.append("options")
    was, now_ = before.get("failover") or {}, after.get("failover") or {}
    changed += [
        f"failover {key}" for key in ("text", "type", "subject") if was.get(key) != now_.get(key)
    ]
    return changed


def _problem(
    report: EnqueueReport, on_problem: Callable[[RowProblem], None] | None, problem: RowProblem
) -> None:
    report.note(problem)
    if on_problem is not None:
        on_problem(problem)


def prepare_row(
    row: Row,
    defaults: Defaults,
    *,
    profile: Profile,
    clients: ProviderSource,
    batch_id: str,
    now: datetime,
    rotation: int = 0,
    routes: dict[tuple[Any, ...], tuple[str, ...]] | None = None,
) -> tuple[Message, list[str]]:
    """One row -> a checked message and its provider; raises KmsgError for a bad row.
    `routes`: a cache of routing decisions shared by the rows of one batch."""
    draft = draft_from_row(row, defaults)
    default_id = f"{batch_id}:{row.number}"
    if draft.message_id:
        validate_message_id(draft.message_id)
    message = build_message(
        draft,
        default_id=default_id,
        auto_lms_bytes=profile.auto_lms_bytes,
        now=now,
        timezone=profile.timezone,
    )
    if message.image or message.files:
        check_files([message])  # a missing image is this row's error, as for `kmsg send`
    # Routing of an unscheduled message depends only on its type, its number's country and
    # its `provider` column (round-robin also on the row): one plan per such kind per batch.
    key = None
    if routes is not None and message.scheduled_at is None and profile.strategy != "round_robin":
        key = (message.type, message.to.is_korean, message.provider_id)
        candidates = routes.get(key)
        if candidates is not None:
            _validate(clients.get(candidates[0]), message)
            return message, list(candidates)
    (planned,) = plan([message], profile, rotation=rotation + row.number)
    _validate(clients.get(planned.provider_id), message)
    if key is not None and routes is not None:
        routes[key] = planned.candidates
    return message, list(planned.candidates)


def _validate(client: Provider, message: Message) -> None:
    """The provider's checks of one row, and, where it can tell, that its account may send
    from the row's sender: every message of a bulk send from a number the vendor does not
    know would be refused (docs/bulk-input.md)."""
    client.validate(message)
    # SenderCheck's method, looked up as an attribute: isinstance() with a runtime protocol
    # costs about 9 µs, and this runs for every row
    check: Callable[[Message], None] | None = getattr(client, "check_sender", None)
    if check is not None:
        check(message)
