"""`kmsg config ...`, `kmsg db ...` and `kmsg providers list` through the CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from kmsg_cli.models import MessageType
from tests.conftest import Run

SECRET = "sk-SENTINEL-0123456789"


def test_config_init_writes_a_private_starter_and_refuses_to_overwrite(
    run: Run, isolated_env: Path
) -> None:
    first = run("config", "init")
    assert first.exit_code == 0, first.stderr
    path = isolated_env / ".config" / "kmsg" / "config.toml"
    assert str(path) in first.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run("config", "init")
    assert again.exit_code == 2
    assert again.stderr.startswith("error: CONFIG_EXISTS:")
    assert "--force" in again.stderr
    assert run("config", "init", "--force").exit_code == 0
    # the starter file is valid and sends through its sandbox profile
    assert run("config", "validate").exit_code == 0
    assert run("send", "--to", "010-1234-5678", "--text", "x").exit_code == 0


def test_config_path_follows_flag_and_environment(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, doc = run.json("config", "path")
    assert code == 0 and doc["data"]["source"] == "default"
    monkeypatch.setenv("KMSG_CONFIG", str(tmp_path / "env.toml"))
    code, doc = run.json("config", "path")
    assert doc["data"] == {
        "path": str(tmp_path / "env.toml"),
        "exists": False,
        "source": "KMSG_CONFIG",
    }
    result = run("--config", str(tmp_path / "flag.toml"), "config", "path")
    assert result.stdout.strip() == str(tmp_path / "flag.toml")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


PLAINTEXT = f"""
default_profile = "prod"
[profiles.prod.providers.solapi]
api_key = "env:SOLAPI_API_KEY"
api_secret = "{SECRET}"
"""


def test_config_show_masks_secrets(run: Run, tmp_path: Path) -> None:
    path = _write(tmp_path, PLAINTEXT)
    for args in (("config", "show"), ("config", "show", "--json")):
        result = run("--config", str(path), *args)
        assert result.exit_code == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
        assert "env:SOLAPI_API_KEY" in result.stdout
        assert "********" in result.stdout


def test_config_show_names_the_database_and_what_chose_it(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "prod.sqlite"
    path = _write(tmp_path, f'default_profile = "prod"\n[profiles.prod]\ndb = "{own}"\n')
    shown = run("--config", str(path), "config", "show", db=False)
    assert f"database: {own} (profile)" in shown.stdout
    monkeypatch.setenv("KMSG_DB", str(tmp_path / "env.sqlite"))
    doc = json.loads(run("--config", str(path), "config", "show", "--json", db=False).stdout)
    assert (doc["data"]["database"], doc["data"]["database_source"]) == (
        str(tmp_path / "env.sqlite"),
        "KMSG_DB",
    )
    url = "postgresql://kmsg:s3cret@db.invalid/kmsg"
    shown = run("--config", str(path), "--db", url, "config", "show", db=False)
    assert "database: postgresql://kmsg:****@db.invalid/kmsg (--db)" in shown.stdout
    assert "s3cret" not in shown.stdout + shown.stderr


def test_config_show_says_what_chose_the_profile(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        '[profiles.prod]\ndefault_provider = "mock"\n'
        '[profiles.prod.providers.mock]\ntype = "mock"\n'
    )
    path = _write(tmp_path, text)
    monkeypatch.delenv("KMSG_PROFILE", raising=False)
    monkeypatch.delenv("KMSG_PROVIDER", raising=False)

    def shown(*args: str) -> str:
        out = run("--config", str(path), *args, "config", "show", db=False).stdout
        return out.splitlines()[1]

    assert shown() == "active profile: sandbox (default)"
    assert shown("-p", "prod") == "active profile: prod (--profile)"
    monkeypatch.setenv("KMSG_PROFILE", "prod")
    assert shown() == "active profile: prod (KMSG_PROFILE)"
    doc = json.loads(run("--config", str(path), "config", "show", "--json", db=False).stdout)
    assert (doc["data"]["profile_chosen_by"], doc["data"]["profile_source"]) == (
        "KMSG_PROFILE",
        "file",
    )
    monkeypatch.delenv("KMSG_PROFILE")
    path.write_text('default_profile = "prod"\n' + text, encoding="utf-8")
    assert shown() == "active profile: prod (default_profile)"


def test_config_validate_reports_unset_env_variables(run: Run, tmp_path: Path) -> None:
    path = _write(tmp_path, PLAINTEXT)
    result = run("--config", str(path), "config", "validate")
    assert result.exit_code == 2
    assert "SOLAPI_API_KEY" in result.stdout
    key = "profiles.prod.providers.solapi.api_key"
    assert result.stdout.count(key) == 1  # named once, not before and inside the message
    missing = f"MISSING_ENV: environment variable SOLAPI_API_KEY is not set (needed by {key})"
    assert f"error: {missing}" in result.stdout
    assert result.stderr.startswith("error: CONFIG_INVALID:")
    assert SECRET not in result.stdout + result.stderr


def test_config_validate_says_what_to_do_about_each_problem(run: Run, tmp_path: Path) -> None:
    zone_typo = '[profiles.prod]\ntimezone = "Asia/Seol"\n\n[profiles.prod.providers.solapi]'
    path = _write(tmp_path, PLAINTEXT.replace("[profiles.prod.providers.solapi]", zone_typo))
    result = run("--config", str(path), "config", "validate")
    lines = result.stdout.splitlines()
    zone = lines.index(
        "error: INVALID_SETTING: profiles.prod.timezone = 'Asia/Seol' is not a known IANA time zone"
    )
    assert lines[zone + 1] == "  hint: did you mean 'Asia/Seoul'?"
    assert "  hint: export SOLAPI_API_KEY=... or edit the config file" in lines
    code, doc = run.json("--config", str(path), "config", "validate")
    hints = {p["code"]: p["hint"] for p in doc["data"]["problems"]}
    assert code == 2 and hints["INVALID_SETTING"] == "did you mean 'Asia/Seoul'?"


def test_config_validate_passes_when_variables_resolve(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, PLAINTEXT.replace(f'"{SECRET}"', '"env:SOLAPI_API_SECRET"'))
    monkeypatch.setenv("SOLAPI_API_KEY", "k")
    monkeypatch.setenv("SOLAPI_API_SECRET", SECRET)
    code, doc = run.json("--config", str(path), "config", "validate")
    assert code == 0, doc
    assert doc["data"]["valid"] is True and doc["data"]["active_profile"] == "prod"


def test_group_readable_config_with_plaintext_secret_warns(run: Run, tmp_path: Path) -> None:
    path = _write(tmp_path, PLAINTEXT)
    path.chmod(0o644)
    result = run("--config", str(path), "providers", "list")
    assert result.exit_code == 0
    assert "INSECURE_PERMISSIONS" in result.stderr


def test_profile_precedence_through_the_cli(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(
        tmp_path,
        'default_profile = "a"\n[profiles.a.providers.mock]\n[profiles.b.providers.mock]\n'
        "[profiles.c.providers.mock]\n",
    )
    monkeypatch.setenv("KMSG_CONFIG", str(path))
    assert run.json("providers", "list")[1]["data"]["profile"] == "a"
    monkeypatch.setenv("KMSG_PROFILE", "b")
    assert run.json("providers", "list")[1]["data"]["profile"] == "b"
    assert run.json("providers", "list", "-p", "c")[1]["data"]["profile"] == "c"


def test_db_init_creates_the_schema_and_is_repeatable(run: Run) -> None:
    code, doc = run.json("db", "init")
    assert code == 0
    assert doc["data"]["schema_version"] == 1
    assert stat.S_IMODE(run.db.stat().st_mode) == 0o600
    assert run("db", "init").exit_code == 0
    names = {r["name"] for r in run.rows("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"kmsg_delivery_tracking", "kmsg_jobs"} <= names


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_db_schema_prints_ddl_per_dialect(run: Run, dialect: str) -> None:
    result = run("db", "schema", "--dialect", dialect)
    assert result.exit_code == 0
    assert "kmsg_delivery_tracking" in result.stdout and "idx_kmsg_jobs_dequeue" in result.stdout
    _, doc = run.json("db", "schema", "--dialect", dialect)
    assert doc["data"]["dialect"] == dialect and len(doc["data"]["statements"]) >= 7
    if dialect == "mysql":
        assert "TEXT PRIMARY KEY" not in result.stdout
    if dialect == "postgres":
        assert "JSONB" in result.stdout


def test_db_schema_rejects_unknown_dialect(run: Run) -> None:
    result = run("db", "schema", "--dialect", "oracle")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: USAGE:")


def test_providers_list_shows_the_mock_as_simulated(run: Run) -> None:
    code, doc = run.json("providers", "list")
    assert code == 0
    (mock,) = doc["data"]["providers"]
    assert mock["id"] == "mock" and mock["simulated"] is True and mock["default"] is True
    assert set(mock["types"]) == {t.value for t in MessageType}  # every channel
    assert json.dumps(doc)  # serialisable


def test_environment_only_mode_builds_a_profile(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMSG_PROVIDER", "mock")
    code, doc = run.json("providers", "list")
    assert code == 0
    assert doc["data"]["profile"] == "env"
    assert [p["id"] for p in doc["data"]["providers"]] == ["mock"]


def test_validate_in_environment_only_mode_checks_the_variables(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI step's preflight: `kmsg config validate` with KMSG_PROVIDER and no config file
    fails while a required variable is unset, naming it, as the send would."""
    monkeypatch.delenv("KMSG_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config-here"))
    monkeypatch.setenv("KMSG_PROVIDER", "solapi")
    monkeypatch.setenv("SOLAPI_API_KEY", "KEY0000000000000")
    monkeypatch.delenv("SOLAPI_API_SECRET", raising=False)
    code, doc = run.json("config", "validate")
    assert code == 2 and doc["error"]["code"] == "CONFIG_INVALID"
    assert [p["code"] for p in doc["data"]["problems"]] == ["MISSING_ENV"]
    assert "SOLAPI_API_SECRET" in doc["data"]["problems"][0]["message"]
    monkeypatch.setenv("SOLAPI_API_SECRET", "SECRET0000000000000000000000000")
    result = run("config", "validate")
    assert result.exit_code == 0, result.stderr
    assert "configuration is valid: environment-only mode (KMSG_PROVIDER=solapi)" in result.stdout


def test_db_copy_carries_the_batch_inputs_the_report_starts_from(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("to\n010-2000-0001\n010-12\n", encoding="utf-8")
    assert run("send-many", str(source), "--text", "안내", "--batch-id", "dec").exit_code == 5
    target = tmp_path / "copy.sqlite"
    code, doc = run.json("db", "copy", "--from", str(run.db), "--to", str(target))
    assert code == 0, doc
    assert doc["data"]["state_copied"] >= 5 and doc["data"]["state_skipped"] == 0
    code, doc = run.json("--db", str(target), "report", "--batch", "dec")
    assert code == 0, doc
    funnel = doc["data"]["funnel"]
    assert (funnel["rows"], funnel["valid"], funnel["invalid"]) == (2, 1, 1)
    assert doc["data"]["notes"] == []  # no "input rows were not recorded"
    again = run.json("db", "copy", "--from", str(run.db), "--to", str(target))[1]["data"]
    assert again["state_copied"] == 0 and again["state_skipped"] >= 5


def test_db_copy_warns_of_rows_the_target_holds_for_other_messages(
    run: Run, tmp_path: Path
) -> None:
    # The same file sent from two databases gets the same batch id, hence the same message ids
    source = tmp_path / "in.csv"
    source.write_text("to\n010-2000-0001\n", encoding="utf-8")
    target = tmp_path / "other.sqlite"
    assert run("--db", str(target), "send-many", str(source), "--text", "안내").exit_code == 0
    assert run("send-many", str(source), "--text", "안내").exit_code == 0
    code, doc = run.json("db", "copy", "--to", str(target))
    assert code == 0, doc
    data = doc["data"]
    assert (data["jobs_copied"], data["jobs_conflicting"], data["tracking_conflicting"]) == (
        0,
        1,
        1,
    )
    (ids,) = {tuple(shown) for shown in data["conflicts"].values()}
    assert [w["code"] for w in doc["warnings"]] == ["COPY_CONFLICT"]
    assert doc["warnings"][0]["message"] == (
        "1 job and 1 tracking row of the source were not copied: the target holds other "
        f"messages under their ids ({ids[0]}); the source keeps them"
    )
    # rows copied before are no conflict: a re-run says nothing more
    again = tmp_path / "again.sqlite"
    assert run.json("db", "copy", "--to", str(again))[1]["warnings"] == []
    assert run.json("db", "copy", "--to", str(again))[1]["warnings"] == []


def test_db_copy_copies_the_database_in_use_when_from_is_left_out(run: Run, tmp_path: Path) -> None:
    assert run("send", "--to", "010-1111-2222", "--text", "x").exit_code == 0
    target = tmp_path / "moved.sqlite"
    code, doc = run.json("db", "copy", "--to", str(target))
    assert code == 0, doc
    assert doc["data"]["from"] == str(run.db) and doc["data"]["tracking_copied"] == 1
    code, doc = run.json("--db", str(target), "db", "copy", "--to", str(target))
    assert code == 2 and doc["error"]["code"] == "DB_SAME"


def test_db_copy_moves_history_and_queue_and_can_be_re_run(run: Run, tmp_path: Path) -> None:
    assert run("send", "--to", "010-1111-2222,010-1111-3333", "--text", "x").exit_code == 0
    assert run("send", "--to", "010-1111-4444", "--text", "x", "--queue").exit_code == 0
    target = tmp_path / "copy.sqlite"
    code, doc = run.json("db", "copy", "--from", str(run.db), "--to", f"sqlite:///{target}")
    assert code == 0, doc
    # the queued job and the ledger rows of the two direct sends
    assert (doc["data"]["tracking_copied"], doc["data"]["jobs_copied"]) == (2, 3)
    code, doc = run.json("db", "copy", "--from", str(run.db), "--to", str(target))
    assert (doc["data"]["tracking_copied"], doc["data"]["tracking_skipped"]) == (0, 2)
    import sqlite3

    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM kmsg_delivery_tracking").fetchone() == (2,)
        statuses = conn.execute("SELECT status FROM kmsg_jobs ORDER BY status").fetchall()
        assert statuses == [("completed",), ("completed",), ("pending",)]


def test_providers_templates_on_the_sandbox_says_the_mock_keeps_none(run: Run) -> None:
    listed = run("providers", "templates")
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout == "provider\tcode\tstatus\tname\tvariables\n"
    assert (
        listed.stderr
        == "no templates listed (profile sandbox)\nmock: skipped: cannot list templates\n"
    )
    named = run("providers", "templates", "--provider", "mock")
    assert named.exit_code == 4 and "UNSUPPORTED_BY_PROVIDER" in named.stderr
    unknown = run("providers", "templates", "--provider", "solapi")
    assert unknown.exit_code == 2 and "UNKNOWN_PROVIDER" in unknown.stderr
