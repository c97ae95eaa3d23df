"""The `--help` of every kmsg command: rich panels, no type placeholders, the global options.

Sub-command groups are `KmsgTyper`s: their commands are `KmsgCommand`s and the groups
`KmsgGroup`s, so each help page ends with a line on the global options (they may stand
before or after the sub-command) and `--help` shows no `<bool>` placeholder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

F = TypeVar("F", bound=Callable[..., Any])

GLOBAL_OPTIONS_NOTE = (
    "[dim]Global options, before or after the command: -p/--profile NAME, --config PATH, "
    "--db PATH|URL, --json, -v/--verbose, -q/--quiet (see kmsg --help).[/]"
)


def _plain_help_option(option: Any) -> Any:
    if option is not None:
        option.metavar = ""  # a flag takes no value: no `<bool>` beside --help
    return option


def _no_type(ctx: Any) -> None:
    return None


class KmsgCommand(TyperCommand):
    """A command whose help ends with the global options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("epilog") is None:
            kwargs["epilog"] = GLOBAL_OPTIONS_NOTE
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.param_type_name == "argument" and param.metavar:
                # The metavar (FILE, ID) says it all; Typer would add `<str>` beside it.
                setattr(param, "display_type_rich", _no_type)  # noqa: B010

    def get_help_option(self, ctx: Any) -> Any:
        return _plain_help_option(super().get_help_option(ctx))


class KmsgGroup(TyperGroup):
    """A group of sub-commands (`kmsg queue`); its help names the global options too."""

    mention_globals = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.mention_globals and kwargs.get("epilog") is None:
            kwargs["epilog"] = GLOBAL_OPTIONS_NOTE
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: Any) -> Any:
        return _plain_help_option(super().get_help_option(ctx))


class KmsgTyper(typer.Typer):
    """`typer.Typer` with kmsg's defaults: help on no arguments, rich markup, KmsgCommand."""

    def __init__(self, *, help: str, cls: type[TyperGroup] = KmsgGroup, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("rich_markup_mode", "rich")
        super().__init__(cls=cls, help=help, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        kwargs.setdefault("cls", KmsgCommand)
        decorator: Callable[[F], F] = super().command(*args, **kwargs)
        return decorator
