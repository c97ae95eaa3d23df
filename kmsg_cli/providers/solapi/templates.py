"""AlimTalk templates as SOLAPI has them registered (`GET /kakao/v2/templates/{templateId}`),
read once per template and run, so that a send that cannot match its template is refused before
it leaves instead of failing at SOLAPI with 1043 (docs/vendors/solapi.md, SOLAPI-ATA-TEMPLATE-GET).

Only what the answer shows for certain refuses a message: a template whose `status` is not
APPROVED, or a `#{name}` of its `content` that the message gives no value for. A template
that cannot be read (an unknown id, a key without the permission, the network) is left to
SOLAPI to judge at send time, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kmsg_cli.errors import KmsgError, ProviderError
from kmsg_cli.models import Message
from kmsg_cli.providers._common import (
    check_template_text,
    missing_template_variables,
    placeholders,
    template_not_approved,
    variable_name,
)
from kmsg_cli.providers._http import json_or_none
from kmsg_cli.providers.solapi.client import SolapiClient

log = logging.getLogger(__name__)

TEMPLATE_PATH = "/kakao/v2/templates/"
APPROVED = "APPROVED"


PAGE_LIMIT = 500  # the most a page may hold (SOLAPI-ATA-TEMPLATE-LIST)
MAX_PAGES = 200


@dataclass(frozen=True)
class Template:
    template_id: str
    content: str | None  # the text with its #{name} placeholders
    status: str | None  # PENDING, INSPECTING, APPROVED or REJECTED
    names: tuple[str, ...] = ()  # the content's variables, in order
    name: str | None = None

    @property
    def code(self) -> str:
        return self.template_id


def parse_template(template_id: str, body: Any) -> Template | None:
    """The parts of a template answer kmsg checks against; None for an answer that is not a
    template object."""
    if not isinstance(body, Mapping):
        return None
    content, status, name = body.get("content"), body.get("status"), body.get("name")
    text = content if isinstance(content, str) else None
    return Template(
        template_id,
        text,
        status.upper() if isinstance(status, str) else None,
        tuple(placeholders(text or "")),
        name if isinstance(name, str) and name else None,
    )


def check_template(message: Message, template: Template) -> None:
    """Refuse a message its template surely rejects: not approved, or a variable missing (which
    SOLAPI would answer with 1043)."""
    if template.status is not None and template.status != APPROVED:
        raise template_not_approved(template.template_id, f"status {template.status} at SOLAPI")
    if template.content is not None:
        check_template_text(message, template.content, "SOLAPI")
    if not template.names:
        return
    given = {variable_name(key) for key in message.variables}
    missing = [name for name in template.names if name not in given]
    if missing:
        raise missing_template_variables(template.template_id, missing)


def read_template(client: SolapiClient, template_id: str) -> Template | None:
    """The template as SOLAPI has it; None when it cannot be read (SOLAPI judges at send)."""
    try:
        response = client.request("GET", TEMPLATE_PATH + quote(template_id, safe=""), sends=False)
    except KmsgError as error:
        log.info(
            "could not read AlimTalk template %s at %s (%s); SOLAPI checks it when sending",
            template_id,
            client.provider_id,
            error.message,
        )
        return None
    return parse_template(template_id, json_or_none(response))


def list_templates(client: SolapiClient, channel_id: str | None) -> list[Template]:
    """Every template SOLAPI lists (of `channel_id`, when given), page by page: each page names
    the key of the next (`nextKey`), none after the last. A page that is not a template list,
    or a key seen before, is an error rather than a short list (SOLAPI-ATA-TEMPLATE-LIST)."""
    found: list[Template] = []
    seen: set[str] = set()
    start: str | None = None
    for _ in range(MAX_PAGES):
        params = {"limit": str(PAGE_LIMIT)}
        if channel_id:
            params["channelId"] = channel_id
        if start:
            params["startKey"] = start
        response = client.request("GET", TEMPLATE_PATH.rstrip("/"), sends=False, params=params)
        body = json_or_none(response)
        listed = body.get("templateList") if isinstance(body, Mapping) else None
        if not isinstance(listed, list):
            raise ProviderError(
                "SOLAPI answered the template list without a templateList",
                code="PROVIDER_BAD_RESPONSE",
                provider_id=client.provider_id,
                http_status=response.status_code,
            )
        for item in listed:
            code = item.get("templateId") if isinstance(item, Mapping) else None
            template = parse_template(code, item) if isinstance(code, str) and code else None
            if template is not None:
                found.append(template)
        following = body.get("nextKey") if isinstance(body, Mapping) else None
        if not isinstance(following, str) or not following:
            return found
        if following in seen:
            break
        seen.add(following)
        start = following
    raise ProviderError(
        f"SOLAPI's template list did not end (pages keep following after {len(found):,} templates)",
        code="PROVIDER_BAD_RESPONSE",
        provider_id=client.provider_id,
    )
