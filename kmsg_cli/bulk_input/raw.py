"""The input of `send-many` as raw bytes: one reader that hashes every byte it serves.

Files and standard input go through this one path, under the usual buffered and text layers,
so memory stays flat in the row count and `hexdigest()` is the content hash of what was read.
"""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING, BinaryIO, Protocol

from kmsg_cli.errors import InvalidInput
from kmsg_cli.errors import quoted as _quote

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK = 64 * 1024
SAMPLE = 64 * 1024  # bytes looked at to sniff the format and the encoding


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def unreadable(name: str, exc: OSError) -> InvalidInput:
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        hint = "check the path (relative to the current directory), or pipe the file in with -"
    elif isinstance(exc, PermissionError):
        hint = "the user running kmsg needs read permission on the file"
    else:
        hint = None
    return InvalidInput(
        f"cannot read input file {_quote(name)}: {reason}",
        code="UNREADABLE_FILE",
        field="file",
        value=name,
        hint=hint,
    )


class HashingRaw(io.RawIOBase):
    """The input as a raw stream: every byte read from the source feeds sha256 exactly once.

    `peek` reads ahead for sniffing; those bytes are served again by `readinto`.
    """

    def __init__(self, source: Readable, name: str, owned: BinaryIO | None) -> None:
        super().__init__()
        self._source = source
        self.name = name
        self._owned = owned
        self._sha = hashlib.sha256()
        self._ahead = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def _read(self, size: int) -> bytes:
        if self._eof:
            return b""
        try:
            data = self._source.read(size)
        except OSError as exc:
            raise unreadable(self.name, exc) from None
        if data:
            self._sha.update(data)
        else:
            self._eof = True
        return data

    def peek(self, size: int) -> bytes:
        """Up to `size` bytes from the current position; fewer only at end of input."""
        while len(self._ahead) < size:
            data = self._read(max(size - len(self._ahead), CHUNK))
            if not data:
                break
            self._ahead += data
        return self._ahead[:size]

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._ahead:
            data = self._ahead[: len(view)]
            self._ahead = self._ahead[len(data) :]
        else:
            data = self._read(len(view))
        view[: len(data)] = data
        return len(data)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def close(self) -> None:
        # standard input is not ours to close
        if self._owned is not None:
            self._owned.close()
            self._owned = None
        super().close()
