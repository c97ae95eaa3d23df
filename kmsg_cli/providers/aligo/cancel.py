"""Cancelling a reserved Aligo send (docs/vendors/aligo.md, ALIGO-SMS-CANCEL and
ALIGO-KAKAO-CANCEL).

One Aligo request (one `mid`) is cancelled whole: `POST /cancel/` on the SMS host, or
`POST /akv10/cancel/` on the Kakao host, with the `mid`. Aligo's samples allow a cancel only
up to 5 minutes before the reserved time (ALIGO-CANCEL-CUTOFF).

The SMS host answers `result_code` 1 for a cancel, or one of its documented refusals
(ALIGO-SMS-CANCEL-CODES): -803 no reservation waits under that mid, -804 inside the 5-minute
cut-off, -805 already sent. The Kakao host answers `code` 0 for a cancel; its refusal codes
were not found, so any other code is a refusal with Aligo's own message. Credential errors
raise, as for every other call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kmsg_cli.models import CancelAnswer
from kmsg_cli.providers._common import one_line
from kmsg_cli.providers.aligo.client import (
    AUTH_CODES,
    AligoClient,
    split_provider_message_id,
    vendor_code,
    vendor_error,
)

CANCEL_LEAD_S = 300.0
SMS_CANCEL_PATH = "/cancel/"
KAKAO_CANCEL_PATH = "/akv10/cancel/"
_SMS_REFUSALS = {"-803": "NOT_SCHEDULED", "-804": "TOO_LATE", "-805": "TOO_LATE"}
_HOSTS = {
    "sms": ("sms", SMS_CANCEL_PATH, "result_code", "1"),
    "kakao": ("kakao", KAKAO_CANCEL_PATH, "code", "0"),
}


def unit_of(provider_message_id: str) -> str | None:
    """`sms:<mid>` or `kakao:<mid>`: the request that holds the message; None if foreign."""
    parts = split_provider_message_id(provider_message_id)
    if parts is None or parts[0] not in _HOSTS or not parts[1]:
        return None
    return f"{parts[0]}:{parts[1]}"


def cancel_request(client: AligoClient, unit: str) -> CancelAnswer:
    """Cancel one reserved request (`unit` as `unit_of` makes it)."""
    kind, _, mid = unit.partition(":")
    if kind not in _HOSTS or not mid:
        raise ValueError(f"not an Aligo cancel unit: {unit!r}")
    host, path, key, success = _HOSTS[kind]
    body = client.call(host, path, {"mid": mid}, sends=False)
    code = vendor_code(body.get(key))
    if code == success:
        when = one_line(body.get("cancel_date"))
        suffix = f" at {when}" if when else ""
        return CancelAnswer(unit, True, message=f"Aligo cancelled request {mid}{suffix}")
    if code in AUTH_CODES:
        raise vendor_error(code, body.get("message"), provider_id=client.provider_id)
    reason = _SMS_REFUSALS.get(code or "", "VENDOR_REFUSED") if kind == "sms" else "VENDOR_REFUSED"
    return CancelAnswer(
        unit, False, code=reason, message=_refusal(mid, code, body), provider_code=code
    )


def _refusal(mid: str, code: str | None, body: Mapping[str, Any]) -> str:
    text = one_line(body.get("message"))
    return f"Aligo refused to cancel request {mid} ({code or 'no code'})" + (
        f": {text}" if text else ""
    )
