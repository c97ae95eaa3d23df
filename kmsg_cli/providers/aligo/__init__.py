"""Aligo over its form APIs (the SMS host and the Kakao host), on an injected `httpx.Client`.

One package, split along Aligo's own seams: `sms` and `kakao` hold what is particular to
each host (schedules, templates, histories), `plan` groups messages into as few requests as
Aligo allows, `client` holds what both hosts share (credentials, codes, errors, message ids)
and `provider` (`AligoProvider`) puts them together. The vendor's rules kmsg relies on are in
docs/vendors/aligo.md.
"""

from kmsg_cli.providers.aligo.provider import AligoProvider

__all__ = ["AligoProvider"]
