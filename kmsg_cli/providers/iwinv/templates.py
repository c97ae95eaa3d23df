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
from kmsg_cli.providers._common import coded_items
from kmsg_cli.providers.iwinv.client import IwinvClient

log = logging.getLogger(__name__)

TEMPLATE_PATH = "/api/template/"
USABLE = "Y"
STATUS_NAMES = {"I": "in review", "R": "rejected"}


PAGE_SIZE = 1000  # the most IWINV-AT-TEMPLATES allows
MAX_PAGES = 100


@dataclass(frozen=True)
class Template:
    code: str
    content: str | None  # the text with its #{name} placeholders
    status: str | None  # Y, I or R
    name: str | None = None


def parse_templates(body: Any) -> list[Template]:
    """Every template of a template list answer (`{code, message, totalCount, list}`)."""
    found = []
    for code, item in coded_items(body, "list", "templateCode"):
        content, status = item.get("templateContent"), item.get("status")
        name = item.get("templateName")
        found.append(
            Template(
                code,
                content if isinstance(content, str) else None,
                status.upper() if isinstance(status, str) else None,
                name if isinstance(name, str) and name else None,
            )
        )
    return found


def parse_template_list(body: Any, code: str) -> Template | None:
    """The template `code` in a template list answer."""
    return next((t for t in parse_templates(body) if t.code == code), None)


def list_templates(client: IwinvClient) -> list[Template]:
    """Every template IWINV lists, page by page (1,000 a page) until `totalCount` is read or
    a page comes back short; KmsgError when a page cannot be read."""
    found: list[Template] = []
    for page in range(1, MAX_PAGES + 1):
        query = {"pageNum": str(page), "pageSize": str(PAGE_SIZE)}
        response = client.post("alimtalk", TEMPLATE_PATH, query, sends=False)
        body = client.answer("alimtalk", response, sends=False)
        listed = body.get("list") if isinstance(body, Mapping) else None
        found += parse_templates(body)
        total = body.get("totalCount") if isinstance(body, Mapping) else None
        short = not isinstance(listed, list) or len(listed) < PAGE_SIZE
        if short or (isinstance(total, int) and len(found) >= total):
            break
    return found


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
