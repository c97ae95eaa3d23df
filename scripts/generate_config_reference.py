"""Write the generated tables of docs/configuration.md from the provider registry.

    python scripts/generate_config_reference.py          # rewrite the tables in place
    python scripts/generate_config_reference.py --check  # exit 1 if a table differs

The tables sit between `<!-- BEGIN generated: NAME -->` and `<!-- END generated: NAME -->`
lines; everything else in the file is written by hand. The source of every row is
kmsg_cli/providers/catalog.py, so the documentation cannot drift from what `config validate`
accepts.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from kmsg_cli.config.keys import SECRET_WORDS
from kmsg_cli.providers.catalog import (
    COMMON_SETTINGS,
    PROVIDERS,
    SECRET_SETTINGS,
    ProviderType,
    Setting,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
COMMON_ENV = {"sender": "KMSG_SENDER"}  # read by environment-only mode for every type

_KINDS = {
    "str": "text",
    "url": "URL",
    "phone": "phone number",
    "int": "integer",
    "float": "number",
    "bool": "true/false",
    "suffixes": "list of digit strings",
}


def _kind(setting: Setting) -> str:
    text = _KINDS[setting.kind]
    low, high = setting.minimum, setting.maximum
    if setting.kind == "float" and low is not None:
        return f"{text} > {low:g}"
    if low is not None and high is not None:
        return f"{text} {low:g}–{high:g}"
    if low is not None:
        return f"{text} ≥ {low:g}"
    return text


def _toml(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    return f"`{value}`"


def _row(key: str, setting: Setting, variable: str | None, required: bool) -> str:
    env = f"`{variable}`" if variable else "—"
    cells = [
        f"`{key}`",
        _kind(setting),
        _toml(setting.default),
        "yes" if setting.secret else "no",
        "yes" if required else "no",
        env,
        setting.about,
    ]
    return "| " + " | ".join(cells) + " |"


_HEADER = (
    "| Setting | Kind | Default | Secret | Required | Environment-only variable | What it is |\n"
    "|---|---|---|---|---|---|---|"
)


def _notes(entry: ProviderType) -> str:
    notes = []
    if entry.any_of:
        sets = " and/or ".join(
            f"{' + '.join(f'`{key}`' for key in group.keys)} ({group.label})"
            for group in entry.any_of
        )
        extras = "".join(
            f"; `{key}` goes with {group.label}" for group in entry.any_of for key in group.extra
        )
        notes.append(f"Credentials: {sets}, at least one whole set{extras}.")
    if entry.kakao_setting:
        notes.append(f"KakaoTalk messages need `{entry.kakao_setting}`.")
    return " ".join(notes)


def provider_settings() -> str:
    """The common settings, then one table per provider type of its own settings."""
    parts = [
        "#### Settings of every provider type\n",
        _HEADER,
        *(_row(key, s, COMMON_ENV.get(key), False) for key, s in COMMON_SETTINGS.items()),
    ]
    for name, entry in PROVIDERS.items():
        parts.append(f"\n#### `{name}`: {entry.capabilities.summary}\n")
        if not entry.own_settings:
            parts.append("No settings of its own.")
            continue
        parts.append(_HEADER)
        for key in entry.own_settings:
            setting = entry.settings[key]
            variable = entry.env_variable(key) if setting.env else None
            parts.append(_row(key, setting, variable, key in entry.required))
        if notes := _notes(entry):
            parts.append(f"\n{notes}")
    return "\n".join(parts) + "\n"


def env_variables() -> str:
    """`KMSG_PROVIDER` type -> the variables environment-only mode reads for it."""
    lines = ["| `KMSG_PROVIDER` | Variables (required ones marked) |", "|---|---|"]
    for name, entry in PROVIDERS.items():
        names = [
            f"`{variable}`" + (" (required)" if required else "")
            for _, variable, required in entry.env_settings()
        ]
        if entry.any_of:
            sets = " and/or ".join(
                " + ".join(f"`{entry.env_variable(k)}`" for k in g.keys) for g in entry.any_of
            )
            names.append(f"at least one set: {sets}")
        lines.append(f"| `{name}` | {', '.join(names) or 'none'} |")
    lines.append("| every type | `KMSG_SENDER` (default sender), `KMSG_TIMEZONE` |")
    return "\n".join(lines) + "\n"


def secret_settings() -> str:
    """The setting names whose values are secrets, whatever table they appear in."""
    names = ", ".join(f"`{key}`" for key in sorted(SECRET_SETTINGS))
    quoted = [f"`{word}`" for word in SECRET_WORDS]
    words = ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
    return f"Secret settings: {names}, and any setting whose name contains {words}.\n"


GENERATORS = {
    "provider-settings": provider_settings,
    "env-variables": env_variables,
    "secret-settings": secret_settings,
}


def render(text: str) -> str:
    """`text` with every generated block replaced by what the registry says today."""
    for name, generate in GENERATORS.items():
        pattern = re.compile(
            rf"(<!-- BEGIN generated: {name} -->\n).*?(<!-- END generated: {name} -->)", re.S
        )
        if not pattern.search(text):
            raise SystemExit(f"{DOC}: no generated block '{name}'")
        body = generate()
        text = pattern.sub(lambda match, body=body: match.group(1) + body + match.group(2), text)
    return text


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if current == wanted:
        return 0
    if "--check" in argv:
        print(f"{DOC} is out of date; run: python scripts/generate_config_reference.py")
        return 1
    DOC.write_text(wanted, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
