"""Faxes (FAX): documents sent as a fax (docs/channels.md, "Fax").

The documents come from `--file PATH` (repeatable) or the `files` option (a list of paths);
kmsg uploads each and sends their file ids. Accepted formats: PDF, TIFF, JPEG, PNG and GIF (by
file name here; the provider checks the bytes and sizes before sending). A fax has no subject
or image; a text, if any, is not sent.
"""

from __future__ import annotations

import os

from kmsg_cli.channels._text import Given, Result, refuse
from kmsg_cli.errors import quoted as _quote
from kmsg_cli.models import Message

EXTENSIONS = (".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png", ".gif")
MAX_FILES = 10


def check(given: Given) -> Result:
    options = given.options_only(("files",))
    given.no_subject()
    given.no_image("give fax documents with --file PATH")
    given.no_template("a fax sends files")
    files = list(dict.fromkeys([*given.files, *options.strings("files")]))
    if not files:
        refuse(
            "file",
            "",
            "FAX needs at least one document",
            "add --file PATH (PDF, TIFF, JPEG, PNG or GIF)",
            code="MISSING_FILE",
        )
    if len(files) > MAX_FILES:
        refuse("file", str(len(files)), f"{len(files)} documents; at most {MAX_FILES}", "split it")
    for path in files:
        if os.path.splitext(path)[1].lower() not in EXTENSIONS:
            refuse(
                "file",
                path,
                f"{_quote(path)} is not a PDF, TIFF, JPEG, PNG or GIF file",
                "convert the document to PDF",
                code="FILE_FORMAT",
            )
    return {}, files, []


def describe(message: Message) -> list[str]:
    names = ", ".join(os.path.basename(path) for path in message.files)
    return [f"{len(message.files)} document(s): {names}"]
