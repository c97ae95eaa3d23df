"""Input that only looks valid is refused before anything is sent (exit 2, one line).

A Shift-JIS or GBK file "decodes" as CP949 into nonsense; a variable holding NUL or an escape
sequence; a phone number written with superscript digits; `--limit -5`, `--max-seconds nan`;
and a dry run that would pass where the real send is refused for an insecure URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run

JAPANESE = "こんにちは、明日の会議は午後三時からです。よろしくお願いします。"
CHINESE = "你好，明天的会议在下午三点开始。请准时参加。"
KOREAN = "안녕하세요 고객님 주문하신 상품이 오늘 발송되었습니다."


def job_count(run: Run) -> int:
    if not run.db.exists():
        return 0
    return len(run.rows("SELECT id FROM kmsg_jobs"))


@pytest.mark.parametrize(
    ("text", "encoding"), [(JAPANESE, "shift_jis"), (CHINESE, "gbk")], ids=["shift-jis", "gbk"]
)
def test_a_file_in_another_encoding_is_not_sent_as_cp949_nonsense(
    run: Run, tmp_path: Path, text: str, encoding: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(f"to,text\n010-1111-2222,{text}\n010-1111-3333,{text}\n".encode(encoding))
    result = run("send-many", str(source))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "error: ENCODING_ERROR:" in result.stderr
    assert "not Korean text" in result.stderr and "--encoding" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # the error and its hint
    assert job_count(run) == 0
    assert run("send-many", str(source), "--dry-run").exit_code == 2


def test_a_korean_cp949_file_is_still_read(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(f"to,text\n010-1111-2222,{KOREAN}\n".encode("cp949"))
    code, doc = run.json("send-many", str(source))
    assert code == 0, doc
    assert run.rows()[0]["to"] == "01011112222"


def test_a_named_encoding_is_trusted(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(f"to,text\n010-1111-2222,{JAPANESE}\n".encode("shift_jis"))
    code, doc = run.json("send-many", str(source), "--encoding", "shift_jis")
    assert code == 0, doc


@pytest.mark.parametrize(
    ("value", "shown"), [("a\x00b", "\\x00"), ("\x1b[2Jx", "\\x1b"), ("x\x7f", "\\x7f")]
)
def test_control_characters_in_a_variable_are_refused(run: Run, value: str, shown: str) -> None:
    variables = json.dumps({"name": value})
    result = run("send", "--to", "010-1111-2222", "--text", "#{name}님", "--vars", variables)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "error: INVALID_VARIABLE: variable 'name' contains the control character" in (
        result.stderr
    )
    assert shown in result.stderr and "\x1b" not in result.stderr
    assert not run.db.exists() or not run.rows()


def test_tabs_and_line_breaks_in_a_variable_are_text(run: Run) -> None:
    variables = json.dumps({"name": "홍\t길동\n님"})
    code, doc = run.json("send", "--to", "010-1111-2222", "--text", "#{name}", "--vars", variables)
    assert code == 0, doc


def test_a_control_character_in_a_csv_cell_fails_that_row_only(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "to,name\n010-1111-2222,홍길동\n010-1111-3333,김\x1b[31m철수\n", encoding="utf-8"
    )
    code, doc = run.json("send-many", str(source), "--text", "#{name}님 안녕하세요")
    assert code == 5, doc
    (problem,) = doc["data"]["problems"]
    assert problem["row"] == 2 and problem["code"] == "INVALID_VARIABLE"
    assert [row["to"] for row in run.rows()] == ["01011112222"]


@pytest.mark.parametrize("phone", ["010-1234-567⁸", "010-1234-56⑦8", "０１０-1234-567²"])
def test_digits_that_are_not_decimal_are_not_phone_digits(run: Run, phone: str) -> None:
    result = run("send", "--to", phone, "--text", "hi")
    assert result.exit_code == 2, result.stdout
    assert "error: INVALID_PHONE:" in result.stderr and "not a decimal digit" in result.stderr


def test_fullwidth_digits_are_still_digits(run: Run) -> None:
    code, doc = run.json("send", "--to", "０１０-１２３４-５６７８", "--text", "hi")
    assert code == 0, doc
    assert doc["data"]["results"][0]["to"] == "01012345678"


@pytest.mark.parametrize(
    "args",
    [
        ("queue", "process", "--drain", "--max-seconds", "nan"),
        ("queue", "process", "--drain", "--max-seconds", "-1"),
        ("track", "run-once", "--max-seconds", "nan"),
        ("track", "run-once", "--max-seconds", "-5"),
        ("track", "run-once", "--max-seconds", "inf"),
        ("queue", "list", "--limit", "-5"),
        ("track", "list", "--limit", "0"),
    ],
    ids=lambda a: " ".join(a),
)
def test_negative_or_nan_bounds_are_usage_errors(run: Run, args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith(("error: INVALID_DURATION:", "error: INVALID_LIMIT:"))
    assert args[-1] in result.stderr


def test_a_dry_run_refuses_what_the_real_send_refuses(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        """
[profiles.p.providers.solapi]
type = "solapi"
api_key = "k-000000000000"
api_secret = "s-000000000000"
sender = "0212345678"
base_url = "http://api.example.com"
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    args = ["--config", str(config), "-p", "p", "send", "--to", "010-1111-2222", "--text", "hi"]
    for extra in ([], ["--dry-run"]):
        result = run(*args, *extra)
        assert result.exit_code == 2, (extra, result.stdout, result.stderr)
        assert "error: INSECURE_URL:" in result.stderr
