"""`kmsg config init` (wizard on a terminal, starter file elsewhere) and `kmsg config add-provider`.

The wizard's questions are answered by a scripted `Prompter` swapped in for the terminal one;
one group of tests drives the real command through a pseudo-terminal, with a hard deadline so
that a prompt nobody answers fails the test instead of hanging it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kmsg_cli import config as cfg
from kmsg_cli.cli import wizard
from tests.cli.terminal import Pty
from tests.conftest import Run

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-SENTINEL-0123456789"


# ------------------------------------------------------------------------- scripted answers


class Script:
    """A `Prompter` that plays back answers in order and records every question.

    An answer of "" takes the question's default; an exception (class or instance) is raised
    in place of answering, as Ctrl-C (KeyboardInterrupt) or end of input (EOFError) would be.
    """

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str]] = []
        self.said: list[str] = []

    def _next(self, kind: str, question: str) -> Any:
        self.asked.append((kind, question))
        assert self.answers, f"unexpected question: {question!r}"
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException) or (
            isinstance(answer, type) and issubclass(answer, BaseException)
        ):
            raise answer
        return answer

    def ask(self, question: str, *, default: str | None = None) -> str:
        answer = self._next("ask", question)
        assert isinstance(answer, str), (question, answer)
        return default if answer == "" and default is not None else answer

    def secret(self, question: str) -> str:
        answer = self._next("secret", question)
        assert isinstance(answer, str), (question, answer)
        return answer

    def confirm(self, question: str, *, default: bool) -> bool:
        answer = self._next("confirm", question)
        assert isinstance(answer, bool), (question, answer)
        return answer

    def choose(self, question: str, choices: Sequence[str], *, default: str) -> str:
        answer = self._next("choose", question) or default
        assert answer in choices, (question, answer, choices)
        return str(answer)

    def say(self, message: str) -> None:
        assert "\n" not in message
        self.said.append(message)

    def questions(self, kind: str | None = None) -> list[str]:
        return [q for k, q in self.asked if kind is None or k == kind]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Script]]:
    """Make the commands believe they run on a terminal; answers come from `scripts[0]`."""
    scripts: list[Script] = []
    monkeypatch.setattr(wizard, "interactive", lambda json_mode: not json_mode)
    monkeypatch.setattr(wizard, "make_prompter", lambda console: scripts[0])
    yield scripts
    for script in scripts:
        assert script.answers == [], f"unused answers: {script.answers}"


def _config(tmp_path: Path) -> Path:
    return tmp_path / "kmsg" / "config.toml"


def _load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ----------------------------------------------------------------------------- the wizard


def test_wizard_writes_a_solapi_profile_with_env_references(
    run: Run, tmp_path: Path, terminal: list[Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(
        "prod",  # profile name
        "solapi",  # provider
        "env",  # api_key: from the environment...
        "",  # ... under the default name SOLAPI_API_KEY
        "env",  # api_secret
        "MY_SOLAPI_SECRET",
        "skip",  # kakao_pf_id
        "02-1234-5678",  # sender
        False,  # doctor
    )
    terminal.append(script)
    monkeypatch.setenv("SOLAPI_API_KEY", "k")  # set: not listed as missing
    path = _config(tmp_path)
    result = run("--config", str(path), "config", "init")
    assert result.exit_code == 0, result.stderr
    assert _load(path) == {
        "default_profile": "prod",
        "profiles": {
            "prod": {
                "default_provider": "solapi",
                "providers": {
                    "solapi": {
                        "type": "solapi",
                        "api_key": "env:SOLAPI_API_KEY",
                        "api_secret": "env:MY_SOLAPI_SECRET",
                        "sender": "0212345678",
                    }
                },
            }
        },
    }
    assert _mode(path) == 0o600
    assert "Environment variable for api_key" in script.questions("ask")
    assert script.questions("confirm") == ["Run `kmsg providers doctor` now?"]
    assert script.questions("secret") == []
    assert f"Wrote {path} (mode 0600)" in result.stdout
    assert 'api_secret = "env:MY_SOLAPI_SECRET"' in result.stdout
    assert "export MY_SOLAPI_SECRET=..." in result.stdout
    assert "export SOLAPI_API_KEY" not in result.stdout
    assert "next: kmsg -p prod providers doctor" in result.stdout
    # the file is complete: with the variables exported it validates and selects `prod`
    monkeypatch.setenv("MY_SOLAPI_SECRET", SECRET)
    code, doc = run.json("--config", str(path), "config", "validate")
    assert code == 0, doc
    assert doc["data"]["active_profile"] == "prod"


def test_wizard_literal_secret_is_read_hidden_and_never_printed(
    run: Run, tmp_path: Path, terminal: list[Script]
) -> None:
    script = Script("", "solapi", "env", "", "literal", SECRET, "env", "", "010-1234-5678", False)
    terminal.append(script)
    path = _config(tmp_path)
    result = run("--config", str(path), "config", "init")
    assert result.exit_code == 0, result.stderr
    provider = _load(path)["profiles"]["default"]["providers"]["solapi"]
    assert provider["api_secret"] == SECRET
    assert provider["kakao_pf_id"] == "env:SOLAPI_KAKAO_PF_ID"
    assert script.questions("secret") == ["Value of api_secret"]
    assert any("plain text" in line and "env:" in line for line in script.said)
    assert SECRET not in result.stdout + result.stderr
    assert 'api_secret = "********"' in result.stdout
    assert _mode(path) == 0o600


def test_wizard_asks_again_after_an_invalid_sender_and_profile_name(
    run: Run, tmp_path: Path, terminal: list[Script]
) -> None:
    script = Script("bad name!", "ok", "mock", "12345", "+1 202 555 0100", "010 1234 5678", False)
    terminal.append(script)
    path = _config(tmp_path)
    result = run("--config", str(path), "config", "init")
    assert result.exit_code == 0, result.stderr
    data = _load(path)
    assert data["default_profile"] == "ok"
    assert data["profiles"]["ok"]["providers"]["mock"] == {"type": "mock", "sender": "01012345678"}
    sender_questions = [q for q in script.questions("ask") if q.startswith("Default sender")]
    assert len(sender_questions) == 3
    assert len(script.said) == 3
    assert script.said[0].startswith("invalid: profile name 'bad name!'")
    assert "'12345'" in script.said[1] and "not a valid" in script.said[1]
    assert "not a Korean number" in script.said[2]


def test_wizard_refuses_an_existing_file_before_asking_anything(
    run: Run, tmp_path: Path, terminal: list[Script]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# mine\n", encoding="utf-8")
    path.chmod(0o644)
    script = Script()
    terminal.append(script)
    result = run("--config", str(path), "config", "init")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: CONFIG_EXISTS:")
    assert "kmsg config init --force" in result.stderr
    assert script.asked == []
    assert path.read_text(encoding="utf-8") == "# mine\n"
    # --force overwrites, and the old file's mode does not survive
    terminal[0] = Script("", "mock", "", False)
    result = run("--config", str(path), "config", "init", "--force")
    assert result.exit_code == 0, result.stderr
    assert _load(path)["profiles"]["default"]["providers"]["mock"] == {"type": "mock"}
    assert _mode(path) == 0o600


@pytest.mark.parametrize("stop", [KeyboardInterrupt, EOFError])
def test_ctrl_c_or_end_of_input_writes_nothing(
    run: Run, tmp_path: Path, terminal: list[Script], stop: type[BaseException]
) -> None:
    terminal.append(Script("prod", "solapi", "env", stop))
    path = _config(tmp_path)
    result = run("--config", str(path), "config", "init")
    assert result.exit_code == 130
    assert result.stderr == "error: INTERRUPTED: cancelled: nothing was written\n"
    assert not path.exists()


def test_wizard_runs_the_doctor_on_the_new_profile(
    run: Run, tmp_path: Path, terminal: list[Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    # KMSG_PROFILE names another profile: the doctor must still examine the new one
    monkeypatch.setenv("KMSG_PROFILE", "elsewhere")
    terminal.append(Script("ci", "mock", "", True))
    path = _config(tmp_path)
    result = run("--config", str(path), "config", "init")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "mock (mock)" in result.stdout
    assert "PASS credentials" in result.stdout
    assert "SKIP authentication" in result.stdout


def test_wizard_doctor_failure_is_reported_with_its_exit_code(
    run: Run, tmp_path: Path, terminal: list[Script]
) -> None:
    script = Script("prod", "solapi", "env", "", "env", "", "skip", "", True)
    terminal.append(script)
    path = _config(tmp_path)
    result = run("--config", str(path), "config", "init")
    assert result.exit_code == 2
    assert path.exists()  # the file stays: only the readiness check failed
    assert "FAIL credentials" in result.stdout
    assert "SOLAPI_API_KEY" in result.stdout
    assert result.stderr.startswith("error: NOT_READY:")


def test_wizard_iwinv_sms_only(run: Run, tmp_path: Path, terminal: list[Script]) -> None:
    script = Script("", "iwinv", "sms", "env", "", "env", "", "skip", "1588-1234", False)
    terminal.append(script)
    path = _config(tmp_path)
    assert run("--config", str(path), "config", "init").exit_code == 0
    assert _load(path)["profiles"]["default"]["providers"]["iwinv"] == {
        "type": "iwinv",
        "sms_api_key": "env:IWINV_SMS_API_KEY",
        "sms_auth_key": "env:IWINV_SMS_AUTH_KEY",
        "sender": "15881234",
    }


def test_run_init_wizard_aligo_literal_user_id_is_asked_in_the_open() -> None:
    script = Script("shop", "aligo", "env", "", "literal", "my-id", "skip", "")
    plan = wizard.run_init_wizard(script)
    assert plan.profile == "shop"
    assert plan.provider.ordered() == {
        "type": "aligo",
        "api_key": "env:ALIGO_API_KEY",
        "user_id": "my-id",
    }
    # user_id is not a secret: a visible prompt, and it may be shown back
    assert "Value of user_id" in script.questions("ask")
    assert script.questions("secret") == []
    assert plan.provider.shown()["user_id"] == "my-id"


def test_wizard_rejects_a_bad_variable_name_and_a_blank_literal() -> None:
    script = Script("", "solapi", "env", "1BAD", "GOOD_NAME", "literal", "", SECRET, "skip", "")
    plan = wizard.run_init_wizard(script)
    assert plan.provider.values["api_key"] == "env:GOOD_NAME"
    assert plan.provider.values["api_secret"] == SECRET
    assert plan.provider.shown()["api_secret"] == cfg.MASK
    assert script.said[0].startswith("invalid: '1BAD' is not a variable name")
    assert script.said[1].startswith("invalid: type the value itself")


@pytest.mark.parametrize(
    ("kind", "provider_id", "key", "name"),
    [
        ("solapi", "solapi", "api_key", "SOLAPI_API_KEY"),
        ("solapi", "backup", "api_secret", "SOLAPI_BACKUP_API_SECRET"),
        ("solapi", "solapi-2", "api_key", "SOLAPI_2_API_KEY"),
        ("iwinv", "iwinv", "sms_auth_key", "IWINV_SMS_AUTH_KEY"),
        ("aligo", "2nd", "user_id", "ALIGO_2ND_USER_ID"),
    ],
)
def test_default_env_names(kind: str, provider_id: str, key: str, name: str) -> None:
    assert wizard.default_env_name(kind, provider_id, key) == name
    assert cfg.is_env_name(name)


# ------------------------------------------------------------------- without a terminal


def test_init_without_a_terminal_writes_the_starter_and_never_prompts(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", "--config", str(path), "config", "init"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert path.read_text(encoding="utf-8") == cfg.starter_config_text()
    assert _mode(path) == 0o600
    assert f"next: edit {path}: uncomment [profiles.prod]" in proc.stdout
    assert "kmsg config validate" in proc.stdout
    assert "?" not in proc.stdout  # no question was printed


def test_init_in_process_without_a_terminal_and_with_json(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    code, doc = run.json("--config", str(path), "config", "init")
    assert code == 0
    assert doc["data"]["wizard"] is False and doc["data"]["path"] == str(path)
    assert "kmsg config validate" in doc["data"]["next"]
    assert path.read_text(encoding="utf-8") == cfg.starter_config_text()


def test_json_and_no_input_never_prompt_even_on_a_terminal(
    run: Run, tmp_path: Path, terminal: list[Script]
) -> None:
    terminal.append(Script())  # any question fails the test
    for flags in (("--json",), ("--no-input",)):
        path = tmp_path / f"config{flags[0]}.toml"
        result = run("--config", str(path), "config", "init", *flags)
        assert result.exit_code == 0, result.stderr
        assert path.read_text(encoding="utf-8") == cfg.starter_config_text()
    assert terminal[0].asked == []


# --------------------------------------------------------------------------- add-provider


def test_add_provider_appends_and_keeps_comments_and_mode(
    run: Run, starter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = starter.read_text(encoding="utf-8")
    monkeypatch.setenv("SOLAPI_API_SECRET", "s")
    result = run("-p", "prod", "config", "add-provider", "solapi", "--set", "sender=02-1234-5678")
    assert result.exit_code == 0, result.stderr
    text = starter.read_text(encoding="utf-8")
    assert text.startswith(original)  # every comment and line of the user is still there
    assert text[len(original) :] == (
        "\n[profiles.prod.providers.solapi]\n"
        'type = "solapi"\n'
        'api_key = "env:SOLAPI_API_KEY"\n'
        'api_secret = "env:SOLAPI_API_SECRET"\n'
        'kakao_pf_id = "env:SOLAPI_KAKAO_PF_ID"\n'
        'sender = "0212345678"\n'
    )
    assert _mode(starter) == 0o600
    assert "Added [profiles.prod.providers.solapi]" in result.stdout
    assert "export SOLAPI_API_KEY=..." in result.stdout
    assert "export SOLAPI_KAKAO_PF_ID=..." in result.stdout
    assert "export SOLAPI_API_SECRET" not in result.stdout
    assert "profile 'prod' is new in this file" in result.stdout
    assert "warning:" not in result.stderr  # a profile of its own: no sandbox to warn about
    # the sandbox is untouched and the new profile validates once the key is exported
    assert _load(starter)["profiles"]["sandbox"]["providers"] == {"mock": {"type": "mock"}}
    monkeypatch.setenv("SOLAPI_API_KEY", "k")
    code, doc = run.json("-p", "prod", "config", "validate")
    assert code == 0, doc


def test_add_provider_json_and_profile_precedence(
    run: Run, starter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # default_profile of the starter is sandbox
    code, doc = run.json("config", "add-provider", "mock", "--id", "mock2")
    assert code == 0, doc
    assert doc["data"]["profile"] == "sandbox"
    assert doc["data"]["profile_source"] == "default_profile"
    assert doc["data"]["new_profile"] is False
    assert doc["data"]["unset_env"] == []
    assert doc["warnings"] == []  # a second mock keeps the sandbox a sandbox
    monkeypatch.setenv("KMSG_PROFILE", "staging")
    code, doc = run.json("config", "add-provider", "iwinv", "--set", "sms_api_key=env:SMSK")
    assert code == 0, doc
    assert doc["data"]["profile"] == "staging" and doc["data"]["new_profile"] is True
    # only the missing half of the SMS pair was added as a reference
    assert doc["data"]["settings"] == {
        "type": "iwinv",
        "sms_api_key": "env:SMSK",
        "sms_auth_key": "env:IWINV_SMS_AUTH_KEY",
    }
    assert doc["data"]["unset_env"] == ["SMSK", "IWINV_SMS_AUTH_KEY"]
    data = _load(starter)
    assert data["profiles"]["sandbox"]["providers"]["mock2"] == {"type": "mock"}
    assert data["profiles"]["staging"]["providers"]["iwinv"]["sms_api_key"] == "env:SMSK"


def test_an_iwinv_company_id_alone_does_not_stand_for_the_credentials(
    run: Run, starter: Path
) -> None:
    # sms_company_id is an optional id, not a key: it does not say which API is wanted, so
    # every key still becomes its env: reference (it once left none, and the table failed)
    args = ("-p", "prod", "config", "add-provider", "iwinv", "--set", "sms_company_id=shop")
    code, doc = run.json(*args, "--no-input")
    assert code == 0, doc
    assert doc["data"]["settings"] == {
        "type": "iwinv",
        "api_key": "env:IWINV_API_KEY",
        "sms_api_key": "env:IWINV_SMS_API_KEY",
        "sms_auth_key": "env:IWINV_SMS_AUTH_KEY",
        "sms_company_id": "shop",
    }


def test_the_iwinv_wizard_asks_which_api_when_only_the_company_id_is_given() -> None:
    draft = wizard.new_provider("iwinv", None, ["sms_company_id=shop"], "prod")
    script = Script("sms", "env", "", "env", "")
    wizard.ask_credentials(script, draft)
    assert draft.ordered() == {
        "type": "iwinv",
        "sms_api_key": "env:IWINV_SMS_API_KEY",
        "sms_auth_key": "env:IWINV_SMS_AUTH_KEY",
        "sms_company_id": "shop",
    }
    assert any("Send with iwinv" in q for q in script.questions("choose"))


def test_add_provider_literal_secret_warns_once_and_is_masked(run: Run, starter: Path) -> None:
    result = run("config", "add-provider", "aligo", "--set", f"api_key={SECRET}")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "PLAINTEXT_SECRET" in line]
    assert len(warnings) == 1 and "env:" in warnings[0]
    assert SECRET not in result.stdout + result.stderr
    provider = _load(starter)["profiles"]["sandbox"]["providers"]["aligo"]
    assert provider == {
        "type": "aligo",
        "api_key": SECRET,
        "user_id": "env:ALIGO_USER_ID",
        "sender_key": "env:ALIGO_SENDER_KEY",
    }


def test_a_real_provider_added_to_the_sandbox_is_warned_about(run: Run, starter: Path) -> None:
    code, doc = run.json("config", "add-provider", "iwinv")  # default_profile: sandbox
    assert code == 0 and doc["data"]["profile"] == "sandbox"
    (warning,) = doc["warnings"]
    assert warning["code"] == "REAL_PROVIDER_IN_SANDBOX"
    assert "`--provider iwinv`" in warning["message"]
    assert "kmsg -p prod config add-provider iwinv" in warning["message"]
    assert "iwinv" in _load(starter)["profiles"]["sandbox"]["providers"]  # added all the same


def test_add_provider_duplicate_id_is_refused(run: Run, starter: Path) -> None:
    before = starter.read_bytes()
    result = run("config", "add-provider", "mock")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: PROVIDER_EXISTS:")
    assert "'mock'" in result.stderr and "--id" in result.stderr
    assert starter.read_bytes() == before


def test_add_provider_unknown_type_lists_the_allowed_ones(run: Run, starter: Path) -> None:
    before = starter.read_bytes()
    code, doc = run.json("config", "add-provider", "twilio")
    assert code == 2
    assert doc["error"]["code"] == "UNKNOWN_PROVIDER_TYPE"
    assert doc["error"]["field"] == "type" and doc["error"]["value"] == "twilio"
    assert all(kind in doc["error"]["hint"] for kind in cfg.PROVIDER_TYPES)
    assert starter.read_bytes() == before


@pytest.mark.parametrize(
    ("pair", "code", "named"),
    [
        ("colour=blue", "UNKNOWN_SETTING", "'colour'"),
        ("sendr=0212345678", "UNKNOWN_SETTING", "did you mean 'sender'"),
        ("batch_size=lots", "INVALID_SETTING", "batch_size"),
        ("sender=12", "INVALID_PHONE", "'12'"),
        ("api_key=env:1X", "INVALID_SETTING", "api_key"),
        ("novalue", "USAGE", "'novalue'"),
    ],
)
def test_add_provider_bad_set_options(
    run: Run, starter: Path, pair: str, code: str, named: str
) -> None:
    before = starter.read_bytes()
    result = run("config", "add-provider", "solapi", "--set", pair)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {code}:")
    assert named in result.stderr
    assert starter.read_bytes() == before


def test_add_provider_without_a_config_file(run: Run, tmp_path: Path) -> None:
    result = run("config", "add-provider", "solapi")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: CONFIG_NOT_FOUND:")
    assert "hint: kmsg config init" in result.stderr
    missing = tmp_path / "missing.toml"
    result = run("--config", str(missing), "config", "add-provider", "solapi")
    assert result.exit_code == 2
    assert "kmsg config init" in result.stderr
    assert not missing.exists()


def test_add_provider_restores_the_file_when_it_no_longer_loads(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    # an inline table cannot be extended by a later [profiles.prod.providers.x] header
    original = '# keep me\ndefault_profile = "prod"\n[profiles.prod]\nproviders = { }\n'
    path.write_text(original, encoding="utf-8")
    path.chmod(0o600)
    result = run("--config", str(path), "config", "add-provider", "mock")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: CONFIG_PARSE: the new table would break the file")
    assert "left unchanged" in result.stderr
    assert path.read_text(encoding="utf-8") == original
    assert _mode(path) == 0o600


def test_add_provider_restores_the_file_on_a_new_validation_error(run: Run, starter: Path) -> None:
    before = starter.read_bytes()
    result = run("config", "add-provider", "solapi", "--set", "base_url=http://api.example.com")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: INSECURE_URL:")
    assert "left unchanged" in result.stderr
    assert starter.read_bytes() == before


def test_add_provider_on_a_terminal_asks_only_what_set_did_not_give(
    run: Run, starter: Path, terminal: list[Script]
) -> None:
    script = Script("literal", SECRET, "skip", "010-1234-5678")
    terminal.append(script)
    result = run("-p", "prod", "config", "add-provider", "solapi", "--set", "api_key=env:MY_KEY")
    assert result.exit_code == 0, result.stderr
    assert script.questions("choose") == [
        "solapi API secret (api_secret): read it from",
        "solapi KakaoTalk channel id (pfId, for AlimTalk/FriendTalk/Brand Message) (kakao_pf_id): "
        "read it from",
    ]
    assert script.questions("secret") == ["Value of api_secret"]
    assert _load(starter)["profiles"]["prod"]["providers"]["solapi"] == {
        "type": "solapi",
        "api_key": "env:MY_KEY",
        "api_secret": SECRET,
        "sender": "01012345678",
    }
    assert SECRET not in result.stdout + result.stderr


def test_add_provider_ctrl_c_on_a_terminal_writes_nothing(
    run: Run, starter: Path, terminal: list[Script]
) -> None:
    before = starter.read_bytes()
    terminal.append(Script("env", KeyboardInterrupt))
    result = run("config", "add-provider", "solapi")
    assert result.exit_code == 130
    assert result.stderr == "error: INTERRUPTED: cancelled: nothing was written\n"
    assert starter.read_bytes() == before


# --------------------------------------------------------------------- a real terminal


@pytest.fixture
def pty_run() -> Iterator[list[Pty]]:
    started: list[Pty] = []
    yield started
    for terminal in started:
        terminal.kill()


pytestmark_pty = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")


@pytestmark_pty
def test_real_init_on_a_terminal_runs_the_wizard_and_the_doctor(
    tmp_path: Path, pty_run: list[Pty]
) -> None:
    path = tmp_path / "config.toml"
    term = Pty(["--config", str(path), "config", "init"])
    pty_run.append(term)
    term.expect("Profile name (default):")
    term.send("ci")
    term.expect("Provider [solapi/iwinv/aligo/mock] (solapi):")
    term.send("mock")
    term.expect("Default sender number")
    term.send("not a number")
    term.expect("invalid: 'not a number' is not a valid Korean phone number")
    term.expect("Default sender number")
    term.send("010-1234-5678")
    term.expect("Run `kmsg providers doctor` now? [y/n] (y):")
    term.send("y")
    assert term.finish() == 0, term.text
    assert "mock (mock)" in term.text and "PASS credentials" in term.text
    assert _load(path)["profiles"]["ci"]["providers"]["mock"] == {
        "type": "mock",
        "sender": "01012345678",
    }
    assert _mode(path) == 0o600


@pytestmark_pty
def test_real_init_reads_a_literal_secret_without_echo(tmp_path: Path, pty_run: list[Pty]) -> None:
    path = tmp_path / "config.toml"
    term = Pty(["--config", str(path), "config", "init"])
    pty_run.append(term)
    for question, answer in [
        ("Profile name", "prod"),
        ("Provider", "solapi"),
        ("(api_key): read it from [env/literal] (env):", ""),
        ("Environment variable for api_key (SOLAPI_API_KEY):", ""),
        ("(api_secret): read it from [env/literal] (env):", "literal"),
        ("Value of api_secret:", SECRET),
        ("(kakao_pf_id): read it from [env/literal/skip] (env):", "skip"),
        ("Default sender number", "0212345678"),
        ("Run `kmsg providers doctor` now? [y/n] (n):", "n"),
    ]:
        term.expect(question)
        if answer == SECRET:
            term.send_hidden(answer)
        else:
            term.send(answer)
    assert term.finish() == 0, term.text
    assert SECRET not in term.text  # neither echoed while typed nor printed afterwards
    assert "export SOLAPI_API_KEY=..." in term.text
    assert _load(path)["profiles"]["prod"]["providers"]["solapi"]["api_secret"] == SECRET


@pytestmark_pty
def test_real_init_interrupted_writes_nothing(tmp_path: Path, pty_run: list[Pty]) -> None:
    path = tmp_path / "config.toml"
    term = Pty(["--config", str(path), "config", "init"])
    pty_run.append(term)
    term.expect("Profile name (default):")
    term.send("prod")
    term.expect("Provider")
    term.interrupt()  # Ctrl-C
    assert term.finish() == 130, term.text
    assert "error: INTERRUPTED: cancelled: nothing was written" in term.text
    assert not path.exists()


@pytestmark_pty
def test_real_init_with_no_input_on_a_terminal_writes_the_starter(
    tmp_path: Path, pty_run: list[Pty]
) -> None:
    path = tmp_path / "config.toml"
    term = Pty(["--config", str(path), "config", "init", "--no-input"])
    pty_run.append(term)
    assert term.finish() == 0, term.text
    assert "next: edit" in term.text and "Profile name" not in term.text
    assert path.read_text(encoding="utf-8") == cfg.starter_config_text()
