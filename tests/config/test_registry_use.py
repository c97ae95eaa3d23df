"""Provider facts live in the provider registry only: the config modules name no vendor, no
vendor-specific setting and no vendor variable, so adding a setting is a one-line change."""

from __future__ import annotations

import ast

from kmsg_cli.providers.catalog import ENV_VARIABLES, PROVIDERS
from tests.config.helpers import ROOT

CONFIG = ROOT / "kmsg_cli" / "config"
VENDOR_FACTS = {
    *(name for name, entry in PROVIDERS.items() if not entry.capabilities.simulated),
    *(key for entry in PROVIDERS.values() for key in entry.own_settings),
    *(variable for variables in ENV_VARIABLES.values() for variable in variables),
}


def _strings(tree: ast.AST) -> list[str]:
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_config_modules_name_no_vendor_fact() -> None:
    found = {}
    for path in sorted(CONFIG.glob("*.py")):
        hits = sorted(set(_strings(ast.parse(path.read_text(encoding="utf-8")))) & VENDOR_FACTS)
        if hits:
            found[path.name] = hits
    assert found == {}


def test_the_scan_sees_a_vendor_fact() -> None:
    # the check above can fail: a string equal to a vendor setting name is found
    assert _strings(ast.parse('KEY = "sms_auth_key"')) == ["sms_auth_key"]
    assert "sms_auth_key" in VENDOR_FACTS and "IWINV_SMS_API_KEY" in VENDOR_FACTS
