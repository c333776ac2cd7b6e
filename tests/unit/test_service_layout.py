"""services/ is one package per business area, and the packages import each other downward only (issue 12)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"


def _package_imports() -> dict[str, set[str]]:
    """Package → the other service packages its modules import (module-level and function-local)."""
    graph: dict[str, set[str]] = {}
    for path in SERVICES.rglob("*.py"):
        package = path.relative_to(SERVICES).parts[0]
        if package == "__init__.py":
            continue
        targets = graph.setdefault(package, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "services" and len(parts) > 1 and parts[1] != package:
                    targets.add(parts[1])
    return graph


def test_services_holds_only_packages() -> None:
    loose = sorted(p.name for p in SERVICES.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    for package in (p for p in SERVICES.iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = package / "__init__.py"
        assert init.exists(), package.name
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{package.name} has no docstring"


def test_no_import_cycle_between_packages() -> None:
    graph = _package_imports()
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                pytest.fail("import cycle: " + " → ".join(trail[trail.index(target):] + [target]))
            if target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for package in sorted(graph):
        if package not in state:
            visit(package, [package])
