"""The error boundary: typed errors become one line and an exit code, at one place."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer

from kmsg_cli.cli.runtime import GlobalOptions, Runtime
from kmsg_cli.errors import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_PIPE_CLOSED,
    ConfigError,
    Interrupted,
    KmsgError,
)

if TYPE_CHECKING:
    from rich.console import Console

P = ParamSpec("P")
R = TypeVar("R")


def runtime_of(ctx: typer.Context) -> Runtime:
    """The Runtime of this invocation, created from the root options on first use."""
    root = ctx.find_root()
    if not isinstance(root.obj, Runtime):
        options = root.obj if isinstance(root.obj, GlobalOptions) else GlobalOptions()
        root.obj = Runtime(options)
        root.call_on_close(root.obj.close)
    return root.obj


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command; turn KmsgError / Ctrl-C / bugs into one line and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = kwargs.get("ctx")
        if not hasattr(ctx, "find_root"):  # Typer passes its own Context class
            raise TypeError("commands wrapped by reports_errors take `ctx: typer.Context`")
        runtime = runtime_of(ctx)  # type: ignore[arg-type]
        try:
            result = command(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's exit
            return result
        except typer.Exit:
            raise
        except BrokenPipeError:
            # The reader of the output went away (`kmsg queue list | head`): stop quietly, as
            # a program ended by SIGPIPE does; what was done is recorded (docs/cli.md).
            _silence_stdout()
            raise typer.Exit(EXIT_PIPE_CLOSED) from None
        except KmsgError as error:
            runtime.out.error(error)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            runtime.out.error(
                Interrupted("interrupted; what was done is recorded", hint="re-run to resume")
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # a bug: say so in one line, traceback only with -vv
            import logging
            import traceback

            if runtime.options.verbose >= 2:
                runtime.out.err.print(traceback.format_exc(), markup=False, highlight=False)
            logging.getLogger("kmsg").debug("internal error", exc_info=True)
            runtime.out.error(
                KmsgError(
                    f"{type(exc).__name__}: {_one_line(str(exc))}",
                    code="INTERNAL_ERROR",
                    hint="this is a bug in kmsg; re-run with -vv for the traceback and report it",
                )
            )
            raise typer.Exit(EXIT_BUG) from None

    return wrapper


def _silence_stdout() -> None:
    """Point standard output at the null device, so that nothing left in its buffer fails
    again when the interpreter flushes it on exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind stdout (a test's buffer)
        pass
    finally:
        os.close(devnull)


def fails_with(
    runtime: Runtime, data: Any, render: Callable[[Console], None], message: str, *, code: str
) -> NoReturn:
    """Show a check's result (`data`, `render`) as failed with ConfigError `code` and exit 2:
    the configuration is not ready (`config validate`, `providers doctor`)."""
    runtime.out.result(data, render, ok=False, error=ConfigError(message, code=code))
    raise typer.Exit(ConfigError.exit_code)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"
