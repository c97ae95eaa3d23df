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


SHAPED = Defaults(
    text="x", template="T", failover_text="fb", failover_type="LMS", failover_subject="제목"
)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ("LMS", "제목")),  # an AlimTalk row filled by --failover-text
        ({"failover_type": "SMS"}, ("SMS", "제목")),  # the row's own wins, field by field
        ({"failover_subject": "행 제목"}, ("LMS", "행 제목")),
        ({"type": "SMS"}, (None, None)),  # no failover text: nothing to shape
        ({"failover_text": "  "}, (None, None)),  # a blank one neither
    ],
)
def test_failover_type_and_subject_shape_only_rows_with_a_failover_text(
    fields: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    draft = draft_from_row(Row(1, {"to": "010", **fields}, {}), SHAPED)
    assert (draft.failover_type, draft.failover_subject) == expected


def test_the_failover_shape_changes_the_default_batch_id_only_when_given() -> None:
    text_only = Defaults(text="x", failover_text="fb")
    assert text_only.fingerprint() == repr(("x", None, None, None, "fb"))  # ids kept
    shaped = Defaults(text="x", failover_text="fb", failover_subject="s")
    assert batch_id_for("d", shaped) != batch_id_for("d", text_only)


def test_send_many_failover_type_and_subject_end_to_end(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(
        "to,name,template,failover_subject\n010-1111-2222,김,T1,\n010-1111-3333,이,T1,행 제목\n",
        encoding="utf-8",
    )
    args = ["send-many", str(source), "--text", "#{name}님 주문 발송"]
    fallback = ["--failover-text", "#{name}님 문자", "--failover-subject", "#{name}님 안내"]
    result = run(*args, *fallback, "--failover-type", "lms")
    assert result.exit_code == 0, result.stderr
    failovers = {
        r["id"].rsplit(":", 1)[1]: json.loads(r["data"])["message"]["failover"]
        for r in run.rows("SELECT * FROM kmsg_jobs")
    }
    assert (failovers["1"]["type"], failovers["1"]["subject"]) == ("LMS", "김님 안내")
    assert failovers["2"]["subject"] == "행 제목"  # the row's own cell wins
    wrong = run(*args, *fallback, "--failover-type", "MMS", "--dry-run")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith("error: INVALID_TYPE: failover type 'MMS' is not allowed")
    alone = run(*args, "--failover-type", "SMS", "--dry-run")
    assert alone.exit_code == 2
    assert alone.stderr.startswith(
        "error: MISSING_FAILOVER_TEXT: --failover-type needs a failover text"
    )
    plain = tmp_path / "plain.csv"
    plain.write_text("to,name,template\n010-1111-2222,김,T1\n", encoding="utf-8")
    typo = run(
        "send-many",
        str(plain),
        "--text",
        "x",
        "--failover-text",
        "x",
        "--failover-subject",
        "#{nmae}",
        "--dry-run",
    )
    assert typo.exit_code == 2 and "did you mean #{name}?" in typo.stderr


def test_a_row_refused_after_validation_leaves_every_count_it_was_in() -> None:
    """A row counted valid, then refused (its id is taken): out of valid, its type, its
    provider and, when that provider is real, out of `real` too (the summary's mock note)."""
    from kmsg_cli.jobs.enqueue import EnqueueReport, _refuse
    from kmsg_cli.models import Job

    report = EnqueueReport(valid=2, real=1)
    report.by_type.update({"SMS": 2})
    report.by_provider.update({"solapi": 1, "mock": 1})
    simulated = {"solapi": False, "mock": True}
    for provider in ("solapi", "mock"):
        data = {"message": {"type": "SMS", "to": "01011112222"}, "provider": provider}
        job = Job(
            id=provider, type="send", data=data, created_at=0, process_at=0, metadata={"row": 3}
        )
        _refuse((report, simulated), job, ("DUPLICATE_ID", "taken"), None, {3: 4})
    assert (report.valid, report.real, report.invalid) == (0, 0, 2)
    assert +report.by_type == {} and +report.by_provider == {}
    assert [(p.row, p.code, p.line) for p in report.problems] == [(3, "DUPLICATE_ID", 4)] * 2


def test_failover_shaping_of_a_json_lines_file_without_any_failover_text_is_refused(
    run: Run, tmp_path: Path
) -> None:
    """JSON Lines has no header: the file is read whole first, and when no record has a
    failover_text, --failover-type/--failover-subject would change nothing: refused, as for a
    CSV without the column; one record with it is enough."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"to": "010-1212-0001", "text": "a"}\n', encoding="utf-8")
    alone = run("send-many", str(source), "--failover-subject", "제목", "--dry-run")
    assert alone.exit_code == 2
    assert alone.stderr.startswith(
        "error: MISSING_FAILOVER_TEXT: --failover-subject needs a failover text"
    )
    with source.open("a", encoding="utf-8") as handle:
        handle.write(
            '{"to": "010-1212-0002", "template": "T", "type": "ALIMTALK", "failover_text": "b"}\n'
        )
    shaped = run("send-many", str(source), "--failover-subject", "제목", "--dry-run")
    assert shaped.exit_code == 0, shaped.stderr
