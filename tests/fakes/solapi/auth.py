"""SOLAPI's HMAC-SHA256 request signing, as the fake checks it (docs/vendors/solapi.md).

- The header is ``<method> k=v, k=v, …``; parameter names are case-insensitive, values are
  taken verbatim. The methods are ``HMAC-SHA256`` and ``HMAC-MD5`` (SOLAPI-AUTH-HEADER).
  Missing header, another method, a missing/duplicated parameter, or a salt outside 12–64
  characters (SOLAPI-AUTH-SALT) give 403 ``InvalidAuthorizationHeader``. Then, in order
  (SOLAPI-AUTH-ERRORS): unknown key → ``InvalidAPIKey``; a date that does not parse as ISO 8601
  *with an offset* (naive dates count as unparseable) or lies more than 15 minutes from the
  fake clock → ``RequestTimeTooSkewed`` (SOLAPI-AUTH-DATE); signature ≠ lowercase hex HMAC of
  the method's hash (secret, date + salt), compared exactly → ``SignatureDoesNotMatch``
  (SOLAPI-AUTH-SIG); the same signature already accepted within 15 minutes →
  ``DuplicatedSignature`` (SOLAPI-AUTH-REPLAY).
- A signature is remembered only once authentication passed. Faults that answer *without*
  processing (500/503/429/hang/reset/html) happen before authentication and do not consume it;
  the faults that process the request (``*_after_accept``, ``truncated``) do, so a retry must
  be signed again.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable

from tests.fakes.solapi.state import SKEW_SECONDS, ApiError, parse_iso

METHODS = {"HMAC-SHA256": "sha256", "HMAC-MD5": "md5"}


def compute_signature(secret: str, date: str, salt: str, method: str = "HMAC-SHA256") -> str:
    """Lowercase hex HMAC (SHA-256, or MD5 for ``HMAC-MD5``) of ``date + salt`` keyed with
    the API secret."""
    return hmac.new(
        secret.encode("utf-8"), (date + salt).encode("utf-8"), METHODS[method]
    ).hexdigest()


def check_signature(
    secret: str, date: str, salt: str, signature: str, method: str = "HMAC-SHA256"
) -> bool:
    """True when ``signature`` is exactly the expected lowercase hex digest."""
    expected = compute_signature(secret, date, salt, method).encode("utf-8")
    return hmac.compare_digest(expected, signature.encode("utf-8"))


def parse_authorization(header: str) -> tuple[str, dict[str, str]]:
    """Split ``HMAC-SHA256 apiKey=…, date=…`` into the method and lower-cased parameters.

    Raises ValueError on a garbled header.
    """
    method, _, rest = header.strip().partition(" ")
    if not method or not rest.strip():
        raise ValueError("expected '<method> apiKey=…, date=…, salt=…, signature=…'")
    params: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise ValueError(f"malformed parameter {part!r}")
        if key in params:
            raise ValueError(f"duplicated parameter {key!r}")
        params[key] = value.strip()
    return method, params


class Authentication:
    """The fake's check of the ``Authorization`` header (mixed into ``FakeSolapi``)."""

    credentials: dict[str, str]
    clock: Callable[[], float]
    _lock: threading.Lock
    _seen_signatures: dict[str, float]

    def authenticate(self, header: str | None) -> str:
        """Verify an Authorization header as the server does; returns the API key.

        Raises ApiError (403) on failure. A successful call remembers the signature.
        """
        with self._lock:
            return self._authenticate(header, self.clock())

    def _authenticate(self, header: str | None, now: float) -> str:
        def fail(code: str, message: str) -> ApiError:
            return ApiError(403, code, message)

        if not header:
            raise fail("InvalidAuthorizationHeader", "Authorization header is missing")
        try:
            method, params = parse_authorization(header)
        except ValueError as error:
            raise fail("InvalidAuthorizationHeader", str(error)) from None
        if method not in METHODS:
            raise fail("InvalidAuthorizationHeader", f"unsupported method {method!r}")
        missing = [k for k in ("apikey", "date", "salt", "signature") if not params.get(k)]
        if missing:
            raise fail("InvalidAuthorizationHeader", f"missing {', '.join(missing)}")
        salt = params["salt"]
        if not 12 <= len(salt) <= 64:
            raise fail("InvalidAuthorizationHeader", "salt must be 12 to 64 characters")
        api_key, date, signature = params["apikey"], params["date"], params["signature"]
        secret = self.credentials.get(api_key)
        if secret is None:
            raise fail("InvalidAPIKey", "Invalid API Key")
        signed_at = parse_iso(date)
        if signed_at is None or abs(signed_at - now) > SKEW_SECONDS:
            raise fail("RequestTimeTooSkewed", "Request date is more than 15 minutes off")
        if not check_signature(secret, date, salt, signature, method):
            raise fail("SignatureDoesNotMatch", "Signature does not match")
        for seen, seen_at in list(self._seen_signatures.items()):
            if now - seen_at > SKEW_SECONDS:
                del self._seen_signatures[seen]
        if signature in self._seen_signatures:
            raise fail("DuplicatedSignature", "Signature was used within the last 15 minutes")
        self._seen_signatures[signature] = now
        return api_key
