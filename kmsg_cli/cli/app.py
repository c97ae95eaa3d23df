"""The `kmsg` command: global options, sub-commands, and the console-script entry point.

Startup stays light: this module imports typer and kmsg's pure modules only; rich, httpx,
sqlite3 and provider clients are imported by the commands that need them. No
`from __future__ import annotations`: Typer reads the options' annotations on every run, and
objects cost it nothing where strings are evaluated (twice) first.
"""

from typing import Annotated

import typer

from kmsg_cli import __version__
from kmsg_cli.cli import complete_values, completion
from kmsg_cli.cli.framework import (
    EXIT_CODES_NOTE,
    HELP_OPTION_NAMES,
    SENDING_EPILOG,
    KmsgCommand,
    LazyCommand,
    resume_collection_at_invoke,
)
from kmsg_cli.cli.parsing import RootGroup
from kmsg_cli.cli.runtime import GlobalOptions

HELP = """Send Korean SMS/LMS/MMS and KakaoTalk messages, track delivery, run a durable queue.

With no configuration kmsg uses the built-in [bold]sandbox[/] profile: the mock provider and a local SQLite file. Nothing real is delivered until you configure a provider.

[dim]Examples:[/]

  kmsg send --to 010-1234-5678 --text "hello"

  kmsg send --to 010-1234-5678 --text "#{name}님" --var name=홍길동 --dry-run

  kmsg config init
"""  # noqa: E501


class KmsgRoot(RootGroup):
    """`kmsg`: the commands and command groups are imported and built when a command line
    reaches them (`kmsg send` imports the send command's module, no other)."""

    order = (
        "send",
        "send-many",
        "report",
        "cancel",
        "completions",
        "track",
        "queue",
        "config",
        "db",
        "providers",
    )
    lazy_commands = {  # noqa: RUF012
        "send": LazyCommand(
            "kmsg_cli.cli.send_cmd:send", {"epilog": SENDING_EPILOG, "no_args_is_help": True}
        ),
        "send-many": LazyCommand(
            "kmsg_cli.cli.bulk_cmd:send_many",
            {"epilog": SENDING_EPILOG, "no_args_is_help": True},
        ),
        "report": LazyCommand("kmsg_cli.cli.report_cmd:report"),
        "cancel": LazyCommand("kmsg_cli.cli.cancel_cmd:cancel", {"no_args_is_help": True}),
    }
    lazy = {  # noqa: RUF012
        "track": "kmsg_cli.cli.track_cmd:app",
        "queue": "kmsg_cli.cli.queue_cmd:app",
        "config": "kmsg_cli.cli.config_cmd:app",
        "db": "kmsg_cli.cli.db_cmd:app",
        "providers": "kmsg_cli.cli.providers_cmd:app",
    }


app = typer.Typer(
    cls=KmsgRoot,
    name="kmsg",
    help=HELP,
    epilog=EXIT_CODES_NOTE,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"kmsg {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            help="Profile to use (env KMSG_PROFILE).",
            show_default=False,
            autocompletion=complete_values.profiles,
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config", metavar="PATH", help="Config file (env KMSG_CONFIG).", show_default=False
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH|URL",
            help="SQLite path or database URL (env KMSG_DB).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", metavar="", help="Print one JSON document on stdout.")
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            metavar="",
            show_default=False,
            help="More logging (-vv: HTTP too).",
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="Only errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            metavar="",
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    ctx.obj = GlobalOptions(
        profile=profile, config=config, db=db, json=json_output, verbose=verbose, quiet=quiet
    )
    from kmsg_cli.cli.logs import setup_logging

    setup_logging(verbose, quiet=quiet)


COMPLETIONS_HELP = """Print the shell completion script for bash, zsh or fish.

Completes commands, options and values: profile names, provider ids of the active profile, message types and statuses, `track show` ids from the database, and file paths.

[dim]Examples:[/]

  kmsg completions bash > ~/.local/share/bash-completion/completions/kmsg

  kmsg completions zsh > "${fpath[1]}/_kmsg"

  kmsg completions fish > ~/.config/fish/completions/kmsg.fish

  eval "$(kmsg completions bash)"
"""  # noqa: E501


@app.command("completions", cls=KmsgCommand, help=COMPLETIONS_HELP, no_args_is_help=True)
def completions(
    shell: Annotated[completion.Shell, typer.Argument(metavar="SHELL", help="bash, zsh or fish.")],
) -> None:
    typer.echo(completion.script(shell), nl=False)


completion.register()


def main(*, collection_paused: bool = False) -> None:
    """Console-script entry point. `collection_paused`: the caller paused the garbage
    collector for start-up; the command turns it back on when it begins (`framework`)."""
    resume_collection_at_invoke(collection_paused)
    app()
