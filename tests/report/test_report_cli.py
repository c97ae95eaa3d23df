"""`kmsg report` end to end: send-many through the mock provider's deterministic outcomes and
through the fake SOLAPI with failing numbers, then the report as text, JSON, CSV and HTML."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli_track import FAILOVER_CONFIG  # two mock providers: kakao, sms
from tests.conftest import Run
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi, ManualClock

fake_solapi = fixtures.fake_solapi


# to, type, template, failover_text -> what the mock makes of it
ROWS = [
    ("010-2000-0001", "SMS", "", ""),  # delivered
    ("010-2000-0000", "SMS", "", ""),  # rejected: MOCK_REJECTED
    ("010-2000-0503", "SMS", "", ""),  # outage: MOCK_UNAVAILABLE (one attempt)
    ("010-2000-3043", "SMS", "", ""),  # accepted, FAILED 3043 at tracking
    ("010-2000-3104", "ALIMTALK", "T1", "#{name}님 문자 안내"),  # FAILED 3104 -> API fallback
    ("010-2000-0002", "ALIMTALK", "T1", ""),  # delivered
    ("010-12", "SMS", "", ""),  # invalid
]


def make_due(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE kmsg_delivery_tracking SET next_check_at = 0 WHERE status = 'SENT'")


@pytest.fixture
def mock_batch(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    config = tmp_path / "c.toml"
    config.write_text(FAILOVER_CONFIG, encoding="utf-8")
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    source = tmp_path / "in.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["to", "type", "template", "failover_text", "name"])
        for to, kind, template, failover in ROWS:
            writer.writerow([to, kind, template, failover, "홍"])
    sent = run(
        "send-many",
        str(source),
        "--text",
        "#{name} 안내",
        "--batch-id",
        "dec",
        "--max-attempts",
        "1",
    )
    assert sent.exit_code == 5, sent.stderr  # the invalid row and the refused ones
    return run


def test_the_run_once_hint_keeps_the_profile_given_with_p(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain `kmsg track run-once` would run the default profile, which leaves these rows
    config = tmp_path / "c.toml"
    config.write_text(FAILOVER_CONFIG + '[profiles.sandbox.providers.mock]\ntype = "mock"\n')
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    sent = run("-p", "sandbox", "send", "--to", "010-2000-0001", "--text", "x")
    assert sent.exit_code == 0, sent.stderr
    make_due(run.db)
    code, doc = run.json("-p", "sandbox", "report", "--since", "1d")
    assert code == 0 and doc["data"]["tracking"]["due"] == 1
    assert doc["data"]["tracking"]["hint"] == "run `kmsg -p sandbox track run-once`"
    text = run("-p", "sandbox", "report", "--since", "1d")
    assert "due now: 1 — run `kmsg -p sandbox track run-once`" in text.stdout


def test_the_report_follows_a_batch_from_rows_to_deliveries(mock_batch: Run) -> None:
    run = mock_batch
    code, doc = run.json("report")
    assert code == 0 and doc["ok"] is True
    data = doc["data"]
    assert data["selection"]["batch"] == "dec" and data["selection"]["last_batch"] is True
    funnel = data["funnel"]
    assert (funnel["rows"], funnel["valid"], funnel["invalid"]) == (7, 6, 1)
    assert (funnel["accepted"], funnel["rejected"], funnel["pending"]) == (4, 2, 4)
    assert data["tracking"] == {
        "still_tracked": 4,
        "due": 0,
        "next_check_at": data["tracking"]["next_check_at"],
        "hint": None,
    }
    assert data["tracking"]["next_check_at"].endswith("+09:00")  # the profile's zone
    make_due(run.db)
    code, doc = run.json("report")
    assert doc["data"]["tracking"]["due"] == 4
    assert doc["data"]["tracking"]["hint"] == "run `kmsg track run-once`"

    assert run("track", "run-once").exit_code == 0
    code, doc = run.json("report")
    data = doc["data"]
    funnel = data["funnel"]
    assert (funnel["accepted"], funnel["sent"], funnel["delivered"], funnel["failed"]) == (
        4,
        4,
        2,
        2,
    )
    assert funnel["pending"] == 0 and data["tracking"]["hint"] is None
    failures = {(f["stage"], f["provider_id"], f["code"]): f for f in data["failures"]}
    assert set(failures) == {
        ("send", "sms", "MOCK_REJECTED"),
        ("send", "sms", "MOCK_UNAVAILABLE"),
        ("delivery", "sms", "3043"),
        ("delivery", "kakao", "3104"),
    }
    assert failures[("delivery", "kakao", "3104")]["meaning_ko"] == "카카오톡 미사용자 (모의)"
    assert all(f["count"] == 1 for f in data["failures"])
    assert data["fallbacks"]["requested"] == 1 and data["fallbacks"]["api_sent"] == 1
    assert data["latency"]["count"] == 2 and data["latency"]["p50_ms"] is not None
    providers = {b["provider_id"]: b for b in data["by_provider"]}
    assert providers["kakao"]["accepted"] == 2 and providers["kakao"]["delivery_rate"] == 0.5
    assert providers["sms"]["not_accepted"] == 2
    kinds = {b["type"]: b["accepted"] for b in data["by_type"]}
    assert kinds == {"SMS": 2, "ALIMTALK": 2}

    text = run("report", "--batch", "dec")
    assert text.exit_code == 0, text.stderr
    for expected in ("rows read", "1 invalid", "not accepted: 2 rejected", "3104", "fallbacks"):
        assert expected in text.stdout


def test_in_a_pipe_each_table_row_is_one_line_for_grep(mock_batch: Run) -> None:
    run = mock_batch
    make_due(run.db)
    assert run("track", "run-once").exit_code == 0
    text = run("report", "--batch", "dec")  # CliRunner's stdout is no terminal
    assert text.exit_code == 0, text.stderr
    # a failure's meaning and example stay on its code's line, however long (no wrapping)
    (line,) = [line for line in text.stdout.splitlines() if "3104" in line]
    assert "kakao" in line and "카카오톡 미사용자" in line
    (line,) = [line for line in text.stdout.splitlines() if "MOCK_REJECTED" in line]
    assert line.split("│")[0].strip() == "send" and "0000" in line
    (line,) = [line for line in text.stdout.splitlines() if line.startswith(" kakao ")]
    assert line.split("│")[1].strip() == "2"  # accepted, in the by-provider table


def test_failure_examples_do_not_carry_the_recipients_number(
    mock_batch: Run, tmp_path: Path
) -> None:
    """A report is passed on (mailed, put on a page): the vendor's error text of a failure keeps
    its words but not the middle digits of a phone number in it (docs/report.md)."""
    run = mock_batch
    _, doc = run.json("report", "--batch", "dec")
    (rejected,) = [f for f in doc["data"]["failures"] if f["code"] == "MOCK_REJECTED"]
    assert "01020000000" not in rejected["example"] and "010****0000" in rejected["example"]
    page = tmp_path / "r.html"
    assert run("report", "--batch", "dec", "--html", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert "010****0000" in html
    for to, *_ in ROWS[:-1]:
        assert to.replace("-", "") not in html and to not in html


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("recipient 01077770000 rejected", "recipient 010****0000 rejected"),
        ("수신번호 010-1234-5678 오류", "수신번호 010-****-5678 오류"),
        ("to 02-123-4567 and 0311234567", "to 02-****-4567 and 031****4567"),
        ("code 3104, 20 messages, id 123456789012", "code 3104, 20 messages, id 123456789012"),
    ],
)
def test_mask_numbers_stars_the_middle_of_phone_numbers_only(text: str, masked: str) -> None:
    from kmsg_cli.report.figures import mask_numbers

    assert mask_numbers(text) == masked


def test_rows_skipped_as_repeats_are_not_counted_as_accepted(run: Run, tmp_path: Path) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("to\n010-2000-0001\n010-2000-0002\n", encoding="utf-8")
    # the operator adds a row and runs again: a new batch, the first two rows are repeats
    second.write_text("to\n010-2000-0001\n010-2000-0002\n010-2000-0003\n", encoding="utf-8")
    assert run("send-many", str(first), "--text", "점검 안내").exit_code == 0
    again = run("send-many", str(second), "--text", "점검 안내")
    assert again.exit_code == 0, again.stderr
    code, doc = run.json("report")  # the last batch: the second file's
    assert code == 0
    funnel = doc["data"]["funnel"]
    assert (funnel["rows"], funnel["valid"], funnel["skipped"]) == (3, 3, 2)
    assert (funnel["accepted"], funnel["untracked"], funnel["sent"]) == (1, 0, 1)
    assert doc["data"]["empty"] is False
    text = run("report", "--html", str(tmp_path / "r.html"))
    (line,) = [line for line in text.stdout.splitlines() if line.startswith(" valid ")]
    assert "2 skipped as repeats" in line
    assert 'data-stage="skipped">2<' in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_filters_and_the_failure_list_as_csv(mock_batch: Run) -> None:
    run = mock_batch
    make_due(run.db)
    assert run("track", "run-once").exit_code == 0
    result = run("report", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted((r["stage"], r["code"], r["count"]) for r in rows) == [
        ("delivery", "3043", "1"),
        ("delivery", "3104", "1"),
        ("send", "MOCK_REJECTED", "1"),
        ("send", "MOCK_UNAVAILABLE", "1"),
    ]
    _code, doc = run.json("report", "--provider", "kakao", "--type", "alimtalk")
    assert doc["data"]["funnel"]["accepted"] == 2 and doc["data"]["funnel"]["rows"] is None
    _code, doc = run.json("report", "--to", "010-2000-3043")
    assert [f["code"] for f in doc["data"]["failures"]] == ["3043"]
    _code, doc = run.json("report", "--since", "1h")  # a time range: every message of the hour
    assert doc["data"]["selection"]["batch"] is None
    # the fallback SMS is a message of the hour too
    assert doc["data"]["funnel"]["accepted"] == 5 and doc["data"]["funnel"]["rows"] is None


def test_empty_selections_say_so_and_exit_0(run: Run) -> None:
    result = run("report")
    assert result.exit_code == 0, result.stderr
    assert "no messages match" in result.stdout
    assert "no send-many batch yet" in result.stdout
    # the title says which messages were chosen: the last batch, of which there is none
    assert result.stdout.startswith("kmsg report: the last batch (there is none yet)\n")
    assert "all messages" not in result.stdout
    code, doc = run.json("report", "--since", "2h")
    assert code == 0 and doc["data"]["empty"] is True
    assert doc["data"]["funnel"]["accepted"] == 0 and doc["data"]["failures"] == []
    csv_out = run("report", "--batch", "nope", "--format", "csv")
    assert csv_out.exit_code == 0 and csv_out.stdout.splitlines() == [
        "stage,provider_id,code,kmsg_code,count,meaning,meaning_ko,example"
    ]


def test_bad_options_exit_2_with_one_line(run: Run) -> None:
    result = run("report", "--format", "xml")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: INVALID_FORMAT: unknown output format 'xml'")
    bad_time = run("report", "--since", "yesterday-ish")
    assert bad_time.exit_code == 2 and "field 'since'" in bad_time.stderr
    bad_phone = run("report", "--to", "12")
    assert bad_phone.exit_code == 2 and bad_phone.stderr.startswith("error: INVALID_PHONE")


def test_html_page_is_written_and_needs_the_report_extra(
    mock_batch: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = mock_batch
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    code, doc = run.json("report", "--html", str(page))
    assert code == 0 and doc["data"]["html"] == str(page)
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 2 and 'lang="ko"' in html
    assert 'data-figure="accepted">4<' in html
    unwritable = run("report", "--html", str(tmp_path / "missing" / "r.html"))
    assert unwritable.exit_code == 2
    assert unwritable.stderr.startswith("error: HTML_UNWRITABLE:")
    monkeypatch.setitem(sys.modules, "pygal", None)  # as if the extra were not installed
    missing = run("report", "--html", str(tmp_path / "x.html"))
    assert missing.exit_code == 2
    assert missing.stderr.splitlines() == [
        "error: MISSING_EXTRA: --html needs pygal, from the optional extra 'report'",
        "hint: pip install 'kmsg[report]'",
    ]
    assert not (tmp_path / "x.html").exists()


def test_fake_solapi_refusals_and_delivery_failures_by_code(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    fake = FakeSolapi(clock=clock, blocked={"01030001060"}, final_codes={"01030003023": "3023"})
    fake.start()
    try:
        config = tmp_path / "c.toml"
        config.write_text(
            f"""
default_profile = "live"
[profiles.live.providers.solapi]
type = "solapi"
api_key = "{DEFAULT_API_KEY}"
api_secret = "env:SOLAPI_API_SECRET"
sender = "0212345678"
base_url = "{fake.base_url}"
""",
            encoding="utf-8",
        )
        config.chmod(0o600)
        monkeypatch.setenv("KMSG_CONFIG", str(config))
        monkeypatch.setenv("SOLAPI_API_SECRET", DEFAULT_API_SECRET)
        source = tmp_path / "in.csv"
        source.write_text("to\n010-3000-1060\n010-3000-3023\n010-3000-4000\n", encoding="utf-8")
        sent = run("send-many", str(source), "--text", "점검 안내", "--batch-id", "live-1")
        assert sent.exit_code == 5, sent.stderr
        clock.advance(10)
        make_due(run.db)
        assert run("track", "run-once").exit_code == 0
    finally:
        fake.stop()
    _code, doc = run.json("report")
    data = doc["data"]
    assert (data["funnel"]["rows"], data["funnel"]["accepted"]) == (3, 2)
    assert (data["funnel"]["delivered"], data["funnel"]["failed"]) == (1, 1)
    failures = {(f["stage"], f["code"]): f for f in data["failures"]}
    assert set(failures) == {("send", "1060"), ("delivery", "3023")}
    assert failures[("send", "1060")]["meaning"] == "recipient blocked"
    assert failures[("send", "1060")]["kmsg_code"] == "BLOCKED_RECIPIENT"
    assert failures[("delivery", "3023")]["meaning"] == "carrier-side failure"
    assert json.dumps(doc).count(DEFAULT_API_SECRET) == 0
