"""Templates over nodes: compile a tree once, then fill it in for each set of variables.

`compile_tree` finds every text with a `{{place}}` below a node and returns a `Filler` that
builds the tree with those texts filled in, or None when there is none (the node is then used
as it is, shared by every entry made from it). A filled-in text keeps the place and the file of
its template, so a diagnostic about it points at what the author wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kling_batch.manifest.nodes import FieldPath, MappingNode, Node, ScalarNode, SequenceNode
from kling_batch.manifest.templates import Template, TemplateSyntax, compile_template

Values = Mapping[str, str]


class BadTemplate(Exception):
    """A text with a `{{` that is not a place; `at` is its field path."""

    def __init__(self, node: ScalarNode, at: FieldPath, problem: TemplateSyntax) -> None:
        super().__init__(problem.message)
        self.node = node
        self.at = at
        self.message = problem.message


@dataclass
class Sites:
    """Where each variable is first used below a node, for diagnostics about it."""

    first: dict[str, tuple[ScalarNode, FieldPath]] = field(default_factory=dict)

    def add(self, name: str, node: ScalarNode, at: FieldPath) -> None:
        self.first.setdefault(name, (node, at))

    @property
    def names(self) -> set[str]:
        return set(self.first)


class Filler:
    """Builds one node with its texts filled in."""

    __slots__ = ()

    def fill(self, values: Values) -> Node:
        raise NotImplementedError


class _Text(Filler):
    __slots__ = ("node", "template")

    def __init__(self, node: ScalarNode, template: Template) -> None:
        self.node = node
        self.template = template

    def fill(self, values: Values) -> ScalarNode:
        node = self.node
        text = self.template.render(values)
        return ScalarNode(text, text, False, node.line, node.column, node.file)


class _Mapping(Filler):
    __slots__ = ("fillers", "node")

    def __init__(self, node: MappingNode, fillers: dict[str, Filler]) -> None:
        self.node = node
        self.fillers = fillers

    def fill(self, values: Values) -> MappingNode:
        node = self.node
        made = MappingNode(node.line, node.column, node.file)
        made.keys = node.keys  # never changed after reading: shared
        fillers = self.fillers
        made.fields = {
            name: fillers[name].fill(values) if name in fillers else child
            for name, child in node.fields.items()
        }
        return made


class _Sequence(Filler):
    __slots__ = ("fillers", "node")

    def __init__(self, node: SequenceNode, fillers: dict[int, Filler]) -> None:
        self.node = node
        self.fillers = fillers

    def fill(self, values: Values) -> SequenceNode:
        node = self.node
        made = SequenceNode(node.line, node.column, node.file)
        fillers = self.fillers
        made.items = [
            fillers[index].fill(values) if index in fillers else item
            for index, item in enumerate(node.items)
        ]
        return made


def compile_tree(node: Node, at: FieldPath, sites: Sites) -> Filler | None:
    """The filler of `node` (at `at` below the entry), or None when it holds no place.

    Records in `sites` where each variable is used; raises BadTemplate.
    """
    if isinstance(node, ScalarNode):
        if not isinstance(node.value, str):
            return None
        try:
            template = compile_template(node.value)
        except TemplateSyntax as problem:
            raise BadTemplate(node, at, problem) from None
        if template is None:
            return None
        for name in template.names:
            sites.add(name, node, at)
        return _Text(node, template)
    if isinstance(node, MappingNode):
        fields = {}
        for name, child in node.fields.items():
            filler = compile_tree(child, (*at, name), sites)
            if filler is not None:
                fields[name] = filler
        return _Mapping(node, fields) if fields else None
    items = {}
    for index, item in enumerate(node.items):
        filler = compile_tree(item, (*at, index), sites)
        if filler is not None:
            items[index] = filler
    return _Sequence(node, items) if items else None


def has_place(node: Node) -> bool:
    """Whether any text below `node` holds a `{{` (a place, a literal or a mistake)."""
    if isinstance(node, ScalarNode):
        value = node.value
        return isinstance(value, str) and "{{" in value
    if isinstance(node, MappingNode):
        return any(has_place(child) for child in node.fields.values())
    return any(has_place(item) for item in node.items)


def count_nodes(node: Node) -> int:
    """Nodes in a tree, a shared node counted each time it is met (as the loader counts)."""
    if isinstance(node, ScalarNode):
        return 1
    if isinstance(node, MappingNode):
        return 1 + sum(1 + count_nodes(child) for child in node.fields.values())  # keys too
    return 1 + sum(count_nodes(item) for item in node.items)
