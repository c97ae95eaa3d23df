"""IWINV AlimTalk templates as IWINV has them registered (`POST /api/template/`, IWINV-AT-TEMPLATES
in docs/vendors/iwinv.md), read once per template and run.

IWINV takes a template's variables by position. The registered template says how many there
are (a message with fewer values is refused before sending) and, when neither the message's
text nor its values tell their order, that order: its content's `#{name}`s. Its status (`Y`
usable, `I` in review, `R` rejected) is checked too. A template that cannot be read, or is not
in the answer, tells nothing: the caller keeps its own rules.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kmsg_cli.errors import KmsgError
from kmsg_cli.providers.iwinv.client import IwinvClient

log = logging.getLogger(__name__)

TEMPLATE_PATH = "/api/template/"
USABLE = "Y"
STATUS_NAMES = {"I": "in review", "R": "rejected"}


@dataclass(frozen=True)
class Template:
    code: str
    content: str | None  # the text with its #{name} placeholders
    status: str | None  # Y, I or R


def parse_template_list(body: Any, code: str) -> Template | None:
    """The template `code` in a template list answer (`{code, message, totalCount, list}`)."""
    listed = body.get("list") if isinstance(body, Mapping) else None
    for item in listed if isinstance(listed, list) else ():
        if isinstance(item, Mapping) and str(item.get("templateCode", "")) == code:
            content, status = item.get("templateContent"), item.get("status")
            return Template(
                code,
                content if isinstance(content, str) else None,
                status.upper() if isinstance(status, str) else None,
            )
    return None


def read_template(client: IwinvClient, code: str) -> Template | None:
    """The template as IWINV lists it; None when it cannot be read or is not listed."""
    query = {"pageNum": "1", "pageSize": "1000", "templateCode": code}
    try:
        response = client.post("alimtalk", TEMPLATE_PATH, query, sends=False)
        body = client.answer("alimtalk", response, sends=False)
    except KmsgError as error:
        log.info(
            "could not read AlimTalk template %s at %s (%s)",
            code,
            client.provider_id,
            error.message,
        )
        return None
    return parse_template_list(body, code)
