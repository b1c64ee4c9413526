"""The harness's import graph: shallow, drawn in harness/__init__.py, and the trainer imported for its code only."""

import ast
import functools
import inspect
import re
from pathlib import Path

import harness
from harness import train

HARNESS = Path(harness.__file__).parent
MAX_LEVEL = 5  # leaves are level 0; the report's assembly may sit at most this high


def imported_names() -> dict[str, dict[str, set[str]]]:
    """module -> {harness module it imports from -> the names it imports} (the package itself excluded)."""
    modules = {path.stem for path in HARNESS.glob("*.py")} - {"__init__"}
    graph: dict[str, dict[str, set[str]]] = {}
    for name in modules:
        found: dict[str, set[str]] = {}
        for node in ast.walk(ast.parse((HARNESS / f"{name}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "harness":
                for alias in node.names:
                    if alias.name in modules:  # `from harness import stats`
                        found.setdefault(alias.name, set())
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness."):
                found.setdefault(node.module.split(".")[1], set()).update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("harness."):
                        found.setdefault(alias.name.split(".")[1], set())
        found.pop(name, None)
        graph[name] = found
    return graph


def levels(graph: dict[str, dict[str, set[str]]]) -> dict[str, int]:
    """Level 0 for a module that imports no other harness module, else 1 + its highest import's level."""
    @functools.cache
    def level(name: str) -> int:
        return 1 + max((level(dep) for dep in graph[name]), default=-1)

    return {name: level(name) for name in graph}


def drawn_levels() -> dict[str, int]:
    """The drawing in harness/__init__.py's docstring: lines '    <level>  <module>  <module> ...'."""
    return {module: int(level) for level, modules in re.findall(r"^    (\d)  (.+)$", harness.__doc__, re.MULTILINE)
            for module in modules.split()}


def test_the_graph_is_at_most_five_levels_deep_and_drawn_as_it_is():
    measured = levels(imported_names())
    assert max(measured.values()) <= MAX_LEVEL, {m: lv for m, lv in measured.items() if lv > MAX_LEVEL}
    assert drawn_levels() == measured, (
        "harness/__init__.py's import drawing is stale; the levels are now:\n" + "\n".join(
            f"    {lv}  " + "  ".join(sorted(m for m, x in measured.items() if x == lv))
            for lv in sorted(set(measured.values()))))


def test_no_module_imports_the_trainer_for_a_type():
    """A module that imports harness/train.py uses its code (it may also catch its exceptions); the types that
    flow through the pipeline live in run_set.py, so that reading runs never imports the trainer."""
    only_types = {module: sorted(names) for module, deps in imported_names().items()
                  for dep, names in deps.items()
                  if dep == "train" and names and all(inspect.isclass(getattr(train, n)) for n in names)}
    assert not only_types, f"modules importing harness/train.py only for types (move them to run_set.py): {only_types}"
