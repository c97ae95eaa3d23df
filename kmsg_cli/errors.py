"""Typed errors of kmsg, and the exit code each one maps to.

The core raises these; the CLI turns them into one line and an exit code at one place
(`kmsg_cli.cli.boundary`). Nothing else decides exit codes.

    KmsgError                      (code, message, hint, field, value)
     ├── InvalidInput        exit 2  a message field is wrong: phone, text, variable, date, ...
     ├── UsageError          exit 2  flags that cannot be combined, a missing option
     ├── ConfigError         exit 2  bad or missing config, profile or credential
     ├── StoreError          exit 2  the database cannot be opened, written or understood
     ├── UnsupportedFeature  exit 4  the chosen provider cannot do what was asked (NO_PROVIDER, ...)
     ├── ProviderError       exit 3  provider or network failure (http_status, provider_code,
     │    │                          retry_after, retryable, outcome_unknown)
     │    └── AuthenticationError exit 2  the provider refused our credentials
     ├── NotRecorded         exit 6  the provider ACCEPTED messages, the database could not
     │                               record it: never "try again" (docs/recovery.md)
     └── Interrupted         exit 130 Ctrl-C / SIGTERM after a clean shutdown

Every error carries a stable upper-case `code` (for scripts and `--json`) and a message that
names the field and value at fault. Secrets never go into an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

EXIT_OK = 0
EXIT_BUG = 1
EXIT_INPUT = 2
EXIT_PROVIDER = 3
EXIT_UNSUPPORTED = 4
EXIT_PARTIAL = 5
EXIT_NOT_RECORDED = 6
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: the reader of the output went away (`| head`)

# Refusals that concern the account, not the message: every later request to that provider
# would be refused the same way, and the refused messages surely did not go out
# (docs/recovery.md, "Account refusals").
ACCOUNT_REFUSALS = frozenset({"AUTHENTICATION_FAILED", "INSUFFICIENT_BALANCE"})

# What to do about a message a provider refused, by kmsg's code, whichever vendor refused it
# (a vendor's refusal of a whole request may carry a hint of its own instead).
REFUSAL_HINTS = {
    "SENDER_NOT_REGISTERED": "register the sender number with the provider, or send --from a "
    "number registered there (kmsg providers doctor checks the default sender)",
    "TEMPLATE_NOT_FOUND": "check the template code (kmsg providers templates lists them)",
}


# `scheme://user:password@host` (the password runs to the last '@' before the path) and secret
# query parameters (`?password=...`, `&key=...`): a third-party message (libpq's "in URI: ...",
# httpx's "for url ...") may quote a URL whole; kmsg never shows such a value.
# Compiled on first use: most runs print nothing that could hold a URL or a query string.
@cache
def _url_secrets() -> tuple[re.Pattern[str], re.Pattern[str]]:
    url_password = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^/\s]*)@")
    secret_query = re.compile(
        r"(?i)([?&](?:password|passwd|pass|pwd|secret|token|key|apikey|api_key)=)([^&#\s'\"]*)"
    )
    return url_password, secret_query


def mask_url_passwords(text: str, mask: str = "****") -> str:
    """`text` with every URL password and secret query parameter replaced by `mask`."""
    if "://" not in text and "=" not in text:
        return text

    def hidden(match: re.Match[str]) -> bool:
        value = match.group(2)
        return not value or value == mask or set(value) == {"*"}

    url_password, secret_query = _url_secrets()
    text = url_password.sub(lambda m: m.group(0) if hidden(m) else f"{m.group(1)}{mask}@", text)
    return secret_query.sub(lambda m: m.group(0) if hidden(m) else f"{m.group(1)}{mask}", text)


# Configured secrets (API keys and secrets), in every form a vendor may echo them: as given,
# percent-encoded (a form body or query string) and base64 (a Basic header). Filled when a
# provider client is built (`register_secret`); `redact_secrets` applies them to any text from
# outside kmsg before it reaches output, logs, errors or the database (docs/recovery.md).
SECRET_MASK = "****"
MIN_SECRET_LENGTH = 4
_secret_forms: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a configured secret so that `redact_secrets` hides it, in all its forms."""
    global _secret_pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    import base64
    from urllib.parse import quote, quote_plus

    raw = value.encode("utf-8")
    forms = {value, quote(value, safe=""), quote_plus(value)}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update((text, text.rstrip("=")))
    forms = {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
    if forms <= _secret_forms:
        return
    _secret_forms.update(forms)
    # Longest first, so that a form containing another is replaced whole.
    ordered = sorted(_secret_forms, key=len, reverse=True)
    _secret_pattern = re.compile("|".join(re.escape(form) for form in ordered))


def redact_secrets(text: str, mask: str = SECRET_MASK) -> str:
    """`text` with every registered secret (and its URL/base64 forms) replaced by `mask`."""
    if _secret_pattern is None or not text:
        return text
    return _secret_pattern.sub(mask, text)


def scrub(text: str) -> str:
    """Vendor or third-party text made safe to show or store: registered secrets and URL
    passwords masked (docs/recovery.md)."""
    return mask_url_passwords(redact_secrets(text))


def printable(text: str) -> str:
    """`text` with control characters escaped (`\\n`, `\\x1b`): one line, inert on a terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def quoted(text: str, limit: int = 80) -> str:
    """`text` for a message: in single quotes, printable, at most `limit` characters."""
    shown = printable(text)
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return f"'{shown}'"


class KmsgError(Exception):
    """Base of every error kmsg reports on purpose."""

    exit_code: int = EXIT_BUG
    default_code: str = "ERROR"

    def __init_subclass__(cls, *, code: str | None = None, exit: int | None = None) -> None:
        # `class X(KmsgError, code="X_CODE", exit=EXIT_INPUT)`: the code and exit status a
        # raise of X reports unless it names its own code (docs/cli.md, exit codes).
        super().__init_subclass__()
        if code is not None:
            cls.default_code = code
        if exit is not None:
            cls.exit_code = exit

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        field: str | None = None,
        value: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        # One line, no secrets, whoever raised it: vendor text included.
        message = printable(scrub(message))
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = printable(scrub(hint)) if hint else hint
        self.field = printable(field) if field else field
        self.value = scrub(value) if value else value
        self.details: dict[str, Any] = map_strings(dict(details or {}), scrub)

    def to_dict(self) -> dict[str, Any]:
        """The error as the `error` member of the `--json` envelope."""
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        if self.value is not None:
            data["value"] = self.value
        if self.hint:
            data["hint"] = self.hint
        if self.details:
            data["details"] = self.details
        return data

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """`value` with `change` applied to every string in it (in dicts and lists too): details
    and JSON documents may quote a vendor's answer."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [map_strings(item, change) for item in value]
    return value


class InvalidInput(KmsgError, code="INVALID_INPUT", exit=EXIT_INPUT):
    """A message field or other user input is invalid; nothing was sent."""


class UsageError(KmsgError, code="USAGE", exit=EXIT_INPUT):
    """Options that do not make sense together, or a required option is missing."""


class ConfigError(KmsgError, code="CONFIG", exit=EXIT_INPUT):
    """The configuration file, profile or a credential is missing or wrong."""


class StoreError(KmsgError, code="DATABASE", exit=EXIT_INPUT):
    """The database could not be opened, created or used."""


class UnsupportedFeature(KmsgError, code="UNSUPPORTED", exit=EXIT_UNSUPPORTED):
    """The provider (or every provider of the profile) cannot do what was asked."""


class ProviderError(KmsgError, code="PROVIDER_ERROR", exit=EXIT_PROVIDER):
    """A provider or the network failed.

    `retryable` says whether trying again may succeed; `outcome_unknown` says the request may
    have been accepted (a read timeout after sending) and must not be re-sent blindly.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        provider_id: str | None = None,
        http_status: int | None = None,
        provider_code: str | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
        outcome_unknown: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint, details=details)
        self.provider_id = provider_id
        self.http_status = http_status
        self.provider_code = provider_code
        self.retry_after = retry_after
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        for key in ("provider_id", "http_status", "provider_code", "retry_after"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        data["retryable"] = self.retryable
        if self.outcome_unknown:
            data["outcome_unknown"] = True
        return data


class AuthenticationError(ProviderError, code="AUTHENTICATION_FAILED", exit=EXIT_INPUT):
    """The provider rejected the credentials: fix the config, do not retry."""


class NotRecorded(KmsgError, code="SENT_NOT_RECORDED", exit=EXIT_NOT_RECORDED):
    """Messages were accepted by the provider but the database could not record it, even
    after retrying. Sending them again would deliver them twice; `details["accepted"]` lists
    them (message id, provider, provider message id)."""


class Interrupted(KmsgError, code="INTERRUPTED", exit=EXIT_INTERRUPTED):
    """The user interrupted the run; what was done is recorded and a re-run resumes."""
