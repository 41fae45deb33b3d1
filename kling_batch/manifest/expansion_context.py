"""What the entries of one manifest share while they are expanded, and how one was made.

`Context` holds the manifest's variables and entry cap, the ids taken so far (to name both
sources of a collision), the rows files read, the nodes made, and the diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kling_batch.manifest import rows as tables
from kling_batch.manifest.diagnostics import Diagnostic, Severity
from kling_batch.manifest.model import Origin, Position
from kling_batch.manifest.nodes import FieldPath, MappingNode, Node, ScalarNode, field_label
from kling_batch.manifest.shape import Shape, definition
from kling_batch.manifest.shape_messages import did_you_mean, span

EXPANSION_FIELDS = ("vars", "matrix", "takes", "rows")


@dataclass(frozen=True)
class Made:
    """How an expanded entry was made: its source, and its take of a group."""

    origin: Origin
    group: str | None = None
    take: int | None = None


@dataclass(frozen=True)
class _Claim:
    where: Callable[[], str]  # "line 7 (product=mug, aspect_ratio=16:9)", made when needed
    expanded: bool


class Context:
    """What the entries of one manifest share while they are expanded."""

    def __init__(self, file: Path, variables: dict[str, str], cap: int) -> None:
        self.file = file
        self.vars = variables
        self.cap = cap
        self.diagnostics: list[Diagnostic] = []
        self._claims: dict[str, _Claim] = {}
        self._tables: dict[tuple[Path, str], tables.Table] = {}
        self.nodes = 0  # made by expansion, against the loader's cap

    def claim(
        self, identifier: str, node: ScalarNode, expanded: bool, where: Callable[[], str]
    ) -> bool:
        """Take `identifier`; False (and reported) when an expansion made it already.

        `where` says where the entry comes from, for the message. Two written entries with
        one id are the rules' to report (KB220).
        """
        first = self._claims.get(identifier)
        if first is None:
            self._claims[identifier] = _Claim(where, expanded)
            return True
        if not expanded and not first.expanded:
            return True
        message = (
            f"the id {identifier!r} is made twice: {where()}, and {first.where()}; ids name output "
            "folders, so put what tells these entries apart in the id (a variable of the matrix "
            "or the row)"
        )
        self.report(node, "KB404", message, identifier, ("id",))
        return False

    def table(self, written: ScalarNode, kind: str) -> tables.Table:
        assert isinstance(written.value, str)
        path, shown = tables.resolve(self.file, written.value)
        key = (path, kind)
        if key not in self._tables:
            self._tables[key] = tables.read_table(path, shown, field_kinds(kind))
        return self._tables[key]

    def report(
        self,
        node: Node,
        code: str,
        message: str,
        entry: str | None,
        at: FieldPath,
        severity: Severity = Severity.ERROR,
    ) -> None:
        position = Position(node.file or self.file, node.line, node.column)
        label = field_label(at) or None
        self.diagnostics.append(Diagnostic(position, severity, code, message, entry, label))


@cache
def field_kinds(kind: str) -> dict[str, tables.FieldKind]:
    """The fields of a shot or a storyboard, by name, as a matrix axis or a column sets them."""
    return {
        name: _field_kind(shape)
        for name, shape in definition(kind).properties.items()
        if name not in EXPANSION_FIELDS
    }


def _field_kind(shape: Shape) -> tables.FieldKind:
    while shape.ref is not None and shape.types is None and shape.enum is None:
        shape = shape.ref
    if shape.enum is not None:
        return tables.FieldKind("string", "use one of: " + ", ".join(map(str, shape.enum)))
    bounded = shape.minimum is not None or shape.maximum is not None
    advice = span(shape.minimum, shape.maximum) if bounded else ""
    return tables.FieldKind(shape.types[0] if shape.types else "string", advice)


def texts(node: Node | None) -> dict[str, str]:
    """The values of a `vars:` mapping, as text as written."""
    if not isinstance(node, MappingNode):
        return {}
    return {
        name: "" if value.value is None else value.text
        for name, value in node.fields.items()
        if isinstance(value, ScalarNode)
    }


def unknown_variable(name: str, values: Iterable[str]) -> str:
    known = sorted(values)
    message = f"`{{{{{name}}}}}` names no variable"
    guess = did_you_mean(name, known)
    if guess:
        message += f"; did you mean `{guess}`?"
    if known:
        return message + f" (the variables here: {', '.join(known)})"
    return (
        message
        + f"; define it in `vars:` ({{{name}: ...}}), or write a literal {{{{ as "
        + '{{ "{{" }}'
    )
