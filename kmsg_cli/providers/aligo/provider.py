"""`AligoProvider`: kmsg's provider contract on Aligo's SMS and Kakao hosts, putting
together the connection (`client`), the two hosts (`sms`, `kakao`), the request plan
(`plan`) and cancels of reserved requests (`cancel`). See docs/vendors/aligo.md for the
vendor's rules.

Every send needs a sender number, Kakao included (Aligo's `sender`, also the number of the
SMS fallback), and Kakao needs `sender_key`. AlimTalk validation looks the template up (one
request per template, cached) so that bad variables fail before anything is sent. A schedule
found already due at send time (a late queue run) is sent at once with a `SCHEDULE_PASSED`
warning; an SMS schedule less than 10 minutes ahead at send time is refused for that message
(`SCHEDULE_OUTSIDE_WINDOW`, ALIGO-SMS-RESERVE). Images: MMS JPEG, PNG or GIF (ALIGO-MMS-IMAGE)
of at most 300 KB (the carriers' MMS limit: Aligo's own figure is not documented), FriendTalk
JPEG or PNG of at most 500 KB (Kakao's image limit). Kakao calls carry the account's Kakao
token (token.py), kept in the cache the service layer gives (`use_cache`), else in memory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from kmsg_cli.errors import (
    AuthenticationError,
    InvalidInput,
    ProviderError,
    UnsupportedFeature,
)
from kmsg_cli.models import (
    Balance,
    CancelAnswer,
    Message,
    MessageType,
    Notice,
    SendResult,
    StatusUpdate,
)
from kmsg_cli.providers._common import (
    MemoryCache,
    ReadOnce,
    VendorProvider,
    check_image,
    check_template_text,
    digits,
    filled_template,
    missing_sender,
    missing_setting,
    missing_template_variables,
    refused,
    render_template,
    result_from_error,
    schedule_refusal,
    template_infos,
    template_not_approved,
    text_setting,
    to_kst,
)
from kmsg_cli.providers.aligo import cancel, kakao, sms
from kmsg_cli.providers.aligo.client import (
    AligoClient,
    check_kakao_answer,
    check_sms_answer,
    split_provider_message_id,
)
from kmsg_cli.providers.aligo.plan import Prepared, plan_calls, results_for_call
from kmsg_cli.providers.aligo.token import TokenKeeper
from kmsg_cli.providers.base import Cache
from kmsg_cli.providers.catalog import CATALOG, Capabilities

if TYPE_CHECKING:
    from kmsg_cli.models import TemplateInfo

log = logging.getLogger("kmsg.aligo")

LOOKUP_MAX_PAGES = 20
IMAGE_LIMITS = {MessageType.MMS: 300 * 1024, MessageType.FRIENDTALK: 500 * 1024}
IMAGE_FORMATS = {MessageType.MMS: ("JPEG", "PNG", "GIF"), MessageType.FRIENDTALK: ("JPEG", "PNG")}


class AligoProvider(VendorProvider[AligoClient]):
    type = "aligo"
    capabilities: Capabilities = CATALOG["aligo"]
    native_failover = True  # failover=Y + fmessage_N: Aligo sends the SMS fallback itself

    def connect(self, settings: Mapping[str, Any], http: httpx.Client | None) -> AligoClient:
        return AligoClient(self.id, settings, http)

    def configure(self, settings: Mapping[str, Any]) -> None:
        self.sender = text_setting(settings, "sender")
        self.sender_key = text_setting(settings, "sender_key")
        self.testmode = _truthy(settings.get("testmode"))
        self.image_link = text_setting(settings, "friendtalk_image_link")
        self._templates: ReadOnce[kakao.Template] = ReadOnce(
            lambda template_id: kakao.fetch_template(
                self.client, self.sender_key or "", template_id
            )
        )
        self.tokens = TokenKeeper(self.client, MemoryCache(self.clock), clock=self.clock)
        self.client.tokens = self.tokens.token

    def use_cache(self, cache: Cache) -> None:
        """Keep the Kakao token in `cache` (shared by the processes of this host)."""
        self.tokens.cache = cache

    def __repr__(self) -> str:  # never show the key
        return (
            f"AligoProvider(id={self.id!r}, sms_base_url={self.client.sms_base_url!r}, "
            f"kakao_base_url={self.client.kakao_base_url!r}, testmode={self.testmode})"
        )

    # -- checks before anything is sent --------------------------------------------------
    def validate(self, message: Message) -> None:
        """Refuse what Aligo would surely reject; for AlimTalk, render the approved template
        (one cached `/akv10/template/list/` lookup per template) so a missing variable fails
        before anything is sent."""
        if not message.to.is_korean:
            raise UnsupportedFeature(
                f"provider '{self.id}' (Aligo) sends to Korean numbers only, not {message.to.e164}",
                code="INTERNATIONAL_UNSUPPORTED",
                field="to",
                value=str(message.to),
                hint="route international numbers to a provider that supports them (solapi)",
            )
        if message.type in kakao.KAKAO_TYPES and not self.sender_key:
            raise missing_setting(
                self.id,
                "sender_key",
                "ALIGO_SENDER_KEY",
                needed_for=message.type.value,
                unset_env=self.unset_env,
            )
        if not (message.sender or self.sender):
            # Aligo's `sender` is required on every send, Kakao included (the SMS fallback
            # number); docs/vendors/aligo.md.
            raise missing_sender(message, self.id)
        if message.image and message.type in IMAGE_LIMITS:
            _read_image(message.image, message.type)
        refusal = self._outside_window(message, message.scheduled_at)
        if refusal is not None:
            raise refusal
        if message.type is MessageType.ALIMTALK:
            self._render(message)

    def template(self, template_id: str) -> kakao.Template | None:
        """The template as Aligo lists it (read once per instance); None when not listed."""
        return self._templates.get(template_id)

    def list_templates(self) -> list[TemplateInfo]:
        """The AlimTalk templates Aligo lists for sender_key (TemplateSource)."""
        if not self.sender_key:
            raise missing_setting(
                self.id,
                "sender_key",
                "ALIGO_SENDER_KEY",
                needed_for="AlimTalk templates",
                unset_env=self.unset_env,
            )
        listed = kakao.fetch_templates(self.client, self.sender_key)
        return template_infos(self.id, listed, kakao.APPROVED_STATUSES)

    def template_text(self, message: Message) -> str | None:
        """The listed template, filled in (TemplateText); read once per template."""
        found = self.template(message.template_id) if message.template_id else None
        return filled_template(message, found.content if found else None)

    def _render(self, message: Message) -> tuple[str, str | None, str | None]:
        """(text, button_N, emtitle_N) of an AlimTalk; InvalidInput when it cannot be."""
        template_id = message.template_id or ""
        found = self.template(template_id) if template_id else None
        if found is None:
            raise InvalidInput(
                f"AlimTalk template '{template_id}' is not listed for sender_key of "
                f"provider '{self.id}'",
                code="TEMPLATE_NOT_FOUND",
                field="template",
                value=template_id,
                hint=f"kmsg providers templates --provider {self.id} lists the codes of sender_key",
            )
        if found.status and found.status not in kakao.APPROVED_STATUSES:
            raise template_not_approved(template_id, f"inspStatus {found.status}")
        check_template_text(message, found.content, "Aligo")
        text, missing = render_template(found.content, message.variables)
        button, in_buttons = kakao.button_json(found.buttons, message.variables)
        title, in_title = (
            render_template(found.title, message.variables) if found.title else (None, [])
        )
        names = list(dict.fromkeys(missing + in_buttons + in_title))
        if names:
            raise missing_template_variables(template_id, names)
        return text, button, title

    # -- send ------------------------------------------------------------------------------
    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        """One result per message, in order. Every message is prepared (template rendered,
        image read) before any request; then requests go out one by one. A failure of the
        only request (or of the first one when it stops the rest) raises; once something
        was sent, failures become per-message results so nothing accepted is lost."""
        results: dict[str, SendResult] = {}
        prepared: list[Prepared] = []
        for message in messages:
            outcome = self._prepare(message)
            if isinstance(outcome, SendResult):
                results[message.message_id] = outcome
            else:
                prepared.append(outcome)
        refused_here = len(results)
        calls = plan_calls(
            prepared,
            batch_size=self.batch_size,
            sender_key=self.sender_key,
            testmode=self.testmode,
            image_link=self.image_link,
        )
        errors: list[ProviderError] = []
        stopped: ProviderError | None = None
        for call in calls:
            if stopped is not None:
                for item in call.items:
                    results[item.message.message_id] = refused(
                        item.message,
                        self.id,
                        "NOT_SENT",
                        f"not sent: an earlier request to Aligo failed ({stopped.message})",
                        retryable=True,
                    )
                continue
            try:
                body = self.client.call(
                    call.kind, call.path, call.fields, files=call.files, sends=True
                )
                if call.kind == "sms":
                    check_sms_answer(body, provider_id=self.id, sends=True)
                else:
                    check_kakao_answer(body, provider_id=self.id, sends=True)
            except ProviderError as error:
                errors.append(error)
                for item in call.items:
                    results[item.message.message_id] = result_from_error(
                        item.message, self.id, error
                    )
                if error.code != "PROVIDER_REJECTED":
                    stopped = error  # credentials, balance, network: the rest would fail too
                continue
            for result in results_for_call(call, body, provider_id=self.id):
                results[result.message_id] = result
        if (
            len(errors) == 1
            and not refused_here
            and not any(r.accepted for r in results.values())
            and (len(calls) == 1 or not errors[0].outcome_unknown)
        ):
            # the whole (first) request failed and nothing else happened; an unknown outcome
            # concerns only that request's messages, never the ones left unsent after it
            raise errors[0]
        return [results[m.message_id] for m in messages]

    def _prepare(self, message: Message) -> Prepared | SendResult:
        """The message ready for the wire, or a refusal that needs no request."""
        if not message.to.is_korean:
            return refused(
                message,
                self.id,
                "INTERNATIONAL_UNSUPPORTED",
                f"Aligo sends to Korean numbers only, not {message.to.e164}",
            )
        if message.type in kakao.KAKAO_TYPES and not self.sender_key:
            return refused(
                message, self.id, "MISSING_SETTING", f"provider '{self.id}' has no sender_key"
            )
        sender = message.sender or self.sender
        if not sender:
            return refused(message, self.id, "MISSING_SENDER", "a sender number is required")
        warnings: tuple[Notice, ...] = ()
        schedule = message.scheduled_at
        if schedule is not None:
            now = self.clock()
            if to_kst(schedule) <= now:
                schedule = None
                warnings += (
                    Notice(
                        "SCHEDULE_PASSED",
                        "the scheduled time had passed when the message was sent; sent now",
                    ),
                )
            elif (refusal := self._outside_window(message, schedule)) is not None:
                return result_from_error(message, self.id, refusal)
        image: tuple[str, bytes] | None = None
        if message.image and message.type in IMAGE_LIMITS:
            try:
                image = (os.path.basename(message.image), _read_image(message.image, message.type))
            except InvalidInput as error:
                return result_from_error(message, self.id, error)
        text, button, emtitle = message.text, None, None
        if message.type is MessageType.ALIMTALK:
            try:
                text, button, emtitle = self._render(message)
            except InvalidInput as error:
                return result_from_error(message, self.id, error)
        return Prepared(
            message=message,
            sender=sender,
            schedule=schedule,
            text=text,
            warnings=warnings,
            button=button,
            emtitle=emtitle,
            image=image,
        )

    def _outside_window(self, message: Message, at: datetime | None) -> InvalidInput | None:
        """The refusal of a schedule Aligo would not take (ALIGO-SMS-RESERVE), if any."""
        return schedule_refusal(self.capabilities, self.id, message, at, self.clock())

    # -- lookups -----------------------------------------------------------------------------
    def fetch_statuses(self, provider_message_ids: Sequence[str]) -> dict[str, StatusUpdate]:
        """Current status by our provider message id, one history lookup per request id.

        Items are matched by request id + receiver only. An id the vendor does not list is
        absent (checked again later). A failed lookup of one request id leaves only its
        messages unanswered; when every lookup fails the first error is raised.
        """
        wanted: dict[tuple[str, str], dict[str, list[str]]] = {}
        for pmid in dict.fromkeys(provider_message_ids):
            parts = split_provider_message_id(pmid)
            if parts is None:
                continue
            kind, mid, receiver = parts
            wanted.setdefault((kind, mid), {}).setdefault(digits(receiver), []).append(pmid)
        found: dict[str, StatusUpdate] = {}
        errors: list[tuple[str, str, ProviderError]] = []
        for (kind, mid), receivers in wanted.items():
            try:
                items = self._history(kind, mid)
            except AuthenticationError:
                raise
            except ProviderError as error:
                errors.append((kind, mid, error))
                continue
            for item in items:
                number = digits(item.get("receiver" if kind == "sms" else "phone"))
                for pmid in receivers.get(number, []):
                    if pmid in found:
                        continue
                    if kind == "sms":
                        found[pmid] = sms.parse_sms_list_item(item, pmid)
                    else:
                        found[pmid] = kakao.parse_kakao_detail_item(item, pmid)
        if errors and len(errors) == len(wanted):
            raise errors[0][2]  # the caller says it: not said here as well
        for kind, mid, failed in errors:  # a part failed: its messages are asked again later
            log.warning("Aligo lookup of %s id %s failed: %s", kind, mid, failed.message)
        return found

    def _history(self, kind: str, mid: str) -> list[Mapping[str, Any]]:
        """Every entry of one request's history, page by page (bounded)."""
        page_of = sms.list_page if kind == "sms" else kakao.history_page
        items: list[Mapping[str, Any]] = []
        for page in range(1, LOOKUP_MAX_PAGES + 1):
            page_items, more = page_of(self.client, mid, page)
            items += page_items
            if not more or not page_items:
                break
        return items

    def balance(self) -> Balance:
        """Remaining messages (`/remain/`): amount = SMS_CNT, currency "SMS"."""
        return sms.balance(self.client)

    # -- cancel (docs/cancel.md) -------------------------------------------------------------
    cancel_lead_s = cancel.CANCEL_LEAD_S

    def cancel_unit(self, provider_message_id: str, group_id: str | None) -> str | None:
        """A reserved Aligo message is cancelled with its whole request (`mid`)."""
        return cancel.unit_of(provider_message_id)

    def cancel_scheduled(self, unit: str) -> CancelAnswer:
        return cancel.cancel_request(self.client, unit)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "y", "on")


def _read_image(path: str, kind: MessageType) -> bytes:
    """The image bytes when the file exists, is of a format and fits the limit of `kind`."""
    limit, formats = IMAGE_LIMITS[kind], IMAGE_FORMATS[kind]
    return check_image(path, limit=limit, vendor="Aligo", kind=kind.value, formats=formats)
