"""Global options may stand before or after the sub-command (`kmsg send ... --json`).

Typer only parses a group's options before its sub-command, so the root group moves every
global option it finds later on to the front before parsing. It walks the command tree to
know which tokens are values of a command's own options (`--text --json`: "--json" is the
value of --text here, which the command then refuses as an option standing where a value
belongs; `--text=--json` sends it), and stops at `--`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from kmsg_cli.cli.framework import GLOBAL_FLAG_OPTIONS, GLOBAL_VALUE_OPTIONS, KmsgGroup


def _is_global_flag(token: str) -> bool:
    return token in GLOBAL_FLAG_OPTIONS or (token.startswith("-v") and set(token[1:]) == {"v"})


def _takes_value(command: Any, token: str) -> bool:
    for param in getattr(command, "params", ()):
        names = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
        if token in names:
            return not (getattr(param, "is_flag", False) or getattr(param, "count", False))
    return False


def hoist_global_options(root: Any, ctx: Any, args: list[str]) -> list[str]:
    """Return `args` with global options (and their values) moved to the front."""
    front: list[str] = []
    rest: list[str] = []
    command = root
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            rest.extend(args[index:])
            break
        name = token.split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS:
            if "=" not in token and index + 1 >= len(args) and not ctx.resilient_parsing:
                # Moved to the front, it would take the sub-command's name as its value
                # (`kmsg queue stats --db`: "No such command 'stats'"); not while completing.
                from typer._click.exceptions import UsageError

                raise UsageError(f"option {token} needs a value", ctx=ctx)
            if "=" in token or index + 1 >= len(args):
                front.append(token)
                index += 1
            else:
                front.extend(args[index : index + 2])
                index += 2
            continue
        if _is_global_flag(token):
            front.append(token)
            index += 1
            continue
        if token.startswith("-") and "=" not in token and _takes_value(command, token):
            rest.extend(args[index : index + 2])
            index += 2
            continue
        if not token.startswith("-") and hasattr(command, "get_command"):
            sub = command.get_command(ctx, token)
            if sub is not None:
                command = sub
        rest.append(token)
        index += 1
    return front + rest


class RootGroup(KmsgGroup):
    """The `kmsg` group: global options anywhere, usage errors as one line."""

    mention_globals = False  # its own help lists them

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(self, ctx, args))

    def make_context(self, info_name: Any, args: list[str], *rest: Any, **kwargs: Any) -> Any:
        words = args[: args.index("--")] if "--" in args else args
        return _one_line_usage_errors(
            lambda: super(RootGroup, self).make_context(info_name, args, *rest, **kwargs),
            json_mode=lambda: "--json" in words,
        )

    def invoke(self, ctx: Any) -> Any:
        def json_mode() -> bool:
            # Read when an error happens: the root callback sets ctx.obj before the
            # sub-command's own arguments are parsed; an unknown sub-command is found before
            # the callback runs, when only the root's parsed options say it.
            obj = getattr(ctx, "obj", None)
            return (
                bool(getattr(obj, "json", False))
                or bool(getattr(getattr(obj, "options", None), "json", False))
                or bool((getattr(ctx, "params", None) or {}).get("json_output"))
            )

        return _one_line_usage_errors(
            lambda: super(RootGroup, self).invoke(ctx), json_mode=json_mode
        )


def _one_line_usage_errors(call: Any, *, json_mode: Callable[[], bool]) -> Any:
    """Typer prints usage errors as a box; kmsg prints `error: USAGE: ...` (exit 2)."""
    try:
        return call()
    except Exception as exc:
        format_message: Any = getattr(exc, "format_message", None)
        is_usage = callable(format_message) and getattr(exc, "exit_code", None) == 2
        if not is_usage:
            raise
        err_ctx = getattr(exc, "ctx", None)
        command_path = ""
        if err_ctx is not None:
            command_path = getattr(err_ctx, "command_path", "")
        if type(exc).__name__ == "NoArgsIsHelpError":
            # Show the help, as git and gh do. Building the error has printed the rich help
            # already; plain help comes back as text. A group alone (`kmsg`, `kmsg config`)
            # succeeds; a command that needs arguments (`kmsg send-many`) fails, so that a
            # script whose variables came out empty stops there (docs/cli.md).
            text = str(format_message())
            if text.strip():
                typer.echo(text)
            if hasattr(getattr(err_ctx, "command", None), "list_commands"):
                raise typer.Exit(0) from None
            message = f"{command_path or 'kmsg'} was given no arguments; its help is above"
            hint = None
        else:
            message = " ".join(str(format_message()).replace("Value error, ", "").split())
            hint = f"{command_path or 'kmsg'} --help"
        if json_mode():
            import json

            error = {"code": "USAGE", "message": message, "hint": hint}
            document: dict[str, Any] = {"ok": False, "data": None, "error": error, "warnings": []}
            typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        else:
            typer.echo(f"error: USAGE: {message}", err=True)
            if hint is not None:
                typer.echo(f"hint: {hint}", err=True)
        raise typer.Exit(2) from None
