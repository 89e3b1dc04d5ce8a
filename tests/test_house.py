"""The house: no import cycle, one-way dependencies, light imports, no file-name prefix family."""

from __future__ import annotations

import ast
import collections
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("selectivity", "tasks", "eyetracking", "stimuli", "analysis")
HEAVY = ("torch", "torchvision", "psychopy", "pylink")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(root: Path) -> dict[str, Path]:
    return {
        _module_name(path, root): path
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
    }


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> project modules it imports, at module level or inside functions.

    ``from package import name`` counts as an import of ``package.name`` when
    that is a module, else of ``package``.
    """
    sources = _sources(root)
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    full = f"{module}.{alias.name}"
                    targets.add(full if full in sources else module)
        resolved = set()
        for target in targets:
            while target and target not in sources:
                target = target.rpartition(".")[0]
            if target and target != name:
                resolved.add(target)
        graph[name] = resolved
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (each an import cycle)."""
    names = sorted(graph)
    index = {name: i for i, name in enumerate(names)}
    rows = [index[a] for a in names for b in graph[a]]
    cols = [index[b] for a in names for b in graph[a]]
    matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    groups = collections.defaultdict(list)
    for name, label in zip(names, labels, strict=True):
        groups[label].append(name)
    return sorted(group for group in groups.values() if len(group) > 1)


def test_cycle_finder_finds_a_planted_cycle(tmp_path):
    (tmp_path / "analysis" / "metrics").mkdir(parents=True)
    (tmp_path / "analysis" / "__init__.py").write_text("")
    (tmp_path / "analysis" / "a.py").write_text("def f():\n    from .metrics import _x\n")
    (tmp_path / "analysis" / "metrics" / "__init__.py").write_text("from ._x import g\n")
    (tmp_path / "analysis" / "metrics" / "_x.py").write_text("from analysis import a\n")
    (tmp_path / "analysis" / "b.py").write_text("from . import a\n")
    cycles = import_cycles(import_graph(tmp_path))
    assert cycles == [["analysis.a", "analysis.metrics._x"]]


def test_no_import_cycle():
    cycles = import_cycles(import_graph(ROOT))
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


# Who may import whom (DESIGN.md): the wings never reach up to the command line or the demo;
# stimuli and eyetracking use neither tasks nor analysis; analysis does not use tasks.
FORBIDDEN = {
    "eyetracking": ("tasks", "analysis", "stimuli", "selectivity.cli", "selectivity.demo"),
    "stimuli": ("tasks", "analysis", "eyetracking", "selectivity.cli", "selectivity.demo"),
    "analysis": ("tasks", "selectivity.cli", "selectivity.demo"),
    "tasks": ("analysis", "selectivity.cli", "selectivity.demo"),
}


def test_dependencies_point_one_way():
    wrong = []
    for module, targets in import_graph(ROOT).items():
        wing = module.split(".")[0]
        for target in targets:
            if any(target == f or target.startswith(f + ".") for f in FORBIDDEN.get(wing, ())):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_file_name_prefix_family():
    """Three or more private modules in one folder sharing a first word are a sub-package in all
    but name (``_ais_core.py``, ``_ais_graph.py``, ...): they belong in a folder."""
    families = collections.Counter()
    for path in _sources(ROOT).values():
        match = re.fullmatch(r"_([a-z0-9]+)_\w+\.py", path.name)
        if match:
            families[(path.parent.relative_to(ROOT).as_posix(), match.group(1))] += 1
    assert [f"{folder}/_{word}_*" for (folder, word), n in families.items() if n >= 3] == []


def _loaded_heavy(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_light(package):
    """Package ``__init__`` files stay light: tasks import PsychoPy when they run, stimuli its
    network names on first use."""
    assert _loaded_heavy(f"import {package}") == []


@pytest.mark.parametrize("package", ["analysis", "eyetracking"])
def test_public_modules_of_analysis_and_eyetracking_import_light(package):
    """Offline analysis runs on a laptop without torch, PsychoPy or pylink: every public module of
    these two packages imports without them (private network parts such as ``analysis.ais._engines``
    and the EyeLink calibration display load them when a function needs them)."""
    modules = sorted(
        m
        for m in _sources(ROOT)
        if (m == package or m.startswith(package + "."))
        and not any(part.startswith("_") for part in m.split("."))
    )
    assert len(modules) > 5
    assert _loaded_heavy("\n".join(f"import {m}" for m in modules)) == []


def test_light_imports_see_the_packages_light():
    """The probe itself can fail: importing a module that loads torch is reported."""
    pytest.importorskip("torch")
    assert "torch" in _loaded_heavy("import stimuli.attribution")
