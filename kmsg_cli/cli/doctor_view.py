"""What `kmsg providers doctor` prints: one PASS/WARN/FAIL/SKIP line per readiness check.

`kmsg config init` runs the same doctor after writing a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from kmsg_cli.cli.runtime import Runtime


def run_doctor(runtime: Runtime) -> None:
    """Check every provider of the active profile; exit 2 (typer.Exit) when a check fails."""
    from kmsg_cli.cli.boundary import fails_with
    from kmsg_cli.cli.output import counted
    from kmsg_cli.doctor import examine

    profile = runtime.profile()
    reports = examine(profile, runtime.environ, runtime.clients())
    ok = all(r.ok for r in reports)
    data = {
        "profile": profile.name,
        "ok": ok,
        "providers": [
            {
                "id": r.provider_id,
                "type": r.type,
                "ok": r.ok,
                "checks": [c.to_dict() for c in r.checks],
            }
            for r in reports
        ],
    }

    def render(console: Console) -> None:
        from rich.markup import escape

        colours = {"PASS": "green", "WARN": "yellow", "FAIL": "red", "SKIP": "dim"}
        for report in reports:
            console.print(f"{report.provider_id} ({report.type})", markup=False)
            for check in report.checks:
                colour = colours[check.result]
                console.print(
                    f"  [{colour}]{check.result}[/] {escape(check.name)}: {escape(check.message)}",
                    markup=True,
                    highlight=False,
                )
                if check.next and check.result in ("FAIL", "WARN"):
                    console.print(f"    next: {check.next}", markup=False)

    if ok:
        runtime.out.result(data, render)
        return
    failed = sum(1 for r in reports for c in r.checks if c.result == "FAIL")
    message = f"{counted(failed, 'readiness check')} failed"
    fails_with(runtime, data, render, message, code="NOT_READY")
