"""`kmsg providers doctor` against the fake IWINV and Aligo servers, good keys and bad.

(SOLAPI's doctor cases live in tests/cli/test_cli_solapi.py.) The doctor must authenticate with a
cheap call, print PASS/FAIL/SKIP/WARN lines with a `next:` hint each, exit 2 when a blocker
fails, and say the same in `--json`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run
from tests.fakes import aligo_fixtures, iwinv_fixtures
from tests.fakes.aligo import DEFAULT_SENDER_KEY, FakeAligo
from tests.fakes.iwinv import (
    DEFAULT_API_KEY,
    DEFAULT_SMS_API_KEY,
    DEFAULT_SMS_AUTH_KEY,
    DEFAULT_SMS_COMPANY_ID,
    FakeIwinv,
)

fake_iwinv = iwinv_fixtures.fake_iwinv
fake_aligo = aligo_fixtures.fake_aligo

SENDER = "0212345678"


def _write(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.setenv("KMSG_CONFIG", str(config))


@pytest.fixture
def iwinv(fake_iwinv: FakeIwinv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIwinv:
    fake_iwinv.sms_api_key = DEFAULT_SMS_API_KEY
    fake_iwinv.sms_auth_key = DEFAULT_SMS_AUTH_KEY
    _write(
        tmp_path,
        f"""
default_profile = "i"
[profiles.i.providers.iwinv]
type = "iwinv"
api_key = "env:IWINV_API_KEY"
sms_api_key = "{DEFAULT_SMS_API_KEY}"
sms_auth_key = "env:IWINV_SMS_AUTH_KEY"
sms_company_id = "{DEFAULT_SMS_COMPANY_ID}"
sender = "{SENDER}"
alimtalk_base_url = "{fake_iwinv.alimtalk_base_url}"
sms_base_url = "{fake_iwinv.sms_base_url}"
read_timeout = 2.0
""",
        monkeypatch,
    )
    monkeypatch.setenv("IWINV_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("IWINV_SMS_AUTH_KEY", DEFAULT_SMS_AUTH_KEY)
    return fake_iwinv


@pytest.fixture
def aligo(fake_aligo: FakeAligo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAligo:
    fake_aligo.senders.add(SENDER)
    _write(
        tmp_path,
        f"""
default_profile = "a"
[profiles.a.providers.aligo]
type = "aligo"
api_key = "env:ALIGO_API_KEY"
user_id = "env:ALIGO_USER_ID"
sender = "{SENDER}"
sms_base_url = "{fake_aligo.sms_base_url}"
kakao_base_url = "{fake_aligo.kakao_base_url}"
read_timeout = 2.0
""",
        monkeypatch,
    )
    monkeypatch.setenv("ALIGO_API_KEY", fake_aligo.key)
    monkeypatch.setenv("ALIGO_USER_ID", fake_aligo.user_id)
    return fake_aligo


def _lines(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if line.strip()]


def _status(lines: list[str], check: str) -> str:
    """The status word (PASS/FAIL/WARN/SKIP) printed for a check."""
    for line in lines:
        words = line.split(maxsplit=1)
        if len(words) == 2 and words[1].startswith(check):
            return words[0]
    raise AssertionError(f"no line for {check!r} in {lines}")


def _every_failure_has_a_next_hint(stdout: str) -> None:
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith(("FAIL ", "WARN ")):
            following = lines[index + 1 : index + 3]
            assert any(f.strip().startswith("next:") for f in following), (line, following)


def test_iwinv_doctor_passes_with_good_keys(run: Run, iwinv: FakeIwinv) -> None:
    result = run("providers", "doctor")
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert _status(lines, "credentials") == "PASS"
    assert _status(lines, "authentication") == "PASS"
    assert _status(lines, "sender") == "PASS"
    assert any(r["path"] for r in iwinv.requests)  # a real authenticated call was made


def test_iwinv_doctor_fails_with_a_wrong_key_and_says_what_next(
    run: Run, iwinv: FakeIwinv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IWINV_API_KEY", "wrong-key-sentinel")
    monkeypatch.setenv("IWINV_SMS_AUTH_KEY", "wrong-auth-sentinel")
    result = run("providers", "doctor")
    assert result.exit_code == 2
    assert _status(_lines(result.stdout), "authentication") == "FAIL"
    _every_failure_has_a_next_hint(result.stdout)
    assert "sentinel" not in result.stdout + result.stderr


def test_aligo_doctor_passes_then_fails_with_a_wrong_key_in_json(
    run: Run, aligo: FakeAligo, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, doc = run.json("providers", "doctor")
    assert code == 0, doc
    (provider,) = doc["data"]["providers"]
    checks = {c["check"]: c["result"] for c in provider["checks"]}
    assert checks["credentials"] == "PASS" and checks["authentication"] == "PASS"
    monkeypatch.setenv("ALIGO_API_KEY", "wrong-key-sentinel")
    code, doc = run.json("providers", "doctor")
    assert code == 2
    assert doc["ok"] is False
    (provider,) = doc["data"]["providers"]
    failed = [c for c in provider["checks"] if c["result"] == "FAIL"]
    assert [c["check"] for c in failed] == ["authentication"]
    assert failed[0]["next"]
    assert "sentinel" not in str(doc)


def test_aligo_doctor_warns_without_a_sender_key_and_passes_with_one(
    run: Run, aligo: FakeAligo, tmp_path: Path
) -> None:
    result = run("providers", "doctor")
    assert result.exit_code == 0, result.stdout  # a warning is not a blocker
    lines = _lines(result.stdout)
    assert _status(lines, "kakao channel") == "WARN"
    assert "WARN kakao channel: no sender_key: AlimTalk and FriendTalk unavailable" in lines
    assert any(line.startswith("next:") and "ALIGO_SENDER_KEY" in line for line in lines)
    config = tmp_path / "c.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f'sender_key = "{DEFAULT_SENDER_KEY}"\n',
        encoding="utf-8",
    )
    result = run("providers", "doctor")
    assert _status(_lines(result.stdout), "kakao channel") == "PASS"


def test_iwinv_sms_only_warns_that_alimtalk_is_unavailable(
    run: Run, iwinv: FakeIwinv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    text = config.read_text(encoding="utf-8").replace('api_key = "env:IWINV_API_KEY"\n', "")
    config.write_text(text, encoding="utf-8")
    result = run("providers", "doctor")
    assert result.exit_code == 0, result.stdout
    assert "WARN kakao channel: no api_key: AlimTalk unavailable" in _lines(result.stdout)
