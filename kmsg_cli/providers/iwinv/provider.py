"""`IwinvProvider`: kmsg's provider contract on IWINV's AlimTalk and SMS APIs, putting
together the connection (`client`), the two APIs (`alimtalk`, `sms`), the message ids
(`refs`), registered AlimTalk templates (`templates`) and cancels of reserved AlimTalk requests
(`cancel`). Recipients are batched; see docs/vendors/iwinv.md for the vendor's rules."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from kmsg_cli.errors import (
    ConfigError,
    InvalidInput,
    KmsgError,
    ProviderError,
    UnsupportedFeature,
    quoted,
)
from kmsg_cli.models import Balance, CancelAnswer, Message, MessageType, SendResult, StatusUpdate
from kmsg_cli.providers._common import (
    ReadOnce,
    VendorProvider,
    check_template_text,
    digits,
    filled_template,
    kst_midnight,
    missing_sender,
    missing_setting,
    missing_template_variables,
    placeholders,
    refused,
    result_from_error,
    schedule_refusal,
    template_infos,
    template_not_approved,
    text_setting,
)
from kmsg_cli.providers.catalog import CATALOG, Capabilities
from kmsg_cli.providers.iwinv import alimtalk, cancel, sms
from kmsg_cli.providers.iwinv.client import (
    CHARGE_PATH,
    HISTORY_PATH,
    SEND_PATH,
    Api,
    IwinvClient,
    parse_balance,
    vendor_id,
)
from kmsg_cli.providers.iwinv.refs import (
    TIME_SLACK,
    MessageRef,
    history_items,
    match_by_time,
    match_items,
    parse_message_id,
    parse_send_answer,
)
from kmsg_cli.providers.iwinv.templates import (
    STATUS_NAMES,
    USABLE,
    Template,
    list_templates,
    read_template,
)

if TYPE_CHECKING:
    from kmsg_cli.models import TemplateInfo

log = logging.getLogger("kmsg.iwinv")

# History pages read per query at most: AlimTalk pages hold up to 1,000 items; SMS pages
# hold what IWINV sends (15 by default), enough pages for a 1,000-recipient request.
MAX_PAGES: Mapping[Api, int] = {"alimtalk": 20, "sms": 70}
DEFAULT_WINDOW_DAYS = 7
_IMAGE_CACHE_SIZE = 16


class IwinvProvider(VendorProvider[IwinvClient]):
    type = "iwinv"
    capabilities: Capabilities = CATALOG["iwinv"]
    native_failover = True  # reSend "Y" + resendContent: IWINV sends the SMS fallback itself

    def connect(self, settings: Mapping[str, Any], http: httpx.Client | None) -> IwinvClient:
        return IwinvClient(self.id, settings, http)

    def configure(self, settings: Mapping[str, Any]) -> None:
        self.sender = text_setting(settings, "sender")
        self.company_id = text_setting(settings, "sms_company_id")
        self._images: OrderedDict[str, bytes] = OrderedDict()
        self._images_lock = threading.Lock()
        self._templates: ReadOnce[Template] = ReadOnce(partial(read_template, self.client))

    def __repr__(self) -> str:  # never show a key
        return (
            f"IwinvProvider(id={self.id!r}, alimtalk_base_url={self.client.alimtalk_base_url!r}, "
            f"sms_base_url={self.client.sms_base_url!r})"
        )

    # -- checks before anything is sent --------------------------------------------------
    def validate(self, message: Message) -> None:
        """Refuse, before any request, what IWINV would reject for sure."""
        if message.type not in self.capabilities.types:
            replacement = self.capabilities.replaced_by(message.type)
            raise UnsupportedFeature(
                f"provider '{self.id}' (IWINV) cannot send {message.type.value}"
                + (f": IWINV offers none; use {replacement}" if replacement else ""),
                code="UNSUPPORTED_BY_PROVIDER",
                field="type",
                value=message.type.value,
                hint="kmsg providers list",
            )
        if not message.to.is_korean:
            raise UnsupportedFeature(
                f"provider '{self.id}' (IWINV) cannot send to international number "
                f"{message.to.e164}",
                code="UNSUPPORTED_BY_PROVIDER",
                field="to",
                value=str(message.to),
                hint="use a provider that sends abroad (kmsg providers list)",
            )
        at, now = message.scheduled_at, self.clock()
        refusal = schedule_refusal(self.capabilities, self.id, message, at, now)
        if refusal is not None:
            raise refusal
        if message.type is MessageType.ALIMTALK:
            self._validate_alimtalk(message)
        else:
            self._validate_sms(message)

    def _validate_alimtalk(self, message: Message) -> None:
        if not self.client.api_key:
            raise missing_setting(
                self.id, "api_key", "IWINV_API_KEY", "ALIMTALK", unset_env=self.unset_env
            )
        if not message.template_id:
            raise InvalidInput(
                "ALIMTALK needs an approved template code",
                code="MISSING_TEMPLATE",
                field="template",
                value="",
                hint="add --template TEMPLATE_CODE",
            )
        self._params(message)
        if message.failover is not None and not digits(message.sender or self.sender):
            raise InvalidInput(
                f"the SMS fallback of an AlimTalk through '{self.id}' needs a sender number",
                code="MISSING_SENDER",
                field="from",
                hint=f"pass --from 0212345678 or set sender in provider '{self.id}'",
            )
        if message.failover is not None and message.failover.subject:
            _check_title(message.failover.subject, "failover_subject", "AlimTalk fallback")

    def template_text(self, message: Message) -> str | None:
        """The registered template, filled in (TemplateText); read once per template."""
        template = self._templates.get(message.template_id) if message.template_id else None
        return filled_template(message, template.content if template else None)

    def _params(self, message: Message) -> list[str]:
        """The message's templateParam, checked against the template as IWINV has it registered
        (read once per template and run): not approved, or fewer values than its variables
        (IWINV fills them by position), is refused. When neither the text nor the values tell
        the order of several variables, the registered template does; if it cannot be read,
        that refusal stands, and the other checks are left to IWINV."""
        template = self._templates.get(message.template_id) if message.template_id else None
        if template is not None and template.status not in (None, USABLE):
            status = STATUS_NAMES.get(template.status, template.status)
            raise template_not_approved(message.template_id or "", f"status {status}")
        registered = template.content if template is not None else None
        try:
            values = alimtalk.template_params(message)
        except InvalidInput as refusal:
            if refusal.code != "VARIABLE_ORDER_UNKNOWN" or not registered:
                raise
            values = alimtalk.template_params(message, registered=registered)
        needed = placeholders(registered or "")
        if len(values) < len(needed):
            given = {str(name) for name in message.variables}
            missing = [name for name in needed if name not in given] or needed[len(values) :]
            raise missing_template_variables(message.template_id or "", missing)
        if registered is not None:
            check_template_text(message, registered, "IWINV")
        return values

    def _validate_sms(self, message: Message) -> None:
        if not self.client.has_sms:
            raise ConfigError(
                f"provider '{self.id}' needs sms_api_key and sms_auth_key for {message.type.value}",
                code="MISSING_SETTING",
                field="sms_api_key, sms_auth_key",
                hint='set sms_api_key = "env:IWINV_SMS_API_KEY" and '
                'sms_auth_key = "env:IWINV_SMS_AUTH_KEY"',
            )
        if not digits(message.sender or self.sender):
            raise missing_sender(message, self.id)
        if message.type is not MessageType.SMS and message.subject and message.subject.strip():
            _check_title(message.subject.strip(), "subject", message.type.value)
        if message.type is MessageType.MMS:
            if not message.image:
                raise InvalidInput(
                    "MMS needs an image",
                    code="MISSING_IMAGE",
                    field="image",
                    value="",
                    hint="add --image PATH (a JPEG under 100 KB), or use --type LMS",
                )
            self._image(message.image)

    def _image(self, path: str) -> bytes:
        """The checked image bytes, read once and kept for the send (a small LRU)."""
        with self._images_lock:
            data = self._images.get(path)
            if data is not None:
                self._images.move_to_end(path)
                return data
        data = sms.read_mms_image(path)
        with self._images_lock:
            self._images[path] = data
            while len(self._images) > _IMAGE_CACHE_SIZE:
                self._images.popitem(last=False)
        return data

    # -- send ------------------------------------------------------------------------------
    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        """One result per message, in order.

        Messages are grouped into as few requests as IWINV allows. When the only request
        fails, or the first one fails for a reason that concerns the whole account before
        anything was accepted, ProviderError is raised; otherwise the failure becomes the
        result of the messages concerned, so what was accepted is never lost.
        """
        results: dict[str, SendResult] = {}
        ready: list[Message] = []
        for message in messages:
            try:
                self.validate(message)
            except KmsgError as error:
                results[message.message_id] = result_from_error(message, self.id, error)
            else:
                ready.append(message)
        chunks = self._chunks(ready)
        for index, chunk in enumerate(chunks):
            try:
                chunk_results = self._send_chunk(chunk)
            except ProviderError as error:
                account_wide = not _concerns_content(error)
                if not results and (
                    len(chunks) == 1 or (account_wide and not error.outcome_unknown)
                ):
                    raise
                results.update((m.message_id, result_from_error(m, self.id, error)) for m in chunk)
                if account_wide:
                    for later in chunks[index + 1 :]:
                        results.update((m.message_id, _not_sent(m, self.id, error)) for m in later)
                    break
                continue
            results.update((r.message_id, r) for r in chunk_results)
        return [results[m.message_id] for m in messages]

    def _chunks(self, messages: Sequence[Message]) -> list[list[Message]]:
        """Requests to make: same-content groups cut at batch_size, one phone once each."""
        groups: dict[tuple[Any, ...], list[Message]] = {}
        for message in messages:
            sender = digits(message.sender or self.sender)
            key: tuple[Any, ...]
            if message.type is MessageType.ALIMTALK:
                failover = message.failover
                fallback = (
                    (failover.text, failover.type, failover.subject, sender) if failover else None
                )
                key = ("at", message.template_id, message.scheduled_at, fallback)
            elif message.type is MessageType.MMS:
                key = ("mms", message.message_id)
            else:
                key = (
                    "sms",
                    message.type,
                    message.text,
                    message.subject,
                    sender,
                    message.scheduled_at,
                )
            groups.setdefault(key, []).append(message)
        chunks: list[list[Message]] = []
        for group in groups.values():
            current: list[Message] = []
            phones: set[str] = set()
            for message in group:
                if len(current) >= self.batch_size or message.to.number in phones:
                    chunks.append(current)
                    current, phones = [], set()
                current.append(message)
                phones.add(message.to.number)
            if current:
                chunks.append(current)
        return chunks

    def _send_chunk(self, chunk: Sequence[Message]) -> list[SendResult]:
        first = chunk[0]
        sender = first.sender or self.sender
        now = self.clock()
        api: Api = "alimtalk" if first.type is MessageType.ALIMTALK else "sms"
        if api == "alimtalk":
            body = alimtalk.build_alimtalk_body(chunk, sender=sender, params=self._params)
            response = self.client.post("alimtalk", SEND_PATH, body, sends=True)
        elif first.type is MessageType.MMS:
            assert sender is not None and first.image is not None  # validate() checked both
            fields = dict(sms.build_mms_fields(first, sender=sender))
            image = (sms.image_name(first.image), self._image(first.image), "image/jpeg")
            response = self.client.post_form(SEND_PATH, fields, {"image": image})
        else:
            assert sender is not None  # validate() refused messages without one
            body = sms.build_sms_body(chunk, sender=sender)
            response = self.client.post("sms", SEND_PATH, body, sends=True)
        return parse_send_answer(
            api, response, chunk, provider_id=self.id, now=now, secrets=self.client.secrets
        )

    # -- lookups -----------------------------------------------------------------------------
    def fetch_statuses(self, provider_message_ids: Sequence[str]) -> dict[str, StatusUpdate]:
        """Current status by our provider message id; ids IWINV does not know are absent.

        One history query per IWINV request (seqNo/requestNo), paged, whatever the number of
        its recipients asked for; AlimTalks without a seqNo: one query per recipient around
        the request times (refs.py). SMS ids are absent without `sms_company_id`. A query that
        fails leaves its ids absent; if every query fails, the last error is raised.
        """
        groups: dict[tuple[Any, ...], dict[str, MessageRef]] = {}
        for pid in dict.fromkeys(provider_message_ids):
            ref = parse_message_id(pid) if pid else None
            if ref is None:
                continue
            if ref.api == "alimtalk" and not self.client.api_key:
                continue
            if ref.by_time:
                key: tuple[Any, ...] = ("time", ref.phone, ref.reserved)
            elif ref.api == "alimtalk" and not (
                ref.request_id.isascii() and ref.request_id.isdigit()
            ):
                continue
            elif ref.api == "sms" and not (self.client.has_sms and self.company_id):
                continue
            else:
                key = (ref.api, ref.request_id, ref.day, ref.reserved)
            groups.setdefault(key, {})[pid] = ref
        found: dict[str, StatusUpdate] = {}
        failures: list[ProviderError] = []
        for key, refs in groups.items():
            api: Api = "alimtalk" if key[0] in ("time", "alimtalk") else "sms"
            try:
                if key[0] == "time":
                    items = self._history_by_time(refs)
                else:
                    items = self._history(api, refs, day=key[2], reserved=key[3])
            except ProviderError as error:
                failures.append(error)
                continue
            mapper = alimtalk.map_alimtalk_item if api == "alimtalk" else sms.map_sms_item
            for pid, item in items.items():
                found[pid] = mapper(item, pid)
        if failures and not found:
            raise failures[-1]  # the caller says it: not said here as well
        for failed in failures:  # a part failed: its messages are asked again later
            log.warning("IWINV history lookup failed: %s", failed.message)
        return found

    def _pages(self, api: Api, query: Mapping[str, Any]) -> Iterator[list[Mapping[str, Any]]]:
        """The items of a history query, page by page, until totalCount items were seen (or
        a page comes back empty). The SMS history ignores `pageSize` (IWINV-SMS-HIST-PAGE):
        it is not sent there, and pages are followed by what came back, not by a size."""
        seen = 0
        for page in range(1, MAX_PAGES[api] + 1):
            body = {**query, "pageNum": page}
            if api == "alimtalk":
                body["pageSize"] = alimtalk.PAGE_SIZE
            response = self.client.post(api, HISTORY_PATH, body, sends=False)
            items, total = history_items(self.client.answer(api, response, sends=False))
            yield items
            seen += len(items)
            if not items or total is None or seen >= total:
                return

    def _history(
        self, api: Api, refs: Mapping[str, MessageRef], *, day: datetime | None, reserved: bool
    ) -> dict[str, Mapping[str, Any]]:
        today = kst_midnight(self.clock())
        start = (day or today - timedelta(days=DEFAULT_WINDOW_DAYS)) - timedelta(days=1)
        first = next(iter(refs.values()))
        phones = {ref.phone for ref in refs.values()}
        base: dict[str, Any]
        if api == "alimtalk":
            base = alimtalk.history_query(
                first.request_id, start=start, today=today, reserved=reserved
            )
        else:
            base = sms.history_query(self.company_id, first.request_id, start=start, today=today)
        if len(phones) == 1:
            base["phone"] = first.phone
        found: dict[str, Mapping[str, Any]] = {}
        for items in self._pages(api, base):
            found.update(match_items(items, api, refs))
            if len(found) == len(refs):
                break
        return found

    def _history_by_time(self, refs: Mapping[str, MessageRef]) -> dict[str, Mapping[str, Any]]:
        """AlimTalks of one recipient found by phone and request time (refs.match_by_time)."""
        times = [ref.sent_at for ref in refs.values() if ref.sent_at is not None]
        first = next(iter(refs.values()))
        query = alimtalk.phone_query(
            first.phone,
            start=min(times) - TIME_SLACK,
            end=max(times) + TIME_SLACK,
            reserved=first.reserved,
        )
        items = [item for page in self._pages("alimtalk", query) for item in page]
        return match_by_time(items, refs)

    def list_templates(self) -> list[TemplateInfo]:
        """The AlimTalk templates IWINV lists for api_key (TemplateSource)."""
        if not self.client.api_key:
            raise missing_setting(
                self.id,
                "api_key",
                "IWINV_API_KEY",
                needed_for="AlimTalk templates",
                unset_env=self.unset_env,
            )
        return template_infos(self.id, list_templates(self.client), (USABLE,))

    def balance(self) -> Balance:
        """The remaining charge: the AlimTalk account when api_key is set, else SMS.

        The AlimTalk balance is asked with GET and no body, as the one client that lists a
        method per endpoint does; a server that refuses GET (405) is asked again with POST
        `{}` (IWINV-AT-CHARGE: which method IWINV takes is not documented)."""
        api: Api
        if self.client.api_key:
            api = "alimtalk"
            response = self.client.get(api, CHARGE_PATH)
            if response.status_code == 405:
                response = self.client.post(api, CHARGE_PATH, {}, sends=False)
        elif self.client.has_sms:
            api = "sms"
            response = self.client.post(api, CHARGE_PATH, {"version": "1.0"}, sends=False)
        else:
            raise ConfigError(
                f"provider '{self.id}' has no credentials to ask for the balance",
                code="MISSING_SETTING",
                field="api_key",
                hint="set api_key, or sms_api_key and sms_auth_key",
            )
        body = self.client.answer(api, response, sends=False)
        return parse_balance(body, provider_id=self.id)

    # -- cancel (docs/cancel.md) -------------------------------------------------------------
    cancel_lead_s = 0.0  # IWINV documents no cut-off (IWINV-AT-CANCEL)

    def cancel_unit(self, provider_message_id: str, group_id: str | None) -> str | None:
        """A reserved AlimTalk is cancelled with its whole request (`seqNo`); SMS cannot be.

        The documented send reply carries no seqNo (IWINV-AT-REPLY): an AlimTalk known by phone
        and time is looked up in the history first, which names its seqNo (IWINV-AT-HIST-REPLY).
        """
        unit = cancel.unit_of(provider_message_id)
        ref = parse_message_id(provider_message_id)
        if unit is not None or ref is None or ref.api != "alimtalk" or not ref.by_time:
            return unit
        item = self._history_by_time({provider_message_id: ref}).get(provider_message_id)
        seq_no = vendor_id(item.get("seqNo")) if item is not None else ""
        return cancel.unit_for(seq_no)

    def cancel_scheduled(self, unit: str) -> CancelAnswer:
        return cancel.cancel_request(self.client, unit)


def _check_title(title: str, field: str, what: str) -> None:
    """InvalidInput when IWINV would refuse `title` (IWINV-SMS-TITLE; AlimTalk 510/511)."""
    problem = sms.title_problem(title)
    if problem is not None:
        raise InvalidInput(
            f"IWINV refuses the {field.replace('_', ' ')} {quoted(title)} of this {what}: "
            f"{problem}",
            code="INVALID_SUBJECT",
            field=field,
            value=title,
            hint="change the subject, or leave it out: kmsg then makes a title from the text",
        )


def _concerns_content(error: ProviderError) -> bool:
    """A refusal of this request's content (template, text, sender), not of the account or
    the connection: the other requests of the batch may still go through."""
    return (
        not error.retryable
        and not error.outcome_unknown
        and error.code in ("TEMPLATE_NOT_FOUND", "PROVIDER_REJECTED")
    )


def _not_sent(message: Message, provider_id: str, error: ProviderError) -> SendResult:
    return refused(
        message,
        provider_id,
        error.code,
        f"not sent, because an earlier request failed: {error.message}",
        retryable=error.retryable or error.outcome_unknown,
        provider_code=error.provider_code,
    )
