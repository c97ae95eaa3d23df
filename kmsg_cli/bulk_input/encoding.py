"""Which text encoding a spreadsheet export is in (docs/bulk-input.md, "Encodings").

Korean Excel writes CSV in CP949 unless told otherwise, "CSV UTF-8" with a byte order mark,
and "Unicode text" in UTF-16 (with a BOM, tab-separated). A file in none of these (Shift-JIS
from a Japanese Excel, say) often still decodes as CP949 — into rare syllables and Hanja that
would be sent as garbage — so a CP949 guess must also look like Korean text.
"""

from __future__ import annotations

import codecs

from kmsg_cli.bulk_input.raw import SAMPLE, HashingRaw
from kmsg_cli.cp949 import check_sample
from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote

BOM_UTF8 = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Below this many non-ASCII characters a sample says too little to judge.


def check_encoding(encoding: str) -> str:
    """The codec name as given (stripped), or `InvalidInput` INVALID_ENCODING."""
    name = encoding.strip()
    try:
        info = codecs.lookup(name)
        b"to".decode(name, "ignore")  # rejects bytes-to-bytes codecs such as 'hex' or 'base64'
        if info.incrementaldecoder is None:
            raise LookupError(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name, the 'undefined' codec
        raise InvalidInput(
            f"{_quote(encoding)} is not a known text encoding (field 'encoding')",
            code="INVALID_ENCODING",
            field="encoding",
            value=encoding,
            hint="use utf-8, utf-8-sig, cp949, euc-kr or utf-16",
        ) from None
    return name


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}


def detect_encoding(raw: HashingRaw, explicit: str | None) -> str:
    """The encoding to read `raw` with: `explicit` when given, else detected from its start."""
    sample = raw.peek(SAMPLE)
    if explicit is not None:
        # A BOM would otherwise end up in the first header name and hide the `to` column.
        if codecs.lookup(explicit).name == "utf-8" and sample.startswith(BOM_UTF8):
            return "utf-8-sig"
        return explicit
    if sample.startswith(BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(_UTF16_BOMS):
        return "utf-16"  # the codec reads the BOM and picks the byte order
    without_bom = _utf16_without_bom(sample)
    if without_bom is not None:
        return without_bom
    at_eof = len(sample) < SAMPLE
    try:
        # not final unless at EOF: a multi-byte character may be cut at the end of the sample
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=at_eof)
    except UnicodeDecodeError:
        check_sample(sample, at_eof)  # Shift-JIS or GBK read as CP949 is refused
        return "cp949"  # what Korean Excel writes by default
    return "utf-8"


def _utf16_without_bom(sample: bytes) -> str | None:
    """utf-16-le/-be for a sample whose every other byte is NUL (ASCII-heavy UTF-16)."""
    head = sample[:512]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.8 * len(odd) and even.count(0) < 0.2 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.8 * len(even) and odd.count(0) < 0.2 * len(odd):
        return "utf-16-be"
    return None
