"""Fitness: vendor kinds are named only in their own folders and the registry.

A module outside `connectors/<kind>/`, `sandbox/<kind>/` and the registry
that names a vendor kind ("qbo", "xero"...) as a string, or imports a
vendor's package, is Django glue a new connector would have to copy. The
modules below still do; each is a debt to pay (docs/architecture.md), and
the list may only shrink: a module that stops naming kinds must leave it.
"""

import ast
from pathlib import Path

from arbridge.integrations.registry import CONNECTORS

SRC = Path(__file__).resolve().parents[2] / "src" / "arbridge"
KINDS = set(CONNECTORS)
ALLOWED = {SRC / "integrations" / "registry.py"}
# Where kinds are still named outside their folders, and why it is left for now.
KNOWN: set[str] = set()


def own_folder(path: Path) -> bool:
    parts = path.relative_to(SRC).parts
    return len(parts) > 2 and parts[0] in ("connectors", "sandbox") and parts[1] in KINDS


def vendor_names(path: Path) -> list[str]:
    """Return what a module names of the vendors: kind strings and vendor packages imported."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KINDS:
            found.append(f"{node.lineno}: {node.value!r}")
        modules = []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        vendor_packages = (["arbridge", "connectors"], ["arbridge", "sandbox"])
        for module in modules:
            parts = module.split(".")
            if len(parts) >= 3 and parts[:2] in vendor_packages and parts[2] in KINDS:
                found.append(f"{node.lineno}: import {module}")
    return found


def violations() -> dict[str, list[str]]:
    result = {}
    for path in sorted(SRC.rglob("*.py")):
        if path in ALLOWED or own_folder(path) or "migrations" in path.parts:
            continue
        if names := vendor_names(path):
            result[str(path.relative_to(SRC))] = names
    return result


def test_no_module_outside_a_vendors_folders_names_a_vendor():
    new = {path: names for path, names in violations().items() if path not in KNOWN}
    assert new == {}, "name vendors only in connectors/<kind>/, sandbox/<kind>/ or the registry"


def test_the_list_of_known_debts_only_shrinks():
    paid = KNOWN - set(violations())
    assert paid == set(), f"{sorted(paid)} no longer name vendors: take them off KNOWN"


def test_the_check_finds_what_it_looks_for(tmp_path):
    module = tmp_path / "glue.py"
    module.write_text('from arbridge.connectors.xero import webhooks\nKIND = "qbo"\n')

    assert vendor_names(module) == [
        "1: import arbridge.connectors.xero",
        "1: import arbridge.connectors.xero.webhooks",
        "2: 'qbo'",
    ]
