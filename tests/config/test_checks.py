"""`config validate` and the permission and plaintext-secret warnings."""

from __future__ import annotations

from pathlib import Path

from kmsg_cli.config import (
    insecure_permissions_warning,
    validate_config,
)
from tests.config.helpers import (
    PLAINTEXT,
    TWO_PROFILES,
    loaded,
)


def test_insecure_permissions_warning_for_a_readable_file_with_secrets(tmp_path: Path) -> None:
    config = loaded(tmp_path, PLAINTEXT)
    assert insecure_permissions_warning(config) is None  # 0600
    config.path.chmod(0o644)
    warning = insecure_permissions_warning(config)
    assert warning is not None
    assert "0644" in warning and "chmod 600" in warning and "\n" not in warning
    assert "SENTINEL" not in warning
    codes = {problem.code for problem in validate_config(config, {"SOLAPI_API_SECRET": "x"})}
    assert {"INSECURE_PERMISSIONS", "PLAINTEXT_SECRET"} <= codes


def test_no_permission_warning_when_every_secret_is_an_env_reference(tmp_path: Path) -> None:
    config = loaded(tmp_path, TWO_PROFILES)
    config.path.chmod(0o644)
    assert insecure_permissions_warning(config) is None


def test_validate_config_collects_every_problem_at_once(tmp_path: Path) -> None:
    config = loaded(
        tmp_path,
        """
        default_profile = "missing"
        [profiles.a]
        timezone = "Mars/Base"
        default_provider = "nope"
        [profiles.a.providers.solapi]
        api_key = "env:SOLAPI_API_KEY"
        api_secret = "env:SOLAPI_API_SECRET"
        base_url = "http://api.example.com"
        [profiles.b.providers.aligo]
        api_key = "plain-key"
        usr_id = "u"
        """,
    )
    problems = validate_config(config, {"SOLAPI_API_KEY": "k"})
    found = {(p.level, p.code, p.key_path) for p in problems}
    assert {
        ("error", "UNKNOWN_PROFILE", "default_profile"),
        ("error", "INVALID_SETTING", "profiles.a.timezone"),
        ("error", "UNKNOWN_PROVIDER", "profiles.a.default_provider"),
        ("error", "MISSING_ENV", "profiles.a.providers.solapi.api_secret"),
        ("error", "UNKNOWN_SETTING", "profiles.b.providers.aligo.usr_id"),
        ("error", "MISSING_SETTING", "profiles.b.providers.aligo.user_id"),
        ("warning", "PLAINTEXT_SECRET", "profiles.b.providers.aligo.api_key"),
    } <= found
    levels = [p.level for p in problems]
    assert levels == sorted(levels, key=lambda level: level != "error")  # errors first
    assert all("plain-key" not in p.message for p in problems)


def test_a_database_url_password_given_as_env_reference_is_not_plaintext() -> None:
    from kmsg_cli.config import plaintext_secret_paths

    def profile(db: str) -> dict[str, object]:
        return {"profiles": {"p": {"db": db}}}

    assert plaintext_secret_paths(profile("mysql://kmsg:hunter22@db/kmsg")) == ["profiles.p.db"]
    assert plaintext_secret_paths(profile("mysql://kmsg:env:KMSG_DB_PASSWORD@db/kmsg")) == []
    assert plaintext_secret_paths(profile("postgresql://kmsg@db/kmsg")) == []
