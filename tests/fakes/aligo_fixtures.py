"""Pytest fixtures and helpers for the fake Aligo server.

Use in a test module with ``pytest_plugins = ["tests.fakes.aligo_fixtures"]`` or by
importing the fixture. ``render_template`` deliberately re-implements AlimTalk rendering (it
does not call the fake's matcher), so the two can check each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.fakes.aligo import DEFAULT_SENDER_KEY, FakeAligo

_VARIABLE = re.compile(r"#\{([^{}]+)\}")


def render_template(content: str, variables: Mapping[str, object]) -> str:
    """Replace every ``#{name}`` with ``str(variables[name])``; a missing name raises KeyError."""
    missing = sorted({n for n in _VARIABLE.findall(content) if n not in variables})
    if missing:
        raise KeyError(f"missing template variables: {', '.join(missing)}")
    return _VARIABLE.sub(lambda m: str(variables[m.group(1)]), content)


def sms_form(fake: FakeAligo, **fields: Any) -> dict[str, str]:
    """SMS-host form fields with the fake's credentials (``key``, ``user_id``) added."""
    return {"key": fake.key, "user_id": fake.user_id, **{k: str(v) for k, v in fields.items()}}


def kakao_form(fake: FakeAligo, **fields: Any) -> dict[str, str]:
    """Kakao-host form fields with ``apikey``, ``userid``, the default ``senderkey`` and a
    fresh Kakao ``token`` (made without HTTP; pass ``token=...`` to send another)."""
    base = {
        "apikey": fake.key,
        "userid": fake.user_id,
        "senderkey": DEFAULT_SENDER_KEY,
        "token": fake.create_token(),
    }
    return {**base, **{k: str(v) for k, v in fields.items()}}


@pytest.fixture
def fake_aligo() -> Iterator[FakeAligo]:
    """A started FakeAligo with default settings; stopped after the test."""
    with FakeAligo() as fake:
        yield fake
