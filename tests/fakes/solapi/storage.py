"""File uploads to the fake SOLAPI (``POST /storage/v1/files``; docs/vendors/solapi.md).

Sizes are KiB/MiB (MMS 200 KiB, KAKAO 500 KiB: SOLAPI-FILE-SIZE; RCS 1 MiB, FAX/DOCUMENT 2
MiB: not documented, the fake's choice); over → 400 ``FileSizeTooLarge``; MMS not JPEG, PNG or
GIF (SOLAPI-FILE-MMSFMT) or KAKAO not JPEG/PNG (an assumption) → 400 ``InvalidFileType``; a
KAKAO file without ``link`` (SOLAPI-FILE-LINK) → 400 ``ValidationError``; bad base64/unknown
type → 400 ``ValidationError``. fileIds are ``ST01FZ`` + yymmddHHMMSS (KST)
+ 14 of [A-Z0-9].
"""

from __future__ import annotations

import base64
import binascii
import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tests.fakes._common import KST
from tests.fakes.solapi.messages import ID_ALPHABET
from tests.fakes.solapi.state import ApiError, bad_request, iso

FILE_LIMITS: Mapping[str, int] = {
    "MMS": 200 * 1024,
    "KAKAO": 500 * 1024,
    "RCS": 1024 * 1024,
    "FAX": 2 * 1024 * 1024,
    "DOCUMENT": 2 * 1024 * 1024,
}


class Files:
    """Stored files (mixed into ``FakeSolapi``)."""

    account_id: str
    bound_port: int
    clock: Callable[[], float]
    host: str
    running: bool
    _files: dict[str, dict[str, Any]]
    _id_rng: random.Random
    _lock: threading.Lock

    def add_file(self, data: bytes = b"\xff\xd8\xff\xd9", file_type: str = "MMS") -> str:
        """Register a stored file without HTTP; returns its fileId."""
        with self._lock:
            return str(self._store_file(data, file_type, None, None)["fileId"])

    def _upload(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("body must be a JSON object")
        encoded, file_type = body.get("file"), body.get("type")
        if not isinstance(encoded, str) or not encoded:
            raise bad_request("file must be a non-empty base64 string")
        if file_type not in FILE_LIMITS:
            raise bad_request(f"type must be one of {', '.join(FILE_LIMITS)}")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("file is not valid base64") from None
        name, link = body.get("name"), body.get("link")
        if file_type == "KAKAO" and not (isinstance(link, str) and link.strip()):
            raise bad_request("link is required for KAKAO files (where a tap on the image leads)")
        return self._store_file(
            data,
            str(file_type),
            name if isinstance(name, str) else None,
            link if isinstance(link, str) else None,
        )

    def _store_file(
        self, data: bytes, file_type: str, name: str | None, link: str | None
    ) -> dict[str, Any]:
        limit = FILE_LIMITS.get(file_type)
        if limit is None:
            raise bad_request(f"unknown file type {file_type!r}")
        if len(data) > limit:
            raise ApiError(
                400, "FileSizeTooLarge", f"{file_type} files are limited to {limit} bytes"
            )
        is_jpeg = data[:2] == b"\xff\xd8"
        is_png = data[:8] == b"\x89PNG\r\n\x1a\n"
        is_gif = data[:6] in (b"GIF87a", b"GIF89a")
        if file_type == "MMS" and not (is_jpeg or is_png or is_gif):
            raise ApiError(400, "InvalidFileType", "MMS images must be JPEG, PNG or GIF")
        if file_type == "KAKAO" and not (is_jpeg or is_png):
            raise ApiError(400, "InvalidFileType", "KAKAO images must be JPEG or PNG")
        now = self.clock()
        stamp = datetime.fromtimestamp(now, KST).strftime("%y%m%d%H%M%S")
        tail = "".join(self._id_rng.choice(ID_ALPHABET) for _ in range(14))
        file_id = f"ST01FZ{stamp}{tail}"
        port = self.bound_port if self.running else 0
        info = {
            "fileId": file_id,
            "type": file_type,
            "accountId": self.account_id,
            "name": name or file_id,
            "originalName": name or file_id,
            "link": link,
            "url": f"http://{self.host}:{port}/storage/v1/files/{file_id}/download",
            "size": len(data),
            "kakao": {"daou": None, "biztalk": None},
            "dateCreated": iso(now),
            "dateUpdated": iso(now),
        }
        self._files[file_id] = info
        return dict(info)
