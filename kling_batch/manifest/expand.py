"""Expansion: `vars`, `matrix`, `rows` and `takes` made into plain entries, on the node tree.

It runs after the YAML is read and before the schema, the normaliser and the rules, which then
see plain entries only: every rule that applies to a written entry applies to each expanded
one. An expanded entry is made of its source entry's nodes (a filled-in text keeps its
template's place) and of its row's (which keep the rows file), so a diagnostic about it names
the line the author wrote, or the row's file and line, with the expanded id. Nodes without a
template are shared by the entries made from them, not copied.

Expansion reports what only it can see (KB4xx): unknown variables, a `{{` that is no place, an
axis that would make look-alikes, an id made twice, rows files and rows, too many entries. The
shapes of `vars`, `matrix`, `takes` and `rows` are the schema's (`shape.definition`): an entry
whose expansion fields fail it is left out, and so is every entry that uses expansion when the
manifest's own `vars:` or `max_entries:` fails it (the schema reports that, on the whole tree).
`defaults` are filled in from the manifest's `vars:` alone, since every entry shares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from kling_batch.manifest.diagnostics import Diagnostic
from kling_batch.manifest.expand_entry import EntryExpansion
from kling_batch.manifest.expansion_context import (
    EXPANSION_FIELDS,
    Context,
    Made,
    texts,
    unknown_variable,
)
from kling_batch.manifest.fill import BadTemplate, Sites, compile_tree, has_place
from kling_batch.manifest.nodes import FieldPath, MappingNode, Node, ScalarNode, SequenceNode
from kling_batch.manifest.schema import schema
from kling_batch.manifest.shape import ShapeError, definition, manifest_shape

__all__ = ["EXPANSION_FIELDS", "Expansion", "Made", "expand", "needs_expansion"]

SECTIONS = {"shots": "shot", "storyboards": "storyboard"}


@dataclass(frozen=True)
class Expansion:
    """The tree to check, and what expansion learnt and found.

    `made` tells, by (section, index) in `root`, how each expanded entry was made;
    `shape_errors` are schema errors of expansion fields, at paths of the written tree;
    `broken` names the sections with an entry that was left out.
    """

    root: Node
    made: Mapping[tuple[str, int], Made] = field(default_factory=dict)
    shape_errors: tuple[ShapeError, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    broken: frozenset[str] = frozenset()


def expand(root: Node, file: Path, templates: bool = True) -> Expansion:
    """Expand the manifest `root` read from `file`; the same tree when nothing is to expand.

    `templates=False` says that the file holds no `{{` at all (one scan of its text), which
    spares looking for one in every text of every entry.
    """
    if not isinstance(root, MappingNode):
        return Expansion(root)
    return _Expander(root, file, templates).run()


def needs_expansion(entry: Node, templates: bool = True) -> bool:
    """Whether an entry uses expansion: an expansion field, or a `{{` in its text."""
    return isinstance(entry, MappingNode) and (
        not _EXPANSION_SET.isdisjoint(entry.fields) or (templates and has_place(entry))
    )


_EXPANSION_SET = frozenset(EXPANSION_FIELDS)


class _Expander:
    def __init__(self, root: MappingNode, file: Path, templates: bool) -> None:
        self.root = root
        self.templates = templates
        top = manifest_shape().properties
        # Expansion reads these before the schema checks them: when they fail it, nothing that
        # depends on them is expanded, and the schema's error on the whole tree says why.
        self.usable = all(
            node is None or top[name].accepts(node, (name,))
            for name, node in (("vars", root.get("vars")), ("max_entries", root.get("max_entries")))
        )
        variables = texts(root.get("vars")) if self.usable else {}
        cap = root.get("max_entries")
        limit = int(cap.value or 0) if self.usable and isinstance(cap, ScalarNode) else 0
        self.context = Context(file, variables, limit or _default_cap())
        self.shape_errors: list[ShapeError] = []
        self.broken: set[str] = set()
        self.made: dict[tuple[str, int], Made] = {}

    def run(self) -> Expansion:
        root = self.root
        sections = {name: root.get(name) for name in SECTIONS}
        defaults = root.get("defaults")
        fill_defaults = self.templates and defaults is not None and has_place(defaults)
        if not fill_defaults and not any(
            isinstance(section, SequenceNode) and any(map(self._needs, section.items))
            for section in sections.values()
        ):
            return Expansion(root)
        expanded = MappingNode(root.line, root.column, root.file)
        expanded.keys = root.keys
        expanded.fields = dict(root.fields)
        if defaults is not None and fill_defaults:
            expanded.fields["defaults"] = self._defaults(defaults)
        for name, section in sections.items():
            if isinstance(section, SequenceNode):
                expanded.fields[name] = self._section(name, section)
        return Expansion(
            expanded,
            self.made,
            tuple(self.shape_errors),
            tuple(self.context.diagnostics),
            frozenset(self.broken),
        )

    def _defaults(self, node: Node) -> Node:
        sites = Sites()
        variables = self.context.vars
        try:
            filler = compile_tree(node, (), sites)
        except BadTemplate as bad:
            self.context.report(bad.node, "KB402", bad.message, None, ("defaults", *bad.at))
            return node
        missing = sorted(sites.names - variables.keys())
        for name in missing:
            site, at = sites.first[name]
            message = unknown_variable(name, variables) + (
                "; `defaults` know only the manifest's `vars:`: set this field on the entries to "
                "use their own variables"
            )
            self.context.report(site, "KB401", message, None, ("defaults", *at))
        return filler.fill(variables) if filler is not None and not missing else node

    def _section(self, name: str, section: SequenceNode) -> SequenceNode:
        out = SequenceNode(section.line, section.column, section.file)
        for index, entry in enumerate(section.items):
            if not self._needs(entry):
                if self._claim_written(entry):
                    out.items.append(entry)
                continue
            assert isinstance(entry, MappingNode)
            made = self._entry(name, index, entry)
            if made is None:
                self.broken.add(name)
                continue
            for node, how in made:
                self.made[(name, len(out.items))] = how
                out.items.append(node)
        return out

    def _needs(self, entry: Node) -> bool:
        return needs_expansion(entry, self.templates)

    def _claim_written(self, entry: Node) -> bool:
        identifier = entry.get("id") if isinstance(entry, MappingNode) else None
        if not isinstance(identifier, ScalarNode) or not isinstance(identifier.value, str):
            return True
        line = identifier.line
        return self.context.claim(identifier.value, identifier, False, lambda: f"line {line}")

    def _entry(self, section: str, index: int, node: MappingNode) -> list[tuple[Node, Made]] | None:
        """The entries `node` makes, or None when it cannot be expanded (and why is reported)."""
        path: FieldPath = (section, index)
        errors: list[ShapeError] = []
        for name in EXPANSION_FIELDS:
            value = node.get(name)
            if value is not None:
                definition(name).check(value, (*path, name), errors)
        id_node = node.get("id")
        if id_node is None:
            errors.append(ShapeError(path, node, "KB102", "`id` is missing", "id"))
        else:
            definition("entryId").check(id_node, (*path, "id"), errors)
        if errors:
            self.shape_errors.extend(errors)
            return None
        if not self.usable:
            return None
        assert isinstance(id_node, ScalarNode) and isinstance(id_node.value, str)
        made = EntryExpansion(self.context, SECTIONS[section], node, id_node).expand()
        return list(made) if made is not None else None


@cache
def _default_cap() -> int:
    # The schema is the one home of the default: editors show it.
    return int(schema()["properties"]["max_entries"]["default"])
