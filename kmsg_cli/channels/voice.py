"""Voice messages (VOICE): the text is read out to the callee (docs/channels.md, "Voice").

Options: `voiceType` FEMALE (default) or MALE (`--voice`), `headerMessage` (at most 135
characters, played first), `tailMessage` (played at the end, only after a header), and either
`replyRange` (1-9: the keys the callee may press) or `counselorNumber` (reached by pressing
0), never both. No vendor limit for the spoken text was found; kmsg applies the LMS limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kmsg_cli.channels._schema import fail
from kmsg_cli.channels._text import Given, Result, set_options
from kmsg_cli.models import Message, Notice

VOICES = ("FEMALE", "MALE")
HEADER_MAX_CHARS = 135
TEXT_MAX_BYTES = 2000
OPTIONS = ("voiceType", "headerMessage", "tailMessage", "replyRange", "counselorNumber")
_NUMBER = re.compile(r"0\d{7,10}|1[568]\d{6}")


def check(given: Given) -> Result:
    options = given.options_only(OPTIONS)
    given.no_subject()
    given.no_image()
    given.no_files()
    given.no_template("a voice message reads out its --text")
    given.need_text(" (the words read out)")
    given.max_bytes(TEXT_MAX_BYTES)
    voice = options.text("voiceType", choices=VOICES) or "FEMALE"
    header = options.text("headerMessage", max_chars=HEADER_MAX_CHARS)
    tail = options.text("tailMessage")
    options.one_of("replyRange", "counselorNumber")
    reply = options.number("replyRange", 1, 9, whole=True)
    checked = dict(options.data)
    checked["voiceType"] = voice
    if reply is not None:
        checked["replyRange"] = int(reply)
    counselor = options.text("counselorNumber")
    if counselor is not None:
        number = re.sub(r"[\s\-.()]", "", counselor)
        if not _NUMBER.fullmatch(number):
            fail("options.counselorNumber", "is not a Korean phone number", counselor)
        checked["counselorNumber"] = number
    notes = []
    if tail and not header:
        notes.append(
            Notice("TAIL_WITHOUT_HEADER", "tailMessage is played only after a headerMessage")
        )
    return checked, [], notes


def describe(message: Message) -> list[str]:
    options = message.options
    phrases: dict[str, Callable[[Any], str]] = {
        "headerMessage": lambda header: f"header {len(header)}/{HEADER_MAX_CHARS} chars",
        "replyRange": "reply keys 1-{}".format,
        "counselorNumber": "counselor {}".format,
    }
    return [f"voice {options.get('voiceType', 'FEMALE')}", *set_options(options, phrases)]
