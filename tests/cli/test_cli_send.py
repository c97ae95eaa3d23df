"""`kmsg send` end to end on the embedded default (sandbox profile, mock provider, SQLite)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Run


def test_send_with_no_config_uses_the_sandbox_and_records_a_tracking_row(run: Run) -> None:
    result = run("send", "--to", "010-1234-5678", "--text", "hello")
    assert result.exit_code == 0, result.stderr
    assert "010-1234-5678" in result.stdout  # as people write it; JSON keeps digits
    assert "accepted by mock" in result.stdout
    assert "no real message was delivered" in result.stdout
    rows = run.rows()
    assert len(rows) == 1
    row = rows[0]
    assert (row["to"], row["type"], row["status"], row["provider_id"]) == (
        "01012345678",
        "SMS",
        "SENT",
        "mock",
    )
    assert row["provider_message_id"].startswith("mock-")
    assert row["next_check_at"] == row["requested_at"] + 30_000
    assert json.loads(row["metadata"])["simulated"] is True


def test_json_envelope_labels_the_result_as_simulated(run: Run) -> None:
    code, doc = run.json("send", "--to", "+82 10-1234-5678", "--text", "hello")
    assert code == 0
    assert set(doc) == {"ok", "data", "error", "warnings"}
    assert doc["ok"] is True and doc["error"] is None
    (item,) = doc["data"]["results"]
    assert item["to"] == "01012345678"
    assert item["accepted"] is True and item["simulated"] is True
    assert "no real message was delivered" in item["note"]
    assert {"code": "SIMULATED", "message": item["note"]} in doc["warnings"]
    assert doc["data"]["summary"] == {
        "total": 1, "accepted": 1, "already_sent": 0, "failed": 0, "unknown": 0,
    }  # fmt: skip


def test_global_options_work_after_the_subcommand(run: Run) -> None:
    result = run("send", "--to", "010-1234-5678", "--text", "hi", "--json", "-q")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ok"] is True


@pytest.mark.parametrize("option", ["--db", "-p", "--profile", "--config"])
def test_a_global_option_left_without_a_value_at_the_end_is_named(run: Run, option: str) -> None:
    # moved before the sub-command, it would have taken "queue" as its value and the error
    # would have been "No such command 'stats'"
    result = run("queue", "stats", option)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: USAGE: option {option} needs a value"


def test_an_option_where_a_value_belongs_is_refused_unless_attached(run: Run) -> None:
    # `--text $EMPTY --json`: the text is not "--json", nor is a dry run turned into a send
    for given in (["--text", "--json"], ["--batch-id", "--dry-run"]):
        command = ["send-many", "x.csv"] if given[0] == "--batch-id" else ["send", "--to", "010"]
        result = run(*command, *given)
        assert result.exit_code == 2
        assert result.stderr.startswith(
            f"error: USAGE: option {given[0]} needs a value, but the next word is the option "
            f"{given[1]} (an empty shell variable?); to give '{given[1]}' as the value, write "
            f"{given[0]}={given[1]}"
        )
    assert not run.db.exists()  # refused before anything was opened, let alone sent
    code, doc = run.json("send", "--to", "010-1234-5678", "--text=--json", "--dry-run")
    assert code == 0
    assert doc["data"]["messages"][0]["text"] == "--json"
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "-5", "--dry-run")
    assert code == 0 and doc["data"]["messages"][0]["text"] == "-5"  # not an option name


def test_korean_text_over_90_bytes_becomes_lms(run: Run) -> None:
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "가" * 46)
    assert code == 0
    assert doc["data"]["results"][0]["type"] == "LMS"
    assert doc["data"]["results"][0]["bytes"] == 92
    assert run.rows()[0]["type"] == "LMS"


def test_several_recipients_with_one_rejected_exit_partial(run: Run) -> None:
    code, doc = run.json(
        "send", "--to", "010-1111-2222,010-1234-0000", "--to", "010-3333-4444", "--text", "x"
    )
    assert code == 5
    assert doc["ok"] is False
    assert doc["error"]["code"] == "PARTIAL_FAILURE"
    assert doc["data"]["summary"]["accepted"] == 2
    failed = [r for r in doc["data"]["results"] if not r["accepted"]]
    assert [f["to"] for f in failed] == ["01012340000"]
    assert failed[0]["error"]["code"] == "MOCK_REJECTED"
    assert sorted(r["to"] for r in run.rows()) == ["01011112222", "01033334444"]
    # the hint re-sends the failed one only: a plain re-run would send the accepted ones again
    assert doc["error"]["hint"] == (
        "to send the failed ones again, re-run with --no-duplicates: it skips the numbers "
        "just accepted (a plain re-run sends them again)"
    )
    again = ("send", "--to", "010-1111-2222,010-1234-0000", "--to", "010-3333-4444", "--text", "x")
    code, doc = run.json(*again, "--no-duplicates")
    assert code == 3 and doc["data"]["summary"]["accepted"] == 0
    assert sorted(r["to"] for r in run.rows()) == ["01011112222", "01033334444"]
    # with ids (or --no-duplicates) the same command is the retry
    code, doc = run.json(*again[:-2], "--text", "y", "--id", "n7")
    assert code == 5 and doc["error"]["hint"] == (
        "re-running the same command sends only what was not accepted"
    )


def test_all_recipients_failing_at_the_provider_exits_3(run: Run) -> None:
    result = run("send", "--to", "010-1234-0000", "--text", "x")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: MOCK_REJECTED:")
    assert run.rows() == []


def test_the_same_id_is_not_sent_twice(run: Run) -> None:
    first = run("send", "--to", "010-1234-5678", "--text", "x", "--id", "order-42")
    assert first.exit_code == 0
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x", "--id", "order-42")
    assert code == 0
    (item,) = doc["data"]["results"]
    assert item["already_sent"] is True and item["message_id"] == "order-42"
    assert doc["data"]["summary"]["already_sent"] == 1
    assert [r["message_id"] for r in run.rows()] == ["order-42"]


def test_an_id_with_several_recipients_gives_each_its_own_id(run: Run) -> None:
    result = run("send", "--to", "010-1111-2222,010-3333-4444", "--text", "x", "--id", "n1")
    assert result.exit_code == 0
    ids = sorted(r["message_id"] for r in run.rows())
    assert ids == ["n1:01011112222", "n1:01033334444"]


@pytest.mark.parametrize("value", ["010-1111-2222 010-3333-4444", "01011112222;01033334444 "])
def test_numbers_separated_otherwise_than_by_commas_get_a_hint(run: Run, value: str) -> None:
    result = run("send", "--to", value, "--text", "x")
    assert result.exit_code == 2 and "INVALID_PHONE" in result.stderr
    digits = value.replace(";", " ").split()
    assert f"hint: several numbers? separate them with commas: --to {','.join(digits)}" in (
        result.stderr
    )
    assert not run.db.exists()  # refused before anything was opened, let alone sent
    # one number written with spaces is no list
    spaced = run("send", "--to", "010 1111 222", "--text", "x")
    assert spaced.exit_code == 2 and "several numbers" not in spaced.stderr


def test_a_variable_no_placeholder_uses_is_a_warning(run: Run) -> None:
    # `--var name=...` with a text that forgot `#{name}`: sent as written, but said
    code, doc = run.json(
        "send", "--to", "010-1234-5678", "--text", "#{a}님 안녕하세요", "--var", "a=1",
        "--vars", '{"name": "홍길동", "x": 2}',
    )  # fmt: skip
    assert code == 0
    unused = [w["message"] for w in doc["warnings"] if w["code"] == "UNUSED_VARIABLE"]
    assert unused == [
        "variable 'name' is used by no #{name} of the text",
        "variable 'x' is used by no #{x} of the text",
    ]
    # one a subject uses is used; a template's variables are the vendor's to fill
    code, doc = run.json(
        "send", "--to", "010-1234-5678", "--text", "x" * 100, "--subject", "#{name}",
        "--var", "name=홍길동",
    )  # fmt: skip
    assert code == 0 and not [w for w in doc["warnings"] if w["code"] == "UNUSED_VARIABLE"]
    code, doc = run.json(
        "send", "--to", "010-1234-5678", "--type", "ALIMTALK", "--template", "T",
        "--var", "name=홍길동", "--dry-run",
    )  # fmt: skip
    assert code == 0 and not [w for w in doc["warnings"] if w["code"] == "UNUSED_VARIABLE"]
    # a placeholder without a value: MISSING_VARIABLE, with no warning beside it
    result = run("send", "--to", "010-1234-5678", "--text", "#{Name}", "--var", "name=홍")
    assert result.exit_code == 2 and "UNUSED_VARIABLE" not in result.stderr
    assert "did you mean #{name} for #{Name}?" in result.stderr


def test_a_duplicate_recipient_is_sent_once_with_a_warning(run: Run) -> None:
    code, doc = run.json("send", "--to", "010-1234-5678,01012345678", "--text", "x")
    assert code == 0
    assert len(doc["data"]["results"]) == 1
    assert any(w["code"] == "DUPLICATE_RECIPIENT" for w in doc["warnings"])


def test_variables_are_interpolated_before_counting(run: Run) -> None:
    code, doc = run.json(
        "send", "--to", "010-1234-5678", "--text", "#{name}님", "--var", "name=" + "가" * 45
    )
    assert code == 0
    assert doc["data"]["results"][0]["type"] == "LMS"


def test_text_from_stdin_and_from_a_file(run: Run, tmp_path: Path) -> None:
    code, doc = run.json(
        "send", "--to", "010-1234-5678", "--text", "-", "--dry-run", input="배포\n"
    )
    assert code == 0
    assert doc["data"]["messages"][0]["text"] == "배포"
    text_file = tmp_path / "msg.txt"
    text_file.write_text("파일 본문\n", encoding="utf-8")
    code, doc = run.json(
        "send", "--to", "010-1234-5678", "--text-file", str(text_file), "--dry-run"
    )
    assert code == 0
    assert doc["data"]["messages"][0]["text"] == "파일 본문"


def test_a_notepad_file_in_cp949_with_crlf_is_read_as_korean_with_lf(
    run: Run, tmp_path: Path
) -> None:
    text_file = tmp_path / "notice.txt"
    text_file.write_bytes("점검 안내\r\n내일까지\r\n".encode("cp949"))
    code, doc = run.json(
        "send", "--to", "010-1234-5678", "--text-file", str(text_file), "--dry-run"
    )
    assert code == 0, doc
    (message,) = doc["data"]["messages"]
    assert message["text"] == "점검 안내\n내일까지"
    assert message["bytes"] == len("점검 안내\n내일까지".encode("cp949"))  # no \r counted


def test_dry_run_shows_everything_and_sends_nothing(run: Run) -> None:
    result = run(
        "send", "--to", "+82 10 1234 5678", "--text", "#{n}님 안녕", "--var", "n=홍", "--dry-run"
    )
    assert result.exit_code == 0
    for expected in ("010-1234-5678", "SMS", "mock", "홍님 안녕", "nothing sent"):
        assert expected in result.stdout
    assert not run.db.exists()


def test_one_byte_is_one_byte_and_long_texts_are_counted_with_a_comma(run: Run) -> None:
    result = run("send", "--to", "010-1234-5678", "--text", "x")
    assert "SMS (1 byte)  accepted" in result.stdout
    result = run("send", "--to", "010-1234-5678", "--text", "가" * 600)
    assert "LMS (1,200 bytes)  accepted" in result.stdout


def test_a_dry_run_shows_a_text_with_a_tab_whole(run: Run) -> None:
    result = run("send", "--to", "010-1234-5678", "--text", "total\t15,000원", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "total   15,000원" in result.stdout  # the tab as spaces, nothing cropped


def test_scheduled_send_on_the_mock_is_pending_until_after_the_time(run: Run) -> None:
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "later", "--at", "+2h")
    assert code == 0
    (row,) = run.rows()
    assert row["status"] == "PENDING"
    assert row["scheduled_at"] - row["requested_at"] == pytest.approx(2 * 3600 * 1000, abs=5000)
    assert row["next_check_at"] == row["scheduled_at"] + 120_000
    assert doc["data"]["results"][0]["scheduled_at"]


def test_alimtalk_with_failover_records_the_fallback_in_metadata(run: Run) -> None:
    result = run(
        "send",
        "--to",
        "010-1234-5678",
        "--template",
        "WELCOME",
        "--vars",
        '{"name": "홍길동"}',
        "--failover-text",
        "#{name}님 환영합니다",
    )
    assert result.exit_code == 0, result.stderr
    (row,) = run.rows()
    assert row["type"] == "ALIMTALK"
    metadata = json.loads(row["metadata"])
    assert metadata["template_id"] == "WELCOME"
    assert metadata["failover"]["text"] == "홍길동님 환영합니다"
    assert metadata["failover"]["type"] == "SMS"


def test_mms_needs_a_readable_image(run: Run, tmp_path: Path) -> None:
    missing = run(
        "send", "--to", "010-1234-5678", "--text", "x", "--image", str(tmp_path / "no.jpg")
    )
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: IMAGE_NOT_FOUND:")
    image = tmp_path / "a.jpg"
    image.write_bytes(b"\xff\xd8\xff" + b"0" * 100)
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x", "--image", str(image))
    assert code == 0
    assert doc["data"]["results"][0]["type"] == "MMS"


def test_unknown_provider_is_bad_input(run: Run) -> None:
    result = run("send", "--to", "010-1234-5678", "--text", "x", "--provider", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: UNKNOWN_PROVIDER:")


def test_a_type_no_configured_provider_can_send_exits_4(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.prod.providers.iwinv]\napi_key = "k"\n', encoding="utf-8")
    config.chmod(0o600)  # no permission warning before the error line
    result = run(
        "--config",
        str(config),
        "-p",
        "prod",
        "send",
        "--to",
        "010-1234-5678",
        "--type",
        "FRIENDTALK",
        "--text",
        "x",
    )
    assert result.exit_code == 4
    assert result.stderr.startswith("error: NO_PROVIDER:")
    assert "FRIENDTALK" in result.stderr
    assert not run.db.exists()  # refused before anything was opened or sent


def test_missing_env_secret_exits_2_and_names_the_variable(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMSG_PROVIDER", "solapi")
    monkeypatch.setenv("SOLAPI_API_KEY", "key")
    result = run("send", "--to", "010-1234-5678", "--text", "x")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: MISSING_ENV:")
    assert "SOLAPI_API_SECRET" in result.stderr


def test_database_file_is_private(run: Run) -> None:
    assert run("send", "--to", "010-1234-5678", "--text", "x").exit_code == 0
    assert stat.S_IMODE(run.db.stat().st_mode) == 0o600


def test_default_database_lives_in_the_user_data_dir(isolated_env: Path) -> None:
    from typer.testing import CliRunner

    from kmsg_cli.cli.app import app

    result = CliRunner().invoke(app, ["send", "--to", "010-1234-5678", "--text", "x"])
    assert result.exit_code == 0, result.stderr
    db = isolated_env / ".local" / "share" / "kmsg" / "kmsg.sqlite"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM kmsg_delivery_tracking").fetchone() == (1,)


def test_version_and_help(run: Run) -> None:
    from kmsg_cli import __version__

    version = run("--version", db=False)
    assert version.exit_code == 0 and version.stdout.strip() == f"kmsg {__version__}"
    help_text = run("send", "--help", db=False)
    assert help_text.exit_code == 0
    assert "Examples" in help_text.stdout and "--dry-run" in help_text.stdout


def test_unknown_option_is_a_one_line_usage_error(run: Run) -> None:
    result = run("send", "--to", "010-1234-5678", "--bogus")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: USAGE: No such option: --bogus"


def _installed_kmsg() -> list[str]:
    script = Path(sys.executable).with_name("kmsg")
    if script.exists():
        return [str(script)]
    found = shutil.which("kmsg")
    if found is None:
        pytest.fail("the kmsg console script is not installed (pip install -e .)")
    return [found]


def test_installed_console_script_sends_on_the_sandbox(tmp_path: Path) -> None:
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    proc = subprocess.run(
        [*_installed_kmsg(), "send", "--to", "010-1234-5678", "--text", "hello", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["data"]["results"][0]["status"] == "SENT"
    db = tmp_path / "data" / "kmsg" / "kmsg.sqlite"
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM kmsg_delivery_tracking").fetchone()
    assert count == 1


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.startswith("kmsg ")


def test_requested_at_is_now(run: Run) -> None:
    before = datetime.now(UTC).timestamp() * 1000
    assert run("send", "--to", "010-1234-5678", "--text", "x").exit_code == 0
    after = datetime.now(UTC).timestamp() * 1000
    (row,) = run.rows()
    assert before - 1 <= row["requested_at"] <= after + 1


def test_an_internal_error_is_one_line_and_exit_1(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kmsg_cli.sending

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(kmsg_cli.sending, "send", broken)
    result = run("send", "--to", "010-1234-5678", "--text", "x")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "error: INTERNAL_ERROR: RuntimeError: boom second line"
    assert "Traceback" not in result.stderr
    verbose = run("-vv", "send", "--to", "010-1234-5678", "--text", "x")
    assert verbose.exit_code == 1 and "Traceback" in verbose.stderr


def test_verbose_logs_go_to_stderr(run: Run) -> None:
    result = run("-v", "send", "--to", "010-1234-5678", "--text", "x", "--json")
    assert result.exit_code == 0
    assert "sending 1 message(s) through provider mock" in result.stderr
    json.loads(result.stdout)  # stdout stays one JSON document


def test_an_id_on_a_database_created_just_now_warns_that_other_runs_are_unseen(run: Run) -> None:
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x", "--id", "deploy-42")
    assert code == 0
    (warning,) = [w for w in doc["warnings"] if w["code"] == "NEW_DATABASE"]
    assert "created just now" in warning["message"] and "--id" in warning["message"]
    # the same database the next time: it holds the earlier sends, so no warning
    code, doc = run.json("send", "--to", "010-1234-5678", "--text", "x", "--id", "deploy-43")
    assert code == 0 and all(w["code"] != "NEW_DATABASE" for w in doc["warnings"])
    # without --id nothing depends on the database's memory
    other = Run(run.db.with_name("other.sqlite"))
    code, doc = other.json("send", "--to", "010-1234-5678", "--text", "x")
    assert all(w["code"] != "NEW_DATABASE" for w in doc["warnings"])


def test_a_template_send_names_its_template_not_a_byte_count(run: Run) -> None:
    result = run("send", "--to", "010-1234-5678", "--template", "WELCOME_01", "--var", "name=김")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("✓ 010-1234-5678  ALIMTALK (template WELCOME_01)  accepted")
    text = run("send", "--to", "010-1234-5678", "--text", "안녕", "--id", "t")
    assert text.stdout.startswith("✓ 010-1234-5678  SMS (4 bytes)  accepted")


@pytest.mark.usefixtures("two_profiles")
def test_an_id_another_profile_used_is_refused_not_counted_as_sent(run: Run) -> None:
    """A CI step tried on the sandbox and then pointed at the real profile, with the same
    --id: refused (exit 2, nothing sent), where it used to say "already sent earlier"."""
    args = ("send", "--to", "010-1234-5678", "--text", "배포 완료", "--id", "deploy-1")
    assert run(*args).exit_code == 0
    refused = run("-p", "other", *args)
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.splitlines()[0] == (
        "error: ID_OF_OTHER_PROFILE: id 'deploy-1' was used under another profile (provider "
        "mock, which profile 'other' does not have): it would count as sent (field 'id')"
    )
    queued = run("-p", "other", *args, "--queue")
    assert queued.exit_code == 2 and "ID_OF_OTHER_PROFILE" in queued.stderr
    # its own profile: the usual "already sent", and a new id goes out
    assert "already sent earlier via mock" in run(*args).stdout
    code, doc = run.json("-p", "other", *args[:-1], "deploy-2")
    assert code == 0 and doc["data"]["summary"]["accepted"] == 1
