"""`kmsg cancel` end to end (docs/cancel.md): the sandbox's queue and scheduled mock messages,
confirmation and exit codes, the queue and track views of what was cancelled, completion, and
the README recipe "stop a scheduled campaign" against the fake SOLAPI and the fake Aligo.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_cli_aligo import aligo, fake_aligo
from tests.cli.test_cli_solapi import fake_solapi, solapi
from tests.cli.test_completion import values
from tests.conftest import Run
from tests.fakes.aligo import FakeAligo
from tests.fakes.solapi import FakeSolapi

# the fake servers and the profiles pointing at them, as the vendors' CLI tests set them up
__all__ = ["aligo", "fake_aligo", "fake_solapi", "solapi"]


def queue(run: Run, *ids: str) -> None:
    for job_id in ids:
        result = run("send", "--to", "010-1111-2222", "--text", "x", "--queue", "--id", job_id)
        assert result.exit_code == 0, result.stderr


def statuses(run: Run) -> dict[str, str]:
    return {r["id"]: r["status"] for r in run.rows("SELECT id, status FROM kmsg_jobs")}


# -- the queue (sandbox) ---------------------------------------------------------------------------


@pytest.mark.usefixtures("two_profiles")
def test_a_cancel_by_time_leaves_another_profiles_messages_alone(run: Run) -> None:
    """Profiles share the database: `--at-or-after` under one profile takes its own messages
    and names what it left; a batch or an id is taken whole, as it was named on purpose."""
    later = ("--text", "x", "--at", "+2h")
    run("send", "--to", "010-1111-2222", *later, "--id", "sandbox-vendor")
    run("send", "--to", "010-1111-3333", *later, "--queue", "--id", "sandbox-queued")
    run("-p", "other", "send", "--to", "010-1111-4444", *later, "--id", "own")
    code, doc = run.json("-p", "other", "cancel", "--at-or-after", "+1h", "--dry-run")
    assert code == 0 and doc["data"]["selected"] == 1 and doc["data"]["would_cancel"] == 1
    assert doc["data"]["other_providers"] == {"mock": 2}
    text = run("-p", "other", "cancel", "--at-or-after", "+1h", "--dry-run")
    assert text.stdout.splitlines()[-1] == (
        "2 messages of providers that profile 'other' does not have (mock 2) left for their "
        "own profile: kmsg -p sandbox cancel --at-or-after +1h"
    )
    # named on purpose: taken whole
    code, doc = run.json("-p", "other", "cancel", "--id", "sandbox-queued", "--dry-run")
    assert doc["data"]["would_cancel"] == 1 and doc["data"]["other_providers"] == {}
    code, doc = run.json("cancel", "--at-or-after", "+1h", "--dry-run")
    assert doc["data"]["selected"] == 2 and doc["data"]["other_providers"] == {"stand-in": 1}


def test_queued_jobs_are_cancelled_and_never_sent(run: Run) -> None:
    queue(run, "a", "b", "c")
    refused = run("cancel", "--id", "a", "--id", "b")  # no terminal, no --yes
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        "error: CONFIRMATION_REQUIRED: kmsg cancel asks before cancelling 2 messages"
    )
    assert "--yes" in refused.stderr
    assert set(statuses(run).values()) == {"pending"}
    # nothing to ask about: an unknown batch is said as such, not as a question
    unknown = run("cancel", "--batch", "nope")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: NOT_FOUND: no job of")

    code, dry = run.json("cancel", "--id", "a", "--id", "b", "--dry-run")
    assert code == 0 and dry["data"]["would_cancel"] == 2 and dry["data"]["dry_run"] is True
    assert set(statuses(run).values()) == {"pending"}

    code, doc = run.json("cancel", "--id", "a", "--id", "b", "--yes")
    assert code == 0 and doc["ok"] is True, doc
    data = doc["data"]
    assert (data["cancelled"], data["in_queue"], data["not_cancelled"]) == (2, 2, 0)
    assert statuses(run) == {"a": "cancelled", "b": "cancelled", "c": "pending"}

    assert run("queue", "process", "--drain").exit_code == 0
    assert statuses(run) == {"a": "cancelled", "b": "cancelled", "c": "completed"}
    assert [r["message_id"] for r in run.rows()] == ["c"]  # only c went out


def test_the_summary_names_only_the_kinds_that_occur(run: Run) -> None:
    queue(run, "a", "b")
    first = run("cancel", "--id", "a", "--yes")
    assert first.exit_code == 0 and "cancelled 1 of 1 selected message" in first.stdout
    assert "already cancelled" not in first.stdout and "nothing to cancel" not in first.stdout
    again = run("cancel", "--id", "a", "--id", "b", "--yes")
    assert again.stdout.splitlines()[-1] == "1 already cancelled"  # no "0 with nothing to ..."


def test_queue_views_show_cancelled_jobs_and_retry_refuses_them(run: Run) -> None:
    queue(run, "a", "b")
    assert run("cancel", "--id", "a", "--yes").exit_code == 0
    code, listed = run.json("queue", "list", "--status", "cancelled")
    assert code == 0 and [j["id"] for j in listed["data"]["jobs"]] == ["a"]
    assert listed["data"]["jobs"][0]["completed_at"] is not None
    code, stats = run.json("queue", "stats")
    assert stats["data"]["counts"] == {"cancelled": 1, "pending": 1}
    rows = [line.split("\t") for line in run("queue", "stats").stdout.splitlines()]
    assert ["cancelled", "", "1", ""] in rows  # TSV in a pipe: its own row

    code, retried = run.json("queue", "retry", "--id", "a")
    assert code == 0 and retried["data"] == {
        "retried": 0,
        "refused": ["a"],
        "other_profiles": 0,
        "sent_by_other_profiles": {},
    }
    assert "cancelled" in retried["warnings"][0]["message"]
    assert statuses(run)["a"] == "cancelled"


def test_when_nothing_could_be_cancelled_it_is_not_called_partial(run: Run) -> None:
    for n in (1, 2):
        sent = run("send", "--to", f"010-1111-222{n}", "--text", "x", "--id", f"now{n}")
        assert sent.exit_code == 0
    code, doc = run.json("cancel", "--id", "now1", "--yes")
    assert code == 5 and doc["error"]["code"] == "NOT_CANCELLED"
    assert doc["error"]["message"] == "the selected message could not be cancelled"
    result = run("cancel", "--id", "now1", "--id", "now2", "--yes")
    assert result.exit_code == 5
    assert "error: NOT_CANCELLED: none of the 2 selected messages could be cancelled" in (
        result.stderr
    )


def test_what_cannot_be_cancelled_is_listed_and_exits_5(run: Run) -> None:
    queue(run, "later")
    assert run("send", "--to", "010-1111-2222", "--text", "x", "--id", "now").exit_code == 0
    result = run("cancel", "--id", "now", "--id", "later", "--yes")
    assert result.exit_code == 5
    assert "cancelled 1 of 2" in result.stdout
    assert "now" in result.stdout and "ALREADY_SENT" in result.stdout
    assert "PARTIAL_CANCEL" in result.stderr
    code, doc = run.json("cancel", "--id", "now", "--id", "later", "--yes")
    assert code == 5 and doc["ok"] is False and doc["error"]["code"] == "PARTIAL_CANCEL"
    reasons = {i["id"]: (i["outcome"], i["reason"]) for i in doc["data"]["items"]}
    assert reasons == {
        "now": ("not_cancelled", "ALREADY_SENT"),
        "later": ("already_cancelled", None),
    }


def test_bad_selections_exit_2_and_change_nothing(run: Run) -> None:
    queue(run, "a")
    nothing = run("cancel", "--yes")
    assert nothing.exit_code == 2 and "--batch, --id or --at-or-after" in nothing.stderr
    unknown = run("cancel", "--id", "a", "--id", "typo", "--yes")
    assert unknown.exit_code == 2 and "NOT_FOUND" in unknown.stderr and "typo" in unknown.stderr
    batch = run("cancel", "--batch", "nope", "--yes")
    assert batch.exit_code == 2 and "nope" in batch.stderr
    when = run("cancel", "--at-or-after", "someday", "--yes")
    assert when.exit_code == 2 and "at-or-after" in when.stderr
    assert statuses(run) == {"a": "pending"}


# -- scheduled at the vendor (the mock) -----------------------------------------------------------


def test_a_scheduled_message_becomes_cancelled_in_track_list(run: Run) -> None:
    for mid in ("v1", "v2"):
        sent = run("send", "--to", "010-1111-2222", "--text", "x", "--at", "+2h", "--id", mid)
        assert sent.exit_code == 0, sent.stderr
    code, doc = run.json("cancel", "--at-or-after", "+1h", "--yes")
    assert code == 0 and doc["data"]["at_vendor"] == 2, doc
    assert [u["outcome"] for u in doc["data"]["units"]] == ["cancelled", "cancelled"]
    code, listed = run.json("track", "list")
    assert listed["data"]["counts"] == {"CANCELLED": 2}
    listed_rows = run("track", "list", "--status", "CANCELLED").stdout.splitlines()
    header, *rows = (line.split("\t") for line in listed_rows)
    assert sorted(r[header.index("message_id")] for r in rows) == ["v1", "v2"]
    assert {r[header.index("status")] for r in rows} == {"CANCELLED"}
    not_yet = run("cancel", "--at-or-after", "+3h", "--yes")
    assert not_yet.exit_code == 0 and "0 of 0 selected" in not_yet.stdout


@pytest.mark.parametrize("when", ["+0m", "now", "+0h30m"])
def test_a_relative_filter_may_start_now(run: Run, when: str) -> None:
    # `--at-or-after` is a filter, not a schedule: "+0m" means from now on (it was PAST_TIME)
    sent = run("send", "--to", "010-1111-2222", "--text", "x", "--at", "+2h", "--id", "v1")
    assert sent.exit_code == 0, sent.stderr
    code, doc = run.json("cancel", "--at-or-after", when, "--dry-run")
    assert code == 0, doc
    assert doc["data"]["selected"] == 1, doc


def test_completion_offers_what_can_still_be_cancelled(run: Run) -> None:
    queue(run, "q-1")
    assert (
        run("send", "--to", "010-1111-2222", "--text", "x", "--at", "+2h", "--id", "v-1").exit_code
        == 0
    )
    assert run("send", "--to", "010-1111-2222", "--text", "x", "--id", "gone").exit_code == 0
    assert sorted(values(f"kmsg --db {run.db} cancel --id ")) == ["q-1", "v-1"]
    assert values(f"kmsg --db {run.db} cancel --id v") == ["v-1"]


def test_completion_offers_batches_with_pending_jobs(run: Run, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("to,text\n01011112222,a\n01011113333,b\n", encoding="utf-8")
    queued = run("send-many", str(rows), "--batch-id", "camp-1", "--queue")
    assert queued.exit_code == 0, queued.stderr
    assert values(f"kmsg --db {run.db} cancel --batch ") == ["camp-1"]


# -- the confirmation on a terminal ----------------------------------------------------------------


def _in_terminal(db: Path, answer: bytes, *args: str) -> tuple[int, str]:
    """Run kmsg in a pseudo-terminal, answer its question, return (exit code, what it showed)."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "kmsg_cli", "--db", str(db), *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(secondary)
    shown = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            shown += chunk
        if not answered and b"[y/N]" in shown:
            os.write(primary, answer)
            answered = True
        if process.poll() is not None and not ready:
            break
    os.close(primary)
    return process.wait(timeout=30), shown.decode(errors="replace")


@pytest.mark.parametrize(
    ("answer", "status"), [(b"n\n", "pending"), (b"\n", "pending"), (b"y\n", "cancelled")]
)
def test_a_terminal_is_asked_first(run: Run, answer: bytes, status: str) -> None:
    queue(run, "a", "b")
    exit_code, shown = _in_terminal(run.db, answer, "cancel", "--id", "a", "--id", "b")
    assert "would cancel 2 of 2" in shown and "Cancel 2 messages?" in shown
    assert exit_code == 0, shown
    assert set(statuses(run).values()) == {status}
    assert ("nothing was cancelled" in shown) == (status == "pending")


# -- the README recipe: stop a scheduled campaign -------------------------------------------------


def test_stop_a_scheduled_campaign_at_solapi(run: Run, solapi: FakeSolapi, tmp_path: Path) -> None:
    campaign = tmp_path / "campaign.csv"
    campaign.write_text(
        "to,text,at\n010-1111-2222,내일 9시 행사,+20h\n010-3333-4444,내일 9시 행사,+20h\n",
        encoding="utf-8",
    )
    sent = run("send-many", str(campaign), "--batch-id", "promo-1224")
    assert sent.exit_code == 0, sent.stderr
    (group,) = {m["groupId"] for m in solapi.accepted_messages()}

    code, plan = run.json("cancel", "--batch", "promo-1224", "--dry-run")
    assert code == 0 and plan["data"]["would_cancel"] == 2
    assert not [r for r in solapi.requests if r["method"] == "DELETE"]

    code, doc = run.json("cancel", "--batch", "promo-1224", "--yes")
    assert code == 0, doc
    assert [(u["unit"], u["outcome"], u["messages"]) for u in doc["data"]["units"]] == [
        (group, "cancelled", 2)
    ]
    assert solapi.group(group)["status"] == "PENDING"  # type: ignore[index]
    rows = {r["message_id"]: r["status"] for r in run.rows()}
    assert rows == {"promo-1224:1": "CANCELLED", "promo-1224:2": "CANCELLED"}
    code, listed = run.json("track", "list", "--status", "CANCELLED")
    assert listed["data"]["counts"] == {"CANCELLED": 2}


def test_a_group_shared_with_unselected_messages_is_left_whole(
    run: Run, solapi: FakeSolapi
) -> None:
    sent = run("send", "--to", "010-1111-2222,010-3333-4444", "--text", "x", "--at", "+3h")
    assert sent.exit_code == 0, sent.stderr
    first, second = sorted(r["message_id"] for r in run.rows())
    result = run("cancel", "--id", first, "--yes")
    assert result.exit_code == 5 and "PARTIAL_GROUP" in result.stdout
    code, doc = run.json("cancel", "--id", first, "--yes")
    assert code == 5
    (item,) = doc["data"]["items"]
    assert (item["id"], item["reason"]) == (first, "PARTIAL_GROUP")
    assert second in item["message"] and "nothing of it was cancelled" in item["message"]
    assert {m["status"] for m in solapi.accepted_messages()} == {"PENDING"}
    both = run("cancel", "--id", first, "--id", second, "--yes")
    assert both.exit_code == 0, both.stdout
    assert {m["status"] for m in solapi.accepted_messages()} == {"CANCELED"}


def test_stop_a_reserved_aligo_sms(run: Run, aligo: FakeAligo) -> None:
    sent = run("send", "--to", "010-1111-2222", "--text", "x", "--at", "+1h", "--id", "r1")
    assert sent.exit_code == 0, sent.stderr
    code, doc = run.json("cancel", "--id", "r1", "--yes")
    assert code == 0 and doc["data"]["at_vendor"] == 1, doc
    (stored,) = aligo.accepted_messages()
    assert stored["cancelled_at"] is not None
    assert run.rows()[0]["status"] == "CANCELLED"
