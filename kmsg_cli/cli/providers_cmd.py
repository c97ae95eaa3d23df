"""`kmsg providers list`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from kmsg_cli.cli import tables
from kmsg_cli.cli.boundary import reports_errors, runtime_of
from kmsg_cli.cli.framework import KmsgTyper
from kmsg_cli.cli.options import ProviderFilter

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
    from kmsg_cli.errors import InvalidInput, UnsupportedFeature
    from kmsg_cli.providers.base import BalanceSource
    from kmsg_cli.providers.catalog import capabilities

    runtime = runtime_of(ctx)
    profile = runtime.profile()
    if provider is not None and provider not in profile.providers:
        raise InvalidInput(
            f"unknown provider '{provider}' in profile '{profile.name}'",
            code="UNKNOWN_PROVIDER",
            field="provider",
            value=provider,
            hint="kmsg providers list",
        )
    ids = [provider] if provider else list(profile.providers)
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
