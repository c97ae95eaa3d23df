"""What every part of `kmsg_cli.normalize` shares: the shape of its errors and "not given"."""

from __future__ import annotations

from kmsg_cli.errors import InvalidInput


def invalid(code: str, what: str, *, field: str, value: str | None, hint: str) -> InvalidInput:
    """An `InvalidInput` whose one-line message names the field (docs/messages.md)."""
    return InvalidInput(f"{what} (field '{field}')", code=code, field=field, value=value, hint=hint)


def given(value: str | None) -> str | None:
    """None for a missing or blank optional value (an empty CSV cell means 'not given')."""
    return value if value is not None and value.strip() else None
