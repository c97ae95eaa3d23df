"""Which failures of which channel earn the one SMS/LMS fallback (docs/channels.md, "Fallback").

A message sent with a fallback text that ends FAILED gets one SMS/LMS from kmsg when the
failure means "not reachable on this channel":

| channel       | kmsg falls back on                                                       |
|---------------|--------------------------------------------------------------------------|
| AlimTalk      | SOLAPI 3104, 3107; a text with 미사용자; IWINV text with 카카오 and 미사용 |
| Brand Message | 3102 (not a channel friend), 3104, 3107; a text with 미사용자             |
| RCS           | handset and network failures: 3031, 3040-3046, 3050, 3051, 3056-3058       |

plus the codes a profile adds (`non_kakao_codes` for AlimTalk and Brand Message,
`non_rcs_codes` for RCS). Voice, fax and Naver messages have no kmsg fallback.
"""

from __future__ import annotations

from collections.abc import Sequence

from kmsg_cli.models import MessageType

API_FALLBACK = frozenset({"ALIMTALK", "BMS", "RCS"})
"""Channel families whose failed messages kmsg itself falls back on."""

NON_KAKAO_CODES = {"solapi": ("3104", "3107"), "mock": ("3104", "3107")}
BMS_CODES = ("3102", "3104", "3107")
RCS_CODES = (
    "3031",  # cannot be sent
    "3040",  # timed out
    "3041",  # handset busy
    "3042",  # no coverage
    "3043",  # handset switched off
    "3044",  # handset storage full
    "3045",  # handset suspended
    "3046",  # other handset trouble
    "3050",  # the handset cannot take the service
    "3051",  # the callee cannot be reached
    "3056",  # failed in the radio network
    "3057",  # failed between network and handset
    "3058",  # no route
)


def falls_back(message_type: str) -> bool:
    """Whether a failed message of this type may get kmsg's fallback at all."""
    try:
        return MessageType(message_type).channel in API_FALLBACK
    except ValueError:
        return False


def unreachable(
    message_type: str,
    provider_type: str,
    code: str | None,
    text: str | None,
    *,
    kakao_codes: Sequence[str] = (),
    rcs_codes: Sequence[str] = (),
) -> bool:
    """Whether a failure (vendor `code` and `text`) means "not reachable on this channel"."""
    if not falls_back(message_type):
        return False
    channel = MessageType(message_type).channel
    code = code or ""
    if channel == "RCS":
        return bool(code) and (code in RCS_CODES or code in rcs_codes)
    if channel == "BMS" and code in BMS_CODES:
        return True
    return is_non_kakao_user(provider_type, code, text, kakao_codes)


def is_non_kakao_user(
    provider_type: str, code: str | None, message: str | None, extra_codes: Sequence[str] = ()
) -> bool:
    """SOLAPI 3104/3107 or text with 미사용자; IWINV text with 카카오 and 미사용; extra codes."""
    code = code or ""
    text = message or ""
    if code and (code in NON_KAKAO_CODES.get(provider_type, ()) or code in extra_codes):
        return True
    if "미사용자" in text:
        return True
    combined = f"{code} {text}"
    return provider_type == "iwinv" and "카카오" in combined and "미사용" in combined
