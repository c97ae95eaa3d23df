"""Logging: warnings by default, -v INFO, -vv DEBUG with HTTP request lines; always to the
current stderr. Secrets never reach a log line: Authorization values are redacted."""

from __future__ import annotations

import logging
import re
import sys

_SECRET = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never break a command
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {text}"
        return f"{record.levelname.lower()} {record.name}: {text}"


def setup_logging(verbose: int, *, quiet: bool = False) -> None:
    """Default: kmsg warnings only. -v: INFO. -vv: DEBUG and httpx request lines."""
    handler = StderrHandler()
    handler.setFormatter(_Formatter())
    handler.addFilter(RedactingFilter())
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    kmsg = logging.getLogger("kmsg")
    kmsg.handlers[:] = [handler]
    kmsg.setLevel(level)
    kmsg.propagate = False
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO if verbose >= 2 and name == "httpx" else logging.WARNING)
