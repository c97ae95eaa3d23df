"""`kmsg send`: one message to one or more recipients.

No `from __future__ import annotations` here: Typer reads the parameters' annotations when the
command line is parsed, and objects cost it nothing where strings are evaluated (twice) first.
"""

import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli import options
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.bounds import check_max_attempts, check_priority
from kmsg_cli.cli.output import counted
from kmsg_cli.errors import InvalidInput, UsageError
from kmsg_cli.textfile import MAX_TEXT_BYTES, check_nul, decode_text, read_text_file

if TYPE_CHECKING:
    from datetime import datetime

    from kmsg_cli.cli.runtime import Runtime
    from kmsg_cli.sending import Planned, SendReport

HELP = """Send one message to one or more recipients.

The type is inferred when --type is omitted: an image makes MMS, text over 90 bytes (CP949, as carriers count) makes LMS, anything else is SMS. #{name} placeholders are filled from --var/--vars; a missing value stops the send before anything goes out.

[dim]Examples:[/]

  kmsg send --to 010-1234-5678 --text "hello"

  kmsg send --to 010-1234-5678,010-2222-3333 --text "점검 안내입니다"

  kmsg send --to 010-1234-5678 --template WELCOME_01 --var name=홍길동

  kmsg send --type BMS_FREE --to 010-1234-5678 --text "신상품 입고 안내"

  kmsg send --type RCS_SMS --rcs-brand BR.abc1 --to 01012345678 --text "확인"

  kmsg send --type FAX --to 02-1234-5678 --file contract.pdf

  echo "배포 완료" | kmsg send --to 010-1234-5678 --text - --json

  kmsg send --to 010-1234-5678 --text "hello" --dry-run
"""  # noqa: E501

MAX_RECIPIENTS = 1000

Opt = typer.Option
CHANNEL = "Channel"


@reports_errors
def send(
    ctx: typer.Context,
    to: Annotated[
        list[str],
        Opt(
            "--to",
            metavar="PHONE",
            help="Recipient; repeat or separate with commas.",
            show_default=False,
            rich_help_panel="Recipients",
        ),
    ],
    text: Annotated[
        str | None, options.text_option("Message text; '-' reads standard input.")
    ] = None,
    text_file: Annotated[
        Path | None,
        Opt(
            "--text-file",
            metavar="PATH",
            help="Read the message text from a UTF-8 file.",
            rich_help_panel="Message",
        ),
    ] = None,
    message_type: Annotated[
        str | None,
        options.type_option(
            "SMS, LMS, MMS, ALIMTALK, RCS_SMS/LMS/MMS/TPL/ITPL/LTPL, BMS_FREE, BMS_TEXT "
            "and the other Brand Message types, VOICE, FAX, NSA (default: SMS/LMS/MMS by "
            "length); FRIENDTALK only where the vendor still takes it (Kakao's replacement is "
            "Brand Message).",
            panel="Message",
        ),
    ] = None,
    subject: Annotated[
        str | None,
        Opt(
            "--subject",
            metavar="TEXT",
            help="Subject (LMS/MMS, ≤ 40 bytes).",
            rich_help_panel="Message",
        ),
    ] = None,
    sender: Annotated[
        str | None, options.sender_option("Sender number (default: the provider's sender).")
    ] = None,
    image: Annotated[
        Path | None,
        Opt(
            "--image",
            metavar="PATH",
            help="Image for MMS or FriendTalk.",
            rich_help_panel="Message",
        ),
    ] = None,
    template: Annotated[
        str | None,
        options.template_option(
            "Template id: AlimTalk, NSA, RCS_*TPL and Brand Message template types."
        ),
    ] = None,
    var: Annotated[
        list[str] | None,
        Opt(
            "--var",
            metavar="KEY=VALUE",
            help="Template variable KEY=VALUE; repeatable.",
            rich_help_panel="Message",
        ),
    ] = None,
    vars_json: Annotated[
        str | None,
        Opt(
            "--vars",
            metavar="JSON",
            help='Template variables as a JSON object: \'{"name": "..."}\'.',
            rich_help_panel="Message",
        ),
    ] = None,
    provider: Annotated[
        str | None, options.provider_option("Provider id to use.", panel="Sending")
    ] = None,
    at: Annotated[
        str | None,
        options.at_option(
            "Send later: ISO time, 'YYYY-MM-DD HH:MM' (profile timezone) or +10m.",
            panel="Scheduling",
        ),
    ] = None,
    options_file: Annotated[
        Path | None,
        Opt(
            "--options",
            metavar="FILE",
            help="Channel options as a JSON object (RCS, Brand Message, VOICE, FAX, NSA; "
            "docs/channels.md).",
            rich_help_panel=CHANNEL,
        ),
    ] = None,
    rcs_brand: Annotated[
        str | None,
        Opt(
            "--rcs-brand",
            metavar="ID",
            help="RCS brand id (default: the provider's rcs_brand_id).",
            rich_help_panel=CHANNEL,
        ),
    ] = None,
    targeting: Annotated[
        str | None,
        Opt(
            "--targeting",
            metavar="I|M|N",
            help="Brand Message audience: I (default); M and N only for channels Kakao "
            "approved for them.",
            autocompletion=cv.bms_targeting,
            rich_help_panel=CHANNEL,
        ),
    ] = None,
    voice: Annotated[
        str | None,
        Opt(
            "--voice",
            metavar="FEMALE|MALE",
            help="VOICE: the reading voice (default FEMALE).",
            autocompletion=cv.voice_types,
            rich_help_panel=CHANNEL,
        ),
    ] = None,
    files: Annotated[
        list[Path] | None,
        Opt(
            "--file",
            metavar="PATH",
            help="FAX: a document to send (PDF, TIFF, JPEG, PNG, GIF); repeatable.",
            rich_help_panel=CHANNEL,
        ),
    ] = None,
    failover_text: Annotated[
        str | None,
        options.failover_text_option(
            "AlimTalk, RCS, Brand Message: SMS/LMS text for a recipient the channel "
            "cannot reach (sent once).",
            panel="Failover",
        ),
    ] = None,
    failover_type: Annotated[
        str | None,
        options.failover_type_option(
            "Fallback as SMS or LMS (default: by length).", panel="Failover"
        ),
    ] = None,
    failover_subject: Annotated[
        str | None, options.failover_subject_option("Fallback LMS subject.", panel="Failover")
    ] = None,
    dry_run: Annotated[
        bool,
        options.dry_run_option(
            "Validate and show what would be sent; send nothing.", panel="Sending"
        ),
    ] = False,
    no_duplicates: Annotated[
        bool,
        Opt(
            "--no-duplicates",
            metavar="",
            help="Skip a recipient who got the same content within the profile's "
            "duplicate_window (default: warn and send).",
            rich_help_panel="Sending",
        ),
    ] = False,
    queue: Annotated[
        bool, options.queue_option("Only enqueue; `kmsg queue process` sends it.")
    ] = False,
    priority: Annotated[int, options.priority_option("Queue priority (higher first).")] = 0,
    max_attempts: Annotated[
        int,
        options.max_attempts_option("Queue: attempts for temporary failures.", panel="Queue"),
    ] = 3,
    message_id: Annotated[
        str | None,
        Opt(
            "--id",
            metavar="ID",
            help="Idempotency key: a message id already accepted is not sent again.",
            rich_help_panel="Sending",
        ),
    ] = None,
) -> None:
    from kmsg_cli import normalize, sending
    from kmsg_cli.cli import send_view
    from kmsg_cli.models import MessageDraft

    check_priority(priority)
    runtime = runtime_of(ctx)
    out = runtime.out
    body = _read_text(text, text_file)
    options = (
        read_text_file(options_file, field="options", label="options file", message=False)
        if options_file
        else None
    )
    flags = {
        "brandId": rcs_brand,
        "targeting": targeting.strip().upper() if targeting else None,
        "voiceType": voice.strip().upper() if voice else None,
    }
    recipients = _split_recipients(to)
    variables = normalize.parse_variables(var or [], vars_json)
    profile = runtime.profile()
    now = runtime.now()

    messages = []
    problems: list[InvalidInput] = []
    seen: set[str] = set()
    for raw in recipients:
        draft = MessageDraft(
            to=raw,
            text=body,
            type=message_type,
            subject=subject,
            sender=sender,
            image=str(image) if image else None,
            template_id=template,
            variables=variables,
            at=at,
            provider_id=provider,
            failover_text=failover_text,
            failover_type=failover_type,
            failover_subject=failover_subject,
            options=options,
            option_flags=flags,
            files=tuple(str(path) for path in files or ()),
        )
        try:
            message = normalize.build_message(
                draft,
                default_id=str(uuid.uuid4()),
                auto_lms_bytes=profile.auto_lms_bytes,
                now=now,
                timezone=profile.timezone,
            )
        except InvalidInput as problem:
            if problem.field == "to" and (listed := _several_numbers(raw)):
                problem.hint = f"several numbers? separate them with commas: --to {listed}"
            problems.append(problem)
            continue
        key = str(message.to)
        if key in seen:
            out.warning("DUPLICATE_RECIPIENT", f"{raw} is listed more than once; sending once")
            continue
        seen.add(key)
        messages.append(message)
    if problems:
        first = problems[0]
        if len(problems) > 1:
            first.message += f" (and {len(problems) - 1} more invalid recipients)"
        raise first
    if variables and not template:  # a template's variables are the vendor's to fill
        texts = (body, subject, failover_text, failover_subject)
        for line in normalize.unused_variables(variables, *texts):
            out.warning("UNUSED_VARIABLE", line)
    if message_id is not None:
        messages = sending.assign_ids(messages, normalize.validate_message_id(message_id))
    sending.check_files(messages)
    rotation = 0
    if profile.strategy == "round_robin" and not dry_run:
        # The position in each routing list is shared by every process using the database.
        rotation = runtime.store().reserve_sequence(f"round_robin:{profile.name}", len(messages))
    planned = sending.plan(messages, profile, rotation=rotation)

    if dry_run:
        # The checks of a real send (credentials, sender, URL safety), without sending.
        from kmsg_cli.cli.output import unread_template
        from kmsg_cli.providers.base import read_alimtalk, template_codes

        clients = runtime.clients()
        filled: dict[str, str] = {}
        unread_said: set[tuple[str, str]] = set()
        for item in planned:
            client = clients.get(item.provider_id)
            client.validate(item.message)
            text, unread = read_alimtalk(client, item.message)
            if text is not None:
                filled[item.message.message_id] = text
            said = (item.provider_id, item.message.template_id or "")
            if unread and said not in unread_said:  # once per template, however many to
                unread_said.add(said)
                codes = template_codes(client)
                out.warning("TEMPLATE_UNREAD", unread_template(*said, codes))
        send_view.show_plan(out, planned, profile, filled)
        return
    if message_id is not None:
        runtime.store()
        runtime.warn_if_new_database("--id")
        _refuse_other_profiles_ids(runtime, [p.message.message_id for p in planned])
    keys, planned = _check_repeats(runtime, planned, now, skip=no_duplicates)
    if not planned:
        send_view.show_all_skipped(out)
        return
    check_max_attempts(max_attempts)

    later = planned if queue else [p for p in planned if p.deferred]
    if later:
        # An id accepted before (`--id` of an earlier send) is never queued to go out again;
        # sending.send below reports it as already sent.
        earlier = runtime.store().find_tracking([p.message.message_id for p in later])
        later = [p for p in later if p.message.message_id not in earlier]
    if later:
        clients = runtime.clients()
        for item in later:  # credentials and sender checked now, not at 3 a.m.
            clients.get(item.provider_id).validate(item.message)
        # an id queued before stays as it was (INSERT leaves it): shown as it stands
        held = runtime.store().get_jobs([p.message.message_id for p in later])
        jobs = sending.enqueue(
            later,
            store=runtime.store(),
            now=now,
            priority=priority,
            max_attempts=max_attempts,
            content_keys=keys,
        )
        if len(later) == len(planned):
            send_view.show_queued(out, later, jobs, profile, held)
            return
        queued = {p.message.message_id for p in later}
        planned = [p for p in planned if p.message.message_id not in queued]
        out.warning(
            "QUEUED",
            f"{counted(len(jobs), 'message')} {'waits' if len(jobs) == 1 else 'wait'} in the queue "
            "for their time; "
            f"run `{out.kmsg('queue process')}` (e.g. from cron) to send them",
        )

    if message_id is not None:
        # An earlier send of these ids that died mid-way (or left an unknown outcome) is
        # settled first: looked up, so that it is neither lost nor sent twice.
        from kmsg_cli.jobs.worker import BatchRunner

        settler = BatchRunner(store=runtime.store(), clients=runtime.clients(), batch_id=None)
        settler.recover(ids={p.message.message_id for p in planned}, force_unknown=True)
    report = sending.send(
        planned, source=runtime.clients(), store=runtime.store(), now=now, content_keys=keys
    )
    hint = _unsettled(runtime, report)
    if hint is None and 0 < report.failed < len(report.outcomes):  # a partial failure
        hint = (
            "re-running the same command sends only what was not accepted"
            if message_id is not None or no_duplicates
            else "to send the failed ones again, re-run with --no-duplicates: it skips the "
            "numbers just accepted (a plain re-run sends them again)"
        )
    send_view.show_report(out, report, profile, hint)
    code = report.exit_code()
    if code:
        raise typer.Exit(code)


def _refuse_other_profiles_ids(runtime: "Runtime", ids: list[str]) -> None:
    """An `--id` that another profile used (a CI step tried on the sandbox, then pointed at
    production) would count as sent already, or as queued: refused, nothing sent."""
    store, profile = runtime.store(), runtime.profile()
    used = {mid: row.provider_id for mid, row in store.find_tracking(ids).items()}
    for job_id, job in store.get_jobs(ids).items():
        provider = job.data.get("provider")
        used.setdefault(job_id, provider if isinstance(provider, str) else "")
    for message_id, provider in used.items():
        if provider and provider not in profile.providers:
            raise UsageError(
                f"id '{message_id}' was used under another profile (provider {provider}, which "
                f"profile '{profile.name}' does not have): it would count as sent (field 'id')",
                code="ID_OF_OTHER_PROFILE",
                field="id",
                value=message_id,
                hint="give this send another --id",
            )


def _check_repeats(
    runtime: "Runtime", planned: "list[Planned]", now: "datetime", *, skip: bool
) -> "tuple[dict[str, str], list[Planned]]":
    """Content keys of the planned messages, and those still to send: a message whose same
    content went to the same number within the window is warned about and sent (alerts repeat
    legitimately), or skipped with --no-duplicates (docs/duplicates.md)."""
    from kmsg_cli.content import FileDigests, content_key, describe
    from kmsg_cli.dedupe import repeats
    from kmsg_cli.models import epoch_ms
    from kmsg_cli.normalize.phone import format_phone
    from kmsg_cli.when import format_local

    profile = runtime.profile()
    digests = FileDigests()
    keys = {p.message.message_id: content_key(p.message, profile.name, digests) for p in planned}
    earlier = repeats(
        runtime.store(), keys, window_ms=profile.duplicate_window_ms, now_ms=epoch_ms(now)
    )
    if earlier and not skip:  # "sending it again" only of what can be: credentials, sender checked
        clients = runtime.clients()
        for item in planned:
            if item.message.message_id in earlier:
                clients.get(item.provider_id).validate(item.message)
    kept = []
    for item in planned:
        match = earlier.get(item.message.message_id)
        if match is None:
            kept.append(item)
            continue
        why = describe(match, lambda moment: format_local(moment, profile.timezone))
        to = format_phone(str(item.message.to))  # as the outcome lines show it
        if skip:
            runtime.out.warning("DUPLICATE_CONTENT", f"{to}: {why}; not sent (--no-duplicates)")
        else:
            runtime.out.warning(
                "DUPLICATE_CONTENT", f"{to}: {why}; sending it again (--no-duplicates skips it)"
            )
            kept.append(item)
    return keys, kept


def _read_text(text: str | None, text_file: Path | None) -> str | None:
    if text is not None and text_file is not None:
        raise UsageError(
            "--text and --text-file cannot be used together",
            code="USAGE",
            field="text",
            hint="pass the text once",
        )
    if text_file is not None:
        return read_text_file(text_file, field="text-file", label="text file", message=True)
    if text == "-":
        if sys.stdin is None:
            raise UsageError("--text - needs standard input", field="text", value="-")
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is not None:
            data = buffer.read(MAX_TEXT_BYTES + 1)
        else:  # a text-only stream (embedding); undecodable input is already replaced
            data = sys.stdin.read(MAX_TEXT_BYTES + 1).encode("utf-8", "surrogatepass")
        return decode_text(data, "standard input", "text", message=True)
    if text is not None:
        check_nul(text, "--text", "text")
    return text


def _unsettled(runtime: "Runtime", report: "SendReport") -> str | None:
    """The hint for messages whose answer was lost just now (not an earlier send's
    IN_PROGRESS or UNKNOWN_OUTCOME, which say it themselves): a re-run could send them twice.
    Their jobs say what settles them: a lookup, or the vendor's own records."""
    lost = [
        o.message.message_id
        for o in report.outcomes
        if o.result is not None
        and o.result.outcome_unknown
        and o.result.error_code not in ("UNKNOWN_OUTCOME", "IN_PROGRESS")
    ]
    if not lost:
        return None
    it = "it" if len(lost) == 1 else "them"
    start = (
        f"{'it' if len(lost) == 1 else 'they'} may have gone out: do not send {it} again by hand"
    )
    jobs = runtime.store().get_jobs(lost)
    if any(job.status == "processing" for job in jobs.values()):
        return (
            f"{start}; `{runtime.out.kmsg('queue process')}` asks the provider from 30 s on "
            f"and records the answer (`kmsg track show {lost[0]}` says where it stands)"
        )
    return (
        f"{start}; the provider cannot be asked what it accepted: check at the vendor, "
        f"then `kmsg queue retry --id {lost[0]}` sends it again on purpose"
    )


def _several_numbers(raw: str) -> str | None:
    """`raw` as a comma list when it reads as numbers separated by spaces, `;`, `/` or `|`
    (each part with 8 digits or more: `010 1234 5678` is one number), else None."""
    parts = raw.replace(";", " ").replace("/", " ").replace("|", " ").split()
    if len(parts) > 1 and all(sum(c.isdigit() for c in part) >= 8 for part in parts):
        return ",".join(parts)
    return None


def _split_recipients(values: list[str]) -> list[str]:
    recipients = [part.strip() for value in values for part in value.split(",")]
    recipients = [r for r in recipients if r]
    if not recipients:
        raise UsageError(
            "no recipient given", code="MISSING_RECIPIENT", field="to", hint="--to 010-1234-5678"
        )
    if len(recipients) > MAX_RECIPIENTS:
        raise UsageError(
            f"{len(recipients)} recipients is more than --to takes ({MAX_RECIPIENTS})",
            code="TOO_MANY_RECIPIENTS",
            field="to",
            value=str(len(recipients)),
            hint="put them in a CSV file and use kmsg send-many",
        )
    return recipients
