"""Logging: warnings by default, -v INFO, -vv DEBUG with HTTP request lines; always to the
current stderr. Secrets never reach a log line: credential headers (Authorization, IWINV's
AUTH and secret), credential query/form parameters (Aligo's key/apikey/senderkey, ...) and URL
passwords are redacted."""

from __future__ import annotations

import logging
import re
import sys
from functools import cache

from kmsg_cli.errors import mask_url_passwords, redact_secrets

_REDACTED = "<redacted>"
# `Authorization: HMAC-SHA256 apiKey=..., signature=...` (the whole value), IWINV's `AUTH:` and
# `secret:` headers; also as `name=value` and as a quoted dict item.
_HEADER = (
    r"(?i)(?<![\w-])(['\"]?(?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?"
    r"|['\"]?(?:auth|secret|x-api-key|cookie)['\"]?\s*:\s*['\"]?)[^'\"\n]+"
)
# Query strings, form bodies and signature parameters: `key=...&user_id=...`, `apiKey=...`.
_PARAM_NAMES = (
    r"key|apikey|api_key|api-key|api_secret|secret|secret_key|sms_api_key|sms_auth_key"
    r"|senderkey|sender_key|password|passwd|token|access_token"
)
_PARAM = rf"(?i)(?<![\w-])((?:{_PARAM_NAMES})=)[^&\s'\",;}}]+"
_QUOTED_PARAM = rf"(?i)((['\"])(?:{_PARAM_NAMES})\2\s*:\s*(['\"]))[^'\"]*"


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """The patterns above, compiled when the first log line is redacted (most runs log none)."""
    return tuple(re.compile(pattern) for pattern in (_HEADER, _PARAM, _QUOTED_PARAM))


def redact(text: str) -> str:
    """`text` with configured secrets, credential headers, parameters and URL passwords
    replaced by <redacted>."""
    text = redact_secrets(text, _REDACTED)
    for pattern in _patterns():
        text = pattern.sub(rf"\1{_REDACTED}", text)
    return mask_url_passwords(text, _REDACTED)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
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
