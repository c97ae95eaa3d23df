"""`kmsg providers list`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from kmsg_cli.cli.boundary import reports_errors, runtime_of

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Providers of the active profile and what they can do.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.command("list")
@reports_errors
def list_providers(ctx: typer.Context) -> None:
    """List the providers of the active profile with their capabilities.

    [dim]Examples:[/]
      kmsg providers list
      kmsg --profile prod providers list --json
    """
    from kmsg_cli.providers.catalog import capabilities

    runtime = runtime_of(ctx)
    profile = runtime.profile()
    rows: list[dict[str, Any]] = []
    for provider_id, provider in profile.providers.items():
        caps = capabilities(provider.type)
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
            }
        )

    def render(console: Console) -> None:
        from rich.table import Table

        table = Table(show_edge=False, header_style="bold")
        for column in ("id", "type", "message types", "schedule", "status", "notes"):
            table.add_column(column, overflow="fold")
        for row in rows:
            notes = []
            if row["default"]:
                notes.append("default")
            if row["simulated"]:
                notes.append("simulated: nothing is delivered")
            if not row["available"]:
                notes.append("no client in this version")
            table.add_row(
                row["id"],
                row["type"],
                " ".join(row["types"]),
                "yes" if row["scheduling"] else "no",
                "yes" if row["status_lookup"] else "no",
                ", ".join(notes),
            )
        console.print(f"profile {profile.name} ({profile.source})", markup=False)
        console.print(table)

    runtime.out.result({"profile": profile.name, "providers": rows}, render)
