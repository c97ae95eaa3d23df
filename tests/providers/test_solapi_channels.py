"""SOLAPI's wire shapes for the channel types, built from checked messages (pure), and the
checks the provider makes before any request (settings, sender, files)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.errors import ConfigError, InvalidInput
from kmsg_cli.models import Message, MessageDraft
from kmsg_cli.normalize import build_message
from kmsg_cli.providers.solapi import channels
from kmsg_cli.providers.solapi.messages import build_message as entry_of

DEFAULTS = channels.Defaults(sender="0212345678", pf_id="PF", brand_id="BR", talk_id="TK")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def message(kind: str, options: dict[str, Any] | None = None, **fields: Any) -> Message:
    draft = MessageDraft(
        to="010-1234-5678",
        type=kind,
        options=json.dumps(options) if options else None,
        **fields,
    )
    return build_message(draft, default_id="id-1", now=NOW)


class Uploads:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, path: str, kind: str, link: str | None) -> str:
        self.calls.append((path, kind) if link is None else (path, kind, link))
        return f"F{len(self.calls)}"


def wire(msg: Message) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    uploads = Uploads()
    channel = channels.fields(msg, DEFAULTS, uploads)
    entry = entry_of(msg, sender=DEFAULTS.sender, pf_id=DEFAULTS.pf_id, channel=channel)
    return entry, uploads.calls


def test_rcs_entry() -> None:
    entry, calls = wire(
        message(
            "RCS_MMS",
            {"additionalBody": [{"title": "t", "description": "d", "image": "c.png"}]},
            text="본문",
            image="main.jpg",
            failover_text="대체",
        )
    )
    assert calls == [("c.png", "RCS"), ("main.jpg", "RCS")]
    assert entry == {
        "to": "01012345678",
        "type": "RCS_MMS",
        "from": "0212345678",
        "text": "본문",
        "imageId": "F2",
        "rcsOptions": {
            "brandId": "BR",
            "additionalBody": [{"title": "t", "description": "d", "imageId": "F1"}],
            "disableSms": True,
        },
        "customFields": {"kmsgId": "id-1"},
    }


@pytest.mark.rule("SOLAPI-BMS-OPTIONS", "SOLAPI-BMS-TARGETING")
def test_bms_entries() -> None:
    free, _ = wire(message("BMS_FREE", {"targeting": "M"}, text="안녕"))
    assert free["kakaoOptions"] == {
        "pfId": "PF",
        "bms": {"targeting": "M", "chatBubbleType": "TEXT"},
    }
    template, _ = wire(message("BMS_IMAGE", template_id="T", variables={"n": "1"}, text="local"))
    assert template["type"] == "BMS_IMAGE" and "text" not in template
    assert template["kakaoOptions"] == {
        "pfId": "PF",
        "templateId": "T",
        "variables": {"#{n}": "1"},
        "bms": {"targeting": "I", "chatBubbleType": "IMAGE"},
    }
    video, calls = wire(
        message(
            "BMS_FREE",
            {
                "chatBubbleType": "PREMIUM_VIDEO",
                "video": {
                    "videoUrl": "https://tv.kakao.com/v/1",
                    "image": "t.jpg",
                    "imageLink": "https://example.com/v",
                },
            },
        )
    )
    # uploaded as the vendor's own example does, with the thumbnail's link
    assert calls == [("t.jpg", "KAKAO", "https://example.com/v")]
    assert video["kakaoOptions"]["bms"]["video"]["imageId"] == "F1"


@pytest.mark.parametrize(
    ("bubble", "place", "kind"),
    [
        ("IMAGE", "", "BMS"),
        ("COMMERCE", "", "BMS"),
        ("WIDE", "", "BMS_WIDE"),
        ("WIDE_ITEM_LIST", "mainWideItem", "BMS_WIDE_MAIN_ITEM_LIST"),
        ("WIDE_ITEM_LIST", "subWideItemList", "BMS_WIDE_SUB_ITEM_LIST"),
        ("CAROUSEL_FEED", "carousel", "BMS_CAROUSEL_FEED_LIST"),
        ("CAROUSEL_COMMERCE", "carousel", "BMS_CAROUSEL_COMMERCE_LIST"),
    ],
)
@pytest.mark.rule("SOLAPI-BMS-IMAGES")
def test_upload_type_of_each_brand_message_image(bubble: str, place: str, kind: str) -> None:
    msg = replace(message("BMS_FREE", text="x"), options={"chatBubbleType": bubble})
    assert channels.file_kind(msg, place) == kind


def test_voice_fax_and_naver_entries() -> None:
    voiced, _ = wire(message("VOICE", {"headerMessage": "안내"}, text="본문"))
    assert voiced["voiceOptions"] == {"headerMessage": "안내", "voiceType": "FEMALE"}
    fax, calls = wire(message("FAX", files=("a.pdf", "b.tif"), text="memo"))
    assert fax["faxOptions"] == {"fileIds": ["F1", "F2"]} and "text" not in fax
    assert calls == [("a.pdf", "FAX"), ("b.tif", "FAX")]
    naver, _ = wire(message("NSA", {"talkId": "OWN"}, template_id="T"))
    assert naver["naverOptions"] == {
        "talkId": "OWN",
        "disableSms": True,
        "templateId": "T",
        "variables": {},
    }


def test_validation_before_any_request(tmp_path: Path) -> None:
    bare = channels.Defaults()
    with pytest.raises(ConfigError) as info:
        channels.validate(message("BMS_FREE", text="x"), bare, "solapi")
    assert info.value.field == "kakao_pf_id" and "SOLAPI_KAKAO_PF_ID" in (info.value.hint or "")
    with pytest.raises(ConfigError) as info:
        channels.validate(message("NSA", template_id="T"), bare, "solapi")
    assert info.value.field == "naver_talk_id"
    with pytest.raises(InvalidInput) as sender:
        channels.validate(message("VOICE", text="x"), bare, "solapi")
    assert sender.value.code == "MISSING_SENDER"
    thumbnail = {"videoUrl": "https://tv.kakao.com/v/1", "image": str(tmp_path / "t.jpg")}
    (tmp_path / "t.jpg").write_bytes(b"\xff\xd8\xff" + bytes(10))
    video = message("BMS_FREE", {"chatBubbleType": "PREMIUM_VIDEO", "video": thumbnail})
    with pytest.raises(ConfigError) as link:
        channels.validate(video, DEFAULTS, "solapi")
    assert link.value.field == "friendtalk_image_link"
    channels.validate(video, replace(DEFAULTS, image_link="https://example.com"), "solapi")
    channels.validate(
        message("RCS_SMS", {"brandId": "B"}, text="x", sender="0212345678"), bare, "s"
    )
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    channels.validate(message("FAX", files=(str(pdf),)), DEFAULTS, "solapi")
    tiff = tmp_path / "a.tif"
    tiff.write_bytes(b"\x00\x00not a tiff")
    with pytest.raises(InvalidInput) as bad:
        channels.validate(message("FAX", files=(str(pdf), str(tiff))), DEFAULTS, "solapi")
    assert bad.value.code == "FILE_FORMAT" and bad.value.value == str(tiff)


@pytest.mark.parametrize(
    ("item", "status", "replaced"),
    [
        ({"type": "RCS_LMS", "statusCode": "3050"}, "FAILED", False),
        ({"type": "SMS", "statusCode": "4000", "replacement": True}, "DELIVERED", True),
        ({"type": "BMS_FREE", "statusCode": "3104"}, "FAILED", False),
        ({"type": "VOICE", "statusCode": "3000"}, "SENT", False),
        ({"type": "FAX", "statusCode": "4000", "faxPageCount": 2}, "DELIVERED", False),
        ({"type": "NSA", "statusCode": "2000"}, "PENDING", False),
    ],
)
def test_status_codes_map_alike_for_every_type(
    item: dict[str, Any], status: str, replaced: bool
) -> None:
    from kmsg_cli.providers.solapi.status import parse_stored_message

    update = parse_stored_message({"messageId": "M1", **item})
    assert update.status is not None and update.status.value == status
    assert update.replaced is replaced and update.provider_status_code == item["statusCode"]
