"""RCS, Brand Message, voice, fax and Naver messages end to end: `kmsg send` / `send-many`
against the fake SOLAPI server (request shapes, uploads, options), checks that refuse a
message before any request, dry runs on the mock, and routing without SOLAPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli_channel_fallback import solapi_config
from tests.cli.test_cli_solapi import env_only
from tests.conftest import Run
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

fake_solapi = fixtures.fake_solapi

SENDER = "0212345678"
PF_ID = "KA01PF0000000000000000000000"
BRAND = "BR.FAKE0001"
TALK = "WA.FAKE0001"
TO = ("--to", "010-1234-5678")
JPEG = b"\xff\xd8\xff\xe0" + bytes(1024)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(1024)


@pytest.fixture
def solapi(fake_solapi: FakeSolapi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSolapi:
    """A profile `live` on the fake with a Kakao channel, an RCS brand and a Naver talk id."""
    config = solapi_config(fake_solapi, tmp_path / "config.toml", env_secret=True)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    monkeypatch.setenv("SOLAPI_API_SECRET", DEFAULT_API_SECRET)
    return fake_solapi


def entries(fake: FakeSolapi) -> list[dict[str, Any]]:
    """Every messages[] entry kmsg sent, in order."""
    return [
        entry
        for record in fake.requests
        if record["path"] == "/messages/v4/send-many/detail"
        for entry in record["body"]["messages"]
    ]


def uploads(fake: FakeSolapi) -> list[str]:
    """The file types kmsg uploaded, in order."""
    return [r["body"]["type"] for r in fake.requests if r["path"] == "/storage/v1/files"]


def options_file(tmp_path: Path, options: dict[str, Any], name: str = "options.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(options, ensure_ascii=False), encoding="utf-8")
    return str(path)


def image(tmp_path: Path, name: str, data: bytes = JPEG) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# -- RCS -----------------------------------------------------------------------------------------
@pytest.mark.rule("SOLAPI-RCS-TYPES", "SOLAPI-RCS-OPTIONS")
def test_rcs_sms_uses_the_brand_of_the_provider_and_asks_for_no_vendor_fallback(
    run: Run, solapi: FakeSolapi
) -> None:
    code, doc = run.json("send", *TO, "--type", "RCS_SMS", "--text", "예약이 확정되었습니다")
    assert code == 0, doc
    (entry,) = entries(solapi)
    assert entry["type"] == "RCS_SMS" and entry["from"] == SENDER
    assert entry["text"] == "예약이 확정되었습니다"
    assert entry["rcsOptions"] == {"brandId": BRAND, "disableSms": True}
    (stored,) = solapi.accepted_messages()
    assert stored["rcsOptions"]["brandId"] == BRAND and stored["type"] == "RCS_SMS"
    (row,) = run.rows()
    assert row["type"] == "RCS_SMS" and row["provider_message_id"] == stored["messageId"]


@pytest.mark.rule("SOLAPI-RCS-MMSTYPE", "SOLAPI-RCS-ADDBODY", "SOLAPI-RCS-BUTTONS")
def test_rcs_mms_uploads_its_images_and_sends_cards_buttons_and_flags(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    options = {
        "mmsType": "M3",
        "copyAllowed": False,
        "commercialType": True,
        "buttons": [
            {"buttonName": "지도", "buttonType": "ML", "latitude": "37.5", "longitude": "127"}
        ],
        "additionalBody": [
            {
                "title": f"카드 {n}",
                "description": "설명",
                "image": image(tmp_path, f"c{n}.png", PNG),
            }
            for n in (1, 2)
        ],
    }
    result = run(
        "send",
        *TO,
        "--type",
        "RCS_MMS",
        "--rcs-brand",
        "BR.FAKE0001",
        "--subject",
        "신상품",
        "--text",
        "새 상품을 소개합니다",
        "--image",
        image(tmp_path, "main.jpg"),
        "--options",
        options_file(tmp_path, options),
    )
    assert result.exit_code == 0, result.stderr
    assert uploads(solapi) == ["RCS", "RCS", "RCS"]
    (entry,) = entries(solapi)
    rcs = entry["rcsOptions"]
    assert entry["subject"] == "신상품" and entry["imageId"].startswith("ST01")
    assert rcs["mmsType"] == "M3" and rcs["copyAllowed"] is False and rcs["commercialType"] is True
    assert [card["imageId"][:4] for card in rcs["additionalBody"]] == ["ST01", "ST01"]
    assert all("image" not in card for card in rcs["additionalBody"])  # local paths never sent
    assert rcs["buttons"][0]["buttonType"] == "ML"
    assert len(solapi.accepted_messages()) == 1


def test_rcs_template_sends_template_id_and_variables(run: Run, solapi: FakeSolapi) -> None:
    result = run(
        "send", *TO, "--type", "RCS_TPL", "--template", "RCS_TPL_1", "--var", "name=홍길동"
    )
    assert result.exit_code == 0, result.stderr
    (entry,) = entries(solapi)
    assert entry["rcsOptions"]["templateId"] == "RCS_TPL_1"
    assert entry["rcsOptions"]["variables"] == {"#{name}": "홍길동"}
    assert "text" not in entry


TWO_FALLBACKS = ["--type", "RCS_SMS", "--text", "x", "--fallback-text", "대체", "--options"]
TWO_FALLBACKS.append('{"disableSms": false}')


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (["--type", "RCS_SMS", "--text", "가" * 46], "TEXT_TOO_LONG", "text"),
        (["--type", "RCS_SMS", "--text", "x", "--subject", "s"], "NOT_ALLOWED", "subject"),
        (
            ["--type", "RCS_LMS", "--text", "x", "--template", "T"],
            "TEMPLATE_NOT_ALLOWED",
            "template",
        ),
        (["--type", "RCS_TPL"], "MISSING_TEMPLATE", "template"),
        (["--type", "RCS_MMS", "--text", "x"], "MISSING_IMAGE", "image"),
        (
            ["--type", "RCS_LMS", "--text", "x", "--options", '{"mmsType": "M3"}'],
            "INVALID_OPTION",
            "options.mmsType",
        ),
        (
            [
                "--type",
                "RCS_LMS",
                "--text",
                "x",
                "--options",
                '{"buttons": [{"buttonType": "WL"}]}',
            ],
            "MISSING_OPTION",
            "options.buttons[0].buttonName",
        ),
        (
            TWO_FALLBACKS,
            "FAILOVER_CONFLICT",
            "options.disableSms",
        ),
        (
            ["--type", "RCS_SMS", "--text", "x", "--options", '{"brandId": 7}'],
            "INVALID_OPTION",
            "options.brandId",
        ),
    ],
    ids=[
        "sms-too-long",
        "sms-subject",
        "template-on-lms",
        "tpl-without-template",
        "mms-without-image",
        "mms-type-on-lms",
        "button-without-name",
        "two-fallbacks",
        "brand-not-a-string",
    ],
)
def test_rcs_rules_refuse_before_any_request(
    run: Run, solapi: FakeSolapi, tmp_path: Path, args: list[str], code: str, field: str
) -> None:
    assert_refused(run, solapi, tmp_path, args, code, field)


def assert_refused(
    run: Run, fake: FakeSolapi, tmp_path: Path, args: list[str], code: str, field: str
) -> None:
    """`kmsg send` exits 2 with `code` naming `field`, and nothing reached the vendor; an
    argument that is a JSON object is written to an options file first."""
    args = [options_file(tmp_path, json.loads(a)) if a.startswith("{") else a for a in args]
    status, doc = run.json("send", *TO, *args)
    assert status == 2, doc
    assert doc["error"]["code"] == code and doc["error"]["field"] == field
    assert fake.requests == []


@pytest.mark.parametrize(
    ("line", "kind", "setting", "own"),
    [
        (f'kakao_pf_id = "{PF_ID}"', ("--type", "BMS_FREE", "--text", "x"), "kakao_pf_id", ()),
        (
            f'rcs_brand_id = "{BRAND}"',
            ("--type", "RCS_SMS", "--text", "x"),
            "rcs_brand_id",
            ("--rcs-brand", BRAND),
        ),
        (
            f'naver_talk_id = "{TALK}"',
            ("--type", "NSA", "--template", "NSA_TPL_1", "--var", "order=A-1"),
            "naver_talk_id",
            None,  # an options file's talkId: below
        ),
    ],
    ids=["bms-channel", "rcs-brand", "nsa-talk-id"],
)
def test_a_channel_without_its_account_setting_is_a_config_error(
    run: Run,
    solapi: FakeSolapi,
    tmp_path: Path,
    line: str,
    kind: tuple[str, ...],
    setting: str,
    own: tuple[str, ...] | None,
) -> None:
    config = tmp_path / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert line in text
    config.write_text(text.replace(line + "\n", ""), encoding="utf-8")
    result = run("send", *TO, *kind)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: MISSING_SETTING: provider 'solapi' has no {setting}, needed for {kind[1]}"
    )
    assert solapi.requests == []
    # the hint names the message's own option where there is one
    hint = result.stderr.splitlines()[1]
    assert hint.startswith(f'hint: set {setting} = "env:SOLAPI_')
    assert ("--rcs-brand ID" in hint) == (setting == "rcs_brand_id")
    assert ("talkId in --options" in hint) == (setting == "naver_talk_id")
    # the message's own option is enough where there is one
    if own is None:
        own = ("--options", options_file(tmp_path, {"talkId": TALK}))
    if own:
        assert run("send", *TO, *kind, *own).exit_code == 0


def test_a_channel_id_that_is_an_unset_env_reference_names_the_variable_to_export(
    run: Run, solapi: FakeSolapi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file sets kakao_pf_id, to a variable this shell lacks: "has no kakao_pf_id, set it"
    # would send the operator to a line that is already there.
    config = tmp_path / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert f'kakao_pf_id = "{PF_ID}"' in text
    config.write_text(
        text.replace(f'kakao_pf_id = "{PF_ID}"', 'kakao_pf_id = "env:KAKAO_CHANNEL_OF_SHOP"'),
        encoding="utf-8",
    )
    monkeypatch.delenv("KAKAO_CHANNEL_OF_SHOP", raising=False)
    status, doc = run.json("send", *TO, "--type", "BMS_FREE", "--text", "신상품 입고 안내")
    assert status == 2, doc
    error = doc["error"]
    assert error["code"] == "MISSING_SETTING" and error["field"] == "kakao_pf_id"
    assert error["message"].endswith("needed for BMS_FREE: env:KAKAO_CHANNEL_OF_SHOP is not set")
    assert error["value"] == "env:KAKAO_CHANNEL_OF_SHOP"
    assert error["hint"] == "export KAKAO_CHANNEL_OF_SHOP=..."
    assert solapi.requests == []
    monkeypatch.setenv("KAKAO_CHANNEL_OF_SHOP", PF_ID)
    status, doc = run.json("send", *TO, "--type", "BMS_FREE", "--text", "신상품 입고 안내")
    assert status == 0, doc
    assert entries(solapi)[0]["kakaoOptions"]["pfId"] == PF_ID


def test_environment_only_mode_names_the_channel_variable_to_export(
    run: Run, fake_solapi: FakeSolapi, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_only(monkeypatch, fake_solapi.base_url)
    monkeypatch.delenv("KMSG_CONFIG", raising=False)
    monkeypatch.delenv("SOLAPI_KAKAO_PF_ID", raising=False)
    result = run("send", *TO, "--type", "BMS_FREE", "--text", "x")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: MISSING_SETTING: provider 'solapi' has no kakao_pf_id, needed for BMS_FREE: "
        "env:SOLAPI_KAKAO_PF_ID is not set",
        "hint: export SOLAPI_KAKAO_PF_ID=...",
    ]
    assert fake_solapi.requests == []


# -- Brand Message -------------------------------------------------------------------------------
@pytest.mark.rule("SOLAPI-BMS-TYPES", "SOLAPI-BMS-OPTIONS", "SOLAPI-BMS-TARGETING")
def test_bms_free_from_flags_alone_is_a_text_bubble_for_targeting_i(
    run: Run, solapi: FakeSolapi
) -> None:
    result = run("send", "--type", "BMS_FREE", *TO, "--text", "신상품이 입고되었습니다")
    assert result.exit_code == 0, result.stderr
    (entry,) = entries(solapi)
    assert entry["type"] == "BMS_FREE" and entry["text"] == "신상품이 입고되었습니다"
    assert entry["kakaoOptions"] == {
        "pfId": PF_ID,
        "bms": {"targeting": "I", "chatBubbleType": "TEXT"},
    }
    assert solapi.accepted_messages()[0]["type"] == "BMS_FREE"


def test_bms_image_bubble_uploads_a_bms_file(run: Run, solapi: FakeSolapi, tmp_path: Path) -> None:
    options = {
        "adult": False,
        "imageLink": "https://example.com/sale",
        "coupon": {"title": "10% 할인 쿠폰", "description": "이번 주만"},
        "buttons": [{"name": "보러 가기", "linkType": "WL", "linkMobile": "https://example.com"}],
    }
    result = run(
        "send",
        "--type",
        "BMS_FREE",
        *TO,
        "--text",
        "봄 세일",
        "--image",
        image(tmp_path, "sale.jpg"),
        "--targeting",
        "m",
        "--options",
        options_file(tmp_path, options),
    )
    assert result.exit_code == 0, result.stderr
    assert uploads(solapi) == ["BMS"]
    bms = entries(solapi)[0]["kakaoOptions"]["bms"]
    assert bms["chatBubbleType"] == "IMAGE" and bms["targeting"] == "M"
    assert bms["imageId"].startswith("ST01") and bms["coupon"]["title"] == "10% 할인 쿠폰"


@pytest.mark.rule("SOLAPI-BMS-IMAGES", "SOLAPI-BMS-CAROUSEL", "SOLAPI-BMS-COMMERCE")
def test_bms_wide_item_list_and_carousels_upload_each_image_as_its_type(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    wide = image(tmp_path, "main.jpg")
    sub = image(tmp_path, "sub.png", PNG)
    item_list = {
        "chatBubbleType": "WIDE_ITEM_LIST",
        "header": "이번 주 베스트",
        "mainWideItem": {"title": "원두", "image": wide, "linkMobile": "https://example.com/1"},
        "subWideItemList": [
            {"title": f"상품 {n}", "image": sub, "linkMobile": f"https://example.com/{n}"}
            for n in (2, 3, 4)
        ],
    }
    card = {
        "commerce": {"title": "스피커", "regularPrice": "129000", "discountPrice": 99000}
        | {"discountRate": 23},
        "image": wide,
        "buttons": [{"name": "구매", "linkType": "WL", "linkMobile": "https://example.com"}],
    }
    carousel = {"chatBubbleType": "CAROUSEL_COMMERCE", "carousel": {"list": [card, card]}}
    for options in (item_list, carousel):
        result = run(
            "send", "--type", "BMS_FREE", *TO, "--options", options_file(tmp_path, options)
        )
        assert result.exit_code == 0, result.stderr
    assert uploads(solapi) == [
        "BMS_WIDE_MAIN_ITEM_LIST",
        "BMS_WIDE_SUB_ITEM_LIST",
        "BMS_CAROUSEL_COMMERCE_LIST",
    ]  # the sub image is uploaded once for its three items, the card image once for two cards
    first, second = entries(solapi)
    subs = first["kakaoOptions"]["bms"]["subWideItemList"]
    assert len({item["imageId"] for item in subs}) == 1 and "text" not in first
    cards = second["kakaoOptions"]["bms"]["carousel"]["list"]
    assert cards[0]["commerce"]["regularPrice"] == 129000  # a number on the wire
    assert len(solapi.accepted_messages()) == 2


@pytest.mark.rule("SOLAPI-BMS-TYPES")
def test_bms_template_type_sends_template_variables_and_targeting(
    run: Run, solapi: FakeSolapi
) -> None:
    result = run(
        "send", "--type", "BMS_WIDE", *TO, "--template", "BMS_TPL_1", "--var", "name=홍길동"
    )
    assert result.exit_code == 0, result.stderr
    (entry,) = entries(solapi)
    assert entry["type"] == "BMS_WIDE"
    assert entry["kakaoOptions"]["templateId"] == "BMS_TPL_1"
    assert entry["kakaoOptions"]["variables"] == {"#{name}": "홍길동"}
    assert entry["kakaoOptions"]["bms"] == {"targeting": "I", "chatBubbleType": "WIDE"}


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (["--type", "BMS_FREE"], "MISSING_TEXT", "text"),
        (
            ["--type", "BMS_FREE", "--text", "x", "--targeting", "Z"],
            "INVALID_OPTION",
            "options.targeting",
        ),
        (["--type", "BMS_FREE", "--text", "가" * 1301], "TEXT_TOO_LONG", "text"),
        (["--type", "BMS_TEXT", "--text", "x"], "MISSING_TEMPLATE", "template"),
        (
            ["--type", "BMS_FREE", "--text", "x", "--template", "T"],
            "TEMPLATE_NOT_ALLOWED",
            "template",
        ),
        (
            ["--type", "BMS_FREE", "--options", '{"chatBubbleType": "COMMERCE"}'],
            "MISSING_OPTION",
            "options.commerce",
        ),
        (
            ["--type", "BMS_FREE", "--text", "x", "--options", '{"header": "h"}'],
            "INVALID_OPTION",
            "options.header",
        ),
        (
            [
                "--type",
                "BMS_FREE",
                "--text",
                "x",
                "--options",
                '{"coupon": {"title": "공짜", "description": "d"}}',
            ],
            "INVALID_OPTION",
            "options.coupon.title",
        ),
        (
            [
                "--type",
                "BMS_FREE",
                "--text",
                "x",
                "--options",
                '{"buttons": [{"name": "#{x}", "linkType": "BK"}]}',
            ],
            "INVALID_OPTION",
            "options.buttons[0].name",
        ),
        (
            [
                "--type",
                "BMS_FREE",
                "--options",
                '{"chatBubbleType": "PREMIUM_VIDEO", "video": {"videoUrl": "https://youtu.be/x"}}',
            ],
            "INVALID_OPTION",
            "options.video.videoUrl",
        ),
    ],
    ids=[
        "text-bubble-without-text",
        "bad-targeting",
        "text-too-long",
        "template-type-without-template",
        "template-on-free",
        "commerce-without-commerce",
        "field-the-bubble-refuses",
        "coupon-title",
        "variable-in-button-name",
        "video-not-kakao-tv",
    ],
)
def test_bms_rules_refuse_before_any_request(
    run: Run, solapi: FakeSolapi, tmp_path: Path, args: list[str], code: str, field: str
) -> None:
    assert_refused(run, solapi, tmp_path, args, code, field)


def test_a_template_type_without_template_points_to_the_free_form(
    run: Run, solapi: FakeSolapi
) -> None:
    result = run("send", "--type", "BMS_TEXT", *TO, "--text", "신상품 입고")
    assert result.exit_code == 2 and "MISSING_TEMPLATE" in result.stderr
    assert "--type BMS_FREE for your own text" in result.stderr
    result = run("send", "--type", "RCS_TPL", *TO, "--text", "x")
    assert result.exit_code == 2 and "MISSING_TEMPLATE" in result.stderr
    assert "BMS_FREE" not in result.stderr  # only a Brand Message has a free form
    assert entries(solapi) == []


def test_a_gif_goes_as_mms_but_not_as_a_brand_message_image(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    gif = image(tmp_path, "p.gif", b"GIF89a" + bytes(10))
    result = run("send", "--type", "BMS_FREE", *TO, "--text", "x", "--image", gif)
    assert result.exit_code == 2 and "IMAGE_FORMAT" in result.stderr
    assert uploads(solapi) == []
    assert run("send", *TO, "--text", "x", "--image", gif).exit_code == 0
    png = image(tmp_path, "p.png", PNG)
    assert run("send", "--type", "BMS_FREE", *TO, "--text", "x", "--image", png).exit_code == 0
    assert uploads(solapi) == ["MMS", "BMS"]


# -- voice, fax, Naver ---------------------------------------------------------------------------
@pytest.mark.rule("SOLAPI-VOICE-OPTIONS")
def test_voice_sends_voice_options_with_the_chosen_voice(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    options = {"headerMessage": "안내 말씀 드립니다", "tailMessage": "감사합니다", "replyRange": 2}
    result = run(
        "send",
        *TO,
        "--type",
        "VOICE",
        "--voice",
        "male",
        "--text",
        "내일 점검이 있습니다",
        "--options",
        options_file(tmp_path, options),
    )
    assert result.exit_code == 0, result.stderr
    (entry,) = entries(solapi)
    assert entry["type"] == "VOICE" and entry["text"] == "내일 점검이 있습니다"
    assert entry["voiceOptions"] == {
        "voiceType": "MALE",
        "headerMessage": "안내 말씀 드립니다",
        "tailMessage": "감사합니다",
        "replyRange": 2,
    }


def test_voice_defaults_to_a_female_voice(run: Run, solapi: FakeSolapi) -> None:
    assert run("send", *TO, "--type", "VOICE", "--text", "안녕하세요").exit_code == 0
    assert entries(solapi)[0]["voiceOptions"] == {"voiceType": "FEMALE"}


@pytest.mark.parametrize(
    ("options", "code", "field"),
    [
        (
            {"replyRange": 3, "counselorNumber": "02-1234-5678"},
            "INVALID_OPTION",
            "options.counselorNumber",
        ),
        ({"headerMessage": "가" * 136}, "INVALID_OPTION", "options.headerMessage"),
        ({"replyRange": 10}, "INVALID_OPTION", "options.replyRange"),
        ({"voiceType": "ROBOT"}, "INVALID_OPTION", "options.voiceType"),
        ({"speed": 2}, "INVALID_OPTION", "options.speed"),
    ],
    ids=["reply-and-counselor", "header-too-long", "reply-range", "voice", "unknown-option"],
)
def test_voice_rules_refuse_before_any_request(
    run: Run, solapi: FakeSolapi, tmp_path: Path, options: dict[str, Any], code: str, field: str
) -> None:
    args = ["--type", "VOICE", "--text", "x", "--options", json.dumps(options)]
    assert_refused(run, solapi, tmp_path, args, code, field)


@pytest.mark.rule("SOLAPI-FAX-OPTIONS")
def test_fax_uploads_each_document_as_a_fax_file(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    first = tmp_path / "contract.pdf"
    first.write_bytes(b"%PDF-1.4\n" + bytes(2048))
    second = tmp_path / "scan.tif"
    second.write_bytes(b"II*\x00" + bytes(2048))
    result = run(
        "send", "--type", "FAX", "--to", "02-3456-7890", "--file", str(first), "--file", str(second)
    )
    assert result.exit_code == 0, result.stderr
    assert uploads(solapi) == ["FAX", "FAX"]
    (entry,) = entries(solapi)
    assert entry["type"] == "FAX" and entry["to"] == "0234567890" and entry["from"] == SENDER
    assert len(entry["faxOptions"]["fileIds"]) == 2 and "text" not in entry
    # what it sent is told by its documents (it has no text), and a fax number is a landline
    assert "FAX (2 documents)" in result.stdout and "NOT_MOBILE" not in result.stderr


def test_fax_files_are_checked_before_anything_is_uploaded(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    good = tmp_path / "a.pdf"
    good.write_bytes(b"%PDF-1.4\n")
    fake_pdf = tmp_path / "b.pdf"
    fake_pdf.write_bytes(b"MZ not a pdf")
    big = tmp_path / "c.pdf"
    big.write_bytes(b"%PDF" + bytes(2 * 1024 * 1024))
    for args, code in (
        (["--file", str(good), "--file", str(fake_pdf)], "FILE_FORMAT"),
        (["--file", str(big)], "IMAGE_TOO_LARGE"),
        (["--file", str(tmp_path / "missing.pdf")], "FILE_NOT_FOUND"),
        (["--file", str(tmp_path / "a.docx")], "FILE_FORMAT"),
        ([], "MISSING_FILE"),
        (["--file", str(good), "--subject", "s"], "NOT_ALLOWED"),
    ):
        status, doc = run.json("send", "--type", "FAX", "--to", "02-3456-7890", *args)
        assert status == 2 and doc["error"]["code"] == code, (args, doc)
    assert solapi.requests == []


def test_file_is_refused_for_another_type(run: Run, solapi: FakeSolapi, tmp_path: Path) -> None:
    status, doc = run.json("send", *TO, "--text", "x", "--file", str(tmp_path / "a.pdf"))
    assert status == 2 and doc["error"]["code"] == "OPTIONS_NOT_ALLOWED"
    status, doc = run.json("send", *TO, "--text", "x", "--voice", "MALE")
    assert status == 2 and doc["error"]["code"] == "OPTIONS_NOT_ALLOWED"


@pytest.mark.rule("SOLAPI-NSA-OPTIONS")
def test_naver_smart_alert_uses_the_talk_id_and_template(run: Run, solapi: FakeSolapi) -> None:
    result = run("send", *TO, "--type", "NSA", "--template", "NSA_TPL_1", "--var", "order=A-1")
    assert result.exit_code == 0, result.stderr
    (entry,) = entries(solapi)
    assert entry["naverOptions"] == {
        "talkId": TALK,
        "disableSms": True,
        "templateId": "NSA_TPL_1",
        "variables": {"#{order}": "A-1"},
    }
    status, doc = run.json("send", *TO, "--type", "NSA")
    assert status == 2 and doc["error"]["code"] == "MISSING_TEMPLATE"


def test_the_vendor_refusing_an_unknown_template_is_reported_per_message(
    run: Run, solapi: FakeSolapi
) -> None:
    status, doc = run.json("send", *TO, "--type", "NSA", "--template", "NOPE")
    assert status == 3
    (result,) = doc["data"]["results"]
    assert result["error"]["code"] == "TEMPLATE_NOT_FOUND" and "1042" in result["error"]["message"]
    assert run.rows() == []


# -- send-many, queue and schedule ----------------------------------------------------------------
def test_send_many_jsonl_rows_of_mixed_types_with_per_row_options(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    rows = [
        {"to": "010-1000-0001", "text": "문자"},
        {"to": "010-1000-0002", "type": "RCS_LMS", "text": "RCS #{name}", "name": "철수"},
        {
            "to": "010-1000-0003",
            "type": "BMS_FREE",
            "text": "브랜드",
            "options": {"targeting": "N"},
        },
        {"to": "010-1000-0004", "type": "VOICE", "text": "음성", "options": {"voiceType": "MALE"}},
        {"to": "02-1000-0005", "type": "FAX", "options": {"files": [str(pdf)]}},
        {
            "to": "010-1000-0006",
            "type": "NSA",
            "template": "NSA_TPL_1",
            "options": '{"disableSms": false}',
        },
        {"to": "010-1000-0007", "type": "VOICE", "text": "x", "options": {"replyRange": 0}},
    ]
    source = tmp_path / "mixed.jsonl"
    source.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    result = run("send-many", str(source))
    assert result.exit_code == 5, result.stdout + result.stderr
    assert (
        "row 7 (line 7): INVALID_OPTION" in result.stderr and "options.replyRange" in result.stderr
    )
    sent = {entry["to"]: entry for entry in entries(solapi)}
    assert [sent[f"0101000000{n}"]["type"] for n in (1, 2, 3, 4, 6)] == [
        "SMS",
        "RCS_LMS",
        "BMS_FREE",
        "VOICE",
        "NSA",
    ]
    assert sent["01010000002"]["text"] == "RCS 철수"
    assert sent["01010000003"]["kakaoOptions"]["bms"]["targeting"] == "N"
    assert sent["01010000004"]["voiceOptions"]["voiceType"] == "MALE"
    assert len(sent["0210000005"]["faxOptions"]["fileIds"]) == 1
    assert sent["01010000006"]["naverOptions"]["disableSms"] is False
    assert len(solapi.accepted_messages()) == 6
    assert {r["type"] for r in run.rows()} == {"SMS", "RCS_LMS", "BMS_FREE", "VOICE", "FAX", "NSA"}


def test_send_many_csv_options_column_holds_json(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    source = tmp_path / "rcs.csv"
    source.write_text(
        "to,type,text,options\n"
        '010-2000-0001,RCS_SMS,hello,"{""copyAllowed"": true}"\n'
        "010-2000-0002,BMS_FREE,hi,\n"
        "010-2000-0003,VOICE,hi,not json\n",
        encoding="utf-8",
    )
    result = run("send-many", str(source))
    assert result.exit_code == 5
    assert "row 3 (line 4): INVALID_OPTIONS" in result.stderr
    first, second = entries(solapi)
    assert first["rcsOptions"]["copyAllowed"] is True
    assert second["kakaoOptions"]["bms"] == {"targeting": "I", "chatBubbleType": "TEXT"}


def test_queued_and_scheduled_channel_messages_keep_their_options(
    run: Run, solapi: FakeSolapi, tmp_path: Path
) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    result = run(
        "send", "--type", "FAX", "--to", "02-3456-7890", "--file", str(pdf), "--queue", "--id", "f1"
    )
    assert result.exit_code == 0, result.stderr
    assert solapi.requests == []
    (job,) = run.rows("SELECT data FROM kmsg_jobs")
    assert json.loads(job["data"])["message"]["files"] == [str(pdf)]
    assert run("queue", "process", "--drain").exit_code == 0
    assert entries(solapi)[0]["faxOptions"]["fileIds"]
    code, doc = run.json("send", *TO, "--type", "VOICE", "--text", "x", "--at", "+2h")
    assert code == 0, doc
    later = [r for r in solapi.requests if r["path"].endswith("send-many/detail")][-1]
    assert later["body"]["scheduledDate"].endswith("Z")
    assert later["body"]["messages"][0]["voiceOptions"] == {"voiceType": "FEMALE"}


# -- dry runs on the mock, routing ----------------------------------------------------------------
def test_dry_run_on_the_mock_shows_the_checks_of_each_type(run: Run, tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    cases = [
        (["--type", "BMS_FREE", "--text", "안녕", "--fallback-text", "안녕(문자)"], "TEXT bubble"),
        (["--type", "RCS_SMS", "--text", "x", "--rcs-brand", "B1"], "brand B1"),
        (["--type", "VOICE", "--text", "x", "--voice", "MALE"], "voice MALE"),
        (["--type", "FAX", "--to", "02-1234-5678", "--file", str(pdf)], "1 document(s): doc.pdf"),
        (["--type", "NSA", "--template", "T1"], "template T1"),
    ]
    for args, shown in cases:
        recipient = [] if "--to" in args else list(TO)
        code, doc = run.json("send", *recipient, *args, "--dry-run")
        assert code == 0, doc
        (message,) = doc["data"]["messages"]
        assert message["provider_id"] == "mock"
        assert shown in message["checks"], message
        result = run("send", *recipient, *args, "--dry-run")
        assert shown in result.stdout and "checks" in result.stdout
    assert not run.db.exists()  # a dry run writes nothing
    code, doc = run.json("send", *TO, "--type", "BMS_FREE", "--text", "x", "--dry-run")
    assert doc["data"]["messages"][0]["options"] == {"targeting": "I", "chatBubbleType": "TEXT"}


def test_a_profile_without_solapi_cannot_send_rcs_and_says_who_can(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        """
default_profile = "sms"
[profiles.sms.routing]
RCS_SMS = "aligo"
[profiles.sms.providers.aligo]
type = "aligo"
api_key = "k"
user_id = "u"
[profiles.sms.providers.iwinv]
type = "iwinv"
api_key = "k"
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    for extra in ([], ["--provider", "aligo"]):
        status, doc = run.json("send", *TO, "--type", "RCS_SMS", "--text", "x", *extra)
        assert status == 4, doc
        assert "only solapi sends RCS_SMS" in doc["error"]["message"]
    _, doc = run.json("providers", "list")
    types = {row["id"]: set(row["types"]) for row in doc["data"]["providers"]}
    assert "BMS_FREE" not in types["aligo"] and "VOICE" not in types["iwinv"]
    assert "FRIENDTALK" in types["aligo"]


def test_routing_by_type_accepts_the_new_types(
    run: Run, fake_solapi: FakeSolapi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
default_profile = "p"
[profiles.p]
default_provider = "demo"
[profiles.p.routing]
bms_free = "live"
VOICE = ["live"]
[profiles.p.providers.demo]
type = "mock"
[profiles.p.providers.live]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "{DEFAULT_API_SECRET}"
sender = "{SENDER}"
kakao_pf_id = "{PF_ID}"
base_url = "{fake_solapi.base_url}"
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    assert run("config", "validate").exit_code == 0
    for kind, provider in (("BMS_FREE", "live"), ("VOICE", "live"), ("RCS_SMS", "demo")):
        code, doc = run.json("send", *TO, "--type", kind, "--text", "x", "--dry-run")
        assert code == 0, doc
        assert doc["data"]["messages"][0]["provider_id"] == provider, kind


def test_send_many_dry_run_previews_the_checks_of_each_row(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_text(
        '{"to": "010-1000-0001", "type": "VOICE", "text": "x", "options": {"voiceType": "MALE"}}\n'
        '{"to": "010-1000-0002", "type": "BMS_FREE", "text": "y", "failover_text": "z"}\n'
        '{"to": "010-1000-0003", "text": "plain"}\n',
        encoding="utf-8",
    )
    code, doc = run.json("send-many", str(source), "--dry-run")
    assert code == 0, doc
    checks = [row["checks"] for row in doc["data"]["preview"]]
    assert checks == [
        ["voice MALE"],
        ["targeting I", "TEXT bubble", "text 1/1300 chars", "fallback SMS by kmsg"],
        [],
    ]
    shown = run("send-many", str(source), "--dry-run").stdout
    assert "VOICE via mock (1 byte): [voice MALE] x" in shown
