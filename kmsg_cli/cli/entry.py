"""The `kmsg` console script: answers `kmsg --version` itself, hands everything else to Typer.

`kmsg --version` is what scripts and package managers call to see that kmsg is there; it
imports nothing but this module and `kmsg_cli` (the version constant, which the package
metadata reads, so the two cannot differ). Every other command line goes to the Typer
application in `kmsg_cli.cli.app`, imported only then.

Garbage collection: starting a command creates tens of thousands of objects that live as long
as the process (modules, classes, functions) and next to no garbage, so the cyclic collector
is paused while kmsg starts. When the command itself begins (`KmsgCommand.invoke`) what
start-up built is moved out of the collector's sight (`gc.freeze`) and the collector runs
again: the command's own work is collected as before. The same freeze at the end spares the
interpreter a last walk over every object on exit.

Ctrl-C and SIGTERM stop kmsg the same way from its first line on: as KeyboardInterrupt, which
the commands turn into a clean stop (`INTERRUPTED`, exit 130: docs/cli.md); one that comes while
kmsg is still starting ends it quietly with 130 too, not with a traceback or a death by signal
(a worker stopped by systemd right after it started).
"""

from __future__ import annotations

import gc
import sys

VERSION_FLAGS = ("--version",)
EXIT_INTERRUPTED = 130  # kmsg_cli.errors.EXIT_INTERRUPTED, not imported: start-up stays small


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point (`kmsg`)."""
    if len(sys.argv) == 2 and sys.argv[1] in VERSION_FLAGS:
        from kmsg_cli import __version__

        sys.stdout.write(f"kmsg {__version__}\n")
        return
    import signal  # not for --version: it imports enum

    signal.signal(signal.SIGTERM, _interrupt)
    collecting = gc.isenabled()
    gc.disable()
    try:
        from kmsg_cli.cli.app import main as run

        run(collection_paused=collecting)
    except KeyboardInterrupt:  # before a command took over its own Ctrl-C (still starting)
        sys.stderr.write("\n")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if collecting:
            gc.enable()
        gc.freeze()
