"""Cancelling a scheduled SOLAPI group (docs/vendors/solapi.md, SOLAPI-SCHED-CANCEL).

`DELETE /messages/v4/groups/{groupId}/schedule` takes back a whole group, and only while the
group is SCHEDULED. What the group becomes is documented two ways (2026: PENDING again, so it
can be edited and scheduled anew; 2022 and the Node SDK: FAILED), so the reply's `status`
decides: PENDING, FAILED or CANCELED (the word a cancelled group is listed with) confirm the
cancel; any other status, or an answer without one, does not.

Which error SOLAPI answers for a group that is no longer scheduled is not documented. On a
refusal kmsg reads the group (`GET /messages/v4/groups/{groupId}`) and tells from its status
whether it was too late (sending or sent) or whether nothing was scheduled any more.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from kmsg_cli.errors import AuthenticationError, ProviderError
from kmsg_cli.models import CancelAnswer
from kmsg_cli.providers._http import json_or_none
from kmsg_cli.providers.solapi.client import SolapiClient

# Group statuses that mean "nothing of this group will be sent": after our cancel they confirm
# it; found after a refused cancel they mean nothing was scheduled any more.
NOT_SENDING = frozenset({"PENDING", "FAILED", "CANCELED", "CANCELLED"})
STILL_SCHEDULED = "SCHEDULED"


def group_path(group_id: str) -> str:
    return f"/messages/v4/groups/{quote(group_id, safe='')}"


def cancel_group(client: SolapiClient, group_id: str) -> CancelAnswer:
    """Cancel one scheduled group; see the module docstring for how the answer is read."""
    try:
        response = client.request("DELETE", group_path(group_id) + "/schedule", sends=False)
    except ProviderError as error:
        if isinstance(error, AuthenticationError) or error.retryable or not error.http_status:
            raise
        return _refused(client, group_id, error)
    body = json_or_none(response)
    status = _status(body)
    if status in NOT_SENDING:
        return CancelAnswer(
            group_id, True, message=f"SOLAPI cancelled group {group_id}", provider_code=status
        )
    shown = status or "no status"
    return CancelAnswer(
        group_id,
        False,
        code="UNCONFIRMED",
        message=f"SOLAPI answered the cancel of group {group_id} with {shown}",
        provider_code=status,
    )


def _refused(client: SolapiClient, group_id: str, error: ProviderError) -> CancelAnswer:
    """A refused cancel, classified by what the group is now (see the module docstring)."""
    if error.http_status == 404:
        return CancelAnswer(
            group_id,
            False,
            code="NOT_SCHEDULED",
            message=f"SOLAPI has no group {group_id}",
            provider_code=error.provider_code,
        )
    try:
        status = _status(json_or_none(client.request("GET", group_path(group_id), sends=False)))
    except ProviderError:
        status = None
    if status in NOT_SENDING:
        code, why = "NOT_SCHEDULED", f"group {group_id} is {status}: nothing is scheduled"
    elif status == STILL_SCHEDULED or status is None:
        code, why = "VENDOR_REFUSED", error.message
    else:
        code, why = "TOO_LATE", f"group {group_id} is already {status}"
    return CancelAnswer(group_id, False, code=code, message=why, provider_code=error.provider_code)


def _status(body: object) -> str | None:
    if not isinstance(body, Mapping):
        return None
    value = body.get("status")
    if value is None:
        return None
    return str(value).strip().upper() or None
