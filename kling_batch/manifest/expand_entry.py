"""One written entry expanded: its combinations x its rows x its takes, as entry nodes.

A value from a matrix or a row is inserted as it is, never read as a template: variables fill
in the entry's own texts, and a field set from an axis or a column takes the value itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kling_batch.manifest import rows as tables
from kling_batch.manifest.composer import MAX_NODES
from kling_batch.manifest.diagnostics import Diagnostic, Severity
from kling_batch.manifest.expansion_context import (
    EXPANSION_FIELDS,
    Context,
    Made,
    field_kinds,
    texts,
    unknown_variable,
)
from kling_batch.manifest.fill import BadTemplate, Filler, Sites, compile_tree, count_nodes
from kling_batch.manifest.matrix import MAX_COMBINATIONS, Combination, Matrix
from kling_batch.manifest.model import Origin, Position
from kling_batch.manifest.nodes import FieldPath, MappingNode, Node, ScalarNode
from kling_batch.manifest.templates import id_rule


class EntryExpansion:
    """One written entry (its expansion fields passed the schema) made into entry nodes."""

    def __init__(self, context: Context, kind: str, node: MappingNode, id_node: ScalarNode):
        self.context = context
        self.kind = kind
        self.kinds = field_kinds(kind)
        self.node = node
        self.id_node = id_node
        self.template = str(id_node.value)
        self.own = {k: v for k, v in node.fields.items() if k not in EXPANSION_FIELDS}
        self.sites = {name: Sites() for name in self.own}
        self.needed: dict[str, frozenset[str]] = {}  # the variables each field's text uses
        self.failed = False
        self.columns: set[str] | None = set()  # of the rows file; None: it could not be read
        self.position = Position(id_node.file or context.file, id_node.line, id_node.column)

    def expand(self) -> list[tuple[MappingNode, Made]] | None:
        """The entries, or None when the entry cannot be expanded (the reasons are reported)."""
        fillers = self._compile()
        matrix_node = self.node.get("matrix")
        matrix = Matrix(matrix_node) if isinstance(matrix_node, MappingNode) else None
        if matrix is not None:
            for problem in matrix.problems():
                code = "KB409" if problem.warning else "KB408"
                self._report(problem.node, code, problem.message, problem.at, problem.warning)
        rows = self._rows()
        takes_node = self.node.get("takes")
        takes = int(takes_node.value or 1) if isinstance(takes_node, ScalarNode) else 1
        if fillers is None:
            return None
        self.needed = {field: frozenset(sites.first) for field, sites in self.sites.items()}
        self._check_names(matrix)
        if matrix is not None:
            self._check_axes(matrix)
        if self.failed:
            return None
        combinations = self._combinations(matrix, rows, takes)
        if combinations is None or self.failed:
            return None
        return self._build(fillers, combinations, rows, takes)

    def _report(
        self, node: Node, code: str, message: str, at: FieldPath, warn: bool = False
    ) -> None:
        severity = Severity.WARNING if warn else Severity.ERROR
        self.context.report(node, code, message, self.template, at, severity)
        self.failed = self.failed or not warn

    def _compile(self) -> dict[str, Filler] | None:
        fillers: dict[str, Filler] = {}
        try:
            for name, value in self.own.items():
                filler = compile_tree(value, (name,), self.sites[name])
                if filler is not None:
                    fillers[name] = filler
        except BadTemplate as bad:
            self._report(bad.node, "KB402", bad.message, bad.at)
            return None
        return fillers

    def _rows(self) -> list[tables.Row] | None:
        written = self.node.get("rows")
        if not isinstance(written, ScalarNode):
            return None
        table = self.context.table(written, self.kind)
        self.columns = table.columns
        for problem in table.problems:
            if problem.code != "KB406":  # not a bad row, but the file: its columns are unknown
                self.columns = None
            if problem.position is None:  # the file as a whole: at `rows:`
                self._report(written, problem.code, problem.message, ("rows",))
                continue
            diagnostic = Diagnostic(
                problem.position,
                Severity.ERROR,
                problem.code,
                problem.message,
                self.template,
                problem.column,  # the column at fault, named as its field
            )
            self.context.diagnostics.append(diagnostic)
            self.failed = True
        return table.rows

    def _check_names(self, matrix: Matrix | None) -> None:
        """Variables that nothing here defines, reported once (before anything is made)."""
        if self.columns is None:
            return  # the rows file could not be read: its columns are not known
        defined = {*self.context.vars, *texts(self.node.get("vars")), *self.columns}
        set_here = {name for name in self.columns if name in self.kinds}
        if matrix is not None:
            defined.update(matrix.axes)
            set_here.update(matrix.axes)
            for item in matrix.include:
                defined.update(item.fields)
        for field, sites in self.sites.items():
            if field in set_here:
                continue  # set from the matrix or the rows: `_defined` sees each case
            for name in sorted(sites.names - defined):
                site, at = sites.first[name]
                self._report(site, "KB401", unknown_variable(name, defined), at)

    def _check_axes(self, matrix: Matrix) -> None:
        """An axis sets a field, or appears in a text other than the id: else look-alikes."""
        used = {
            name for field, sites in self.sites.items() if field != "id" for name in sites.names
        }
        for axis in matrix.axes:
            if (axis in self.kinds and axis != "id") or axis in used:
                continue
            fields = ", ".join(name for name in self.kinds if name not in ("id", "prompt"))
            message = (
                f"the axis `{axis}` sets no field and appears in no text but the id, so its "
                f"entries would render the same body; use it in a text ({{{{{axis}}}}} in the "
                f"prompt), name it after a field ({fields}), or use `takes:` for renders of "
                "one body"
            )
            self._report(matrix.node.keys[axis], "KB403", message, ("matrix", axis))

    def _combinations(
        self, matrix: Matrix | None, rows: list[tables.Row] | None, takes: int
    ) -> list[Combination | None] | None:
        """The combinations to make, or None when the entry would make too many."""
        per_combination = (len(rows) if rows is not None else 1) * takes
        combinations: list[Combination | None] = [None]
        count = 1
        if matrix is not None:
            if matrix.size > MAX_COMBINATIONS:
                message = (
                    f"this matrix has {matrix.size:,} combinations before its excludes, more than "
                    f"the {MAX_COMBINATIONS:,} that are counted; split the entry"
                )
                self._report(self.node.keys["matrix"], "KB407", message, ("matrix",))
                return None
            kept, count = matrix.combinations(self.context.cap // max(per_combination, 1) + 1)
            combinations = list(kept)
        total = count * per_combination
        if total > self.context.cap:
            parts = [f"{count:,} combinations"] if matrix is not None else []
            parts += [f"{len(rows):,} rows"] if rows is not None else []
            parts += [f"{takes} takes"] if takes > 1 else []
            message = (
                f"this entry makes {total:,} entries ({' x '.join(parts)}), more than the "
                f"{self.context.cap:,} allowed for one entry; if that is meant, set "
                f"`max_entries: {total}` at the top of the manifest"
            )
            anchor = next(name for name in EXPANSION_FIELDS[1:] if name in self.node.fields)
            self._report(self.node.keys[anchor], "KB407", message, (anchor,))
            return None
        if total == 0:
            why = "every combination is excluded" if count == 0 else "the rows file has no rows"
            message = f"this entry makes no entries: {why}"
            self._report(self.id_node, "KB410", message, ("id",), warn=True)
            return []
        size = count_nodes(self.node) * total
        if self.context.nodes + size > MAX_NODES:
            message = (
                f"expanded, the manifest would have more than {MAX_NODES:,} nodes, the cap of a "
                "manifest; split it into several manifests"
            )
            self._report(self.id_node, "KB407", message, ("id",))
            return None
        self.context.nodes += size
        return combinations

    def _build(
        self,
        fillers: dict[str, Filler],
        combinations: list[Combination | None],
        rows: list[tables.Row] | None,
        takes: int,
    ) -> list[tuple[MappingNode, Made]] | None:
        node = self.node
        base = {**self.context.vars, **texts(node.get("vars"))}
        made: list[tuple[MappingNode, Made]] = []
        for row in rows if rows is not None else [None]:
            for combination in combinations:
                values = dict(base)
                setting: dict[str, tuple[Node, ScalarNode]] = {}
                if combination is not None:
                    for name, value in combination.values.items():
                        values[name] = value.text
                        if name in self.kinds:
                            setting[name] = (value, combination.keys[name])
                if row is not None:
                    values.update(row.variables)
                    for name, cell in row.fields.items():
                        setting[name] = (cell, row.keys[name])
                if not self._defined(values, setting, combination, row):
                    return None
                fields = {
                    name: setting[name][0]
                    if name in setting
                    else fillers[name].fill(values)
                    if name in fillers
                    else child
                    for name, child in self.own.items()
                }
                keys = node.keys
                added = [name for name in setting if name not in self.own]
                if added:
                    keys = {**keys, **{name: setting[name][1] for name in added}}
                    fields.update((name, setting[name][0]) for name in added)
                produced = "id" in setting or "id" in fillers
                made.extend(self._takes(fields, keys, produced, takes, combination, row))
        return made

    def _defined(
        self,
        values: Mapping[str, str],
        setting: Mapping[str, object],
        combination: Combination | None,
        row: tables.Row | None,
    ) -> bool:
        """Whether every variable the texts use here is defined (else reported)."""
        for field, needed in self.needed.items():
            if field in setting or values.keys() >= needed:
                continue  # defined, or set from the matrix or the row (the text is not used)
            for name in sorted(needed - values.keys()):
                site, at = self.sites[field].first[name]
                context = (
                    [combination.label] if combination and combination.included is not None else []
                )
                context += [f"row {row.label}"] if row is not None else []
                message = unknown_variable(name, values) + (
                    f" (for {'; '.join(context)})" if context else ""
                )
                self._report(site, "KB401", message, at)
                return False
        return True

    def _takes(
        self,
        fields: dict[str, Node],
        keys: dict[str, ScalarNode],
        produced: bool,
        takes: int,
        combination: Combination | None,
        row: tables.Row | None,
    ) -> list[tuple[MappingNode, Made]]:
        """The entry of each take, each with its id; an id made twice is reported."""
        written_id = fields.get("id")
        id_value = written_id if isinstance(written_id, ScalarNode) else None
        origin = Origin(
            self.template,
            self.position,
            tuple((n, v.text) for n, v in combination.values.items()) if combination else (),
            row.position if row is not None else None,
        )
        group = None
        if id_value is not None:
            text = id_value.value if isinstance(id_value.value, str) else id_value.text
            group = id_rule(text) if produced else text
        made = []
        for take in range(1, takes + 1) if takes >= 2 else (None,):
            entry = MappingNode(self.node.line, self.node.column, self.node.file)
            entry.keys = keys
            entry.fields = dict(fields)
            if group is None or id_value is None:
                made.append((entry, Made(origin)))  # the schema says what is wrong with the id
                continue
            identifier = f"{group}-take{take}" if take is not None else group
            id_node = id_value
            if identifier != id_value.value:
                id_node = ScalarNode(
                    identifier, identifier, False, id_value.line, id_value.column, id_value.file
                )
                entry.fields["id"] = id_node
            where = self._describe(combination, row, take)
            if self.context.claim(identifier, id_node, True, where):
                made.append((entry, Made(origin, group if take else None, take)))
        return made

    def _describe(
        self, combination: Combination | None, row: tables.Row | None, take: int | None
    ) -> Callable[[], str]:
        """Where an entry comes from, in words, when a message needs it."""

        def describe() -> str:
            where = f"line {self.id_node.line}"
            where += f" ({combination.label})" if combination is not None else ""
            where += f", row {row.label}" if row is not None else ""
            return where + (f", take {take}" if take is not None else "")

        return describe
