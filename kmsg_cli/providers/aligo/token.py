"""Aligo's Kakao API token (docs/vendors/aligo.md: ALIGO-KAKAO-TOKEN, ALIGO-KAKAO-TOKEN-REPLY,
ALIGO-KAKAO-TOKEN-USE): created with the API key through `/akv10/token/create/{n}/{unit}/`,
kept in a `Cache` until shortly before it expires, sent as `token` on every other Kakao call,
and made again (once) when Aligo refuses the one it was given.

A token embeds the server that created it, so the cache key names this host as well as the
account: processes of one host share a token, another host makes its own. The cached value is
sealed with a key derived from the API key (an HMAC-SHA256 keystream and tag): the database
that may hold the cache never holds a token anyone could use, and a changed API key simply
reads as no token. A process also keeps its own copy (a new token until the cache would
drop it; one read from the cache for a few minutes), so a Kakao call seldom reads the cache.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from kmsg_cli.providers._common import bad_response
from kmsg_cli.providers.aligo.client import AligoClient, check_kakao_answer
from kmsg_cli.providers.base import Cache

LIFETIME = (1, "d")  # the token lives one day (units: y m d h i s)
CACHED_FOR = timedelta(hours=23)  # used until an hour before Aligo lets it expire
REREAD_AFTER = timedelta(minutes=5)  # a token read from the cache is read again after this
TOKEN_PATH = f"/akv10/token/create/{LIFETIME[0]}/{LIFETIME[1]}/"
_SEALED = "v1:"


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"kmsg aligo kakao token\0" + secret.encode("utf-8")).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = b""
    counter = 0
    while len(blocks) < length:
        block = hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256)
        blocks += block.digest()
        counter += 1
    return blocks[:length]


def seal(secret: str, token: str) -> str:
    """`token` encrypted and authenticated with a key derived from `secret`."""
    key, nonce, data = _key(secret), secrets.token_bytes(16), token.encode("utf-8")
    body = bytes(a ^ b for a, b in zip(data, _stream(key, nonce, len(data)), strict=True))
    tag = hmac.new(key, nonce + body, hashlib.sha256).digest()[:16]
    return _SEALED + base64.urlsafe_b64encode(nonce + body + tag).decode("ascii")


def unseal(secret: str, sealed: str) -> str | None:
    """The token `seal` sealed with the same secret; None for anything else."""
    if not sealed.startswith(_SEALED):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed[len(_SEALED) :].encode("ascii"))
    except (ValueError, UnicodeError):
        return None
    if len(raw) <= 32:
        return None
    key, nonce, body, tag = _key(secret), raw[:16], raw[16:-16], raw[-16:]
    if not hmac.compare_digest(tag, hmac.new(key, nonce + body, hashlib.sha256).digest()[:16]):
        return None
    data = bytes(a ^ b for a, b in zip(body, _stream(key, nonce, len(body)), strict=True))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class TokenKeeper:
    """The Kakao token of one Aligo account on this host (see the module docstring)."""

    def __init__(
        self,
        client: AligoClient,
        cache: Cache,
        *,
        clock: Callable[[], datetime],
        host: str | None = None,
    ) -> None:
        self.client = client
        self.cache = cache
        self.clock = clock
        account = hashlib.sha256(client.account.encode("utf-8")).hexdigest()[:16]
        self.key = f"aligo:kakao-token:{account}:{host or socket.gethostname()}"
        self._lock = threading.Lock()
        self._held: tuple[str, datetime] | None = None  # this process's copy, until it expires

    def token(self, *, fresh: bool = False) -> tuple[str, bool]:
        """(the token, whether it was just made): the one this process holds, else the cached
        one, unless `fresh`."""
        if not fresh:
            with self._lock:
                held = self._held
            if held is not None and held[1] > self.clock():
                return held[0], False
            sealed = self.cache.get(self.key)
            token = unseal(self.client.secret, sealed) if sealed else None
            if token:
                self._hold(token, self.clock() + REREAD_AFTER)
                return token, False
        return self._create(), True

    def _hold(self, token: str, until: datetime) -> None:
        with self._lock:
            self._held = (token, until)

    def _create(self) -> str:
        now = self.clock()
        body = self.client.call("kakao", TOKEN_PATH, {}, sends=False, token=False)
        check_kakao_answer(body, provider_id=self.client.provider_id, sends=False)
        token = body.get("token")
        if not isinstance(token, str) or not token.strip():
            raise bad_response(self.client.provider_id, "the token answer has no token")
        token = token.strip()
        self.cache.put(self.key, seal(self.client.secret, token), expires_at=now + CACHED_FOR)
        self._hold(token, now + CACHED_FOR)
        return token
