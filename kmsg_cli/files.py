"""Files kmsg creates or reads whole: private, and never endless.

Directories kmsg creates are 0700 and files 0600 from the first byte, whatever the umask:
`Path.mkdir(parents=True)` would give only the last directory the mode asked for (the config
and the database hold secrets and phone numbers). Files kmsg must read whole (the config, the
input of send-many) are read only when they are regular files, and small ones with a cap: a
FIFO, /dev/zero or a wrong path gives an error instead of a hang or a full memory.
"""

from __future__ import annotations

import errno
import os
import stat


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


class NotRegularFile(OSError):
    """A path kmsg must read whole names a directory, device, pipe or socket, or is too large."""


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of `path`, which must be a regular file (after symlinks).

    Opened without blocking (a FIFO with no writer would otherwise hang) and checked on the
    descriptor, so a path swapped meanwhile cannot slip through. OSError as from `os.open`;
    NotRegularFile for anything but a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "a device, pipe or socket"
            raise NotRegularFile(errno.EINVAL, f"not a regular file ({kind})")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_small_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The content of a regular file of at most `limit` bytes (NotRegularFile otherwise)."""
    with os.fdopen(open_regular(path), "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise NotRegularFile(errno.EFBIG, f"larger than {limit // 1024} KiB")
    return data
