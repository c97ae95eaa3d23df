"""SOLAPI over its REST API (no SDK), on an injected `httpx.Client`.

One package, split along SOLAPI's own seams: `client` (HMAC signing, requests, errors),
`messages` (send-many payloads and their answers), `storage` (image uploads), `status`
(message list lookups, status codes, balance) and `provider` (`SolapiProvider`, which puts
them together). The vendor's rules kmsg relies on are in docs/vendors/solapi.md.
"""

from kmsg_cli.providers.solapi.provider import SolapiProvider

__all__ = ["SolapiProvider"]
