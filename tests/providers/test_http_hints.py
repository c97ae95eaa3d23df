"""`wrong_address_hint`: a 404/405 page that is not the vendor's JSON names the address."""

from __future__ import annotations

import httpx
import pytest

from kmsg_cli.providers._http import wrong_address_hint

URL = "http://127.0.0.1:9/api/v2/send/?key=SECRETVALUE"


def answer(status: int, body: str, content_type: str) -> httpx.Response:
    request = httpx.Request("POST", URL)
    return httpx.Response(
        status, text=body, headers={"content-type": content_type}, request=request
    )


@pytest.mark.parametrize("status", [404, 405])
def test_a_web_page_for_a_missing_address_names_it_without_its_query(status: int) -> None:
    hint = wrong_address_hint(answer(status, "<html>Not Found</html>", "text/html"), "iw")
    assert hint is not None
    assert hint.startswith("http://127.0.0.1:9/api/v2/send/ is not an address of")
    assert "provider 'iw'" in hint and "SECRETVALUE" not in hint


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (404, '{"code": "NotFound", "message": "no such group"}', "application/json"),
        (400, "<html>Bad Request</html>", "text/html"),
        (500, "<html>oops</html>", "text/html"),
    ],
)
def test_the_vendors_own_answers_and_other_statuses_get_no_such_hint(
    status: int, body: str, content_type: str
) -> None:
    assert wrong_address_hint(answer(status, body, content_type), "iw") is None


def test_a_response_without_its_request_gets_none() -> None:
    assert wrong_address_hint(httpx.Response(404, text="<html></html>"), "iw") is None
