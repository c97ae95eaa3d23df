"""Shell completion: the generated scripts, the protocol, and value completion end to end.

The protocol tests run the installed `kmsg` the way the scripts do (`_KMSG_COMPLETE` plus the
command line in `_KMSG_COMPLETE_LINE`). The bash tests source completions/kmsg.bash in a real
bash and call its function as bash does on <Tab>; zsh and fish get the same when installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kmsg_cli.cli.completion import FILE_NAMES, Shell, script, split_line
from kmsg_cli.models import MessageType
from tests.cli.terminal import Pty
from tests.conftest import Run

ROOT = Path(__file__).resolve().parents[2]
COMPLETIONS = ROOT / "completions"
BIN = Path(sys.executable).parent
KMSG = shutil.which("kmsg", path=str(BIN)) or "kmsg"

CONFIG = """\
default_profile = "prod"

[profiles.prod]
default_provider = "main"

[profiles.prod.providers.main]
type = "mock"

[profiles.prod.providers.backup]
type = "mock"

[profiles.staging.providers.stage-mock]
type = "mock"
"""


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def complete(line: str, shell: str = "bash", **env: str) -> list[tuple[str, str, str]]:
    """Ask kmsg what completes `line` (cursor at its end): (kind, value, help) triples."""
    result = subprocess.run(
        [KMSG],
        env=_env(_KMSG_COMPLETE=f"complete_{shell}", _KMSG_COMPLETE_LINE=line, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    triples = []
    for row in result.stdout.splitlines():
        if row:
            kind, value, help_text = row.split("\t")
            triples.append((kind, value, help_text))
    return triples


def values(line: str, **env: str) -> list[str]:
    return [value for _, value, _ in complete(line, **env)]


def bash_complete(line: str, cwd: Path, **env: str) -> list[str]:
    """COMPREPLY after bash itself splits `line` into COMP_WORDS and calls the function."""
    program = f"""
source {COMPLETIONS / "kmsg.bash"}
COMP_LINE={_quote(line)}
COMP_POINT=${{#COMP_LINE}}
# bash splits words at blanks and at COMP_WORDBREAKS (":" and "=" become words of their own)
COMP_WORDS=()
while IFS= read -r word || [[ -n $word ]]; do COMP_WORDS+=("$word"); done < <(
    printf '%s' "$COMP_LINE" | sed -E 's/([:=])/ \\1 /g' | tr -s ' ' '\\n'
)
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_kmsg_completion
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        env=_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [row for row in result.stdout.splitlines() if row]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "kmsg.toml"
    path.write_text(CONFIG, encoding="utf-8")
    path.chmod(0o600)
    return path


# ---------------------------------------------------------------------------- scripts


@pytest.mark.parametrize("shell", list(Shell))
def test_generated_files_match_kmsg_completions(shell: Shell, run: Run) -> None:
    result = run("completions", shell.value, db=False)
    assert result.exit_code == 0
    assert result.stdout == script(shell)
    on_disk = (COMPLETIONS / FILE_NAMES[shell]).read_text(encoding="utf-8")
    assert on_disk == result.stdout, "run: python scripts/generate_completions.py"


def test_generator_check_mode_reports_no_drift() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_completions.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_completions_rejects_an_unknown_shell(run: Run) -> None:
    result = run("completions", "tcsh", db=False)
    assert result.exit_code == 2
    assert "tcsh" in result.stderr


def test_bash_script_is_valid_bash() -> None:
    result = subprocess.run(["bash", "-n", str(COMPLETIONS / "kmsg.bash")], capture_output=True)
    assert result.returncode == 0, result.stderr


def test_split_line_separates_the_word_under_the_cursor() -> None:
    assert split_line("kmsg send --ty") == (["send"], "--ty")
    assert split_line("kmsg send ") == (["send"], "")
    assert split_line("kmsg send --text 'a b") == (["send", "--text"], "a b")
    assert split_line("") == ([], "")


# ---------------------------------------------------------------------------- commands and flags


def test_sub_commands_with_their_summaries() -> None:
    found = {value: help_text for _, value, help_text in complete("kmsg ")}
    assert {"send", "send-many", "track", "queue", "config", "db", "providers"} <= set(found)
    assert found["send"].startswith("Send one message")
    assert "[" not in "".join(found.values())  # rich markup stripped


def test_nested_commands_and_flags() -> None:
    assert set(values("kmsg track ")) >= {"run-once", "watch", "show", "list"}
    assert values("kmsg send --ty") == ["--type"]
    assert "--failover-type" in values("kmsg send --fail")


# ---------------------------------------------------------------------------- values


def test_message_types_and_failover_types() -> None:
    assert values("kmsg send --type ") == [t.value for t in MessageType]
    assert "BMS_CAROUSEL_COMMERCE" in values("kmsg send --type ")
    assert values("kmsg send --type A") == ["ALIMTALK"]
    assert values("kmsg send --type RCS_L") == ["RCS_LMS", "RCS_LTPL"]
    assert values("kmsg send-many x.csv --type F") == ["FRIENDTALK", "FAX"]
    assert values("kmsg send --failover-type ") == ["SMS", "LMS"]
    assert values("kmsg send --voice ") == ["FEMALE", "MALE"]
    assert values("kmsg send --targeting M") == ["M"]


def test_provider_types_for_add_provider() -> None:
    assert values("kmsg config add-provider ") == ["solapi", "iwinv", "aligo", "mock"]
    assert values("kmsg config add-provider a") == ["aligo"]


def test_statuses_of_tracking_rows_and_jobs() -> None:
    assert "DELIVERED" in values("kmsg track list --status ")
    assert values("kmsg queue list --status f") == ["failed"]


def test_profile_names_come_from_the_config_file(config: Path) -> None:
    assert values("kmsg --profile ", KMSG_CONFIG=str(config)) == ["prod", "sandbox", "staging"]
    assert values("kmsg -p st", KMSG_CONFIG=str(config)) == ["staging"]
    # --config typed earlier on the line wins over the environment
    assert values(f"kmsg --config {config} -p p") == ["prod"]


def test_provider_ids_follow_the_active_profile(config: Path) -> None:
    found = complete("kmsg send --provider ", KMSG_CONFIG=str(config))
    assert found == [("plain", "backup", "mock"), ("plain", "main", "mock")]
    assert values("kmsg -p staging send --provider ", KMSG_CONFIG=str(config)) == ["stage-mock"]
    assert values("kmsg send --provider ", KMSG_CONFIG=str(config), KMSG_PROFILE="staging") == [
        "stage-mock"
    ]
    assert values("kmsg providers balance --provider m", KMSG_CONFIG=str(config)) == ["main"]
    assert values("kmsg track run-once --provider b", KMSG_CONFIG=str(config)) == ["backup"]


def test_config_keys_come_from_the_file_and_the_profile_keys(config: Path) -> None:
    keys = values("kmsg config set profiles.prod.providers.m", KMSG_CONFIG=str(config))
    assert keys == ["profiles.prod.providers.main", "profiles.prod.providers.main.type"]
    # keys a profile may have but does not set yet, for `set`; those of the file for `get`
    assert values("kmsg config set profiles.staging.ti", KMSG_CONFIG=str(config)) == [
        "profiles.staging.timezone"
    ]
    assert values("kmsg config get def", KMSG_CONFIG=str(config)) == ["default_profile"]


def test_without_a_config_file_the_sandbox_is_offered() -> None:
    assert values("kmsg -p ") == ["sandbox"]
    assert values("kmsg send --provider ") == ["mock"]


def test_a_broken_config_gives_no_candidates_and_no_noise(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[profiles.prod\n", encoding="utf-8")
    assert complete("kmsg -p ", KMSG_CONFIG=str(broken)) == []
    assert complete("kmsg send --provider ", KMSG_CONFIG=str(broken)) == []


def test_track_show_offers_ids_from_the_database(run: Run) -> None:
    for order in ("order-1", "order-2", "invoice-7"):
        assert run("send", "--to", "010-1234-5678", "--text", "x", "--id", order).exit_code == 0
    db = str(run.db)
    assert sorted(values(f"kmsg --db {db} track show ")) == ["invoice-7", "order-1", "order-2"]
    assert sorted(values(f"kmsg --db {db} track show ord")) == ["order-1", "order-2"]
    # KMSG_DB works as well, and each id carries its status for shells that show help
    found = complete("kmsg track show inv", KMSG_DB=db)
    assert found == [("plain", "invoice-7", "SENT SMS 01012345678")]


def test_track_show_on_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "absent.sqlite"
    assert complete(f"kmsg --db {db} track show ") == []
    assert not db.exists()


def test_listings_and_reports_offer_the_recent_batches(run: Run, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("to,text\n01011112222,a\n", encoding="utf-8")
    for batch in ("spring", "summer"):  # sent, not queued: cancel has nothing left to offer
        assert run("send-many", str(rows), "--batch-id", batch).exit_code == 0
    db = str(run.db)
    for command in ("track list", "report", "queue list", "queue retry"):
        assert values(f"kmsg --db {db} {command} --batch ") == ["summer", "spring"], command
    assert values(f"kmsg --db {db} report --batch sp") == ["spring"]
    assert values(f"kmsg --db {db} cancel --batch ") == []


def test_queue_retry_offers_failed_job_ids(run: Run) -> None:
    # 0000 is rejected by the mock: with --queue the job fails permanently when processed
    assert run("send", "--to", "010-1234-0000", "--text", "x", "--queue").exit_code == 0
    assert run("send", "--to", "010-1234-5678", "--text", "y", "--queue").exit_code == 0
    assert run("queue", "process", "--drain").exit_code == 5  # some failed
    code, doc = run.json("queue", "list", "--status", "failed")
    assert code == 0
    failed = [job["id"] for job in doc["data"]["jobs"]]
    assert len(failed) == 1
    assert values(f"kmsg --db {run.db} queue retry --id ") == failed


def test_file_arguments_are_completed_by_the_shell() -> None:
    assert complete("kmsg send-many ") == [("file", "", "")]
    assert complete("kmsg send-many rec")[0][0] == "file"
    assert complete("kmsg send --image pic")[0][0] == "file"
    assert complete("kmsg --db ")[0][0] == "file"
    # a free-text value is not a path
    assert complete("kmsg send --text ") == []


# ---------------------------------------------------------------------------- real shells


def test_bash_completes_commands_and_values(tmp_path: Path, config: Path) -> None:
    assert bash_complete("kmsg send --type A", tmp_path) == ["ALIMTALK"]
    assert bash_complete("kmsg tr", tmp_path) == ["track"]
    assert bash_complete("kmsg -p ", tmp_path, KMSG_CONFIG=str(config)) == [
        "prod",
        "sandbox",
        "staging",
    ]


def test_bash_completes_csv_paths(tmp_path: Path) -> None:
    (tmp_path / "recipients.csv").write_text("to,text\n", encoding="utf-8")
    (tmp_path / "report.txt").write_text("", encoding="utf-8")
    assert bash_complete("kmsg send-many rec", tmp_path) == ["recipients.csv"]
    assert sorted(bash_complete("kmsg send-many re", tmp_path)) == ["recipients.csv", "report.txt"]


def test_bash_completes_message_ids_across_the_colon_word_break(run: Run, tmp_path: Path) -> None:
    to = "010-1234-5678,010-9876-5432"
    assert run("send", "--to", to, "--text", "x", "--id", "m").exit_code == 0
    assert run.rows()  # two rows: m:01012345678 and m:01098765432
    db = str(run.db)
    # bash replaces only the text after the last ':'; kmsg answers that much of each id
    found = bash_complete(f"kmsg --db {db} track show m:010", tmp_path)
    assert sorted(found) == ["01012345678", "01098765432"]
    assert bash_complete(f"kmsg --db {db} track show m:0109", tmp_path) == ["01098765432"]


def _require_shell(name: str) -> None:
    """Skip without the shell on a developer's machine; fail in CI, which installs it."""
    if shutil.which(name) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it", pytrace=False)
        pytest.skip(f"{name} is not installed")


def test_fish_completes_commands_and_values(tmp_path: Path) -> None:
    _require_shell("fish")
    source = COMPLETIONS / "kmsg.fish"
    program = f"source {source}; complete -C 'kmsg send --type A'; complete -C 'kmsg tr'"
    result = subprocess.run(
        ["fish", "--no-config", "-c", program],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ALIMTALK"
    assert lines[1].split("\t")[0] == "track"


def test_zsh_function_hands_candidates_to_describe(tmp_path: Path) -> None:
    _require_shell("zsh")
    # _describe/_files stand in for the completion system; the rest is the real script
    program = (
        '_describe() { print -l -- "${(@P)4}" }; _files() { print FILES }; compdef() { : }; '
        f"source {COMPLETIONS / '_kmsg'}; "
        'words=(kmsg send --type ""); CURRENT=4; _kmsg; '
        "words=(kmsg tr); CURRENT=2; _kmsg; "
        "words=(kmsg send-many x); CURRENT=3; _kmsg"
    )
    result = subprocess.run(
        ["zsh", "-f", "-c", program],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    types = [t.value for t in MessageType]
    assert lines[: len(types)] == types
    assert lines[len(types)].startswith("track:Check delivery status")
    assert lines[len(types) + 1] == "FILES"


def test_bash_completes_an_id_right_after_its_colon(run: Run, tmp_path: Path) -> None:
    assert run("send", "--to", "010-1234-5678", "--text", "x", "--id", "m:a").exit_code == 0
    # bash's word under the cursor is ":" itself; the answer is what follows it
    found = bash_complete(f"kmsg --db {run.db} track show m:", tmp_path)
    assert found == ["a"]


def _typed_in_bash(line: str, cwd: Path) -> str:
    """The command line after typing `line` and <Tab> in an interactive bash on a terminal."""
    env = _env(PS1="$ ", INPUTRC="/dev/null", TERM="dumb")
    bash = Pty(["--norc", "--noprofile", "-i"], env=env, program=["bash"], cwd=cwd)
    try:
        bash.send(f"source {COMPLETIONS / 'kmsg.bash'}; echo READY", end=b"\n")
        bash.expect("READY\n")
        bash.send(line, end=b"\t")
        time.sleep(3)  # bash runs kmsg for the candidates
        # Ctrl-A, then print the edited line between markers instead of running it
        bash.send("\x01echo '<<'\x05'>>'", end=b"\n")
        shown = bash.expect(">>\n")
        bash.send("exit", end=b"\n")
        bash.finish()
    finally:
        bash.kill()
    return shown.rsplit("<<", 1)[1].split(">>", 1)[0]


def test_interactive_bash_completes_an_id_after_its_colon_once(run: Run, tmp_path: Path) -> None:
    to = "010-1234-5678,010-9876-5432"
    assert run("send", "--to", to, "--text", "x", "--id", "m").exit_code == 0
    line = f"kmsg --db {run.db} track show "
    assert _typed_in_bash(line + "m:", tmp_path) == line + "m:010"
    assert _typed_in_bash(line + "m:0101", tmp_path) == line + "m:01012345678 "
