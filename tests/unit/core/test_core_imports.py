"""The package's shape: no import cycle, few modules at the root, no module over 400 lines, layers kept."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_ssllottery

PACKAGE = Path(pytest_ssllottery.__file__).parent
MAX_LINES = 400
MAX_ROOT_MODULES = 8
# Each subpackage (or root module) may import only from layers below it.
LAYERS = {
    "__main__": 10,
    "plugin": 9,
    "cli": 9,
    "report": 8,
    "gate": 7,
    "analysis": 6,
    "compute": 5,
    "datasets": 4,
    "shapes": 3,
    "suite": 2,
    "stats": 2,
    "checkpoints": 2,
    "spelling": 1,
    "errors": 0,
    "atomic_files": 1,
    "provenance": 1,
    "__init__": 0,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path, modules: set[str]) -> set[str]:
    """Package modules ``path`` imports anywhere (functions too), except under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            for alias in node.names:
                name = f"{target}.{alias.name}"
                found.add(name if name in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in modules and name != module_name(path)}


def graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports(p, modules) for p in files}


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles, except a package's ``__init__`` importing its own submodules (a registry filling itself)."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return [c for c in cycles if not any(all(m == p or m.startswith(p + ".") for m in c) for p in c)]


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycles({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}}) == [["a.x", "a.y", "a.z", "a.x"]]
    assert find_cycles({"a.reg": {"a.reg.loader"}, "a.reg.loader": {"a.reg"}}) == []
    assert find_cycles({"a.x": {"a.y"}, "a.y": set()}) == []


def test_there_is_no_import_cycle() -> None:
    assert find_cycles(graph()) == []


def test_layers_only_import_downwards() -> None:
    upward = []
    for module, targets in graph().items():
        mine = module.split(".")[1] if "." in module else "__init__"
        for target in targets:
            theirs = target.split(".")[1] if "." in target else "__init__"
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine] and theirs != "__init__":
                upward.append((module, target))
    assert upward == []


def test_few_modules_at_the_root_and_none_too_long() -> None:
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_subpackage_and_root_module_has_a_layer() -> None:
    names = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert names <= set(LAYERS), names - set(LAYERS)
