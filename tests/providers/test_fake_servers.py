"""The server plumbing every fake vendor shares (tests/fakes/_server.py), proven once per
fake: start/stop, the request log, latency, fault injection (each kind, scripted or random,
and where faults may strike), concurrency and the ``python -m`` entry point. Raw httpx
requests against 127.0.0.1 only; what each vendor answers is tested in test_fake_<vendor>.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes._server import FakeServer, Incoming, Inspected, ManualClock, Reply
from tests.fakes.aligo import DEFAULT_KEY, DEFAULT_USER_ID, FakeAligo
from tests.fakes.aligo_fixtures import kakao_form, render_template, sms_form
from tests.fakes.fixtures import solapi_headers, solapi_signer
from tests.fakes.iwinv import (
    DEFAULT_API_KEY,
    DEFAULT_SMS_API_KEY,
    DEFAULT_SMS_AUTH_KEY,
    FakeIwinv,
)
from tests.fakes.iwinv_fixtures import (
    alimtalk_headers,
    iwinv_auth_header,
    iwinv_secret_header,
    sms_headers,
)
from tests.fakes.solapi import DEFAULT_API_KEY as SOLAPI_KEY
from tests.fakes.solapi import DEFAULT_API_SECRET, FakeSolapi

START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # 12:00 in Korea
SENDER = "01000000000"
PHONE = "01012345678"
TPL01 = "#{name}님 주문이 접수되었습니다. 주문번호 #{order}"

Send = Callable[[Any, httpx.Client, str, float], httpx.Response]


# -- one valid request of each kind, per vendor ------------------------------------------------
def solapi_send(fake: Any, http: httpx.Client, phone: str, timeout: float) -> httpx.Response:
    message = {"to": phone, "from": SENDER, "type": "SMS", "text": "안녕하세요"}
    return http.post(
        fake.base_url + "/messages/v4/send-many/detail",
        json={"messages": [message], "showMessageList": True},
        headers=solapi_headers(fake),
        timeout=timeout,
    )


def solapi_lookup(fake: Any, http: httpx.Client) -> httpx.Response:
    return http.get(fake.base_url + "/cash/v1/balance", headers=solapi_headers(fake))


def iwinv_alimtalk_send(
    fake: Any, http: httpx.Client, phone: str, timeout: float
) -> httpx.Response:
    body = {
        "templateCode": "WELCOME",
        "reserve": "N",
        "list": [{"phone": phone, "templateParam": ["홍길동", "1234"]}],
    }
    url = fake.alimtalk_base_url + "/api/v2/send/"
    return http.post(url, json=body, headers=alimtalk_headers(fake), timeout=timeout)


def iwinv_sms_send(fake: Any, http: httpx.Client, phone: str, timeout: float) -> httpx.Response:
    body = {"version": "1.0", "from": SENDER, "to": [phone], "text": "안녕하세요", "msgType": "SMS"}
    url = fake.sms_base_url + "/api/v2/send/"
    return http.post(url, json=body, headers=sms_headers(fake), timeout=timeout)


def iwinv_lookup(fake: Any, http: httpx.Client) -> httpx.Response:
    url = fake.alimtalk_base_url + "/api/charge/"
    return http.post(url, json={}, headers=alimtalk_headers(fake))


def aligo_sms_send(fake: Any, http: httpx.Client, phone: str, timeout: float) -> httpx.Response:
    data = sms_form(fake, sender=SENDER, receiver=phone, msg="안녕하세요")
    return http.post(fake.sms_base_url + "/send/", data=data, timeout=timeout)


def aligo_alimtalk_send(
    fake: Any, http: httpx.Client, phone: str, timeout: float
) -> httpx.Response:
    message = render_template(TPL01, {"name": "홍길동", "order": "A-1"})
    data = kakao_form(fake, tpl_code="TPL01", sender=SENDER, receiver_1=phone, message_1=message)
    return http.post(fake.kakao_base_url + "/akv10/alimtalk/send/", data=data, timeout=timeout)


def aligo_lookup(fake: Any, http: httpx.Client) -> httpx.Response:
    return http.post(fake.sms_base_url + "/remain/", data=sms_form(fake))


# -- what differs between the fakes ----------------------------------------------------------------
@dataclass(frozen=True)
class Vendor:
    name: str
    make: Callable[..., Any]
    sends: dict[str, Send]  # channel -> one valid send request to a phone
    lookup: Callable[[Any, httpx.Client], httpx.Response]  # a request outside fault_paths
    lookup_path: str  # its path as fault_paths names it
    accepted: Callable[[Any], list[str]]  # phones of accepted messages, in order
    took: Callable[[Any], bool]  # a (logged) answer that accepted the message
    injected: Callable[[httpx.Response, int], bool]  # the vendor's 500/503/429 answer
    misconfigured: Callable[[httpx.Response], bool]  # its answer to an unknown script entry
    malformed_type: str  # the Content-Type of its answer to malformed HTTP
    logged: Callable[[dict[str, Any], str], bool]  # vendor fields of a send's log entry
    standalone: Callable[[list[str], httpx.Client], bool]  # the -m server answers

    @property
    def send(self) -> Send:
        return next(iter(self.sends.values()))


def _solapi_standalone(urls: list[str], client: httpx.Client) -> bool:
    header = solapi_signer(SOLAPI_KEY, DEFAULT_API_SECRET)
    response = client.get(urls[0] + "/cash/v1/balance", headers={"Authorization": header})
    return urls[0].startswith("http://127.0.0.1:") and response.status_code == 200


def _iwinv_standalone(urls: list[str], client: httpx.Client) -> bool:
    alimtalk, sms = urls
    auth = {"AUTH": iwinv_auth_header(DEFAULT_API_KEY)}
    secret = {"secret": iwinv_secret_header(DEFAULT_SMS_API_KEY, DEFAULT_SMS_AUTH_KEY)}
    charged = client.post(alimtalk + "/api/charge/", json={}, headers=auth).json()
    sms_charged = client.post(sms + "/api/charge/", json={}, headers=secret).json()
    return (
        alimtalk.startswith("http://127.0.0.1:")
        and sms == alimtalk.removesuffix("/alimtalk") + "/sms"
        and (charged["code"], sms_charged["code"]) == (200, 0)
    )


def _aligo_standalone(urls: list[str], client: httpx.Client) -> bool:
    sms, kakao = urls
    remain = client.post(sms + "/remain/", data={"key": DEFAULT_KEY, "user_id": DEFAULT_USER_ID})
    kakao_auth = {"apikey": DEFAULT_KEY, "userid": DEFAULT_USER_ID}
    token = client.post(kakao + "/akv10/token/create/1/h/", data=kakao_auth).json()["token"]
    heart = client.post(kakao + "/akv10/heartinfo/", data={**kakao_auth, "token": token})
    return (
        sms.startswith("http://127.0.0.1:")
        and kakao == sms.removesuffix("/sms") + "/kakao"
        and (remain.json()["result_code"], heart.json()["code"]) == (1, 0)
    )


SOLAPI_ERRORS = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests"}
VENDORS = [
    Vendor(
        name="solapi",
        make=FakeSolapi,
        sends={"send-many": solapi_send},
        lookup=solapi_lookup,
        lookup_path="/cash/v1/balance",
        accepted=lambda fake: [m["to"] for m in fake.accepted_messages()],
        took=lambda answer: answer["groupInfo"]["count"]["registeredSuccess"] == 1,
        injected=lambda r, status: r.json()["errorCode"] == SOLAPI_ERRORS[status],
        misconfigured=lambda r: r.json()["errorCode"] == "FakeMisconfigured",
        malformed_type="application/json; charset=utf-8",
        logged=lambda record, phone: (
            record["path"] == "/messages/v4/send-many/detail"
            and record["headers"]["authorization"].startswith("HMAC-SHA256 ")
            and record["body"]["messages"][0]["to"] == phone
            and record["events"] == []
        ),
        standalone=_solapi_standalone,
    ),
    Vendor(
        name="iwinv",
        make=FakeIwinv,
        sends={"alimtalk": iwinv_alimtalk_send, "sms": iwinv_sms_send},
        lookup=iwinv_lookup,
        lookup_path="/alimtalk/api/charge/",
        accepted=lambda fake: [m["phone"] for m in fake.accepted_messages()],
        took=lambda answer: answer.get("code") == 200 or answer.get("resultCode") == 0,
        injected=lambda r, status: r.headers["content-type"] == "text/plain; charset=utf-8",
        misconfigured=lambda r: r.json()["code"] == 500,
        malformed_type="text/html; charset=utf-8",
        logged=lambda record, phone: (
            record["canonical"] == "/alimtalk/api/v2/send/"
            and record["headers"]["auth"] == iwinv_auth_header(DEFAULT_API_KEY)
            and record["body"]["list"][0]["phone"] == phone
            and record["client_ip"] == "127.0.0.1"
            and record["error_detail"] is None
        ),
        standalone=_iwinv_standalone,
    ),
    Vendor(
        name="aligo",
        make=FakeAligo,
        sends={"sms": aligo_sms_send, "alimtalk": aligo_alimtalk_send},
        lookup=aligo_lookup,
        lookup_path="/remain/",
        accepted=lambda fake: [m["receiver"] for m in fake.accepted_messages()],
        took=lambda answer: str(answer.get("result_code")) == "1" or answer.get("code") == 0,
        injected=lambda r, status: r.json()["status"] == status,
        misconfigured=lambda r: r.json()["error"] == "FakeMisconfigured",
        malformed_type="application/json; charset=utf-8",
        logged=lambda record, phone: (
            (record["host"], record["endpoint"]) == ("sms", "/send/")
            and record["form"]["receiver"] == phone
            and record["content_type"] == "application/x-www-form-urlencoded"
        ),
        standalone=_aligo_standalone,
    ),
]
CHANNELS = [(v, channel) for v in VENDORS for channel in v.sends]


def ids(value: Any) -> str:
    return value.name if isinstance(value, Vendor) else str(value)


@pytest.fixture(params=VENDORS, ids=ids)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    found: Vendor = request.param
    return found


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START.timestamp())


@pytest.fixture
def fake(vendor: Vendor, clock: ManualClock) -> Iterator[Any]:
    with vendor.make(clock=clock) as started:
        yield started


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        yield client


# -- faults ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("vendor", "channel"), CHANNELS, ids=ids)
@pytest.mark.parametrize("kind", ["500", "503", "429", "html"])
def test_answered_faults_do_not_process(
    vendor: Vendor, channel: str, kind: str, clock: ManualClock, http: httpx.Client
) -> None:
    with vendor.make(clock=clock, script=[kind]) as fake:
        response = vendor.sends[channel](fake, http, PHONE, 5.0)
        status = 502 if kind == "html" else int(kind)
        assert response.status_code == status
        if kind == "html":
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            assert "<h1>502 Bad Gateway</h1>" in response.text
        else:
            assert vendor.injected(response, status)
            assert ("retry-after" in response.headers) is (kind != "500")
        assert vendor.accepted(fake) == []
        assert (fake.requests[-1]["fault"], fake.requests[-1]["status"]) == (kind, status)
        assert vendor.sends[channel](fake, http, PHONE, 5.0).status_code == 200  # script used up
        assert fake.requests[-1]["fault"] is None
        assert vendor.accepted(fake) == [PHONE]


def test_hang_and_reset_do_not_process(vendor: Vendor, fake: Any, http: httpx.Client) -> None:
    fake.script = ["hang", "reset", "ok"]
    with pytest.raises(httpx.ReadTimeout):
        vendor.send(fake, http, PHONE, 0.3)
    with pytest.raises(httpx.NetworkError):  # connection reset by peer
        vendor.send(fake, http, PHONE, 5.0)
    assert vendor.accepted(fake) == []
    assert [r["fault"] for r in fake.requests] == ["hang", "reset"]
    assert [r["status"] for r in fake.requests] == [None, None]
    assert vendor.send(fake, http, PHONE, 5.0).status_code == 200
    assert vendor.accepted(fake) == [PHONE]


@pytest.mark.parametrize(("vendor", "channel"), CHANNELS, ids=ids)
@pytest.mark.parametrize(
    ("kind", "error"),
    [("hang_after_accept", httpx.ReadTimeout), ("reset_after_accept", httpx.NetworkError)],
)
def test_after_accept_faults_register_the_message(
    vendor: Vendor,
    channel: str,
    kind: str,
    error: type[Exception],
    clock: ManualClock,
    http: httpx.Client,
) -> None:
    with vendor.make(clock=clock, script=[kind]) as fake:
        with pytest.raises(error):
            vendor.sends[channel](fake, http, "01077770000", 0.3)
        assert vendor.accepted(fake) == ["01077770000"]
        record = fake.requests[-1]
        assert (record["fault"], record["status"]) == (kind, None)
        assert vendor.took(record["response"])  # the answer that never arrived


@pytest.mark.parametrize(("vendor", "channel"), CHANNELS, ids=ids)
def test_a_truncated_answer_is_cut_after_the_request_was_processed(
    vendor: Vendor, channel: str, clock: ManualClock, http: httpx.Client
) -> None:
    with vendor.make(clock=clock, script=["truncated"]) as fake:
        response = vendor.sends[channel](fake, http, PHONE, 5.0)
        record = fake.requests[-1]
        assert (record["fault"], record["status"]) == ("truncated", 200)
        assert vendor.accepted(fake) == [PHONE]
        whole = json.dumps(record["response"], ensure_ascii=False).encode("utf-8")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert 0 < len(response.content) < len(whole)
        assert whole.startswith(response.content)
        with pytest.raises(json.JSONDecodeError):
            response.json()


def test_random_faults_follow_the_seed_and_the_fault_paths(
    vendor: Vendor, fake: Any, http: httpx.Client
) -> None:
    fake.rng = random.Random(7)
    fake.fault_rate = 0.5
    fake.fault_kinds = ["500", "429"]
    phones = [f"0105000000{i}" for i in range(10)]
    statuses = [vendor.send(fake, http, phone, 5.0).status_code for phone in phones]
    expected_rng = random.Random(7)
    expected = []
    for _ in phones:
        hit = expected_rng.random() < 0.5
        expected.append(int(expected_rng.choice(["500", "429"])) if hit else 200)
    assert statuses == expected
    assert vendor.accepted(fake) == [p for p, s in zip(phones, statuses, strict=True) if s == 200]

    fake.fault_rate = 1.0
    assert vendor.lookup(fake, http).status_code == 200  # not a send path: no fault
    fake.fault_paths = {vendor.lookup_path}
    assert vendor.lookup(fake, http).status_code in (500, 429)
    assert vendor.send(fake, http, PHONE, 5.0).status_code == 200
    fake.fault_paths = None
    assert vendor.lookup(fake, http).status_code in (500, 429)
    assert vendor.send(fake, http, PHONE, 5.0).status_code in (500, 429)


def test_an_unknown_script_entry_answers_500(vendor: Vendor, fake: Any, http: httpx.Client) -> None:
    fake.script = ["typo"]
    response = vendor.send(fake, http, PHONE, 5.0)
    assert response.status_code == 500 and vendor.misconfigured(response)
    assert vendor.accepted(fake) == []
    with pytest.raises(ValueError, match="typo"):
        vendor.make(script=["typo"])
    with pytest.raises(ValueError, match="typo"):
        vendor.make(fault_kinds=["500", "typo"])


# -- the request log, latency, concurrency -------------------------------------------------------
def test_latency_and_request_log(
    vendor: Vendor, fake: Any, http: httpx.Client, clock: ManualClock
) -> None:
    fake.latency = 0.2
    began = time.monotonic()
    vendor.send(fake, http, PHONE, 5.0)
    assert time.monotonic() - began >= 0.2
    fake.latency = 0.0
    (record,) = fake.requests
    assert record["method"] == "POST"
    assert (record["status"], record["fault"], record["time"]) == (200, None, clock())
    assert vendor.took(record["response"])
    assert vendor.logged(record, PHONE)
    fake.reset_log()
    assert fake.requests == []


def test_concurrent_sends_are_each_registered_once(
    vendor: Vendor, fake: Any, http: httpx.Client
) -> None:
    phones = [f"0106000{i:04d}" for i in range(16)]

    def worker(phone: str) -> None:  # httpx.Client is thread-safe: share the test's client
        vendor.send(fake, http, phone, 10.0).raise_for_status()

    threads = [threading.Thread(target=worker, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(vendor.accepted(fake)) == phones


# -- lifecycle -----------------------------------------------------------------------------------
def test_stop_unblocks_a_hanging_request(vendor: Vendor) -> None:
    fake = vendor.make(script=["hang"], hang_seconds=30)
    outcome: list[BaseException] = []
    with fake:

        def call() -> None:
            with httpx.Client(trust_env=False, timeout=10) as client:
                try:
                    vendor.send(fake, client, PHONE, 10.0)
                except httpx.HTTPError as error:
                    outcome.append(error)

        thread = threading.Thread(target=call)
        thread.start()
        deadline = time.monotonic() + 5
        while not fake.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        began = time.monotonic()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - began < 3
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.TransportError)
    assert not fake.running
    fake.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.bound_port


def test_a_running_fake_cannot_start_twice(vendor: Vendor, fake: Any) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        fake.start()
    assert fake.running


def test_malformed_http_is_answered_in_the_vendor_shape(vendor: Vendor, fake: Any) -> None:
    with socket.create_connection(("127.0.0.1", fake.bound_port), timeout=5) as raw:
        raw.sendall(b"TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        chunks = []
        while chunk := raw.recv(65536):  # the server closes after an error
            chunks.append(chunk)
    head, _, body = b"".join(chunks).decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 501")
    assert f"Content-Type: {vendor.malformed_type}" in head
    assert "TRACE" in body


def test_standalone_entry_point(vendor: Vendor) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    module = f"tests.fakes.{vendor.name}"
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", "--latency-ms", "1"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = 1 if len(vendor.sends) == 1 else 2
        urls = [process.stdout.readline().strip() for _ in range(lines)]
        with httpx.Client(trust_env=False, timeout=5) as client:
            assert vendor.standalone(urls, client), urls
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=5) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


# -- the base itself, without a vendor ---------------------------------------------------------
class Echo(FakeServer):
    """The smallest fake: answers every request with a JSON echo and counts what it processed."""

    send_paths = ("/send",)

    def __init__(self, **server: Any) -> None:
        super().__init__(**server)
        self.processed = 0

    def inspect(self, request: Incoming) -> Inspected:
        log = {"method": request.method, "path": request.path, "query": request.query}
        return Inspected(log, request.path, request.raw.decode())

    def answer(self, request: Incoming, context: Any, record: dict[str, Any]) -> Reply:
        self.processed += 1
        return Reply.json(200, {"echo": context, "processed": self.processed, "pad": "x" * 40})

    def injected_error(self, status: int) -> Reply:
        return Reply.json(status, {"injected": status})

    def internal_error(self, message: str) -> Reply:
        return Reply.json(500, {"crash": message})

    def misconfigured(self, fault: str) -> Reply:
        return Reply.json(500, {"bad": fault})

    def malformed(self, status: int, message: str) -> Reply:
        return Reply.json(status, {"malformed": message})


def test_the_base_truncates_a_processed_answer_to_an_incomplete_body(http: httpx.Client) -> None:
    with Echo(script=["truncated", "truncated"]) as fake:
        whole = {"echo": "안녕", "processed": 1, "pad": "x" * 40}
        response = http.post(fake.base_url + "/send?x=1", content="안녕".encode())
        assert response.status_code == 200  # a complete HTTP message...
        assert 0 < len(response.content) < len(json.dumps(whole, ensure_ascii=False).encode())
        assert json.dumps(whole, ensure_ascii=False).encode().startswith(response.content)
        with pytest.raises(json.JSONDecodeError):  # ...whose JSON is cut off
            response.json()
        assert fake.processed == 1  # the request was processed before its answer was cut
        (record,) = fake.requests
        assert record["query"] == {"x": ["1"]}
        assert (record["fault"], record["status"], record["response"]) == ("truncated", 200, whole)
        # only the send path draws faults by default: the script is not used here
        assert http.get(fake.base_url + "/other").json()["processed"] == 2
        assert fake.script == ["truncated"]


def test_the_base_answers_a_crash_in_the_fake_like_a_real_500(http: httpx.Client) -> None:
    class Broken(Echo):
        def answer(self, request: Incoming, context: Any, record: dict[str, Any]) -> Reply:
            raise KeyError("bug")

    with Broken() as fake:
        response = http.post(fake.base_url + "/send", content=b"{}")
    assert response.status_code == 500
    assert "KeyError" in response.json()["crash"]
    assert fake.requests[-1]["status"] == 500
