"""The layout the design promises: imports point down the layers only, there is no import cycle,
and no module is over ~450 lines.

Every import counts, a lazy one inside a function too: a lazy import that points up is still an
upward dependency.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("wrappers", "rlagents", "cli")
MAX_LINES = 450

# Lowest first; a module belongs to the longest prefix that names it. A module may import its
# own layer and the layers below.
LAYERS = [
    ["wrappers"],
    ["rlagents.errors", "rlagents.version"],
    ["rlagents.config", "rlagents.agent", "rlagents.checkpoint"],
    ["rlagents.common", "rlagents.registry", "rlagents.env_snapshot"],
    ["rlagents.agents"],
    ["rlagents.run"],  # the run's parts: envs, steppers, loop, logs, options, tuned sets
    ["rlagents.run.distributed"],  # remote workers on Ray, imported when a run asks for them
    [
        "rlagents.run.env_choice",
        "rlagents.run.plan",
        "rlagents.run.evaluation",
        "rlagents.run.saving",
        "rlagents.run.resume",
        "rlagents.run.report",
        "rlagents.run.runner",
        "rlagents.run.__init__",
    ],
    ["rlagents.experiments", "rlagents.export"],
    ["rlagents.__init__"],  # the facade: what `import rlagents` offers, the run loaded lazily
    ["cli"],
]


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    best, best_len = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def _target(name: str) -> str | None:
    """The module of ours an import names (``a.b`` as the package ``a.b.__init__``)."""
    if name in MODULES:
        return name
    if f"{name}.__init__" in MODULES:
        return f"{name}.__init__"
    return None


def _imports(module: str, path: Path) -> set[str]:
    package = module.rsplit(".", 1)[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base]) if base else ".".join(up)
            # `from a import b`: b is a module of a, or a name inside a
            names = [
                f"{base}.{a.name}" if _target(f"{base}.{a.name}") else base for a in node.names
            ]
        for name in names:
            target = _target(name)
            if target and target != module:
                targets.add(target)
    return targets


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def test_imports_point_down_the_layers():
    upward = [
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert not upward, "\n".join(sorted(upward))


def test_there_is_no_import_cycle():
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the path, 2 done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state[target] == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif state[target] == 0:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if state[module] == 0:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_450_lines(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines; split it along the jobs it does"
