"""A number or date cell of a workbook as Excel shows it under its number format
(docs/bulk-input.md).

Saved as CSV, a sheet whose amounts are formatted `#,##0` reads `15,000`; read from the .xlsx
itself it must read the same. This covers the formats of numbers people use in such sheets:
digits (`0`, `#`, `?`), thousands separators and scaling commas, decimals, percent, literal
text and currencies (`"원"`, `\\원`, `[$₩-412]`), padding (`_)`), sections for negative numbers
and zero, and digit templates such as `000-0000-0000` (a phone number kept as a number). Any
other format (text `@`, fractions, exponents, conditions, Korean numerals) answers None: the
caller shows the General form instead. Dates and times (`display_date`) take the digits of
`yyyy`, `yy`, `m`, `mm`, `d`, `dd`, `h`, `hh`, minutes and seconds, Korean weekdays and literal
text (`yyyy"년" m"월" d"일"`), and are otherwise left to the caller's ISO form.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Context, Decimal

_PLACEHOLDERS = "0#?"
_COLORS = {"black", "blue", "cyan", "green", "magenta", "red", "white", "yellow"}

# Excel's short date and date-time (numFmtId 14 and 22), which openpyxl spells in US order:
# Excel shows them in the reader's own order, which in Korea is year first.
_SYSTEM_DATES = {"mm-dd-yy": "yyyy-mm-dd", "m/d/yy h:mm": "yyyy-mm-dd h:mm"}
_WEEKDAYS = "월화수목금토일"

Token = tuple[str, str]  # (kind, text): "lit", "ph" (a digit placeholder), "dot", "comma"


def display(value: int | float, number_format: str) -> str | None:
    """`value` as Excel shows it under `number_format`; None for General and for a format this
    module does not render."""
    if not number_format or number_format.strip().lower() == "general":
        return None
    sections = _sections(number_format)
    if sections is None:
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return None
    section, sign = sections[0], "-" if number < 0 else ""
    if number < 0 and len(sections) >= 2:
        section, sign = sections[1], ""
    elif number == 0 and len(sections) >= 3:
        section = sections[2]
    tokens = _tokens(section)
    if tokens is None:
        return None
    shown = _render(tokens, abs(number))
    return None if shown is None else (sign + shown).strip()


def display_date(value: date | time, number_format: str) -> str | None:
    """A date, date-time or time as Excel shows it under `number_format`: years, months, days,
    hours, minutes and seconds as digits, Korean weekdays (`aaa` 수, `aaaa` 수요일) and literal
    text, and the system short date in Korean order (`2026-12-25`); None for General and what
    this module does not render (month and weekday names, AM/PM, elapsed time, fractions of a
    second)."""
    number_format = _SYSTEM_DATES.get(number_format.lower(), number_format)
    if not number_format or number_format.lower() == "general":
        return None
    sections = _sections(number_format)
    tokens = None if sections is None else _lex(sections[0])
    if tokens is None:
        return None
    words = [i for i, (kind, _) in enumerate(tokens) if kind == "word"]
    out = []
    for index, (kind, text) in enumerate(tokens):
        if kind != "word":
            if text in ("0", "@", "#", "?"):
                return None  # fractions of a second, text, or a number format
            out.append(text)
            continue
        at = words.index(index)
        before = tokens[words[at - 1]][1][0] if at > 0 else ""
        after = tokens[words[at + 1]][1][0] if at + 1 < len(words) else ""
        minutes = text in ("m", "mm") and (before == "h" or after == "s")
        part = _date_part(value, "n" * len(text) if minutes else text)
        if part is None:
            return None
        out.append(part)
    return "".join(out).strip()


def _date_part(value: date | time, word: str) -> str | None:
    """One date or time word (`n`: minutes) of `value`; None when it has no such part."""
    day = value if isinstance(value, date) else None
    clock = (
        value.time() if isinstance(value, datetime) else value if isinstance(value, time) else None
    )
    if (word[0] in "ymda" and day is None) or (word[0] in "hns" and clock is None):
        return None
    if word in ("yy", "yyy", "yyyy"):
        assert day is not None
        return f"{day.year % 100:02d}" if word == "yy" else f"{day.year:04d}"
    if word in ("m", "mm", "d", "dd"):
        assert day is not None
        number = day.month if word[0] == "m" else day.day
        return f"{number:02d}" if len(word) == 2 else str(number)
    if word in ("aaa", "aaaa"):
        assert day is not None
        return _WEEKDAYS[day.weekday()] + ("요일" if word == "aaaa" else "")
    if word in ("h", "hh", "n", "nn", "s", "ss"):
        assert clock is not None
        number = {"h": clock.hour, "n": clock.minute, "s": clock.second}[word[0]]
        return f"{number:02d}" if len(word) == 2 else str(number)
    return None


def _sections(number_format: str) -> list[str] | None:
    """The format's `;`-separated sections (positive; negative; zero; text)."""
    sections, current, quoted, escaped = [], "", False, False
    for char in number_format:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            sections.append(current)
            current = ""
            continue
        current += char
    sections.append(current)
    return sections if len(sections) <= 4 else None


def _lex(section: str) -> list[Token] | None:
    """The pieces of one section: literal text ("lit"), letter runs such as `yyyy` ("word"),
    `AM/PM` ("ampm"), and every other character ("char"); None where it is malformed or has a
    bracket other than a currency, a locale or a colour (a condition, elapsed time, numerals)."""
    tokens: list[Token] = []
    index = 0
    while index < len(section):
        char = section[index]
        if char == '"':
            end = section.find('"', index + 1)
            if end < 0:
                return None
            tokens.append(("lit", section[index + 1 : end]))
            index = end + 1
        elif char in "\\_*":
            if index + 1 >= len(section):
                return None
            if char == "\\":
                tokens.append(("lit", section[index + 1]))
            elif char == "_":
                tokens.append(("lit", " "))  # room for a character: a space
            index += 2  # `*x` repeats x to fill the column: nothing in text
        elif char == "[":
            end = section.find("]", index)
            if end < 0:
                return None
            inside = section[index + 1 : end]
            if inside.startswith("$"):
                tokens.append(("lit", inside[1:].split("-")[0]))  # [$₩-412]: ₩; [$-412]: none
            elif inside.lower() not in _COLORS and not inside.lower().startswith("color"):
                return None
            index = end + 1
        elif (
            section[index : index + 5].upper() == "AM/PM"
            or section[index : index + 3].upper() == "A/P"
        ):
            return None  # shown in the reader's language (오전/오후): not guessed here
        elif char.isalpha() and char.isascii():
            end = index
            while end < len(section) and section[end].lower() == char.lower():
                end += 1
            tokens.append(("word", section[index:end].lower()))
            index = end
        else:
            tokens.append(("char", char))
            index += 1
    return tokens


def _tokens(section: str) -> list[Token] | None:
    """A number section's pieces: "ph" (a digit placeholder), "dot", "comma", "pct", "lit"."""
    lexed = _lex(section)
    if lexed is None:
        return None
    tokens: list[Token] = []
    for kind, text in lexed:
        if kind == "word" or text in ("@", "/"):
            return None  # dates, `General`, exponents; text; fractions
        if kind == "lit":
            tokens.append((kind, text))
        elif text in _PLACEHOLDERS:
            tokens.append(("ph", text))
        elif text == ".":
            tokens.append(("dot" if not any(k == "dot" for k, _ in tokens) else "lit", text))
        elif text == ",":
            tokens.append(("comma", text))
        elif text == "%":
            tokens.append(("pct", text))
        else:
            tokens.append(("lit", text))
    return tokens


def _render(tokens: list[Token], number: Decimal) -> str | None:
    dot = next((i for i, (kind, _) in enumerate(tokens) if kind == "dot"), len(tokens))
    whole = [i for i, (kind, _) in enumerate(tokens[:dot]) if kind == "ph"]
    fraction = [i for i, (kind, _) in enumerate(tokens) if kind == "ph" and i > dot]
    if not whole and not fraction:  # only text: Excel shows the text
        return "".join(text for kind, text in tokens if kind != "comma")
    last = whole[-1] if whole else dot
    scaling = 0
    for kind, _ in tokens[last + 1 : dot]:
        if kind != "comma":
            break
        scaling += 1  # `#,##0,` shows thousands
    grouped = bool(whole) and any(kind == "comma" for kind, _ in tokens[whole[0] : last])
    if any(kind == "pct" for kind, _ in tokens):
        number *= 100
    number /= Decimal(1000) ** scaling
    digits = max(28, number.adjusted() + len(fraction) + 2)  # 1e30 keeps all its digits
    rounded = number.quantize(
        Decimal(1).scaleb(-len(fraction)), rounding=ROUND_HALF_UP, context=Context(prec=digits)
    )
    integer, _, decimals = f"{rounded:f}".partition(".")
    shown = dict(zip(fraction, _fraction(decimals, [tokens[i][1] for i in fraction]), strict=True))
    shown.update(_whole(integer.lstrip("0"), [tokens[i][1] for i in whole], whole, grouped))
    out = []
    for index, (kind, text) in enumerate(tokens):
        if index in shown:
            out.append(shown[index])
        elif kind in ("lit", "pct") or (kind == "dot" and fraction):
            out.append(text)
        elif kind == "comma" and not grouped and not (last < index < dot):
            out.append(text)  # a comma that neither groups nor scales is a literal
    return "".join(out)


def _whole(digits: str, marks: list[str], places: list[int], grouped: bool) -> dict[int, str]:
    """The integer digits at the places of the placeholders that hold them."""
    if not places:
        return {}
    required = len(marks) - next((i for i, m in enumerate(marks) if m == "0"), len(marks))
    digits = digits.rjust(required, "0")
    if grouped:
        text = f"{int(digits):,}" if digits else ""
        if digits.startswith("0") and len(digits) > 1:  # zero padding beyond the number
            text = ",".join(_chunks(digits))
        return {places[0]: text, **dict.fromkeys(places[1:], "")}
    shown: dict[int, str] = {}
    rest = list(digits)
    for place, mark in zip(reversed(places), reversed(marks), strict=True):
        shown[place] = rest.pop() if rest else (" " if mark == "?" else "")
    if rest:  # more digits than placeholders: they go before the first one
        shown[places[0]] = "".join(rest) + shown[places[0]]
    return shown


def _chunks(digits: str) -> list[str]:
    head = len(digits) % 3 or 3
    return [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]


def _fraction(decimals: str, marks: list[str]) -> list[str]:
    """The decimal digits, trailing zeros dropped where the placeholder is `#` (`?`: a space)."""
    shown = list(decimals)
    for index in range(len(shown) - 1, -1, -1):
        if shown[index] != "0" or marks[index] == "0":
            break
        shown[index] = " " if marks[index] == "?" else ""
    return shown
