"""The HTTP boundary shared by provider clients.

Every httpx exception is mapped here, once, into `ProviderError`. What matters most is
whether the request could have reached the vendor:

| failure                                   | sent? | retryable | outcome_unknown (for sends) |
|-------------------------------------------|-------|-----------|-----------------------------|
| connect refused / DNS / TLS / connect timeout / pool timeout | no | yes | no        |
| write error / write timeout (body incomplete) | no  | yes       | no                          |
| read timeout, connection reset or closed before the answer | yes | no for sends | yes       |
| a header value HTTP cannot carry (a bad credential; its text is never echoed) | no | no | no |

A send whose outcome is unknown must never be re-sent blindly (docs/recovery.md); a lookup
can simply be asked again.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from kmsg_cli import __version__
from kmsg_cli.errors import AuthenticationError, ProviderError, scrub
from kmsg_cli.providers.catalog import COMMON_SETTINGS

log = logging.getLogger("kmsg.http")

USER_AGENT = f"kmsg/{__version__}"

_made = threading.local()


def requests_made() -> int:
    """How many HTTP requests this thread has attempted so far (every provider): a caller
    that wants the count of one operation reads it before and after (threads do not mix)."""
    return int(getattr(_made, "count", 0))


# Retry-After is capped: a vendor's "come back in 10^300 seconds" is still a time to store.
MAX_RETRY_AFTER = 86_400.0


def new_client(settings: Mapping[str, Any]) -> httpx.Client:
    """An httpx client with kmsg's timeouts (the registry's defaults unless configured)."""
    connect = float(settings.get("connect_timeout") or COMMON_SETTINGS["connect_timeout"].default)
    read = float(settings.get("read_timeout") or COMMON_SETTINGS["read_timeout"].default)
    return httpx.Client(
        timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=False,
    )


class Connection:
    """The httpx client of one configured provider: the injected one (tests) or one made
    from its settings. `close()` closes only a client made here."""

    def __init__(
        self, provider_id: str, settings: Mapping[str, Any], http: httpx.Client | None
    ) -> None:
        self.provider_id = provider_id
        self._own_http = http is None
        self.http = http if http is not None else new_client(settings)

    def close(self) -> None:
        if self._own_http:
            self.http.close()


def send_request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    provider_id: str,
    sends: bool,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    params: Any = None,
    query: str | None = None,
    form: Mapping[str, str] | None = None,
    files: Any = None,
) -> httpx.Response:
    """Perform one request; map transport failures to ProviderError (see the module table).

    `sends` is true when the request hands messages to the vendor: then a failure after the
    request went out is an unknown outcome instead of a retryable error. The body is JSON
    (`json_body`), a form (`form`), or multipart (`form` + `files`). The query string is
    `params`, or `query`: one already form-encoded (see `with_query`).
    """
    content = None
    request_headers = dict(headers or {})
    if json_body is not None:
        content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        request_headers.setdefault("Content-Type", "application/json")
    started = time.monotonic()
    _made.count = requests_made() + 1
    try:
        if query is not None:
            request = client.build_request(method, url, content=content, headers=request_headers)
            request.url = with_query(request.url, query)
            response = client.send(request)
        elif form is not None or files is not None:
            response = client.request(
                method,
                url,
                data=dict(form or {}),
                files=files or None,
                params=params,
                headers=request_headers,
            )
        else:
            response = client.request(
                method, url, content=content, params=params, headers=request_headers
            )
    except (httpx.LocalProtocolError, UnicodeEncodeError):
        # A header value that is not valid HTTP (a line break, a control or non-ASCII
        # character): in kmsg's requests that is a credential, and h11's message would repeat
        # it, so the exception text is never used. Nothing was sent.
        raise AuthenticationError(
            f"the request to {provider_id} was not sent: a credential holds a character "
            "that HTTP headers cannot carry (a line break, a control or non-ASCII character)",
            code="INVALID_CREDENTIALS",
            provider_id=provider_id,
            details={"stage": "request"},
            hint=f"check the keys of provider '{provider_id}' for stray characters",
        ) from None
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderError(
            f"cannot reach {provider_id} at {_origin(url)}: {_reason(exc)}",
            code="NETWORK_ERROR" if isinstance(exc, httpx.ConnectError) else "NETWORK_TIMEOUT",
            provider_id=provider_id,
            retryable=True,
            details={"stage": "connect"},
            hint="check the network and the provider's base_url",
        ) from None
    except (httpx.WriteError, httpx.WriteTimeout) as exc:
        raise ProviderError(
            f"sending the request to {provider_id} failed: {_reason(exc)}",
            code="NETWORK_ERROR",
            provider_id=provider_id,
            retryable=True,
            details={"stage": "write"},
        ) from None
    except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
        timeout = isinstance(exc, httpx.ReadTimeout)
        what = "no answer in time" if timeout else f"connection lost: {_reason(exc)}"
        raise ProviderError(
            f"{provider_id} did not answer ({what})"
            + ("; the messages may or may not have been accepted" if sends else ""),
            code="NETWORK_TIMEOUT" if timeout else "NETWORK_ERROR",
            provider_id=provider_id,
            retryable=not sends,
            outcome_unknown=sends,
            details={"stage": "read"},
        ) from None
    except httpx.HTTPError as exc:
        raise ProviderError(
            f"request to {provider_id} failed: {_reason(exc)}",
            code="NETWORK_ERROR",
            provider_id=provider_id,
            retryable=not sends,
            outcome_unknown=sends,
        ) from None
    if log.isEnabledFor(logging.DEBUG):  # parsing a long URL again costs, even unlogged
        log.debug(
            "%s %s -> %s in %.0f ms",
            method,
            _origin(url) + httpx.URL(url).path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
    return response


# What `urllib.parse.urlencode` writes: unreserved characters, %XX escapes, '+' for a space,
# and the '=' and '&' between names and values.
_ENCODED_QUERY = re.compile(r"(?:[A-Za-z0-9._~+=&-]|%[0-9A-Fa-f]{2})*")


def with_query(url: httpx.URL, query: str) -> httpx.URL:
    """`url` with the query string `query`, which is already form-encoded.

    Such a query is one httpx would keep as it is, but httpx checks every character of a
    URL it parses in Python, and a status lookup's query of 100 message ids is some 5 KB:
    that check cost more than the rest of the request. A query of only the characters
    `urlencode` writes is set without it; any other goes through httpx's own parsing.
    """
    if _ENCODED_QUERY.fullmatch(query):
        reference = getattr(url, "_uri_reference", None)
        if reference is not None and hasattr(reference, "_replace"):
            fast = httpx.URL.__new__(httpx.URL)
            fast._uri_reference = reference._replace(query=query)
            return fast
    return url.copy_with(query=query.encode("utf-8"))


def json_or_none(response: httpx.Response) -> Any:
    """The decoded JSON body, or None when the body is not JSON (an HTML error page, ...)."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return None


def retry_after(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), if any; at most
    `MAX_RETRY_AFTER`."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²", which str.isdigit() also accepts
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return min(max(0.0, moment.timestamp() - current), MAX_RETRY_AFTER)


def status_error(message: str, status: int, **fields: Any) -> ProviderError:
    """HTTP 429 or 5xx: the vendor's own trouble, worth trying again (after Retry-After)."""
    code = {429: "RATE_LIMITED", 503: "SERVICE_UNAVAILABLE"}.get(status, "PROVIDER_ERROR")
    return ProviderError(message, code=code, retryable=True, **fields)


def wrong_address_hint(response: httpx.Response, provider_id: str) -> str | None:
    """For a 404 or 405 whose body is not JSON: the request reached a web server but not the
    vendor's API (a base URL with a wrong or missing path), which no retry will change."""
    if response.status_code not in (404, 405) or json_or_none(response) is not None:
        return None
    try:
        url = response.request.url
    except RuntimeError:  # a response made without its request
        return None
    port = f":{url.port}" if url.port else ""
    return (
        f"{url.scheme}://{url.host}{port}{url.path} is not an address of the vendor's API: "
        f"check the base URL settings of provider '{provider_id}' (kmsg config show), or "
        "remove them to use the vendor's own"
    )


def not_json(
    vendor: str, response: httpx.Response, *, provider_id: str, outcome_unknown: bool
) -> ProviderError:
    """A 2xx answer whose body is not JSON; for a send the vendor may have accepted it."""
    return ProviderError(
        f"{vendor} answered HTTP {response.status_code} with a non-JSON body: "
        f"{body_excerpt(response)}",
        code="PROVIDER_BAD_RESPONSE",
        provider_id=provider_id,
        http_status=response.status_code,
        outcome_unknown=outcome_unknown,
    )


def body_excerpt(response: httpx.Response, limit: int = 80) -> str:
    """A short one-line excerpt of a body for error messages; secrets the body echoes are
    masked before it is cut, so no part of one survives (docs/recovery.md)."""
    try:
        body = response.text
    except UnicodeError:  # a charset the body does not follow (utf-16 without a BOM, ...)
        body = response.content.decode("utf-8", "replace")
    text = scrub(" ".join(body.split()))
    return text[:limit] + ("…" if len(text) > limit else "")


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
