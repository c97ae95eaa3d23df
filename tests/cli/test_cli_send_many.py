"""`kmsg send-many` with the mock provider: ledger, resume, results, dry run, exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli.jobs.codec import message_to_data
from kmsg_cli.models import Job, Message, MessageType, Recipient
from kmsg_cli.store.sqlite import SqliteStore
from tests.conftest import Run


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def people(count: int, start: int = 1) -> list[dict[str, str]]:
    return [{"to": f"010-2000-{n:04d}", "name": f"고객{n}"} for n in range(start, start + count)]


def jobs_data(run: Run) -> list[dict[str, Any]]:
    return run.rows("SELECT id, data FROM kmsg_jobs ORDER BY id")


def jobs(run: Run) -> list[dict[str, Any]]:
    return run.rows("SELECT id, status, attempts, error, metadata FROM kmsg_jobs ORDER BY id")


def test_every_valid_row_is_sent_once_and_invalid_rows_are_reported(
    run: Run, tmp_path: Path
) -> None:
    rows = people(30)
    rows[4]["to"] = "12345"
    rows[9]["name"] = ""  # empty variable value is allowed
    source = write_csv(tmp_path / "in.csv", rows)
    results = tmp_path / "out.jsonl"
    result = run(
        "send-many", str(source), "--text", "#{name}님 안녕하세요", "--results", str(results)
    )
    assert result.exit_code == 5, result.stdout + result.stderr
    assert "row 5 (line 6): INVALID_PHONE" in result.stderr  # the header is line 1
    tracked = run.rows()
    assert len(tracked) == 29
    texts = {r["to"] for r in tracked}
    assert "01020000005" not in texts
    lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 30
    by_row = {line["row"]: line for line in lines}
    assert by_row[5]["status"] == "invalid" and by_row[5]["error"]["code"] == "INVALID_PHONE"
    assert by_row[1]["status"] == "accepted" and by_row[1]["provider_message_id"].startswith(
        "mock-"
    )
    assert {line["id"] for line in lines if line["row"] != 5} == {r["message_id"] for r in tracked}


@pytest.mark.parametrize("dry_run", [False, True], ids=["send", "dry run"])
def test_the_summary_counts_one_row_in_the_singular(
    run: Run, tmp_path: Path, dry_run: bool
) -> None:
    source = write_csv(tmp_path / "in.csv", people(1))
    result = run("send-many", str(source), "--text", "#{name}님", *(["--dry-run"] * dry_run))
    assert result.exit_code == 0, result.stderr
    assert ": 1 row, 1 valid, 0 invalid" in result.stdout
    queued = run("send-many", str(source), "--text", "#{name}님!", "--queue")
    assert queued.exit_code == 0, queued.stderr
    assert ": 1 valid row (1 newly queued), 0 invalid; 1 waiting in the queue" in queued.stdout
    assert "`kmsg queue process --drain` sends it\n" in queued.stdout  # one row: "it"


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ([], "1 row was not sent"),
        (["--dry-run"], "1 row is invalid and would not be sent"),
        (["--queue"], "1 row was invalid"),
    ],
    ids=["send", "dry run", "queue"],
)
def test_one_invalid_row_is_named_in_the_singular(
    run: Run, tmp_path: Path, mode: list[str], message: str
) -> None:
    rows = people(3)
    rows[1]["to"] = "12345"
    source = write_csv(tmp_path / "in.csv", rows)
    result = run("send-many", str(source), "--text", "#{name}님", *mode)
    assert result.exit_code == 5, result.stderr
    assert f"error: PARTIAL_FAILURE: {message}\n" in result.stderr
    assert "(s)" not in result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "fix them" not in said and "send them again" not in said  # one row: "it"
    assert "the rows listed above" not in said


@pytest.mark.parametrize("mode", [[], ["--dry-run"], ["--queue"]], ids=["send", "dry", "queue"])
def test_a_file_without_a_valid_row_says_so_alike_in_every_mode(
    run: Run, tmp_path: Path, mode: list[str]
) -> None:
    source = write_csv(tmp_path / "in.csv", [{"to": "abc", "name": "a"}, {"to": "12", "name": "b"}])
    code, doc = run.json("send-many", str(source), "--text", "#{name}", *mode)
    assert code == 2 and doc["error"]["code"] == "NO_VALID_ROWS"
    if run.db.exists():  # a dry run creates no database
        assert run.rows("SELECT id FROM kmsg_jobs") == []


@pytest.mark.parametrize("mode", [[], ["--dry-run"], ["--queue"]], ids=["send", "dry", "queue"])
def test_a_file_with_a_header_and_no_row_sends_nothing_and_says_so(
    run: Run, tmp_path: Path, mode: list[str]
) -> None:
    source = tmp_path / "empty.csv"
    source.write_bytes("전화번호,이름\r\n".encode("cp949"))  # a list exported empty
    code, doc = run.json("send-many", str(source), "--column", "to=전화번호", "--text", "x", *mode)
    assert code == 0, doc  # nothing to do is not a failure (a daily export may be empty)
    assert [w["code"] for w in doc["warnings"]] == ["EMPTY_INPUT"]
    said = run("send-many", str(source), "--column", "to=전화번호", "--text", "x", *mode)
    assert said.exit_code == 0
    assert "warning: EMPTY_INPUT: the input has no rows: nothing to send\n" in said.stderr
    if run.db.exists():
        assert run.rows("SELECT id FROM kmsg_jobs") == []


@pytest.mark.parametrize(
    ("option", "code"),
    [(("--from", "abc"), "INVALID_PHONE"), (("--type", "TELEX"), "INVALID_TYPE")],
    ids=["from", "type"],
)
def test_a_bad_option_for_every_row_is_one_error_before_any_row_is_read(
    run: Run, tmp_path: Path, option: tuple[str, str], code: str
) -> None:
    source = write_csv(tmp_path / "in.csv", people(30))
    result = run("send-many", str(source), "--text", "#{name}", *option)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {code}: '{option[1]}' ")  # no row lines first
    assert f"(field '{option[0][2:]}')" in result.stderr.splitlines()[0]
    assert result.stdout == "" and not run.db.exists()


def test_rerunning_the_same_command_sends_nothing_twice(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", people(40))
    first = run.json("send-many", str(source), "--text", "#{name}님")
    assert first[0] == 0 and first[1]["data"]["accepted"] == 40
    code, doc = run.json("send-many", str(source), "--text", "#{name}님")
    assert code == 0
    assert doc["data"]["accepted"] == 0 and doc["data"]["already_sent"] == 40
    assert len(run.rows()) == 40


def test_ids_are_batch_and_row_and_the_batch_depends_on_content_and_options(
    run: Run, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "in.csv", people(3))
    _, doc = run.json("send-many", str(source), "--text", "a #{name}")
    batch = doc["data"]["batch_id"]
    assert sorted(r["message_id"] for r in run.rows()) == [f"{batch}:{n}" for n in (1, 2, 3)]
    _, other = run.json("send-many", str(source), "--text", "b #{name}")
    assert other["data"]["batch_id"] != batch
    _, named = run.json("send-many", str(source), "--text", "c", "--batch-id", "june")
    assert named["data"]["batch_id"] == "june"
    assert "june:1" in {r["message_id"] for r in run.rows()}


def test_an_id_column_is_the_message_id(run: Run, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "in.csv",
        [
            {"id": "order-1", "to": "010-1111-2222", "text": "a"},
            {"id": "order-2", "to": "010-1111-3333", "text": "b"},
        ],
    )
    assert run("send-many", str(source), "--id-column", "id").exit_code == 0
    assert sorted(r["message_id"] for r in run.rows()) == ["order-1", "order-2"]


def test_an_id_accepted_whose_job_was_purged_is_never_sent_again(run: Run, tmp_path: Path) -> None:
    # `queue purge` deletes finished jobs and keeps their tracking rows: the id stays taken
    rows = [{"id": "order-1", "to": "010-1111-2222", "text": "a"}]
    source = write_csv(tmp_path / "in.csv", rows)
    assert run("send-many", str(source), "--id-column", "id").exit_code == 0
    with SqliteStore(run.db) as store:
        assert store.delete_jobs(["order-1"]) == 1
    rows.append({"id": "order-2", "to": "010-1111-3333", "text": "b"})
    code, doc = run.json("send-many", str(write_csv(source, rows)), "--id-column", "id")
    assert code == 5 and doc["data"]["accepted"] == 1
    (problem,) = doc["data"]["problems"]
    assert problem["row"] == 1 and problem["code"] == "DUPLICATE_ID"
    assert problem["message"] == (
        "id 'order-1' was already accepted earlier (to 01011112222 via mock, status SENT); "
        "this row is not sent again"
    )
    assert sorted(r["message_id"] for r in run.rows()) == ["order-1", "order-2"]


def test_an_id_column_is_ordinary_data_unless_asked_for(run: Run, tmp_path: Path) -> None:
    # CRM exports carry their own "id": it fills #{id} and never becomes the message id
    source = write_csv(
        tmp_path / "in.csv",
        [
            {"id": "7", "to": "010-1111-2222", "text": "고객번호 #{id}"},
            {"id": "7", "to": "010-1111-3333", "text": "고객번호 #{id}"},
        ],
    )
    code, doc = run.json("send-many", str(source))
    assert code == 0, doc
    rows = run.rows()
    assert len(rows) == 2 and all(r["message_id"] != "7" for r in rows)
    jobs_data = run.rows("SELECT data FROM kmsg_jobs")
    texts = [json.loads(j["data"])["message"]["text"] for j in jobs_data]
    assert texts == ["고객번호 7", "고객번호 7"]


def test_missing_to_column_stops_everything_with_exit_2(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [{"phone": "010-1111-2222", "text": "x"}])
    result = run("send-many", str(source))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: MISSING_COLUMN:")
    assert not run.db.exists() or run.rows("SELECT * FROM kmsg_jobs") == []


def test_unreadable_file_exits_2(run: Run, tmp_path: Path) -> None:
    result = run("send-many", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: UNREADABLE_FILE:")


def test_all_rows_invalid_exits_2(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [{"to": "1", "text": "x"}, {"to": "2", "text": "y"}])
    assert run("send-many", str(source)).exit_code == 2
    assert run.rows() == []


def test_nothing_accepted_exits_3(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [{"to": "010-1111-0000", "text": "x"}])
    result = run("send-many", str(source))
    assert result.exit_code == 3


def test_cp949_csv_from_korean_excel(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [{"to": "010-1111-2222", "이름": "홍길동"}], "cp949")
    code, doc = run.json("send-many", str(source), "--text", "#{이름}님", "--dry-run")
    assert code == 0, doc
    assert doc["data"]["valid"] == 1


def test_json_lines_and_stdin(run: Run) -> None:
    lines = "\n".join(
        json.dumps({"to": f"010-3000-{n:04d}", "text": "#{who}", "who": f"w{n}"})
        for n in range(1, 6)
    )
    code, doc = run.json("send-many", "-", input=lines + "\n")
    assert code == 0, doc
    assert doc["data"]["accepted"] == 5
    assert len(run.rows()) == 5


def test_dry_run_counts_and_sends_nothing(run: Run, tmp_path: Path) -> None:
    rows = [*people(5), {"to": "abc", "name": "x"}]
    source = write_csv(tmp_path / "in.csv", rows)
    code, doc = run.json("send-many", str(source), "--text", "#{name}", "--dry-run")
    assert code == 5  # what the real run would give: one row is invalid
    data = doc["data"]
    assert (data["rows"], data["valid"], data["invalid"]) == (6, 5, 1)
    assert data["by_type"] == {"SMS": 5} and data["by_provider"] == {"mock": 5}
    assert data["problems"][0]["row"] == 6
    assert not run.db.exists()


def test_dry_run_previews_the_first_rows_as_they_would_be_sent(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", people(7))
    result = run("send-many", str(source), "--text", "#{name}님 안녕하세요", "--dry-run")
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line.startswith("  row ")]
    assert len(lines) == 5
    assert lines[0].startswith("  row 1: 010-2000-0001 SMS via mock")
    assert lines[0].endswith(f"{people(1)[0]['name']}님 안녕하세요")
    assert "... 2 more" in result.stdout
    code, doc = run.json("send-many", str(source), "--text", "#{name}", "--dry-run")
    assert code == 0 and [item["row"] for item in doc["data"]["preview"]] == [1, 2, 3, 4, 5]
    assert doc["data"]["preview"][0]["text"] == people(1)[0]["name"]


def test_dry_run_of_an_unusable_file_exits_2(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [{"to": "abc", "name": "x"}])
    assert run("send-many", str(source), "--text", "#{name}", "--dry-run").exit_code == 2
    missing = run("send-many", str(tmp_path / "nope.csv"), "--dry-run")
    assert missing.exit_code == 2 and "UNREADABLE_FILE" in missing.stderr
    assert "hint: check the path" in missing.stderr


def test_missing_variable_in_one_row_does_not_stop_the_others(run: Run, tmp_path: Path) -> None:
    # JSON Lines has no header: each record has its own keys, so a name is missing per row
    source = tmp_path / "in.jsonl"
    records = [{"to": "010-1111-2222", "code": "1"}, {"to": "010-1111-3333"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code, doc = run.json("send-many", str(source), "--text", "code #{code}")
    assert code == 5 and doc["data"]["accepted"] == 1
    assert [(p["row"], p["code"]) for p in doc["data"]["problems"]] == [(2, "MISSING_VARIABLE")]
    # the row's line says how to fill it in a file: send-many has no --var of its own
    assert doc["data"]["problems"][0]["message"] == (
        "missing variable for 'text': code (--var code=VALUE, or a column 'code' in a file) "
        "(field 'text')"
    )


def test_a_placeholder_without_a_column_stops_before_any_row(run: Run, tmp_path: Path) -> None:
    # With a header, a name no column fills would fail every row: one error, nothing sent
    source = write_csv(
        tmp_path / "in.csv",
        [{"to": "010-1111-2222", "Code": "1"}, {"to": "010-1111-3333", "Code": ""}],
    )
    result = run("send-many", str(source), "--text", "code #{code} #{x}", "--dry-run")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == [
        "error: MISSING_VARIABLE: --text uses #{code}, #{x}, but the file has no columns by "
        "those names (found: 'to', 'Code')",
        "hint: did you mean #{Code} for #{code}? names are matched exactly, case included",
    ]
    # nothing was written: the check comes before the database is even opened
    assert not run.db.exists() or run.rows("SELECT * FROM kmsg_jobs") == []
    # a near name is suggested (a typo in Korean too)
    korean = write_csv(tmp_path / "ko.csv", [{"to": "010-1111-2222", "이름": "홍"}])
    typo = run("send-many", str(korean), "--text", "#{이룸}님", "--dry-run")
    assert typo.exit_code == 2 and "hint: did you mean #{이름}? or add a column" in typo.stderr
    # a recognised column is not a variable: the hint says so
    to = run("send-many", str(source), "--text", "#{to}", "--dry-run")
    assert to.exit_code == 2
    assert "hint: #{to} names a column kmsg reads itself (to), not a variable" in to.stderr
    # a `text` column of the file's own: its rows may not use --text, so rows decide
    source = write_csv(tmp_path / "own.csv", [{"to": "010-1111-2222", "text": "hi"}])
    assert run("send-many", str(source), "--text", "#{x}").exit_code == 0


def test_a_brace_placeholder_naming_a_column_stops_before_any_row(run: Run, tmp_path: Path) -> None:
    # `{name}` (another tool's syntax) would reach every customer as written
    source = write_csv(tmp_path / "in.csv", people(3))
    result = run("send-many", str(source), "--text", "안녕 {name}님")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == [
        "error: PLACEHOLDER_SYNTAX: 'text' has {name}, which kmsg sends as written: "
        "a placeholder is written #{name} (field 'text')",
        "hint: write #{name} to fill in the variable 'name'",
    ]
    assert not run.db.exists() or run.rows("SELECT * FROM kmsg_jobs") == []
    # a JSON Lines row's own text is checked row by row: that row alone is refused
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        '{"to": "010-1111-2222", "text": "hi {name}", "name": "a"}\n'
        '{"to": "010-1111-3333", "text": "hi #{name}", "name": "b"}\n',
        encoding="utf-8",
    )
    code, doc = run.json("send-many", str(lines))
    assert code == 5 and doc["data"]["accepted"] == 1
    assert [(p["row"], p["code"]) for p in doc["data"]["problems"]] == [(1, "PLACEHOLDER_SYNTAX")]
    # braces around a name that is no column stay as written
    assert run("send-many", str(source), "--text", "{code} 안내", "--dry-run").exit_code == 0


@pytest.mark.parametrize("value", ["0", "-1", "1000"])
def test_bad_concurrency_is_a_usage_error(run: Run, tmp_path: Path, value: str) -> None:
    source = write_csv(tmp_path / "in.csv", people(1))
    result = run("send-many", str(source), "--text", "x", "--concurrency", value)
    assert result.exit_code == 2
    assert "INVALID_CONCURRENCY" in result.stderr


def test_bad_rate_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", people(1))
    result = run("send-many", str(source), "--text", "x", "--rate", "fast")
    assert result.exit_code == 2 and "INVALID_RATE" in result.stderr


def test_rate_limit_is_accepted(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", people(20))
    code, doc = run.json("send-many", str(source), "--text", "x", "--rate", "200/s")
    assert code == 0 and doc["data"]["accepted"] == 20


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def _claimed_by_dead_worker(db: Path, batch: str, *, in_flight: bool) -> None:
    """Leave the ledger as a worker killed with SIGKILL would: processing, lease running."""
    import socket

    message = Message("x", MessageType.SMS, Recipient("01099990001"), "hi", 2)
    with SqliteStore(db) as store:
        store.initialize()
        data = message_to_data(message)
        data["id"] = f"{batch}:1"
        store.insert_jobs(
            [
                Job(
                    id=f"{batch}:1",
                    type="send",
                    data={"message": data, "provider": "mock"},
                    created_at=1,
                    process_at=1,
                    metadata={"batch": batch, "row": 1},
                )
            ]
        )
        owner = {"host": socket.gethostname(), "pid": _dead_pid(), "started": None, "run": "dead"}
        (job,) = store.claim_jobs(now_ms=10**13, lease_ms=10**9, owner=owner, limit=1, batch=batch)
        if in_flight:
            store.mark_in_flight([job.id], now_ms=10**13)


def test_a_claim_of_a_dead_worker_that_never_sent_is_sent_at_once(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [{"to": "010-9999-0001", "text": "hi"}])
    _claimed_by_dead_worker(run.db, "crash1", in_flight=False)
    code, doc = run.json("send-many", str(source), "--batch-id", "crash1")
    assert code == 0, doc
    assert doc["data"]["accepted"] == 1
    (job,) = jobs(run)
    assert job["status"] == "completed" and job["attempts"] == 1


def test_an_in_flight_claim_of_a_dead_worker_is_an_unknown_outcome_without_lookup(
    run: Run, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "in.csv", [{"to": "010-9999-0001", "text": "hi"}])
    _claimed_by_dead_worker(run.db, "crash2", in_flight=True)
    code, doc = run.json("send-many", str(source), "--batch-id", "crash2")
    assert code == 3
    assert doc["data"]["unknown"] == 1 and doc["error"]["code"] == "UNKNOWN_OUTCOME"
    (job,) = jobs(run)
    assert job["status"] == "failed" and json.loads(job["error"])["code"] == "UNKNOWN_OUTCOME"
    assert run.rows() == []  # never re-sent silently


def test_a_live_owner_within_its_lease_is_respected(run: Run, tmp_path: Path) -> None:
    """Another host's claim (we cannot prove it dead) waits for its lease."""
    source = write_csv(tmp_path / "in.csv", [{"to": "010-9999-0001", "text": "hi"}])
    with SqliteStore(run.db) as store:
        store.initialize()
    _claimed_by_dead_worker(run.db, "other", in_flight=False)
    with SqliteStore(run.db) as store:
        (job,) = store.processing_jobs(batch="other")
        assert job.metadata is not None
        # pretend the owner is on another host: not provably dead, lease far in the future
        conn = store._conn
        meta = dict(job.metadata)
        meta["owner"] = {"host": "elsewhere", "pid": 1, "run": "r"}
        conn.execute("UPDATE kmsg_jobs SET metadata = ? WHERE id = ?", (json.dumps(meta), job.id))
    from kmsg_cli.jobs.worker import BatchRunner

    with SqliteStore(run.db) as store:
        runner = BatchRunner(store=store, clients=None, batch_id="other")  # type: ignore[arg-type]
        assert runner.recover() == 0
    del source


def test_an_in_flight_claim_of_a_paused_process_waits_for_it_past_its_lease(
    run: Run, tmp_path: Path
) -> None:
    """A process stopped with Ctrl-Z mid-request may still send when it goes on: while it
    exists on this host, its in-flight job is not taken over, however old its lease; once it is
    gone, the job is resolved as any crash's (docs/recovery.md)."""
    from kmsg_cli import owner as owners
    from kmsg_cli.jobs.worker import BatchRunner

    source = write_csv(tmp_path / "in.csv", [{"to": "010-9999-0001", "text": "hi"}])
    _claimed_by_dead_worker(run.db, "paused", in_flight=True)
    paused = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = {"host": os.uname().nodename, "pid": paused.pid, "run": "paused"}
        alive["started"] = owners._start_ticks(paused.pid)
        with SqliteStore(run.db) as store:
            (job,) = store.processing_jobs(batch="paused")
            meta = {**(job.metadata or {}), "owner": alive}
            store._conn.execute(
                "UPDATE kmsg_jobs SET metadata = ?, process_at = 1 WHERE id = ?",
                (json.dumps(meta), job.id),
            )  # its lease ran out long ago
            runner = BatchRunner(store=store, clients=None, batch_id="paused")  # type: ignore[arg-type]
            assert runner.recover() == 0
            assert store.processing_jobs(batch="paused")[0].metadata == meta  # left alone
    finally:
        paused.kill()
        paused.wait()
    code, doc = run.json("send-many", str(source), "--batch-id", "paused")
    assert code == 3 and doc["data"]["unknown"] == 1  # now resolved, never re-sent silently
    assert run.rows() == []


def test_sigterm_stops_cleanly_and_a_rerun_finishes(tmp_path: Path) -> None:
    """A real process: SIGTERM mid-run exits 130, releases unsent claims; re-run completes."""
    source = write_csv(tmp_path / "in.csv", people(400))
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "slow"\n'
        '[profiles.slow.providers.mock]\ntype = "mock"\nlatency_ms = 100\n',
        encoding="utf-8",
    )
    db = tmp_path / "k.sqlite"
    env = dict(os.environ, KMSG_CONFIG=str(config), KMSG_DB=str(db), HOME=str(tmp_path))
    command = [
        sys.executable,
        "-m",
        "kmsg_cli",
        "send-many",
        str(source),
        "--text",
        "x",
        "--json",
        "--concurrency",
        "1",
        "--rate",
        "100/s",
    ]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if db.exists():
            with SqliteStore(db) as store:
                store.initialize()
                if store.job_counts().get("completed", 0) >= 100:
                    break
        time.sleep(0.05)
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["error"]["code"] == "INTERRUPTED"
    with SqliteStore(db) as store:
        counts = store.job_counts()
        assert counts.get("processing", 0) == 0  # nothing left claimed
        done_before = counts.get("completed", 0)
    assert 0 < done_before < 400
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    second = json.loads(rerun.stdout)["data"]
    assert second["already_sent"] == done_before
    assert second["accepted"] == 400 - done_before
    with SqliteStore(db) as store:
        assert store.count_tracking() == 400


def test_a_repeated_id_value_is_reported_not_silently_dropped(run: Run, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "in.csv",
        [
            {"id": "same", "to": "010-1111-2222", "text": "a"},
            {"id": "other", "to": "010-1111-3333", "text": "b"},
            {"id": "same", "to": "010-1111-4444", "text": "c"},
        ],
    )
    code, doc = run.json("send-many", str(source), "--id-column", "id")
    assert code == 5
    (problem,) = doc["data"]["problems"]
    assert problem["row"] == 3 and problem["code"] == "DUPLICATE_ID"
    assert sorted(r["to"] for r in run.rows()) == ["01011112222", "01011113333"]
    # a re-run does not mistake its own rows for duplicates
    code, doc = run.json("send-many", str(source), "--id-column", "id")
    assert code == 5 and doc["data"]["already_sent"] == 2 and len(doc["data"]["problems"]) == 1


def _outage_config(path: Path, suffixes: list[str]) -> str:
    listed = ", ".join(f'"{s}"' for s in suffixes)
    path.write_text(
        'default_profile = "p"\n'
        f'[profiles.p.providers.mock]\ntype = "mock"\nunavailable_suffixes = [{listed}]\n',
        encoding="utf-8",
    )
    return str(path)


def test_failed_rows_are_listed_with_how_to_retry_them(run: Run, tmp_path: Path) -> None:
    rows = [*people(3), {"to": "010-2000-0000", "name": "refused"}]
    rows += [{"to": "010-2000-0503", "name": "busy"}]
    source = write_csv(tmp_path / "in.csv", rows)
    result = run("send-many", str(source), "--text", "#{name}", "--max-attempts", "1")
    assert result.exit_code == 5
    out = result.stdout
    assert "not sent:" in out
    assert "row 4 (line 5)  010-2000-0000  MOCK_REJECTED" in out
    assert "row 5 (line 6)  010-2000-0503  MOCK_UNAVAILABLE" in out
    batch = out.split()[1].rstrip(":")
    assert "re-running the same command tries it again" in out  # one busy row
    assert "a wrong row: fix it in the file and re-run" in out  # one refused row
    assert f"kmsg queue retry --failed --batch {batch}" in out
    code, doc = run.json("send-many", str(source), "--text", "#{name}", "--max-attempts", "1")
    assert code == 5 and [f["row"] for f in doc["data"]["failures"]] == [4, 5]
    assert [f["temporary"] for f in doc["data"]["failures"]] == [False, True]


def test_rows_failing_for_one_reason_are_said_once(run: Run, tmp_path: Path) -> None:
    rows = [*people(2), *({"to": f"010-2{n:03d}-0000", "name": "refused"} for n in range(12))]
    source = write_csv(tmp_path / "in.csv", rows)
    result = run("send-many", str(source), "--text", "#{name}", "--max-attempts", "1")
    assert result.exit_code == 5
    said = "not sent: 12 rows, all for one reason (--results PATH lists them); the first:\n"
    said += "  row 3 (line 4)  010-2000-0000  MOCK_REJECTED: recipient 01020000000 rejected"
    assert said in result.stdout
    assert "  row 4 (line 5)" not in result.stdout  # not the same words twelve times
    # two reasons: each row is listed, as before
    rows.append({"to": "010-2999-0503", "name": "busy"})
    mixed = write_csv(tmp_path / "mixed.csv", rows)
    result = run("send-many", str(mixed), "--text", "#{name}", "--max-attempts", "1")
    assert "not sent:\n" in result.stdout and "  row 3 (line 4)  010-2000-0000" in result.stdout
    code, doc = run.json("send-many", str(source), "--text", "#{name}", "--max-attempts", "1")
    assert code == 5 and len(doc["data"]["failures"]) == 10  # the JSON keeps its rows


def test_a_rerun_retries_rows_that_failed_temporarily(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [*people(2), {"to": "010-2000-0503", "name": "b"}])
    busy = _outage_config(tmp_path / "busy.toml", ["0503"])
    args = ("send-many", str(source), "--text", "#{name}", "--max-attempts", "1")
    first = run("--config", busy, *args)
    assert first.exit_code == 5
    # the outage is over: the same command sends only the row that failed
    fine = _outage_config(tmp_path / "fine.toml", [])
    code, doc = run.json("--config", fine, *args)
    assert code == 0, doc
    assert doc["data"]["accepted"] == 1 and doc["data"]["already_sent"] == 2
    assert sorted(r["to"] for r in run.rows()) == ["01020000001", "01020000002", "01020000503"]


def test_a_rerun_does_not_retry_what_the_provider_refused(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [*people(1), {"to": "010-2000-0000", "name": "r"}])
    args = ("send-many", str(source), "--text", "#{name}")
    assert run(*args).exit_code == 5
    code, doc = run.json(*args)
    assert code == 5 and doc["data"]["accepted"] == 0 and doc["data"]["failed"] == 1


def test_results_as_csv_in_input_row_order_for_excel(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kmsg_cli import results_file

    monkeypatch.setattr(results_file, "_SORT_CHUNK", 3)  # spill and merge, as a big file would
    rows = [*people(11), {"to": "abc", "name": "x"}, {"to": "010-2000-0000", "name": "거부"}]
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    result = run("send-many", str(source), "--text", "#{name}님", "--results", str(out))
    assert result.exit_code == 5
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the Korean text as UTF-8
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == list(results_file.CSV_COLUMNS)
    assert [int(line[0]) for line in table[1:]] == list(range(1, 14))
    by_row = {int(line[0]): dict(zip(table[0], line, strict=True)) for line in table[1:]}
    assert by_row[1]["status"] == "accepted" and by_row[1]["line"] == "2"
    assert (by_row[12]["status"], by_row[12]["line"]) == ("invalid", "13")  # Excel's row 13
    assert (by_row[13]["status"], by_row[13]["error_code"]) == ("failed", "MOCK_REJECTED")
    assert by_row[13]["line"] == "14"  # refused by the provider: where to fix it, too
    assert "  row 13 (line 14)  010-2000-0000  MOCK_REJECTED" in result.stdout
    assert "results: " + str(out) + " (13 rows)" in result.stdout
    # the same command again may write over its own earlier results
    again = run("send-many", str(source), "--text", "#{name}님", "--results", str(out))
    assert again.exit_code == 5
    # and over a results file of a version without the line column
    header = ",".join(c for c in results_file.CSV_COLUMNS if c != "line")
    out.write_bytes(b"\xef\xbb\xbf" + header.encode() + b"\r\n1,b:1,010,accepted,,,,\r\n")
    older = run("send-many", str(source), "--text", "#{name}님", "--results", str(out))
    assert older.exit_code == 5 and "RESULTS_REFUSED" not in older.stderr
    out.write_bytes(b"row,id,name\r\n1,2,3\r\n")  # a CSV of the user's own
    refused = run("send-many", str(source), "--text", "#{name}님", "--results", str(out))
    assert refused.exit_code == 2 and "RESULTS_REFUSED" in refused.stderr


def test_an_invalid_row_names_the_line_or_the_sheet_row_to_fix(run: Run, tmp_path: Path) -> None:
    import openpyxl  # the test extra installs it

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in (["전화번호", "이름"], ["010-2222-3333", "a"], [None, None], [1022224444, "b"]):
        sheet.append(values)
    book.save(tmp_path / "list.xlsx")
    result = run("send-many", str(tmp_path / "list.xlsx"), "--column", "to=전화번호", "--text", "x")
    assert result.exit_code == 5, result.stderr
    # the second record is on the sheet's fourth row: Excel's number, not the record's
    assert result.stderr.startswith("row 2 (sheet row 4): INVALID_PHONE: '1022224444'")
    code, doc = run.json(
        "send-many", str(tmp_path / "list.xlsx"), "--column", "to=전화번호", "--text", "x"
    )
    assert code == 5
    assert doc["data"]["problems"][0]["line"] == 4 and doc["data"]["problems"][0]["row"] == 2


def test_the_invalid_rows_hints_are_given_once_each_with_their_count(
    run: Run, tmp_path: Path
) -> None:
    # an Excel column in General format: the leading 0 of every number dropped
    rows = [{"to": f"10{n:04d}{n:04d}", "name": "a"} for n in range(1, 13)]
    rows += [{"to": "12345", "name": "b"}, *people(1)]
    source = write_csv(tmp_path / "in.csv", rows)
    for extra in ((), ("--dry-run",)):
        result = run("send-many", str(source), "--text", "#{name}", *extra)
        assert result.exit_code == 5
        out = result.stdout if extra else result.stderr  # a dry run's report is its output
        hints = [line for line in out.splitlines() if line.startswith("hint (")]
        assert hints == [
            "hint (12 rows): Excel drops the leading 0 of numbers in General format: format the "
            "column as Text, or write the numbers with dashes (010-1234-5678), and export again",
            "hint (1 row): use a Korean number such as 010-1234-5678, or +<country><number> "
            "for international",
        ]
        assert "... and 3 more invalid rows" in out
    code, doc = run.json("send-many", str(source), "--text", "#{name}", "--dry-run")
    assert code == 5 and doc["data"]["problems"][0]["hint"].startswith("Excel drops the leading 0")


def test_a_dry_run_writes_the_rows_it_would_not_send_to_results(run: Run, tmp_path: Path) -> None:
    rows = [*people(2), *({"to": f"abc{n}", "name": "x"} for n in range(12))]
    source = write_csv(tmp_path / "in.csv", rows)
    plain = run("send-many", str(source), "--text", "#{name}", "--dry-run")
    assert "... and 2 more invalid rows (--results PATH lists every one)" in plain.stdout
    out = tmp_path / "bad.csv"
    result = run("send-many", str(source), "--text", "#{name}", "--dry-run", "--results", str(out))
    assert result.exit_code == 5 and not run.db.exists()  # nothing sent, nothing written
    assert f"results: {out} (12 rows invalid or skipped)" in result.stdout
    assert "--results PATH lists" not in result.stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"  # phone numbers
    table = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [(int(r["row"]), r["to"], r["status"]) for r in table] == [
        (n + 3, f"abc{n}", "invalid") for n in range(12)
    ]
    assert {r["error_code"] for r in table} == {"INVALID_PHONE"}
    _, doc = run.json(
        "send-many", str(source), "--text", "#{name}", "--dry-run", "--results", str(out)
    )
    assert doc["data"]["results"] == str(out)


def test_a_row_the_provider_refused_names_its_sheet_row(run: Run, tmp_path: Path) -> None:
    import openpyxl  # the test extra installs it

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in (["to", "name"], ["010-2222-3333", "a"], [None, None], ["010-2000-0000", "b"]):
        sheet.append(values)  # the mock refuses numbers ending in 0000
    book.save(tmp_path / "list.xlsx")
    code, doc = run.json("send-many", str(tmp_path / "list.xlsx"), "--text", "x")
    assert code == 5
    (failure,) = doc["data"]["failures"]
    assert (failure["row"], failure["line"], failure["code"]) == (2, 4, "MOCK_REJECTED")
    again = run("send-many", str(tmp_path / "list.xlsx"), "--text", "x")
    assert "  row 2 (sheet row 4)  010-2000-0000  MOCK_REJECTED" in again.stdout
    listed = run("queue", "list", "--status", "failed", "--fields", "row,line", "--no-header")
    assert listed.stdout == "2\t4\n"  # the queue listing names the place too


def test_a_row_edited_after_it_was_sent_under_the_same_batch_id_is_named(
    run: Run, tmp_path: Path
) -> None:
    rows = [{**row, "at": "+2h"} for row in people(3)]  # a relative time moves each run
    source = write_csv(tmp_path / "in.csv", rows)
    first = run("send-many", str(source), "--text", "#{name}님", "--batch-id", "june")
    assert first.exit_code == 0, first.stderr
    again = run("send-many", str(source), "--text", "#{name}님", "--batch-id", "june")
    assert again.exit_code == 0, again.stderr  # the same rows: nothing to say
    assert "ROW_CHANGED" not in again.stderr
    rows[1]["name"] = "박"  # the operator corrects row 2 after it went out
    write_csv(source, rows)
    edited = run("send-many", str(source), "--text", "#{name}님", "--batch-id", "june")
    assert edited.exit_code == 5, edited.stderr
    assert edited.stderr.startswith(
        "row 2 (line 3): ROW_CHANGED: the row's text changed since batch 'june' queued it as "
        "'june:2', which was sent (send the changed row under a new --batch-id); this row is "
        "not sent"
    )
    texts = {r["message_id"]: r for r in run.rows()}
    assert len(texts) == 3  # nothing more was sent
    job = {j["id"]: j for j in jobs(run)}["june:2"]
    assert "고객2" in run.rows("SELECT data FROM kmsg_jobs WHERE id = 'june:2'")[0]["data"]
    assert job["status"] == "completed"


def test_a_queued_row_edited_before_it_was_sent_says_how_to_replace_it(
    run: Run, tmp_path: Path
) -> None:
    rows = people(2)
    source = write_csv(tmp_path / "in.csv", rows)
    args = ("send-many", str(source), "--text", "#{name}님", "--batch-id", "q", "--queue")
    assert run(*args).exit_code == 0
    rows[1]["name"] = "박"
    write_csv(source, rows)
    edited = run(*args)
    assert edited.exit_code == 5
    assert (
        "which is still queued (to replace it: kmsg cancel --id q:2 --yes, then send the "
        "changed row under a new --batch-id)"
    ) in edited.stderr
    # doing what it says sends the new text once and the old one never
    assert run("cancel", "--id", "q:2", "--yes").exit_code == 0
    again = ("send-many", str(source), "--text", "#{name}님", "--batch-id", "q2", "--queue")
    assert run(*again).exit_code == 0
    assert run("queue", "process", "--drain").exit_code == 0
    texts = sorted(r["to"] for r in run.rows())
    assert texts == ["01020000001", "01020000002"]  # each recipient once
    sent = {
        r["id"]: r["data"]
        for r in run.rows("SELECT id, data FROM kmsg_jobs WHERE status = 'completed'")
    }
    assert set(sent) == {"q:1", "q2:2"} and "박님" in sent["q2:2"]


def test_an_empty_cell_for_a_placeholder_is_warned_about_and_sent(run: Run, tmp_path: Path) -> None:
    rows = people(5)
    for n in (1, 3, 4, 5):
        rows[n - 1]["amount"] = "" if n != 3 else "  "
    rows[1]["amount"] = "5,000"
    source = write_csv(tmp_path / "in.csv", rows)
    result = run("send-many", str(source), "--text", "#{name}님 #{amount}원", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: EMPTY_VARIABLE: #{amount} is empty in 4 rows: row 1 (line 2), row 3 (line 4), "
        "row 4 (line 5), ...; their messages go out without it"
    ) in result.stderr
    assert "#{name}" not in result.stderr  # every name is there
    code, doc = run.json("send-many", str(source), "--text", "#{name}님 #{amount}원")
    assert code == 0  # a warning, not an error: the rows are sent as they are
    assert doc["data"]["accepted"] == 5
    assert [w["code"] for w in doc["warnings"]] == ["EMPTY_VARIABLE"]
    jobs_data = [json.loads(r["data"]) for r in run.rows("SELECT data FROM kmsg_jobs")]
    sent = {d["message"]["text"] for d in jobs_data}
    assert {"고객1님 원", "고객2님 5,000원", "고객3님 원"} <= sent and len(jobs_data) == 5
    # run again, fixed: row 2's message was sent; the rows that repeat an earlier message are
    # skipped, so a warning about them would speak of messages that do not go out
    rows[0]["amount"] = "1,000"
    again = run(
        "send-many", str(write_csv(tmp_path / "fixed.csv", rows)), "--text", "#{name}님 #{amount}원"
    )
    assert again.exit_code == 0, again.stderr
    assert "warning: EMPTY_VARIABLE" not in again.stderr  # rows 3–5 are skipped as repeats
    assert "1 accepted" in again.stdout


def test_the_warnings_of_the_rows_are_given_once_per_code_naming_the_first_row(
    run: Run, tmp_path: Path
) -> None:
    rows = people(5)
    rows[1]["to"] = "02-123-4567"
    rows[3]["to"] = "031-123-4567"
    rows[4]["to"] = "02-765-4321"
    rows[2]["text"] = "배포 — 완료"  # an editor's em dash: not in KS X 1001
    for row in rows:
        row.setdefault("text", f"{row['name']}님 안녕하세요")
    source = write_csv(tmp_path / "in.csv", rows)
    result = run("send-many", str(source), "--dry-run")
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert lines == [
        "warning: NOT_MOBILE: row 2 (line 3): 02-123-4567 is not a mobile number; landline "
        "numbers usually cannot receive text messages (and 2 more rows: row 4 (line 5), "
        "row 5 (line 6))",
        "warning: NON_KS_CHARACTERS: row 3 (line 4): text has characters outside KS X 1001 "
        "('—' U+2014): counted as 4 bytes each; some phones may not display them",
    ]
    code, doc = run.json("send-many", str(source))
    assert code == 0 and doc["data"]["accepted"] == 5  # warnings, not errors
    assert [w["code"] for w in doc["warnings"]] == ["NOT_MOBILE", "NON_KS_CHARACTERS"]
    # fixed and sent again: only the fixed row goes out, and only its warnings are given
    rows[2]["text"] = "배포 - 완료"
    again = run("send-many", str(write_csv(tmp_path / "fixed.csv", rows)))
    assert again.exit_code == 0, again.stderr
    assert "1 accepted" in again.stdout
    assert "warning:" not in again.stderr


def test_verbose_logs_a_line_per_provider_request(run: Run, tmp_path: Path) -> None:
    rows = [*people(3), {"to": "010-2000-0000", "name": "거부"}]  # the mock refuses ...0000
    source = write_csv(tmp_path / "in.csv", rows)
    quiet = run("send-many", str(source), "--text", "#{name}님")
    assert "info " not in quiet.stderr  # without -v: no log lines
    loud = run("-v", "send-many", str(source), "--text", "#{name}님!")
    assert loud.exit_code == 5
    lines = [line for line in loud.stderr.splitlines() if line.startswith("info kmsg.runner:")]
    assert lines == [
        "info kmsg.runner: 4 job(s) through mock: 3 accepted, 1 failed, 0 to retry, "
        "0 outcome unknown"
    ]


def test_the_summary_names_the_profile_and_says_the_sandbox_delivered_nothing(
    run: Run, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "in.csv", people(3))
    result = run("send-many", str(source), "--text", "#{name}님")
    assert result.exit_code == 0, result.stdout + result.stderr
    first, *_, last = result.stdout.strip().splitlines()
    assert first.endswith("3 rows, 3 valid, 0 invalid (profile sandbox)")
    assert last == "note: mock provider: no real message was delivered."
    code, doc = run.json("send-many", str(source), "--text", "#{name}님")  # all already sent
    assert code == 0
    assert doc["data"]["profile"] == "sandbox" and doc["data"]["simulated"] is True


def test_a_mixed_profile_says_how_many_rows_went_to_the_mock(capsys: Any) -> None:
    from kmsg_cli.cli.bulk_view import BulkView
    from kmsg_cli.cli.output import Output
    from kmsg_cli.jobs.enqueue import EnqueueReport
    from kmsg_cli.jobs.outcomes import BatchState
    from kmsg_cli.jobs.stats import Stats

    report = EnqueueReport(rows=3, valid=3, real=1)
    state = BatchState(accepted=3, failed=0, unknown=0, pending=0, processing=0)
    view = BulkView(Output(), batch_id="b1", total_rows=3)
    data = view.summary(
        report,
        state,
        Stats(accepted=3),
        before=BatchState(accepted=0, failed=0, unknown=0, pending=0, processing=0),
        elapsed=1.0,
        send_elapsed=1.0,
        results=None,
        result_lines=None,
        interrupted=False,
        profile_name="prod",
    )
    out = capsys.readouterr().out
    assert data["simulated"] is False and data["profile"] == "prod"
    assert "(profile prod)" in out
    assert "note: 2 rows went to the mock provider: not delivered." in out
    assert "no real message was delivered" not in out


def test_every_problem_line_starts_with_its_row(run: Run, tmp_path: Path) -> None:
    """Reader errors (a ragged CSV row) and row errors (a bad number, a text left blank by an
    empty cell) read alike: `row N (line M): CODE: ...`."""
    source = tmp_path / "in.csv"
    source.write_bytes(
        "\ufeffto,name\r\n010-2000-0001,김\r\n010-2000-0002,이,extra\r\n12345,박\r\n"
        "010-2000-0004,\r\n".encode()
    )
    result = run("send-many", str(source), "--text", "#{name}")
    assert result.exit_code == 5, result.stdout + result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("row ")]
    assert [line.split(": ")[0:2] for line in problems] == [
        ["row 2 (line 3)", "BAD_ROW"],
        ["row 3 (line 4)", "INVALID_PHONE"],
        ["row 4 (line 5)", "MISSING_TEXT"],
    ]
    assert problems[0].startswith("row 2 (line 3): BAD_ROW: has 3 cells but the header has 2")
    assert "empty once #{name} is filled in" in problems[2]
    assert [r["to"] for r in run.rows()] == ["01020000001"]  # nothing empty went out


# -- profiles sharing one database ----------------------------------------------------------------
@pytest.mark.usefixtures("two_profiles")
def test_a_file_tried_on_the_sandbox_is_sent_for_real_by_another_profile(
    run: Run, tmp_path: Path
) -> None:
    """The natural way to try a campaign: the sandbox first, then the real profile. The two
    runs are two batches: the second is not a re-run that finds every row sent already."""
    source = write_csv(tmp_path / "in.csv", people(2))
    _, tried = run.json("send-many", str(source), "--text", "#{name}님")
    _, real = run.json("-p", "other", "send-many", str(source), "--text", "#{name}님")
    assert tried["data"]["batch_id"] != real["data"]["batch_id"]
    assert (tried["data"]["accepted"], real["data"]["accepted"]) == (2, 2)
    providers = {
        r["provider_id"] for r in run.rows("SELECT provider_id FROM kmsg_delivery_tracking")
    }
    assert providers == {"mock", "stand-in"}
    # the sandbox's default batch id is what it always was (the profile is not in it)
    import hashlib

    from kmsg_cli.jobs.enqueue import Defaults, batch_id_for

    defaults = Defaults(text="x")
    before = "b" + hashlib.sha256(f"d\n{defaults.fingerprint()}".encode()).hexdigest()[:16]
    assert batch_id_for("d", defaults, "sandbox") == before != batch_id_for("d", defaults, "other")


@pytest.mark.usefixtures("two_profiles")
def test_ids_another_profile_used_are_refused_not_counted_as_sent(run: Run, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "in.csv", [{**p, "order": f"o-{n}"} for n, p in enumerate(people(2))]
    )
    run("send-many", str(source), "--text", "#{name}님", "--batch-id", "camp")
    again = run(
        "-p", "other", "send-many", str(source), "--text", "#{name}님", "--batch-id", "camp"
    )
    assert again.exit_code == 2
    assert again.stderr.startswith(
        "error: BATCH_OF_OTHER_PROFILE: batch 'camp' was run under another profile (provider "
        "mock, which profile 'other' does not have)"
    )
    run("send-many", str(source), "--text", "#{name}!", "--id-column", "order")
    code, doc = run.json(
        "-p", "other", "send-many", str(source), "--text", "#{name}!", "--id-column", "order"
    )
    assert code == 2 and doc["data"]["accepted"] == 0
    assert {p["code"] for p in doc["data"]["problems"]} == {"ID_OF_OTHER_PROFILE"}
    assert "ID_OF_OTHER_PROFILE" not in json.dumps(doc["warnings"])
    count = run.rows("SELECT COUNT(*) AS n FROM kmsg_delivery_tracking")[0]["n"]
    assert count == 4  # the sandbox's two runs only


def test_at_schedules_every_row_without_an_at_of_its_own_once(run: Run, tmp_path: Path) -> None:
    rows = [{**row, "at": ""} for row in people(3)]
    rows[1]["at"] = "2031-05-05 10:00"  # a row's own time wins over --at
    source = write_csv(tmp_path / "in.csv", rows)
    args = ("send-many", str(source), "--text", "#{name}님", "--at", "2030-01-02 09:00")
    preview = run(*args, "--dry-run")
    assert preview.exit_code == 0, preview.stderr
    assert "  row 1: 010-2000-0001 SMS via mock at 2030-01-02 09:00:00 KST" in preview.stdout
    assert "  row 2: 010-2000-0002 SMS via mock at 2031-05-05 10:00:00 KST" in preview.stdout
    first = run(*args, "--json")
    assert first.exit_code == 0, first.stderr
    data = {r["id"]: json.loads(r["data"]) for r in run.rows("SELECT id, data FROM kmsg_jobs")}
    when = sorted((key.split(":")[1], d["message"]["at"]) for key, d in data.items())
    assert when == [
        ("1", "2030-01-02T00:00:00+00:00"),
        ("2", "2031-05-05T01:00:00+00:00"),
        ("3", "2030-01-02T00:00:00+00:00"),
    ]
    assert {r["status"] for r in run.rows()} == {"PENDING"}  # the mock schedules natively
    again = run(*args, "--json")  # the same command again is the same batch: nothing new
    assert (
        json.loads(again.stdout)["data"]["batch_id"] == json.loads(first.stdout)["data"]["batch_id"]
    )
    assert json.loads(again.stdout)["data"]["already_sent"] == 3
    assert len(run.rows()) == 3
    plain = run("send-many", str(source), "--text", "#{name}님", "--dry-run", "--json")
    assert (
        json.loads(plain.stdout)["data"]["batch_id"] != json.loads(first.stdout)["data"]["batch_id"]
    )


def test_a_date_time_typed_in_excel_schedules_its_row(run: Run, tmp_path: Path) -> None:
    """A date-time cell of a workbook, and the same sheet saved as CSV by Excel (which writes
    the cell as shown: `2030-01-02 9:00`, one digit for the hour)."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["to", "at"])
    sheet.append(["010-2000-0001", datetime(2030, 1, 2, 9, 0)])  # shown `2030-01-02 9:00:00`
    sheet.append(["010-2000-0002", datetime(2030, 1, 2, 15, 30)])
    sheet.cell(row=3, column=2).number_format = "m/d/yy h:mm"  # Excel's own date-time format
    book.save(tmp_path / "in.xlsx")
    saved = tmp_path / "saved.csv"
    saved.write_bytes("to,at\r\n010-2000-0003,2030-01-02 9:00\r\n".encode("cp949"))
    for source in (tmp_path / "in.xlsx", saved):
        result = run("send-many", str(source), "--text", "점검 안내")
        assert result.exit_code == 0, result.stderr
    when = [json.loads(r["data"])["message"]["at"] for r in jobs_data(run)]
    assert sorted(when) == [
        "2030-01-02T00:00:00+00:00",  # 09:00 KST
        "2030-01-02T00:00:00+00:00",
        "2030-01-02T06:30:00+00:00",
    ]


@pytest.mark.parametrize(
    ("at", "code"), [("2020-01-01 09:00", "PAST_TIME"), ("09:00", "INVALID_TIME")]
)
def test_a_wrong_at_is_one_error_before_any_row(
    run: Run, tmp_path: Path, at: str, code: str
) -> None:
    source = write_csv(tmp_path / "in.csv", people(3))
    result = run("send-many", str(source), "--text", "hi", "--at", at)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith(f"error: {code}: ")
    assert "(field 'at')" in result.stderr and "row 1" not in result.stderr
    assert not run.db.exists()  # refused before the database was opened
