"""SOLAPI file storage: images are checked, uploaded once through `POST /storage/v1/files`
and sent by the `fileId` it returns (docs/vendors/solapi.md)."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from kmsg_cli.models import Message, MessageType
from kmsg_cli.providers._common import bad_response, check_image
from kmsg_cli.providers._http import json_or_none
from kmsg_cli.providers.solapi.client import SolapiClient

FILES_PATH = "/storage/v1/files"
IMAGE_LIMITS = {"MMS": 200 * 1024, "KAKAO": 500 * 1024}  # SOLAPI-FILE-SIZE
# SOLAPI-FILE-MMSFMT: MMS images are JPEG, PNG or GIF; no format is documented for KAKAO.
IMAGE_FORMATS: dict[str, tuple[str, ...]] = {"MMS": ("JPEG", "PNG", "GIF"), "KAKAO": ()}


def file_kind(message: Message) -> str:
    """SOLAPI's file type for the image of a message: KAKAO for FriendTalk, else MMS."""
    return "KAKAO" if message.type is MessageType.FRIENDTALK else "MMS"


def checked_image(message: Message) -> bytes:
    """The bytes of a message's image, refused unless they fit SOLAPI's size limit and
    formats for its kind."""
    assert message.image is not None
    kind = file_kind(message)
    return check_image(
        message.image,
        limit=IMAGE_LIMITS[kind],
        vendor="SOLAPI",
        kind=kind,
        formats=IMAGE_FORMATS[kind],
    )


class ImageUploads:
    """File ids of uploaded images, one upload per (kind, path) for the client's lifetime.
    A FriendTalk (KAKAO) image carries `link`, where a tap on it leads (SOLAPI-FILE-LINK)."""

    def __init__(self, client: SolapiClient, *, link: str | None = None) -> None:
        self._client = client
        self._link = link
        self._ids: dict[tuple[str, str], str] = {}

    def file_id(self, message: Message) -> str:
        assert message.image is not None
        kind = file_kind(message)
        key = (kind, message.image)
        if key not in self._ids:
            data = checked_image(message)
            body = {
                "file": base64.b64encode(data).decode("ascii"),
                "type": kind,
                "name": os.path.basename(message.image),
            }
            if kind == "KAKAO" and self._link:
                body["link"] = self._link
            response = self._client.request("POST", FILES_PATH, json_body=body, sends=False)
            parsed = json_or_none(response)
            file_id = parsed.get("fileId") if isinstance(parsed, Mapping) else None
            if not file_id:
                raise bad_response(self._client.provider_id, "the file upload answer has no fileId")
            self._ids[key] = str(file_id)
        return self._ids[key]
