"""docs/architecture.md's package table matches the code's imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labelloop"


def _documented() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    table: dict[str, set[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`\w+`", cells[0]):
            table[cells[0].strip("`")] = set(re.findall(r"`(\w+)`", cells[2]))
    return table


def _imported() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if parts[0] == "__init__.py":
            continue
        package = parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("labelloop."):
                    target = name.split(".")[1]
                    if target != package:
                        found.setdefault(package, set()).add(target)
    return found


def test_every_package_is_documented_and_imports_only_what_the_table_allows() -> None:
    table = _documented()
    imported = _imported()
    modules = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()}
    modules -= {"__init__", "__pycache__", "py.typed"}
    assert set(table) == modules, "packages missing from (or extra in) docs/architecture.md"
    for package, targets in imported.items():
        extra = targets - table[package]
        assert not extra, f"{package} imports {sorted(extra)}, which the table does not allow"
        unused = table[package] - targets
        assert not unused, f"the table lets {package} import {sorted(unused)}; it does not"
