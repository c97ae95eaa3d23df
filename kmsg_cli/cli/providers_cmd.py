"""`kmsg providers list | balance | templates | doctor`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from kmsg_cli.cli import tables
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.framework import KmsgTyper
from kmsg_cli.cli.options import ProviderFilter
from kmsg_cli.cli.output import counted

if TYPE_CHECKING:
    from rich.console import Console

app = KmsgTyper(help="Providers of the active profile and what they can do.")

PROVIDERS = tables.Listing(
    fields=tables.fields(
        "id",
        "type",
        "default:bool",
        "types:list",
        "scheduling:bool",
        "international:bool",
        "status_lookup:bool",
        "balance:bool",
        "max_batch:int",
        "simulated:bool",
        "available:bool",
        "summary",
        "notes",
    ),
    default=("id", "type", "types", "scheduling", "status_lookup", "notes"),
    key="providers",
)


@app.command("list")
@reports_errors
def list_providers(
    ctx: typer.Context,
    output_format: tables.FormatOpt = None,
    no_header: tables.NoHeaderOpt = False,
    fields: tables.FieldsOpt = None,
) -> None:
    """List the providers of the active profile with their capabilities.

    [dim]Examples:[/]
      kmsg providers list
      kmsg --profile prod providers list --json
      kmsg providers list --fields id,type --no-header
    """
    from kmsg_cli.providers.catalog import capabilities

    runtime = runtime_of(ctx)
    view = tables.view(runtime, PROVIDERS, format=output_format, no_header=no_header, fields=fields)
    profile = runtime.profile()
    rows: list[dict[str, Any]] = []
    for provider_id, provider in profile.providers.items():
        caps = capabilities(provider.type)
        notes = []
        if provider_id == profile.default_provider:
            notes.append("default")
        if caps.simulated:
            notes.append("simulated: nothing is delivered")
        if not caps.available:
            notes.append("no client in this version")
        rows.append(
            {
                "id": provider_id,
                "type": provider.type,
                "default": provider_id == profile.default_provider,
                "types": sorted(t.value for t in caps.types),
                "scheduling": caps.scheduling,
                "international": caps.international,
                "status_lookup": caps.status_lookup,
                "balance": caps.balance,
                "max_batch": caps.max_batch,
                "simulated": caps.simulated,
                "available": caps.available,
                "summary": caps.summary,
                "notes": ", ".join(notes),
            }
        )
    view.emit(
        rows,
        data={"profile": profile.name},
        before=[f"profile {profile.name} ({profile.source})"],
    )


@app.command("balance")
@reports_errors
def balance(
    ctx: typer.Context,
    provider: ProviderFilter = None,
) -> None:
    """Show the remaining balance of the providers that report one.

    [dim]Examples:[/]
      kmsg providers balance
      kmsg -p prod providers balance --provider solapi --json
    """
    from kmsg_cli.errors import UnsupportedFeature
    from kmsg_cli.providers.base import BalanceSource
    from kmsg_cli.providers.catalog import capabilities

    runtime = runtime_of(ctx)
    profile = runtime.profile()
    ids = runtime.provider_ids(provider)
    rows: list[dict[str, Any]] = []
    for provider_id in ids:
        caps = capabilities(profile.providers[provider_id].type)
        if not caps.balance or not caps.available:
            rows.append({"id": provider_id, "supported": False})
            continue
        client = runtime.clients().get(provider_id)
        if not isinstance(client, BalanceSource):
            rows.append({"id": provider_id, "supported": False})
            continue
        result = client.balance()
        rows.append(
            {
                "id": provider_id,
                "supported": True,
                "amount": result.amount,
                "currency": result.currency,
                "point": result.point,
            }
        )
    if provider and not rows[0]["supported"]:
        raise UnsupportedFeature(
            f"provider '{provider}' cannot report a balance",
            code="UNSUPPORTED_BY_PROVIDER",
            field="provider",
            value=provider,
        )

    def render(console: Console) -> None:
        for row in rows:
            if row["supported"]:
                point = f" (point {row['point']:,.0f})" if row.get("point") else ""
                console.print(
                    f"{row['id']}: {row['amount']:,.0f} {row['currency']}{point}", markup=False
                )
            else:
                console.print(f"{row['id']}: balance not available", markup=False)

    runtime.out.result({"profile": profile.name, "balances": rows}, render)


TEMPLATES = tables.Listing(
    fields=tables.fields(
        "provider", "code", "status", "usable:bool", "name", "variables:list", "content"
    ),
    default=("provider", "code", "status", "name", "variables"),
    key="templates",
)


@app.command("templates")
@reports_errors
def templates(
    ctx: typer.Context,
    provider: ProviderFilter = None,
    output_format: tables.FormatOpt = None,
    no_header: tables.NoHeaderOpt = False,
    fields: tables.FieldsOpt = None,
) -> None:
    """List the AlimTalk templates registered with the providers of the profile.

    What --template takes (code), whether it may be sent (status, usable), and the #{name}
    variables each needs; --fields ...,content shows the text. A provider that cannot list
    templates, or lacks the setting that names its channel, is skipped with a note unless
    --provider names it.

    [dim]Examples:[/]
      kmsg -p prod providers templates
      kmsg providers templates --provider solapi --fields code,variables,content
      kmsg -p prod providers templates --json
    """
    from kmsg_cli.errors import ConfigError, UnsupportedFeature
    from kmsg_cli.providers.base import TemplateSource
    from kmsg_cli.providers.catalog import capabilities

    runtime = runtime_of(ctx)
    view = tables.view(runtime, TEMPLATES, format=output_format, no_header=no_header, fields=fields)
    profile = runtime.profile()
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for provider_id in runtime.provider_ids(provider):
        caps = capabilities(profile.providers[provider_id].type)
        client = runtime.clients().get(provider_id) if caps.available else None
        if caps.simulated or not isinstance(client, TemplateSource):
            skipped[provider_id] = "cannot list templates"
            if provider is not None:
                raise UnsupportedFeature(
                    f"provider '{provider}' cannot list AlimTalk templates",
                    code="UNSUPPORTED_BY_PROVIDER",
                    field="provider",
                    value=provider,
                )
            continue
        try:
            listed = client.list_templates()
        except ConfigError as error:  # no channel or key for AlimTalk: say so, go on
            if provider is not None:
                raise
            skipped[provider_id] = error.message
            continue
        rows += [
            {
                "provider": provider_id,
                "code": found.code,
                "status": found.status,
                "usable": found.usable,
                "name": found.name,
                "variables": list(found.variables),
                "content": found.content,
            }
            for found in listed
        ]
    usable = sum(1 for row in rows if row["usable"])
    listed = (
        f"{counted(len(rows), 'template')}, {usable:,} usable" if rows else "no templates listed"
    )
    after = [f"{listed} (profile {profile.name})"]
    after += [f"{provider_id}: skipped: {why}" for provider_id, why in skipped.items()]
    view.emit(rows, data={"profile": profile.name, "skipped": skipped}, after=after)


@app.command("doctor")
@reports_errors
def doctor(ctx: typer.Context) -> None:
    """Check that every provider of the profile is ready: credentials, keys, sender, channel.

    Prints PASS/WARN/FAIL/SKIP per check with a `next:` hint; exits 2 when any check fails.

    [dim]Examples:[/]
      kmsg providers doctor
      KMSG_PROVIDER=solapi kmsg providers doctor --json
    """
    from kmsg_cli.cli.doctor_view import run_doctor

    run_doctor(runtime_of(ctx))
