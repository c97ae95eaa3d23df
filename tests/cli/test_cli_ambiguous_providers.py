"""Two profiles on one database with a provider of the same id, set differently (staging and
production both calling their SOLAPI account `solapi`): jobs and tracking rows name a provider
by id alone, so the commands that take other runs' jobs or messages refuse (AMBIGUOUS_PROVIDER)
rather than send production's queue with staging's account (docs/storage.md, "Claims")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run
from tests.fakes import fixtures
from tests.fakes.solapi import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeSolapi

fake_solapi = fixtures.fake_solapi


# `prod` and `staging` both call their SOLAPI account `m`; other senders make them two accounts
# (both on the fake server: staging's worker, were it to run, would send prod's jobs there).
def table(fake: FakeSolapi, profile: str, sender: str) -> str:
    return fixtures.solapi_table(fake, profile, "m", sender)


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)  # it holds the fake's keys in plain text
    monkeypatch.setenv("KMSG_CONFIG", str(config))
    return config


@pytest.fixture
def same_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_solapi: FakeSolapi) -> Path:
    text = table(fake_solapi, "prod", "0212345678") + table(fake_solapi, "staging", "0299998888")
    fake_solapi.senders.add("0299998888")  # an active number of staging's account
    return write_config(tmp_path, monkeypatch, text)


def job_statuses(run: Run) -> dict[str, str]:
    return {r["id"]: r["status"] for r in run.rows("SELECT id, status FROM kmsg_jobs")}


@pytest.mark.usefixtures("same_id")
@pytest.mark.parametrize(
    "command",
    [
        ("queue", "process", "--drain"),
        ("track", "run-once"),
        ("cancel", "--at-or-after", "now", "--dry-run"),
        ("track", "show", "prod-sent", "--refresh"),
    ],
)
def test_commands_that_take_other_runs_work_refuse(run: Run, command: tuple[str, ...]) -> None:
    queued = run("-p", "prod", "send", "--to", "010-1111-2222", "--text", "x", "--queue")
    assert queued.exit_code == 0, queued.stderr
    sent = run("-p", "prod", "send", "--to", "010-1111-3333", "--text", "y", "--id", "prod-sent")
    assert sent.exit_code == 0, sent.stderr
    before = (job_statuses(run), run.rows())
    code, doc = run.json("-p", "staging", *command)
    assert code == 2, doc
    error = doc["error"]
    assert error["code"] == "AMBIGUOUS_PROVIDER" and error["value"] == "m"
    assert error["message"].startswith(
        "profiles 'staging' and 'prod' both have a provider 'm', set differently, and use the "
        "same database"
    )
    assert "[profiles.prod.providers.m]" in error["hint"]
    # production's queued job is neither sent nor failed; its tracking row is not touched
    assert (job_statuses(run), run.rows()) == before
    assert "pending" in before[0].values()


@pytest.mark.usefixtures("same_id")
def test_send_many_refuses_a_batch_id_run_before(run: Run, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("to,text\n010-1111-2222,a\n", encoding="utf-8")
    many = ("send-many", str(rows), "--batch-id", "camp-1", "--queue")
    assert run("-p", "prod", *many).exit_code == 0
    code, doc = run.json("-p", "staging", *many[:-1], "--yes")
    assert code == 2 and doc["error"]["code"] == "AMBIGUOUS_PROVIDER", doc
    assert set(job_statuses(run).values()) == {"pending"}
    # a batch id of its own is this profile's alone
    code, doc = run.json("-p", "staging", *many[:2], "--batch-id", "camp-2", "--dry-run")
    assert code == 0, doc


@pytest.mark.usefixtures("same_id")
def test_a_queue_is_cleared_by_naming_its_jobs(run: Run) -> None:
    # the way out before renaming: cancel what waits by id or batch (no vendor is involved)
    queued = run("-p", "prod", "send", "--to", "010-1111-2222", "--text", "x", "--queue")
    assert queued.exit_code == 0, queued.stderr
    (job_id,) = job_statuses(run)
    code, doc = run.json("-p", "staging", "cancel", "--id", job_id, "--yes")
    assert code == 0, doc
    assert job_statuses(run) == {job_id: "cancelled"}
    assert run("-p", "staging", "queue", "list").exit_code == 0


@pytest.mark.usefixtures("same_id")
def test_sending_is_not_refused_and_the_worker_of_the_profile_alone_is(run: Run) -> None:
    # a direct send writes and sends its own rows: nothing of another profile is taken
    sent = run(
        "-p", "staging", "send", "--to", "010-1111-2222", "--text", "x", "--from", "02-1234-5678"
    )
    assert sent.exit_code == 0, sent.stderr
    assert run("-p", "prod", "queue", "process", "--drain").exit_code == 2


@pytest.mark.parametrize(
    "other_db, other_settings, refused",
    [
        # the same account and sender, other timeouts and batches: one provider to a worker
        ("kmsg.sqlite", 'sender = "0212345678"\nread_timeout = 9.0\nbatch_size = 10', False),
        # another sender, but a database of its own: nothing shared
        ("other.sqlite", 'sender = "0299998888"', False),
        # another sender on the same database
        ("kmsg.sqlite", 'sender = "0299998888"', True),
        # the same database spelt another way
        ("./sub/../kmsg.sqlite", 'sender = "0299998888"', True),
    ],
    ids=["tuning-only", "own-database", "same-database", "same-database-other-spelling"],
)
def test_what_counts_as_ambiguous(
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_solapi: FakeSolapi,
    other_db: str,
    other_settings: str,
    refused: bool,
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    other = table(fake_solapi, "other", "X").replace('sender = "X"', other_settings)
    text = (
        f'[profiles.prod]\ndb = "{tmp_path / "kmsg.sqlite"}"\n'
        f'[profiles.other]\ndb = "{other_db}"\n' + table(fake_solapi, "prod", "0212345678") + other
    )
    write_config(tmp_path, monkeypatch, text)
    result = run("-p", "other", "queue", "process", "--drain", db=False)
    assert (result.exit_code == 2) is refused, result.stderr
    assert ("AMBIGUOUS_PROVIDER" in result.stderr) is refused
    code, doc = run.json("config", "validate")
    codes = [p["code"] for p in doc["data"]["problems"]]
    assert ("AMBIGUOUS_PROVIDER" in codes) is refused, doc
    assert (code == 2) is refused, doc


def test_mocks_under_one_id_are_not_ambiguous(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a simulated provider delivers nothing, whoever's worker runs it
    text = '[profiles.a.providers.m]\ntype = "mock"\nsender = "0212345678"\n'
    text += '[profiles.b.providers.m]\ntype = "mock"\nsender = "0299998888"\n'
    write_config(tmp_path, monkeypatch, text)
    assert run("-p", "a", "queue", "process", "--drain").exit_code == 0
    code, doc = run.json("config", "validate")
    assert code == 0, doc


def test_a_mock_and_a_real_provider_under_one_id_are_ambiguous_from_both_sides(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_solapi: FakeSolapi
) -> None:
    # the built-in sandbox's `mock` beside a profile whose `mock` is a SOLAPI account: the
    # sandbox's worker would "send" that profile's jobs into the mock
    write_config(tmp_path, monkeypatch, fixtures.solapi_table(fake_solapi, "demo", "mock"))
    for profile in ("sandbox", "demo"):
        result = run("-p", profile, "queue", "process", "--drain")
        assert result.exit_code == 2 and "AMBIGUOUS_PROVIDER" in result.stderr, profile


def test_validate_names_each_pair_once(run: Run, same_id: Path) -> None:
    code, doc = run.json("config", "validate")
    assert code == 2, doc
    problems = [p for p in doc["data"]["problems"] if p["code"] == "AMBIGUOUS_PROVIDER"]
    assert [p["key"] for p in problems] == ["profiles.prod.providers.m"]
    assert problems[0]["level"] == "error"


def test_add_provider_refuses_to_make_an_id_ambiguous(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_solapi: FakeSolapi
) -> None:
    config = write_config(tmp_path, monkeypatch, table(fake_solapi, "prod", "0212345678"))
    before = config.read_bytes()
    monkeypatch.setenv("STAGING_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("STAGING_SECRET", DEFAULT_API_SECRET)
    args = (
        *("config", "add-provider", "solapi", "--no-input"),
        *("--set", "api_key=env:STAGING_KEY", "--set", "api_secret=env:STAGING_SECRET"),
        *("--set", f"base_url={fake_solapi.base_url}", "--set", "sender=0299998888"),
    )
    result = run("-p", "staging", *args, "--id", "m", db=False)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: AMBIGUOUS_PROVIDER: profiles 'prod' and 'staging' both have a provider 'm'"
    )
    assert "add it under another id (--id m-staging)" in result.stderr
    assert config.read_bytes() == before
    # under the id it suggests, the table is added
    result = run("-p", "staging", *args, "--id", "m-staging", db=False)
    assert result.exit_code == 0, result.stderr
    assert "[profiles.staging.providers.m-staging]" in config.read_text(encoding="utf-8")


def test_suggested_commands_keep_the_profile_given_with_p(run: Run, same_id: Path) -> None:
    queued = run("-p", "staging", "send", "--to", "010-1111-2222", "--text", "x", "--queue")
    assert queued.exit_code == 0, queued.stderr
    assert "`kmsg -p staging queue process --drain` sends it" in queued.stdout
    # KMSG_PROFILE chose it: a plain `kmsg` in this shell picks it too
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KMSG_PROFILE", "staging")
        again = run("send", "--to", "010-1111-3333", "--text", "x", "--queue")
    assert "; `kmsg queue process --drain` sends it" in again.stdout
