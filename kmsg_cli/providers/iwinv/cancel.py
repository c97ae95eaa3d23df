"""Cancelling a reserved IWINV AlimTalk send (docs/vendors/iwinv.md, IWINV-AT-CANCEL).

`POST {alimtalk}/api/cancel/` with `{seqNo}` cancels one reserved request, every recipient of
it together; the answer is `{code, message}` with code 200 for a cancel. IWINV's refusal codes
and any cut-off before the reserved time were not found: a refusal is reported with IWINV's
own code and message. No SMS reservation cancel was found (IWINV-SMS-CANCEL), so a reserved
SMS/LMS/MMS cannot be cancelled through kmsg.
"""

from __future__ import annotations

from kmsg_cli.errors import AuthenticationError
from kmsg_cli.models import CancelAnswer
from kmsg_cli.providers.iwinv.client import IwinvClient, answer_error
from kmsg_cli.providers.iwinv.refs import parse_message_id

CANCEL_PATH = "/api/cancel/"
_PREFIX = "at:"


def unit_of(provider_message_id: str) -> str | None:
    """`at:<seqNo>` for an AlimTalk id that carries its seqNo; None for SMS ids (no cancel
    API), AlimTalk ids known by phone and time (their seqNo is in the history) and foreign ids."""
    ref = parse_message_id(provider_message_id)
    if ref is None or ref.api != "alimtalk":
        return None
    return unit_for(ref.request_id)


def unit_for(seq_no: str) -> str | None:
    """`at:<seqNo>` for an ASCII-digit seqNo, else None."""
    return _PREFIX + seq_no if seq_no.isascii() and seq_no.isdigit() else None


def cancel_request(client: IwinvClient, unit: str) -> CancelAnswer:
    """Cancel one reserved AlimTalk request (`unit` as `unit_of` makes it)."""
    seq_no = unit.removeprefix(_PREFIX)
    if not unit.startswith(_PREFIX) or not seq_no.isdigit():
        raise ValueError(f"not an IWINV cancel unit: {unit!r}")
    response = client.post("alimtalk", CANCEL_PATH, {"seqNo": int(seq_no)}, sends=False)
    error = answer_error(
        "alimtalk", response, provider_id=client.provider_id, sends=False, secrets=client.secrets
    )
    if error is None:
        return CancelAnswer(unit, True, message=f"IWINV cancelled AlimTalk request {seq_no}")
    if isinstance(error, AuthenticationError) or error.retryable or error.code == "IP_NOT_ALLOWED":
        raise error
    return CancelAnswer(
        unit,
        False,
        code="VENDOR_REFUSED",
        message=f"IWINV refused to cancel AlimTalk request {seq_no}: {error.message}",
        provider_code=error.provider_code,
    )
