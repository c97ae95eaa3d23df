"""Cancelling a scheduled group on the fake SOLAPI (docs/vendors/solapi.md, SOLAPI-SCHED-CANCEL).

- ``DELETE /messages/v4/groups/{groupId}/schedule`` cancels a group that is still scheduled
  (before its time): every accepted message is refunded and the list API shows it with status
  and statusCode "CANCELED" (what a cancelled message looks like is not documented: the fake's
  choice).
- The answer is the group as ``GET /messages/v4/groups/{groupId}`` shows it, whose ``status``
  after a cancel is ``cancel_status``: "PENDING" (the 2026 documents: the group can be edited
  and scheduled again; the default) or "FAILED" (the 2022 documents and the Node SDK). The
  documents disagree, so both are offered.
- A group that is not scheduled any more (sending, sent, cancelled) or never was → HTTP 400
  ``InvalidGroupStatus``. The error SOLAPI gives is **unverified**; kmsg does not rely on it
  (it reads the group to tell "too late" from "nothing scheduled").
"""

from __future__ import annotations

from typing import Any

from tests.fakes.solapi.state import Group
from tests.fakes.solapi.status import Listing

CANCEL_STATUSES = ("PENDING", "FAILED")


class Cancelling(Listing):
    """The cancel endpoint (mixed into ``FakeSolapi`` before ``Listing``)."""

    cancel_status: str = CANCEL_STATUSES[0]

    def _cancel_schedule(self, group: Group, now: float) -> dict[str, Any]:
        self._cancel(group, now)
        return self._group_view(group, now)

    def _group_view(self, group: Group, now: float) -> dict[str, Any]:
        view = super()._group_view(group, now)
        if group.canceled_at is not None and view["status"] == "CANCELED":
            view["status"] = self.cancel_status
        return view
