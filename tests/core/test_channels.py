"""The channel rules (kmsg_cli.channels) through `build_message`: defaults, each documented
limit, the errors that name the option's path, and the fallback table (pure, no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.channels import describe, parse_options
from kmsg_cli.channels.fallback import falls_back, unreachable
from kmsg_cli.errors import InvalidInput
from kmsg_cli.models import CHANNEL_TYPES, Message, MessageDraft, MessageType
from kmsg_cli.normalize import build_message

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
URL = "https://example.com/x"


def build(kind: str | None, options: dict[str, Any] | None = None, **fields: Any) -> Message:
    fields.setdefault("to", "010-1234-5678")
    draft = MessageDraft(
        type=kind, options=json.dumps(options) if options is not None else None, **fields
    )
    return build_message(draft, default_id="m", now=NOW)


def refused(kind: str, options: dict[str, Any] | None = None, **fields: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        build(kind, options, **fields)
    assert "\n" not in info.value.message
    return info.value


def web(name: str = "열기") -> dict[str, str]:
    return {"name": name, "linkType": "WL", "linkMobile": URL}


def test_every_channel_type_has_a_family_and_the_sets_agree() -> None:
    families = {t.channel for t in CHANNEL_TYPES}
    assert families == {"RCS", "BMS", "VOICE", "FAX", "NSA"}
    assert MessageType.SMS.channel == MessageType.MMS.channel == "SMS"
    assert MessageType.BMS_WIDE_ITEM_LIST.channel == "BMS"


# -- options text ------------------------------------------------------------------------------
def test_flags_win_over_the_options_text() -> None:
    options = parse_options('{"voiceType": "FEMALE", "replyRange": 2}', {"voiceType": "MALE"})
    assert options == {"voiceType": "MALE", "replyRange": 2}
    assert parse_options(None, {"brandId": None}) == {}


@pytest.mark.parametrize(
    ("text", "what"),
    [("{", "not valid JSON"), ("[1]", "JSON object"), ('{"a": NaN}', "not valid JSON")],
)
def test_options_must_be_a_json_object(text: str, what: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_options(text, {})
    assert info.value.code == "INVALID_OPTIONS" and info.value.field == "options"
    assert what in info.value.message


def test_options_and_files_are_refused_for_other_types() -> None:
    error = refused("SMS", {"voiceType": "MALE"}, text="x")
    assert error.code == "OPTIONS_NOT_ALLOWED" and error.field == "options"
    error = refused("LMS", None, text="x", files=("a.pdf",))
    assert error.code == "OPTIONS_NOT_ALLOWED" and error.field == "file"
    assert build("SMS", None, text="x").options == {}


# -- RCS -----------------------------------------------------------------------------------------
def test_rcs_defaults_and_card_images() -> None:
    message = build(
        "RCS_MMS",
        {
            "mmsType": "S4",
            "additionalBody": [{"title": "t", "description": "d", "image": "c1.png"}],
            "buttons": [{"buttonName": "전화", "buttonType": "DL", "phone": "0212345678"}],
        },
        text="본문",
        subject="제목",
    )
    assert message.options["disableSms"] is True and message.files == ("c1.png",)
    assert message.options["additionalBody"][0]["image"] == "c1.png"  # uploaded by the provider
    assert describe(message) == ["brand from provider", "mmsType S4", "1 button(s)", "1 card(s)"]


@pytest.mark.parametrize(
    ("kind", "options", "fields", "code", "field"),
    [
        ("RCS_SMS", None, {"text": "a" * 91}, "TEXT_TOO_LONG", "text"),
        ("RCS_LMS", None, {"text": "가" * 1301}, "TEXT_TOO_LONG", "text"),
        ("RCS_LMS", None, {}, "MISSING_TEXT", "text"),
        ("RCS_SMS", None, {"text": "x", "subject": "s"}, "NOT_ALLOWED", "subject"),
        ("RCS_LMS", None, {"text": "x", "image": "a.jpg"}, "IMAGE_NOT_ALLOWED", "image"),
        ("RCS_LTPL", None, {}, "MISSING_TEMPLATE", "template"),
        ("RCS_LMS", {"mmsType": "M2"}, {"text": "x"}, "INVALID_OPTION", "options.mmsType"),
        (
            "RCS_MMS",
            {"mmsType": "M9"},
            {"text": "x", "image": "a.jpg"},
            "INVALID_OPTION",
            "options.mmsType",
        ),
        ("RCS_LMS", {"copyAllowed": "yes"}, {"text": "x"}, "INVALID_OPTION", "options.copyAllowed"),
        ("RCS_LMS", {"brandId": ""}, {"text": "x"}, "MISSING_OPTION", "options.brandId"),
        ("RCS_LMS", {"templateId": "T"}, {"text": "x"}, "INVALID_OPTION", "options.templateId"),
        (
            "RCS_LMS",
            {"buttons": [{"buttonName": "b", "buttonType": "WL", "link": "ftp://x"}]},
            {"text": "x"},
            "INVALID_OPTION",
            "options.buttons[0].link",
        ),
        (
            "RCS_LMS",
            {"buttons": [{"buttonName": "b", "buttonType": "ML"}]},
            {"text": "x"},
            "MISSING_OPTION",
            "options.buttons[0].latitude",
        ),
        (
            "RCS_LMS",
            {"additionalBody": [{"title": "t"}]},
            {"text": "x"},
            "MISSING_OPTION",
            "options.additionalBody[0].description",
        ),
        (
            "RCS_LMS",
            {"additionalBody": [{"title": "t", "description": "d", "image": "a", "imageId": "b"}]},
            {"text": "x"},
            "INVALID_OPTION",
            "options.additionalBody[0].image",
        ),
    ],
    ids=[
        "sms-bytes",
        "lms-chars",
        "no-text",
        "sms-subject",
        "lms-image",
        "template-missing",
        "mms-type-on-lms",
        "mms-type-unknown",
        "flag-not-bool",
        "empty-brand",
        "template-in-options",
        "button-link-not-http",
        "map-button-without-coordinates",
        "card-without-description",
        "card-image-and-image-id",
    ],
)
@pytest.mark.rule("SOLAPI-RCS-AUTO", "SOLAPI-RCS-MMSTYPE", "SOLAPI-RCS-BUTTONS")
def test_rcs_rules(
    kind: str, options: dict[str, Any] | None, fields: dict[str, Any], code: str, field: str
) -> None:
    error = refused(kind, options, **fields)
    assert (error.code, error.field) == (code, field), error.message


def test_rcs_fallback_and_vendor_replacement_exclude_each_other() -> None:
    message = build("RCS_LMS", None, text="x", failover_text="대체")
    assert message.failover is not None and message.options["disableSms"] is True
    assert describe(message)[-1] == "fallback SMS by kmsg"
    replaced = build("RCS_LMS", {"disableSms": False}, text="x")
    assert replaced.failover is None and replaced.options["disableSms"] is False
    error = refused("RCS_LMS", {"disableSms": False}, text="x", failover_text="대체")
    assert error.code == "FAILOVER_CONFLICT"


# -- Brand Message --------------------------------------------------------------------------------
def test_bms_free_defaults_to_targeting_i_and_a_text_or_image_bubble() -> None:
    assert build("BMS_FREE", None, text="x").options == {"targeting": "I", "chatBubbleType": "TEXT"}
    with_image = build("BMS_FREE", None, text="x", image="a.jpg")
    assert with_image.options["chatBubbleType"] == "IMAGE" and with_image.image == "a.jpg"


def test_bms_template_types_take_only_targeting() -> None:
    message = build("BMS_CAROUSEL_FEED", {"targeting": "N"}, template_id="T1", variables={"a": "1"})
    assert message.options == {"targeting": "N", "chatBubbleType": "CAROUSEL_FEED"}
    assert message.variables == {"a": "1"}
    error = refused("BMS_TEXT", {"buttons": [web()]}, template_id="T1")
    assert (error.code, error.field) == ("INVALID_OPTION", "options.buttons")


def test_bms_nested_images_are_collected() -> None:
    options = {
        "chatBubbleType": "CAROUSEL_COMMERCE",
        "carousel": {
            "head": {"header": "h", "content": "c", "image": "head.png", "linkMobile": URL},
            "list": [
                {"commerce": {"title": "t", "regularPrice": 1000}, "image": "a.png"}
                | {"buttons": [web()]},
            ],
            "tail": {"linkMobile": URL},
        },
    }
    message = build("BMS_FREE", options)
    assert message.files == ("head.png", "a.png")
    assert describe(message) == ["targeting I", "CAROUSEL_COMMERCE bubble", "1 card(s)"]


def card(**extra: Any) -> dict[str, Any]:
    return {"header": "h", "content": "c", "imageId": "F1", "buttons": [web()], **extra}


@pytest.mark.parametrize(
    ("options", "fields", "field"),
    [
        ({"chatBubbleType": "SPARKLE"}, {"text": "x"}, "options.chatBubbleType"),
        ({"targeting": "i"}, {"text": "x"}, "options.targeting"),
        ({"header": "h"}, {"text": "x"}, "options.header"),
        ({"chatBubbleType": "WIDE"}, {"text": "x"}, "options.imageId"),
        (
            {"chatBubbleType": "WIDE", "imageId": "F"},
            {"text": "x", "image": "a.jpg"},
            "options.imageId",
        ),
        ({"chatBubbleType": "IMAGE", "imageId": "F" * 33}, {"text": "x"}, "options.imageId"),
        ({"chatBubbleType": "WIDE", "imageId": "F", "content": "가" * 77}, {}, "options.content"),
        ({"buttons": [web()] * 6}, {"text": "x"}, "options.buttons"),
        (
            {"buttons": [web()] * 5, "coupon": {"title": "배송비 할인 쿠폰", "description": "d"}},
            {"text": "x"},
            "options.buttons",
        ),
        ({"buttons": [web("가" * 15)]}, {"text": "x"}, "options.buttons[0].name"),
        (
            {"buttons": [{"name": "b", "linkType": "WL"}]},
            {"text": "x"},
            "options.buttons[0].linkMobile",
        ),
        (
            {"buttons": [{"name": "b", "linkType": "AL"}]},
            {"text": "x"},
            "options.buttons[0].linkMobile",
        ),
        (
            {"buttons": [{"name": "b", "linkType": "XX"}]},
            {"text": "x"},
            "options.buttons[0].linkType",
        ),
        (
            {"coupon": {"title": "50000원 할인 쿠폰", "description": "가" * 13}},
            {"text": "x"},
            "options.coupon.description",
        ),
        (
            {"coupon": {"title": "101% 할인 쿠폰", "description": "d"}},
            {"text": "x"},
            "options.coupon.title",
        ),
        (
            {"coupon": {"title": "아주아주아주긴이름 무료 쿠폰", "description": "d"}},
            {"text": "x"},
            "options.coupon.title",
        ),
        (
            {
                "chatBubbleType": "COMMERCE",
                "imageId": "F",
                "buttons": [web()],
                "commerce": {"title": "t", "regularPrice": 1, "discountRate": 5},
            },
            {},
            "options.commerce.discountPrice",
        ),
        (
            {
                "chatBubbleType": "COMMERCE",
                "imageId": "F",
                "buttons": [web()],
                "commerce": {"title": "t", "regularPrice": "many"},
            },
            {},
            "options.commerce.regularPrice",
        ),
        (
            {
                "chatBubbleType": "COMMERCE",
                "imageId": "F",
                "buttons": [{"name": "b", "linkType": "BK"}],
                "commerce": {"title": "t", "regularPrice": 1},
            },
            {},
            "options.buttons[0].linkType",
        ),
        (
            {
                "chatBubbleType": "COMMERCE",
                "imageId": "F",
                "commerce": {"title": "t", "regularPrice": 1},
            },
            {},
            "options.buttons",
        ),
        (
            {"chatBubbleType": "CAROUSEL_FEED", "carousel": {"list": [card()]}},
            {},
            "options.carousel.list",
        ),
        (
            {"chatBubbleType": "CAROUSEL_FEED", "carousel": {"head": {}, "list": [card(), card()]}},
            {},
            "options.carousel.head",
        ),
        (
            {"chatBubbleType": "CAROUSEL_FEED", "carousel": {"list": [card(), card(buttons=[])]}},
            {},
            "options.carousel.list[1].buttons",
        ),
        (
            {
                "chatBubbleType": "CAROUSEL_FEED",
                "carousel": {"list": [card(), card()], "tail": {"linkMobile": URL + "#{id}"}},
            },
            {},
            "options.carousel.tail.linkMobile",
        ),
        (
            {
                "chatBubbleType": "CAROUSEL_FEED",
                "carousel": {"list": [card(), card(content="가" * 181)]},
            },
            {},
            "options.carousel.list[1].content",
        ),
        (
            {
                "chatBubbleType": "WIDE_ITEM_LIST",
                "header": "h",
                "mainWideItem": {"imageId": "F", "linkMobile": URL},
                "subWideItemList": [],
            },
            {},
            "options.subWideItemList",
        ),
        (
            {
                "chatBubbleType": "WIDE_ITEM_LIST",
                "header": "두\n줄",
                "mainWideItem": {},
                "subWideItemList": [],
            },
            {},
            "options.header",
        ),
        (
            {
                "chatBubbleType": "COMMERCE",
                "imageId": "F",
                "buttons": [web()],
                "commerce": {"title": "t", "regularPrice": 1},
            },
            {"text": "x"},
            "text",
        ),
    ],
)
@pytest.mark.rule(
    "SOLAPI-BMS-BUBBLES",
    "SOLAPI-BMS-FIELDS",
    "SOLAPI-BMS-LEN",
    "SOLAPI-BMS-BUTTONS",
    "SOLAPI-BMS-CAROUSEL",
    "SOLAPI-BMS-COMMERCE",
    "SOLAPI-BMS-COUPON",
    "SOLAPI-BMS-VIDEO",
)
def test_bms_free_rules(options: dict[str, Any], fields: dict[str, Any], field: str) -> None:
    error = refused("BMS_FREE", options, **fields)
    assert error.field == field, error.message
    assert error.code in ("INVALID_OPTION", "MISSING_OPTION", "NOT_ALLOWED"), error.code


@pytest.mark.rule(
    "SOLAPI-BMS-BUBBLES", "SOLAPI-BMS-COUPON", "SOLAPI-BMS-COMMERCE", "SOLAPI-BMS-VIDEO"
)
def test_bms_accepted_bubbles() -> None:
    coupon = {"title": "포인트 UP 쿠폰", "description": "두 배 적립"}
    commerce = {
        "title": "t",
        "regularPrice": "29000",
        "discountPrice": 19000,
        "discountFixed": 10000,
    }
    for options, fields in (
        ({"buttons": [web()] * 4, "coupon": coupon}, {"text": "x"}),
        (
            {
                "chatBubbleType": "COMMERCE",
                "imageId": "F",
                "buttons": [web()],
                "commerce": commerce,
            },
            {},
        ),
        (
            {
                "chatBubbleType": "CAROUSEL_FEED",
                "carousel": {"list": [card(), card(coupon=coupon)]},
            },
            {},
        ),
        (
            {"chatBubbleType": "PREMIUM_VIDEO", "video": {"videoUrl": "https://tv.kakao.com/v/1"}},
            {"text": "영상\n\n보기"},
        ),
        (
            {
                "buttons": [
                    {"linkType": "AC"},
                    {"name": "b", "linkType": "AL", "linkIos": "app://x"},
                ]
            },
            {"text": "x"},
        ),
    ):
        assert build("BMS_FREE", options, **fields).type is MessageType.BMS_FREE


# -- voice, fax, Naver ---------------------------------------------------------------------------
@pytest.mark.rule("SOLAPI-VOICE-OPTIONS", "SOLAPI-VOICE-RULES")
def test_voice_defaults_exclusions_and_warnings() -> None:
    assert build("VOICE", None, text="x").options == {"voiceType": "FEMALE"}
    message = build("VOICE", {"counselorNumber": "02-123-4567", "tailMessage": "끝"}, text="x")
    assert message.options["counselorNumber"] == "021234567"
    assert [w.code for w in message.warnings] == ["TAIL_WITHOUT_HEADER"]
    for options, field in (
        ({"replyRange": 2, "counselorNumber": "0212345678"}, "options.counselorNumber"),
        ({"replyRange": 2.5}, "options.replyRange"),
        ({"counselorNumber": "1234"}, "options.counselorNumber"),
        ({"headerMessage": "가" * 136}, "options.headerMessage"),
    ):
        assert refused("VOICE", options, text="x").field == field
    assert refused("VOICE", None).code == "MISSING_TEXT"
    assert refused("VOICE", None, text="가" * 1001).code == "TEXT_TOO_LONG"
    assert refused("VOICE", None, text="x", template_id="T").code == "TEMPLATE_NOT_ALLOWED"


def test_fax_files_come_from_flags_and_options() -> None:
    message = build("FAX", {"files": ["b.pdf", "a.pdf"]}, to="02-1234-5678", files=("a.pdf",))
    assert message.files == ("a.pdf", "b.pdf") and message.options == {}
    assert describe(message) == ["2 document(s): a.pdf, b.pdf"]
    assert refused("FAX", None, files=("a.docx",)).code == "FILE_FORMAT"
    assert refused("FAX", None, files=tuple(f"{n}.pdf" for n in range(11))).code == "NOT_ALLOWED"
    assert refused("FAX", {"files": "a.pdf"}).field == "options.files"
    assert refused("FAX", None, files=("a.pdf",), image="x.jpg").code == "IMAGE_NOT_ALLOWED"


def test_naver_smart_alert() -> None:
    message = build("NSA", {"talkId": "W1"}, template_id="T1", variables={"n": "1"})
    assert message.options == {"talkId": "W1", "disableSms": True}
    assert describe(message) == ["template T1", "talk W1"]
    buttons = {"buttons": [{"buttonName": "b", "buttonType": "WL", "linkMo": "nope"}]}
    assert refused("NSA", buttons, template_id="T1").field == "options.buttons[0].linkMo"
    assert refused("NSA", None).code == "MISSING_TEMPLATE"
    assert refused("NSA", None, template_id="T1", failover_text="x").code == "FAILOVER_NOT_ALLOWED"


def test_template_without_type_stays_alimtalk() -> None:
    assert build(None, None, template_id="T1").type is MessageType.ALIMTALK


# -- fallback table --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "code", "text", "expected"),
    [
        ("ALIMTALK", "3104", None, True),
        ("ALIMTALK", "3102", None, False),
        ("BMS_FREE", "3102", None, True),
        ("BMS_WIDE", "3107", None, True),
        ("BMS_FREE", "3043", None, False),
        ("BMS_FREE", "9999", "카카오톡 미사용자", True),
        ("RCS_LMS", "3043", None, True),
        ("RCS_TPL", "3050", None, True),
        ("RCS_LMS", "3104", None, False),
        ("RCS_SMS", "3047", None, False),
        ("RCS_SMS", None, "미사용자", False),
        ("VOICE", "3043", None, False),
        ("SMS", "3104", None, False),
        ("NOT_A_TYPE", "3104", None, False),
    ],
)
def test_which_failures_fall_back(
    kind: str, code: str | None, text: str | None, expected: bool
) -> None:
    assert unreachable(kind, "solapi", code, text) is expected


def test_extra_codes_per_channel() -> None:
    assert unreachable("RCS_SMS", "solapi", "3047", None, rcs_codes=("3047",))
    assert not unreachable("RCS_SMS", "solapi", "3047", None, kakao_codes=("3047",))
    assert unreachable("BMS_FREE", "solapi", "3108", None, kakao_codes=("3108",))
    assert falls_back("RCS_MMS") and falls_back("ALIMTALK") and not falls_back("FAX")


def test_content_keys_tell_channel_options_and_documents_apart(tmp_path: Path) -> None:
    from kmsg_cli.content import content_key

    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    first.write_bytes(b"%PDF-1 one")
    second.write_bytes(b"%PDF-1 two")
    fax_a = content_key(build("FAX", None, files=(str(first),)), "p")
    assert fax_a != content_key(build("FAX", None, files=(str(second),)), "p")
    second.write_bytes(b"%PDF-1 one")  # the same document under another name
    assert fax_a == content_key(build("FAX", None, files=(str(second),)), "p")
    to_friends = content_key(build("BMS_FREE", {"targeting": "I"}, text="x"), "p")
    assert to_friends != content_key(build("BMS_FREE", {"targeting": "M"}, text="x"), "p")
    assert to_friends == content_key(build("BMS_FREE", None, text="x"), "p")  # I is the default
