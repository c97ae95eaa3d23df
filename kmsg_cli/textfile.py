"""Text read whole for one message: `--text-file`, `--text -` and `--options FILE`.

Such text comes from the same desktops as the CSV files (docs/messages.md, "Text from a
file"): Notepad and Excel on a Korean Windows save CP949 unless told otherwise, or UTF-8 with a
byte order mark, with CRLF line ends. So a text is read as UTF-8 (its BOM dropped), as UTF-16
when it starts with that BOM, or else as CP949 when it decodes so and reads as Korean
(`kmsg_cli.cp949`); a message's line ends become LF. Anything else is refused with the bytes
that did not decode, and so is a NUL or a file larger than any message could be.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from kmsg_cli.errors import InvalidInput

# Far above any message (LMS: 2,000 bytes): bounds what is read, so that /dev/zero or a wrong
# file gives an error instead of filling the memory.
MAX_TEXT_BYTES = 1 << 20


def read_text_file(path: Path, *, field: str, label: str, message: bool) -> str:
    """The decoded text of the file at `path` (`message`: line ends as LF, one final line end
    dropped), or InvalidInput naming `label` and `field`."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TEXT_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {label} '{path}': {exc.strerror or exc.__class__.__name__}",
            code="UNREADABLE_FILE",
            field=field,
            value=str(path),
        ) from None
    return decode_text(data, f"{label} '{path}'", field, message=message)


def decode_text(data: bytes, source: str, field: str, *, message: bool) -> str:
    """`data` read from `source` as the module docstring says."""
    if len(data) > MAX_TEXT_BYTES:
        raise InvalidInput(
            f"{source} is larger than {MAX_TEXT_BYTES // 1024} KiB; "
            f"a message is at most 2,000 bytes (field '{field}')",
            code="TEXT_TOO_LONG",
            field=field,
            value=f">{MAX_TEXT_BYTES}",
            hint="check the file: LMS/MMS take 2,000 bytes, KakaoTalk 1,000 characters",
        )
    content = _decode(data, source, field)
    check_nul(content, source, field)
    if message:
        content = content.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n")
    return content


def _decode(data: bytes, source: str, field: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # reported below as the UTF-8 it is not either
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = exc
    try:
        korean = data.decode("cp949")
    except UnicodeDecodeError:
        korean = None
    from kmsg_cli.cp949 import plausible_korean

    if korean is not None and plausible_korean(korean):
        return korean
    bad = data[error.start : min(error.end, error.start + 4)].hex(" ")
    raise InvalidInput(
        f"{source} is not valid UTF-8 (invalid bytes {bad} at byte {error.start}), nor Korean "
        f"text in CP949 (field '{field}')",
        code="ENCODING_ERROR",
        field=field,
        value=bad,
        hint="save the text as UTF-8",
    )


def check_nul(text: str, source: str, field: str) -> None:
    """InvalidInput INVALID_TEXT when `text` holds a NUL (a binary or UTF-16 file)."""
    if "\x00" in text:
        raise InvalidInput(
            f"{source} contains a NUL character at position {text.index(chr(0))}; "
            f"is it a binary or UTF-16 file? (field '{field}')",
            code="INVALID_TEXT",
            field=field,
            value="\\x00",
        )
