"""The house rules of DESIGN.md, checked on the source: one-way imports, no cycles, no private reach-ins."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("twin", "layers", "engines", "synth", "shell", "mapapp", "service")

#: package -> the project packages it may import (DESIGN.md, "The rooms").
ALLOWED = {
    "twin": {"twin"},
    "layers": {"twin", "layers"},
    "engines": {"twin", "layers", "engines"},
    "synth": {"twin", "layers", "synth"},
    "shell": {"twin", "layers", "engines", "synth", "shell", "service"},
    "mapapp": {"twin", "layers", "engines", "mapapp"},
    "service": {"twin", "layers", "engines", "service", "mapapp"},
}
#: package -> the only modules of ``mapapp`` it may import (the service takes the app's labels).
MAPAPP_ONLY = {"service": ("mapapp.i18n",)}
#: package -> the only modules of ``layers`` it may import (the app encodes its downloads there).
LAYERS_ONLY = {"mapapp": ("layers.io.export",)}


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    out["app"] = REPO / "app.py"
    return out


SOURCES = _sources()


def _imports(path: Path, name: str) -> list[tuple[str, list[str], int]]:
    """``(module, imported names, line)`` of every import in a file, at any depth."""
    tree = ast.parse(path.read_text("utf-8"))
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, mod] if mod else base)
            out.append((mod, [a.name for a in node.names], node.lineno))
    return out


def _resolve(mod: str, names: list[str]) -> list[str]:
    """The project modules an import statement loads."""
    found = []
    if mod in SOURCES:
        found.append(mod)
    for n in names:
        if f"{mod}.{n}" in SOURCES:
            found.append(f"{mod}.{n}")
    return found


GRAPH = {name: sorted({m for mod, names, _ in _imports(path, name) for m in _resolve(mod, names)} - {name})
         for name, path in SOURCES.items()}


def test_every_package_imports_only_what_it_stands_on():
    bad = []
    for name, path in SOURCES.items():
        top = name.split(".")[0]
        if top == "app":
            continue
        for mod, _, line in _imports(path, name):
            target = mod.split(".")[0]
            if target in PACKAGES and target not in ALLOWED[top]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {mod}")
    assert not bad, "\n".join(bad)


def test_the_app_uses_layers_only_for_its_exports():
    bad = []
    for name, path in SOURCES.items():
        allowed = LAYERS_ONLY.get(name.split(".")[0])
        if allowed is None:
            continue
        bad += [f"{path.relative_to(REPO)}:{line} imports {mod}" for mod, _, line in _imports(path, name)
                if mod.split(".")[0] == "layers" and mod not in allowed]
    assert not bad, "\n".join(bad)


def test_the_service_uses_the_app_only_for_its_labels():
    bad = []
    for name, path in SOURCES.items():
        allowed = MAPAPP_ONLY.get(name.split(".")[0])
        if allowed is None:
            continue
        bad += [f"{path.relative_to(REPO)}:{line} imports {mod}" for mod, _, line in _imports(path, name)
                if mod.split(".")[0] == "mapapp" and mod not in allowed]
    assert not bad, "\n".join(bad)


def test_no_import_cycle():
    import networkx as nx

    g = nx.DiGraph([(a, b) for a, deps in GRAPH.items() for b in deps])
    # a package's __init__ importing its own submodules is not a cycle of the design
    cycles = [c for c in nx.simple_cycles(g)
              if not all(m == c[0] or m.startswith(c[0] + ".") or c[0].startswith(m + ".") for m in c)]
    assert not cycles, cycles[:5]


@pytest.mark.parametrize("library,allowed", [
    ("streamlit", ("mapapp", "app")),
    ("duckdb", ("twin.store",)),
    ("click", ("shell",)),
    ("dask", ("shell.batch",)),
])
def test_heavy_libraries_stay_in_their_rooms(library, allowed):
    bad = []
    for name, path in SOURCES.items():
        if name == allowed or any(name == a or name.startswith(a + ".") for a in allowed):
            continue
        for mod, _, line in _imports(path, name):
            if mod.split(".")[0] == library:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {mod}")
    assert not bad, "\n".join(bad)


def test_no_private_names_imported_across_modules():
    bad = []
    for name, path in SOURCES.items():
        for mod, names, line in _imports(path, name):
            if mod.split(".")[0] in PACKAGES and mod != name:
                bad += [f"{path.relative_to(REPO)}:{line} imports {mod}.{n}" for n in names
                        if n.startswith("_") and not n.startswith("__") and f"{mod}.{n}" not in SOURCES]
    assert not bad, "\n".join(bad)


def test_engines_are_listed_once_and_complete():
    from engines.registry import ENGINES, STAGES

    assert len(STAGES) == len(set(STAGES))
    outputs = [n for e in ENGINES.values() for n in (*e.results, *e.tables)]
    assert len(outputs) == len(set(outputs)), "two engines claim one output"
    for e in ENGINES.values():
        assert e.params.__dataclass_params__.frozen
        e.params()  # defaults are valid


#: Method names that run SQL on a DuckDB connection or relation.
_SQL_METHODS = {"execute", "executemany", "sql", "query_df", "from_query"}
_SQL_TEXT = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\b(?:INSERT\s+INTO|CREATE\s+(?:OR\s+REPLACE\s+)?TABLE|"
                       r"DROP\s+TABLE|DELETE\s+FROM|UPDATE\s+\w+\s+SET)\b")


def _functions(tree: ast.AST):
    """``(function name or "", node)`` of every node, the name of its innermost enclosing function."""
    def walk(node, owner):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else owner
            yield name, child
            yield from walk(child, name)
    yield from walk(tree, "")


def test_only_the_store_runs_sql():
    """DESIGN.md: ``twin.store`` is the only code that talks to DuckDB, so the only code with SQL."""
    bad = []
    for name, path in SOURCES.items():
        if name == "twin.store":
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for _owner, node in _functions(tree):
            where = f"{path.relative_to(REPO)}:{getattr(node, 'lineno', '?')}"
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _SQL_METHODS):
                bad.append(f"{where} calls .{node.func.attr}(")
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and _SQL_TEXT.search(node.value)):
                bad.append(f"{where} holds SQL text {node.value[:60]!r}")
    assert not bad, "\n".join(bad)
