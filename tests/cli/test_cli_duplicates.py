"""The duplicate window (docs/duplicates.md): a re-run of a fixed file sends only what is new."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kmsg_cli.store import open_store
from tests.conftest import Run
from tests.core.test_send_many_solapi import write_config
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_SECRET, FakeSolapi

fake_solapi = fixtures.fake_solapi

TEXT = "#{name}님, 12월 7일 09:00 점검 안내입니다"


def excel_csv(path: Path, rows: list[tuple[str, str]], *, encoding: str = "cp949") -> Path:
    """What Excel writes: CRLF line ends, CP949 (or UTF-8 with a BOM for "CSV UTF-8")."""
    text = "to,name\r\n" + "".join(f"{to},{name}\r\n" for to, name in rows)
    data = text.encode(encoding)
    path.write_bytes(data)
    return path


ROWS = [("010-3000-0001", "김민수"), ("010-3000-002", "이영희"), ("010-3000-0003", "박철수")]
FIXED = [("010-3000-0001", "김민수"), ("010-3000-0002", "이영희"), ("010-3000-0003", "박철수")]


def tracked(run: Run) -> Counter[str]:
    return Counter(row["to"] for row in run.rows())


def test_fixing_one_row_and_rerunning_sends_only_that_row(run: Run, tmp_path: Path) -> None:
    first = run("send-many", str(excel_csv(tmp_path / "list.csv", ROWS)), "--text", TEXT)
    assert first.exit_code == 5  # row 2 has a bad number
    assert "hint: fix the row listed above and run the same command again" in first.stderr
    # fixed in Excel and saved again, this time as "CSV UTF-8" (a BOM): other bytes, new batch
    fixed = excel_csv(tmp_path / "list.csv", FIXED, encoding="utf-8-sig")
    code, doc = run.json("send-many", str(fixed), "--text", TEXT)
    assert code == 0, doc
    data = doc["data"]
    assert (data["accepted"], data["skipped"]) == (1, 2)
    assert {(skip["row"], skip["line"]) for skip in data["skips"]} == {(1, 2), (3, 4)}
    assert all(skip["code"] == "DUPLICATE_CONTENT" for skip in data["skips"])
    assert tracked(run) == Counter({"01030000001": 1, "01030000002": 1, "01030000003": 1})


def test_the_summary_says_what_was_skipped_and_when(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT).exit_code == 0
    again = excel_csv(tmp_path / "again.csv", [*FIXED, ("010-3000-0004", "최")])
    result = run("send-many", str(again), "--text", TEXT)
    assert result.exit_code == 0
    assert "3 skipped: same content to the same number was accepted recently" in result.stdout
    assert " KST" in result.stdout and "(--allow-duplicates sends them anyway)" in result.stdout
    # what a re-run of a fixed file expects: counted in the summary, not listed row by row
    assert "skipped" not in result.stderr
    one = excel_csv(tmp_path / "one.csv", FIXED[:1])
    single = run("send-many", str(one), "--text", TEXT)
    assert "1 skipped: same content to the same number was accepted at " in single.stdout
    assert "(--allow-duplicates sends it anyway)" in single.stdout
    assert "0 accepted, 0 failed in " in single.stdout
    assert "msg/s" not in single.stdout and "msg/s" in result.stdout  # no rate when none sent


def test_a_row_repeating_an_earlier_row_of_the_file_is_said_so(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", [*FIXED, FIXED[0]])
    result = run("send-many", str(source), "--text", TEXT)
    assert result.exit_code == 0, result.stderr
    summary = "1 skipped: same content to the same number as an earlier row of the file"
    assert summary + " (--allow-duplicates sends it anyway)" in result.stdout
    assert "being sent or queued" not in result.stdout
    # a surprise in the file itself: listed, with the row it repeats
    assert "row 4 (line 5): skipped: same content to the same number as row 1" in result.stderr


def test_rows_skipped_for_different_reasons_are_counted_by_reason(run: Run, tmp_path: Path) -> None:
    assert (
        run("send-many", str(excel_csv(tmp_path / "a.csv", FIXED[:2])), "--text", TEXT).exit_code
        == 0
    )
    mixed = excel_csv(tmp_path / "b.csv", [*FIXED, FIXED[2]])
    result = run("send-many", str(mixed), "--text", TEXT)
    assert result.exit_code == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "skipped" in line]
    assert line.startswith(
        "3 skipped: same content to the same number: 1 as an earlier row of the file, "
        "2 were accepted recently (the first at "
    )
    assert line.endswith(" KST) (--allow-duplicates sends them anyway)")
    listed = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert listed == ["row 4 (line 5): skipped: same content to the same number as row 3"]
    assert Counter(tracked(run).values()) == Counter({1: 3})  # each number once


def test_allow_duplicates_sends_again(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT).exit_code == 0
    other = excel_csv(tmp_path / "other.csv", FIXED, encoding="utf-8-sig")
    code, doc = run.json("send-many", str(other), "--text", TEXT, "--allow-duplicates")
    assert code == 0 and doc["data"]["accepted"] == 3 and doc["data"]["skipped"] == 0
    assert set(tracked(run).values()) == {2}


def test_other_text_is_not_a_duplicate(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT).exit_code == 0
    code, doc = run.json("send-many", str(source), "--text", TEXT + " (정정)")
    assert code == 0 and doc["data"]["accepted"] == 3 and doc["data"]["skipped"] == 0


def _age(run: Run, hours: float) -> None:
    """Make everything recorded so far `hours` older (the clock of the earlier run)."""
    shift = int(hours * 3_600_000)
    with closing(sqlite3.connect(run.db)) as conn, conn:
        conn.execute("UPDATE kmsg_content_keys SET created_at = created_at - ?", (shift,))
        conn.execute("UPDATE kmsg_jobs SET completed_at = completed_at - ?", (shift,))
        conn.execute("UPDATE kmsg_delivery_tracking SET requested_at = requested_at - ?", (shift,))


def test_the_window_expires(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT).exit_code == 0
    _age(run, 2)
    other = excel_csv(tmp_path / "other.csv", FIXED, encoding="utf-8-sig")
    code, doc = run.json("send-many", str(other), "--text", TEXT, "--window", "3h")
    assert code == 0 and doc["data"]["skipped"] == 3
    code, doc = run.json("send-many", str(other), "--text", TEXT, "--window", "1h")
    assert code == 0 and doc["data"]["accepted"] == 3 and doc["data"]["skipped"] == 0
    _age(run, 25)  # past the default window of 24 hours
    third = excel_csv(tmp_path / "third.csv", FIXED, encoding="utf-8")  # other bytes again
    code, doc = run.json("send-many", str(third), "--text", TEXT)
    assert code == 0 and (doc["data"]["accepted"], doc["data"]["skipped"]) == (3, 0)


def test_the_profile_window_is_the_default(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "p"\n[profiles.p]\nduplicate_window = "1ms"\n'
        '[profiles.p.providers.mock]\ntype = "mock"\n',
        encoding="utf-8",
    )
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("--config", str(config), "send-many", str(source), "--text", TEXT).exit_code == 0
    other = excel_csv(tmp_path / "other.csv", FIXED, encoding="utf-8-sig")
    code, doc = run.json("--config", str(config), "send-many", str(other), "--text", TEXT)
    assert code == 0 and doc["data"]["skipped"] == 0


@pytest.mark.parametrize("value", ["24", "forever"])
def test_a_window_needs_a_unit(run: Run, tmp_path: Path, value: str) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    result = run("send-many", str(source), "--text", TEXT, "--window", value)
    assert result.exit_code == 2 and "window" in result.stderr
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.p]\nduplicate_window = "{value}"\n', encoding="utf-8")
    result = run("--config", str(config), "-p", "p", "send-many", str(source), "--text", TEXT)
    assert result.exit_code == 2 and "duplicate_window" in result.stderr


def test_identical_rows_in_one_file_go_out_once(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", [*FIXED, FIXED[0]])
    code, doc = run.json("send-many", str(source), "--text", TEXT)
    assert code == 0 and doc["data"]["accepted"] == 3
    (skip,) = doc["data"]["skips"]
    assert skip["row"] == 4 and "as row 1" in skip["message"]


def test_a_row_still_queued_elsewhere_is_taken_over_not_doubled(run: Run, tmp_path: Path) -> None:
    # the first run only queued (like one cut short before sending); the fixed file takes the
    # queued jobs over, so each message goes out once, under its first id
    source = excel_csv(tmp_path / "list.csv", ROWS)
    assert run("send-many", str(source), "--text", TEXT, "--queue").exit_code == 5
    queued = {r["id"] for r in run.rows("SELECT id FROM kmsg_jobs")}
    fixed = excel_csv(tmp_path / "fixed.csv", FIXED, encoding="utf-8-sig")
    code, doc = run.json("send-many", str(fixed), "--text", TEXT)
    assert code == 0, doc
    assert doc["data"]["adopted"] == 2 and doc["data"]["accepted"] == 3
    ids = {r["message_id"] for r in run.rows()}
    assert queued <= ids and len(ids) == 3
    assert run.rows("SELECT COUNT(*) AS n FROM kmsg_jobs WHERE status = 'pending'")[0]["n"] == 0


def test_an_earlier_send_of_unknown_outcome_is_not_repeated(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT, "--queue").exit_code == 0
    with open_store(str(run.db)) as store:
        failures = {
            job.id: json.dumps({"code": "UNKNOWN_OUTCOME", "message": "answer lost"})
            for job in store.iter_jobs()
        }
        store.fail_jobs(failures, now_ms=int(datetime.now(UTC).timestamp() * 1000))
    other = excel_csv(tmp_path / "other.csv", FIXED, encoding="utf-8-sig")
    _code, doc = run.json("send-many", str(other), "--text", TEXT)
    assert doc["data"]["skipped"] == 3 and doc["data"]["accepted"] == 0
    assert "unknown outcome" in doc["data"]["skips"][0]["message"]


def test_the_queue_path_applies_the_window_when_enqueueing(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT).exit_code == 0
    other = excel_csv(tmp_path / "other.csv", FIXED, encoding="utf-8-sig")
    code, doc = run.json("send-many", str(other), "--text", TEXT, "--queue")
    assert code == 0 and doc["data"]["skipped"] == 3 and doc["data"]["new_jobs"] == 0


def test_results_file_marks_skipped_rows(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT).exit_code == 0
    other = excel_csv(tmp_path / "other.csv", FIXED, encoding="utf-8-sig")
    results = tmp_path / "out.jsonl"
    assert run("send-many", str(other), "--text", TEXT, "--results", str(results)).exit_code == 0
    lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert sorted((line["row"], line["line"], line["status"]) for line in lines) == [
        (1, 2, "skipped"),
        (2, 3, "skipped"),
        (3, 4, "skipped"),
    ]


def test_dry_run_says_what_would_be_skipped_without_creating_anything(
    run: Run, tmp_path: Path
) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    code, doc = run.json("send-many", str(source), "--text", TEXT, "--dry-run")
    assert code == 0 and doc["data"]["skipped"] == 0 and not run.db.exists()
    assert run("send-many", str(source), "--text", TEXT).exit_code == 0
    # the same file again is the same batch: its rows were sent by it, as the run would say
    code, doc = run.json("send-many", str(source), "--text", TEXT, "--dry-run")
    assert code == 0 and doc["data"]["skipped"] == 0 and doc["data"]["already_sent"] == 3
    shown = run("send-many", str(source), "--text", TEXT, "--dry-run").stdout
    assert "3 already sent earlier by this batch (not sent again)" in shown
    _, again = run.json("send-many", str(source), "--text", TEXT)
    assert again["data"]["already_sent"] == 3 and again["data"]["accepted"] == 0
    # another batch of the same messages: they would be skipped as repeats
    other = ("--batch-id", "another")
    code, doc = run.json("send-many", str(source), "--text", TEXT, "--dry-run", *other)
    assert code == 0 and doc["data"]["skipped"] == 3 and doc["data"]["already_sent"] == 0


@pytest.mark.parametrize("how", ["--allow-duplicates", "past the window"])
def test_a_dry_run_reads_the_ledger_by_id_as_the_run_does(
    run: Run, tmp_path: Path, how: str
) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT).exit_code == 0
    extra: tuple[str, ...] = ()
    if how == "--allow-duplicates":
        extra = (how,)
    else:
        _age(run, 25)  # the content keys say nothing any more: the ids still do
    code, doc = run.json("send-many", str(source), "--text", TEXT, "--dry-run", *extra)
    assert code == 0 and doc["data"]["already_sent"] == 3 and doc["data"]["skipped"] == 0
    _, sent = run.json("send-many", str(source), "--text", TEXT, *extra)
    assert (sent["data"]["already_sent"], sent["data"]["accepted"]) == (3, 0)
    assert tracked(run) == Counter({"01030000001": 1, "01030000002": 1, "01030000003": 1})


def test_a_dry_run_names_an_edited_row_as_the_run_does(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    batch = ("--batch-id", "june")
    assert run("send-many", str(source), "--text", TEXT, *batch).exit_code == 0
    edited = excel_csv(source, [FIXED[0], ("010-3000-0002", "이영"), FIXED[2]])
    dry = run("send-many", str(edited), "--text", TEXT, *batch, "--dry-run")
    real = run("send-many", str(edited), "--text", TEXT, *batch)
    assert dry.exit_code == real.exit_code == 5
    expected = "ROW_CHANGED: the row's text changed since batch 'june' queued it as 'june:2'"
    assert expected in dry.stdout and expected in real.stderr
    # the edited row was sent too: both count the batch's three messages as sent before
    assert "3 already sent earlier by this batch (not sent again)" in dry.stdout
    assert "3 already sent earlier (not sent again)" in real.stdout
    assert len(run.rows()) == 3  # the dry run wrote nothing and the run sent nothing more


def test_a_dry_run_of_a_batch_still_queued_says_it_would_send_it(run: Run, tmp_path: Path) -> None:
    source = excel_csv(tmp_path / "list.csv", FIXED)
    assert run("send-many", str(source), "--text", TEXT, "--queue").exit_code == 0
    code, doc = run.json("send-many", str(source), "--text", TEXT, "--dry-run")
    assert code == 0 and doc["data"]["skipped"] == 0 and doc["data"]["already_sent"] == 0
    _, sent = run.json("send-many", str(source), "--text", TEXT)
    assert sent["data"]["accepted"] == 3  # what the dry run said: the queued rows go out


def test_the_lookup_uses_an_index(run: Run, tmp_path: Path) -> None:
    run("send-many", str(excel_csv(tmp_path / "list.csv", FIXED)), "--text", TEXT)
    with closing(sqlite3.connect(run.db)) as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT message_id FROM kmsg_content_keys "
                "WHERE created_at >= 0 AND content_key IN ('a', 'b')"
            )
        )
    assert "USING COVERING INDEX" in plan or "USING INDEX" in plan, plan
    assert "SCAN kmsg_content_keys" not in plan


def test_only_the_fixed_row_reaches_the_vendor(
    run: Run, fake_solapi: FakeSolapi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLAPI_API_SECRET", DEFAULT_API_SECRET)
    config = write_config(tmp_path / "config.toml", fake_solapi, batch_size=100, read_timeout=5)
    args = ("--config", str(config), "send-many")
    assert run(*args, str(excel_csv(tmp_path / "a.csv", ROWS)), "--text", TEXT).exit_code == 5
    assert len(fake_solapi.accepted_messages()) == 2
    fixed = excel_csv(tmp_path / "a.csv", FIXED, encoding="utf-8-sig")
    assert run(*args, str(fixed), "--text", TEXT).exit_code == 0
    accepted = [m["to"] for m in fake_solapi.accepted_messages()]
    assert sorted(accepted) == ["01030000001", "01030000002", "01030000003"]


# -- kmsg send: warn and send, or --no-duplicates ---------------------------------------------


def test_send_warns_about_a_repeat_but_sends_it(run: Run) -> None:
    args = ("send", "--to", "010-3000-0001", "--text", "서버 점검 안내")
    code, first = run.json(*args)
    assert code == 0 and not [w for w in first["warnings"] if w["code"] == "DUPLICATE_CONTENT"]
    code, second = run.json(*args)
    assert code == 0
    (warning,) = [w for w in second["warnings"] if w["code"] == "DUPLICATE_CONTENT"]
    assert "was accepted at" in warning["message"] and "sending it again" in warning["message"]
    assert warning["message"].startswith("010-3000-0001: ")  # as people write it
    assert tracked(run) == Counter({"01030000001": 2})


def test_a_repeat_is_not_said_to_be_sent_again_when_it_cannot_be(
    run: Run, isolated_env: Path
) -> None:
    config = isolated_env / ".config" / "kmsg" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        'default_profile = "main"\n[profiles.main]\ndefault_provider = "mock"\n'
        '[profiles.main.providers.mock]\ntype = "mock"\n'
        '[profiles.main.providers.solapi]\ntype = "solapi"\n'
        'api_key = "env:SOLAPI_API_KEY"\napi_secret = "env:SOLAPI_API_SECRET"\n',
        encoding="utf-8",
    )
    args = ("send", "--to", "010-3000-0001", "--text", "서버 점검 안내")
    assert run(*args).exit_code == 0
    again = run(*args, "--provider", "solapi")  # its credentials are not in this shell
    assert again.exit_code == 2 and "MISSING_ENV" in again.stderr
    assert "DUPLICATE_CONTENT" not in again.stderr  # no "sending it again": nothing was
    assert tracked(run) == Counter({"01030000001": 1})


def test_send_no_duplicates_skips_only_the_repeated_recipient(run: Run) -> None:
    assert run("send", "--to", "010-3000-0001", "--text", "점검").exit_code == 0
    both = ("send", "--to", "010-3000-0001,010-3000-0002", "--text", "점검", "--no-duplicates")
    code, doc = run.json(*both)
    assert code == 0
    assert tracked(run) == Counter({"01030000001": 1, "01030000002": 1})
    code, doc = run.json(*both)
    assert code == 0 and doc["data"] == {"sent": 0, "skipped": 2}
    assert tracked(run) == Counter({"01030000001": 1, "01030000002": 1})


def test_send_queue_records_its_content_for_the_window(run: Run, tmp_path: Path) -> None:
    assert (
        run(
            "send", "--to", "010-3000-0001", "--text", TEXT, "--var", "name=김민수", "--queue"
        ).exit_code
        == 0
    )
    source = excel_csv(tmp_path / "list.csv", FIXED)
    code, doc = run.json("send-many", str(source), "--text", TEXT)
    # the queued twin of row 1 is taken over by the batch, not sent twice
    assert code == 0 and doc["data"]["adopted"] == 1 and doc["data"]["accepted"] == 3
    assert tracked(run) == Counter({"01030000001": 1, "01030000002": 1, "01030000003": 1})


def test_repeats_far_apart_in_a_long_file_are_found_once_the_keys_are_on_disk(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past a few keys the run's keys move to a temporary database (flat memory); rows that
    # repeat an early row from another chunk of 1,000 are still skipped, and a re-run agrees.
    from kmsg_cli.store import scratch

    monkeypatch.setattr(scratch, "SPILL_AT", 10)
    rows = [(f"010-{n:04d}-1234", "고객") for n in range(1001, 3401)]  # no mock outage numbers
    rows[2199] = rows[4]  # row 2200 repeats row 5
    rows[1499] = rows[1000]  # row 1500 repeats row 1001
    source = excel_csv(tmp_path / "long.csv", rows)
    code, doc = run.json("send-many", str(source), "--text", TEXT)
    assert code == 0 and doc["data"]["accepted"] == 2398
    assert sorted((s["row"], s["message"].rsplit(" ", 1)[-1]) for s in doc["data"]["skips"]) == [
        (1500, "1001"),
        (2200, "5"),
    ]
    code, doc = run.json("send-many", str(source), "--text", TEXT)
    assert code == 0 and doc["data"]["accepted"] == 0 and len(doc["data"]["skips"]) == 2
    assert max(tracked(run).values()) == 1
