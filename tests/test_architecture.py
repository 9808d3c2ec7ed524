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


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module, known: set[str]) -> set[str]:
    """labelloop modules a module imports when it is imported (not under TYPE_CHECKING)."""
    found: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # imported when called, not when the module is
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known}


def _module_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(paths)
    return {
        name: _top_level_imports(ast.parse(path.read_text()), known) - {name}
        for name, path in paths.items()
    }


def test_no_package_imports_another_packages_private_module() -> None:
    offending = [
        f"{module} imports {target}"
        for module, targets in _module_graph().items()
        for target in targets
        if any(part.startswith("_") and part != "__init__" for part in target.split(".")[2:])
        and target.split(".")[1] != module.split(".")[1]
    ]
    assert not offending, offending


def test_modules_import_each_other_without_cycles() -> None:
    graph = _module_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path, module, target]
            if target not in state:
                cycle = visit(target, [*path, module])
                if cycle:
                    return cycle
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [])
            assert cycle is None, " -> ".join(cycle or [])
