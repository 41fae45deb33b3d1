"""Compose PyYAML's parse events into located nodes, enforcing the bounds as they arrive.

Only events are read, never objects constructed. Depth is checked at each opening bracket, and
the node count wherever a node is attached, an alias counting as a full copy of what it points
at: a "billion laughs" document is refused after a few hundred events, in microseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from kling_batch.manifest.nodes import (
    Document,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    YamlProblem,
)
from kling_batch.manifest.scalars import COLLECTION_TAGS, bad_tag, resolve_plain, tagged_value

# A real manifest nests six levels (manifest, shots, entry, media, item, value); the slack is
# for anchors kept under `x-` keys.
MAX_DEPTH = 64
# About 15 nodes per entry: a 10,000-entry manifest needs 150,000. The cap bounds the memory
# and time of everything after the loader, aliases included.
MAX_NODES = 1_000_000

# YAML reads `{` as the start of a mapping: the commonest mistake with {{variables}}.
QUOTE_TEMPLATES = 'YAML reads {{ as two mappings, so quote a text with variables: "{{brand}} mug"'


class _Open:
    """A mapping or sequence still being read."""

    __slots__ = ("anchor", "first_count", "key", "merges", "node")

    def __init__(self, node: MappingNode | SequenceNode, anchor: str | None, count: int) -> None:
        self.node = node
        self.anchor = anchor
        self.first_count = count
        self.key: ScalarNode | None = None
        self.merges: list[tuple[ScalarNode, Node]] = []


_SKIP_VALUE = ScalarNode(None, "", True, 0, 0)  # stands in for a key that was refused


class Composer:
    """Builds the node tree of the one document that `loader` reads, from its parse events."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self._loader = loader
        self._stack: list[_Open] = []
        self._anchors: dict[str, tuple[Node, int]] = {}
        self._open_anchors: set[str] = set()
        self._count = 0
        self._root: Node | None = None
        self._problems: list[YamlProblem] = []

    def compose(self) -> Document:
        documents = 0
        # Dispatch on the exact class: this loop runs once per event, 150,000 times for a
        # 10,000-entry manifest, and `type(...) is` is the cheapest test.
        get_event: Callable[[], Any] = self._loader.get_event
        stack = self._stack
        scalar_event, mapping_node = yaml.ScalarEvent, MappingNode
        while True:
            event = get_event()
            kind = type(event)
            if kind is scalar_event:
                if (
                    event.tag is not None
                    or event.anchor is not None
                    or not stack
                    or self._count >= MAX_NODES
                ):
                    self._scalar(event)
                    continue
                # The common case, inlined (it is most events): a plain or quoted scalar with
                # neither tag nor anchor, inside a mapping or a list, within the node cap.
                text = event.value
                mark = event.start_mark
                node = ScalarNode(
                    resolve_plain(text) if event.implicit[0] else text,
                    text,
                    not event.style,
                    mark.line + 1,
                    mark.column + 1,
                )
                self._count += 1
                top = stack[-1]
                if type(top.node) is mapping_node and top.key is None:
                    top.key = self._key(node)
                else:
                    self._attach(node)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self._start(event)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                self._end(stack.pop())
            elif kind is yaml.AliasEvent:
                self._alias(event)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise YamlProblem(
                        "KB011",
                        "a manifest is one YAML document; remove this `---` and what follows, "
                        "or split it into another file",
                        *_where(event),
                    )
            elif kind is yaml.StreamEndEvent:
                return Document(self._root, tuple(self._problems))

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        line, column = _where(event)
        text = event.value
        tag = event.tag
        if tag is None:
            value = resolve_plain(text) if event.implicit[0] else text
        else:
            value = tagged_value(tag, text, line, column)
        node = ScalarNode(value, text, not event.style, line, column)
        self._count += 1
        if event.anchor is not None:
            self._anchors[event.anchor] = (node, 1)
        self._attach(node)

    def _start(self, event: yaml.CollectionStartEvent) -> None:
        line, column = _where(event)
        if len(self._stack) >= MAX_DEPTH:
            raise YamlProblem(
                "KB006", f"nesting deeper than {MAX_DEPTH} levels is not allowed", line, column
            )
        node: MappingNode | SequenceNode
        node = (
            MappingNode(line, column)
            if type(event) is yaml.MappingStartEvent
            else SequenceNode(line, column)
        )
        tag = event.tag
        if tag is not None and tag != "!" and COLLECTION_TAGS.get(tag) is not type(node):
            raise bad_tag(tag, line, column)
        self._count += 1
        if event.anchor is not None:
            self._open_anchors.add(event.anchor)
        self._stack.append(_Open(node, event.anchor, self._count))

    def _end(self, open_: _Open) -> None:
        node = open_.node
        if open_.merges:
            assert isinstance(node, MappingNode)
            _merge(node, open_.merges)
        if open_.anchor is not None:
            self._open_anchors.discard(open_.anchor)
            size = self._count - open_.first_count + 1
            self._anchors[open_.anchor] = (node, size)
        self._attach(node)

    def _alias(self, event: yaml.AliasEvent) -> None:
        line, column = _where(event)
        name = event.anchor
        if name in self._open_anchors:
            raise YamlProblem(
                "KB008", f"the alias *{name} is inside its own anchor &{name}", line, column
            )
        if name not in self._anchors:
            message = f"the alias *{name} has no anchor &{name} before it"
            raise YamlProblem("KB008", message, line, column)
        node, size = self._anchors[name]
        self._count += size
        if self._count > MAX_NODES:
            raise YamlProblem(
                "KB007",
                f"the document expands to more than {MAX_NODES:,} nodes "
                f"(the alias *{name} alone stands for {size:,})",
                line,
                column,
            )
        self._attach(node)

    def _attach(self, node: Node) -> None:
        if self._count > MAX_NODES:
            raise YamlProblem(
                "KB007", f"the document has more than {MAX_NODES:,} nodes", node.line, node.column
            )
        if not self._stack:
            self._root = node
            return
        top = self._stack[-1]
        parent = top.node
        if type(parent) is SequenceNode:
            parent.items.append(node)
            return
        assert isinstance(parent, MappingNode)
        key = top.key
        if key is None:
            top.key = self._key(node)
            return
        top.key = None
        if key is _SKIP_VALUE:
            return
        name = key.value
        assert isinstance(name, str)
        if name == "<<" and key.plain:
            top.merges.append((key, node))
        elif name in parent.fields:
            first = parent.keys[name]
            self._problems.append(
                YamlProblem(
                    "KB012",
                    f"`{name}` is already set on line {first.line}; "
                    "YAML keeps only one of them, so remove one",
                    key.line,
                    key.column,
                )
            )
        else:
            parent.fields[name] = node
            parent.keys[name] = key

    def _key(self, node: Node) -> ScalarNode:
        if isinstance(node, ScalarNode) and isinstance(node.value, str):
            return node
        shown = repr(node.text) if isinstance(node, ScalarNode) else "a list or mapping"
        message = f"keys are field names, but this key is {shown}; quote it if it is a name"
        if isinstance(node, MappingNode) and _looks_like_a_variable(node):
            message = f"this is not a key but a {{{{variable}}}}: {QUOTE_TEMPLATES}"
        self._problems.append(YamlProblem("KB013", message, node.line, node.column))
        return _SKIP_VALUE


def _looks_like_a_variable(node: MappingNode) -> bool:
    """`{{brand}}` unquoted: a mapping whose one key is `brand`, with no value."""
    values = list(node.fields.values())
    return len(values) == 1 and isinstance(values[0], ScalarNode) and values[0].value is None


def _where(event: yaml.Event) -> tuple[int, int]:
    """1-based line and column where an event starts."""
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def _merge(node: MappingNode, merges: list[tuple[ScalarNode, Node]]) -> None:
    """Apply `<<` merge keys: keys written in the mapping win, then earlier sources win."""
    for key, source in merges:
        sources = source.items if isinstance(source, SequenceNode) else [source]
        for item in sources:
            if not isinstance(item, MappingNode):
                raise YamlProblem(
                    "KB008",
                    "`<<` merges a mapping (or a list of mappings) into this one, "
                    "usually from an alias: `<<: *common`",
                    key.line,
                    key.column,
                )
            for name, value in item.fields.items():
                if name not in node.fields:
                    node.fields[name] = value
                    node.keys[name] = item.keys[name]
