"""Does text decoded as CP949 read as Korean, or is it another encoding read wrongly?

Almost any byte sequence decodes as CP949 (Korean Excel's default), so a Shift-JIS or GBK
file "decodes" too, into nonsense syllables and Hanja that would be sent as they are. Korean
text is overwhelmingly made of the 2,350 common Hangul syllables of KS X 1001 (and its
punctuation); text in another encoding lands mostly outside them (Shift-JIS: the rare
extended syllables) or mixes in many Hanja (GBK). `plausible_korean` measures both.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        if char < "\x80":
            continue
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
