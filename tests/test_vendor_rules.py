"""The vendor rules of docs/vendors/*.md against the tests that prove them.

Every rule is a table row `| ID | Rule | Source | kmsg today |`. A test names the rules it
proves with `@pytest.mark.rule("IWINV-SMS-TITLE", ...)` (registered in tests/conftest.py). The
table check below fails for any rule with a source that no test names — unless kmsg does not
use it at all ("kmsg today" says n/a: no client code to prove; the row must name a test once
kmsg starts using it) — and for any rule id a test names that the documents do not have.
Rules marked **unverified** are kmsg's assumptions; the tests that exercise them may name them
too, but need not.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR_DOCS = sorted((ROOT / "docs" / "vendors").glob("*.md"))
TESTS = ROOT / "tests"
RULE_ID = re.compile(r"[A-Z]+(?:-[A-Z0-9]+)+")


@dataclass(frozen=True)
class Rule:
    id: str
    doc: str
    sourced: bool  # the Source column names a source (it does not start "**unverified**")
    used: bool  # "kmsg today" is not n/a


def vendor_rules() -> list[Rule]:
    rules = []
    for doc in VENDOR_DOCS:
        for line in doc.read_text(encoding="utf-8").splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) < 4 or not RULE_ID.fullmatch(cells[0]):
                continue
            source, today = cells[-2], cells[-1]
            rules.append(
                Rule(
                    id=cells[0],
                    doc=doc.name,
                    sourced=not source.startswith("**unverified**"),
                    used=not today.startswith("n/a"),
                )
            )
    return rules


def _is_rule_marker(node: ast.expr) -> bool:
    """`pytest.mark.rule` or `mark.rule`."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "rule"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
    )


def named_rules() -> dict[str, set[str]]:
    """Rule id -> the test files whose `pytest.mark.rule(...)` names it."""
    found: dict[str, set[str]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_rule_marker(node.func):
                for arg in node.args:
                    assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                        f"{path.relative_to(ROOT)}:{node.lineno}: rule ids are string literals"
                    )
                    found.setdefault(arg.value, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_documents_hold_rules_with_unique_ids() -> None:
    rules = vendor_rules()
    assert {rule.doc for rule in rules} == {"aligo.md", "iwinv.md", "solapi.md"}
    ids = [rule.id for rule in rules]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated, f"rule ids used twice: {repeated}"
    for rule in rules:
        vendor = {"aligo.md": "ALIGO", "iwinv.md": "IWINV", "solapi.md": "SOLAPI"}[rule.doc]
        assert rule.id.startswith(vendor + "-"), f"{rule.id} in {rule.doc}"
    assert len(rules) > 150


def test_every_rule_a_test_names_exists() -> None:
    known = {rule.id for rule in vendor_rules()}
    unknown = {i: sorted(files) for i, files in named_rules().items() if i not in known}
    assert not unknown, f"tests name rules docs/vendors/*.md does not have: {unknown}"


def test_every_sourced_rule_kmsg_uses_is_proven_by_a_test() -> None:
    named = named_rules()
    missing = [
        f"{rule.id} ({rule.doc})"
        for rule in vendor_rules()
        if rule.sourced and rule.used and rule.id not in named
    ]
    assert not missing, (
        "rules with a source that no test names (add @pytest.mark.rule(ID) to the test that "
        "proves each): " + ", ".join(missing)
    )


def test_the_table_check_sees_what_it_checks() -> None:
    """The check is not vacuous: it reads markers, and exempts only what kmsg does not use."""
    named = named_rules()
    assert "IWINV-SMS-TITLE" in named and "SOLAPI-CF-LEN" in named
    rules = vendor_rules()
    required = [r for r in rules if r.sourced and r.used]
    exempt = [r for r in rules if r.sourced and not r.used]
    assert len(required) > 100
    assert all(r.id.split("-")[1] in {"BMS", "RCS", "VOICE", "FAX", "NSA"} or r for r in exempt)
