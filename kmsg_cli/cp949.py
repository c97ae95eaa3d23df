"""Does text decoded as CP949 read as Korean, or is it another encoding read wrongly?

Almost any byte sequence decodes as CP949 (Korean Excel's default), so a Shift-JIS or GBK
file "decodes" too, into nonsense syllables and Hanja that would be sent as they are. Korean
text is overwhelmingly made of the 2,350 common Hangul syllables of KS X 1001 (and its
punctuation); text in another encoding lands mostly outside them (Shift-JIS: the rare
extended syllables) or mixes in many Hanja (GBK). `plausible_korean` measures both.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from kmsg_cli.errors import InvalidInput

# Lead bytes of KS X 1001 in CP949 (trail byte 0xA1-0xFE): symbols and jamo, Hangul, Hanja.
_SYMBOL_LEADS = range(0xA1, 0xAD)
_HANGUL_LEADS = range(0xB0, 0xC9)
_HANJA_LEADS = range(0xCA, 0xFE)
MIN_CHARACTERS = 4  # fewer non-ASCII characters than this prove nothing either way
MIN_COMMON_SHARE = 0.5
MAX_HANJA_SHARE = 0.25


@dataclass(frozen=True)
class Verdict:
    characters: int  # non-ASCII characters looked at
    common: int  # common Hangul syllables, jamo and KS X 1001 punctuation
    hanja: int

    @property
    def plausible(self) -> bool:
        if self.characters < MIN_CHARACTERS:
            return True
        return (
            self.common >= MIN_COMMON_SHARE * self.characters
            and self.hanja <= MAX_HANJA_SHARE * self.characters
        )


def judge(text: str) -> Verdict:
    """Count, among the non-ASCII characters of `text`, the common Korean ones and Hanja."""
    characters = common = hanja = 0
    for char in text:
        if char < "\x80" or char == "\ufffd":
            continue  # undecodable bytes are reported with the row that holds them
        characters += 1
        try:
            encoded = char.encode("cp949")
        except UnicodeEncodeError:  # U+FFFD for an undecodable tail, emoji, ...
            continue
        if len(encoded) != 2 or not 0xA1 <= encoded[1] <= 0xFE:
            continue  # the extended (rare) syllables of CP949
        if encoded[0] in _HANGUL_LEADS or encoded[0] in _SYMBOL_LEADS:
            common += 1
        elif encoded[0] in _HANJA_LEADS:
            hanja += 1
    return Verdict(characters, common, hanja)


def plausible_korean(text: str) -> bool:
    """False when `text` (decoded as CP949) is surely not Korean: see the module docstring."""
    return judge(text).plausible


def check_sample(sample: bytes, at_eof: bool) -> None:
    """Refuse input that decodes as CP949 but does not read as Korean: sent as it is, every
    customer would get nonsense (InvalidInput ENCODING_ERROR). `sample` is the start of the
    input (`at_eof`: all of it); bytes CP949 cannot decode at all are left to the reader,
    which names their row."""
    text = codecs.getincrementaldecoder("cp949")(errors="replace").decode(sample, final=at_eof)
    verdict = judge(text)
    if verdict.plausible:
        return
    raise InvalidInput(
        "the input is not UTF-8, and read as CP949 it is not Korean text "
        f"(only {verdict.common} of {verdict.characters} non-ASCII characters are common "
        "Korean); it is probably Japanese (Shift-JIS), Chinese (GBK) or another encoding",
        code="ENCODING_ERROR",
        field="encoding",
        value="cp949",
        hint="save the file as UTF-8, or name its real encoding with --encoding "
        "(--encoding cp949 if it really is Korean)",
    )
