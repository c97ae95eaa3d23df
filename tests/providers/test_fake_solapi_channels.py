"""The fake SOLAPI's rules for RCS, Brand Message, voice, fax and Naver messages, by raw
signed requests: what it accepts, the status code of each refusal, channel uploads, and the
outcomes of recipients a channel cannot reach."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.fakes.solapi import DEFAULT_PF_ID, FakeSolapi, ManualClock
from tests.providers.test_fake_solapi import SENDER, Api, api, clock, fake_solapi, http

__all__ = ["api", "clock", "fake_solapi", "http"]  # the fixtures this module uses

TO = "01012345678"
JPEG = b"\xff\xd8\xff\xe0" + bytes(100)
PDF = b"%PDF-1.4\n" + bytes(100)


def file_id(api: Api, data: bytes, file_type: str) -> str:
    body = {"file": base64.b64encode(data).decode(), "type": file_type}
    response = api("POST", "/storage/v1/files", json=body)
    assert response.status_code == 200, response.text
    found: str = response.json()["fileId"]
    return found


def rcs(kind: str = "RCS_SMS", **options: Any) -> dict[str, Any]:
    body = {"to": TO, "from": SENDER, "type": kind, "text": "안녕하세요"}
    return {**body, "rcsOptions": {"brandId": "BR.FAKE0001", **options}}


def bms(bubble: str = "TEXT", kind: str = "BMS_FREE", **fields: Any) -> dict[str, Any]:
    options = {"pfId": DEFAULT_PF_ID, "bms": {"targeting": "I", "chatBubbleType": bubble, **fields}}
    return {"to": TO, "type": kind, "text": "안녕하세요", "kakaoOptions": options}


def voice(**options: Any) -> dict[str, Any]:
    body = {"to": TO, "from": SENDER, "type": "VOICE", "text": "안녕하세요"}
    return {**body, "voiceOptions": {"voiceType": "FEMALE", **options}}


def status_of(api: Api, message: dict[str, Any]) -> str:
    answer = api.sent([message])
    if answer.get("messageList"):
        return "accepted"
    code: str = answer["failedMessageList"][0]["statusCode"]
    return code


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (rcs(), "accepted"),
        ({**rcs(), "from": None}, "1010"),
        ({**rcs(), "rcsOptions": None}, "1010"),
        (rcs(brandId="BR.OTHER"), "1011"),
        (rcs(mmsType="M3"), "1011"),
        ({**rcs(), "text": "a" * 91}, "1031"),
        (rcs("RCS_TPL", templateId="RCS_TPL_1", variables={"#{a}": "1"}), "accepted"),
        (rcs("RCS_TPL", templateId="NOPE"), "1042"),
        (rcs("RCS_LMS", buttons=[{"buttonName": "b", "buttonType": "WL"}]), "1010"),
        (rcs("RCS_LMS", additionalBody={"title": "t"}), "1011"),
        ({**rcs(), "kakaoOptions": {"pfId": DEFAULT_PF_ID}}, "1033"),
        (bms(), "accepted"),
        ({**bms(), "text": None}, "1010"),
        (bms(header="h"), "1011"),
        (bms("COMMERCE"), "1010"),
        (bms("IMAGE", imageId="nope"), "1023"),
        (bms("PREMIUM_VIDEO", video={"videoUrl": "https://youtube.com/x"}), "1011"),
        ({**bms(), "kakaoOptions": {"pfId": "KA.OTHER", "bms": {"targeting": "I"}}}, "1041"),
        ({**bms(targeting="X")}, "1010"),
        (bms("TEXT", "BMS_TEXT"), "1042"),
        ({**bms("WIDE", "BMS_TEXT"), "kakaoOptions": {"pfId": DEFAULT_PF_ID}}, "1010"),
        (voice(), "accepted"),
        (voice(voiceType="ROBOT"), "1010"),
        (voice(headerMessage="가" * 136), "1011"),
        (voice(replyRange=0), "1011"),
        (voice(replyRange=2, counselorNumber="0212345678"), "1011"),
        ({**voice(), "text": ""}, "1010"),
        ({"to": TO, "from": SENDER, "type": "FAX", "faxOptions": {"fileIds": []}}, "1010"),
        ({"to": TO, "from": SENDER, "type": "FAX", "faxOptions": {"fileIds": ["X"]}}, "1023"),
        ({"to": TO, "type": "NSA", "naverOptions": {"talkId": "WA.FAKE0001"}}, "1042"),
        (
            {"to": TO, "type": "NSA", "naverOptions": {"talkId": "?", "templateId": "NSA_TPL_1"}},
            "1011",
        ),
        (
            {
                "to": TO,
                "type": "NSA",
                "naverOptions": {"talkId": "WA.FAKE0001", "templateId": "NSA_TPL_1"},
            },
            "accepted",
        ),
        ({"to": TO, "from": SENDER, "type": "SMS", "text": "x", "voiceOptions": {}}, "1011"),
    ],
)
def test_channel_registration(api: Api, message: dict[str, Any], code: str) -> None:
    assert status_of(api, message) == code


def test_channel_files_must_be_uploaded_as_their_type(api: Api) -> None:
    fax = file_id(api, PDF, "FAX")
    sent = {"to": TO, "from": SENDER, "type": "FAX", "faxOptions": {"fileIds": [fax]}}
    assert status_of(api, sent) == "accepted"
    wide = file_id(api, JPEG, "BMS_WIDE")
    assert status_of(api, bms("WIDE", imageId=wide)) == "accepted"
    assert status_of(api, bms("IMAGE", imageId=wide)) == "1023"  # an IMAGE needs a BMS file
    card = file_id(api, JPEG, "BMS_CAROUSEL_FEED_LIST")
    cards = [{"header": "h", "content": "c", "imageId": card, "buttons": []}] * 2
    assert status_of(api, bms("CAROUSEL_FEED", carousel={"list": cards})) == "accepted"
    assert (
        status_of(
            api,
            rcs("RCS_MMS", additionalBody=[{"title": "t", "description": "d", "imageId": card}]),
        )
        == "1023"
    )
    for data, kind in ((PDF, "BMS"), (b"GIF89a" + bytes(10), "RCS"), (b"MZ", "FAX")):
        body = {"file": base64.b64encode(data).decode(), "type": kind}
        answer = api("POST", "/storage/v1/files", json=body)
        assert (answer.status_code, answer.json()["errorCode"]) == (400, "InvalidFileType")
    big = {"file": base64.b64encode(JPEG + bytes(500 * 1024)).decode(), "type": "BMS"}
    assert api("POST", "/storage/v1/files", json=big).json()["errorCode"] == "FileSizeTooLarge"


def test_unreachable_recipients_per_channel(
    api: Api, fake_solapi: FakeSolapi, clock: ManualClock
) -> None:
    fake_solapi.rcs_non_users = {TO, "01099990000"}
    fake_solapi.kakao_non_users = {"01088880000"}
    answer = api.sent(
        [
            rcs(disableSms=True),
            {**rcs("RCS_LMS"), "to": "01099990000", "text": "가" * 50},  # SOLAPI's default
            {**bms(), "to": "01088880000"},
        ]
    )
    ids = [item["messageId"] for item in answer["messageList"]]
    clock.advance(60)
    final = [api.stored(message_id) for message_id in ids]
    assert [(m["statusCode"], m["type"], m["replacement"]) for m in final] == [
        ("3050", "RCS_SMS", False),
        ("4000", "LMS", True),  # SOLAPI replaced it with an LMS itself
        ("3104", "BMS_FREE", False),  # never replaced for Brand Message
    ]
    assert final[0]["rcsOptions"]["disableSms"] is True
