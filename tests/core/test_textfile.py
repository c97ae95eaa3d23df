"""The text of one message read whole (`--text-file`, `--text -`, `--options`):
kmsg_cli/textfile.py, docs/messages.md "Text from a file"."""

from __future__ import annotations

import codecs

import pytest

from kmsg_cli.errors import InvalidInput
from kmsg_cli.textfile import decode_text

TEXT = "점검 안내입니다.\r\n내일 06시까지 점검합니다.\r\n"
WANTED = "점검 안내입니다.\n내일 06시까지 점검합니다."


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),  # Notepad's "UTF-8 with BOM"
        TEXT.encode("cp949"),  # Notepad's "ANSI" on a Korean Windows
        TEXT.encode("utf-16"),  # "Unicode": UTF-16 with its byte order mark
        TEXT.replace("\r\n", "\r").encode("utf-8"),  # old Mac line ends
    ],
    ids=["utf-8", "utf-8-bom", "cp949", "utf-16", "cr"],
)
def test_a_message_reads_as_a_korean_desktop_saved_it(data: bytes) -> None:
    assert decode_text(data, "text file 'n.txt'", "text-file", message=True) == WANTED


def test_options_keep_their_line_ends_but_lose_the_bom() -> None:
    data = codecs.BOM_UTF8 + b'{\r\n  "a": 1\r\n}\r\n'
    assert decode_text(data, "options file", "options", message=False) == '{\r\n  "a": 1\r\n}\r\n'


def test_text_that_is_neither_utf8_nor_korean_is_refused_with_its_bytes() -> None:
    shift_jis = "メンテナンスのお知らせです。明日まで。".encode("shift_jis")
    with pytest.raises(InvalidInput) as info:
        decode_text(shift_jis, "text file 'n.txt'", "text-file", message=True)
    assert info.value.code == "ENCODING_ERROR" and info.value.field == "text-file"
    assert info.value.message.startswith("text file 'n.txt' is not valid UTF-8 (invalid bytes ")
    assert "nor Korean text in CP949" in info.value.message


def test_a_nul_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        decode_text(b"a\x00b", "standard input", "text", message=True)
    assert info.value.code == "INVALID_TEXT"
