"""The layering of the package, read from the source: every import goes down (or stays in its own
package), plan/ and filters/ import no torch, and no import cycle runs between packages.

A new package or top-level module must be given its layer in LAYERS; the test names what is missing.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scatlab

ROOT = Path(scatlab.__file__).parent

LAYERS = [
    {"errors", "_openmp"},                                 # the error classes; OpenMP's wait policy (before torch)
    {"_validation"},                                       # parameter checks
    {"filters", "runtime", "io"},                          # filter maths (NumPy); progress, seeds, ranks; atomic files
    {"plan"},                                              # validated parameters, schedules, channel tables (NumPy)
    {"banks"},                                             # filters laid out as tensors for the engines
    {"functional"},                                        # the engines f(x, plan, bank)
    {"nn"},                                                # the transforms as torch modules
    {"testing", "numpy_api", "chem", "synthesis", "networks"},  # built on the transforms
    {"sklearn", "datasets"},                               # scikit-learn adapter; every data reader
    {"learning", "generation"},                            # features, classifiers, regression, training; samplers
    {"theory"},                                            # measurement tools of the theory lab
    {"experiments"},                                       # one module per reproduced result
    {"reproduce", "report"},                               # running and recording experiments; the HTML report
    {"commands"},                                          # what each command does
    {"cli", "__init__"},                                   # argument parsing; the package's facade
    {"__main__"},                                          # python -m scatlab
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
TORCH_FREE = {"filters", "plan", "_openmp"}


def unit(module: str) -> str:
    """The layer unit of a dotted module name inside scatlab: its first component."""
    return module.split(".")[1] if module.count(".") else "__init__"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file, at any depth (function-level ones too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import x: each x may be a module
                    found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
                    continue
            else:
                target = node.module
            found.append((node.lineno, target))
    return found


SOURCES = sorted(ROOT.rglob("*.py"))


def test_every_unit_has_a_layer():
    units = {unit(module_name(p)) for p in SOURCES}
    missing = sorted(units - set(RANK))
    assert not missing, f"give these packages/modules a layer in tests/test_layers.py LAYERS: {missing}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_down(path):
    source = unit(module_name(path))
    wrong = []
    for line, target in imports(path):
        top = target.split(".")[0]
        if source in TORCH_FREE and top == "torch":
            wrong.append(f"{path.relative_to(ROOT)}:{line} imports torch, but {source}/ is torch-free")
        if top != "scatlab" or target == "scatlab":
            continue
        dest = unit(target)
        if dest != source and dest in RANK and RANK[dest] >= RANK[source]:
            wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}: {source} (layer {RANK[source]})"
                         f" may import only layers below it, not {dest} (layer {RANK[dest]})")
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_modules():
    graph = {module_name(p): {t for _, t in imports(p) if t.startswith("scatlab.")} for p in SOURCES}
    graph = {m: {t for t in targets if t in graph and t != m} for m, targets in graph.items()}
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_checks_catch_an_upward_import(tmp_path, monkeypatch):
    """A functional module importing nn, and a plan module importing torch, are named; a cycle too."""
    fake = tmp_path / "scatlab"
    (fake / "functional").mkdir(parents=True)
    (fake / "plan").mkdir()
    (fake / "functional" / "bad.py").write_text("from ..nn import Scattering2D\n")
    (fake / "plan" / "bad.py").write_text("import torch\n")
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    with pytest.raises(AssertionError, match=r"functional/bad.py:1 imports scatlab.nn"):
        test_imports_go_down(fake / "functional" / "bad.py")
    with pytest.raises(AssertionError, match=r"plan/bad.py:1 imports torch"):
        test_imports_go_down(fake / "plan" / "bad.py")
    (fake / "functional" / "a.py").write_text("from . import b\n")
    (fake / "functional" / "b.py").write_text("from .a import f\n")
    monkeypatch.setattr(f"{__name__}.SOURCES", sorted(fake.rglob("*.py")))
    with pytest.raises(pytest.fail.Exception, match=r"import cycle: scatlab.functional.a -> scatlab.functional.b"):
        test_no_cycle_between_modules()
