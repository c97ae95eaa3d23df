"""Pytest fixtures and helpers for the fake IWINV server.

Use in a test module with ``pytest_plugins = ["tests.fakes.iwinv_fixtures"]`` or by importing
the fixture. The header helpers deliberately re-implement the encodings of docs/vendors/iwinv.md
(they do not call the fake's own ``alimtalk_auth``/``sms_secret``), so the two check each other.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from tests.fakes.iwinv import FakeIwinv


def iwinv_auth_header(api_key: str) -> str:
    """``AUTH`` for the AlimTalk host: base64 of the UTF-8 API key, with padding."""
    return base64.standard_b64encode(api_key.encode("utf-8")).decode("ascii")


def iwinv_secret_header(sms_api_key: str, sms_auth_key: str) -> str:
    """``secret`` for the SMS host: base64 of ``"<smsApiKey>&<smsAuthKey>"``."""
    joined = (sms_api_key + "&" + sms_auth_key).encode("utf-8")
    return base64.standard_b64encode(joined).decode("ascii")


def alimtalk_headers(fake: FakeIwinv) -> dict[str, str]:
    """Headers kmsg sends to the AlimTalk host, for ``fake``'s current API key."""
    return {
        "AUTH": iwinv_auth_header(fake.api_key),
        "Content-Type": "application/json;charset=UTF-8",
    }


def sms_headers(fake: FakeIwinv, *, json: bool = True) -> dict[str, str]:
    """Headers for the SMS host (lowercase ``secret``); ``json=False`` for multipart MMS."""
    assert fake.sms_api_key is not None and fake.sms_auth_key is not None
    headers = {"secret": iwinv_secret_header(fake.sms_api_key, fake.sms_auth_key)}
    if json:
        headers["Content-Type"] = "application/json;charset=UTF-8"
    return headers


@pytest.fixture
def fake_iwinv() -> Iterator[FakeIwinv]:
    """A started FakeIwinv with default settings; stopped after the test."""
    with FakeIwinv() as fake:
        yield fake
