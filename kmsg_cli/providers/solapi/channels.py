"""SOLAPI's wire shapes for RCS, Brand Message, voice, fax and Naver smart alerts: the
`rcsOptions`, `kakaoOptions.bms`, `voiceOptions`, `faxOptions` and `naverOptions` of a
`messages[]` entry, built from a message's checked options, and the files those need
uploaded first, each with the upload type SOLAPI wants for its place (docs/vendors/solapi.md,
docs/channels.md).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kmsg_cli.errors import InvalidInput
from kmsg_cli.models import CHANNEL_TYPES, Message, MessageType
from kmsg_cli.providers._common import (
    IMAGE_SIGNATURES,
    check_image,
    missing_sender,
    missing_setting,
)
from kmsg_cli.providers.catalog import UNSET_ENV

Upload = Callable[[str, str, str | None], str]
"""(local path, SOLAPI file type, link or None) -> fileId; each file is checked, then
uploaded once. The link (where a tap leads) goes with a KAKAO file (SOLAPI-FILE-LINK)."""

# Upload limits per SOLAPI file type. KAKAO and MMS are documented; for the others no limit
# was found, so kmsg keeps to these (docs/vendors/solapi.md, SOLAPI-FILE-SIZE).
FILE_LIMITS: Mapping[str, int] = {
    "RCS": 1024 * 1024,
    "FAX": 2 * 1024 * 1024,
    "KAKAO": 500 * 1024,
    "BMS": 500 * 1024,
    "BMS_WIDE": 500 * 1024,
    "BMS_WIDE_MAIN_ITEM_LIST": 500 * 1024,
    "BMS_WIDE_SUB_ITEM_LIST": 500 * 1024,
    "BMS_CAROUSEL_FEED_LIST": 500 * 1024,
    "BMS_CAROUSEL_COMMERCE_LIST": 500 * 1024,
}
_FORMATS: Mapping[str, tuple[bytes, ...]] = {
    **IMAGE_SIGNATURES,
    "PDF": (b"%PDF",),
    "TIFF": (b"II*\x00", b"MM\x00*"),
}
FAX_FORMATS = ("PDF", "TIFF", "JPEG", "PNG", "GIF")
IMAGE_FORMATS = ("JPEG", "PNG")
# The upload type of a Brand Message's main image, per chat bubble.
_BMS_MAIN = {"IMAGE": "BMS", "COMMERCE": "BMS", "WIDE": "BMS_WIDE"}


@dataclass(frozen=True)
class Defaults:
    """The provider's settings that channel messages fall back on."""

    sender: str | None = None
    pf_id: str | None = None
    brand_id: str | None = None
    talk_id: str | None = None
    image_link: str | None = None  # `friendtalk_image_link`, the link of a KAKAO upload
    unset_env: Mapping[str, str] = field(default_factory=dict)  # env: refs to unset variables

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> Defaults:
        def text(key: str) -> str | None:
            value = settings.get(key)
            return str(value).strip() or None if value is not None else None

        return cls(
            text("sender"),
            text("kakao_pf_id"),
            text("rcs_brand_id"),
            text("naver_talk_id"),
            text("friendtalk_image_link"),
            settings.get(UNSET_ENV) or {},
        )


def file_kind(message: Message, place: str = "") -> str:
    """The SOLAPI file type of a file of `message` at `place` ("" = its main image/files)."""
    family = message.type.channel
    if family == "FAX":
        return "FAX"
    if family == "RCS":
        return "RCS"
    bubble = str(message.options.get("chatBubbleType", ""))
    if place == "mainWideItem":
        return "BMS_WIDE_MAIN_ITEM_LIST"
    if place == "subWideItemList":
        return "BMS_WIDE_SUB_ITEM_LIST"
    if place == "video":
        return "KAKAO"  # the vendor's own premium video example uploads its thumbnail so
    if place.startswith("carousel"):
        return (
            "BMS_CAROUSEL_FEED_LIST" if bubble == "CAROUSEL_FEED" else "BMS_CAROUSEL_COMMERCE_LIST"
        )
    return _BMS_MAIN.get(bubble, "BMS")


def checked_file(path: str, kind: str) -> bytes:
    """The bytes of a file to upload as `kind`, refused unless its size and format fit."""
    limit = FILE_LIMITS[kind]
    if kind != "FAX":
        return check_image(path, limit=limit, vendor="SOLAPI", kind=kind, formats=IMAGE_FORMATS)
    data = check_image(path, limit=limit, vendor="SOLAPI", kind=kind, formats=())
    if not any(data.startswith(magic) for name in FAX_FORMATS for magic in _FORMATS[name]):
        raise InvalidInput(
            f"'{path}' is not a {', '.join(FAX_FORMATS)} file (SOLAPI fax documents)",
            code="FILE_FORMAT",
            field="file",
            value=path,
            hint="convert it to PDF",
        )
    return data


def local_files(message: Message) -> list[tuple[str, str]]:
    """(path, file type) of every file of `message` that must be uploaded."""
    found = [(message.image, file_kind(message))] if message.image else []
    if message.type is MessageType.FAX:
        found += [(path, "FAX") for path in message.files]
    else:
        found += [(path, kind) for path, kind, _ in _images(message.options, message)]
    return [(path, kind) for path, kind in found if path]


def _images(options: Mapping[str, Any], message: Message) -> list[tuple[str, str, list[Any]]]:
    """(path, file type, route) of each `image` option; the route leads to its object."""
    found: list[tuple[str, str, list[Any]]] = []

    def visit(value: Any, route: list[Any]) -> None:
        if isinstance(value, Mapping):
            if isinstance(value.get("image"), str):
                place = str(route[0]) if route else ""
                found.append((str(value["image"]), file_kind(message, place), route))
            for key, item in value.items():
                visit(item, [*route, key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, [*route, index])

    visit(options, [])
    return found


# How a message names its own brand or talk id instead of the provider's setting
_OWN_OPTION = {
    "RCS": ", or name the message's own: --rcs-brand ID (a file's options column: brandId)",
    "NSA": ", or name the message's own: talkId in --options (or a file's options column)",
}


def validate(message: Message, defaults: Defaults, provider_id: str) -> None:
    """Refuse, before any request, a channel message SOLAPI would surely reject."""
    family = message.type.channel
    if family in ("RCS", "VOICE", "FAX") and not (message.sender or defaults.sender):
        raise missing_sender(message, provider_id)
    # The account setting each family needs, unless the message's own option names it
    needs = {
        "BMS": ("kakao_pf_id", "SOLAPI_KAKAO_PF_ID", None, defaults.pf_id),
        "RCS": ("rcs_brand_id", "SOLAPI_RCS_BRAND_ID", "brandId", defaults.brand_id),
        "NSA": ("naver_talk_id", "SOLAPI_NAVER_TALK_ID", "talkId", defaults.talk_id),
    }
    if family in needs:
        setting, variable, option, default = needs[family]
        if not ((option and message.options.get(option)) or default):
            raise missing_setting(
                provider_id,
                setting,
                variable,
                needed_for=message.type.value,
                unset_env=defaults.unset_env,
                instead=_OWN_OPTION.get(family, ""),
            )
    for path, kind in local_files(message):
        checked_file(path, kind)
    video = message.options.get("video")
    if isinstance(video, Mapping) and video.get("image") and not video.get("imageLink"):
        if not defaults.image_link:  # its KAKAO upload needs a link (SOLAPI-FILE-LINK)
            raise missing_setting(
                provider_id,
                "friendtalk_image_link",
                "SOLAPI_FRIENDTALK_IMAGE_LINK",
                needed_for="a Premium Video thumbnail without video.imageLink",
                unset_env=defaults.unset_env,
            )


def _variables(message: Message) -> dict[str, str]:
    return {f"#{{{key}}}": str(value) for key, value in message.variables.items()}


def _uploaded(message: Message, upload: Upload) -> dict[str, Any]:
    """The options with every local `image` replaced by the `imageId` of its upload."""
    options = copy.deepcopy(dict(message.options))
    for path, kind, route in _images(message.options, message):
        target: Any = options
        for step in route:
            target = target[step]
        del target["image"]
        link = target.get("imageLink") if kind == "KAKAO" else None
        target["imageId"] = upload(path, kind, link)
    return options


def fields(message: Message, defaults: Defaults, upload: Upload) -> dict[str, Any]:
    """The channel part of a `messages[]` entry: text, subject, image and the options."""
    assert message.type in CHANNEL_TYPES
    family = message.type.channel
    body: dict[str, Any] = {}
    options = _uploaded(message, upload)
    template = message.template_id is not None
    if message.text and family != "FAX" and not (template and family == "BMS"):
        body["text"] = message.text
    if message.subject:
        body["subject"] = message.subject
    if family == "RCS":
        rcs = {"brandId": options.pop("brandId", None) or defaults.brand_id, **options}
        if template:
            rcs.update(templateId=message.template_id, variables=_variables(message))
        if message.image:
            body["imageId"] = upload(message.image, "RCS", None)
        body["rcsOptions"] = rcs
    elif family == "BMS":
        if message.image:
            options["imageId"] = upload(message.image, file_kind(message), None)
        _prices(options)
        kakao: dict[str, Any] = {"pfId": defaults.pf_id}
        if template:
            kakao.update(templateId=message.template_id, variables=_variables(message))
        kakao["bms"] = options
        body["kakaoOptions"] = kakao
    elif family == "VOICE":
        body["voiceOptions"] = options
    elif family == "FAX":
        body["faxOptions"] = {"fileIds": [upload(path, "FAX", None) for path in message.files]}
    elif family == "NSA":
        naver = {"talkId": options.pop("talkId", None) or defaults.talk_id, **options}
        naver.update(templateId=message.template_id, variables=_variables(message))
        body["naverOptions"] = naver
    return body


def _prices(options: dict[str, Any]) -> None:
    """Commerce prices as JSON numbers (the options may hold them as numeric strings)."""
    commerces = [options.get("commerce")]
    carousel = options.get("carousel")
    if isinstance(carousel, Mapping):
        commerces += [card.get("commerce") for card in carousel.get("list") or ()]
    for commerce in commerces:
        if not isinstance(commerce, dict):
            continue
        for key, value in commerce.items():
            if key != "title" and isinstance(value, str):
                number = float(value)
                commerce[key] = int(number) if number.is_integer() else number
