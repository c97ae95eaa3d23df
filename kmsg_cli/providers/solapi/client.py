"""SOLAPI's HTTP side: HMAC-SHA256 request signing, one signed request through the shared
HTTP boundary, and SOLAPI's error answers mapped to kmsg errors (docs/vendors/solapi.md)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from kmsg_cli.errors import AuthenticationError, ProviderError
from kmsg_cli.providers._common import url_setting
from kmsg_cli.providers._http import (
    Connection,
    body_excerpt,
    json_or_none,
    retry_after,
    send_request,
    status_error,
    wrong_address_hint,
)

log = logging.getLogger("kmsg.solapi")

_AUTH_ERRORS = {"InvalidAPIKey", "SignatureDoesNotMatch"}
_RESIGN_ERRORS = {"RequestTimeTooSkewed", "DuplicatedSignature"}


# -- authentication ------------------------------------------------------------------------
def signature(secret: str, date: str, salt: str) -> str:
    """Lowercase hex HMAC-SHA256 of `date + salt` keyed with the API secret."""
    return hmac.new(secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()


def authorization(api_key: str, secret: str, *, date: str, salt: str) -> str:
    """The `Authorization` header value."""
    sig = signature(secret, date, salt)
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={sig}"


def utc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- errors ----------------------------------------------------------------------------------
def error_from_response(
    response: httpx.Response, *, provider_id: str, sends: bool
) -> ProviderError:
    """Map a non-2xx answer to kmsg's error kinds (docs/vendors/solapi.md)."""
    status = response.status_code
    body = json_or_none(response)
    code = str(body.get("errorCode") or "") if isinstance(body, Mapping) else ""
    text = str(body.get("errorMessage") or "") if isinstance(body, Mapping) else ""
    wait = retry_after(response)
    label = f"SOLAPI HTTP {status}" + (f" {code}" if code else "")
    detail = text or (body_excerpt(response) if body is None else "")
    message = f"{label}: {detail}" if detail else label
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": status,
        "provider_code": code or None,
        "retry_after": wait,
    }
    if status in (401, 403) and code in _AUTH_ERRORS | {""}:
        return AuthenticationError(
            f"SOLAPI refused the credentials ({code or status})",
            hint=f"check api_key and api_secret of provider '{provider_id}' (kmsg config validate)",
            **common,
        )
    if code == "RequestTimeTooSkewed":
        return ProviderError(
            "SOLAPI says this machine's clock is more than 15 minutes off",
            code="CLOCK_SKEW",
            hint="synchronise the system clock (NTP) and try again",
            **common,
        )
    if status >= 500 and status != 503 and body is None:
        message = f"SOLAPI HTTP {status} with a non-JSON body: {body_excerpt(response)}"
    if status == 429 or status >= 500:
        return status_error(message, status, **common)
    if code in ("NotEnoughBalance", "InsufficientBalance") or status == 402:
        return ProviderError(message, code="INSUFFICIENT_BALANCE", **common)
    hint = wrong_address_hint(response, provider_id)
    return ProviderError(message, code="PROVIDER_REJECTED", hint=hint, **common)


# -- the connection --------------------------------------------------------------------------
class SolapiClient(Connection):
    """Signed requests to one SOLAPI account, dated by `clock`."""

    def __init__(
        self,
        provider_id: str,
        settings: Mapping[str, Any],
        http: httpx.Client | None,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(provider_id, settings, http)
        self.api_key = str(settings["api_key"])
        self._secret = str(settings["api_secret"])
        self.base_url = url_setting(settings, "solapi", "base_url")
        self.clock = clock

    def request(
        self,
        method: str,
        path: str,
        *,
        sends: bool,
        json_body: Any = None,
        params: Any = None,
        query: str | None = None,
    ) -> httpx.Response:
        """One signed request; a non-2xx answer raises its ProviderError. The query string is
        `params`, or `query` already form-encoded (`_http.with_query`)."""
        # A skewed clock or a reused signature is answered before anything is processed,
        # so one retry with a fresh date and salt is always safe.
        for attempt in (1, 2):
            headers = {
                "Authorization": authorization(
                    self.api_key,
                    self._secret,
                    date=utc_date(self.clock()),
                    salt=secrets.token_hex(16),
                )
            }
            response = send_request(
                self.http,
                method,
                self.base_url + path,
                provider_id=self.provider_id,
                sends=sends,
                headers=headers,
                json_body=json_body,
                params=params,
                query=query,
            )
            if response.is_success:
                return response
            error = error_from_response(response, provider_id=self.provider_id, sends=sends)
            if attempt == 1 and error.provider_code in _RESIGN_ERRORS:
                log.info("SOLAPI answered %s; signing again", error.provider_code)
                continue
            raise error
        raise AssertionError("unreachable")
