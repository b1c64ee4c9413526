"""The harness's import graph: shallow, drawn in harness/__init__.py, and the trainer imported for its code only."""

import ast
import functools
import inspect
import re
from pathlib import Path

import harness
from harness.training import train

HARNESS = Path(harness.__file__).parent
MAX_LEVEL = 5  # leaves are level 0; the report's assembly may sit at most this high


def module_names() -> dict[str, Path]:
    """'folder.module' (or 'module' at the top) -> its file, for every module of the harness but the packages'
    own `__init__.py` (docstrings only)."""
    return {".".join(path.relative_to(HARNESS).with_suffix("").parts): path
            for path in sorted(HARNESS.rglob("*.py")) if path.name != "__init__.py"}


def imported_names() -> dict[str, dict[str, set[str]]]:
    """module -> {harness module it imports from -> the names it imports} (the packages themselves excluded)."""
    modules = module_names()
    graph: dict[str, dict[str, set[str]]] = {}
    for name, path in modules.items():
        found: dict[str, set[str]] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "harness":
                within = node.module.removeprefix("harness").removeprefix(".")
                if within in modules:  # `from harness.deciding.stats import ALPHA`
                    found.setdefault(within, set()).update(alias.name for alias in node.names)
                for alias in node.names:  # `from harness.deciding import stats`
                    submodule = f"{within}.{alias.name}".lstrip(".")
                    if submodule in modules:
                        found.setdefault(submodule, set())
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.removeprefix("harness.") in modules:
                        found.setdefault(alias.name.removeprefix("harness."), set())
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
    """A module that imports harness/training/train.py uses its code (it may also catch its exceptions); the types that
    flow through the pipeline live in run_set.py, so that reading runs never imports the trainer."""
    only_types = {module: sorted(names) for module, deps in imported_names().items()
                  for dep, names in deps.items()
                  if dep == "training.train" and names and all(inspect.isclass(getattr(train, n)) for n in names)}
    assert not only_types, f"modules importing harness/training/train.py only for types (move them to run_set.py): {only_types}"


# The flow, one folder per step (harness/__init__.py): a folder imports only from the folders before it, so that a
# change to one step never reaches back into an earlier one. Top-level modules (config, settings, atomic) sit apart.
FLOW = ("data", "training", "evidence", "deciding", "reporting", "multiverse")


def test_each_folder_imports_only_from_the_folders_before_it_in_the_flow():
    folders = {path.name for path in HARNESS.iterdir() if (path / "__init__.py").is_file()}
    assert folders == set(FLOW), f"harness's folders {sorted(folders)} are not the flow {FLOW}: update FLOW and the docstring"
    backwards = sorted(
        f"{module} imports {dep}" for module, deps in imported_names().items() for dep in deps
        if "." in module and "." in dep and FLOW.index(dep.split(".")[0]) > FLOW.index(module.split(".")[0]))
    assert not backwards, "imports against the flow " + " -> ".join(FLOW) + ":\n" + "\n".join(backwards)


def test_the_foundation_imports_no_step_of_the_flow():
    """config.py and atomic.py are what every step builds on; they import no folder (settings.py, the resolved
    options, may import any)."""
    assert {m: sorted(deps) for m in ("config", "atomic") if (deps := imported_names()[m])} == {}
