"""`SolapiProvider`: kmsg's provider contract on SOLAPI, putting together the signed
connection (`client`), send requests (`messages`), image uploads (`storage`), AlimTalk templates
checked before sending (`templates`), lookups (`status`) and cancels of scheduled groups
(`cancel`). See docs/vendors/solapi.md for the vendor's rules."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from kmsg_cli.errors import InvalidInput, KmsgError
from kmsg_cli.models import (
    CHANNEL_TYPES,
    Balance,
    CancelAnswer,
    Message,
    MessageType,
    SendResult,
    StatusUpdate,
)
from kmsg_cli.providers._common import (
    ReadOnce,
    VendorProvider,
    digits,
    filled_template,
    missing_sender,
    missing_setting,
    schedule_refusal,
    template_infos,
    text_setting,
    variable_name,
)
from kmsg_cli.providers._http import json_or_none, not_json
from kmsg_cli.providers.catalog import CATALOG, Capabilities
from kmsg_cli.providers.solapi import cancel, channels, status
from kmsg_cli.providers.solapi.client import SolapiClient
from kmsg_cli.providers.solapi.messages import (
    SEND_PATH,
    ByMessageId,
    build_message,
    build_send_body,
    parse_send_response,
)
from kmsg_cli.providers.solapi.storage import ImageUploads, checked_image
from kmsg_cli.providers.solapi.templates import (
    APPROVED,
    Template,
    check_template,
    list_templates,
    read_template,
)

if TYPE_CHECKING:
    from kmsg_cli.models import TemplateInfo


log = logging.getLogger("kmsg.solapi")


class SolapiProvider(VendorProvider[SolapiClient]):
    type = "solapi"
    capabilities: Capabilities = CATALOG["solapi"]
    native_failover = True  # disableSms=false + text: SOLAPI sends the fallback itself

    def connect(self, settings: Mapping[str, Any], http: httpx.Client | None) -> SolapiClient:
        return SolapiClient(self.id, settings, http, clock=self.clock)

    def configure(self, settings: Mapping[str, Any]) -> None:
        self.sender = settings.get("sender")
        self.pf_id = settings.get("kakao_pf_id")
        self.defaults = channels.Defaults.of(settings)
        self.image_link = text_setting(settings, "friendtalk_image_link")
        self._uploads = ImageUploads(self.client, link=self.image_link)
        self._templates: ReadOnce[Template] = ReadOnce(partial(read_template, self.client))

    def __repr__(self) -> str:  # never show the secret
        return f"SolapiProvider(id={self.id!r}, base_url={self.client.base_url!r})"

    # -- checks before anything is sent --------------------------------------------------
    def validate(self, message: Message) -> None:
        """Refuse, before any request, what SOLAPI would reject for sure."""
        if message.type in CHANNEL_TYPES:
            channels.validate(message, self.defaults, self.id)
            return self._check_schedule(message)
        sender = message.sender or self.sender
        if message.type in (MessageType.SMS, MessageType.LMS, MessageType.MMS) and not sender:
            raise missing_sender(message, self.id)
        if message.type in (MessageType.ALIMTALK, MessageType.FRIENDTALK) and not self.pf_id:
            raise missing_setting(
                self.id,
                "kakao_pf_id",
                "SOLAPI_KAKAO_PF_ID",
                needed_for=message.type.value,
                unset_env=self.unset_env,
            )
        self._check_schedule(message)
        if message.type is MessageType.ALIMTALK:
            self._validate_alimtalk(message, sender)
        if message.image and message.type is MessageType.FRIENDTALK and not self.image_link:
            # SOLAPI-FILE-LINK: a FriendTalk image is uploaded with where a tap on it leads
            raise missing_setting(
                self.id,
                "friendtalk_image_link",
                "SOLAPI_FRIENDTALK_IMAGE_LINK",
                needed_for="a FriendTalk image",
                unset_env=self.unset_env,
            )
        if message.image:
            checked_image(message)

    def _check_schedule(self, message: Message) -> None:
        refusal = schedule_refusal(
            self.capabilities, self.id, message, message.scheduled_at, self.clock()
        )
        if refusal is not None:  # SOLAPI-SCHED-WINDOW: at most 6 months ahead
            raise refusal

    def _validate_alimtalk(self, message: Message, sender: str | None) -> None:
        if message.failover is not None and not sender:
            # SOLAPI-ATA-FROM: the SMS replacement (disableSms false) goes from a sender
            raise InvalidInput(
                f"the SMS fallback of an AlimTalk through '{self.id}' needs a sender number",
                code="MISSING_SENDER",
                field="from",
                hint=f"pass --from 0212345678 or set sender in provider '{self.id}'",
            )
        dotted = [name for name in map(variable_name, message.variables) if "." in name]
        if dotted:
            # SOLAPI-ATA-VARS: SOLAPI refuses variable names with a dot
            raise InvalidInput(
                f"SOLAPI refuses AlimTalk variable names with a dot: {', '.join(dotted)}",
                code="INVALID_VARIABLE",
                field="variables",
                value=", ".join(dotted),
                hint="rename the variable in the template (e.g. #{order_no})",
            )
        if message.template_id:  # SOLAPI-ATA-TEMPLATE-GET: read once per template and run
            template = self._templates.get(message.template_id)
            if template is not None:
                check_template(message, template)

    def template_text(self, message: Message) -> str | None:
        """The registered template, filled in (TemplateText); read once per template."""
        template = self._templates.get(message.template_id) if message.template_id else None
        return filled_template(message, template.content if template else None)

    # -- send ------------------------------------------------------------------------------
    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        results: dict[str, SendResult] = {}
        groups: dict[datetime | None, list[Message]] = {}
        for message in messages:
            groups.setdefault(message.scheduled_at, []).append(message)
        for scheduled_at, group in groups.items():
            for start in range(0, len(group), self.batch_size):
                chunk = group[start : start + self.batch_size]
                for result in self._send_chunk(chunk, scheduled_at):
                    results[result.message_id] = result
        return [results[m.message_id] for m in messages]

    def _send_chunk(
        self, chunk: Sequence[Message], scheduled_at: datetime | None
    ) -> list[SendResult]:
        entries = []
        for message in chunk:
            channel = None
            if message.type in CHANNEL_TYPES:
                channel = channels.fields(message, self.defaults, self._upload)
            image_id = self._uploads.file_id(message) if message.image and not channel else None
            entries.append(
                build_message(
                    message,
                    sender=message.sender or self.sender,
                    pf_id=self.pf_id,
                    image_id=image_id,
                    channel=channel,
                )
            )
        body = build_send_body(entries, scheduled_at=scheduled_at)
        response = self.client.request("POST", SEND_PATH, json_body=body, sends=True)
        parsed = json_or_none(response)
        if parsed is None:
            # The vendor answered 2xx with something that is not JSON: it may have accepted.
            raise not_json("SOLAPI", response, provider_id=self.id, outcome_unknown=True)
        return parse_send_response(parsed, chunk, provider_id=self.id)

    def _upload(self, path: str, kind: str, link: str | None = None) -> str:
        return self._uploads.upload(path, kind, lambda: channels.checked_file(path, kind), link)

    # -- lookups -----------------------------------------------------------------------------
    def fetch_statuses(self, provider_message_ids: Sequence[str]) -> dict[str, StatusUpdate]:
        """Current status by SOLAPI message id; ids SOLAPI does not know are absent."""
        return status.fetch_statuses(self.client, provider_message_ids)

    def find_sent(
        self, to: str | None, *, since: datetime, until: datetime
    ) -> dict[str, tuple[str, StatusUpdate]]:
        """Our id -> (SOLAPI message id, status) of messages accepted in the window; looked up
        by our id whatever its length (messages.ByMessageId)."""
        return ByMessageId(status.find_sent(self.client, to, since=since, until=until))

    def balance(self) -> Balance:
        return status.balance(self.client)

    def active_senders(self) -> list[str]:
        return status.active_senders(self.client)

    def check_sender(self, message: Message) -> None:
        """SenderCheck: an SMS/LMS/MMS from a number not among the account's active ones is
        refused with 1062 (SOLAPI-SENDERID-ACTIVE); read once per run, for send-many."""
        if message.type not in (MessageType.SMS, MessageType.LMS, MessageType.MMS):
            return
        sender = digits(str(message.sender or self.sender or ""))
        if not sender:
            return  # validate() says so
        if not hasattr(self, "_active"):
            try:
                self._active: frozenset[str] | None = frozenset(
                    digits(number) for number in self.active_senders()
                )
            except KmsgError as error:  # no permission to list them: SOLAPI judges
                log.info("could not list the sender numbers of %s: %s", self.id, error.message)
                self._active = None
        if self._active is not None and sender not in self._active:
            shown = ", ".join(sorted(self._active)) or "none"
            raise InvalidInput(
                f"sender {sender} is not an active sender number of provider "
                f"'{self.id}' (active: {shown}) (field 'from')",
                code="SENDER_NOT_REGISTERED",
                field="from",
                value=sender,
                hint="register it with SOLAPI, or send --from one of the active numbers",
            )

    def kakao_channel(self) -> str | None:
        return status.kakao_channel(self.client, self.pf_id) if self.pf_id else None

    def list_templates(self) -> list[TemplateInfo]:
        """The AlimTalk templates of the account, of kakao_pf_id's channel when it is set
        (TemplateSource)."""
        return template_infos(self.id, list_templates(self.client, self.pf_id), (APPROVED,))

    # -- cancel (docs/cancel.md) -------------------------------------------------------------
    cancel_lead_s = 0.0  # SOLAPI documents no cut-off before the scheduled time

    def cancel_unit(self, provider_message_id: str, group_id: str | None) -> str | None:
        """A scheduled SOLAPI message is cancelled with its whole group."""
        return group_id or None

    def cancel_scheduled(self, unit: str) -> CancelAnswer:
        return cancel.cancel_group(self.client, unit)
