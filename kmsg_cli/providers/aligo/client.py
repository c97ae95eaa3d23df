"""What Aligo's two hosts (the SMS host and the Kakao host) share: credentials inside every
form body, result codes and how answers become kmsg errors, kmsg's provider message ids, and
the connection that posts a form to either host (docs/vendors/aligo.md).

Credentials travel inside every form body: `key`/`user_id` on the SMS host
(`https://apis.aligo.in`), `apikey`/`userid` on the Kakao host (`https://kakaoapi.aligo.in`).
They never appear in logs, errors or `repr`. Bodies are `application/x-www-form-urlencoded`,
or `multipart/form-data` when an image file is attached.

Errors: auth codes (-99 on the Kakao host, -100, -101) → AuthenticationError; balance codes
(-102, -201, or a message about the balance) → INSUFFICIENT_BALANCE; other vendor codes →
PROVIDER_REJECTED with Aligo's code and message. HTTP 4xx (but 429) are final, 5xx/429/503
are retryable with Retry-After, a non-JSON answer is a clear PROVIDER_BAD_RESPONSE. Which
negative codes mean what is not documented in what was read (ALIGO-SMS-CODES): these are
kmsg's assumptions.

Provider message ids. Aligo returns one id per request, so each message's id names the
request id and its receiver, which is what the history lookups match on:

    sms:<msg_id>:<receiver>      e.g. sms:123456789:01012345678
    kakao:<mid>:<receiver>       e.g. kakao:987654:01012345678

A request never holds the same receiver twice, so the pair is unique.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from kmsg_cli.errors import AuthenticationError, ConfigError, ProviderError
from kmsg_cli.providers._common import bad_response, number, one_line, text_setting, url_setting
from kmsg_cli.providers._http import (
    Connection,
    body_excerpt,
    json_or_none,
    not_json,
    retry_after,
    send_request,
    status_error,
    wrong_address_hint,
)

TOKEN_REFUSED = "-99"  # Kakao host: the token (or the credentials) refused (ALIGO-KAKAO-CODES)
AUTH_CODES = frozenset({"-100", "-101"})
BALANCE_CODES = frozenset({"-102", "-201"})
_BALANCE_WORDS = ("잔액", "잔여", "충전", "포인트 부족", "건수 부족")

Files = list[tuple[str, tuple[str, bytes, str]]]


# -- provider message ids (pure) -------------------------------------------------------------
def provider_message_id(kind: str, mid: str, receiver: str) -> str:
    """`sms:<msg_id>:<receiver>` or `kakao:<mid>:<receiver>` (see the module docstring)."""
    return f"{kind}:{mid}:{receiver}"


def split_provider_message_id(value: str) -> tuple[str, str, str] | None:
    """(kind, mid, receiver) of one of our ids; None for anything else."""
    parts = value.split(":")
    if len(parts) != 3 or parts[0] not in ("sms", "kakao") or not parts[1] or not parts[2]:
        return None
    return parts[0], parts[1], parts[2]


# -- answers and errors (pure) ---------------------------------------------------------------
def vendor_code(value: Any) -> str | None:
    """Aligo's result code as text: 1, "1", 1.0 → "1"; "-101" → "-101"; None when absent."""
    if value is None or isinstance(value, bool):
        return None
    found = number(value)
    if found is not None and found == int(found):
        return str(int(found))
    text = str(value).strip()
    return text or None


def vendor_error(
    code: str | None,
    text: Any,
    *,
    provider_id: str,
    http_status: int | None = None,
    retry_after: float | None = None,
    kakao: bool = False,
) -> ProviderError:
    """A failure code in an Aligo answer (SMS `result_code` or, `kakao`, Kakao `code`) as our
    error."""
    detail = one_line(text)
    message = f"Aligo {code or '?'}" + (f": {detail}" if detail else "")
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": http_status,
        "provider_code": code,
        "retry_after": retry_after,
    }
    if code in AUTH_CODES or (kakao and code == TOKEN_REFUSED):
        return AuthenticationError(
            f"Aligo refused the credentials ({message})",
            hint=f"check api_key and user_id of provider '{provider_id}' (kmsg config validate)",
            **common,
        )
    if code in BALANCE_CODES or any(word in detail for word in _BALANCE_WORDS):
        return ProviderError(
            message,
            code="INSUFFICIENT_BALANCE",
            hint="charge the Aligo account (kmsg providers balance)",
            **common,
        )
    return ProviderError(message, code="PROVIDER_REJECTED", **common)


def error_from_response(response: httpx.Response, *, provider_id: str) -> ProviderError:
    """Map a non-2xx answer: 429/503/5xx retryable (Retry-After kept), other 4xx final."""
    status = response.status_code
    body = json_or_none(response)
    mapping = body if isinstance(body, Mapping) else {}
    code = vendor_code(mapping.get("result_code", mapping.get("code")))
    text = mapping.get("message")
    wait = retry_after(response)
    if body is None:
        detail = f"a non-JSON body: {body_excerpt(response)}"
    else:
        detail = one_line(text) or body_excerpt(response)
    message = f"Aligo HTTP {status}" + (f" ({code})" if code else "") + f": {detail}"
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": status,
        "provider_code": code,
        "retry_after": wait,
    }
    if status == 429 or status >= 500:
        return status_error(message, status, **common)
    if code is not None and code not in ("0", "1"):
        return vendor_error(code, text, provider_id=provider_id, http_status=status)
    if status in (401, 403):
        return AuthenticationError(
            f"Aligo refused the request (HTTP {status}): {detail}",
            hint=f"check api_key and user_id of provider '{provider_id}' (kmsg config validate)",
            **common,
        )
    hint = wrong_address_hint(response, provider_id)
    return ProviderError(message, code="PROVIDER_REJECTED", hint=hint, **common)


def _check_answer(
    body: Mapping[str, Any], key: str, success: str, *, provider_id: str, sends: bool
) -> None:
    code = vendor_code(body.get(key))
    if code is None:
        raise bad_response(provider_id, f"the answer has no {key}", outcome_unknown=sends)
    if code != success:
        kakao = key == "code"
        raise vendor_error(code, body.get("message"), provider_id=provider_id, kakao=kakao)


def check_sms_answer(body: Mapping[str, Any], *, provider_id: str, sends: bool) -> None:
    """Raise unless an SMS-host answer says `result_code` 1."""
    _check_answer(body, "result_code", "1", provider_id=provider_id, sends=sends)


def check_kakao_answer(body: Mapping[str, Any], *, provider_id: str, sends: bool) -> None:
    """Raise unless a Kakao-host answer says `code` 0 (-99: credentials or token refused)."""
    _check_answer(body, "code", "0", provider_id=provider_id, sends=sends)


def listed_items(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The objects of a history answer's `list` (anything else is left out)."""
    listing = body.get("list")
    return [i for i in listing if isinstance(i, Mapping)] if isinstance(listing, list) else []


# -- the connection --------------------------------------------------------------------------
def _required(settings: Mapping[str, Any], key: str, provider_id: str) -> str:
    value = text_setting(settings, key)
    if value is None:
        raise ConfigError(
            f"provider '{provider_id}' needs {key}",
            code="MISSING_SETTING",
            field=key,
            hint=f'set {key} = "env:ALIGO_{key.upper()}" and export the variable',
        )
    return value


class AligoClient(Connection):
    """Forms posted to both Aligo hosts with their credentials; Kakao calls also carry the
    token `tokens` gives (token.py), and a call Aligo refuses with -99 is made once more with
    a fresh token (ALIGO-KAKAO-TOKEN-USE)."""

    def __init__(
        self, provider_id: str, settings: Mapping[str, Any], http: httpx.Client | None
    ) -> None:
        super().__init__(provider_id, settings, http)
        self._api_key = _required(settings, "api_key", provider_id)
        self._user_id = _required(settings, "user_id", provider_id)
        self.sms_base_url = url_setting(settings, "aligo", "sms_base_url")
        self.kakao_base_url = url_setting(settings, "aligo", "kakao_base_url")
        self.tokens: Callable[..., tuple[str, bool]] | None = None

    @property
    def account(self) -> str:
        """Who the credentials are (user id and key), for hashing into cache keys only."""
        return f"{self._user_id}\0{self._api_key}"

    @property
    def secret(self) -> str:
        """The API key, for sealing what is cached (token.py); never shown."""
        return self._api_key

    def call(
        self,
        host: str,
        path: str,
        fields: Mapping[str, str],
        *,
        sends: bool,
        files: Files | None = None,
        token: bool = True,
    ) -> Mapping[str, Any]:
        """POST one form with the credentials of `host` (and, on the Kakao host unless
        `token` is false, the Kakao token); the decoded JSON object or an error."""
        if host == "sms":
            url = self.sms_base_url + path
            auth = {"key": self._api_key, "user_id": self._user_id}
            return self._post(url, {**auth, **fields}, files, sends)
        url = self.kakao_base_url + path
        auth = {"apikey": self._api_key, "userid": self._user_id}
        if not token or self.tokens is None:
            return self._post(url, {**auth, **fields}, files, sends)
        value, fresh = self.tokens(fresh=False)
        body = self._post(url, {**auth, **fields, "token": value}, files, sends)
        if not fresh and vendor_code(body.get("code")) == TOKEN_REFUSED:
            # a cached token Aligo no longer takes (expired, or made elsewhere): the request
            # was refused, so it is safe to make it once more with a new token
            value, _ = self.tokens(fresh=True)
            body = self._post(url, {**auth, **fields, "token": value}, files, sends)
        return body

    def _post(
        self, url: str, form: Mapping[str, str], files: Files | None, sends: bool
    ) -> Mapping[str, Any]:
        response = send_request(
            self.http,
            "POST",
            url,
            provider_id=self.provider_id,
            sends=sends,
            form=form,
            files=files or None,
        )
        if not response.is_success:
            raise error_from_response(response, provider_id=self.provider_id)
        body = json_or_none(response)
        if not isinstance(body, Mapping):
            raise not_json("Aligo", response, provider_id=self.provider_id, outcome_unknown=sends)
        return body
