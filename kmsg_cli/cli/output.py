"""The one output sink of the CLI: rich text for people, one JSON envelope for scripts.

Data goes to stdout; warnings, errors, hints and progress go to stderr. With `--json`
exactly one document is printed on stdout:
`{"ok": bool, "data": ..., "error": {...} | null, "warnings": [...]}`.
rich is imported on first use, never at startup.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kmsg_cli.errors import KmsgError, printable

if TYPE_CHECKING:
    from rich.console import Console


class Output:
    def __init__(self, *, json_mode: bool = False, quiet: bool = False, verbose: int = 0) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbose = verbose
        self.warnings: list[dict[str, str]] = []
        self._out: Console | None = None
        self._err: Console | None = None
        self.finished = False

    # -- consoles -----------------------------------------------------------------------
    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    @property
    def human(self) -> bool:
        return not self.json_mode

    # -- messages -----------------------------------------------------------------------
    def warning(self, code: str, message: str) -> None:
        if any(w["code"] == code and w["message"] == message for w in self.warnings):
            return
        self.warnings.append({"code": code, "message": message})
        if not self.json_mode and not self.quiet:
            text = f"[yellow]warning:[/] {_escape(code)}: {_escape(message)}"
            self.err.print(text, markup=True, highlight=False)

    def note(self, message: str) -> None:
        """A remark for people (stderr); silent with --json or --quiet."""
        if not self.json_mode and not self.quiet:
            self.err.print(message, markup=False, highlight=False)

    def error(self, error: KmsgError, *, data: Any = None) -> None:
        if self.json_mode:
            self._envelope(ok=False, data=data, error=error.to_dict())
            return
        text = f"[bold red]error:[/] {_escape(error.code)}: {_escape(error.message)}"
        self.err.print(text, markup=True, highlight=False)
        if error.hint:
            self.err.print(f"hint: {error.hint}", markup=False, highlight=False)

    def result(
        self,
        data: Any,
        render: Callable[[Console], None] | None = None,
        *,
        ok: bool = True,
        error: KmsgError | None = None,
    ) -> None:
        """The command's result: the envelope with --json, else `render` (unless --quiet)."""
        if self.json_mode:
            self._envelope(ok=ok, data=data, error=error.to_dict() if error else None)
            return
        if render is not None and not self.quiet:
            render(self.out)
        if error is not None:
            self.error(error)

    def _envelope(self, *, ok: bool, data: Any, error: dict[str, Any] | None) -> None:
        if self.finished:
            return
        self.finished = True
        document = {"ok": ok, "data": data, "error": error, "warnings": self.warnings}
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
        sys.stdout.flush()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(printable(text))
