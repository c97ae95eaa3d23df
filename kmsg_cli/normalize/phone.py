"""Phone numbers: a recipient or a sender as typed or pasted, to its national digits.

The numbering plan and the errors for the usual mistakes (a leading 0 that a spreadsheet
dropped, +82 without its '+', an 010 number one digit short) are in docs/messages.md,
"Phone numbers".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import Recipient
from kmsg_cli.normalize._common import invalid as _error

_PHONE_HINT = "use a Korean number such as 010-1234-5678, or +<country><number> for international"
_SENDER_HINT = (
    "use a registered Korean sender number such as 02-1234-5678, 1588-1234 or 010-1234-5678"
)
# Separators people type or paste inside phone numbers (NFKC has already folded full-width forms).
_PHONE_SEPARATORS = re.compile(r"[\s\-.()\u2010-\u2015\u2212]")
# The national numbering plan (docs/messages.md, "Phone numbers"): 010 numbers have exactly
# eight digits after the prefix; the older 011/016/017/018/019 ranges seven or eight.
_MOBILE = re.compile(r"010\d{8}|01[16789]\d{7,8}")
_KOREAN = re.compile(
    r"""
      010\d{8}            # mobile
    | 01[16789]\d{7,8}    # older mobile ranges
    | 02\d{7,8}           # Seoul
    | 0[3-6][1-5]\d{7,8}  # other area codes
    | 070\d{8}            # internet phone
    | 050[2-8]\d{7,8}     # personal (virtual) numbers
    | 1[568]\d{6}         # representative numbers 15xx/16xx/18xx-xxxx
    """,
    re.VERBOSE,
)
_REPRESENTATIVE = re.compile(r"1[568]\d{6}")
# ITU calling codes; the set is prefix-free, so at most one length matches.
_CALLING_CODES = frozenset(
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 "
    "351 352 353 358 380 420 852 853 855 856 880 886 960 966 971 972 973 974 975 976 977 "
    "992 994 995 996 998".split()
)


# How Koreans write a number down: area or mobile prefix, then three or four digits, then four;
# representative numbers as two groups of four. Only for showing a stored number to a person.
_GROUPED = re.compile(
    r"(02|050[2-8]|0\d{2})(\d{3,4})(\d{4})"
    r"|(1[568]\d{2})(\d{4})"
)


def format_phone(number: str) -> str:
    """`01012345678` as `010-1234-5678`, `0212345678` as `02-1234-5678`, `15881234` as
    `1588-1234`; anything else (international, unusual) as it is. Tables for people only:
    TSV, CSV and JSON keep the digits kmsg stores."""
    found = _GROUPED.fullmatch(number) if _KOREAN.fullmatch(number) else None
    if found is None:
        return number
    return "-".join(group for group in found.groups() if group)


def _clean(raw: str) -> str:
    return _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))


def _korean_from_rest(rest: str) -> str:
    """National form of the digits after +82 / 0082 ('10...' or an already 0-led '010...')."""
    if _REPRESENTATIVE.fullmatch(rest):
        return rest
    return rest if rest.startswith("0") else "0" + rest


def _parse_phone(raw: str, field: str, hint: str) -> Recipient:
    shown = raw.strip()

    def invalid(
        reason: str = "is not a valid Korean phone number", why: str = hint
    ) -> InvalidInput:
        return _error(
            "INVALID_PHONE", f"{_quote(shown)} {reason}", field=field, value=shown, hint=why
        )

    if raw.isascii():  # the common case: NFKC changes no ASCII, and ASCII digits are decimal
        digits = _PHONE_SEPARATORS.sub("", raw)
    elif any(ch.isdigit() and not ch.isdecimal() for ch in raw):  # ², ①: NFKC makes them digits
        raise invalid("contains a character that is not a decimal digit")
    else:
        digits = _clean(raw)
    if not digits:
        raise invalid("is empty, not a phone number")
    international = None
    if digits.startswith("+"):
        international = digits[1:]
    elif digits.startswith("00"):  # 00 + country, including 0082
        international = digits[2:]
    if international is not None:
        if not international.isascii() or not international.isdigit():
            raise invalid("is not a valid phone number")
        code = next(
            (international[:n] for n in (1, 2, 3) if international[:n] in _CALLING_CODES), None
        )
        if code is None:
            raise invalid("has an unknown country code")
        rest = international[len(code) :]
        if code == "82":
            digits = _korean_from_rest(rest)
        else:
            if not 8 <= len(international) <= 15 or not rest:
                raise invalid(f"is not a valid phone number for country code +{code}")
            return Recipient(number=rest, country=code)
    if not (digits.isascii() and _KOREAN.fullmatch(digits)):
        raise _not_korean(digits, invalid)
    return Recipient(number=digits, country="82")


@cache
def _scientific() -> re.Pattern[str]:
    """A number as Excel writes a long one in General format (1.01235E+10)."""
    return re.compile(r"\d+[eE]\+?\d{1,2}")  # the point is gone with the separators


@cache
def _zero_stripped() -> re.Pattern[str]:
    """A leading zero dropped by a spreadsheet: 1012345678 was 010-1234-5678, 212345678
    02-1234-5678 (compiled when an invalid number is first explained)."""
    return re.compile(r"10\d{8}|1[16789]\d{7,8}|2\d{7,8}|[3-6][1-5]\d{7,8}|70\d{8}")


def _not_korean(digits: str, invalid: Callable[..., InvalidInput]) -> InvalidInput:
    """The error for digits that are no Korean number, with the likeliest reason."""
    if _scientific().fullmatch(digits):
        return invalid(
            "is a number in scientific notation, not a phone number: its digits are lost",
            "Excel shows long numbers as 1.01235E+10 in General format and a CSV keeps only "
            "that: format the phone column as Text in the workbook and export again",
        )
    if not digits.isascii() or not digits.isdigit():
        return invalid("is not a valid Korean phone number")
    if _zero_stripped().fullmatch(digits):
        return invalid(
            f"is not a valid Korean phone number: its leading 0 is missing (0{digits}?)",
            "Excel drops the leading 0 of numbers in General format: format the column as "
            "Text, or write the numbers with dashes (010-1234-5678), and export again",
        )
    if digits.startswith("82") and _KOREAN.fullmatch(_korean_from_rest(digits[2:])):
        return invalid(
            f"is not a valid Korean phone number: is it +{digits} without its '+'?",
            "write international numbers with their '+' (+82 10-1234-5678); a spreadsheet "
            "may have dropped it: format the column as Text",
        )
    if digits.startswith("010") and len(digits) != 11:
        return invalid(
            f"is not a valid mobile number: 010 numbers have 11 digits, not {len(digits)}"
        )
    if digits.startswith("01") and len(digits) in (10, 11):
        return invalid("is not a valid mobile number: mobile prefixes are 010, 011 and 016-019")
    return invalid("is not a valid Korean phone number")


def normalize_phone(raw: str, *, field: str = "to") -> Recipient:
    """A recipient number: Korean (`01012345678`, country "82") or `+<country><number>`."""
    return _parse_phone(raw, field, _PHONE_HINT)


def is_mobile(recipient: Recipient) -> bool:
    """True for a Korean mobile number (01X), the only kind that reliably receives texts."""
    return recipient.is_korean and _MOBILE.fullmatch(recipient.number) is not None


def normalize_sender(raw: str, *, field: str = "from") -> str:
    """A sender number: any Korean form (mobile, landline, 070, 050X, 15xx), national digits."""
    recipient = _parse_phone(raw, field, _SENDER_HINT)
    if not recipient.is_korean:
        shown = raw.strip()
        raise _error(
            "INVALID_PHONE",
            f"{_quote(shown)} is not a Korean number; senders must be registered Korean numbers",
            field=field,
            value=shown,
            hint=_SENDER_HINT,
        )
    return recipient.number
