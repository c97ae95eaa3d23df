"""SHA-256 for the content key and the mock provider's message ids, without OpenSSL.

`hashlib` loads OpenSSL's libcrypto when it is imported (about 2 ms of every start of a
`kmsg send` that talks to no vendor); the few hundred bytes hashed here do not need it.
CPython's own SHA-256 gives the same digests (tested against `hashlib`); where that module is
missing (another interpreter), `hashlib` is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _builtin_sha256() -> Callable[[bytes], Any]:
    for name in ("_sha2", "_sha256"):  # CPython 3.12 and later, CPython 3.11
        try:
            constructor: Callable[[bytes], Any] = importlib.import_module(name).sha256
        except (ImportError, AttributeError):
            continue
        return constructor
    from hashlib import sha256

    return sha256


_SHA256 = _builtin_sha256()


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 digest of `data`, as `hashlib.sha256(data).hexdigest()`."""
    return str(_SHA256(data).hexdigest())
