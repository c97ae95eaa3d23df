"""Listings for people and pipes: table on a terminal, one row per line in a pipe, --format,
--fields, --no-header, and times in the profile's zone everywhere (docs/cli.md)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cli import terminal
from tests.conftest import Run

# 2026-12-07 00:00:00 UTC = 09:00:00 KST
REQUESTED_MS = 1_796_601_600_000
ISO_KST = "2026-12-07T09:00:00+09:00"
HUMAN_KST = "2026-12-07 09:00:00 KST"
LONG_ERROR = "the provider refused this recipient because " + "of a rather long reason " * 8


def _seed(run: Run) -> None:
    """Two messages sent at once and two through the queue, requested at a fixed time; the
    mock refuses one of the queued ones at send time (numbers ending in 0000)."""
    to = "010-1234-5678,010-2222-3333"
    assert run("send", "--to", to, "--text", "x", "--id", "m").exit_code == 0
    queued = "010-1111-0000,010-1111-2222"
    assert run("send", "--to", queued, "--text", "x", "--queue", "--id", "r").exit_code == 0
    assert run("queue", "process", "--drain").exit_code == 5
    with sqlite3.connect(run.db) as conn:
        conn.execute("UPDATE kmsg_delivery_tracking SET requested_at = ?", (REQUESTED_MS,))
        conn.execute(
            "UPDATE kmsg_jobs SET error = ? WHERE id = 'r:01011110000'",
            (json.dumps({"code": "MOCK_REJECTED", "message": LONG_ERROR}),),
        )
        conn.execute("UPDATE kmsg_jobs SET created_at = ?", (REQUESTED_MS,))


# -- pipes and terminals --------------------------------------------------------------------------


def test_in_a_pipe_a_listing_is_tsv_one_row_per_line(run: Run, tmp_path: Path) -> None:
    _seed(run)
    env = terminal.environment(tmp_path / "home", COLUMNS="40")
    result = terminal.in_pipe(["--db", str(run.db), "queue", "list"], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == [
        "created_at",
        "id",
        "status",
        "type",
        "to",
        "provider_id",
        "attempts",
        "error",
    ]
    # header + four jobs (two queued, and the ledger rows of the two sent at once), however
    # narrow COLUMNS is
    assert len(lines) == 5
    failed = next(line.split("\t") for line in lines if "\tr:01011110000\t" in line)
    assert failed[0] == ISO_KST
    assert failed[1:4] == ["r:01011110000", "failed", "SMS"]
    assert failed[6] == "1"  # plain integers
    assert failed[7] == f"MOCK_REJECTED: {LONG_ERROR}"
    # the summary is for people: stderr
    assert result.stderr == "4 jobs match (3 completed, 1 failed); showing 4\n"


def test_on_a_terminal_a_listing_is_a_table_with_local_times(run: Run, tmp_path: Path) -> None:
    _seed(run)
    env = terminal.environment(tmp_path / "home", COLUMNS="200")
    code, output = terminal.on_terminal(["--db", str(run.db), "track", "list"], env)
    assert code == 0, output
    header = next(line for line in output.splitlines() if "message_id" in line)
    assert "\t" not in header and "┃" in header
    assert output.count(HUMAN_KST) == 3
    assert "3 rows match (3 SENT); showing 3" in output
    # numbers as people write them in the table; the digits stay for TSV, CSV and JSON
    assert "│ 010-1234-5678 │" in output and "│ 01012345678 │" not in output
    piped = run("track", "list", "--fields", "to")
    assert "01012345678\n" in piped.stdout and "010-1234-5678" not in piped.stdout


def test_table_format_in_a_pipe_never_wraps(run: Run, tmp_path: Path) -> None:
    _seed(run)
    env = terminal.environment(tmp_path / "home", COLUMNS="40")
    result = terminal.in_pipe(
        ["--db", str(run.db), "queue", "list", "--format", "table", "--status", "failed"], env
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "r:01011110000" in line]
    assert len(lines) == 1 and lines[0].rstrip().endswith(LONG_ERROR.rstrip())
    assert HUMAN_KST in lines[0]


# -- formats, fields, header ----------------------------------------------------------------------


def test_csv_with_chosen_fields_in_their_order(run: Run) -> None:
    _seed(run)
    result = run(
        "track", "list", "--format", "csv", "--fields", "to,message_id,requested_at,checks"
    )
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["to", "message_id", "requested_at", "checks"]
    assert sorted(rows[1:]) == [
        ["01011112222", "r:01011112222", ISO_KST, "0"],
        ["01012345678", "m:01012345678", ISO_KST, "0"],
        ["01022223333", "m:01022223333", ISO_KST, "0"],
    ]


def test_csv_written_into_a_new_file_starts_with_the_mark_excel_needs(
    run: Run, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    _seed(run)
    command = [sys.executable, "-m", "kmsg_cli", "--db", str(run.db), "track", "list"]
    command += ["--format", "csv", "--fields", "message_id,to"]
    env = {**os.environ, "HOME": str(tmp_path), "NO_COLOR": "1"}
    target = tmp_path / "out.csv"
    with target.open("wb") as out:  # `> out.csv`
        assert subprocess.run(command, stdout=out, env=env, check=False).returncode == 0
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfmessage_id,to\n")  # Excel reads it as UTF-8
    with target.open("ab") as out:  # `>> out.csv`: no mark in the middle of the file
        assert subprocess.run(command, stdout=out, env=env, check=False).returncode == 0
    assert target.read_bytes().count(b"\xef\xbb\xbf") == 1
    piped = subprocess.run(command, capture_output=True, env=env, check=False)  # `| grep`
    assert piped.stdout.startswith(b"message_id,to\n")
    report = [sys.executable, "-m", "kmsg_cli", "--db", str(run.db), "report", "--format", "csv"]
    with (tmp_path / "failures.csv").open("wb") as out:
        assert subprocess.run(report, stdout=out, env=env, check=False).returncode == 0
    assert (tmp_path / "failures.csv").read_bytes().startswith(b"\xef\xbb\xbfstage,")


def test_no_header_leaves_only_rows(run: Run) -> None:
    _seed(run)
    result = run("track", "list", "--format", "tsv", "--no-header", "--fields", "message_id")
    assert sorted(result.stdout.splitlines()) == ["m:01012345678", "m:01022223333", "r:01011112222"]


def test_an_unknown_field_is_named_with_the_valid_ones(run: Run) -> None:
    _seed(run)
    result = run("queue", "list", "--fields", "id,recipient")
    assert result.exit_code == 2
    error, hint = result.stderr.splitlines()
    assert error == "error: INVALID_FIELD: unknown field 'recipient' (field 'fields')"
    assert hint.startswith("hint: fields: id,status,type,to,provider_id,")
    assert "error_code" in hint


def test_an_unknown_format_is_refused(run: Run) -> None:
    result = run("providers", "list", "--format", "xml")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: INVALID_FORMAT: unknown output format 'xml'")
    assert "table, tsv, csv, json" in result.stderr


def test_format_json_is_the_json_envelope_with_chosen_fields(run: Run) -> None:
    _seed(run)
    result = run("queue", "list", "--format", "json", "--fields", "id,created_at,error")
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    failed = next(job for job in doc["data"]["jobs"] if job["id"] == "r:01011110000")
    assert failed == {
        "id": "r:01011110000",
        "created_at": ISO_KST,
        "error": {"code": "MOCK_REJECTED", "message": LONG_ERROR},
    }
    error = run("queue", "list", "--format", "json", "--fields", "nope")
    assert json.loads(error.stdout)["error"]["code"] == "INVALID_FIELD"


@pytest.mark.parametrize(
    ("args", "first_field"),
    [
        (("providers", "list"), "id"),
        (("queue", "stats"), "status"),
        (("db", "check"), "result"),
        (("track", "list"), "requested_at"),
        (("queue", "list"), "created_at"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value,
)
def test_every_listing_takes_the_output_options(
    run: Run, args: tuple[str, ...], first_field: str
) -> None:
    _seed(run)
    tsv = run(*args, "--format", "tsv")
    assert tsv.exit_code == 0, tsv.stderr
    assert tsv.stdout.splitlines()[0].split("\t")[0] == first_field
    bare = run(*args, "--format", "tsv", "--no-header", "--fields", first_field)
    assert bare.stdout.splitlines() == [line.split("\t")[0] for line in tsv.stdout.splitlines()[1:]]


def test_queue_stats_rows_by_status_and_error_code(run: Run) -> None:
    _seed(run)
    result = run("queue", "stats", "--format", "tsv")
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows == [
        ["status", "error_code", "jobs", "oldest_due"],
        ["pending", "", "0", ""],
        ["processing", "", "0", ""],
        ["completed", "", "3", ""],
        ["failed", "MOCK_REJECTED", "1", ""],
        ["cancelled", "", "0", ""],
    ]


# -- failures that have no tracking row -----------------------------------------------------------


def test_track_list_failed_points_to_messages_refused_at_send_time(run: Run) -> None:
    _seed(run)
    result = run("track", "list", "--status", "FAILED")
    assert result.exit_code == 0
    assert "warning: FAILED_JOBS: 1 message failed before a provider accepted it and has no " in (
        result.stderr
    )
    assert "kmsg queue list --status failed" in result.stderr
    _, doc = run.json("track", "list", "--status", "FAILED")
    assert [w["code"] for w in doc["warnings"]] == ["FAILED_JOBS"]
    assert "FAILED_JOBS" not in run("track", "list", "--status", "SENT").stderr


# -- times ----------------------------------------------------------------------------------------


def _iso_with_offset(value: str) -> bool:
    return re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", value) is not None


def _times(data: Any) -> list[str]:
    """Every value of a key ending in `_at` or `_due` (or named `cutoff`) in a document."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and key.endswith(("_at", "_due", "cutoff")):
                found.append(value)
            else:
                found.extend(_times(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(_times(item))
    return found


def test_every_json_time_is_iso_with_an_offset(run: Run) -> None:
    _seed(run)
    assert (
        run("send", "--to", "010-3333-4444", "--text", "x", "--at", "+2h", "--queue").exit_code == 0
    )
    commands = [
        ("track", "list"),
        ("track", "show", "m:01012345678"),
        ("queue", "list"),
        ("queue", "stats"),
        ("send", "--to", "010-5555-6666", "--text", "x", "--at", "+1h", "--dry-run"),
        ("send", "--to", "010-5555-6666", "--text", "x", "--at", "+1h", "--queue"),
        ("db", "purge", "--older-than", "1d", "--dry-run"),
    ]
    seen = 0
    for args in commands:
        _, doc = run.json(*args)
        times = _times(doc["data"])
        assert all(_iso_with_offset(t) and t.endswith("+09:00") for t in times), (args, times)
        seen += len(times)
    assert seen >= 10


def test_times_follow_the_profile_time_zone(run: Run, tmp_path: Path) -> None:
    _seed(run)
    config = tmp_path / "kmsg.toml"
    config.write_text(
        'default_profile = "ops"\n[profiles.ops]\ntimezone = "UTC"\n'
        '[profiles.ops.providers.mock]\ntype = "mock"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    shown = run("--config", str(config), "track", "show", "m:01012345678")
    assert "requested_at            2026-12-07 00:00:00 UTC" in shown.stdout
    _, doc = run.json("--config", str(config), "track", "show", "m:01012345678")
    assert doc["data"]["requested_at"] == "2026-12-07T00:00:00+00:00"


def test_track_show_for_people_names_the_zone(run: Run) -> None:
    _seed(run)
    result = run("track", "show", "m:01012345678")
    assert f"requested_at            {HUMAN_KST}" in result.stdout
    assert "to                      010-1234-5678\n" in result.stdout  # as `track list` shows it
    _, doc = run.json("track", "show", "m:01012345678")
    assert doc["data"]["to"] == "01012345678"
    assert re.search(r"next_check_at\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST", result.stdout)


def test_a_scheduled_dry_run_and_queue_show_the_time_in_kst(run: Run) -> None:
    at = "2099-01-02 03:04"
    dry = run("send", "--to", "010-1234-5678", "--text", "x", "--at", at, "--dry-run")
    assert dry.exit_code == 0 and "2099-01-02 03:04:00 KST" in dry.stdout
    queued = run("send", "--to", "010-1234-5678", "--text", "x", "--at", at, "--queue")
    assert queued.exit_code == 0
    assert "(now, scheduled for 2099-01-02 03:04:00 KST)" in queued.stdout


# -- --since / --until ----------------------------------------------------------------------------


def test_since_takes_a_bare_date_as_midnight_in_the_profile_zone(run: Run) -> None:
    _seed(run)
    # requested at 09:00 KST on 2026-12-07: on that day, not on the next
    on_the_day = run.json("track", "list", "--since", "2026-12-07", "--until", "2026-12-08")[1]
    assert len(on_the_day["data"]["rows"]) == 3
    next_day = run.json("track", "list", "--since", "2026-12-08")[1]
    assert next_day["data"]["rows"] == []
    # 08:59 KST is before the messages, 09:01 KST after them
    assert len(run.json("track", "list", "--since", "2026-12-07 08:59")[1]["data"]["rows"]) == 3
    assert (
        run.json("track", "list", "--since", "2026-12-07T09:01:00+09:00")[1]["data"]["rows"] == []
    )
    assert len(run.json("track", "list", "--until", "2026-12-07 09:01")[1]["data"]["rows"]) == 3


def test_since_takes_a_duration_back_from_now(run: Run) -> None:
    assert run("send", "--to", "010-1234-5678", "--text", "x").exit_code == 0
    assert len(run.json("track", "list", "--since", "1h")[1]["data"]["rows"]) == 1
    assert run.json("track", "list", "--until", "1h")[1]["data"]["rows"] == []


def test_since_and_until_take_named_days(run: Run) -> None:
    # robust across midnight: a message sent just now is after yesterday's midnight and
    # before tomorrow's, whichever day it is when `track list` runs
    assert run("send", "--to", "010-1234-5678", "--text", "x").exit_code == 0
    assert len(run.json("track", "list", "--since", "yesterday")[1]["data"]["rows"]) == 1
    assert len(run.json("track", "list", "--since", "어제 00:00")[1]["data"]["rows"]) == 1
    assert run.json("track", "list", "--until", "yesterday")[1]["data"]["rows"] == []
    assert run.json("track", "list", "--since", "tomorrow")[1]["data"]["rows"] == []
    assert run.json("report", "--since", "yesterday")[1]["data"]["funnel"]["accepted"] == 1
    assert run.json("report", "--since", "tomorrow")[1]["data"]["funnel"]["accepted"] == 0


def test_since_without_a_unit_is_refused_with_a_hint(run: Run) -> None:
    result = run("track", "list", "--since", "24")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: INVALID_TIME: '24' has no unit (field 'since')")
    assert "hint: did you mean 24d?" in result.stderr


# -- the `format` setting -------------------------------------------------------------------------


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "kmsg.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def test_the_format_setting_is_the_default_and_a_flag_wins(run: Run, tmp_path: Path) -> None:
    from kmsg_cli.cli.tables import FORMATS
    from kmsg_cli.config.keys import OUTPUT_FORMATS

    assert FORMATS == OUTPUT_FORMATS
    _seed(run)
    top = _config(tmp_path, 'format = "csv"\n')
    rows = list(csv.reader(io.StringIO(run("--config", top, "providers", "list").stdout)))
    assert rows[0] == ["id", "type", "types", "scheduling", "status_lookup", "notes"]
    assert (
        rows[1][:2] == ["mock", "mock"] and rows[1][5] == "default, simulated: nothing is delivered"
    )
    profile = _config(
        tmp_path,
        'format = "csv"\ndefault_profile = "ops"\n[profiles.ops]\nformat = "json"\n'
        '[profiles.ops.providers.mock]\ntype = "mock"\n',
    )
    listed = run("--config", profile, "queue", "list")
    assert json.loads(listed.stdout)["data"]["jobs"]
    flagged = run("--config", profile, "queue", "list", "--format", "tsv", "--no-header")
    assert len(flagged.stdout.splitlines()) == 4 and "\t" in flagged.stdout


def test_the_format_setting_takes_any_case_as_the_flag_does(run: Run, tmp_path: Path) -> None:
    _seed(run)
    for text in ('format = "CSV"\n', '[profiles.sandbox]\nformat = "Csv"\n'):
        listed = run("--config", _config(tmp_path, text), "providers", "list")
        assert listed.exit_code == 0, listed.stderr
        assert next(csv.reader(io.StringIO(listed.stdout)))[:2] == ["id", "type"]


def test_a_bad_format_setting_names_its_key(run: Run, tmp_path: Path) -> None:
    path = _config(tmp_path, 'format = "xlsx"\n')
    result = run("--config", path, "queue", "list")
    assert result.exit_code == 2
    assert "format" in result.stderr and "'xlsx'" in result.stderr
    assert "table, tsv, csv, json" in result.stderr


def test_a_dry_run_table_does_not_wrap_in_a_pipe(tmp_path: Path) -> None:
    text = "a text long enough to wrap twice on a forty-column screen, and then some more"
    env = terminal.environment(tmp_path / "home", COLUMNS="40")
    args = ["send", "--to", "010-1234-5678", "--text", text, "--dry-run"]
    result = terminal.in_pipe(args, env)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "010-1234-5678" in line]
    assert text in line


def test_counts_are_singular_for_one_and_plural_otherwise() -> None:
    from kmsg_cli.cli.output import counted, them, were

    assert [counted(n, "job") for n in (0, 1, 2, 1000)] == [
        "0 jobs",
        "1 job",
        "2 jobs",
        "1,000 jobs",
    ]
    assert (were(1), were(0), were(3)) == ("was", "were", "were")
    assert (them(1), them(2)) == ("it", "them")
    assert (counted(1, "pass", "passes"), counted(2, "pass", "passes")) == ("1 pass", "2 passes")


def test_one_of_a_kind_is_counted_in_the_singular(run: Run) -> None:
    assert run("send", "--to", "010-1234-5678", "--text", "hello").exit_code == 0
    listed = run("track", "list")
    assert listed.stderr.startswith("1 row matches (1 SENT); showing 1"), listed.stderr
    ready = run("db", "init")
    assert "(schema version 1, 1 tracking row, 1 job)" in ready.stdout, ready.stdout
    assert run("queue", "list").stderr == "1 job matches (1 completed); showing 1\n"


def test_a_listing_that_matches_nothing_says_so(run: Run) -> None:
    assert run("send", "--to", "010-1234-5678", "--text", "hello").exit_code == 0
    assert run("queue", "list", "--status", "failed").stderr == "no jobs match\n"
    listed = run("track", "list", "--status", "DELIVERED", "--json")
    assert listed.exit_code == 0 and '"counts": {}' in listed.stdout
    assert run("track", "list", "--status", "DELIVERED").stderr.startswith("no rows match\n")


@pytest.mark.parametrize(("total", "done"), [(5_000, 4_999), (100_000, 99_999), (None, 1_234)])
def test_progress_counts_are_grouped_and_not_cut_at_80_columns(
    total: int | None, done: int
) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    from kmsg_cli.cli.output import count_column

    screen = io.StringIO()
    console = Console(file=screen, width=80, force_terminal=False, color_system=None)
    columns = (TextColumn("sending"), BarColumn(), count_column(total))
    with Progress(
        *columns, TextColumn("1,234 accepted 5 failed 9,999 msg/s"), console=console
    ) as progress:
        task = progress.add_task("send", total=total)
        progress.update(task, completed=done)
    shown = f"{done:,}/{total:,}" if total is not None else f"{done:,}/?"
    assert shown in screen.getvalue()


@pytest.mark.parametrize("width", [80, 120])
def test_the_sending_progress_line_fits_its_terminal_with_its_times_whole(width: int) -> None:
    from rich.console import Console
    from rich.progress import Progress

    from kmsg_cli.cli.bulk_view import sending_columns

    screen = io.StringIO()
    console = Console(file=screen, width=width, force_terminal=False, color_system=None)
    with Progress(*sending_columns(1_000_000, width), console=console) as progress:
        task = progress.add_task("send", total=1_000_000, accepted=0, failed=0, rate="0")
        progress.update(task, completed=999_999, accepted=999_990, failed=9, rate="12,345")
    line = screen.getvalue().strip().splitlines()[-1]
    assert "999,999/1,000,000" in line and "999,990 accepted 9 failed" in line
    assert "12,345 msg/s" in line and "…" not in line, line
    assert line.endswith("-:--:--"), line  # the time left (unknown this fast), whole
    assert ("0:00:00" in line) is (width >= 100), line  # the time spent, where there is room
