"""Import rules that keep the flow one-way (docs/ARCHITECTURE.md): checked by reading every
module's imports.

Lazy imports inside functions count too: a dependency is a dependency wherever it is written.
"""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kmsg_cli"

# module prefix -> kmsg_cli modules it may import (prefix match), most specific first
ALLOWED_INTERNAL: list[tuple[str, tuple[str, ...]]] = [
    ("kmsg_cli.errors", ()),
    ("kmsg_cli.models", ()),
    ("kmsg_cli.files", ()),
    ("kmsg_cli.digest", ()),
    ("kmsg_cli.jsontext", ()),
    ("kmsg_cli.when", ("kmsg_cli.errors", "kmsg_cli.models")),
    # the channel rules (RCS, Brand Message, voice, fax, Naver) are pure, below normalize
    ("kmsg_cli.channels", ("kmsg_cli.errors", "kmsg_cli.models", "kmsg_cli.channels")),
    # normalize: phone numbers, sizes, variables and single fields know nothing of each other;
    # only `message` (building a whole message) combines them, with the channel rules and times
    ("kmsg_cli.normalize._common", ("kmsg_cli.errors",)),
    ("kmsg_cli.normalize.variables", ("kmsg_cli.errors", "kmsg_cli.normalize._common")),
    *(
        (
            f"kmsg_cli.normalize.{part}",
            ("kmsg_cli.errors", "kmsg_cli.models", "kmsg_cli.normalize._common"),
        )
        for part in ("phone", "limits", "fields")
    ),
    (
        "kmsg_cli.normalize.message",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.when",
            "kmsg_cli.channels",
            "kmsg_cli.normalize._common",
            "kmsg_cli.normalize.phone",
            "kmsg_cli.normalize.limits",
            "kmsg_cli.normalize.variables",
            "kmsg_cli.normalize.fields",
        ),
    ),
    # the package itself only re-exports the public names of its parts
    (
        "kmsg_cli.normalize",
        (
            "kmsg_cli.normalize.phone",
            "kmsg_cli.normalize.limits",
            "kmsg_cli.normalize.variables",
            "kmsg_cli.normalize.fields",
            "kmsg_cli.normalize.message",
        ),
    ),
    # config: keys and model are the base; each step of the flow uses only the steps before it
    ("kmsg_cli.config.keys", ("kmsg_cli.errors", "kmsg_cli.providers.catalog")),
    (
        "kmsg_cli.config.model",
        ("kmsg_cli.models", "kmsg_cli.config.keys", "kmsg_cli.config.settings"),
    ),
    ("kmsg_cli.config.paths", ("kmsg_cli.config.keys",)),
    ("kmsg_cli.config.loading", ("kmsg_cli.config.keys", "kmsg_cli.files")),
    (
        "kmsg_cli.config.settings",
        (
            "kmsg_cli.errors",
            "kmsg_cli.normalize",
            "kmsg_cli.providers.catalog",
            "kmsg_cli.config.keys",
            "kmsg_cli.config.model",
        ),
    ),
    (
        "kmsg_cli.config.parsing",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.when",
            "kmsg_cli.providers.catalog",
            "kmsg_cli.config.keys",
            "kmsg_cli.config.model",
        ),
    ),
    (
        "kmsg_cli.config.profiles",
        (
            "kmsg_cli.errors",
            "kmsg_cli.providers.catalog",
            "kmsg_cli.config.keys",
            "kmsg_cli.config.model",
            "kmsg_cli.config.paths",
            "kmsg_cli.config.loading",
            "kmsg_cli.config.parsing",
        ),
    ),
    (
        "kmsg_cli.config.checks",
        (
            "kmsg_cli.errors",
            "kmsg_cli.config.keys",
            "kmsg_cli.config.model",
            "kmsg_cli.config.loading",
            "kmsg_cli.config.parsing",
            "kmsg_cli.config.profiles",
            "kmsg_cli.config.settings",
        ),
    ),
    (
        "kmsg_cli.config.writing",
        (
            "kmsg_cli.errors",
            "kmsg_cli.files",
            "kmsg_cli.providers.catalog",
            "kmsg_cli.config.keys",
            "kmsg_cli.config.loading",
            "kmsg_cli.config.settings",
        ),
    ),
    (
        "kmsg_cli.config.editing",  # `config get/set/unset`: edits and then checks the file
        (
            "kmsg_cli.errors",
            "kmsg_cli.providers.catalog",
            "kmsg_cli.config.keys",
            "kmsg_cli.config.model",
            "kmsg_cli.config.loading",
            "kmsg_cli.config.parsing",
            "kmsg_cli.config.checks",
            "kmsg_cli.config.writing",
        ),
    ),
    # the package itself only re-exports (lazily) what its modules and the registry define
    ("kmsg_cli.config", ("kmsg_cli.config", "kmsg_cli.providers.catalog")),
    ("kmsg_cli.routing", ("kmsg_cli.errors", "kmsg_cli.models", "kmsg_cli.providers.catalog")),
    ("kmsg_cli.providers.catalog", ("kmsg_cli.errors", "kmsg_cli.models")),
    (
        "kmsg_cli.providers._http",
        ("kmsg_cli.errors", "kmsg_cli.__version__", "kmsg_cli.providers.catalog"),
    ),
    (
        "kmsg_cli.providers._common",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.normalize.variables",  # the `#{name}` placeholders of a template
            "kmsg_cli.providers._http",
            "kmsg_cli.providers.catalog",
        ),
    ),
    # a vendor package uses the shared provider modules and itself, never another vendor
    *(
        (
            f"kmsg_cli.providers.{vendor}",
            (
                "kmsg_cli.errors",
                "kmsg_cli.models",
                "kmsg_cli.providers._common",
                "kmsg_cli.providers._http",
                "kmsg_cli.providers.base",
                "kmsg_cli.providers.catalog",
                f"kmsg_cli.providers.{vendor}",
            ),
        )
        for vendor in ("solapi", "iwinv", "aligo")
    ),
    (
        "kmsg_cli.providers",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.providers",
            "kmsg_cli.digest",
            "kmsg_cli.__version__",
        ),
    ),
    (
        "kmsg_cli.store",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.store",
            "kmsg_cli.files",
            "kmsg_cli.jsontext",
        ),
    ),
    ("kmsg_cli.lookup", ("kmsg_cli.errors", "kmsg_cli.models", "kmsg_cli.providers.base")),
    # failover: the next provider of a routing list, when a request surely was not accepted
    ("kmsg_cli.failover", ("kmsg_cli.errors", "kmsg_cli.models", "kmsg_cli.providers.base")),
    (
        "kmsg_cli.jobs.ledger",
        ("kmsg_cli.errors", "kmsg_cli.models", "kmsg_cli.jobs.codec", "kmsg_cli.store.contract"),
    ),
    (
        "kmsg_cli.sending",
        (
            "kmsg_cli.errors",
            "kmsg_cli.failover",
            "kmsg_cli.files",
            "kmsg_cli.owner",
            "kmsg_cli.jobs.ledger",
            "kmsg_cli.lookup",
            "kmsg_cli.models",
            "kmsg_cli.jobs.codec",
            "kmsg_cli.config.model",
            "kmsg_cli.routing",
            "kmsg_cli.providers.base",
            "kmsg_cli.providers.catalog",
            "kmsg_cli.store.contract",
        ),
    ),
    (
        "kmsg_cli.clients",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.config.model",
            "kmsg_cli.providers",
            "kmsg_cli.store.contract",
        ),
    ),
    (
        "kmsg_cli.doctor",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.normalize.phone",
            "kmsg_cli.config.model",
            "kmsg_cli.clients",
            "kmsg_cli.providers.base",
            "kmsg_cli.providers.catalog",
        ),
    ),
    ("kmsg_cli.jobs.codec", ("kmsg_cli.models",)),
    ("kmsg_cli.content", ("kmsg_cli.models", "kmsg_cli.digest", "kmsg_cli.jsontext")),
    (
        "kmsg_cli.dedupe",
        (
            "kmsg_cli.models",
            "kmsg_cli.content",
            "kmsg_cli.store.contract",
            "kmsg_cli.store.scratch",
        ),
    ),
    ("kmsg_cli.owner", ()),
    ("kmsg_cli.cp949", ("kmsg_cli.errors",)),
    ("kmsg_cli.textfile", ("kmsg_cli.errors", "kmsg_cli.cp949")),
    (
        "kmsg_cli.results_file",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.jobs.enqueue",
            "kmsg_cli.jobs.outcomes",
            "kmsg_cli.store.contract",
        ),
    ),
    (
        "kmsg_cli.bulk_input",
        ("kmsg_cli.errors", "kmsg_cli.bulk_input", "kmsg_cli.cp949", "kmsg_cli.files"),
    ),
    (
        "kmsg_cli.jobs.enqueue",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.config.model",
            "kmsg_cli.normalize",
            "kmsg_cli.channels",
            "kmsg_cli.jobs.codec",
            "kmsg_cli.jobs.ledger",
            "kmsg_cli.jobs.outcomes",
            "kmsg_cli.bulk_input",
            "kmsg_cli.content",
            "kmsg_cli.dedupe",
            "kmsg_cli.sending",
            "kmsg_cli.providers.catalog",
            "kmsg_cli.providers.base",  # the contract: an AlimTalk's template text, for a preview
            "kmsg_cli.store.contract",
            "kmsg_cli.report",  # a batch's input counts, for its report
            "kmsg_cli.jobs.placeholders",
        ),
    ),
    (
        "kmsg_cli.jobs.placeholders",
        ("kmsg_cli.errors", "kmsg_cli.bulk_input", "kmsg_cli.normalize"),
    ),
    (
        "kmsg_cli.jobs.worker",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.owner",
            "kmsg_cli.jobs.ledger",
            "kmsg_cli.lookup",
            "kmsg_cli.tracking",
            "kmsg_cli.jobs.codec",
            "kmsg_cli.jobs.rate",
            "kmsg_cli.jobs.stats",
            "kmsg_cli.failover",
            "kmsg_cli.sending",
            "kmsg_cli.providers.base",
            "kmsg_cli.store.contract",
        ),
    ),
    ("kmsg_cli.jobs.rate", ()),
    ("kmsg_cli.jobs.stats", ("kmsg_cli.errors",)),
    (
        "kmsg_cli.jobs.outcomes",
        ("kmsg_cli.models", "kmsg_cli.jobs.ledger", "kmsg_cli.store.contract"),
    ),
    # the package only describes its parts; a new part needs a rule of its own above
    ("kmsg_cli.jobs", ()),
    (
        "kmsg_cli.tracking",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.config.model",
            "kmsg_cli.jobs.codec",
            "kmsg_cli.jobs.stats",
            "kmsg_cli.normalize",
            "kmsg_cli.channels.fallback",
            "kmsg_cli.sending",
            "kmsg_cli.providers.base",
            "kmsg_cli.store.contract",
        ),
    ),
    (
        "kmsg_cli.cancel",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.jobs.outcomes",
            "kmsg_cli.sending",
            "kmsg_cli.providers.base",
            "kmsg_cli.store.contract",
        ),
    ),
    (
        "kmsg_cli.dbcheck",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.store.contract",
            "kmsg_cli.store.inspect",
            "kmsg_cli.store.rows",
            "kmsg_cli.store.schema",
        ),
    ),
    # the report service: grouped counts from the store, figures, the HTML page
    (
        "kmsg_cli.report",
        (
            "kmsg_cli.errors",
            "kmsg_cli.models",
            "kmsg_cli.when",
            "kmsg_cli.tracking",
            "kmsg_cli.store.contract",
            "kmsg_cli.store.report",
            "kmsg_cli.report",
            "kmsg_cli.__version__",
        ),
    ),
    # the console script: the version constant, and the Typer application for anything else
    ("kmsg_cli.cli.entry", ("kmsg_cli.__version__", "kmsg_cli.cli.app")),
    ("kmsg_cli.cli", ("kmsg_cli",)),
    ("kmsg_cli.__main__", ("kmsg_cli.cli.entry",)),
    ("kmsg_cli", ()),
]

# third-party (or heavy stdlib) module -> module prefixes allowed to import it
RESTRICTED = {
    "openpyxl": ("kmsg_cli.bulk_input.xlsx_rows",),
    "typer": ("kmsg_cli.cli",),
    "rich": ("kmsg_cli.cli",),
    "httpx": ("kmsg_cli.providers",),
    "sqlite3": ("kmsg_cli.store.sqlite", "kmsg_cli.store.scratch"),
    "psycopg": ("kmsg_cli.store.postgres",),
    "psycopg_pool": ("kmsg_cli.store.postgres",),
    "pymysql": ("kmsg_cli.store.mysql",),
    "platformdirs": ("kmsg_cli.config.paths",),
    "tomli_w": ("kmsg_cli.config.writing",),
    "tomllib": ("kmsg_cli.config.loading", "kmsg_cli.config.editing"),
    "tomlkit": ("kmsg_cli.config.editing",),
    "pygal": ("kmsg_cli.report.page",),
    "jinja2": ("kmsg_cli.report.page",),
}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def _imports(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _allowed_internal(name: str) -> tuple[str, ...]:
    for prefix, allowed in ALLOWED_INTERNAL:
        if name == prefix or name.startswith(prefix + "."):
            return allowed
    raise AssertionError(f"no import rule covers {name}")


def _matches(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize(("name", "path"), _modules(), ids=[m[0] for m in _modules()])
def test_module_imports_follow_the_layering(name: str, path: Path) -> None:
    imports = _imports(name, path)
    allowed = (*_allowed_internal(name), name)
    bad_internal = sorted(
        m
        for m in imports
        if m.startswith("kmsg_cli.")
        and not _matches(m, allowed)
        and not (m.rsplit(".", 1)[0] == "kmsg_cli" and name == "kmsg_cli.__main__")
    )
    # `from kmsg_cli import x` shows up as kmsg_cli.x: allowed only when x is allowed
    assert bad_internal == [], f"{name} imports {bad_internal}"
    for module, owners in RESTRICTED.items():
        if any(m == module or m.startswith(module + ".") for m in imports):
            assert _matches(name, owners), f"{name} must not import {module}"


def _cli_kind(module: str) -> str:
    """ "command" (a *_cmd module: one command or command group), "entry" (app, entry: the
    console script and the root of the command tree) or "infrastructure" (options, output,
    runtime, boundary, *_view, ...: what the commands share)."""
    leaf = module.rsplit(".", 1)[-1]
    if leaf.endswith("_cmd"):
        return "command"
    if leaf in ("app", "entry"):
        return "entry"
    return "infrastructure"


def _cli_modules() -> list[tuple[str, Path]]:
    return [(name, path) for name, path in _modules() if name.startswith("kmsg_cli.cli.")]


def _cli_imports(name: str, path: Path) -> set[str]:
    """The kmsg_cli.cli modules `name` imports (`from kmsg_cli.cli import x` counts as x)."""
    known = {module for module, _ in _cli_modules()}
    return {m for m in _imports(name, path) if m in known and m != name}


@pytest.mark.parametrize(("name", "path"), _cli_modules(), ids=[m[0] for m in _cli_modules()])
def test_cli_modules_do_not_import_each_others_commands(name: str, path: Path) -> None:
    """A command module uses the shared CLI infrastructure, never another command's module
    (what two commands share moves to options, bounds, output, a *_view, ...); the
    infrastructure imports no command; the root (app) names its commands by string and
    imports them only when a command line reaches them."""
    imported = _cli_imports(name, path)
    commands = sorted(m for m in imported if _cli_kind(m) == "command")
    entries = sorted(m for m in imported if _cli_kind(m) == "entry")
    if _cli_kind(name) == "entry":
        assert commands == [], f"{name} imports {commands} (list them as lazy commands)"
    else:
        assert commands == [], f"{name} imports {commands}"
        assert entries == [], f"{name} imports {entries}"


def test_cli_rule_sees_command_imports() -> None:
    """The rule above reads `from kmsg_cli.cli import x` and `from kmsg_cli.cli.x import y`."""
    send = next(path for name, path in _cli_modules() if name == "kmsg_cli.cli.send_cmd")
    imported = _cli_imports("kmsg_cli.cli.send_cmd", send)
    assert {"kmsg_cli.cli.options", "kmsg_cli.cli.boundary", "kmsg_cli.cli.send_view"} <= imported


def test_store_modules_do_not_import_their_package() -> None:
    """`kmsg_cli.store` opens an engine lazily (`open_store`); an engine module importing the
    package back would be a cycle that only laziness keeps from breaking."""
    for name, path in _modules():
        if name.startswith("kmsg_cli.store."):
            assert "kmsg_cli.store" not in _imports(name, path), name


ENGINES = ("kmsg_cli.store.sqlite", "kmsg_cli.store.postgres", "kmsg_cli.store.mysql")


def _top_level_imports(path: Path) -> set[str]:
    """Imports run when the module is imported: its own statements, not those of functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    outer = ast.Module(body=[n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)])
    names: set[str] = set()
    for node in ast.walk(outer):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_store_package_imports_its_engines_only_lazily() -> None:
    """The other half of the cycle: `kmsg_cli.store` names every engine, but only inside
    `open_store`, so importing the package loads no engine and no database driver."""
    path = PACKAGE / "store" / "__init__.py"
    lazy, eager = _imports("kmsg_cli.store", path), _top_level_imports(path)
    for engine in ENGINES:
        assert engine in lazy, f"kmsg_cli.store does not open {engine}"
        assert not any(m == engine or m.startswith(engine + ".") for m in eager), engine
    drivers = ("sqlite3", "psycopg", "psycopg_pool", "pymysql")
    assert not any(m.split(".")[0] in drivers for m in eager)


def test_every_module_has_a_rule_of_its_own() -> None:
    """A new package or top-level module gets its line in ALLOWED_INTERNAL (saying what it may
    import) instead of falling through to the rule of `kmsg_cli` itself."""
    root = ALLOWED_INTERNAL[-1]
    assert root[0] == "kmsg_cli"
    fallen = [name for name, _ in _modules() if name != "kmsg_cli" and _rule(name) is root]
    assert fallen == []


def _rule(name: str) -> tuple[str, tuple[str, ...]]:
    return next(rule for rule in ALLOWED_INTERNAL if _matches(name, (rule[0],)))


def test_every_restricted_module_is_used_by_its_owner() -> None:
    """A restriction whose owner no longer imports the module checks nothing: keep them live.
    The connection pool of psycopg belongs where psycopg does."""
    assert RESTRICTED["psycopg_pool"] == RESTRICTED["psycopg"]
    imported: dict[str, set[str]] = {}
    for name, path in _modules():
        for module in _imports(name, path):
            imported.setdefault(module.split(".")[0], set()).add(name)
    for module, owners in RESTRICTED.items():
        users = imported.get(module, set())
        assert users, f"nothing imports {module}: drop its restriction"
        assert all(_matches(user, owners) for user in users), (module, users)


def test_version_and_help_do_not_load_heavy_modules() -> None:
    script = (
        "import sys\n"
        "from kmsg_cli.cli.app import main\n"
        "for argv in (['kmsg', '--version'], ['kmsg', '--help']):\n"
        "    sys.argv = argv\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ['httpx', 'sqlite3', '_sqlite3', 'kmsg_cli.providers.mock', 'kmsg_cli.store',\n"
        "         'kmsg_cli.store.sqlite', 'kmsg_cli.sending', 'kmsg_cli.normalize']\n"
        "print('loaded=' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "loaded="


def test_version_answers_before_typer_is_imported() -> None:
    """The console script answers `kmsg --version` alone: no Typer, Click or rich, and the
    version it prints is the package metadata's."""
    script = (
        "import sys\n"
        "sys.argv = ['kmsg', '--version']\n"
        "from kmsg_cli.cli.entry import main\n"
        "main()\n"
        "loaded = [m for m in ('typer', 'click', 'rich', 'kmsg_cli.cli.app') if m in sys.modules]\n"
        "print('loaded=' + ','.join(loaded))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    printed, loaded = proc.stdout.strip().splitlines()
    assert printed == f"kmsg {importlib.metadata.version('kmsg')}"
    assert loaded == "loaded="


def test_other_command_lines_reach_typer_from_the_console_script() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kmsg_cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Usage:" in proc.stdout and "send-many" in proc.stdout


def test_version_alone_does_not_load_rich() -> None:
    script = (
        "import sys\n"
        "sys.argv = ['kmsg', '--version']\n"
        "from kmsg_cli.cli.app import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('rich' in sys.modules, 'httpx' in sys.modules, 'sqlite3' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "False False False"


MAX_MODULE_LINES = 600


def test_no_module_is_over_600_lines() -> None:
    """A module longer than this has more than one job (docs/ARCHITECTURE.md): split it."""
    long = {
        name: lines
        for name, path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
