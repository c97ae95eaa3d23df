"""`kmsg config init | show | validate | path`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kmsg_cli.cli.boundary import reports_errors, runtime_of

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Create, show and check the configuration file.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.command("init")
@reports_errors
def init(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite an existing file.")
    ] = False,
) -> None:
    """Write a commented starter config file (mode 0600).

    [dim]Examples:[/]
      kmsg config init
      kmsg config init --config ./kmsg.toml --force
    """
    from kmsg_cli import config as cfg

    runtime = runtime_of(ctx)
    path, _ = cfg.resolve_config_path(runtime.options.config, runtime.environ)
    written = cfg.write_starter_config(path, force=force)

    def render(console: Console) -> None:
        console.print(f"Wrote {written} (mode 0600).", markup=False)
        console.print("next: edit it, then run `kmsg config validate`.", markup=False)

    runtime.out.result({"path": str(written), "created": True}, render)


@app.command("show")
@reports_errors
def show(ctx: typer.Context) -> None:
    """Print the configuration with secrets masked, and which profile is active.

    [dim]Examples:[/]
      kmsg config show
      kmsg --profile prod config show --json
    """
    from kmsg_cli import config as cfg

    runtime = runtime_of(ctx)
    loaded = runtime.config()
    profile = runtime.profile()
    masked = cfg.masked_data(loaded)
    data = {
        "path": str(loaded.path),
        "exists": loaded.exists,
        "active_profile": profile.name,
        "profile_source": profile.source,
        "providers": {pid: p.describe() for pid, p in profile.providers.items()},
        "config": masked,
    }

    def render(console: Console) -> None:
        state = "" if loaded.exists else " (not found: using built-in defaults)"
        console.print(f"config file: {loaded.path}{state}", markup=False)
        console.print(f"active profile: {profile.name} ({profile.source})", markup=False)
        if loaded.exists:
            console.print("")
            console.print(cfg.dump_toml(masked).rstrip(), markup=False, highlight=False)
        else:
            for pid, provider in profile.providers.items():
                settings = ", ".join(f"{k}={v}" for k, v in provider.describe().items())
                console.print(f"provider {pid}: {settings}", markup=False)

    runtime.out.result(data, render)


@app.command("validate")
@reports_errors
def validate(ctx: typer.Context) -> None:
    """Check every profile and provider, including that `env:` variables are set.

    [dim]Examples:[/]
      kmsg config validate
      KMSG_CONFIG=./kmsg.toml kmsg config validate --json
    """
    from kmsg_cli import config as cfg
    from kmsg_cli.errors import ConfigError

    runtime = runtime_of(ctx)
    loaded = runtime.config()
    problems = list(cfg.validate_config(loaded, runtime.environ))
    try:
        profile_name = runtime.profile().name
    except ConfigError as error:
        profile_name = None
        problems.append(cfg.Problem("error", error.field or "profile", error.code, error.message))
    errors = [p for p in problems if p.level == "error"]
    data = {
        "path": str(loaded.path),
        "exists": loaded.exists,
        "active_profile": profile_name,
        "valid": not errors,
        "problems": [
            {"level": p.level, "key": p.key_path, "code": p.code, "message": p.message}
            for p in problems
        ],
    }

    def render(console: Console) -> None:
        from rich.markup import escape

        for problem in problems:
            colour = "red" if problem.level == "error" else "yellow"
            where = escape(f"{problem.key_path}: {problem.code}: {problem.message}")
            console.print(f"[{colour}]{problem.level}[/]: {where}", markup=True, highlight=False)
        if not errors:
            where = str(loaded.path) if loaded.exists else "built-in defaults (no config file)"
            console.print(f"[green]✓[/] configuration is valid: {where}", markup=True)

    if errors:
        runtime.out.result(
            data,
            render,
            ok=False,
            error=ConfigError(
                f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in {loaded.path}",
                code="CONFIG_INVALID",
            ),
        )
        raise typer.Exit(2)
    runtime.out.result(data, render)


@app.command("path")
@reports_errors
def path(ctx: typer.Context) -> None:
    """Print the path of the config file kmsg reads.

    [dim]Examples:[/]
      kmsg config path
      $EDITOR "$(kmsg config path)"
    """
    from kmsg_cli import config as cfg

    runtime = runtime_of(ctx)
    config_path, source = cfg.resolve_config_path(runtime.options.config, runtime.environ)
    data = {"path": str(config_path), "exists": config_path.exists(), "source": source}
    runtime.out.result(data, lambda console: console.print(str(config_path), markup=False))
