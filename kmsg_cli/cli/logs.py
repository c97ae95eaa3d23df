"""Logging for -v / -vv. Secrets never reach a log line: Authorization is redacted."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(verbose: int) -> None:
    """-v: kmsg at INFO; -vv: kmsg at DEBUG and httpx request lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    kmsg = logging.getLogger("kmsg")
    kmsg.handlers[:] = [handler]
    kmsg.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    kmsg.propagate = False
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO if verbose >= 2 and name == "httpx" else logging.WARNING)
