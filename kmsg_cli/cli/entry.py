"""The `kmsg` console script: answers `kmsg --version` itself, hands everything else to Typer.

`kmsg --version` is what scripts and package managers call to see that kmsg is there; it
imports nothing but this module and `kmsg_cli` (the version constant, which the package
metadata reads, so the two cannot differ). Every other command line goes to the Typer
application in `kmsg_cli.cli.app`, imported only then.
"""

from __future__ import annotations

import sys

VERSION_FLAGS = ("--version",)


def main() -> None:
    """Console-script entry point (`kmsg`)."""
    if len(sys.argv) == 2 and sys.argv[1] in VERSION_FLAGS:
        from kmsg_cli import __version__

        sys.stdout.write(f"kmsg {__version__}\n")
        return
    from kmsg_cli.cli.app import main as run

    run()
