"""SOLAPI lookups: stored messages through `GET /messages/v4/list` (by message id, or by
recipient and time window), status codes mapped to kmsg statuses, the balance through
`GET /cash/v1/balance`, the active sender numbers through `GET /senderid/v1/numbers/active` and
a Kakao channel through `GET /kakao/v2/channels/{id}` (docs/vendors/solapi.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from kmsg_cli.errors import ProviderError
from kmsg_cli.models import Balance, DeliveryStatus, StatusUpdate, record_fields
from kmsg_cli.providers._common import bad_response, number
from kmsg_cli.providers._http import json_or_none
from kmsg_cli.providers.solapi.client import SolapiClient, utc_date
from kmsg_cli.providers.solapi.messages import custom_id

LIST_PATH = "/messages/v4/list"
BALANCE_PATH = "/cash/v1/balance"
SENDERS_PATH = "/senderid/v1/numbers/active"
CHANNEL_PATH = "/kakao/v2/channels/"
LOOKUP_CHUNK = 100  # message ids per list request
FIND_PAGE_SIZE = 500
FIND_MAX_PAGES = 200  # bounded paging: 100,000 messages at most


# -- status codes (pure) ---------------------------------------------------------------------
TEST_MODE_NOTE = "SOLAPI test mode: the message was accepted for a test and is never delivered"


def test_mode(code: str | None) -> bool:
    """A `TEST…` status code (SOLAPI-STATUS-TEST): a message of a test-mode send."""
    return bool(code) and str(code).upper().startswith("TEST")


def map_status_code(code: str | None) -> DeliveryStatus | None:
    """2000 PENDING, 3000 SENT, 4000 DELIVERED, other 1xxx/2xxx/3xxx FAILED (SOLAPI-STATUS-
    CLASSES); a test-mode code (`TEST1000`, …) UNKNOWN, final: such a message never moves on
    and is never delivered (SOLAPI-STATUS-TEST).

    Anything else (missing, 5xxx) is not understood: None, keep checking.
    """
    if not code:
        return None
    if test_mode(code):
        return DeliveryStatus.UNKNOWN
    if code == "2000":
        return DeliveryStatus.PENDING
    if code == "3000":
        return DeliveryStatus.SENT
    if code == "4000":
        return DeliveryStatus.DELIVERED
    if len(code) == 4 and code.isdigit() and code[0] in "123":
        return DeliveryStatus.FAILED
    return None


def refused_at_registration(item: Mapping[str, Any]) -> bool:
    """A stored message whose statusCode is 1xxx ("error during registration"): SOLAPI lists
    it, but it was refused when sent, never accepted."""
    code = str(item.get("statusCode") or "")
    return len(code) == 4 and code.isdigit() and code.startswith("1")


def _epoch_ms(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


# -- answers (pure) --------------------------------------------------------------------------
def parse_stored_message(
    item: Mapping[str, Any], dates: dict[Any, int | None] | None = None
) -> StatusUpdate:
    """One stored message as a status update. `dates` caches parsed dates across the items
    of one answer (messages sent together share their timestamps); `raw` is `item` itself."""
    get = item.get
    raw_code = get("statusCode")
    code = str(raw_code) if raw_code is not None else None
    status = map_status_code(code)
    if dates is None:
        dates = {}
    processed = _cached_ms(get("dateProcessed"), dates)
    delivered_at = failed_at = None
    if status is DeliveryStatus.DELIVERED:
        delivered_at = _cached_ms(get("dateReceived"), dates) or _cached_ms(
            get("dateReported"), dates
        )
    elif status is DeliveryStatus.FAILED:
        failed_at = (
            _cached_ms(get("dateReported"), dates)
            or _cached_ms(get("dateReceived"), dates)
            or processed
        )
    if status is DeliveryStatus.UNKNOWN and test_mode(code):
        text: str | None = TEST_MODE_NOTE
    else:
        message = get("reason") or get("statusMessage") or get("status")
        text = (str(message) or None) if message else None
    # What StatusUpdate(...) makes, filled in directly: its frozen __init__ sets each field
    # through object.__setattr__, and a listing makes one update per message.
    update: StatusUpdate = object.__new__(StatusUpdate)
    update.__dict__.update(
        provider_message_id=str(get("messageId") or get("_id") or ""),
        status=status,
        provider_status_code=code or None,
        provider_status_message=text,
        sent_at=processed,
        delivered_at=delivered_at,
        failed_at=failed_at,
        replaced=bool(get("replacement")),
        raw=item,
    )
    return update


def _cached_ms(value: Any, dates: dict[Any, int | None]) -> int | None:
    if value is None:
        return None
    try:
        return dates[value]
    except KeyError:
        found = dates[value] = _epoch_ms(value)
        return found
    except TypeError:  # not hashable (a list, an object): not a date either
        return None


# parse_stored_message's fast path must fill exactly StatusUpdate's fields, in order: checked
# once, on a message with nothing in it, when the module loads.
if (
    tuple(vars(parse_stored_message({}))) != tuple(f.name for f in record_fields(StatusUpdate))
    or hasattr(StatusUpdate, "__post_init__")
    or hasattr(StatusUpdate, "__slots__")
):
    raise AssertionError("StatusUpdate changed: update parse_stored_message")


def listed_items(body: Any, *, provider_id: str) -> list[Mapping[str, Any]]:
    """The stored messages of one list answer. A lookup proves nothing unless its answer is
    whole: a body that is not JSON (cut off), without `messageList`, or with an entry that is
    not an object raises PROVIDER_BAD_RESPONSE (docs/recovery.md)."""
    if not isinstance(body, Mapping):
        raise bad_response(provider_id, "the message list answer is not a JSON object")
    listing = body.get("messageList")
    if isinstance(listing, Mapping):
        items: list[Any] = list(listing.values())
    elif isinstance(listing, list):
        items = listing
    else:
        raise bad_response(provider_id, "the message list answer has no messageList")
    if not all(isinstance(item, Mapping) for item in items):
        raise bad_response(provider_id, "the message list holds an entry that is not an object")
    return items


def parse_list_response(body: Any, *, provider_id: str) -> list[StatusUpdate]:
    dates: dict[Any, int | None] = {}
    items = listed_items(body, provider_id=provider_id)
    return [parse_stored_message(item, dates) for item in items]


def parse_balance(body: Any, *, provider_id: str) -> Balance:
    if isinstance(body, Mapping):
        amount = number(body.get("balance"))
        point = number(body.get("point"))
        if amount is None:
            amount = point
        if amount is not None:
            return Balance(provider_id, amount, "KRW", point, dict(body))
    raise bad_response(provider_id, "the balance answer has no numeric balance")


def parse_active_senders(body: Any, *, provider_id: str) -> list[str]:
    """SOLAPI-SENDERID-ACTIVE: a JSON array of digit strings."""
    if isinstance(body, list) and all(isinstance(number, str) for number in body):
        return list(body)
    raise bad_response(provider_id, "the sender number list is not a list of numbers")


# -- lookups ---------------------------------------------------------------------------------
def fetch_statuses(
    client: SolapiClient, provider_message_ids: Sequence[str]
) -> dict[str, StatusUpdate]:
    """Current status of many messages, `LOOKUP_CHUNK` ids per request."""
    found: dict[str, StatusUpdate] = {}
    ids = [i for i in dict.fromkeys(provider_message_ids) if i]
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        # The query is written here, as httpx would encode `params` (SOLAPI-LIST-ENDPOINT:
        # repeated `messageIds`, no indices), and is sent as it is (`_http.with_query`).
        response = client.request("GET", LIST_PATH, query=list_query(chunk), sends=False)
        wanted = set(chunk)
        for update in parse_list_response(json_or_none(response), provider_id=client.provider_id):
            if update.provider_message_id in wanted:
                found[update.provider_message_id] = update
    return found


_PLAIN = re.compile(r"[A-Za-z0-9_.\-~]*")


def list_query(ids: Sequence[str]) -> str:
    """`limit=<n>&messageIds=<id>&...`, form-encoded like `urllib.parse.urlencode`."""
    parts = [f"limit={len(ids)}"]
    parts += ["messageIds=" + (i if _PLAIN.fullmatch(i) else quote_plus(i, safe="")) for i in ids]
    return "&".join(parts)


def find_sent(
    client: SolapiClient, to: str | None, *, since: datetime, until: datetime
) -> dict[str, tuple[str, StatusUpdate]]:
    """Messages accepted in a time window (to `to`, or to anyone), keyed by our id.

    Absence from the result is proof only because the listing is complete: every page read
    and well-formed. A page that is cut off or malformed, a paging key that repeats, or more
    pages than FIND_MAX_PAGES raise PROVIDER_BAD_RESPONSE / LOOKUP_INCOMPLETE instead of a
    partial answer. Messages refused at registration (1xxx) are left out: never accepted."""
    params = [("to", to)] if to else []
    params += [
        ("dateType", "CREATED"),
        ("startDate", utc_date(since)),
        ("endDate", utc_date(until)),
        ("limit", str(FIND_PAGE_SIZE)),
    ]
    found: dict[str, tuple[str, StatusUpdate]] = {}
    start_key: str | None = None
    seen_keys: set[str] = set()
    for _ in range(FIND_MAX_PAGES):
        query = params + ([("startKey", start_key)] if start_key else [])
        response = client.request("GET", LIST_PATH, params=query, sends=False)
        body = json_or_none(response)
        for item in listed_items(body, provider_id=client.provider_id):
            if custom := custom_id(item):
                if refused_at_registration(item):
                    continue  # listed, but SOLAPI never accepted it (1xxx)
                update = parse_stored_message(item)
                found[custom] = (update.provider_message_id, update)
        next_key = body.get("nextKey")
        if not next_key:
            return found
        if not isinstance(next_key, str) or next_key in seen_keys:
            raise bad_response(client.provider_id, "the message list pages do not end")
        seen_keys.add(next_key)
        start_key = next_key
    raise ProviderError(
        f"SOLAPI lists more than {FIND_MAX_PAGES * FIND_PAGE_SIZE:,} messages in the window; "
        "the lookup is incomplete",
        code="LOOKUP_INCOMPLETE",
        provider_id=client.provider_id,
    )


def balance(client: SolapiClient) -> Balance:
    response = client.request("GET", BALANCE_PATH, sends=False)
    return parse_balance(json_or_none(response), provider_id=client.provider_id)


def active_senders(client: SolapiClient) -> list[str]:
    response = client.request("GET", SENDERS_PATH, sends=False)
    return parse_active_senders(json_or_none(response), provider_id=client.provider_id)


def kakao_channel(client: SolapiClient, pf_id: str) -> str:
    """The search id of the Kakao channel `pf_id` (SOLAPI-KAKAO-CHANNEL-GET)."""
    response = client.request("GET", CHANNEL_PATH + quote(pf_id, safe=""), sends=False)
    body = json_or_none(response)
    if isinstance(body, Mapping) and body.get("channelId") == pf_id:
        return str(body.get("searchId") or pf_id)
    raise bad_response(client.provider_id, f"the answer does not describe channel {pf_id}")
