"""Variables: `--var`/`--vars` parsing, `#{name}` placeholders and filling them in
(docs/messages.md, "Variables").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from kmsg_cli.errors import quoted as _quote
from kmsg_cli.normalize._common import invalid as _error

_PLACEHOLDER = re.compile(r"#\{([^{}]*)\}")
# Placeholders as other tools write them: `{name}`, `{{name}}`, `${name}`, `%name%`. kmsg fills
# none of them; one that names a given variable is a slip for `#{name}` (docs/messages.md).
_FOREIGN = re.compile(r"(?:#(?=\{\{)|(?<!#))\$?\{\{?[ \t]*([^\s{}#]+)[ \t]*\}\}?|%([^\s%]+)%")


def placeholders(text: str) -> list[str]:
    """Names of the `#{name}` placeholders, stripped, unique, in order; `#{}` is literal."""
    names: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1).strip()
        if name:
            names.setdefault(name, None)
    return list(names)


Parsed = tuple[
    tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...], tuple[tuple[str, str], ...]
]


@lru_cache(maxsize=256)
def _parsed(text: str) -> Parsed:
    """`text` split once (send-many fills the same text for every row): the literal pieces,
    the placeholders between them as (as written, name stripped), the unique names, and the
    placeholders of another syntax as (as written, name)."""
    literals: list[str] = []
    slots: list[tuple[str, str]] = []
    start = 0
    for match in _PLACEHOLDER.finditer(text):
        literals.append(text[start : match.start()])
        slots.append((match.group(0), match.group(1).strip()))
        start = match.end()
    literals.append(text[start:])
    names = tuple(dict.fromkeys(name for _, name in slots if name))
    foreign = tuple(
        (match.group(0), match.group(1) or match.group(2)) for match in _FOREIGN.finditer(text)
    )
    return tuple(literals), tuple(slots), names, foreign


def placeholder_names(text: str) -> tuple[str, ...]:
    """The unique placeholder names of `text`, from the cached parse (cheap per row)."""
    return _parsed(text)[2]


CASE_RULE = "names are matched exactly, case included"
GIVE_VARIABLES = "give each with --var NAME=VALUE or --vars JSON (send-many: a column per name)"


def give_value(name: str) -> str:
    """How to give `name` a value, for both commands: a row's problem line of send-many shows
    the message only, so it must not name an option that send-many does not have."""
    return f"--var {name}=VALUE, or a column {name!r} in a file"


def case_slips(missing: Sequence[str], available: Iterable[str]) -> str | None:
    """`did you mean #{Name} for #{name}` for the missing names that an available one matches
    but for case (most likely a typo: names match exactly), or None."""
    by_case = {name.casefold(): name for name in available}
    near = [(name, by_case[name.casefold()]) for name in missing if name.casefold() in by_case]
    if not near:
        return None
    return "did you mean " + ", ".join(f"#{{{found}}} for #{{{name}}}" for name, found in near)


def check_syntax(text: str, variables: Iterable[str], *, field: str = "text") -> None:
    """PLACEHOLDER_SYNTAX for a `{name}`, `{{name}}`, `${name}` or `%name%` in `text` whose
    name is one of `variables`: it would go out as written, where `#{name}` was meant."""
    foreign = _parsed(text)[3]
    if not foreign:
        return
    names = variables if isinstance(variables, (Mapping, set, frozenset)) else set(variables)
    for written, name in foreign:
        if name in names:
            raise _error(
                "PLACEHOLDER_SYNTAX",
                f"'{field}' has {written}, which kmsg sends as written: a placeholder is "
                f"written #{{{name}}}",
                field=field,
                value=written,
                hint=f"write #{{{name}}} to fill in the variable {name!r}",
            )


def unused_variables(variables: Iterable[str], *texts: str | None) -> list[str]:
    """The names among `variables` that no `#{name}` of `texts` uses, each as a line for a
    warning: `kmsg send --var name=...` with a text that forgot `#{name}`. None while a
    placeholder has no value: MISSING_VARIABLE says it better, with its "did you mean"."""
    used = {name for text in texts if text for name in placeholder_names(text)}
    names = list(variables)
    if any(name not in names for name in used):
        return []
    return [
        f"variable '{name}' is used by no #{{{name}}} of the text"
        for name in names
        if name not in used
    ]


def interpolate(text: str, variables: Mapping[str, str], *, field: str = "text") -> str:
    """Fill every `#{name}` in one pass; MISSING_VARIABLE lists every name without a value,
    PLACEHOLDER_SYNTAX a `{name}` (another tool's syntax) that names one (`check_syntax`)."""
    literals, slots, names, foreign = _parsed(text)
    if foreign and variables:
        check_syntax(text, variables, field=field)
    if not slots:
        return text
    missing = [name for name in names if name not in variables]
    if missing:
        listed = ", ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        hint = GIVE_VARIABLES
        advice = give_value(missing[0])
        slips = case_slips(missing, variables)
        if slips:
            hint = slips + "? " + CASE_RULE
            advice = slips + "?"
        raise _error(
            "MISSING_VARIABLE",
            f"missing variable{plural} for '{field}': {listed} ({advice})",
            field=field,
            value=listed,
            hint=hint,
        )
    pieces = [literals[0]]
    for (written, name), literal in zip(slots, literals[1:], strict=True):
        # `#{}` (no name) stays as written
        pieces.append(check_variable(name, str(variables[name])) if name else written)
        pieces.append(literal)
    return "".join(pieces)


# Control characters other than tab and line breaks: a NUL or an escape sequence in a value
# that goes into a message is a broken export, never text to send.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def render_nonblank(
    text: str, variables: Mapping[str, str], *, field: str, code: str, what: str
) -> str:
    """`interpolate`, refusing a text that was not blank but is once its variables are filled
    in (every `#{name}` of `#{name}님` left empty): the provider would get an empty message."""
    rendered = interpolate(text, variables, field=field)
    if rendered.strip() or not text.strip():
        return rendered
    empty = [n for n in placeholder_names(text) if not str(variables.get(n, "")).strip()]
    listed = ", ".join(f"#{{{n}}}" for n in empty) or "its placeholders"
    raise _error(
        code,
        f"the {what} is empty once {listed} {'is' if len(empty) == 1 else 'are'} filled in",
        field=field,
        value=text,
        hint=f"give {listed} a value, or add words that do not depend on {listed}",
    )


def check_variable(name: str, value: str) -> str:
    """`value`, or INVALID_VARIABLE when it holds a control character (NUL, ESC, ...)."""
    found = _CONTROL.search(value)
    if found is None:
        return value
    char = repr(found.group())[1:-1]
    raise _error(
        "INVALID_VARIABLE",
        f"variable '{name}' contains the control character {char} at position {found.start()}",
        field=name,
        value=_quote(value),
        hint="remove control characters from the value (a binary or broken export?)",
    )


def _json_scalar(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        import json

        return json.dumps(value)
    raise _error(
        "INVALID_VARIABLE",
        f"variable '{key}' must be a string, number, boolean or null, not {type(value).__name__}",
        field="vars",
        value=key,
        hint='give flat values, e.g. --vars \'{"name": "홍길동", "count": 3}\'',
    )


def _reject_constant(name: str) -> None:
    """JSON has no NaN/Infinity; Python's json would accept them and we would send "NaN"."""
    raise ValueError(f"{name} is not a JSON value")


def parse_variables(pairs: Sequence[str], json_text: str | None) -> dict[str, str]:
    """Merge `--vars JSON` and `--var KEY=VALUE` items; `--var` wins on the same key."""
    result: dict[str, str] = {}
    if json_text is not None:
        hint = 'give a JSON object, e.g. --vars \'{"name": "홍길동"}\''
        import json

        try:
            data = json.loads(json_text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise _error(
                "INVALID_VARIABLE",
                f"{_quote(json_text.strip())} is not valid JSON ({exc.msg} at position {exc.pos})"
                if isinstance(exc, json.JSONDecodeError)
                else f"{_quote(json_text.strip())} is not valid JSON",
                field="vars",
                value=json_text.strip(),
                hint=hint,
            ) from None
        if not isinstance(data, dict):
            raise _error(
                "INVALID_VARIABLE",
                f"{_quote(json_text.strip())} is not a JSON object",
                field="vars",
                value=json_text.strip(),
                hint=hint,
            )
        for raw_key, value in data.items():
            key = raw_key.strip()
            if not key:
                raise _error(
                    "INVALID_VARIABLE",
                    f"{_quote(raw_key)} is not a variable name",
                    field="vars",
                    value=raw_key,
                    hint=hint,
                )
            result[key] = _json_scalar(key, value)
    for pair in pairs:
        raw_key, sep, value = pair.partition("=")
        key = raw_key.strip()
        if not sep or not key:
            raise _error(
                "INVALID_VARIABLE",
                f"{_quote(pair)} is not KEY=VALUE",
                field="var",
                value=pair,
                hint="write --var name=홍길동 (the name before the first '=')",
            )
        result[key] = value
    return result
