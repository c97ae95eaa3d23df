"""Write completions/ (bash, zsh, fish) from the Typer app; `--check` reports drift instead.

    python scripts/generate_completions.py          # rewrite the files
    python scripts/generate_completions.py --check  # exit 1 if a file differs

Each file is exactly what `kmsg completions SHELL` prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from kmsg_cli.cli.app import app
from kmsg_cli.cli.completion import FILE_NAMES, Shell

OUT = Path(__file__).resolve().parent.parent / "completions"


def generated() -> dict[Path, str]:
    """Each completion file and the text `kmsg completions SHELL` prints for it."""
    runner = CliRunner()
    texts = {}
    for shell in Shell:
        result = runner.invoke(app, ["completions", shell.value])
        if result.exit_code != 0:
            raise SystemExit(f"kmsg completions {shell.value} failed: {result.output}")
        texts[OUT / FILE_NAMES[shell]] = result.stdout
    return texts


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in generated().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.name)
        if not check:
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"stale: {', '.join(stale)}; run python scripts/generate_completions.py")
        return 1
    print("completions/ is up to date" if check or not stale else f"wrote {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
