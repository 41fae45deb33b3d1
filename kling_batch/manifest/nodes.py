"""The YAML document as a tree of nodes that remember where they were written.

The loader builds this tree once; the shape checker, the normaliser and the rules read it, and
any of them can point a diagnostic at the exact node it is about. Nodes are plain slotted
classes rather than frozen dataclasses because the loader fills containers while it reads
events; nothing changes them afterwards. An alias is the same node object seen twice.

A node's `file` is None when it was written in the manifest; expansion (`expand`) builds
entries from nodes of other files too (a `rows:` table), and those name their file.

Reading gives a `Document` (the root and the problems that did not stop reading) or raises a
`YamlProblem` (one that did).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

Scalar = str | int | float | bool | None
# Where a node sits below the root: ("shots", 3, "media", 0, "url").
FieldPath = tuple[str | int, ...]


class ScalarNode:
    """A scalar with its resolved value and, for error hints, the text as written."""

    __slots__ = ("column", "file", "line", "plain", "text", "value")

    def __init__(
        self,
        value: Scalar,
        text: str,
        plain: bool,
        line: int,
        column: int,
        file: Path | None = None,
    ) -> None:
        self.value = value
        self.text = text
        self.plain = plain  # unquoted: the only style whose type is guessed from the text
        self.line = line  # 1-based
        self.column = column  # 1-based, in characters
        self.file = file  # None: the manifest


class MappingNode:
    """A mapping with text keys, in document order; `keys` keeps each key's own node."""

    __slots__ = ("column", "fields", "file", "keys", "line")

    def __init__(self, line: int, column: int, file: Path | None = None) -> None:
        self.fields: dict[str, Node] = {}
        self.keys: dict[str, ScalarNode] = {}
        self.line = line
        self.column = column
        self.file = file

    def get(self, key: str) -> Node | None:
        return self.fields.get(key)


class SequenceNode:
    __slots__ = ("column", "file", "items", "line")

    def __init__(self, line: int, column: int, file: Path | None = None) -> None:
        self.items: list[Node] = []
        self.line = line
        self.column = column
        self.file = file


Node = ScalarNode | MappingNode | SequenceNode


@dataclass(frozen=True)
class YamlProblem(Exception):
    """A problem found while reading; `line == 0` means the file as a whole."""

    code: str
    message: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Document:
    """The root node (None for an empty document) and the problems that did not stop reading."""

    root: Node | None
    problems: tuple[YamlProblem, ...]


def field_label(at: FieldPath) -> str:
    """("media", 1, "url") -> "media[1].url"."""
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def stamp(node: Node, file: Path) -> None:
    """Mark every node of a tree read from `file` (not the manifest) as coming from it."""
    node.file = file
    if isinstance(node, MappingNode):
        for key in node.keys.values():
            key.file = file
        for value in node.fields.values():
            stamp(value, file)
    elif isinstance(node, SequenceNode):
        for item in node.items:
            stamp(item, file)


def to_python(node: Node) -> Any:
    """The plain value of a node (dicts, lists, scalars): for tests and debugging."""
    if isinstance(node, ScalarNode):
        return node.value
    if isinstance(node, MappingNode):
        return {key: to_python(value) for key, value in node.fields.items()}
    return [to_python(item) for item in node.items]


def kind_of(node: Node) -> str:
    """How a node reads to a user: 'a mapping', 'a list', 'the integer 969'."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    value = node.value
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {node.text}"
    shown = value if len(value) <= 40 else value[:37] + "..."
    return f"the text {shown!r}"
