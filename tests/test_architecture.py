"""The package's shape, as the README's layout describes it: modules that a reader can hold in
mind (at most 400 lines) and layers that point one way, read from the source's own imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kling_batch"
MOST_LINES = 400

# Each part of the package, by layer: a part imports only parts of a lower layer, or itself.
# The simulator stands beside the client and imports none of it (it is the service).
LAYERS: list[set[str]] = [
    {"_version", "tables", "hashing", "collector"},
    {"models"},
    {"manifest"},
    {"prices"},
    {"api", "simulator"},
    {"runner"},
    {"entry_status", "delivery"},
    {"plan", "report", "notify"},
    {"batch"},
    {"library"},
    {"__init__"},
    {"cli"},
    {"__main__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


def part_of(dotted: str) -> str:
    """The part a dotted module name belongs to: `kling_batch.runner.state` -> `runner`."""
    names = dotted.split(".")
    return names[1] if len(names) > 1 else "__init__"


def part_of_file(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py") if relative.parts else "__init__"


def imported_parts(path: Path) -> set[str]:
    """The parts of the package that `path` imports, at any depth of its code (lazy imports
    inside functions count as much as those at the top)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {part_of(a.name) for a in node.names if a.name.startswith("kling_batch")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "kling_batch":  # `from kling_batch import models`: a submodule
                for alias in node.names:
                    sub = PACKAGE / alias.name
                    is_module = sub.is_dir() or sub.with_suffix(".py").exists()
                    found.add(alias.name if is_module else "__init__")
            elif node.module.startswith("kling_batch."):
                found.add(part_of(node.module))
    return found


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of_file(path) for path in modules()}
    assert parts == set(RANK), "add the new part to LAYERS (or drop the gone one)"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_its_own_part_or_a_lower_layer(path: Path) -> None:
    own = part_of_file(path)
    upward = sorted(part for part in imported_parts(path) - {own} if RANK[part] >= RANK[own])
    assert upward == [], f"{own} (layer {RANK[own]}) imports {upward}"


def test_the_simulator_imports_nothing_of_the_client_or_the_runner() -> None:
    for path in (PACKAGE / "simulator").rglob("*.py"):
        assert imported_parts(path) - {"simulator"} <= {"hashing", "_version"}, path


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MOST_LINES, f"{path.name}: {lines} lines"
