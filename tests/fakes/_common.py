"""Text and time helpers the fake vendors share: CP949 byte counts, Korea time and the
``#{name}`` placeholder of AlimTalk templates."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")  # Korea has had no daylight saving since 1988
PLACEHOLDER = re.compile(r"#\{([^{}]+)\}")


def cp949_len(text: str) -> int:
    """Byte length in CP949; characters outside CP949 count 2 bytes."""
    total = 0
    for char in text:
        try:
            total += len(char.encode("cp949"))
        except UnicodeEncodeError:
            total += 2
    return total


def kst_text(ts: float | None) -> str:
    """'YYYY-MM-DD HH:MM:SS' in Korea time, or '' when unknown."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, KST).strftime("%Y-%m-%d %H:%M:%S")
