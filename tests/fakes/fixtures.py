"""Pytest fixtures and helpers for the fake SOLAPI server.

Use in a test module with ``pytest_plugins = ["tests.fakes.fixtures"]`` or by importing the
fixture. ``solapi_signer`` deliberately re-implements the signature (it does not call the
fake's own code), so the two can check each other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi


def solapi_signer(
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    *,
    clock: Callable[[], float] | None = None,
    date: str | None = None,
    salt: str | None = None,
    python_sdk_style: bool = False,
) -> str:
    """A valid ``Authorization`` header value for SOLAPI (docs/vendors/solapi.md).

    date: the current UTC time as ISO 8601 (from ``clock()`` when given, e.g. the fake's
    ManualClock); salt: ``secrets.token_hex(16)``. ``python_sdk_style`` spells the
    parameters ``ApiKey=``/``Date=`` like the official Python SDK.
    """
    if date is None:
        moment = datetime.now(UTC) if clock is None else datetime.fromtimestamp(clock(), UTC)
        date = moment.isoformat()
    if salt is None:
        salt = secrets.token_hex(16)
    digest = hmac.new(api_secret.encode(), f"{date}{salt}".encode(), hashlib.sha256).hexdigest()
    key_name, date_name = ("ApiKey", "Date") if python_sdk_style else ("apiKey", "date")
    return f"HMAC-SHA256 {key_name}={api_key}, {date_name}={date}, salt={salt}, signature={digest}"


def solapi_headers(fake: FakeSolapi, api_key: str | None = None) -> dict[str, str]:
    """Headers for one request to ``fake``, signed with its clock and (default) credentials."""
    key = api_key if api_key is not None else next(iter(fake.credentials))
    return {
        "Authorization": solapi_signer(key, fake.credentials[key], clock=fake.clock),
        "Content-Type": "application/json",
    }


@pytest.fixture
def fake_solapi() -> Iterator[FakeSolapi]:
    """A started FakeSolapi with default settings; stopped after the test."""
    with FakeSolapi() as fake:
        yield fake


def solapi_table(
    fake: FakeSolapi, profile: str, provider_id: str = "solapi", sender: str = "0212345678"
) -> str:
    """The TOML table of a provider `provider_id` of `profile` on `fake` (its default keys)."""
    return f"""
[profiles.{profile}.providers.{provider_id}]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "{DEFAULT_API_SECRET}"
sender = "{sender}"
base_url = "{fake.base_url}"
"""


def mock_kakao_and_solapi_config(
    path: Path, fake: FakeSolapi, *, profile: str = "mixed", extra: str = ""
) -> Path:
    """A config (mode 0600) whose profile sends AlimTalk through the mock (provider `kakao`,
    so numbers ending in 3104 fail as non-KakaoTalk users) and SMS through `fake` (provider
    `solapi`); `extra` lines are added to the SOLAPI provider's table."""
    path.write_text(
        f"""
default_profile = "{profile}"
[profiles.{profile}.routing]
ALIMTALK = "kakao"
SMS = "solapi"
[profiles.{profile}.providers.kakao]
type = "mock"
{solapi_table(fake, profile).strip()}
{extra}
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path
