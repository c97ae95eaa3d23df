"""How prepared messages become Aligo requests, and what an accepted request means for each
of its messages (docs/vendors/aligo.md).

SMS family: same envelope (type, sender, subject, image, schedule) and same text → `/send/`
with many receivers; different texts without an image → `/send_mass/`. Kakao: AlimTalk by
(template, sender, schedule, failover), FriendTalk by (sender, image, schedule), up to 500
receivers per request. `msg_type` is always explicit; images are file parts named `image`.
`failover=Y` plus `fsubject_N`/`fmessage_N` only when the message asks for a fallback.
`testmode_yn=Y` (SMS) / `testMode=Y` (Kakao) only when the `testmode` setting is true.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmsg_cli.models import Message, MessageType, Notice, SendResult
from kmsg_cli.providers._common import accepted, image_format, number
from kmsg_cli.providers.aligo import kakao, sms
from kmsg_cli.providers.aligo.client import Files, provider_message_id, vendor_code


@dataclass(frozen=True)
class Prepared:
    """A message made ready for the wire: sender, schedule, rendered text, image bytes."""

    message: Message
    sender: str | None
    schedule: datetime | None  # None: send at once
    text: str
    warnings: tuple[Notice, ...] = ()
    button: str | None = None
    emtitle: str | None = None
    image: tuple[str, bytes] | None = None  # (file name, image bytes)

    @property
    def receiver(self) -> str:
        return self.message.to.number


@dataclass
class Call:
    """One request to make: where, which fields and files, for which messages."""

    kind: str  # "sms" (SMS host) or "kakao" (Kakao host)
    path: str
    fields: dict[str, str]
    items: list[Prepared]
    files: Files = field(default_factory=list)


def _unique_chunks(items: Sequence[Prepared], size: int) -> list[list[Prepared]]:
    """Split into chunks of at most `size`, never putting one receiver twice in a chunk."""
    chunks: list[tuple[list[Prepared], set[str]]] = []
    for item in items:
        for chunk, seen in chunks:
            if len(chunk) < size and item.receiver not in seen:
                chunk.append(item)
                seen.add(item.receiver)
                break
        else:
            chunks.append(([item], {item.receiver}))
    return [chunk for chunk, _ in chunks]


_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}


def _image_files(item: Prepared) -> Files:
    if item.image is None:
        return []
    name, data = item.image
    return [("image", (name, data, _MIME.get(image_format(data) or "", "image/jpeg")))]


def _sms_envelope(first: Prepared, fields: dict[str, str], *, testmode: bool) -> None:
    """The fields every receiver of an SMS-host request shares: title, schedule, test mode."""
    message = first.message
    if message.subject and message.type is not MessageType.SMS:
        fields["title"] = message.subject
    if first.schedule is not None:
        fields.update(sms.sms_schedule(first.schedule))
    if testmode:
        fields["testmode_yn"] = "Y"


def sms_send_call(items: Sequence[Prepared], *, testmode: bool) -> Call:
    """`/send/`: one text (and envelope) for every receiver of `items`."""
    first = items[0]
    fields = {
        "sender": first.sender or "",
        "receiver": ",".join(item.receiver for item in items),
        "msg": first.text,
        "msg_type": first.message.type.value,
    }
    _sms_envelope(first, fields, testmode=testmode)
    return Call("sms", sms.SEND_PATH, fields, list(items), _image_files(first))


def sms_mass_call(items: Sequence[Prepared], *, testmode: bool) -> Call:
    """`/send_mass/`: one envelope, a different text per receiver (`rec_N`/`msg_N`)."""
    first = items[0]
    fields = {"sender": first.sender or "", "msg_type": first.message.type.value}
    for index, item in enumerate(items, start=1):
        fields[f"rec_{index}"] = item.receiver
        fields[f"msg_{index}"] = item.text
    fields["cnt"] = str(len(items))
    _sms_envelope(first, fields, testmode=testmode)
    return Call("sms", sms.MASS_PATH, fields, list(items), _image_files(first))


def kakao_call(
    items: Sequence[Prepared], *, sender_key: str, testmode: bool, image_link: str | None = None
) -> Call:
    """AlimTalk (`tpl_code`, rendered template per receiver) or FriendTalk (image file part,
    and `image_url`, where a tap on it leads, when one is configured: ALIGO-FT-SEND)."""
    first = items[0]
    message = first.message
    alimtalk = message.type is MessageType.ALIMTALK
    fields = {"senderkey": sender_key}
    if alimtalk:
        fields["tpl_code"] = message.template_id or ""
    if first.sender:
        fields["sender"] = first.sender
    if first.schedule is not None:
        fields["senddate"] = kakao.kakao_senddate(first.schedule)
    failover = alimtalk and message.failover is not None
    if failover:
        fields["failover"] = "Y"
    default_subject = kakao.ALIMTALK_SUBJECT if alimtalk else kakao.FRIENDTALK_SUBJECT
    for index, item in enumerate(items, start=1):
        subject = item.message.subject or default_subject
        fields[f"receiver_{index}"] = item.receiver
        fields[f"subject_{index}"] = subject
        fields[f"message_{index}"] = item.text
        if item.emtitle:
            fields[f"emtitle_{index}"] = item.emtitle
        if item.button:
            fields[f"button_{index}"] = item.button
        fallback = item.message.failover
        if failover and fallback is not None:
            fields[f"fsubject_{index}"] = fallback.subject or subject
            fields[f"fmessage_{index}"] = fallback.text
    if not alimtalk and first.image is not None and image_link:
        fields["image_url"] = image_link
    if testmode:
        fields["testMode"] = "Y"
    path = kakao.ALIMTALK_PATH if alimtalk else kakao.FRIENDTALK_PATH
    return Call("kakao", path, fields, list(items), _image_files(first))


def plan_calls(
    items: Sequence[Prepared],
    *,
    batch_size: int,
    sender_key: str | None,
    testmode: bool,
    image_link: str | None = None,
) -> list[Call]:
    """Group prepared messages into as few requests as Aligo allows, in a stable order
    (see the module docstring)."""
    calls: list[Call] = []
    envelopes: dict[tuple[Any, ...], list[Prepared]] = {}
    kakao_groups: dict[tuple[Any, ...], list[Prepared]] = {}
    for item in items:
        message = item.message
        if message.type in sms.SMS_TYPES:
            key: tuple[Any, ...] = (
                message.type,
                item.sender,
                message.subject if message.type is not MessageType.SMS else None,
                message.image,
                item.schedule,
            )
            envelopes.setdefault(key, []).append(item)
        elif message.type is MessageType.ALIMTALK:
            key = ("AT", message.template_id, item.sender, item.schedule, message.failover is None)
            kakao_groups.setdefault(key, []).append(item)
        else:
            key = ("FT", item.sender, message.image, item.schedule)
            kakao_groups.setdefault(key, []).append(item)
    receivers_per_send = max(1, min(batch_size, sms.RECEIVERS_PER_REQUEST))
    per_mass = max(1, min(batch_size, sms.MASS_PER_REQUEST))
    per_kakao = max(1, min(batch_size, kakao.PER_REQUEST))
    for group in envelopes.values():
        by_text: dict[str, list[Prepared]] = {}
        for item in group:
            by_text.setdefault(item.text, []).append(item)
        singles = [same[0] for same in by_text.values() if len(same) == 1]
        for same in by_text.values():
            if len(same) > 1:
                calls += [
                    sms_send_call(chunk, testmode=testmode)
                    for chunk in _unique_chunks(same, receivers_per_send)
                ]
        if len(singles) > 1 and group[0].message.image is None:
            for chunk in _unique_chunks(singles, per_mass):
                if len(chunk) == 1:
                    calls.append(sms_send_call(chunk, testmode=testmode))
                else:
                    calls.append(sms_mass_call(chunk, testmode=testmode))
        else:
            calls += [sms_send_call([item], testmode=testmode) for item in singles]
    for group in kakao_groups.values():
        calls += [
            kakao_call(chunk, sender_key=sender_key or "", testmode=testmode, image_link=image_link)
            for chunk in _unique_chunks(group, per_kakao)
        ]
    return calls


def results_for_call(call: Call, body: Mapping[str, Any], *, provider_id: str) -> list[SendResult]:
    """Accepted results for every message of a successful request (answer already checked)."""
    if call.kind == "sms":
        mid = str(body.get("msg_id") or "").strip()
        ok, bad = number(body.get("success_cnt")), number(body.get("error_cnt"))
    else:
        info = body.get("info")
        details: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
        mid = str(details.get("mid") or "").strip()
        ok, bad = number(details.get("scnt")), number(details.get("fcnt"))
    notes: list[Notice] = []
    if bad:
        notes.append(
            Notice(
                "PARTIAL_ERRORS",
                f"Aligo counted {int(bad)} error(s) and {int(ok or 0)} success(es) in this "
                "request; delivery tracking tells which recipients failed",
            )
        )
    if not mid:
        notes.append(Notice("NO_PROVIDER_ID", "Aligo accepted the request without an id"))
    results = []
    for item in call.items:
        message = item.message
        results.append(
            accepted(
                message,
                provider_id,
                scheduled=item.schedule is not None,
                provider_message_id=(
                    provider_message_id(call.kind, mid, item.receiver) if mid else ""
                ),
                group_id=mid or None,
                provider_code=vendor_code(body.get("result_code", body.get("code"))),
                native_failover=(
                    message.type is MessageType.ALIMTALK and message.failover is not None
                ),
                warnings=item.warnings + tuple(notes),
                raw=body,
            )
        )
    return results
