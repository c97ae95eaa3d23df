"""kmsg's Typer classes: how every command's help looks, and what a command costs to start.

- Help: commands are `KmsgCommand`s and groups `KmsgGroup`s, so each help page ends with a
  line on the global options (they may stand before or after the sub-command), and no
  `<bool>` / `<str>` placeholder sits beside a flag or a named argument.
- Start-up: a group lists its sub-groups as `lazy` ("module:attribute") and its sub-commands
  as `lazy_commands`, imported and built only when the command line reaches them, so
  `kmsg send` imports neither `kmsg queue` nor `kmsg send-many`. The console script pauses
  the garbage collector while kmsg starts (`cli/entry.py`); a `KmsgCommand` turns it back on
  when it is invoked, so the command's own work is collected as usual.
- Conversion: parameters of plain types are converted without pydantic (`coercion`); when
  Click parses resiliently (shell completion), values stay as typed.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any, NamedTuple, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from kmsg_cli.cli.coercion import use_plain_conversion

F = TypeVar("F", bound=Callable[..., Any])

HELP_OPTION_NAMES = ["-h", "--help"]
GLOBAL_OPTIONS_NOTE = (
    "[dim]Global options, before or after the command: -p/--profile NAME, --config PATH, "
    "--db PATH|URL, --json, -v/--verbose, -q/--quiet (see kmsg --help).[/]"
)

EXIT_CODES_NOTE = (
    "[dim]Exit codes: 0 done, 1 bug, 2 bad input/config/database (nothing sent), "
    "3 provider failure (nothing accepted), 4 not supported, 5 partial, "
    "6 sent but not recorded (do not send again: re-run to record it, docs/recovery.md), "
    "130 interrupted.[/]"
)
SENDING_EPILOG = f"{EXIT_CODES_NOTE}\n\n{GLOBAL_OPTIONS_NOTE}"


# The root's options, which parsing.py moves to the front wherever they stand.
GLOBAL_VALUE_OPTIONS = frozenset({"--profile", "-p", "--config", "--db"})
GLOBAL_FLAG_OPTIONS = frozenset({"--json", "--verbose", "-v", "--quiet", "-q"})

_resume_collection = False


def resume_collection_at_invoke(paused: bool) -> None:
    """Whether the next command to run turns the garbage collector back on (after freezing
    what start-up built): the console script pauses it while kmsg starts."""
    global _resume_collection
    _resume_collection = paused


def _resume_collection_now() -> None:
    global _resume_collection
    if _resume_collection:
        _resume_collection = False
        gc.freeze()  # modules, classes, the command tree: they live as long as the process
        gc.enable()


def reflow_help(text: str | None) -> str | None:
    """A docstring's paragraphs as one line each, for the terminal to wrap: Typer keeps the
    source's line breaks, and lines written for a 100-column editor would break twice in an
    80-column terminal. Indented lines (examples) stay as they are, each set apart from the
    lines around it (`Examples:` above them) so that it keeps its indent."""
    if not text:
        return text
    from inspect import cleandoc

    paragraphs = []
    for paragraph in cleandoc(text).split("\n\n"):
        lines = paragraph.splitlines()
        if paragraph.startswith("\b"):
            paragraphs.append(paragraph)
        elif any(line[:1].isspace() for line in lines):
            # each example its own paragraph: rich drops the indent of a block's lines
            paragraphs += [line for line in lines if line.strip()]
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    # Typer dedents the text after the first paragraph as a docstring, whose first line does
    # not count: when that line is `Examples:` and only examples follow, they would lose their
    # indent. An empty paragraph there comes first instead (and is dropped with the dedent).
    return "\n\n".join(paragraphs[:1] + [""] * (len(paragraphs) > 1) + paragraphs[1:])


def _no_type(ctx: Any) -> None:
    return None


def _typed_as_is(ctx: Any, value: Any) -> Any:
    return value


def _plain_help_option(option: Any) -> Any:
    if option is not None:
        option.metavar = ""  # a flag takes no value: no `<bool>` beside --help
    return option


def _refuse_options_as_values(params: list[Any], args: list[str], ctx: Any) -> None:
    """`--batch-id $ID --dry-run` with $ID empty gives --batch-id the value "--dry-run", and
    the dry run silently becomes a real send. A value that is exactly an option of the
    command (or a global one) is refused; `--batch-id=--dry-run` still passes it on purpose."""
    from typer._click.exceptions import UsageError

    names = set(GLOBAL_VALUE_OPTIONS | GLOBAL_FLAG_OPTIONS)
    takes_value: set[str] = set()
    for param in params:
        if param.param_type_name != "option":
            continue
        own = [*param.opts, *param.secondary_opts]
        names.update(own)
        if not (param.is_flag or param.count):
            takes_value.update(param.opts)
    for token, value in pairwise(args):
        if token == "--":
            return
        if token in takes_value and value in names:
            raise UsageError(
                f"option {token} needs a value, but the next word is the option {value} (an "
                f"empty shell variable?); to give {value!r} as the value, write {token}={value}",
                ctx=ctx,
            )


def _keep_typed_values(command: Any, ctx: Any) -> None:
    for param in command.get_params(ctx):
        setattr(param, "process_value", _typed_as_is)  # noqa: B010


class _KmsgParsing:
    """What commands and groups share: --help without a placeholder, completion-time parsing."""

    def get_help_option(self, ctx: Any) -> Any:
        return _plain_help_option(super().get_help_option(ctx))  # type: ignore[misc]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.resilient_parsing:
            _keep_typed_values(self, ctx)
        else:
            params = self.get_params(ctx)  # type: ignore[attr-defined]
            _refuse_options_as_values(params, args, ctx)
            use_plain_conversion(params)
        parsed: list[str] = super().parse_args(ctx, args)  # type: ignore[misc]
        return parsed


class KmsgCommand(_KmsgParsing, TyperCommand):
    """A command whose help ends with the global options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("epilog") is None:
            kwargs["epilog"] = GLOBAL_OPTIONS_NOTE
        kwargs["help"] = reflow_help(kwargs.get("help"))
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.param_type_name == "argument" and param.metavar:
                # The metavar (FILE, ID) says it all; Typer would add `<str>` beside it.
                setattr(param, "display_type_rich", _no_type)  # noqa: B010

    def invoke(self, ctx: Any) -> Any:
        _resume_collection_now()  # the command's own work is collected as usual
        return super().invoke(ctx)


class LazyCommand(NamedTuple):
    """A sub-command built on first use: its function, and how it is registered."""

    target: str
    """"module:function"; the module's HELP is the command's help."""
    options: dict[str, Any] = {}  # noqa: RUF012 (never mutated)
    """More keyword arguments of `Typer.command` (epilog, no_args_is_help)."""


class KmsgGroup(_KmsgParsing, TyperGroup):
    """A group of sub-commands (`kmsg queue`); its help names the global options too."""

    mention_globals = True
    lazy: dict[str, str] = {}  # noqa: RUF012 (subclasses replace it whole)
    """Sub-groups built on first use: name -> "module:attribute" of a KmsgTyper."""
    lazy_commands: dict[str, LazyCommand] = {}  # noqa: RUF012 (subclasses replace it whole)
    """Sub-commands built on first use: only the module of the command that runs is imported."""
    order: tuple[str, ...] = ()
    """The order of the sub-commands in help and completion (else: built ones, then lazy)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.mention_globals and kwargs.get("epilog") is None:
            kwargs["epilog"] = GLOBAL_OPTIONS_NOTE
        kwargs["help"] = reflow_help(kwargs.get("help"))
        super().__init__(*args, **kwargs)

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        names = [*names, *(name for name in (*self.lazy_commands, *self.lazy) if name not in names)]
        rank = {name: index for index, name in enumerate(self.order)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Typer suggests only among commands already built; a lazy one is a name until used,
        so a typo (`kmsg sned`) is matched against every name here."""
        try:
            return super().resolve_command(ctx, args)
        except Exception as error:
            message = getattr(error, "message", None)
            if (
                isinstance(message, str)
                and message.startswith("No such command")
                and "Did you mean" not in message
                and args
            ):
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    names = ", ".join(repr(name) for name in matches)
                    error.message = f"{message.rstrip('.')}. Did you mean {names}?"  # type: ignore[attr-defined]
            raise

    def get_command(self, ctx: Any, name: str) -> Any:
        command = super().get_command(ctx, name)
        if command is None and name in self.lazy_commands:
            command = self._build_command(name)
        elif command is None and name in self.lazy:
            command = self._build(name)
        return command

    def _build(self, name: str) -> Any:
        import importlib

        import typer.main

        module, _, attribute = self.lazy[name].partition(":")
        group = typer.main.get_group(getattr(importlib.import_module(module), attribute))
        group.name = name
        self.add_command(group, name)
        return group

    def _build_command(self, name: str) -> Any:
        import importlib

        import typer.main

        spec = self.lazy_commands[name]
        module_name, _, function = spec.target.partition(":")
        module = importlib.import_module(module_name)
        holder = typer.Typer(
            rich_markup_mode="rich", pretty_exceptions_enable=False, add_completion=False
        )
        holder.command(name, cls=KmsgCommand, help=module.HELP, **spec.options)(
            getattr(module, function)
        )
        command = typer.main.get_command(holder)
        self.add_command(command, name)
        return command


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


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under `command` (a Click command) with its path of names, lazy groups
    built: what `--help` lists, for tests and documentation."""
    yield path, command
    if hasattr(command, "list_commands"):
        context = command.make_context(path[-1] if path else "kmsg", [], resilient_parsing=True)
        for name in command.list_commands(context):
            yield from walk(command.get_command(context, name), (*path, name))
