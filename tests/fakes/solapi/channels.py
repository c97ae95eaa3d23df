"""The fake SOLAPI's rules for RCS, Brand Message, voice, fax and Naver messages, written from
docs/vendors/solapi.md (the official SDKs' schemas) independently of kmsg's own checks.

Checks (first failure wins; where SOLAPI's status code for a broken option is not documented
the fake answers 1010 for a missing value and 1011 for a malformed one):
- Options of another family (``rcsOptions`` on VOICE, ``voiceOptions`` on SMS, ...) → 1011;
  ``kakaoOptions`` on RCS/VOICE/FAX/NSA → 1033.
- RCS_*: ``from`` required; ``rcsOptions.brandId`` one of ``rcs_brands`` (else 1011);
  ``templateId`` one of ``rcs_templates`` for RCS_TPL/ITPL/LTPL (1042), absent otherwise;
  ``mmsType`` M3..S6 and only on RCS_MMS; buttons ``{buttonName, buttonType}`` with buttonType
  WL/ML/MQ/MR/CA/CL/DL/MS (WL needs ``link``, ML ``latitude``/``longitude``);
  ``additionalBody`` an array of ``{title, description, imageId?, buttons?}``; images are RCS
  files (1023); text: RCS_SMS ≤ 90 bytes, others ≤ 1,300 characters (1031; unverified at SOLAPI).
- BMS_*: ``kakaoOptions.pfId`` known (1041), ``bms.targeting`` I/M/N, ``bms.chatBubbleType``
  required; BMS_FREE: the fields a bubble accepts and requires (SDK constraints), main image of
  file type BMS (IMAGE, COMMERCE) or BMS_WIDE (WIDE), wide items BMS_WIDE_MAIN_ITEM_LIST /
  BMS_WIDE_SUB_ITEM_LIST, carousel cards BMS_CAROUSEL_FEED_LIST / BMS_CAROUSEL_COMMERCE_LIST;
  TEXT needs ``text``; template types need ``templateId`` in ``bms_templates`` (1042) and a
  chatBubbleType matching the type.
- VOICE: ``from`` and ``text``; ``voiceOptions.voiceType`` FEMALE/MALE; ``headerMessage``
  ≤ 135 characters; ``replyRange`` an integer 1–9; ``replyRange`` xor ``counselorNumber``.
- FAX: ``from``; ``faxOptions.fileIds`` a non-empty array of FAX files (1023 otherwise).
- NSA: ``naverOptions.talkId`` in ``naver_talk_ids`` (1011) and ``templateId`` in
  ``naver_templates`` (1042).
- Outcomes: RCS to ``rcs_non_users`` → 3050 (the closest documented code; SOLAPI's RCS code is
  not documented), unless ``disableSms`` is false (SOLAPI's default) and there is a text: then
  replaced by SMS/LMS. Brand Message to ``kakao_non_users`` → 3104, never replaced (SOLAPI
  disables the replacement for Brand Message).
- Uploads: BMS* files and RCS must be JPEG or PNG, FAX PDF/TIFF/JPEG/PNG/GIF (the fake's
  choice: SOLAPI documents no formats for them); BMS* ≤ 500 KiB (unverified).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.fakes._common import cp949_len
from tests.fakes.solapi.state import ApiError, Reject

RCS_TYPES = frozenset({"RCS_SMS", "RCS_LMS", "RCS_MMS", "RCS_TPL", "RCS_ITPL", "RCS_LTPL"})
SENDER_TYPES = frozenset({*RCS_TYPES, "VOICE", "FAX"})  # `from` required
BUBBLES = {
    "BMS_TEXT": "TEXT",
    "BMS_IMAGE": "IMAGE",
    "BMS_WIDE": "WIDE",
    "BMS_WIDE_ITEM_LIST": "WIDE_ITEM_LIST",
    "BMS_CAROUSEL_FEED": "CAROUSEL_FEED",
    "BMS_PREMIUM_VIDEO": "PREMIUM_VIDEO",
    "BMS_COMMERCE": "COMMERCE",
    "BMS_CAROUSEL_COMMERCE": "CAROUSEL_COMMERCE",
}
BMS_TYPES = frozenset({*BUBBLES, "BMS_FREE"})
CHANNEL_TYPES = frozenset({*RCS_TYPES, *BMS_TYPES, "VOICE", "FAX", "NSA"})
_BMS_FILES = ("BMS", "BMS_WIDE", "BMS_WIDE_MAIN_ITEM_LIST", "BMS_WIDE_SUB_ITEM_LIST")
CHANNEL_FILE_LIMITS: Mapping[str, int] = dict.fromkeys(
    (*_BMS_FILES, "BMS_CAROUSEL_FEED_LIST", "BMS_CAROUSEL_COMMERCE_LIST"), 500 * 1024
)
_FAMILY_OPTIONS = {"rcsOptions": RCS_TYPES, "voiceOptions": {"VOICE"}, "faxOptions": {"FAX"}}
_FAMILY_OPTIONS["naverOptions"] = {"NSA"}
_RCS_BUTTONS = {"WL", "ML", "MQ", "MR", "CA", "CL", "DL", "MS"}
_ACCEPTED = {
    "TEXT": {"adult", "content", "buttons", "coupon"},
    "IMAGE": {"adult", "content", "imageId", "imageLink", "buttons", "coupon"},
    "WIDE": {"adult", "content", "imageId", "buttons", "coupon"},
    "WIDE_ITEM_LIST": {"adult", "header", "mainWideItem", "subWideItemList", "buttons", "coupon"},
    "COMMERCE": {"adult", "additionalContent", "imageId", "commerce", "buttons", "coupon"},
    "CAROUSEL_FEED": {"adult", "carousel"},
    "CAROUSEL_COMMERCE": {"adult", "additionalContent", "carousel"},
    "PREMIUM_VIDEO": {"adult", "header", "content", "video", "buttons", "coupon"},
}
_REQUIRED = {
    "IMAGE": ("imageId",),
    "WIDE": ("imageId",),
    "WIDE_ITEM_LIST": ("header", "mainWideItem", "subWideItemList"),
    "COMMERCE": ("imageId", "commerce", "buttons"),
    "CAROUSEL_FEED": ("carousel",),
    "CAROUSEL_COMMERCE": ("carousel",),
    "PREMIUM_VIDEO": ("video",),
}
_MAIN_FILE = {"IMAGE": "BMS", "COMMERCE": "BMS", "WIDE": "BMS_WIDE"}
_MAGIC = {
    "image": (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"),
    "FAX": (b"%PDF", b"II*\x00", b"MM\x00*", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8"),
}


def check_upload(file_type: str, data: bytes) -> None:
    """Format rules of the channel upload types (400 InvalidFileType)."""
    kinds = _MAGIC["FAX"] if file_type == "FAX" else _MAGIC["image"]
    if (file_type in CHANNEL_FILE_LIMITS or file_type in ("RCS", "FAX")) and not any(
        data.startswith(magic) for magic in kinds
    ):
        raise ApiError(400, "InvalidFileType", f"{file_type} files of this format are refused")


class ChannelState:
    """What the fake knows for channel messages (mixed into ``FakeSolapi``; attributes may be
    changed at runtime)."""

    pf_ids: set[str]
    kakao_non_users: set[str]
    _files: dict[str, dict[str, Any]]

    def _init_channels(self) -> None:
        self.rcs_brands: set[str] = {"BR.FAKE0001"}
        self.rcs_templates: set[str] = {"RCS_TPL_1"}
        self.rcs_non_users: set[str] = set()
        self.bms_templates: set[str] = {"BMS_TPL_1"}
        self.naver_talk_ids: set[str] = {"WA.FAKE0001"}
        self.naver_templates: set[str] = {"NSA_TPL_1"}

    # -- registration ------------------------------------------------------------------------
    def channel_needs_text(self, message_type: str, raw: Mapping[str, Any]) -> bool:
        if message_type in ("VOICE", "RCS_SMS", "RCS_LMS", "RCS_MMS"):
            return True
        bms = _dict(_dict(raw.get("kakaoOptions")).get("bms"))
        return message_type == "BMS_FREE" and bms.get("chatBubbleType") == "TEXT"

    def check_channel(self, message_type: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Check a message's channel options; returns the option fields it is stored with."""
        for key, types in _FAMILY_OPTIONS.items():
            if raw.get(key) is not None and message_type not in types:
                raise Reject("1011", f"{key} is not for {message_type}")
        if message_type not in CHANNEL_TYPES:
            return {}
        if raw.get("kakaoOptions") is not None and message_type not in BMS_TYPES:
            raise Reject("1033", f"kakaoOptions is not for {message_type}")
        text = raw.get("text") if isinstance(raw.get("text"), str) else ""
        if message_type in RCS_TYPES:
            return {"rcsOptions": self._rcs(message_type, raw, text)}
        if message_type in BMS_TYPES:
            return {"kakaoOptions": self._bms(message_type, raw, text)}
        if message_type == "VOICE":
            return {"voiceOptions": _voice(raw)}
        if message_type == "FAX":
            options = _required_dict(raw, "faxOptions")
            ids = options.get("fileIds")
            if not isinstance(ids, list) or not ids:
                raise Reject("1010", "faxOptions.fileIds must be a non-empty array")
            for file_id in ids:
                self._file(file_id, "FAX", "faxOptions.fileIds")
            return {"faxOptions": options}
        options = _required_dict(raw, "naverOptions")
        if options.get("talkId") not in self.naver_talk_ids:
            raise Reject("1011", f"unknown talkId {options.get('talkId')!r}")
        if options.get("templateId") not in self.naver_templates:
            raise Reject("1042", f"unknown NSA templateId {options.get('templateId')!r}")
        _variables(options)
        return {"naverOptions": options}

    def channel_outcome(self, fields: Mapping[str, Any], to: str) -> tuple[str, str | None] | None:
        message_type = fields["type"]
        if message_type in RCS_TYPES and to in self.rcs_non_users:
            options = _dict(fields.get("channel", {}).get("rcsOptions"))
            text = fields.get("text")
            if options.get("disableSms") in (False, None) and isinstance(text, str) and text:
                return "4000", "LMS" if cp949_len(text) > 90 else "SMS"
            return "3050", None
        if message_type in BMS_TYPES and to in self.kakao_non_users:
            return "3104", None
        return None

    # -- families ----------------------------------------------------------------------------
    def _file(self, file_id: Any, file_type: str, where: str) -> None:
        stored = self._files.get(file_id) if isinstance(file_id, str) else None
        if stored is None or stored["type"] != file_type:
            raise Reject("1023", f"{where}: no {file_type} file {file_id!r}")

    def _rcs(self, message_type: str, raw: Mapping[str, Any], text: str) -> dict[str, Any]:
        options = _required_dict(raw, "rcsOptions")
        if options.get("brandId") not in self.rcs_brands:
            raise Reject("1011", f"unknown RCS brandId {options.get('brandId')!r}")
        template = options.get("templateId")
        if message_type in ("RCS_TPL", "RCS_ITPL", "RCS_LTPL"):
            if template not in self.rcs_templates:
                raise Reject("1042", f"unknown RCS templateId {template!r}")
            _variables(options)
        elif template is not None:
            raise Reject("1011", f"templateId is not for {message_type}")
        if message_type == "RCS_SMS" and cp949_len(text) > 90:
            raise Reject("1031", f"RCS_SMS text is {cp949_len(text)} bytes (max 90)")
        if len(text) > 1300:
            raise Reject("1031", f"{message_type} text is {len(text)} characters (max 1300)")
        mms = options.get("mmsType")
        if mms is not None and (message_type != "RCS_MMS" or not re.fullmatch(r"[MS][3-6]", mms)):
            raise Reject("1011", f"bad mmsType {mms!r} for {message_type}")
        for flag in ("copyAllowed", "commercialType", "disableSms"):
            if options.get(flag) is not None and not isinstance(options[flag], bool):
                raise Reject("1011", f"rcsOptions.{flag} must be a boolean")
        _rcs_buttons(options.get("buttons"), "rcsOptions.buttons")
        cards = options.get("additionalBody")
        if cards is not None:
            if not isinstance(cards, list):
                raise Reject("1011", "rcsOptions.additionalBody must be an array")
            for card in cards:
                if (
                    not isinstance(card, dict)
                    or not card.get("title")
                    or not card.get("description")
                ):
                    raise Reject("1010", "additionalBody cards need title and description")
                if card.get("imageId") is not None:
                    self._file(card["imageId"], "RCS", "additionalBody.imageId")
                _rcs_buttons(card.get("buttons"), "additionalBody.buttons")
        if raw.get("imageId") is not None:
            self._file(raw["imageId"], "RCS", "imageId")
        return options

    def _bms(self, message_type: str, raw: Mapping[str, Any], text: str) -> dict[str, Any]:
        options = _required_dict(raw, "kakaoOptions")
        if options.get("pfId") not in self.pf_ids:
            raise Reject("1041", f"unknown pfId {options.get('pfId')!r}")
        bms = _dict(options.get("bms"))
        if bms.get("targeting") not in ("I", "M", "N"):
            raise Reject("1010", f"bms.targeting must be I, M or N, not {bms.get('targeting')!r}")
        bubble = bms.get("chatBubbleType")
        if message_type != "BMS_FREE":
            if bubble != BUBBLES[message_type]:
                raise Reject("1011", f"chatBubbleType {bubble!r} does not match {message_type}")
            if options.get("templateId") not in self.bms_templates:
                raise Reject(
                    "1042", f"unknown Brand Message templateId {options.get('templateId')!r}"
                )
            _variables(options)
            return options
        if bubble not in _ACCEPTED:
            raise Reject("1010", f"bms.chatBubbleType {bubble!r} is not a chat bubble")
        extra = {k for k, v in bms.items() if v is not None} - _ACCEPTED[bubble]
        extra -= {"targeting", "chatBubbleType"}
        if extra:
            raise Reject("1011", f"{bubble} does not take {', '.join(sorted(extra))}")
        missing = [key for key in _REQUIRED.get(bubble, ()) if bms.get(key) is None]
        if missing:
            raise Reject("1010", f"{bubble} needs {', '.join(missing)}")
        if bubble == "TEXT" and not text:
            raise Reject("1010", "a TEXT bubble needs text")
        if bubble in ("TEXT", "IMAGE") and len(text) > 1300:
            raise Reject("1031", f"{bubble} text is {len(text)} characters (max 1300)")
        if bubble in _MAIN_FILE:
            self._file(bms.get("imageId"), _MAIN_FILE[bubble], "bms.imageId")
        if bubble == "WIDE_ITEM_LIST":
            self._file(_dict(bms["mainWideItem"]).get("imageId"), "BMS_WIDE_MAIN_ITEM_LIST", "main")
            subs = bms["subWideItemList"]
            if not isinstance(subs, list) or len(subs) < 3:
                raise Reject("1011", "subWideItemList needs at least 3 items")
            for item in subs:
                self._file(_dict(item).get("imageId"), "BMS_WIDE_SUB_ITEM_LIST", "sub item")
        if bubble.startswith("CAROUSEL"):
            kind = (
                "BMS_CAROUSEL_FEED_LIST"
                if bubble == "CAROUSEL_FEED"
                else "BMS_CAROUSEL_COMMERCE_LIST"
            )
            cards = _dict(bms["carousel"]).get("list")
            if not isinstance(cards, list) or not 1 <= len(cards) <= 6:
                raise Reject("1011", "carousel.list needs 1 to 6 cards")
            for card in cards:
                self._file(_dict(card).get("imageId"), kind, "carousel card")
        if bubble == "PREMIUM_VIDEO":
            url = _dict(bms["video"]).get("videoUrl")
            if not isinstance(url, str) or not url.startswith("https://tv.kakao.com/"):
                raise Reject("1011", "video.videoUrl must be a Kakao TV link")
        return options


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _required_dict(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise Reject("1010", f"{key} is required")
    return value


def _variables(options: Mapping[str, Any]) -> None:
    variables = options.get("variables")
    if variables is None:
        return
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise Reject("1011", "variables must be an object of strings")


def _rcs_buttons(buttons: Any, where: str) -> None:
    if buttons is None:
        return
    if not isinstance(buttons, list):
        raise Reject("1011", f"{where} must be an array")
    for button in buttons:
        button = _dict(button)
        kind = button.get("buttonType")
        if not button.get("buttonName") or kind not in _RCS_BUTTONS:
            raise Reject("1011", f"{where}: buttonName and a known buttonType are required")
        if kind == "WL" and not button.get("link"):
            raise Reject("1010", f"{where}: a WL button needs link")
        if kind == "ML" and not (button.get("latitude") and button.get("longitude")):
            raise Reject("1010", f"{where}: an ML button needs latitude and longitude")


def _voice(raw: Mapping[str, Any]) -> dict[str, Any]:
    options = _required_dict(raw, "voiceOptions")
    if options.get("voiceType") not in ("FEMALE", "MALE"):
        raise Reject("1010", f"voiceType must be FEMALE or MALE, not {options.get('voiceType')!r}")
    header = options.get("headerMessage")
    if header is not None and (not isinstance(header, str) or len(header) > 135):
        raise Reject("1011", "headerMessage must be a string of at most 135 characters")
    reply = options.get("replyRange")
    if reply is not None and (isinstance(reply, bool) or reply not in range(1, 10)):
        raise Reject("1011", f"replyRange must be 1 to 9, not {reply!r}")
    if reply is not None and options.get("counselorNumber") is not None:
        raise Reject("1011", "replyRange and counselorNumber cannot be used together")
    return options
