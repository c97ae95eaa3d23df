"""The one output sink of the CLI: rich text for people, one JSON envelope for scripts.

Data goes to stdout; warnings, errors, hints and progress go to stderr. With `--json`
exactly one document is printed on stdout:
`{"ok": bool, "data": ..., "error": {...} | null, "warnings": [...]}`.
rich is imported on first use, never at startup, and not at all for the lines printed to a
pipe or a file (`plain`). Everything printed passes
`redact_secrets`: a vendor's answer that echoes a configured key never reaches the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, cast

from kmsg_cli.cli.plain import PlainConsole, escape, plain_stream
from kmsg_cli.errors import KmsgError, map_strings, printable, redact_secrets

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
        # how a suggested command starts (`kmsg`, or `kmsg -p NAME`: the runtime sets it),
        # asked only when a suggestion is printed
        self.command: Callable[[], str] = lambda: "kmsg"

    def kmsg(self, rest: str) -> str:
        """A command to suggest, under this run's profile: `kmsg -p prod queue process`."""
        return f"{self.command()} {rest}"

    # -- consoles -----------------------------------------------------------------------
    @property
    def out(self) -> Console:
        if self._out is None:
            self._out = _console("stdout")
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            self._err = _console("stderr")
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
        import json

        document = {"ok": ok, "data": data, "error": error, "warnings": self.warnings}
        text = json.dumps(
            map_strings(document, redact_secrets), ensure_ascii=False, indent=2, default=str
        )
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _escape(text: str) -> str:
    return escape(printable(text))


def _console(name: str) -> Console:
    """A rich Console on the current sys.stdout/sys.stderr; outside a terminal a
    PlainConsole that prints kmsg's lines the same way without importing rich."""

    def make_rich() -> Console:
        from rich.console import Console

        return Console(file=_redacting(name), highlight=False, soft_wrap=True)

    if plain_stream(getattr(sys, name)):
        return cast("Console", PlainConsole(name, _redacting(name).write, make_rich))
    return make_rich()


def _redacting(name: str) -> IO[str]:
    return cast("IO[str]", _Redacting(name))


class _Redacting:
    """The current sys.stdout/sys.stderr (test runners swap them), with secrets masked."""

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def _stream(self) -> IO[str]:
        stream: IO[str] = getattr(sys, self._name)
        return stream

    def write(self, text: str) -> int:
        return self._stream.write(redact_secrets(text))

    def __getattr__(self, name: str) -> Any:  # isatty, flush, fileno, encoding, ...
        return getattr(self._stream, name)


def counted(count: int, noun: str, plural: str = "") -> str:
    """`1 row`, `2 rows`, `1,000 jobs`: a count and its noun, in the plural (`plural`, or the
    noun and `s`) unless it is 1."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {plural or noun + 's'}"


def matching(counts: Mapping[str, int], noun: str, shown: int) -> str:
    """The line under a listing: `7 jobs match (2 failed, 5 completed); showing 3`, what its
    filters match by status (`counts`) and how many rows it printed; `no jobs match` when
    nothing does."""
    total = sum(counts.values())
    if not total:
        return f"no {noun}s match"
    summary = ", ".join(f"{count:,} {name}" for name, count in sorted(counts.items()))
    verb = "matches" if total == 1 else "match"
    return f"{counted(total, noun)} {verb} ({summary}); showing {shown}"


def were(count: int) -> str:
    """The verb after `counted(count, ...)`: `was` or `were`."""
    return "was" if count == 1 else "were"


def them(count: int) -> str:
    """The pronoun for `count` things: `it` or `them`."""
    return "it" if count == 1 else "them"


def count_column(total: int | None = None) -> Any:
    """A progress column `2,999/5,000`, grouped as every other count kmsg prints (rich's own
    prints `2999/5000`); `?` while the total is unknown. Wide enough for `total` not to be cut
    short on an 80-column terminal."""
    from rich.progress import ProgressColumn
    from rich.table import Column
    from rich.text import Text

    class Counted(ProgressColumn):
        def render(self, task: Any) -> Text:
            total = "?" if task.total is None else f"{int(task.total):,}"
            return Text(f"{int(task.completed):,}/{total}", style="progress.download")

    width = 2 * len(f"{total or 9999:,}") + 1
    return Counted(table_column=Column(no_wrap=True, min_width=width))


def unread_template(provider_id: str, template: str, codes: list[str] | None = None) -> str:
    """What a dry run says of an AlimTalk template its provider could not read; `codes`: the
    templates the provider lists, when it could list them (a close one is suggested)."""
    listing = f"`kmsg providers templates --provider {provider_id}` lists the codes it has"
    if codes is None or template in codes:
        return (
            f"AlimTalk template {template} could not be read at provider '{provider_id}' (a "
            "wrong code, or no permission to read templates): the vendor judges it when "
            f"sending; {listing}"
        )
    import difflib

    close = difflib.get_close_matches(template, codes, n=1)
    said = (
        f"AlimTalk template {template} could not be read at provider '{provider_id}', nor is it "
        f"among the {len(codes):,} it lists"
    )
    said += f" (did you mean {close[0]}?)" if close else ""
    return f"{said}: the vendor judges it when sending; {listing}"
