"""The SOLAPI client against the fake server: status lookups over time, reconciliation
lookups by our id, balance and cancelling a scheduled group."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kmsg_cli.errors import ProviderError
from kmsg_cli.models import DeliveryStatus, Failover, Message, MessageType, Recipient
from kmsg_cli.providers.solapi import SolapiProvider
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi, ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSolapi]:
    with FakeSolapi(clock=clock, kakao_non_users={"01044443104"}) as server:
        yield server


@pytest.fixture
def client(fake: FakeSolapi, clock: ManualClock) -> Iterator[SolapiProvider]:
    settings = {
        "api_key": DEFAULT_API_KEY,
        "api_secret": DEFAULT_API_SECRET,
        "sender": "0212345678",
        "kakao_pf_id": "KA01PF0000000000000000000000",
        "base_url": fake.base_url,
    }
    http = httpx.Client(trust_env=False, timeout=5)
    provider = SolapiProvider(
        "solapi", settings, http, clock=lambda: datetime.fromtimestamp(clock(), UTC)
    )
    yield provider
    http.close()


def sms(mid: str, to: str, **extra: object) -> Message:
    return Message(mid, MessageType.SMS, Recipient(to), "hello", 5, **extra)  # type: ignore[arg-type]


def test_statuses_move_from_registered_to_delivered(
    client: SolapiProvider, clock: ManualClock
) -> None:
    results = client.send([sms("a", "01011112222"), sms("b", "01033334444")])
    ids = [r.provider_message_id for r in results]
    assert {u.status for u in client.fetch_statuses(ids).values()} == {DeliveryStatus.PENDING}
    clock.advance(3)
    assert {u.status for u in client.fetch_statuses(ids).values()} == {DeliveryStatus.SENT}
    clock.advance(10)
    updates = client.fetch_statuses(ids)
    assert {u.status for u in updates.values()} == {DeliveryStatus.DELIVERED}
    assert all(
        u.sent_at and u.delivered_at and u.delivered_at >= u.sent_at for u in updates.values()
    )


def test_kakao_non_user_fails_with_3104_unless_native_failover(
    client: SolapiProvider, clock: ManualClock
) -> None:
    plain = Message(
        "k1",
        MessageType.ALIMTALK,
        Recipient("01044443104"),
        "",
        0,
        template_id="TPL_WELCOME",
        variables={"name": "홍", "code": "1"},
    )
    with_fallback = Message(
        "k2",
        MessageType.ALIMTALK,
        Recipient("01044443104"),
        "",
        0,
        template_id="TPL_WELCOME",
        variables={"name": "홍", "code": "1"},
        failover=Failover("홍님 환영합니다", MessageType.SMS),
    )
    results = client.send([plain, with_fallback])
    assert all(r.accepted for r in results)
    clock.advance(60)
    updates = client.fetch_statuses([r.provider_message_id for r in results])
    first, second = (updates[r.provider_message_id] for r in results)
    assert (first.status, first.provider_status_code) == (DeliveryStatus.FAILED, "3104")
    assert second.status is DeliveryStatus.DELIVERED and second.replaced


@pytest.mark.rule("SOLAPI-LIST-DATES", "SOLAPI-LIST-PAGING")
def test_find_sent_matches_our_id_in_custom_fields(
    client: SolapiProvider, clock: ManualClock
) -> None:
    client.send(
        [sms("ours-1", "01055556666"), sms("ours-2", "01055556666"), sms("x", "01077778888")]
    )
    now = datetime.fromtimestamp(clock(), UTC)
    found = client.find_sent(
        "01055556666", since=now - timedelta(minutes=5), until=now + timedelta(minutes=5)
    )
    assert set(found) == {"ours-1", "ours-2"}
    assert all(pid.startswith("M4V") for pid, _ in found.values())


@pytest.mark.rule("SOLAPI-BAL")
def test_balance_reflects_what_was_spent(client: SolapiProvider) -> None:
    before = client.balance().amount
    client.send([sms("a", "01011112222")])
    assert client.balance().amount < before


@pytest.mark.rule("SOLAPI-SCHED-CANCEL")
def test_cancel_a_scheduled_group(
    client: SolapiProvider, fake: FakeSolapi, clock: ManualClock
) -> None:
    later = datetime.fromtimestamp(clock(), UTC) + timedelta(hours=1)
    (result,) = client.send([sms("s", "01011112222", scheduled_at=later)])
    assert result.status is DeliveryStatus.PENDING and result.group_id
    answer = client.cancel_scheduled(result.group_id)
    assert answer.cancelled and answer.provider_code == "PENDING"
    group = fake.group(result.group_id)
    assert group is not None and group["status"] == "PENDING"
    assert {m["status"] for m in fake.accepted_messages()} == {"CANCELED"}


# -- a listing proves absence only when it is complete and well-formed (docs/recovery.md) ------
def _window(clock: ManualClock) -> dict[str, datetime]:
    now = datetime.fromtimestamp(clock(), UTC)
    return {"since": now - timedelta(minutes=5), "until": now + timedelta(minutes=5)}


@pytest.mark.parametrize("fault", ["truncated", "html", "500"])
def test_find_sent_never_answers_with_a_broken_page(
    client: SolapiProvider, fake: FakeSolapi, clock: ManualClock, fault: str
) -> None:
    client.send([sms("ours-1", "01055556666")])
    fake.fault_paths = None  # the list endpoint too
    fake.script = [fault]
    with pytest.raises(ProviderError) as caught:
        client.find_sent("01055556666", **_window(clock))
    assert caught.value.outcome_unknown is False
    assert set(client.find_sent("01055556666", **_window(clock))) == {"ours-1"}  # whole again


def test_find_sent_refuses_a_listing_without_its_message_list(
    client: SolapiProvider, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kmsg_cli.providers.solapi.status as status

    monkeypatch.setattr(status, "json_or_none", lambda response: {"nextKey": None})
    with pytest.raises(ProviderError, match="no messageList"):
        client.find_sent("01055556666", **_window(clock))


def test_find_sent_that_would_stop_at_the_page_cap_is_incomplete(
    client: SolapiProvider, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kmsg_cli.providers.solapi.status as status

    client.send([sms(f"ours-{n}", "01055556666") for n in range(7)])
    monkeypatch.setattr(status, "FIND_PAGE_SIZE", 2)
    monkeypatch.setattr(status, "FIND_MAX_PAGES", 3)  # 6 of the 7 at most
    with pytest.raises(ProviderError) as caught:
        client.find_sent("01055556666", **_window(clock))
    assert caught.value.code == "LOOKUP_INCOMPLETE"
    monkeypatch.setattr(status, "FIND_MAX_PAGES", 4)  # every page read: a proof
    assert len(client.find_sent("01055556666", **_window(clock))) == 7


def test_fetch_statuses_refuses_a_cut_off_answer(client: SolapiProvider, fake: FakeSolapi) -> None:
    (result,) = client.send([sms("a", "01011112222")])
    fake.fault_paths = None
    fake.script = ["truncated"]
    with pytest.raises(ProviderError):
        client.fetch_statuses([result.provider_message_id])


@pytest.mark.rule("SOLAPI-SENDERID-ACTIVE")
def test_a_sender_the_account_does_not_have_is_refused_before_a_bulk_send(
    fake: FakeSolapi, client: SolapiProvider
) -> None:
    from kmsg_cli.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        client.check_sender(sms("m1", "01012345678", sender="029999-9999"))
    error = refused.value
    assert (error.code, error.field, error.value) == ("SENDER_NOT_REGISTERED", "from", "0299999999")
    assert "active: " in error.message and "0212345678" in error.message
    client.check_sender(sms("m2", "01012345678"))  # the default sender is active
    client.check_sender(sms("m3", "01012345678", sender="02-1234-5678"))
    lms = Message("m4", MessageType.LMS, Recipient("01012345678"), "x", 1, sender="0211112222")
    with pytest.raises(InvalidInput):
        client.check_sender(lms)
    # not an SMS: its sender is not SOLAPI's SMS sender, left alone
    client.check_sender(
        Message("m5", MessageType.ALIMTALK, Recipient("01012345678"), "", 0, sender="0299999999")
    )
    listed = [r for r in fake.requests if r["path"] == "/senderid/v1/numbers/active"]
    assert len(listed) == 1  # read once for the client's life
    assert [r for r in fake.requests if r["path"].startswith("/messages")] == []


def test_a_sender_listing_that_fails_leaves_the_sender_to_solapi(
    clock: ManualClock,
) -> None:
    with FakeSolapi(clock=clock, script=["500"] * 10, fault_paths=None) as fake:
        settings = {
            "api_key": DEFAULT_API_KEY,
            "api_secret": DEFAULT_API_SECRET,
            "sender": "0212345678",
            "base_url": fake.base_url,
        }
        with httpx.Client(trust_env=False, timeout=5) as http:
            provider = SolapiProvider("solapi", settings, http, clock=lambda: datetime.now(UTC))
            provider.check_sender(sms("m1", "01012345678", sender="0299999999"))  # no refusal
            provider.check_sender(sms("m2", "01012345678", sender="0288888888"))
        listed = [r for r in fake.requests if "senderid" in r["path"]]
        assert listed and {r["fault"] for r in listed} == {"500"}  # tried, refused, once per run
        assert len(listed) == len([r for r in fake.requests if r["fault"] == "500"])
