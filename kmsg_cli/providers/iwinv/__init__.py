"""IWINV over its REST APIs (the AlimTalk host and the SMS v2 host), on an injected
`httpx.Client`.

One package, split along IWINV's own seam, its two APIs: `alimtalk` and `sms` build their
requests and read their histories, `client` holds what both share (hosts, auth headers,
result codes and errors), `refs` turns IWINV's request ids into kmsg provider message ids and
back, `templates` reads registered AlimTalk templates (their variables and status), and
`provider` (`IwinvProvider`) puts them together. The vendor's rules kmsg relies on
are in docs/vendors/iwinv.md.
"""

from kmsg_cli.providers.iwinv.provider import IwinvProvider

__all__ = ["IwinvProvider"]
