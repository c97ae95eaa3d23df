"""`kmsg config init | add-provider | show | get | set | unset | validate | path`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from kmsg_cli.cli import complete_values as cv
from kmsg_cli.cli.boundary import fails_with, reports_errors, runtime_of
from kmsg_cli.cli.framework import KmsgTyper
from kmsg_cli.cli.options import option
from kmsg_cli.cli.output import counted

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from kmsg_cli.cli.runtime import Runtime
    from kmsg_cli.config.loading import LoadedConfig

app = KmsgTyper(help="Create, show, change and check the configuration file.")


@app.command("init")
@reports_errors
def init(
    ctx: typer.Context,
    force: Annotated[
        bool, option("--force", "", "Overwrite an existing file.", alias="-f")
    ] = False,
    no_input: Annotated[
        bool,
        option("--no-input", "", "Never prompt: write the commented starter file."),
    ] = False,
) -> None:
    """Create the config file (mode 0600): a short wizard on a terminal, else a starter file.

    On a terminal (stdin and stdout, no --json) kmsg asks for a profile name, a provider, where its credentials come from (env: references unless you choose to type a value) and a sender number, writes the file and offers to run `kmsg providers doctor`. Without a terminal, or with --no-input, it writes a commented starter file and never prompts.

    [dim]Examples:[/]
      kmsg config init
      kmsg config init --no-input --config ./kmsg.toml --force
    """  # noqa: E501
    from kmsg_cli import config as cfg
    from kmsg_cli.cli import wizard

    runtime = runtime_of(ctx)
    path, source = cfg.resolve_config_path(runtime.options.config, runtime.environ)
    if no_input or not wizard.interactive(runtime.options.json):
        written = cfg.write_starter_config(path, force=force)
        next_step = (
            f"edit {written}: uncomment [profiles.prod] and its provider table (or run "
            "`kmsg -p prod config add-provider solapi`), then run `kmsg config validate`"
        )

        def render(console: Console) -> None:
            console.print(f"Wrote {written} (mode 0600).", markup=False)
            console.print(f"next: {next_step}", markup=False)

        data = {"path": str(written), "created": True, "wizard": False, "next": next_step}
        runtime.out.result(data, render)
        return
    _init_wizard(ctx, path, source, force=force)


def _init_wizard(ctx: typer.Context, path: Path, source: str, *, force: bool) -> None:
    from kmsg_cli import config as cfg
    from kmsg_cli.cli import wizard

    runtime = runtime_of(ctx)
    if path.exists() and not force:  # before the questions, not after them
        raise cfg.config_exists_error(path)
    console = runtime.out.out
    prompter = wizard.make_prompter(console)
    console.print(
        f"Creating {path}. Enter keeps the value in (parentheses); Ctrl-C cancels.", markup=False
    )
    with _cancellable(console, "cancelled: nothing was written"):
        default_profile = runtime.options.profile or "default"
        plan = wizard.run_init_wizard(prompter, default_profile=default_profile)
    written = wizard.write_init_plan(path, plan, force=force)
    masked = cfg.masked_data(cfg.load_config(written, source))
    unset = wizard.unset_variables(plan.provider.env_names(), runtime.environ)
    data = {
        "path": str(written),
        "created": True,
        "wizard": True,
        "profile": plan.profile,
        "provider": plan.provider.provider_id,
        "type": plan.provider.type,
        "settings": plan.provider.shown(),
        "unset_env": unset,
    }

    def render(console: Console) -> None:
        console.print(f"Wrote {written} (mode 0600):", markup=False)
        console.print("")
        console.print(cfg.dump_toml(masked).rstrip(), markup=False, highlight=False)
        console.print("")
        if unset:
            _print_unset(console, unset)
            console.print("")

    runtime.out.result(data, render)
    with _cancellable(console, f"stopped: {written} was written"):
        doctor_now = prompter.confirm("Run `kmsg providers doctor` now?", default=not unset)
    if doctor_now:
        from kmsg_cli.cli.doctor_view import run_doctor

        # The doctor reads the profile lazily from the options: point them at the new profile.
        runtime.options.profile = plan.profile
        run_doctor(runtime)
    else:
        console.print(f"next: kmsg -p {plan.profile} providers doctor", markup=False)


@app.command("add-provider")
@reports_errors
def add_provider(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Argument(
            metavar="TYPE",
            help="Provider type: solapi, iwinv, aligo or mock.",
            autocompletion=cv.provider_types,
        ),
    ],
    provider_id: Annotated[
        str | None,
        option("--id", "ID", "Provider id in the profile (default: TYPE)."),
    ] = None,
    settings: Annotated[
        list[str] | None,
        option("--set", "KEY=VALUE", "A provider setting (repeatable); write secrets as env:NAME."),
    ] = None,
    no_input: Annotated[
        bool,
        option("--no-input", "", "Never prompt: missing credentials become env: refs."),
    ] = False,
) -> None:
    """Add a provider to the active profile of the config file, keeping its comments.

    The table is appended to the file and checked; if the file no longer loads it is put back as it was. On a terminal kmsg asks for the credentials and sender that --set did not give; otherwise missing credentials become env: references with the usual names (such as SOLAPI_API_KEY) and kmsg lists the variables to export.

    [dim]Examples:[/]
      kmsg config add-provider solapi --set sender=0212345678
      kmsg -p prod config add-provider aligo --set user_id=myid
      kmsg config add-provider solapi --id backup --no-input --json
    """  # noqa: E501
    from kmsg_cli import config as cfg
    from kmsg_cli.cli import wizard
    from kmsg_cli.errors import ConfigError

    runtime = runtime_of(ctx)
    loaded = runtime.config()
    if not loaded.exists:
        raise ConfigError(
            f"there is no config file at {loaded.path}",
            code="CONFIG_NOT_FOUND",
            field=loaded.source,
            value=str(loaded.path),
            hint="kmsg config init",
        )
    profile, chosen_by = wizard.target_profile(loaded, runtime.options.profile, runtime.environ)
    draft = wizard.new_provider(kind, provider_id, settings or [], profile)
    new_profile = wizard.check_new_provider(loaded, profile, draft.provider_id)
    for key in draft.literal_secrets:
        runtime.out.warning(
            "PLAINTEXT_SECRET",
            f"--set {key} puts a plaintext secret in {loaded.path}; "
            f"env: references are safer (--set {key}=env:NAME)",
        )
    if not no_input and wizard.interactive(runtime.options.json):
        console = runtime.out.out
        prompter = wizard.make_prompter(console)
        with _cancellable(console, "cancelled: nothing was written"):
            wizard.ask_credentials(prompter, draft)
            wizard.ask_sender(prompter, draft)
    else:
        wizard.default_credentials(draft)
    wizard.append_provider(loaded, profile, draft, runtime.environ)
    _warn_if_sandbox_delivers(runtime, profile, draft.provider_id, draft.type)
    unset = wizard.unset_variables(draft.env_names(), runtime.environ)
    key_path = cfg.provider_key_path(profile, draft.provider_id)
    data = {
        "path": str(loaded.path),
        "profile": profile,
        "profile_source": chosen_by,
        "new_profile": new_profile,
        "provider": draft.provider_id,
        "type": draft.type,
        "settings": draft.shown(),
        "unset_env": unset,
    }

    def render(console: Console) -> None:
        console.print(f"Added [{key_path}] to {loaded.path}:", markup=False)
        console.print("")
        text = cfg.provider_table_text(profile, draft.provider_id, draft.shown())
        console.print(text.rstrip(), markup=False, highlight=False)
        console.print("")
        if new_profile:
            console.print(f"profile '{profile}' is new in this file.", markup=False)
        _print_unset(console, unset)
        console.print(f"next: kmsg -p {profile} providers doctor", markup=False)

    runtime.out.result(data, render)


def _warn_if_sandbox_delivers(
    runtime: Runtime, profile: str, provider_id: str, provider_type: str
) -> None:
    """The name `sandbox` promises that nothing is delivered; a real provider in it breaks
    that promise for every send routed to it (docs/configuration.md)."""
    from kmsg_cli.config import SANDBOX
    from kmsg_cli.providers.catalog import capabilities

    if profile != SANDBOX or capabilities(provider_type).simulated:
        return
    runtime.out.warning(
        "REAL_PROVIDER_IN_SANDBOX",
        f"profile {SANDBOX} now has {provider_id}, which delivers real messages: "
        f"`--provider {provider_id}` (or routing to it) sends for real; to keep the sandbox "
        f"safe, add it to a profile of its own (kmsg -p prod config add-provider {provider_type})",
    )


@contextmanager
def _cancellable(console: Console, message: str) -> Iterator[None]:
    """Ctrl-C or end of input while prompting: end the prompt's line, exit 130 with one line."""
    from kmsg_cli.errors import Interrupted

    try:
        yield
    except (KeyboardInterrupt, EOFError):
        console.print("")
        raise Interrupted(message) from None


def _print_unset(console: Console, unset: list[str]) -> None:
    if unset:
        console.print("Not set in this shell; export before sending:", markup=False)
        for name in unset:
            console.print(f"  export {name}=...", markup=False)


@app.command("show")
@reports_errors
def show(ctx: typer.Context) -> None:
    """Print the configuration with secrets masked, which profile is active and which
    database it uses (and what chose it: --db, KMSG_DB, the profile's db or the default).

    [dim]Examples:[/]
      kmsg config show
      kmsg --profile prod config show --json
    """
    from kmsg_cli import config as cfg
    from kmsg_cli.store import describe_target

    runtime = runtime_of(ctx)
    loaded = runtime.config()
    profile = runtime.profile()
    masked = cfg.masked_data(loaded)
    target, chosen_by = runtime.db_choice()
    profile_by = cfg.profile_chosen_by(
        loaded, flag=runtime.options.profile, environ=runtime.environ
    )
    data = {
        "path": str(loaded.path),
        "exists": loaded.exists,
        "active_profile": profile.name,
        "profile_source": profile.source,
        "profile_chosen_by": profile_by,
        "database": describe_target(target),
        "database_source": chosen_by,
        "providers": {pid: p.describe() for pid, p in profile.providers.items()},
        "config": masked,
    }

    def render(console: Console) -> None:
        state = "" if loaded.exists else " (not found: using built-in defaults)"
        console.print(f"config file: {loaded.path}{state}", markup=False)
        console.print(f"active profile: {profile.name} ({profile_by})", markup=False)
        console.print(f"database: {data['database']} ({chosen_by})", markup=False)
        if loaded.exists:
            console.print("")
            console.print(cfg.dump_toml(masked).rstrip(), markup=False, highlight=False)
        else:
            for pid, provider in profile.providers.items():
                settings = ", ".join(f"{k}={v}" for k, v in provider.describe().items())
                console.print(f"provider {pid}: {settings}", markup=False)

    runtime.out.result(data, render)


KeyArg = Annotated[
    str,
    typer.Argument(
        metavar="KEY",
        help="A dotted key as kmsg's messages print it, such as profiles.prod.db.",
        show_default=False,
        autocompletion=cv.config_keys,
    ),
]


def _key_of_file(ctx: typer.Context, key: str) -> tuple[Runtime, LoadedConfig, tuple[str, ...]]:
    """The runtime, the config file (CONFIG_NOT_FOUND when there is none) and KEY's parts."""
    from kmsg_cli.config import editing

    runtime = runtime_of(ctx)
    loaded = runtime.config()
    parts = editing.parse_key(key)
    editing.require_file(loaded)
    return runtime, loaded, parts


@app.command("get")
@reports_errors
def get(ctx: typer.Context, key: KeyArg) -> None:
    """Print one setting of the config file; a table prints as TOML. Secrets are masked.

    A key the file does not set is an error (exit 2), so a script can fall back to its own
    default.

    [dim]Examples:[/]
      kmsg config get default_profile
      kmsg config get profiles.prod.db
      kmsg config get profiles.prod.providers.solapi --json
    """
    from kmsg_cli.config import editing

    runtime, loaded, parts = _key_of_file(ctx, key)
    value = editing.shown_value(parts, editing.get_value(loaded.data, parts))
    data = {"path": str(loaded.path), "key": editing.key_text(parts), "value": value}
    runtime.out.result(
        data,
        lambda console: console.print(
            editing.plain_text(parts, value), markup=False, highlight=False
        ),
    )


@app.command("set")
@reports_errors
def set_(
    ctx: typer.Context,
    key: KeyArg,
    value: Annotated[
        str,
        typer.Argument(
            metavar="VALUE",
            help='true, 90 and ["solapi", "iwinv"] are those values; anything else is text.',
            show_default=False,
        ),
    ],
) -> None:
    """Set one setting in the config file, keeping its comments and layout.

    The file is loaded and checked again before the change is kept: a change that would break it is undone (exit 2, the file as it was). A provider setting is read as [bold]config add-provider --set[/] reads it (a sender number stays text). Write secrets as env:NAME.

    [dim]Examples:[/]
      kmsg config set profiles.prod.db postgresql://kmsg@db.internal/kmsg
      kmsg config set profiles.prod.timezone Asia/Seoul
      kmsg config set profiles.prod.routing.SMS '["solapi", "iwinv"]'
      kmsg config set profiles.prod.providers.solapi.api_key env:SOLAPI_API_KEY
      kmsg config set default_profile prod
    """  # noqa: E501
    from kmsg_cli import config as cfg
    from kmsg_cli.config import editing

    runtime, loaded, parts = _key_of_file(ctx, key)
    typed = editing.typed_value(loaded.data, parts, value)
    edit = editing.set_key(loaded, parts, typed, runtime.environ)
    if edit.key in cfg.plaintext_secret_paths(edit.config.data):  # a key, or a URL's password
        runtime.out.warning(
            "PLAINTEXT_SECRET",
            f"{edit.key} now holds a plaintext secret in {loaded.path} (and in your shell "
            'history); env: references are safer (docs/configuration.md, "Secrets")',
        )
    shown = editing.shown_value(parts, typed)
    data = {
        "path": str(loaded.path),
        "key": edit.key,
        "value": shown,
        "unset_env": list(edit.unset_env),
    }

    def render(console: Console) -> None:
        line = f"{edit.key} = {editing.toml_literal(shown)}"
        console.print(f"set {line} in {loaded.path}", markup=False, highlight=False)
        _print_unset(console, list(edit.unset_env))

    runtime.out.result(data, render)


@app.command("unset")
@reports_errors
def unset(ctx: typer.Context, key: KeyArg) -> None:
    """Remove one setting (or a whole table) from the config file; its default applies again.

    The file is checked as [bold]config set[/] checks it: a removal that would break it is undone.

    [dim]Examples:[/]
      kmsg config unset profiles.prod.format
      kmsg config unset profiles.prod.routing.SMS
    """
    from kmsg_cli.config import editing

    runtime, loaded, parts = _key_of_file(ctx, key)
    edit = editing.unset_key(loaded, parts, runtime.environ)
    data = {"path": str(loaded.path), "key": edit.key, "removed": True}
    runtime.out.result(
        data, lambda console: console.print(f"removed {edit.key} from {loaded.path}", markup=False)
    )


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
    env_mode = False
    try:
        profile = runtime.profile()
        profile_name = profile.name
        if profile.source == "environment":  # KMSG_PROVIDER: what a send would resolve
            env_mode = True
            problems = cfg.validate_env_profile(profile, runtime.environ) + problems
    except ConfigError as error:
        profile_name = None
        problem = cfg.Problem(
            "error", error.field or "profile", error.code, error.message, error.hint
        )
        if problem[:4] not in [p[:4] for p in problems]:  # validate_config may have found it
            problems.append(problem)
    errors = [p for p in problems if p.level == "error"]
    data = {
        "path": str(loaded.path),
        "exists": loaded.exists,
        "active_profile": profile_name,
        "valid": not errors,
        "problems": [
            {
                "level": p.level,
                "key": p.key_path,
                "code": p.code,
                "message": p.message,
                "hint": p.hint,
            }
            for p in problems
        ],
    }

    def render(console: Console) -> None:
        from rich.markup import escape

        for problem in problems:
            colour = "red" if problem.level == "error" else "yellow"
            said = f"{problem.code}: {problem.message}"
            # The key is named once: up front, unless the message already names it
            if problem.key_path and problem.key_path not in problem.message:
                said = f"{problem.key_path}: {said}"
            where = escape(said)
            console.print(f"[{colour}]{problem.level}[/]: {where}", markup=True, highlight=False)
            if problem.hint:
                console.print(f"  hint: {escape(problem.hint)}", markup=True, highlight=False)
        if not errors:
            where = str(loaded.path) if loaded.exists else "built-in defaults (no config file)"
            if env_mode:
                kind = runtime.environ.get("KMSG_PROVIDER", "").strip()
                where = f"environment-only mode (KMSG_PROVIDER={kind})"
            console.print(f"[green]✓[/] configuration is valid: {where}", markup=True)

    if errors:
        places = [str(loaded.path)] if loaded.exists or not env_mode else []
        places += ["the environment (KMSG_PROVIDER)"] if env_mode else []
        place = " and ".join(places)
        message = f"{counted(len(errors), 'problem')} in {place}"
        fails_with(runtime, data, render, message, code="CONFIG_INVALID")
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
