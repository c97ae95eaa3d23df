"""RCS messages: RCS_SMS, RCS_LMS, RCS_MMS and the template types RCS_TPL, RCS_ITPL, RCS_LTPL
(docs/channels.md, "RCS").

Options: `brandId` (else the provider's `rcs_brand_id`; `--rcs-brand`), `copyAllowed`,
`commercialType`, `disableSms` (the vendor's own SMS replacement), `mmsType` (RCS_MMS),
`buttons` and `additionalBody` cards. Text limits: RCS_SMS 90 bytes (the vendor's own line
between RCS_SMS and RCS_LMS), the other types 1,300 characters (the carriers' RCS formats;
not confirmed by the vendor).
"""

from __future__ import annotations

from kmsg_cli.channels._schema import Obj, fail, image_of
from kmsg_cli.channels._text import Given, Result, how_many, refuse, set_options
from kmsg_cli.models import Message, MessageType

SMS_MAX_BYTES = 90
LONG_MAX_CHARS = 1300
MMS_TYPES = ("M3", "S3", "M4", "S4", "M5", "S5", "M6", "S6")
BUTTON_TYPES = ("WL", "ML", "MQ", "MR", "CA", "CL", "DL", "MS")
BUTTON_FIELDS = (
    "buttonName",
    "buttonType",
    "link",
    "latitude",
    "longitude",
    "label",
    "query",
    "title",
    "startTime",
    "endTime",
    "text",
    "phone",
)
OPTIONS = (
    "brandId",
    "copyAllowed",
    "commercialType",
    "disableSms",
    "mmsType",
    "buttons",
    "additionalBody",
)
TEMPLATE_TYPES = frozenset({MessageType.RCS_TPL, MessageType.RCS_ITPL, MessageType.RCS_LTPL})
_SUBJECT_TYPES = frozenset({MessageType.RCS_LMS, MessageType.RCS_MMS, MessageType.RCS_LTPL})
_IMAGE_TYPES = frozenset({MessageType.RCS_MMS, MessageType.RCS_ITPL})


def check(given: Given) -> Result:
    kind = given.type
    options = given.options_only(OPTIONS)
    given.no_files()
    if kind in TEMPLATE_TYPES:
        given.need_template()
    else:
        given.no_template("RCS templates are RCS_TPL, RCS_ITPL or RCS_LTPL")
        given.need_text()
    if kind is MessageType.RCS_SMS:
        given.max_bytes(SMS_MAX_BYTES)
    else:
        given.max_chars(LONG_MAX_CHARS)
    if kind not in _SUBJECT_TYPES:
        given.no_subject()
    if kind not in _IMAGE_TYPES:
        given.no_image("use --type RCS_MMS to send an image, or drop --image")

    if options.has("brandId"):
        options.text("brandId", required=True)
    options.flag("copyAllowed")
    options.flag("commercialType")
    disable_sms = options.flag("disableSms")
    if disable_sms is False and given.failover:
        refuse(
            "options.disableSms",
            "false",
            "disableSms false asks the vendor to send its own SMS instead of a failed RCS, "
            "and a fallback text asks kmsg to: only one fallback may go out",
            "drop --failover-text, or drop disableSms (kmsg then sends the fallback)",
            code="FAILOVER_CONFLICT",
        )
    if options.has("mmsType"):
        if kind is not MessageType.RCS_MMS:
            fail("options.mmsType", f"is only for RCS_MMS, not {kind.value}", "mmsType")
        options.text("mmsType", choices=MMS_TYPES)
    files: list[str] = []
    _buttons(options, "buttons")
    for card in options.children("additionalBody"):
        card.only(("title", "description", "imageId", "image", "buttons"))
        card.text("title", required=True)
        card.text("description", required=True)
        image_of(card, files)
        _buttons(card, "buttons")
    if kind is MessageType.RCS_MMS and given.image is None and not _card_images(options):
        refuse(
            "image",
            "",
            "RCS_MMS needs an image (--image, or images on its additionalBody cards)",
            "add --image PATH, or use --type RCS_LMS",
            code="MISSING_IMAGE",
        )
    checked = dict(options.data)
    # Without a fallback asked of the vendor, it sends none (docs/channels.md, Fallback).
    checked["disableSms"] = disable_sms is not False
    return checked, files, []


def _card_images(options: Obj) -> bool:
    cards = options.data.get("additionalBody") or []
    return any(card.get("imageId") or card.get("image") for card in cards)


def _buttons(obj: Obj, key: str) -> None:
    for button in obj.children(key):
        button.only(BUTTON_FIELDS)
        button.text("buttonName", required=True)
        kind = button.text("buttonType", required=True, choices=BUTTON_TYPES)
        for name in ("link", "label", "query", "title", "text", "phone", "startTime", "endTime"):
            button.text(name)
        if kind == "WL":
            button.text("link", required=True, url=True)
        elif kind == "ML":
            button.text("latitude", required=True)
            button.text("longitude", required=True)


def describe(message: Message) -> list[str]:
    options = message.options
    words = [f"brand {options['brandId']}" if options.get("brandId") else "brand from provider"]
    phrases = {
        "mmsType": "mmsType {}".format,
        "buttons": how_many("button"),
        "additionalBody": how_many("card"),
    }
    words += set_options(options, phrases)
    if message.failover is not None:
        words.append(f"fallback {message.failover.type.value} by kmsg")
    elif options.get("disableSms") is False:
        words.append("vendor SMS replacement")
    return words
