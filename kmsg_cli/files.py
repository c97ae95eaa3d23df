"""Private files: kmsg's config and database hold secrets and phone numbers.

Directories kmsg creates are 0700 and files 0600 from the first byte, whatever the umask:
`Path.mkdir(parents=True)` would give only the last directory the mode asked for.
"""

from __future__ import annotations

import os


def make_private_parents(path: str | os.PathLike[str]) -> None:
    """Create every missing parent directory of `path` with mode 0700 (OSError on failure)."""
    missing: list[str] = []
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    while parent and not os.path.exists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass  # created meanwhile by another process
