"""The built-in SHA-256 gives hashlib's digests (tests/cli/test_startup.py: a send loads no
OpenSSL)."""

from __future__ import annotations

import hashlib

import pytest

from kmsg_cli.digest import sha256_hex


@pytest.mark.parametrize(
    "data", [b"", b"abc", "안녕하세요 #{name}".encode(), bytes(range(256)) * 300]
)
def test_sha256_hex_is_hashlibs(data: bytes) -> None:
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
