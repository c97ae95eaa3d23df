"""The fake SOLAPI REST server (api.solapi.com) for tests and benchmarks, on 127.0.0.1.

Built from the vendor's rules in docs/vendors/solapi.md; where they are silent, the choices
are written down in the module that makes them: ``auth`` (request signing), ``messages``
(registration), ``status`` (progress, groups, the list API), ``cancel`` (scheduled groups),
``storage`` (files). Server
life, the request log and fault injection come from ``tests.fakes._server``.

- Routing happens before authentication: an unknown path (or a known path with another
  method) is 404 ``NotFound`` even without credentials.
- Faults (``script`` entries and random faults) only apply to requests whose path is in
  ``fault_paths`` (default: the two send endpoints; None = every path). Injected 500/503/429
  answer ``{errorCode, errorMessage}`` JSON; an unknown script entry answers 500
  ``FakeMisconfigured``. Malformed HTTP / unsupported methods answer JSON too.
- Extras beyond the vendor's API: ``GET /messages/v4/groups/{id}/messages`` (list API
  restricted to the group), request-log keys ``response`` and ``events`` (headers are
  lower-cased), ``events`` list (``native_failover`` entries), ``all_messages()``,
  ``group()``, ``add_file()``, ``authenticate()``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from tests.fakes._server import (
    FakeServer,
    Incoming,
    Inspected,
    Reply,
)
from tests.fakes.solapi.auth import Authentication
from tests.fakes.solapi.cancel import Cancelling
from tests.fakes.solapi.messages import Registration
from tests.fakes.solapi.state import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_CREDENTIALS,
    DEFAULT_PF_ID,
    DEFAULT_SENDERS,
    DEFAULT_TEMPLATES,
    SEND_PATHS,
    ApiError,
    Group,
    Stored,
    bad_request,
)
from tests.fakes.solapi.storage import Files

_INJECTED = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests"}


class FakeSolapi(Authentication, Registration, Cancelling, Files, FakeServer):
    """The fake server. Attributes set by the constructor may be changed at runtime."""

    send_paths = SEND_PATHS

    def __init__(
        self,
        *,
        credentials: Mapping[str, str] | None = None,
        senders: Iterable[str] | None = None,
        pf_ids: Iterable[str] | None = None,
        templates: Mapping[str, str] | None = None,
        balance: float = 100000.0,
        point: float = 0.0,
        blocked: Iterable[str] | None = None,
        final_codes: Mapping[str, str] | None = None,
        kakao_non_users: Iterable[str] | None = None,
        progress_after: tuple[float, float] = (2.0, 5.0),
        account_id: str = DEFAULT_ACCOUNT_ID,
        test_mode: bool = False,
        **server: Any,
    ) -> None:
        super().__init__(**server)  # host, port, clock, latency, faults: see FakeServer
        self.credentials: dict[str, str] = dict(
            DEFAULT_CREDENTIALS if credentials is None else credentials
        )
        self.senders: set[str] = set(DEFAULT_SENDERS if senders is None else senders)
        self.pf_ids: set[str] = set({DEFAULT_PF_ID} if pf_ids is None else pf_ids)
        self.templates: dict[str, str] = dict(DEFAULT_TEMPLATES if templates is None else templates)
        # a template's review status (SOLAPI-ATA-TEMPLATE-GET); absent means APPROVED
        self.template_statuses: dict[str, str] = {}
        self.balance = float(balance)
        self.point = float(point)
        self.blocked: set[str] = set(blocked or ())
        self.final_codes: dict[str, str] = dict(final_codes or {})
        self.kakao_non_users: set[str] = set(kakao_non_users or ())
        self.progress_after: tuple[float, float] = (
            float(progress_after[0]),
            float(progress_after[1]),
        )
        self.account_id = account_id
        self.test_mode = test_mode
        self.events: list[dict[str, Any]] = []
        self._id_rng = random.Random()
        self._messages: dict[str, Stored] = {}
        self._sequence: dict[str, int] = {}  # registration order, for id lookups without scans
        self._groups: dict[str, Group] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._seen_signatures: dict[str, float] = {}
        self._init_channels()  # brands, templates, talk ids, RCS non-users: see ``channels``

    # ------------------------------------------------------------------ inspection helpers

    def accepted_messages(self) -> list[dict[str, Any]]:
        """Every accepted (registered) message, in registration order, as the list API shows it."""
        with self._lock:
            now = self.clock()
            return [self._view(s, now) for s in self._messages.values() if s.accepted]

    def all_messages(self) -> list[dict[str, Any]]:
        """Accepted and rejected messages, in registration order."""
        with self._lock:
            now = self.clock()
            return [self._view(s, now) for s in self._messages.values()]

    def group(self, group_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._groups.get(group_id)
            return None if found is None else self._group_view(found, self.clock())

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.events.clear()

    # ------------------------------------------------------------------ the server's hooks

    def inspect(self, request: Incoming) -> Inspected:
        body, body_error = request.json_body()
        log = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": body,
            "events": [],
        }
        return Inspected(log, request.path, (body, body_error))

    def answer(self, request: Incoming, context: Any, record: dict[str, Any]) -> Reply:
        body, body_error = context
        try:
            payload = self._dispatch(
                request.method,
                request.path,
                request.query,
                request.headers,
                body,
                body_error,
                record,
            )
        except ApiError as error:
            return Reply.json(error.status, error.payload())
        return Reply.json(200, payload)

    def injected_error(self, status: int) -> Reply:
        payload = {"errorCode": _INJECTED[status], "errorMessage": f"injected fault {status}"}
        return Reply.json(status, payload)

    def internal_error(self, message: str) -> Reply:
        return Reply.json(500, {"errorCode": "InternalError", "errorMessage": message})

    def misconfigured(self, fault: str) -> Reply:
        return Reply.json(
            500, {"errorCode": "FakeMisconfigured", "errorMessage": f"bad fault {fault!r}"}
        )

    def malformed(self, status: int, message: str) -> Reply:
        code = "BadRequest" if status < 500 else "NotImplemented"
        return Reply.json(status, {"errorCode": code, "errorMessage": message})

    # ------------------------------------------------------------------ routing

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
        body_error: str | None,
        record: dict[str, Any],
    ) -> Any:
        group_match = re.fullmatch(r"/messages/v4/groups/([^/]+)(/messages|/schedule)?", path)
        template_match = re.fullmatch(r"/kakao/v2/templates/([^/]+)", path)
        channel_match = re.fullmatch(r"/kakao/v2/channels/([^/]+)", path)
        route: str | None = None
        if method == "POST" and path == "/messages/v4/send-many/detail":
            route = "send-many"
        elif method == "POST" and path == "/messages/v4/send":
            route = "send"
        elif method == "GET" and path in ("/messages/v4/list", "/messages/v4/list-old"):
            route = "list"
        elif method == "POST" and path == "/storage/v1/files":
            route = "files"
        elif method == "GET" and path == "/cash/v1/balance":
            route = "balance"
        elif method == "GET" and path == "/senderid/v1/numbers/active":
            route = "senders"
        elif method == "GET" and path == "/kakao/v2/templates":
            route = "templates"
        elif method == "GET" and template_match is not None:
            route = "template"
        elif method == "GET" and channel_match is not None:
            route = "channel"
        elif group_match is not None:
            suffix = group_match.group(2)
            if method == "GET" and suffix is None:
                route = "group"
            elif method == "GET" and suffix == "/messages":
                route = "group-messages"
            elif method == "DELETE" and suffix == "/schedule":
                route = "cancel"
        if route is None:
            raise ApiError(404, "NotFound", f"{method} {path} does not exist")

        now = self.clock()
        self._authenticate(headers.get("authorization"), now)
        if method == "POST" and body_error is not None:
            raise bad_request(body_error)

        if route == "send-many":
            return self._send_many(body, now, record)
        if route == "send":
            return self._send_one(body, now, record)
        if route == "list":
            return self._list(query, now)
        if route == "files":
            return self._upload(body)
        if route == "balance":
            return self._balance_view()
        if route == "senders":  # SOLAPI-SENDERID-ACTIVE: the numbers, nothing else
            return sorted(self.senders)
        if route == "templates":
            return self._template_list(query)
        if route == "template":
            assert template_match is not None
            return self._template_view(unquote(template_match.group(1)))
        if route == "channel":
            assert channel_match is not None
            return self._channel_view(unquote(channel_match.group(1)))
        assert group_match is not None
        group = self._groups.get(group_match.group(1))
        if group is None:
            raise ApiError(404, "NotFound", f"group {group_match.group(1)} does not exist")
        if route == "group":
            return self._group_view(group, now)
        if route == "group-messages":
            return self._list(query, now, group_id=group.group_id)
        return self._cancel_schedule(group, now)

    def _template_view(self, template_id: str) -> dict[str, Any]:
        """SOLAPI-ATA-TEMPLATE-GET: the fields the official SDK's schema requires, and
        `content`. What SOLAPI answers for an id it does not know is not documented
        (**unverified**): this fake answers 404 NotFound, as for any unknown resource."""
        content = self.templates.get(template_id)
        if content is None:
            raise ApiError(404, "NotFound", f"template {template_id} does not exist")
        return {
            "templateId": template_id,
            "name": template_id,
            "content": content,
            "status": self.template_statuses.get(template_id, "APPROVED"),
            "messageType": "BA",
            "emphasizeType": "NONE",
            "securityFlag": False,
            "channelId": DEFAULT_PF_ID,
        }

    def _template_list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """SOLAPI-ATA-TEMPLATE-LIST: `{limit, templateList, startKey, nextKey}`, filtered by
        `channelId`, `templateId` and `status` (eq). `limit` 20 by default, at most 500. How
        SOLAPI orders the list and whether `startKey` names the first item of the page are not
        documented (**unverified**): this fake orders by templateId, a page starts at
        `startKey` and `nextKey` is the first id of the next page (null after the last)."""
        one = {key: values[-1] for key, values in query.items() if values}
        raw_limit = one.get("limit", "20")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 500:
            raise bad_request(f"limit must be 1 to 500, not {raw_limit!r}")
        limit = int(raw_limit)
        views = [self._template_view(code) for code in sorted(self.templates)]
        for key in ("channelId", "templateId", "status"):
            if key in one:
                views = [view for view in views if view[key] == one[key]]
        start = one.get("startKey")
        if start is not None:
            views = [view for view in views if view["templateId"] >= start]
        page, rest = views[:limit], views[limit:]
        return {
            "limit": limit,
            "templateList": page,
            "startKey": start,
            "nextKey": rest[0]["templateId"] if rest else None,
        }

    def _channel_view(self, channel_id: str) -> dict[str, Any]:
        """SOLAPI-KAKAO-CHANNEL-GET: a channel of the account. For one it does not have, this
        fake answers 404 NotFound, as for any unknown resource (**unverified**)."""
        if channel_id not in self.pf_ids:
            raise ApiError(404, "NotFound", f"channel {channel_id} does not exist")
        return {
            "channelId": channel_id,
            "searchId": "@kmsg-test",
            "accountId": self.account_id,
            "phoneNumber": "01000000000",
            "sharedAccountIds": [],
            "dateCreated": "2026-01-05T03:00:00.000Z",
            "dateUpdated": "2026-01-05T03:00:00.000Z",
        }

    def _balance_view(self) -> dict[str, Any]:
        return {
            "balance": self.balance,
            "point": self.point,
            "deposit": 0,
            "lowBalanceAlert": {
                "enabled": False,
                "notificationBalance": 0,
                "currentBalance": self.balance,
                "balances": [],
                "channels": [],
            },
            "minimumCash": 0,
            "rechargeTo": 0,
            "rechargeTryCount": 0,
            "autoRecharge": 0,
            "accountId": self.account_id,
        }
