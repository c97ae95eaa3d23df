"""The one place that keeps errors one line and free of URL passwords (kmsg_cli.errors)."""

from __future__ import annotations

import pytest

from kmsg_cli.errors import InvalidInput, mask_url_passwords, printable, quoted


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:****@h/db"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:****@h/db"),  # '@' in the password
        ("postgresql://u@h/db?password=pw&x=1", "postgresql://u@h/db?password=****&x=1"),
        (
            "https://apis.example/send/?key=K1&user_id=u",
            "https://apis.example/send/?key=****&user_id=u",
        ),
        ("in URI: 'postgresql://u:pw@h' (x)", "in URI: 'postgresql://u:****@h' (x)"),
        ("sqlite:////tmp/k.sqlite", "sqlite:////tmp/k.sqlite"),
        ("postgresql://u:****@h/db", "postgresql://u:****@h/db"),  # already masked
        ("https://api.solapi.com:443/x", "https://api.solapi.com:443/x"),
        ("no url here", "no url here"),
    ],
)
def test_mask_url_passwords(text: str, masked: str) -> None:
    assert mask_url_passwords(text) == masked


def test_mask_is_idempotent_with_another_mask() -> None:
    once = mask_url_passwords("postgresql://u:pw@h/db?password=x", "<redacted>")
    assert once == "postgresql://u:<redacted>@h/db?password=<redacted>"
    assert mask_url_passwords(once, "<redacted>") == once


def test_printable_and_quoted_keep_one_line() -> None:
    assert printable("a\nb\x1b[31m") == "a\\nb\\x1b[31m"
    assert printable("홍길동 ok") == "홍길동 ok"
    assert quoted("x" * 100, 10) == "'xxxxxxx...'"


def test_every_error_is_one_line_without_url_passwords() -> None:
    error = InvalidInput(
        "bad\nvalue in postgresql://u:pw@h/db",
        field="f\r",
        value="postgresql://u:pw@h",
        hint="try\x1b[2J again",
    )
    assert error.message == "bad\\nvalue in postgresql://u:****@h/db"
    assert error.field == "f\\r" and error.value == "postgresql://u:****@h"
    assert error.hint == "try\\x1b[2J again"


def test_registered_secrets_are_masked_in_every_form_and_in_every_error() -> None:
    import base64
    from urllib.parse import quote, quote_plus

    from kmsg_cli.errors import ProviderError, redact_secrets, register_secret, scrub

    secret = "k3y+with/odd=chars"
    register_secret(secret)
    register_secret("abc")  # too short to mask safely: ignored
    encoded = base64.b64encode(secret.encode()).decode()
    for form in (secret, quote(secret, safe=""), quote_plus(secret), encoded, encoded.rstrip("=")):
        assert redact_secrets(f"echo: {form}!") == "echo: ****!"
    assert redact_secrets("abc and more") == "abc and more"
    error = ProviderError(
        f"gateway said key={secret}", hint=secret, details={"body": [f"x {secret}"]}
    )
    assert secret not in str(error.to_dict())
    assert error.message == "gateway said key=****"
    assert scrub(f"postgresql://u:pw@h/db {secret}") == "postgresql://u:****@h/db ****"
