"""A number cell of a workbook as Excel shows it under its number format (docs/bulk-input.md).

Saved as CSV, a sheet whose amounts are formatted `#,##0` reads `15,000`; read from the .xlsx
itself it must read the same. This covers the formats of numbers people use in such sheets:
digits (`0`, `#`, `?`), thousands separators and scaling commas, decimals, percent, literal
text and currencies (`"원"`, `\\원`, `[$₩-412]`), padding (`_)`), sections for negative numbers
and zero, and digit templates such as `000-0000-0000` (a phone number kept as a number). Any
other format (dates, text `@`, fractions, exponents, conditions, Korean numerals) answers None:
the caller shows the General form instead.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_PLACEHOLDERS = "0#?"
_DATE_LETTERS = set("yYmMdDhHsSaAgGeEbB")  # date/time tokens, `General`, exponents, eras
_COLORS = {"black", "blue", "cyan", "green", "magenta", "red", "white", "yellow"}

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


def _tokens(section: str) -> list[Token] | None:
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
            continue
        if char in "\\_*":
            if index + 1 >= len(section):
                return None
            if char == "\\":
                tokens.append(("lit", section[index + 1]))
            elif char == "_":
                tokens.append(("lit", " "))  # room for a character: a space
            index += 2  # `*x` repeats x to fill the column: nothing in text
            continue
        if char == "[":
            end = section.find("]", index)
            if end < 0:
                return None
            inside = section[index + 1 : end]
            if inside.startswith("$"):
                tokens.append(("lit", inside[1:].split("-")[0]))  # [$₩-412]: the symbol
            elif inside.lower() not in _COLORS and not inside.lower().startswith("color"):
                return None  # a condition ([>=100]) or a numeral system ([DBNum1])
            index = end + 1
            continue
        if char in _PLACEHOLDERS:
            tokens.append(("ph", char))
        elif char == ".":
            tokens.append(("dot" if not any(k == "dot" for k, _ in tokens) else "lit", char))
        elif char == ",":
            tokens.append(("comma", char))
        elif char == "%":
            tokens.append(("pct", char))
        elif char in _DATE_LETTERS or char in "@/":
            return None
        else:
            tokens.append(("lit", char))
        index += 1
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
    rounded = number.quantize(Decimal(1).scaleb(-len(fraction)), rounding=ROUND_HALF_UP)
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
