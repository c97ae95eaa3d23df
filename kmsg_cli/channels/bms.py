"""Kakao Brand Message: BMS_FREE (free-form, any chat bubble) and the template types BMS_TEXT,
BMS_IMAGE, BMS_WIDE, BMS_WIDE_ITEM_LIST, BMS_CAROUSEL_FEED, BMS_PREMIUM_VIDEO, BMS_COMMERCE,
BMS_CAROUSEL_COMMERCE (docs/channels.md, "Kakao Brand Message").

Options are the fields of the vendor's `bms` object: `targeting` (I unless Kakao approved the
channel for M or N), `chatBubbleType` (BMS_FREE; TEXT, or IMAGE when an image is given) and,
per bubble, only the fields that bubble accepts, with the vendor's limits on lengths, line
breaks, buttons, coupons, prices and carousels. A template type takes `targeting` only: the
template holds the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kmsg_cli.channels._schema import PLACEHOLDER, Obj, fail, image_of
from kmsg_cli.channels._text import Given, Result, how_many, set_options
from kmsg_cli.models import BMS_TYPES, Message, MessageType

TARGETING = ("I", "M", "N")
BUBBLES = (
    "TEXT",
    "IMAGE",
    "WIDE",
    "WIDE_ITEM_LIST",
    "COMMERCE",
    "CAROUSEL_FEED",
    "CAROUSEL_COMMERCE",
    "PREMIUM_VIDEO",
)
TEMPLATE_TYPES = frozenset(BMS_TYPES - {MessageType.BMS_FREE})
BUBBLE_OF: Mapping[MessageType, str] = {t: t.value.removeprefix("BMS_") for t in TEMPLATE_TYPES}
"""The chat bubble of each template type (BMS_WIDE_ITEM_LIST -> WIDE_ITEM_LIST)."""

ACCEPTED: Mapping[str, tuple[str, ...]] = {
    "TEXT": ("adult", "content", "buttons", "coupon"),
    "IMAGE": ("adult", "content", "imageId", "imageLink", "buttons", "coupon"),
    "WIDE": ("adult", "content", "imageId", "buttons", "coupon"),
    "WIDE_ITEM_LIST": ("adult", "header", "mainWideItem", "subWideItemList", "buttons", "coupon"),
    "COMMERCE": ("adult", "additionalContent", "imageId", "commerce", "buttons", "coupon"),
    "CAROUSEL_FEED": ("adult", "carousel"),
    "CAROUSEL_COMMERCE": ("adult", "additionalContent", "carousel"),
    "PREMIUM_VIDEO": ("adult", "header", "content", "video", "buttons", "coupon"),
}
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "WIDE_ITEM_LIST": ("header", "mainWideItem", "subWideItemList"),
    "COMMERCE": ("commerce", "buttons"),
    "CAROUSEL_FEED": ("carousel",),
    "CAROUSEL_COMMERCE": ("carousel",),
    "PREMIUM_VIDEO": ("video",),
}
IMAGE_BUBBLES = ("IMAGE", "WIDE", "COMMERCE")  # a main image, required
TEXT_MAX = 1300  # characters of the text of a TEXT or IMAGE bubble (its content)
TEXT_BUBBLES = ("TEXT", "IMAGE", "WIDE", "PREMIUM_VIDEO")  # bubbles that carry a text
CONTENT: Mapping[str, tuple[int, int]] = {  # `content`: (characters, line breaks)
    "TEXT": (1300, 99),
    "IMAGE": (1300, 99),
    "WIDE": (76, 1),
    "PREMIUM_VIDEO": (76, 1),
}
BUTTONS: Mapping[str, tuple[int, int, int]] = {  # (min, max, max with a coupon)
    "TEXT": (0, 5, 4),
    "IMAGE": (0, 5, 4),
    "WIDE": (0, 2, 2),
    "WIDE_ITEM_LIST": (0, 2, 2),
    "COMMERCE": (1, 2, 2),
    "CAROUSEL_FEED": (1, 2, 2),
    "CAROUSEL_COMMERCE": (1, 2, 2),
    "PREMIUM_VIDEO": (0, 1, 1),
}
LINK_TYPES = ("AC", "WL", "AL", "BK", "MD", "BC", "BT", "BF")
LINK_ONLY = ("COMMERCE", "CAROUSEL_FEED", "CAROUSEL_COMMERCE")  # buttons: WL and AL only
HEADER_MAX = 20
ADDITIONAL_MAX = 34
PRICE_MAX = 99_999_999
VIDEO_PREFIX = "https://tv.kakao.com/"
_LINKS = ("linkMobile", "linkPc", "linkAndroid", "linkIos")
_CARD = ("imageId", "image", "imageLink", "buttons", "coupon")
_FEED_CARD = ("header", "content", *_CARD)
_COMMERCE_CARD = ("commerce", "additionalContent", *_CARD)
_COUPON = (
    re.compile(r"([1-9]\d{0,7})원 할인 쿠폰"),
    re.compile(r"([1-9]\d?|100)% 할인 쿠폰"),
    re.compile(r"배송비 할인 쿠폰"),
    re.compile(r"\S{1,7} 무료 쿠폰"),
    re.compile(r"\S{1,7} UP 쿠폰"),
)


def check(given: Given) -> Result:
    kind = given.type
    options = Obj(given.options, "options")
    given.no_subject()
    given.no_files()
    if kind in TEMPLATE_TYPES:
        options.only(("targeting",), why=f" for {kind.value} (the template holds the rest)")
        given.need_template()
        given.no_image("the template holds the images")
        targeting = options.text("targeting", choices=TARGETING) or "I"
        return {"targeting": targeting, "chatBubbleType": BUBBLE_OF[kind]}, [], []
    given.no_template("templates use the per-bubble types, e.g. --type BMS_TEXT")
    given_bubble = options.text("chatBubbleType", choices=BUBBLES)
    bubble = given_bubble or ("IMAGE" if given.image is not None else "TEXT")
    options.only(("targeting", "chatBubbleType", *ACCEPTED[bubble]), why=f" for a {bubble} bubble")
    targeting = options.text("targeting", choices=TARGETING) or "I"
    for key in REQUIRED.get(bubble, ()):
        if not options.has(key):
            fail(options.at(key), f"is required for a {bubble} bubble", code="MISSING_OPTION")
    files: list[str] = []
    _main(given, options, bubble, files)
    coupon = options.child("coupon")
    if coupon is not None:
        _coupon(coupon, bubble)
    if not bubble.startswith("CAROUSEL"):  # a carousel's buttons are on its cards
        _buttons(options, "buttons", bubble, coupon is not None)
    commerce = options.child("commerce")
    if commerce is not None:
        _commerce(commerce)
    _wide_items(options, files)
    carousel = options.child("carousel")
    if carousel is not None:
        _carousel(carousel, bubble, coupon is not None, files)
    video = options.child("video")
    if video is not None:
        video.only(("videoUrl", "imageId", "image", "imageLink"))
        url = video.text("videoUrl", required=True)
        if url is not None and not url.startswith(VIDEO_PREFIX):
            fail(video.at("videoUrl"), f"must be a Kakao TV link starting {VIDEO_PREFIX}", url)
        image_of(video, files)
        video.text("imageLink", url=True)
    checked = dict(options.data)
    checked.update(targeting=targeting, chatBubbleType=bubble)
    return checked, files, []


def _main(given: Given, options: Obj, bubble: str, files: list[str]) -> None:
    """The text, content, header and main image of the bubble."""
    if bubble not in TEXT_BUBBLES:
        given.no_text(f"a {bubble} bubble shows only its options (docs/channels.md)")
    else:
        if bubble == "TEXT":
            given.need_text(" (the bubble's text)")
        plain = bubble in ("TEXT", "IMAGE")
        given.max_chars(TEXT_MAX, newlines=99 if plain else None, what=f" ({bubble} bubble)")
        content_chars, content_breaks = CONTENT[bubble]
        options.text("content", max_chars=content_chars, max_newlines=content_breaks)
    options.text("header", max_chars=HEADER_MAX, max_newlines=0)
    options.text("additionalContent", max_chars=ADDITIONAL_MAX)
    options.flag("adult")
    options.text("imageLink", url=True)
    if bubble in IMAGE_BUBBLES:
        if given.image is not None and options.has("imageId"):
            fail("options.imageId", "cannot be combined with --image", "imageId")
        if given.image is None:
            image_id = options.text("imageId", required=True)
            if bubble == "IMAGE" and image_id is not None and len("".join(image_id.split())) > 32:
                fail("options.imageId", "is longer than 32 characters", image_id)
    else:
        given.no_image("this bubble takes its images in its options (docs/channels.md)")


def _links(obj: Obj) -> None:
    obj.text("linkMobile", url=True)
    obj.text("linkPc", url=True)
    obj.text("linkAndroid")
    obj.text("linkIos")


def _buttons(obj: Obj, key: str, bubble: str, coupon: bool) -> None:
    low, high, with_coupon = BUTTONS[bubble]
    buttons = obj.children(key, low=low, high=with_coupon if coupon else high)
    allowed = ("WL", "AL") if bubble in LINK_ONLY else LINK_TYPES
    name_max = 14 if bubble in ("TEXT", "IMAGE") else 8
    for button in buttons:
        button.only(("name", "linkType", *_LINKS, "targetOut", "chatExtra"))
        link_type = button.text("linkType", required=True, choices=allowed)
        if link_type == "AC":  # the vendor drops the name of a channel-add button
            button.text("name")
        else:
            name = button.text("name", required=True, max_chars=name_max)
            if name is not None and PLACEHOLDER.search(name):
                fail(button.at("name"), "cannot hold #{variables}", name)
        _links(button)
        button.flag("targetOut")
        button.text("chatExtra")
        if link_type == "WL":
            button.text("linkMobile", required=True)
        elif link_type == "AL" and not any(
            str(button.data.get(k) or "").strip() for k in ("linkMobile", "linkAndroid", "linkIos")
        ):
            fail(button.at("linkMobile"), "(or linkAndroid, linkIos) is required for AL buttons")


def _coupon(coupon: Obj, bubble: str) -> None:
    coupon.only(("title", "description", *_LINKS))
    title = coupon.text("title", required=True)
    assert title is not None
    if not any(pattern.fullmatch(title) for pattern in _COUPON):
        fail(
            coupon.at("title"),
            "must be 'N원 할인 쿠폰', 'N% 할인 쿠폰', '배송비 할인 쿠폰', "
            "'<up to 7 characters> 무료 쿠폰' or '<up to 7 characters> UP 쿠폰'",
            title,
        )
    coupon.text("description", required=True, max_chars=18 if "WIDE" in bubble else 12)
    _links(coupon)


def _commerce(commerce: Obj | None) -> None:
    assert commerce is not None
    commerce.only(("title", "regularPrice", "discountPrice", "discountRate", "discountFixed"))
    commerce.text("title", required=True)
    commerce.number("regularPrice", 0, PRICE_MAX, required=True)
    price = commerce.number("discountPrice", 0, PRICE_MAX) is not None
    rate = commerce.number("discountRate", 0, 100) is not None
    fixed = commerce.number("discountFixed", 0, PRICE_MAX) is not None
    if rate and fixed:
        fail(commerce.at("discountFixed"), "cannot be combined with discountRate")
    if (rate or fixed) and not price:
        fail(commerce.at("discountPrice"), "is required with discountRate or discountFixed")
    if price and not (rate or fixed):
        fail(commerce.at("discountPrice"), "needs discountRate or discountFixed beside it")


def _wide_items(options: Obj, files: list[str]) -> None:
    main = options.child("mainWideItem")
    if main is not None:
        main.only(("title", "imageId", "image", *_LINKS))
        main.text("title", max_chars=25, max_newlines=1)
        image_of(main, files, required=True)
        main.text("linkMobile", required=True)
        _links(main)
    for item in options.children("subWideItemList", low=3 if options.has("subWideItemList") else 0):
        item.only(("title", "imageId", "image", *_LINKS))
        item.text("title", required=True, max_chars=30, max_newlines=1)
        image_of(item, files, required=True)
        item.text("linkMobile", required=True)
        _links(item)


def _carousel(carousel: Obj, bubble: str, coupon: bool, files: list[str]) -> None:
    feed = bubble == "CAROUSEL_FEED"
    carousel.only(("list", "tail") if feed else ("head", "list", "tail"))
    head = carousel.child("head")
    if head is not None:
        head.only(("header", "content", "imageId", "image", *_LINKS))
        head.text("header", required=True, max_chars=HEADER_MAX, max_newlines=0)
        head.text("content", required=True, max_chars=50, max_newlines=2)
        image_of(head, files, required=True)
        _links(head)
        if not head.has("linkMobile") and any(head.has(k) for k in _LINKS[1:]):
            fail(head.at("linkMobile"), "is required when another link is given")
    low, high = (1, 5) if head is not None else (2, 6)
    for card in carousel.children("list", required=True, low=low, high=high):
        if feed:
            card.only(_FEED_CARD)
            card.text("header", required=True, max_chars=HEADER_MAX, max_newlines=0)
            card.text("content", required=True, max_chars=180, max_newlines=2)
        else:
            card.only(_COMMERCE_CARD)
            _commerce(card.child("commerce", required=True))
            card.text("additionalContent", max_chars=ADDITIONAL_MAX, max_newlines=1)
        image_of(card, files, required=True)
        card.text("imageLink", url=True)
        card_coupon = card.child("coupon")
        if card_coupon is not None:
            _coupon(card_coupon, bubble)
        _buttons(card, "buttons", bubble, coupon or card_coupon is not None)
    tail = carousel.child("tail")
    if tail is not None:
        tail.only(_LINKS)
        tail.text("linkMobile", required=True)
        _links(tail)
        for key in _LINKS:
            value = tail.data.get(key)
            if isinstance(value, str) and PLACEHOLDER.search(value):
                fail(tail.at(key), "cannot hold #{variables}", value)


def describe(message: Message) -> list[str]:
    options = message.options
    words = [f"targeting {options.get('targeting', 'I')}"]
    bubble = options.get("chatBubbleType")
    if message.type is MessageType.BMS_FREE:
        words.append(f"{bubble} bubble")
        if bubble in TEXT_BUBBLES and message.text:
            words.append(f"text {len(message.text)}/{TEXT_MAX} chars")
    else:
        words.append(f"template {message.template_id} ({bubble})")
    words += set_options(options, {"buttons": how_many("button"), "coupon": lambda _: "coupon"})
    carousel = options.get("carousel")
    if isinstance(carousel, Mapping) and carousel.get("list"):
        words.append(f"{len(carousel['list'])} card(s)")
    if message.failover is not None:
        words.append(f"fallback {message.failover.type.value} by kmsg")
    return words
