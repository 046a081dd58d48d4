"""The import graph stays one-way: core (attune/) < ingest < signals < api.

Every module is parsed (not imported) and every import counted, including the ones inside
functions and under ``TYPE_CHECKING``: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"attune": "attune", "attune.ingest": "ingest", "attune.signals": "signals", "attune.api": "api"}
LAYERS = ["attune", "attune.ingest", "attune.signals", "attune.api"]  # each may import only those before it
ENTRY_POINT = "attune.cli"  # the command line: imports every layer, imported by nothing
# siblings inside one layer that must not lean on each other
SIBLINGS_APART = [("attune.signals.live", "attune.signals.batch"), ("attune.signals.batch", "attune.signals.live")]


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Absolute names of the attune modules ``name`` imports."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # `from attune.api import app`
    modules = _modules()
    return {m for m in out if m in modules and m != name}


def _layer(module: str) -> int:
    return max(i for i, layer in enumerate(LAYERS) if module == layer or module.startswith(layer + "."))


def _graph() -> dict[str, set[str]]:
    return {name: _imports(name, path) for name, path in _modules().items()}


def test_every_package_is_found() -> None:
    modules = _modules()
    assert {"attune.cli", "attune.ingest.recorder", "attune.signals.live", "attune.api.app"} <= set(modules)


def test_layers_import_only_downwards() -> None:
    wrong = [f"{a} imports {b}" for a, targets in _graph().items() if a != ENTRY_POINT
             for b in sorted(targets) if _layer(b) > _layer(a)]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_cli_entry_point() -> None:
    wrong = [a for a, targets in _graph().items() if ENTRY_POINT in targets]
    assert not wrong, f"{ENTRY_POINT} is imported by {wrong}"


def test_no_import_cycles() -> None:
    """Not even lazy ones (the routes once took their dependencies from the app that
    includes them)."""
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_live_and_batch_share_the_pipeline_not_each_other() -> None:
    graph = _graph()
    wrong = [f"{a} imports {b}" for a, b in SIBLINGS_APART if b in graph[a]]
    assert not wrong, "\n".join(wrong)
