"""What IWINV's two APIs (the AlimTalk host and the SMS v2 host) share: their hosts and
auth headers, their result codes and how answers become kmsg errors, and the connection
that talks to either host (docs/vendors/iwinv.md).

| what             | request                                                       | success      |
|------------------|---------------------------------------------------------------|--------------|
| AlimTalk send    | `POST {alimtalk}/api/v2/send/` JSON, `AUTH: base64(api_key)`  | code 200     |
| AlimTalk history | `POST {alimtalk}/api/history/` (seqNo, phone, dates, paging)  | code 200     |
| AlimTalk balance | `GET {alimtalk}/api/charge/` (POST `{}` if GET is refused)    | code 200     |
| SMS/LMS send     | `POST {sms}/api/v2/send/` JSON, `secret: base64(key&auth)`    | resultCode 0 |
| MMS send         | the same URL, `multipart/form-data`, a JPG under 100 KB       | resultCode 0 |
| SMS history      | `POST {sms}/api/history/` (companyid, requestNo, dates, ...)  | resultCode 0 |
| SMS balance      | `POST {sms}/api/charge/` `{"version": "1.0"}`                 | code 0       |

Code 200 is accepted as a number or a string. The HTTP status is classified before IWINV's
business codes (whose 502–517 collide with gateway statuses), so an HTML 502 is a retryable
error.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import httpx

from kmsg_cli.errors import AuthenticationError, ProviderError
from kmsg_cli.models import Balance
from kmsg_cli.providers._common import (
    bad_response,
    number,
    one_line,
    text_setting,
    to_kst,
    url_setting,
)
from kmsg_cli.providers._http import (
    Connection,
    body_excerpt,
    json_or_none,
    retry_after,
    send_request,
    status_error,
    wrong_address_hint,
)

Api = Literal["alimtalk", "sms"]

SEND_PATH = "/api/v2/send/"
HISTORY_PATH = "/api/history/"
CHARGE_PATH = "/api/charge/"
JSON_TYPE = "application/json;charset=UTF-8"

_LABEL: dict[Api, str] = {"alimtalk": "IWINV AlimTalk", "sms": "IWINV SMS"}
SUCCESS: dict[Api, str] = {"alimtalk": "200", "sms": "0"}

# What IWINV's codes mean, for answers that carry a code without a message (IWINV-AT-CODES,
# IWINV-SMS-CODES; 201/401/403/404 are kmsg's assumption, IWINV-AT-CODE201).
_ALIMTALK_TEXT = {
    "200": "sent",
    "201": "authentication failed",
    "206": "requests from an IP address not registered with IWINV are refused",
    "401": "authentication failed",
    "403": "forbidden",
    "404": "template not found",
    "429": "too many requests",
    "501": "invalid templateCode",
    "502": "invalid list",
    "503": "invalid reSend",
    "504": "invalid resendType",
    "505": "the sender number is not registered in advance",
    "506": "invalid sendDate",
    "507": "reservations are possible from 15 minutes to 2 days ahead",
    "508": "templateParam is required",
    "509": "the content does not match the template",
    "510": "the title is longer than 40 bytes",
    "511": "the title holds characters other than Korean, English, digits and [ ] ( ) < >",
    "512": "recipient number missing",
    "513": "invalid phone number format",
    "514": "at most 10,000 recipients per send",
    "515": "the replacement text is longer than 1,000 characters",
    "516": "the replacement AlimTalk text is longer than 1,000 characters after substitution",
    "517": "the AlimTalk text is longer than 1,000 characters after substitution",
    "518": "the charge call failed",
    "519": "insufficient balance",
    "540": "the message contains a blocked keyword",
}
_SMS_TEXT = {
    "0": "sent",
    "1": "not sent",
    "11": "the service is not running",
    "12": "the account is being recharged, try again later",
    "13": "the sender number is not registered",
    "14": "bad authentication request",
    "15": "requests from an IP address not registered with IWINV are refused",
    "21": "LMS text longer than 2000 bytes",
    "22": "the title holds characters other than Korean, English, digits and [ ] ( ) < >",
    "23": "title longer than 40 bytes",
    "31": "image of 100 KB or more",
    "32": "image file type not allowed (JPG only)",
    "33": "image upload failed",
    "41": "recipient missing",
    "42": "reservations are possible from 15 minutes to less than a month ahead",
    "43": "bad date format",
    "44": "at most 1000 recipients per send",
    "50": "the daily auto-recharge limit (5 per day) is exceeded",
    "202": "SMS API authentication failed or no SMS permission",
    "206": "requests from an IP address not registered with IWINV are refused",
}
_IP_CODES: dict[Api, frozenset[str]] = {
    "alimtalk": frozenset({"206"}),
    "sms": frozenset({"15", "206"}),
}
_AUTH_CODES: dict[Api, frozenset[str]] = {
    "alimtalk": frozenset({"201", "401", "403"}),
    "sms": frozenset({"14", "202"}),
}
_BALANCE_CODES: dict[Api, frozenset[str]] = {
    "alimtalk": frozenset({"519"}),
    "sms": frozenset({"50"}),
}
_TEMPLATE_CODES = frozenset({"404", "501"})  # AlimTalk only
# 502-517 and 540 refuse this request's content; 518 (the charge call failed) is worth a retry.
_ALIMTALK_FINAL_5XX = frozenset({str(c) for c in range(502, 518)} | {"540"})
_SMS_RETRYABLE = frozenset({"12"})  # recharging: try again later
# the sender number (of the AlimTalk's replacement SMS) is not registered (IWINV-*-CODES)
_SENDER_CODES: dict[Api, frozenset[str]] = {
    "alimtalk": frozenset({"505"}),
    "sms": frozenset({"13"}),
}


# -- authentication --------------------------------------------------------------------------
def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def auth_header(api_key: str) -> str:
    """AlimTalk `AUTH` header: base64 of the API key ("api-key" -> "YXBpLWtleQ==")."""
    return _b64(api_key)


def sms_secret(sms_api_key: str, sms_auth_key: str) -> str:
    """SMS v2 `secret` header: base64 of "<sms_api_key>&<sms_auth_key>"."""
    return _b64(f"{sms_api_key}&{sms_auth_key}")


# -- values in answers -----------------------------------------------------------------------
def vendor_code(body: Any, *, keys: Sequence[str] = ("code", "resultCode")) -> str | None:
    """IWINV's result code as a canonical string: from the first of `keys` present in a JSON
    object, or from a bare-number body (`501`). Integral floats and numeric strings count;
    anything else is no code at all."""
    value: Any = body
    if isinstance(body, Mapping):
        value = None
        for key in keys:
            if body.get(key) is not None:
                value = body[key]
                break
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    # at most 100 digits: int() refuses more than 4300, and no code has more than a few
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,100}", value.strip()):
        return str(int(value.strip()))
    return None


def vendor_id(value: Any) -> str:
    """seqNo/requestNo as a string: a whole number or a non-blank string; "" otherwise."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if math.isfinite(value) and value.is_integer() else ""
    return str(value).strip()


def plain_text(value: Any) -> str:
    """A history field as one line ("" when absent)."""
    return " ".join(str(value).split()) if value is not None else ""


def kst(moment: datetime) -> str:
    """ "yyyy-MM-dd HH:mm:ss" in Korea time, the date format of both APIs (naive datetimes
    are taken as UTC)."""
    return to_kst(moment).strftime("%Y-%m-%d %H:%M:%S")


def parse_balance(body: Any, *, provider_id: str) -> Balance:
    amount = number(body.get("charge"), commas=True) if isinstance(body, Mapping) else None
    if amount is None:
        raise bad_response(provider_id, "the balance answer has no numeric charge")
    return Balance(provider_id, amount, "KRW", None, dict(body))


# -- answers and errors (pure) ---------------------------------------------------------------
def _vendor_text(api: Api, code: str, body: Any, secrets: Sequence[str]) -> str:
    """IWINV's own message for a code (one line, no secrets), else our description of it."""
    vendor = None
    if isinstance(body, Mapping):
        vendor = body.get("message") or body.get("messgae")  # IWINV misspells it at times
    if vendor:
        return one_line(str(vendor), secrets=secrets)
    return (_ALIMTALK_TEXT if api == "alimtalk" else _SMS_TEXT).get(code, "")


def error_for_code(
    api: Api,
    code: str,
    body: Any,
    *,
    provider_id: str,
    http_status: int,
    secrets: Sequence[str] = (),
    wait: float | None = None,
) -> ProviderError:
    """IWINV's business code (in a 2xx or 4xx answer) -> our error taxonomy."""
    text = _vendor_text(api, code, body, secrets)
    message = f"{_LABEL[api]} code {code}" + (f": {text}" if text else "")
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": http_status,
        "provider_code": code,
    }
    if code in _IP_CODES[api]:
        return ProviderError(
            message,
            code="IP_NOT_ALLOWED",
            hint="register this machine's public IP address as an allowed sending IP "
            "in the IWINV console",
            **common,
        )
    if code in _AUTH_CODES[api]:
        return AuthenticationError(message, hint=_auth_hint(api, provider_id), **common)
    if code in _BALANCE_CODES[api]:
        return ProviderError(
            message,
            code="INSUFFICIENT_BALANCE",
            hint="recharge the IWINV account (kmsg providers balance)",
            **common,
        )
    if code in _SENDER_CODES[api]:  # said as SOLAPI's 1062 is
        return ProviderError(
            message,
            code="SENDER_NOT_REGISTERED",
            hint="register the sender number in the IWINV console, or send --from a number "
            "registered there",
            **common,
        )
    if api == "alimtalk":
        if code in _TEMPLATE_CODES:
            return ProviderError(
                message,
                code="TEMPLATE_NOT_FOUND",
                hint="check the template code and that IWINV approved the template",
                **common,
            )
        if code == "429":
            return ProviderError(
                message, code="RATE_LIMITED", retryable=True, retry_after=wait, **common
            )
        if code.isdigit() and int(code) >= 500 and code not in _ALIMTALK_FINAL_5XX:
            return ProviderError(message, code="PROVIDER_ERROR", retryable=True, **common)
    elif code in _SMS_RETRYABLE:
        return ProviderError(message, code="PROVIDER_ERROR", retryable=True, **common)
    return ProviderError(message, code="PROVIDER_REJECTED", **common)


def _auth_hint(api: Api, provider_id: str) -> str:
    keys = "api_key" if api == "alimtalk" else "sms_api_key and sms_auth_key"
    return f"check {keys} of provider '{provider_id}' (kmsg config validate)"


def answer_error(
    api: Api,
    response: httpx.Response,
    *,
    provider_id: str,
    sends: bool,
    secrets: Sequence[str] = (),
) -> ProviderError | None:
    """What went wrong with an answer, or None when IWINV says it succeeded.

    Order matters: HTTP 429 and 5xx are retryable whatever the body says (IWINV's business
    codes 502–517 are not gateway errors, and a gateway's page is not IWINV's code); then
    IWINV's own code decides; then the HTTP status; a 2xx without any code is a bad answer
    that may still have been accepted (an unknown outcome for sends).
    """
    status = response.status_code
    body = json_or_none(response)
    keys = ("code", "resultCode") if api == "alimtalk" else ("resultCode", "code")
    code = vendor_code(body, keys=keys)
    wait = retry_after(response)
    common: dict[str, Any] = {
        "provider_id": provider_id,
        "http_status": status,
        "provider_code": code,
    }
    label = f"{_LABEL[api]} HTTP {status}"
    excerpt = one_line(body_excerpt(response), secrets=secrets)
    if status == 429 or status >= 500:
        if code is not None:
            detail = f"code {code} {_vendor_text(api, code, body, secrets)}".rstrip()
        elif body is None:
            detail = f"non-JSON body: {excerpt}" if excerpt else "empty body"
        else:
            detail = excerpt
        return status_error(f"{label}: {detail}", status, retry_after=wait, **common)
    if code is not None and (not response.is_success or code != SUCCESS[api]):
        return error_for_code(
            api,
            code,
            body,
            provider_id=provider_id,
            http_status=status,
            secrets=secrets,
            wait=wait,
        )
    if not response.is_success:
        message = f"{label}: {excerpt}" if excerpt else label
        if status in (401, 403):
            return AuthenticationError(message, hint=_auth_hint(api, provider_id), **common)
        hint = wrong_address_hint(response, provider_id)
        return ProviderError(message, code="PROVIDER_REJECTED", hint=hint, **common)
    if code is None:
        return ProviderError(
            f"{label} without a result code: {excerpt or 'empty body'}"
            + ("; the messages may or may not have been accepted" if sends else ""),
            code="PROVIDER_BAD_RESPONSE",
            retryable=not sends,
            outcome_unknown=sends,
            **common,
        )
    return None


def check_answer(
    api: Api,
    response: httpx.Response,
    *,
    provider_id: str,
    sends: bool,
    secrets: Sequence[str] = (),
) -> Any:
    """The decoded body of a successful answer; raises the error `answer_error` finds."""
    error = answer_error(api, response, provider_id=provider_id, sends=sends, secrets=secrets)
    if error is not None:
        raise error
    return json_or_none(response)


# -- the connection --------------------------------------------------------------------------
class IwinvClient(Connection):
    """Requests to both IWINV hosts with their own credentials. Error texts never carry a
    key or an encoded header (`secrets`)."""

    def __init__(
        self, provider_id: str, settings: Mapping[str, Any], http: httpx.Client | None
    ) -> None:
        super().__init__(provider_id, settings, http)
        self.api_key = text_setting(settings, "api_key")
        self._sms_api_key = text_setting(settings, "sms_api_key")
        self._sms_auth_key = text_setting(settings, "sms_auth_key")
        self.alimtalk_base_url = url_setting(settings, "iwinv", "alimtalk_base_url")
        self.sms_base_url = url_setting(settings, "iwinv", "sms_base_url")
        secrets = [self.api_key, self._sms_api_key, self._sms_auth_key]
        if self.api_key:
            secrets.append(auth_header(self.api_key))
        if self._sms_api_key and self._sms_auth_key:
            secrets.append(sms_secret(self._sms_api_key, self._sms_auth_key))
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)

    @property
    def has_sms(self) -> bool:
        return bool(self._sms_api_key and self._sms_auth_key)

    def _headers(self, api: Api) -> dict[str, str]:
        if api == "alimtalk":
            return {"AUTH": auth_header(self.api_key or "")}
        return {"secret": sms_secret(self._sms_api_key or "", self._sms_auth_key or "")}

    def _url(self, api: Api, path: str) -> str:
        return (self.alimtalk_base_url if api == "alimtalk" else self.sms_base_url) + path

    def _request(
        self, method: str, api: Api, path: str, *, sends: bool, **content: Any
    ) -> httpx.Response:
        """One request to one host with its credentials (`content`: JSON, form, files)."""
        headers = self._headers(api)
        if "json_body" in content:
            headers["Content-Type"] = JSON_TYPE
        return send_request(
            self.http,
            method,
            self._url(api, path),
            provider_id=self.provider_id,
            sends=sends,
            headers=headers,
            **content,
        )

    def post(self, api: Api, path: str, body: Any, *, sends: bool) -> httpx.Response:
        """POST a JSON body to one host."""
        return self._request("POST", api, path, sends=sends, json_body=body)

    def get(self, api: Api, path: str) -> httpx.Response:
        """GET without a body from one host (the AlimTalk balance, IWINV-AT-CHARGE)."""
        return self._request("GET", api, path, sends=False)

    def post_form(
        self, path: str, fields: Mapping[str, str], files: Mapping[str, Any]
    ) -> httpx.Response:
        """POST a multipart send (MMS) to the SMS host."""
        return self._request("POST", "sms", path, sends=True, form=fields, files=files)

    def answer(self, api: Api, response: httpx.Response, *, sends: bool) -> Any:
        """The decoded body of a successful answer; raises what went wrong otherwise."""
        return check_answer(
            api, response, provider_id=self.provider_id, sends=sends, secrets=self.secrets
        )
