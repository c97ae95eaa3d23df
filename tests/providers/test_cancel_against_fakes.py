"""The vendor clients' `Canceller` side against the fake servers (docs/cancel.md): a reserved
send is cancelled and the vendor shows it so; too late, twice, or unknown is refused with the
documented reason; what has no cancel API says so.

kmsg's clocks follow the fakes' manual clocks, so "later" is a step of the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kmsg_cli.models import DeliveryStatus, Message, MessageType, Recipient
from kmsg_cli.providers.aligo import AligoProvider
from kmsg_cli.providers.base import Canceller
from kmsg_cli.providers.iwinv import IwinvProvider
from kmsg_cli.providers.solapi import SolapiProvider
from tests.fakes import aligo as fake_aligo_pkg
from tests.fakes import iwinv as fake_iwinv_pkg
from tests.fakes import solapi as fake_solapi_pkg
from tests.fakes._server import ManualClock
from tests.fakes.aligo import FakeAligo
from tests.fakes.iwinv import FakeIwinv
from tests.fakes.solapi import FakeSolapi

SENDER = "0212345678"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5) as client:
        yield client


def kmsg_clock(clock: ManualClock) -> Any:
    return lambda: datetime.fromtimestamp(clock(), UTC)


def later(clock: ManualClock, **delta: float) -> datetime:
    return datetime.fromtimestamp(clock(), UTC) + timedelta(**delta)


def sms(mid: str, to: str, at: datetime | None, **extra: Any) -> Message:
    text = str(extra.pop("text", "hello"))
    return Message(mid, MessageType.SMS, Recipient(to), text, len(text), scheduled_at=at, **extra)


# -- SOLAPI ----------------------------------------------------------------------------------------


@pytest.fixture
def solapi_fake(clock: ManualClock) -> Iterator[FakeSolapi]:
    with FakeSolapi(clock=clock) as fake:
        yield fake


@pytest.fixture
def solapi(solapi_fake: FakeSolapi, clock: ManualClock, http: httpx.Client) -> SolapiProvider:
    settings = {
        "api_key": fake_solapi_pkg.DEFAULT_API_KEY,
        "api_secret": fake_solapi_pkg.DEFAULT_API_SECRET,
        "sender": SENDER,
        "base_url": solapi_fake.base_url,
    }
    return SolapiProvider("solapi", settings, http, clock=kmsg_clock(clock))


def test_solapi_cancels_a_scheduled_group_and_reads_the_documented_reply(
    solapi: SolapiProvider, solapi_fake: FakeSolapi, clock: ManualClock
) -> None:
    assert isinstance(solapi, Canceller) and solapi.cancel_lead_s == 0
    at = later(clock, hours=2)
    results = solapi.send([sms("a", "01011112222", at), sms("b", "01033334444", at)])
    group = results[0].group_id
    assert group and {r.group_id for r in results} == {group}
    unit = solapi.cancel_unit(results[0].provider_message_id, group)
    assert unit == group
    assert solapi.cancel_unit(results[0].provider_message_id, None) is None

    answer = solapi.cancel_scheduled(unit)
    assert answer.cancelled and answer.provider_code == "PENDING" and answer.unit == group
    assert {m["status"] for m in solapi_fake.accepted_messages()} == {"CANCELED"}
    delete = [r for r in solapi_fake.requests if r["method"] == "DELETE"]
    assert [r["path"] for r in delete] == [f"/messages/v4/groups/{group}/schedule"]

    again = solapi.cancel_scheduled(unit)
    assert not again.cancelled and again.code == "NOT_SCHEDULED"
    assert "PENDING" in again.message


def test_solapi_2022_reply_failed_also_confirms(
    solapi: SolapiProvider, solapi_fake: FakeSolapi, clock: ManualClock
) -> None:
    solapi_fake.cancel_status = "FAILED"
    (result,) = solapi.send([sms("a", "01011112222", later(clock, hours=1))])
    assert result.group_id is not None
    answer = solapi.cancel_scheduled(result.group_id)
    assert answer.cancelled and answer.provider_code == "FAILED"


def test_solapi_group_already_sending_is_too_late(
    solapi: SolapiProvider, solapi_fake: FakeSolapi, clock: ManualClock
) -> None:
    (result,) = solapi.send([sms("a", "01011112222", later(clock, minutes=10))])
    assert result.group_id is not None
    clock.advance(10 * 60 + 1)  # its time has come: the group is sending
    answer = solapi.cancel_scheduled(result.group_id)
    assert not answer.cancelled and answer.code == "TOO_LATE"
    assert "SENDING" in answer.message and answer.provider_code == "InvalidGroupStatus"
    unknown = solapi.cancel_scheduled("G4VNOSUCHGROUP")
    assert (unknown.cancelled, unknown.code) == (False, "NOT_SCHEDULED")


def test_solapi_reply_without_a_confirming_status_is_not_a_cancel(http: httpx.Client) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"groupId": "G1", "status": "SCHEDULED"})

    client = httpx.Client(transport=httpx.MockTransport(vendor))
    settings = {"api_key": "k" * 16, "api_secret": "s" * 32, "base_url": "http://127.0.0.1:9"}
    answer = SolapiProvider("solapi", settings, client).cancel_scheduled("G1")
    assert (answer.cancelled, answer.code, answer.provider_code) == (
        False,
        "UNCONFIRMED",
        "SCHEDULED",
    )


# -- Aligo -----------------------------------------------------------------------------------------


@pytest.fixture
def aligo_fake(clock: ManualClock) -> Iterator[FakeAligo]:
    with FakeAligo(clock=clock) as fake:
        fake.senders.add(SENDER)
        yield fake


@pytest.fixture
def aligo(aligo_fake: FakeAligo, clock: ManualClock, http: httpx.Client) -> AligoProvider:
    settings = {
        "api_key": aligo_fake.key,
        "user_id": aligo_fake.user_id,
        "sender": SENDER,
        "sender_key": fake_aligo_pkg.DEFAULT_SENDER_KEY,
        "sms_base_url": aligo_fake.sms_base_url,
        "kakao_base_url": aligo_fake.kakao_base_url,
    }
    return AligoProvider("aligo", settings, http, clock=kmsg_clock(clock))


@pytest.mark.rule("ALIGO-SMS-CANCEL")
def test_aligo_sms_reservation_is_cancelled_whole(
    aligo: AligoProvider, aligo_fake: FakeAligo, clock: ManualClock
) -> None:
    assert aligo.cancel_lead_s == 300
    at = later(clock, hours=1)
    results = aligo.send([sms("a", "01011112222", at), sms("b", "01033334444", at)])
    units = {aligo.cancel_unit(r.provider_message_id, r.group_id) for r in results}
    (unit,) = units
    assert unit == f"sms:{results[0].group_id}"
    answer = aligo.cancel_scheduled(unit)
    assert answer.cancelled, answer
    assert all(m["cancelled_at"] == clock() for m in aligo_fake.accepted_messages())
    statuses = aligo.fetch_statuses([r.provider_message_id for r in results])
    assert {u.status for u in statuses.values()} == {DeliveryStatus.CANCELLED}

    again = aligo.cancel_scheduled(unit)
    assert (again.cancelled, again.code, again.provider_code) == (False, "NOT_SCHEDULED", "-803")


@pytest.mark.rule("ALIGO-SMS-CANCEL-CODES")
@pytest.mark.rule("ALIGO-CANCEL-CUTOFF")
@pytest.mark.parametrize(
    ("step", "code", "reason"),
    # Aligo reserves whole minutes (the time is rounded up): +120 s is surely past it
    [(60 * 60 - 200, "-804", "TOO_LATE"), (60 * 60 + 120, "-805", "TOO_LATE")],
    ids=["inside the 5-minute cut-off", "after the reserved time"],
)
def test_aligo_sms_cancel_too_late(
    aligo: AligoProvider, clock: ManualClock, step: float, code: str, reason: str
) -> None:
    (result,) = aligo.send([sms("a", "01011112222", later(clock, hours=1))])
    clock.advance(step)
    unit = aligo.cancel_unit(result.provider_message_id, result.group_id)
    assert unit is not None
    answer = aligo.cancel_scheduled(unit)
    assert (answer.cancelled, answer.provider_code, answer.code) == (False, code, reason)


@pytest.mark.rule("ALIGO-KAKAO-CANCEL")
def test_aligo_alimtalk_reservation_is_cancelled_on_the_kakao_host(
    aligo: AligoProvider, aligo_fake: FakeAligo, clock: ManualClock
) -> None:
    message = Message(
        "k1",
        MessageType.ALIMTALK,
        Recipient("01011112222"),
        "",
        0,
        template_id="TPL01",
        variables={"name": "홍길동", "order": "A-1"},
        scheduled_at=later(clock, hours=1),
    )
    aligo.validate(message)
    (result,) = aligo.send([message])
    unit = aligo.cancel_unit(result.provider_message_id, result.group_id)
    assert unit == f"kakao:{result.group_id}"
    assert aligo.cancel_scheduled(unit).cancelled
    (stored,) = aligo_fake.accepted_messages()
    assert stored["cancelled_at"] == clock()
    assert [r["endpoint"] for r in aligo_fake.requests][-1] == "/akv10/cancel/"
    again = aligo.cancel_scheduled(unit)
    assert (again.cancelled, again.code) == (False, "VENDOR_REFUSED")  # Kakao codes unverified


# -- IWINV -----------------------------------------------------------------------------------------


@pytest.fixture
def iwinv_fake(clock: ManualClock) -> Iterator[FakeIwinv]:
    with FakeIwinv(clock=clock) as fake:
        fake.sms_api_key = fake_iwinv_pkg.DEFAULT_SMS_API_KEY
        fake.sms_auth_key = fake_iwinv_pkg.DEFAULT_SMS_AUTH_KEY
        yield fake


@pytest.fixture
def iwinv(iwinv_fake: FakeIwinv, clock: ManualClock, http: httpx.Client) -> IwinvProvider:
    settings = {
        "api_key": fake_iwinv_pkg.DEFAULT_API_KEY,
        "sms_api_key": fake_iwinv_pkg.DEFAULT_SMS_API_KEY,
        "sms_auth_key": fake_iwinv_pkg.DEFAULT_SMS_AUTH_KEY,
        "sms_company_id": fake_iwinv_pkg.DEFAULT_SMS_COMPANY_ID,
        "sender": SENDER,
        "alimtalk_base_url": iwinv_fake.alimtalk_base_url,
        "sms_base_url": iwinv_fake.sms_base_url,
    }
    return IwinvProvider("iwinv", settings, http, clock=kmsg_clock(clock))


def welcome(mid: str, to: str, at: datetime) -> Message:
    return Message(
        mid,
        MessageType.ALIMTALK,
        Recipient(to),
        "#{name}님 가입을 환영합니다. 인증번호 #{code}",
        0,
        template_id="WELCOME",
        variables={"name": "홍길동", "code": "1234"},
        scheduled_at=at,
    )


@pytest.mark.rule("IWINV-AT-CANCEL")
def test_iwinv_alimtalk_reservation_is_cancelled_by_seq_no(
    iwinv: IwinvProvider, iwinv_fake: FakeIwinv, clock: ManualClock
) -> None:
    assert iwinv.cancel_lead_s == 0
    at = later(clock, hours=1)
    results = iwinv.send([welcome("a", "01011112222", at), welcome("b", "01033334444", at)])
    # the documented send reply has no seqNo (IWINV-AT-REPLY): the ids name phone and time, and
    # the history names the seqNo of the request both recipients belong to
    assert all(r.provider_message_id.startswith("atp:") for r in results)
    units = {iwinv.cancel_unit(r.provider_message_id, r.group_id) for r in results}
    (unit,) = units
    assert unit is not None and unit.startswith("at:") and unit[3:].isdigit()
    balance = iwinv_fake.balance
    answer = iwinv.cancel_scheduled(unit)
    assert answer.cancelled, answer
    assert iwinv_fake.balance == balance + 2 * 8
    updates = iwinv.fetch_statuses([r.provider_message_id for r in results])
    assert {u.provider_status_code for u in updates.values()} == {"CANCEL"}

    again = iwinv.cancel_scheduled(unit)
    assert (again.cancelled, again.code, again.provider_code) == (False, "VENDOR_REFUSED", "400")


def test_iwinv_alimtalk_after_its_time_is_refused(iwinv: IwinvProvider, clock: ManualClock) -> None:
    (result,) = iwinv.send([welcome("a", "01011112222", later(clock, minutes=30))])
    clock.advance(31 * 60)
    unit = iwinv.cancel_unit(result.provider_message_id, result.group_id)
    assert unit is not None
    answer = iwinv.cancel_scheduled(unit)
    assert (answer.cancelled, answer.provider_code) == (False, "400")
    assert "sent" in answer.message or "취소" in answer.message


def test_iwinv_sms_has_no_cancel(iwinv: IwinvProvider, clock: ManualClock) -> None:
    (result,) = iwinv.send([sms("a", "01011112222", later(clock, hours=1))])
    assert result.accepted and result.provider_message_id.startswith("sms:")
    assert iwinv.cancel_unit(result.provider_message_id, result.group_id) is None
