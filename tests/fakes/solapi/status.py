"""What the fake SOLAPI shows of stored messages: their progress over time, group
summaries, the list API, and cancelling a scheduled group (docs/vendors/solapi.md).

Progress (computed at read time from the clock, timeline fixed at registration)
- ``progress_after = (a, b)`` are both offsets from the start (registration, or the scheduled
  time): 2000/"PENDING" → 3000/"SENDING" at start+a (dateProcessed) → final/"COMPLETE" at
  start+max(a, b) (dateReported; dateReceived only for 4000).
- A cancelled scheduled message has status "CANCELED" and statusCode "CANCELED"; cancelling
  refunds its price. Cancelling a group that is not (or no longer) scheduled → 400
  ``InvalidGroupStatus``.
- Group status: "FAILED" (nothing accepted), "CANCELED" (shown as the documented word chosen
  in ``cancel``), "SCHEDULED", "COMPLETE" (every accepted message final), else "SENDING".

List API
- Newest first (reverse registration order). ``startKey`` is the messageId the page starts at
  (inclusive; unknown → empty page); ``nextKey`` is the first id of the next page or null.
- Unknown query parameters, a repeated single-valued parameter, bad limit (not an integer or
  < 1), bad dateType, bad/naive dates, or criteria/cond/value of unequal length, with a cond
  other than "eq" or an unsupported criterion → 400 ``ValidationError``. Dates are inclusive.
- Query strings are decoded like any form: a literal '+' in a date becomes a space (and then
  fails to parse), so clients must percent-encode it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tests.fakes.solapi.state import (
    KAKAO_TYPES,
    PRICES,
    STATUS_MESSAGES,
    ApiError,
    Group,
    Stored,
    bad_request,
    iso,
    normalize_number,
    parse_iso,
)

MAX_LIST_LIMIT = 500
_LIST_PARAMS = frozenset(
    {
        "messageId",
        "messageIds",
        "groupId",
        "to",
        "from",
        "type",
        "statusCode",
        "startDate",
        "endDate",
        "dateType",
        "criteria",
        "cond",
        "value",
        "limit",
        "startKey",
    }
)
_CRITERIA = frozenset({"messageId", "groupId", "to", "from", "type", "statusCode"})
_UNCHANGED_BY_VIEW = frozenset({"messageId", "groupId", "to", "from"})


class Listing:
    """Views of stored messages and groups, the list API and cancelling (mixed into
    ``FakeSolapi``)."""

    account_id: str
    balance: float
    _groups: dict[str, Group]
    _messages: dict[str, Stored]
    _sequence: dict[str, int]

    def _view(self, stored: Stored, now: float) -> dict[str, Any]:
        # A copy the caller owns: the nested objects (customFields, lists, options) copied,
        # the many plain values shared (what copy.deepcopy of the whole costs per listed item).
        view = {key: _owned(value) for key, value in stored.base.items()}
        if not stored.accepted or stored.test:
            return view
        if stored.canceled_at is not None:
            view.update(
                status="CANCELED",
                statusCode="CANCELED",
                statusMessage=STATUS_MESSAGES["CANCELED"],
                reason=STATUS_MESSAGES["CANCELED"],
                dateUpdated=iso(stored.canceled_at),
            )
            return view
        if now < stored.t_processed:
            return view
        network = (None, None) if view["type"] in KAKAO_TYPES else ("SKT", "SKT")
        view.update(
            status="SENDING",
            statusCode="3000",
            statusMessage=STATUS_MESSAGES["3000"],
            dateProcessed=iso(stored.t_processed),
            dateUpdated=iso(stored.t_processed),
            networkName=network[0],
            networkCode=network[1],
        )
        if now < stored.t_final:
            return view
        code = stored.final_code
        message = STATUS_MESSAGES.get(code, f"전송 실패 ({code})")
        view.update(
            status="COMPLETE",
            statusCode=code,
            statusMessage=message,
            reason=None if code == "4000" else message,
            dateReported=iso(stored.t_final),
            dateReceived=iso(stored.t_final) if code == "4000" else None,
            dateUpdated=iso(stored.t_final),
        )
        if stored.failover_type is not None:
            view.update(type=stored.failover_type, replacement=True)
        return view

    def _group_view(self, group: Group, now: float) -> dict[str, Any]:
        stored = [self._messages[m] for m in group.message_ids]
        accepted = [s for s in stored if s.accepted]
        views = [self._view(s, now) for s in accepted]
        final = [v for v in views if v["status"] == "COMPLETE"]
        success = sum(1 for v in final if v["statusCode"] == "4000")
        canceled = sum(1 for v in views if v["status"] == "CANCELED")
        count = {
            "total": len(stored),
            "sentTotal": len(final),
            "sentFailed": len(final) - success,
            "sentSuccess": success,
            "sentPending": len(views) - len(final) - canceled,
            "sentReplacement": sum(1 for v in final if v["replacement"]),
            "refund": canceled,
            "registeredFailed": len(stored) - len(accepted),
            "registeredSuccess": len(accepted),
        }
        for_charge: dict[str, dict[str, int]] = {t.lower(): {} for t in PRICES}
        for s in accepted:
            bucket = for_charge[s.base["type"].lower()]
            bucket[s.base["country"]] = bucket.get(s.base["country"], 0) + 1
        requested = float(sum(s.price for s in accepted))
        if not accepted:
            status = "FAILED"
        elif group.canceled_at is not None:
            status = "CANCELED"
        elif group.scheduled is not None and now < group.scheduled:
            status = "SCHEDULED"
        elif len(final) == len(views):
            status = "COMPLETE"
        else:
            status = "SENDING"
        processed = [s.t_processed for s in accepted if now >= s.t_processed]
        updates = [group.created, *(parse_iso(v["dateUpdated"]) or 0.0 for v in views)]
        if group.canceled_at is not None:
            updates.append(group.canceled_at)
        completed = max(s.t_final for s in accepted) if status == "COMPLETE" and accepted else None
        return {
            "count": count,
            "countForCharge": for_charge,
            "balance": {
                "requested": requested,
                "replacement": 0.0,
                "refund": group.refunded,
                "sum": requested - group.refunded,
            },
            "point": {"requested": 0.0, "replacement": 0.0, "refund": 0.0, "sum": 0.0},
            "app": {"profit": {}, "appId": group.app_id},
            "log": [],
            "status": status,
            "allowDuplicates": group.allow_duplicates,
            "isRefunded": group.refunded > 0,
            "accountId": self.account_id,
            "masterAccountId": None,
            "apiVersion": "4",
            "groupId": group.group_id,
            "price": {},
            "dateCreated": iso(group.created),
            "dateUpdated": iso(max(updates)),
            "scheduledDate": iso(group.scheduled),
            "dateSent": iso(min(processed)) if processed else None,
            "dateCompleted": iso(completed),
        }

    def _list(
        self, query: dict[str, list[str]], now: float, group_id: str | None = None
    ) -> dict[str, Any]:
        unknown = sorted(set(query) - _LIST_PARAMS)
        if unknown:
            raise bad_request(f"unknown query parameter(s): {', '.join(unknown)}")

        def single(name: str) -> str | None:
            values = [v for v in query.get(name, []) if v != ""]
            if len(values) > 1:
                raise bad_request(f"{name} may be given only once")
            return values[0] if values else None

        conditions: list[tuple[str, set[str]]] = []
        ids = [v for v in query.get("messageId", []) + query.get("messageIds", []) if v]
        if ids:
            conditions.append(("messageId", set(ids)))
        for name in ("groupId", "to", "from", "type", "statusCode"):
            value = single(name)
            if value is not None:
                conditions.append((name, {value}))
        if group_id is not None:
            conditions.append(("groupId", {group_id}))
        criteria, cond, values = single("criteria"), single("cond"), single("value")
        if criteria is not None or cond is not None or values is not None:
            names = (criteria or "").split(",")
            conds = (cond or "").split(",")
            wanted = (values or "").split(",")
            if not (len(names) == len(conds) == len(wanted)):
                raise bad_request("criteria, cond and value must have the same length")
            for name, op, value in zip(names, conds, wanted, strict=True):
                if name not in _CRITERIA:
                    raise bad_request(f"unsupported criteria {name!r}")
                if op != "eq":
                    raise bad_request(f"unsupported cond {op!r} (only 'eq')")
                conditions.append((name, {value}))
        date_type = (single("dateType") or "CREATED").upper()
        if date_type not in ("CREATED", "UPDATED"):
            raise bad_request("dateType must be CREATED or UPDATED")
        bounds: list[float | None] = []
        for name in ("startDate", "endDate"):
            raw = single(name)
            parsed = None if raw is None else parse_iso(raw)
            if raw is not None and parsed is None:
                raise bad_request(f"{name} must be an ISO 8601 date with a timezone offset")
            bounds.append(parsed)
        limit_raw = single("limit")
        try:
            limit = 20 if limit_raw is None else int(limit_raw)
        except ValueError:
            raise bad_request("limit must be an integer") from None
        if limit < 1:
            raise bad_request("limit must be at least 1")
        limit = min(limit, MAX_LIST_LIMIT)
        start_key = single("startKey")

        date_field = "dateCreated" if date_type == "CREATED" else "dateUpdated"
        conditions = [
            (name, {normalize_number(v) for v in allowed} if name in ("to", "from") else allowed)
            for name, allowed in conditions
        ]
        # What a view never changes (its type may become the failover's) is checked on the
        # stored message first: a lookup by recipient builds views of that recipient's only.
        fixed = [(name, allowed) for name, allowed in conditions if name in _UNCHANGED_BY_VIEW]
        matched: list[dict[str, Any]] = []
        if ids:  # look the ids up directly (newest first) instead of scanning every message
            known = sorted(
                (i for i in set(ids) if i in self._messages), key=self._sequence.__getitem__
            )
            candidates = [self._messages[i] for i in reversed(known)]
        else:
            candidates = list(reversed(self._messages.values()))
        for stored in candidates:
            if not all(_matches(stored.base, name, allowed) for name, allowed in fixed):
                continue
            view = self._view(stored, now)
            if not all(_matches(view, name, allowed) for name, allowed in conditions):
                continue
            moment = parse_iso(view[date_field])
            if bounds[0] is not None and (moment is None or moment < bounds[0]):
                continue
            if bounds[1] is not None and (moment is None or moment > bounds[1]):
                continue
            matched.append(view)
        position = 0
        if start_key is not None:
            keys = [v["messageId"] for v in matched]
            position = keys.index(start_key) if start_key in keys else len(matched)
        page = matched[position : position + limit]
        following = matched[position + limit : position + limit + 1]
        return {
            "startKey": start_key,
            "nextKey": following[0]["messageId"] if following else None,
            "limit": limit,
            "messageList": {v["messageId"]: v for v in page},
        }

    def _cancel(self, group: Group, now: float) -> dict[str, Any]:
        if group.scheduled is None or group.canceled_at is not None or now >= group.scheduled:
            raise ApiError(400, "InvalidGroupStatus", f"group {group.group_id} is not scheduled")
        group.canceled_at = now
        for message_id in group.message_ids:
            stored = self._messages[message_id]
            if stored.accepted:
                stored.canceled_at = now
                group.refunded += stored.price
                self.balance += stored.price
        return self._group_view(group, now)


def _matches(view: Mapping[str, Any], name: str, allowed: set[str]) -> bool:
    """`allowed`: for `to` and `from`, numbers already normalized."""
    return str(view.get(name)) in allowed


def _owned(value: Any) -> Any:
    if type(value) is dict or type(value) is list:
        if not value:
            return type(value)()
        if type(value) is dict and all(type(v) is str for v in value.values()):
            return dict(value)  # customFields: strings only, a copy is a deep copy
        return copy.deepcopy(value)
    return value
