"""A matrix's combinations: every combination of its axes, less `exclude`, plus `include`.

As in CI matrices, the first axis varies slowest, an exclude item drops every combination that
has all of its values (`{product: lamp}` drops every lamp), and excludes are applied before
includes. Unlike GitHub Actions, an include never adds its keys to the combinations already
there: each include item is one more combination, so that one item is one entry (or one entry
per row and take).

Works on a matrix that passed the schema (`$defs/matrix`): axes are non-empty lists of
scalars; include and exclude items are mappings of scalars.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

from kling_batch.manifest.nodes import FieldPath, MappingNode, Node, ScalarNode, SequenceNode

# Combinations are counted one by one (excludes can drop any of them), so their number before
# excludes is capped: past it, no manifest is meant.
MAX_COMBINATIONS = 1_000_000
_KEYWORDS = ("include", "exclude")


@dataclass(frozen=True)
class Combination:
    """One combination: its values by name (axes first, then an include's own keys)."""

    values: dict[str, ScalarNode]
    keys: dict[str, ScalarNode]  # the key that names each value: its axis, or the include's key
    included: int | None = None  # its index in `include`; None for a product of the axes

    @property
    def label(self) -> str:
        """`product=mug, aspect_ratio=16:9`, as a user would write it."""
        shown = ", ".join(f"{name}={node.text}" for name, node in self.values.items())
        return f"include[{self.included}]: {shown}" if self.included is not None else shown


@dataclass(frozen=True)
class MatrixProblem:
    at: FieldPath  # below the entry: ("matrix", "exclude", 0, "colour")
    node: Node
    message: str
    warning: bool = False


class Matrix:
    """A matrix read from its node: the axes in order, and the include and exclude items."""

    def __init__(self, node: MappingNode) -> None:
        self.node = node
        self.axes: dict[str, list[ScalarNode]] = {}
        for name, value in node.fields.items():
            if name not in _KEYWORDS and isinstance(value, SequenceNode):
                self.axes[name] = [item for item in value.items if isinstance(item, ScalarNode)]
        self.include = _mappings(node.get("include"))
        self.exclude = _mappings(node.get("exclude"))

    @property
    def size(self) -> int:
        """Combinations before excludes, includes added."""
        product = math.prod(len(values) for values in self.axes.values()) if self.axes else 0
        return product + len(self.include)

    def problems(self) -> Iterator[MatrixProblem]:
        """Excludes that name no axis (errors) or a value no axis has (warnings)."""
        for index, item in enumerate(self.exclude):
            at: FieldPath = ("matrix", "exclude", index)
            unknown = [name for name in item.fields if name not in self.axes]
            for name in unknown:
                message = (
                    f"`{name}` is not an axis of this matrix, so this exclude would drop nothing; "
                    f"the axes are: {', '.join(self.axes) or 'none'}"
                )
                yield MatrixProblem((*at, name), item.keys[name], message)
            if unknown:
                continue
            missing = [
                (name, value)
                for name, value in item.fields.items()
                if isinstance(value, ScalarNode) and not _index_of(value, self.axes[name])
            ]
            if missing:
                name, value = missing[0]
                values = ", ".join(node.text for node in self.axes[name])
                message = (
                    f"this exclude drops nothing: {value.text} is not a value of `{name}` "
                    f"({values})"
                )
                yield MatrixProblem((*at, name), value, message, warning=True)

    def combinations(self, keep: int) -> tuple[list[Combination], int]:
        """The first `keep` combinations, and how many there are in all."""
        kept: list[Combination] = []
        total = 0
        names = list(self.axes)
        excluded = [self._pattern(item) for item in self.exclude]
        if self.axes:
            for indexes in itertools.product(*(range(len(v)) for v in self.axes.values())):
                if any(_matches(indexes, pattern) for pattern in excluded):
                    continue
                total += 1
                if len(kept) < keep:
                    values = {n: self.axes[n][i] for n, i in zip(names, indexes, strict=True)}
                    kept.append(Combination(values, self.node.keys))
        for index, item in enumerate(self.include):
            total += 1
            if len(kept) < keep:
                values = {n: v for n, v in item.fields.items() if isinstance(v, ScalarNode)}
                kept.append(Combination(values, item.keys, index))
        return kept, total

    def _pattern(self, item: MappingNode) -> list[tuple[int, int]]:
        """An exclude item as (axis position, value index) pairs; -1 matches nothing."""
        pattern = []
        for position, (name, values) in enumerate(self.axes.items()):
            value = item.fields.get(name)
            if isinstance(value, ScalarNode):
                found = _index_of(value, values)
                pattern.append((position, found[0] if found else -1))
        if any(name not in self.axes for name in item.fields):
            pattern.append((0, -1))  # reported as a problem; it drops nothing
        return pattern


def same_value(a: ScalarNode, b: ScalarNode) -> bool:
    """Equal as YAML values: true is not 1, "5" is not 5, 5 is 5.0."""
    x, y = a.value, b.value
    if isinstance(x, bool) or isinstance(y, bool) or isinstance(x, str) or isinstance(y, str):
        return type(x) is type(y) and x == y
    return x == y


def _index_of(value: ScalarNode, values: list[ScalarNode]) -> list[int]:
    return [index for index, node in enumerate(values) if same_value(value, node)]


def _matches(indexes: tuple[int, ...], pattern: list[tuple[int, int]]) -> bool:
    return all(indexes[position] == wanted for position, wanted in pattern)


def _mappings(node: Node | None) -> list[MappingNode]:
    if not isinstance(node, SequenceNode):
        return []
    return [item for item in node.items if isinstance(item, MappingNode)]
