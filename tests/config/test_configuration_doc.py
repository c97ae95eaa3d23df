"""docs/configuration.md against the provider registry: the generated tables are current, and
every setting of every provider type is listed with its secrecy and environment variable."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from types import ModuleType

import pytest

from kmsg_cli.config import ENV_VARIABLES, SETTINGS, is_secret_key
from kmsg_cli.providers.catalog import COMMON_SETTINGS, PROVIDERS
from tests.config.helpers import ROOT

DOC_PATH = ROOT / "docs" / "configuration.md"
SCRIPT = ROOT / "scripts" / "generate_config_reference.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_config_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _section(doc: str, heading: str) -> str:
    """The text under a `#### heading` line, up to the next heading or generated-block end."""
    start = doc.index(f"#### {heading}")
    end = re.compile(r"^(####|<!-- END)", re.M).search(doc, start + 1)
    assert end is not None
    return doc[start : end.start()]


def _rows(section: str) -> dict[str, list[str]]:
    """Setting name -> the other cells of its table row."""
    rows = {}
    for line in section.splitlines():
        if match := re.match(r"\| `([a-z_]+)` \|(.*)\|$", line):
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_generated_tables_are_current() -> None:
    current = DOC_PATH.read_text(encoding="utf-8")
    assert _generator().render(current) == current, f"run: python {SCRIPT.relative_to(ROOT)}"


def test_generator_check_mode_reports_drift() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("kind", list(PROVIDERS))
def test_every_setting_is_listed_with_secrecy_and_variable(kind: str) -> None:
    doc = DOC_PATH.read_text(encoding="utf-8")
    common = _rows(_section(doc, "Settings of every provider type"))
    own = _rows(_section(doc, f"`{kind}`"))
    assert set(common) | set(own) == set(SETTINGS[kind])
    assert set(common) == set(COMMON_SETTINGS)
    entry = PROVIDERS[kind]
    for key, cells in own.items():
        secret, variable = cells[2], cells[4]
        assert (secret == "yes") == is_secret_key(key), key
        wanted = f"`{entry.env_variable(key)}`" if entry.settings[key].env else "—"
        assert variable == wanted, key


def test_every_environment_variable_is_in_the_environment_table() -> None:
    doc = DOC_PATH.read_text(encoding="utf-8")
    table = doc[doc.index("<!-- BEGIN generated: env-variables") :]
    for kind, variables in ENV_VARIABLES.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{kind}` |"))
        assert all(f"`{variable}`" in row for variable in variables), kind
