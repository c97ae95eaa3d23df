"""send-many's command-line defaults for rows that lack a value (docs/bulk-input.md, "Columns"),
`--failover-text` above all: it fills only the rows whose type takes a failover."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmsg_cli.bulk_input import Row
from kmsg_cli.jobs.enqueue import Defaults, batch_id_for, draft_from_row
from tests.conftest import Run

FALLBACK = Defaults(text="#{name}님 주문 발송", template="ORDER", failover_text="#{name}님 문자")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "#{name}님 문자"),  # --template: an AlimTalk row
        ({"type": "alimtalk"}, "#{name}님 문자"),
        ({"type": " RCS_LMS "}, "#{name}님 문자"),
        ({"type": "BMS_FREE"}, "#{name}님 문자"),
        ({"type": "SMS"}, None),  # an SMS of a mixed file takes no failover
        ({"type": "NSA"}, None),  # a template type that has no fallback
        ({"failover_text": "그 행의 문자"}, "그 행의 문자"),  # the row's own wins
    ],
)
def test_failover_text_fills_only_rows_whose_type_takes_one(
    fields: dict[str, str], expected: str | None
) -> None:
    draft = draft_from_row(Row(1, {"to": "010", **fields}, {"name": "김"}), FALLBACK)
    assert draft.failover_text == expected


def test_no_template_and_no_type_is_an_sms_and_takes_none() -> None:
    defaults = Defaults(text="x", failover_text="fb")
    assert draft_from_row(Row(1, {"to": "010"}, {}), defaults).failover_text is None
    assert draft_from_row(Row(1, {"to": "010", "template": "T"}, {}), defaults).failover_text == (
        "fb"
    )


def test_the_default_batch_id_is_the_same_as_before_without_failover_text() -> None:
    plain = Defaults(text="x", template="T", type="ALIMTALK", sender="0212345678")
    assert plain.fingerprint() == repr(("x", "T", "ALIMTALK", "0212345678"))  # ids kept
    with_failover = Defaults(text="x", template="T", type="ALIMTALK", failover_text="fb")
    assert batch_id_for("d", with_failover) != batch_id_for("d", Defaults(text="x", template="T"))


def test_send_many_failover_text_end_to_end(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(
        "to,name,type,template\n010-1111-2222,김,,T1\n010-1111-3333,이,SMS,\n", encoding="utf-8"
    )
    args = ["send-many", str(source), "--text", "#{name}님 주문 발송"]
    result = run(*args, "--failover-text", "#{name}님, 카카오톡 대신 문자로 알려드립니다")
    assert result.exit_code == 0, result.stderr
    jobs = {
        r["id"].rsplit(":", 1)[1]: json.loads(r["data"])
        for r in run.rows("SELECT * FROM kmsg_jobs")
    }
    assert jobs["1"]["message"]["failover"]["text"] == "김님, 카카오톡 대신 문자로 알려드립니다"
    assert "failover" not in jobs["2"]["message"]  # the SMS row
    missing = run(*args, "--failover-text", "#{nmae}님 문자", "--dry-run")
    assert missing.exit_code == 2
    assert missing.stderr.startswith(
        "error: MISSING_VARIABLE: --failover-text uses #{nmae}, but the file has no column"
    )
    assert "did you mean #{name}?" in missing.stderr
