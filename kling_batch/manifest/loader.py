"""Read a manifest file into a tree of located nodes, safely and within bounds.

Safety comes from never constructing objects: libyaml (or PyYAML's pure-Python parser when
libyaml is missing) only produces parse events, and this module turns them into `nodes` itself.
That also lets every bound be enforced while reading, before any work is wasted:

- the file size, checked before reading (and again while reading, for pipes and devices);
- the nesting depth, checked at each opening bracket;
- the node count, where an alias counts as a full copy of what it points at, so a
  "billion laughs" document is refused after a few hundred events, in microseconds;
- tags: only the YAML core ones (`!!str`, `!!int`, ...); `!!python/...` and custom tags fail.

Scalars resolve by the YAML 1.2 core schema, the one yaml-language-server uses, instead of
PyYAML's YAML 1.1: `16:9` stays the text "16:9" (1.1 reads the integer 969) and `yes`/`no`/`on`
stay text (1.1 reads booleans), so what an editor shows is what the manifest means.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kling_batch.manifest.nodes import MappingNode, Node, Scalar, ScalarNode, SequenceNode

MAX_FILE_BYTES = 10 * 1024 * 1024
# A real manifest nests six levels (manifest, shots, entry, media, item, value); the slack is
# for anchors kept under `x-` keys.
MAX_DEPTH = 64
# About 15 nodes per entry: a 10,000-entry manifest needs 150,000. The cap bounds the memory
# and time of everything after the loader, aliases included.
MAX_NODES = 1_000_000

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def read_text(path: Path) -> str:
    """The file's text, refusing what is not a readable UTF-8 file of at most MAX_FILE_BYTES."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise _too_large(size)
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise YamlProblem("KB001", "no such file") from None
    except IsADirectoryError:
        raise YamlProblem("KB001", "this is a folder, not a manifest file") from None
    except PermissionError:
        raise YamlProblem("KB001", "permission denied") from None
    except OSError as exc:
        raise YamlProblem("KB001", f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(None)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _byte_location(data, exc.start)
        raise YamlProblem("KB003", "the file is not UTF-8 text", line, column) from None
    bad = _CONTROL.search(text)
    if bad:
        line, column = _char_location(text, bad.start())
        raise YamlProblem(
            "KB004",
            f"control character U+{ord(bad.group()):04X} is not allowed in YAML",
            line,
            column,
        )
    return text


def parse(text: str) -> Document:
    """Compose the single YAML document of `text` into located nodes."""
    loader = _PARSER(text)
    try:
        return _Composer(loader).compose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_problem(exc, text) from None
    except yaml.YAMLError as exc:
        raise YamlProblem("KB004", f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


# --- scalars: the YAML 1.2 core schema -------------------------------------------------------

_WORDS: dict[str, Scalar] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    ".inf": float("inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "+.inf": float("inf"),
    "+.Inf": float("inf"),
    "+.INF": float("inf"),
    "-.inf": float("-inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_NUMBER_START = frozenset("0123456789+-.")
# C0 controls other than tab, LF and CR, DEL, C1 controls other than NEL, and surrogates:
# what the YAML spec excludes from a stream.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def resolve_plain(text: str) -> Scalar:
    """The value of an unquoted scalar under the YAML 1.2 core schema."""
    if text in _WORDS:
        return _WORDS[text]
    if text[0] in _NUMBER_START:
        try:
            if _INT.match(text):
                return int(text)
            if _FLOAT.match(text):
                return float(text)
        except ValueError:  # more digits than int() accepts: keep the text
            return text
        if _OCT.match(text):
            return int(text[2:], 8)
        if _HEX.match(text):
            return int(text[2:], 16)
    return text


_CORE = "tag:yaml.org,2002:"
_COLLECTION_TAGS = {f"{_CORE}map": MappingNode, f"{_CORE}seq": SequenceNode}


def _tagged(tag: str, text: str, line: int, column: int) -> Scalar:
    """The value of a scalar with an explicit core tag such as `!!str`."""
    name = tag.removeprefix(_CORE)
    if tag == "!" or name == "str":
        return text
    if tag.startswith(_CORE) and name in ("int", "float", "bool", "null"):
        value = resolve_plain(text)
        is_bool = isinstance(value, bool)
        if (name == "bool" and is_bool) or (name == "null" and value is None):
            return value
        if name == "int" and isinstance(value, int) and not is_bool:
            return value
        if name == "float" and isinstance(value, int | float) and not is_bool:
            return float(value)
        raise YamlProblem("KB009", f"!!{name} cannot read {text!r}", line, column)
    raise _bad_tag(tag, line, column)


def _bad_tag(tag: str, line: int, column: int) -> YamlProblem:
    shown = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
    return YamlProblem(
        "KB009",
        f"the tag {shown} is not allowed: a manifest holds plain data only "
        "(text, numbers, true/false, lists, mappings)",
        line,
        column,
    )


# --- composing events into nodes -------------------------------------------------------------


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


class _Composer:
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
        while True:
            event = get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                self._scalar(event)
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
            value = _tagged(tag, text, line, column)
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
        if tag is not None and tag != "!" and _COLLECTION_TAGS.get(tag) is not type(node):
            raise _bad_tag(tag, line, column)
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
        self._problems.append(
            YamlProblem(
                "KB013",
                f"keys are field names, but this key is {shown}; quote it if it is a name",
                node.line,
                node.column,
            )
        )
        return _SKIP_VALUE


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


# --- error messages --------------------------------------------------------------------------


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line, mark.column) if mark else (0, 0)
    lines = text.splitlines()
    source = lines[line] if line < len(lines) else ""
    indent = source[: len(source) - len(source.lstrip(" \t"))]
    if "\t" in indent:
        return YamlProblem(
            "KB005",
            "a tab is used for indentation here; YAML indents with spaces only",
            line + 1,
            indent.index("\t") + 1,
        )
    problem = exc.problem or "invalid YAML"
    message = f"invalid YAML: {problem}"
    context_mark = exc.context_mark
    if exc.context and context_mark is not None and context_mark.line != line:
        message += f" ({exc.context} that starts on line {context_mark.line + 1})"
    if "mapping values are not allowed" in problem:
        message += (
            "; a colon followed by a space starts a new key, so quote text that contains one: "
            'prompt: "Scene: a cat"'
        )
    return YamlProblem("KB004", message, line + 1, column + 1)


def _too_large(size: int | None) -> YamlProblem:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    shown = f"{size / (1024 * 1024):.1f} MB" if size is not None else f"more than {limit} MB"
    return YamlProblem(
        "KB002",
        f"the file is {shown}; manifests are limited to {limit} MB "
        "(split it into several manifests)",
    )


def _byte_location(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    prefix = data[line_start:offset].decode("utf-8", errors="replace")
    return data.count(b"\n", 0, offset) + 1, len(prefix) + 1


def _char_location(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1
