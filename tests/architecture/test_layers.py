"""Fitness: dependencies point one way (../shared/ARCHITECTURE.md, docs/architecture.md).

Each package of src/arbridge may import only the packages below it. A new
import against the grain fails here, with the module and line that made it.
"""

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "arbridge"

# What the portal offers the apps below its pages: its links and the emails that carry them.
PORTAL_LINKS = {"portal.models", "portal.emails"}
# package -> the packages (or single modules) it may import; itself always.
ALLOWED: dict[str, set[str]] = {
    "connectors": set(),
    "sandbox": set(),
    "core": set(),
    "ledger": {"core"},
    "integrations": {"core", "ledger", "connectors"},
    "payments": {"core", "ledger", "integrations"},
    "autopay": {"core", "ledger", "integrations", "payments"} | PORTAL_LINKS,
    "collections": {"core", "ledger", "integrations", "payments", "autopay"} | PORTAL_LINKS,
    "metrics": {"core", "ledger", "integrations", "payments", "autopay", "collections"},
    "hooks": {"core", "ledger", "integrations", "payments"},
    # The service polled kinds' programs call (connectors/polled.py), beside integrations.
    "polling": {"core", "ledger", "integrations", "connectors"},
}
APPS = {
    "connectors", "core", "ledger", "integrations", "payments", "autopay", "collections", "hooks",
}  # fmt: skip
ALLOWED["portal"] = APPS | {"metrics"}
ALLOWED["dashboard"] = APPS | {"metrics"} | PORTAL_LINKS | {"portal.manage"}
ALLOWED["api"] = APPS | {"metrics"} | PORTAL_LINKS | {"portal.manage"}
# The framework-free layers know nothing of Django.
FRAMEWORK_FREE = {"connectors", "sandbox"}


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def violations() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).parts
        if len(parts) < 2 or parts[0] not in ALLOWED or "migrations" in parts:
            continue
        package = parts[0]
        for line, module in imports(path):
            names = module.split(".")
            where = f"{path.relative_to(SRC)}:{line} imports {module}"
            if package in FRAMEWORK_FREE and names[0] == "django":
                found.append(where)
            if names[0] != "arbridge" or len(names) < 2 or names[1] == package:
                continue
            target, target_module = names[1], ".".join(names[1:3])
            if target not in ALLOWED[package] and target_module not in ALLOWED[package]:
                found.append(where)
    return found


def test_every_import_points_down():
    assert violations() == []


def test_the_check_finds_an_import_against_the_grain(tmp_path, monkeypatch):
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "bad.py").write_text("from arbridge.integrations.models import Connection\n")
    connectors = tmp_path / "connectors" / "x"
    connectors.mkdir(parents=True)
    (connectors / "glue.py").write_text("from django.db import models\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)

    assert violations() == [
        "connectors/x/glue.py:1 imports django.db",
        "ledger/bad.py:1 imports arbridge.integrations.models",
    ]
