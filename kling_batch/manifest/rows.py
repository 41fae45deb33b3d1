"""Tables for `rows:`: one entry per row, from a CSV or TSV file or a YAML or JSON list.

A CSV (`.csv`) or TSV (`.tsv`, `.tab`) file has a header line that names the columns; blank
lines are skipped. A YAML (`.yaml`, `.yml`) or JSON (`.json`) file is a list of mappings, read
by the manifest's own loader, so it is as safe and as bounded. Every cell is a variable. A cell
whose column is named like an entry field also sets that field, converted to the field's type
(`duration: "5"` is 5, `audio: "true"` is true); a cell that cannot be converted is a problem
at its row. An empty CSV cell (or a null) sets no field and is the empty text as a variable.

Every node made from a rows file carries that file, so that a diagnostic about a cell points at
its row (and, in a CSV file, at its column).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kling_batch.manifest.loader import parse, read_text
from kling_batch.manifest.model import Position
from kling_batch.manifest.nodes import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    YamlProblem,
    kind_of,
    stamp,
)
from kling_batch.manifest.scalars import resolve_plain

_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_LISTS = (".yaml", ".yml", ".json")
_KIND_NAMES = {"integer": "an integer", "number": "a number", "boolean": "true or false"}


@dataclass(frozen=True)
class FieldKind:
    """What a column named like an entry field must hold: its schema type, and what is valid."""

    type: str  # "string", "integer", "number", "boolean", "array" or "object"
    advice: str = ""  # "use 3 to 15"


@dataclass(frozen=True)
class Row:
    """One row: its variables (text) and the entry fields its cells set (typed nodes)."""

    position: Position  # its first line, column 1
    variables: dict[str, str]
    fields: dict[str, Node]
    keys: dict[str, ScalarNode]  # the header cell (or key) of each field it sets

    @property
    def label(self) -> str:
        return f"{self.position.file.name}:{self.position.line}"


@dataclass(frozen=True)
class RowProblem:
    code: str  # KB405 (the file), KB406 (a row), or the loader's code for bad YAML in it
    message: str
    position: Position | None  # None: the file as a whole, reported at the `rows:` field
    column: str | None = None


@dataclass(frozen=True)
class Table:
    rows: list[Row] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # the header's, or every row's keys


def read_table(path: Path, shown: Path, kinds: Mapping[str, FieldKind]) -> Table:
    """The rows of the file at `path` (shown as `shown` in diagnostics).

    `kinds` gives the entry fields by name: a column of that name sets the field.
    """
    suffix = path.suffix.lower()
    if suffix not in _DELIMITERS and suffix not in _LISTS:
        message = (
            f"the rows file {shown} is not a table this reads: give a .csv or .tsv file with a "
            "header line, or a .yaml, .yml or .json list of mappings"
        )
        return Table(problems=[RowProblem("KB405", message, None)])
    try:
        text = read_text(path)
        if suffix in _DELIMITERS:
            return _from_csv(text, _DELIMITERS[suffix], shown, kinds)
        return _from_list(text, shown, kinds)
    except YamlProblem as problem:
        if problem.line == 0:  # the file as a whole: missing, a folder, too large
            message = f"cannot read the rows file {shown}: {problem.message}"
            return Table(problems=[RowProblem("KB405", message, None)])
        where = Position(shown, problem.line, problem.column)
        return Table(problems=[RowProblem(problem.code, problem.message, where)])


def _from_csv(text: str, delimiter: str, shown: Path, kinds: Mapping[str, FieldKind]) -> Table:
    table = Table()
    lines = io.StringIO(text, newline="").readlines()  # split as the reader splits them
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_keys: list[ScalarNode] = []
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, or only delimiters
            columns = _columns(lines[line - 1] if line <= len(lines) else "", delimiter)
            if header is None:
                header = [cell.strip() for cell in cells]
                header_keys = [
                    ScalarNode(name, name, False, line, _at(columns, i), shown)
                    for i, name in enumerate(header)
                ]
                problem = _bad_header(header, Position(shown, line, 1))
                if problem is not None:
                    return Table(problems=[problem])
                table.columns.update(header)
                continue
            row_at = Position(shown, line, 1)
            if len(cells) != len(header):
                message = (
                    f"this row has {len(cells)} cells and the header {len(header)}; a cell "
                    f"with {'a comma' if delimiter == ',' else 'a tab'} in it needs quotes: "
                    '"a, b"'
                )
                table.problems.append(RowProblem("KB406", message, row_at))
                continue
            row = Row(row_at, {}, {}, {})
            for index, (name, cell) in enumerate(zip(header, cells, strict=True)):
                node = ScalarNode(cell, cell, False, line, _at(columns, index), shown)
                _take(row, name, node, header_keys[index], kinds, table, csv_cell=True)
            table.rows.append(row)
    except csv.Error as exc:
        where = Position(shown, reader.line_num, 1)
        message = f"this is not a well-formed CSV line: {exc}"
        table.problems.append(RowProblem("KB405", message, where))
    if header is None:
        message = f"the rows file {shown} is empty; its first line names the columns"
        table.problems.append(RowProblem("KB405", message, None))
    return table


def _from_list(text: str, shown: Path, kinds: Mapping[str, FieldKind]) -> Table:
    document = parse(text)
    table = Table()
    for problem in document.problems:
        if problem.code != "KB010":  # empty: said below, in the words of a table
            where = Position(shown, problem.line, problem.column)
            table.problems.append(RowProblem(problem.code, problem.message, where))
    root = document.root
    if root is None or not isinstance(root, SequenceNode):
        shown_kind = kind_of(root) if root is not None else "empty"
        message = (
            f"the rows file {shown} is {shown_kind}; a YAML or JSON rows file is a list of "
            "mappings, one per row: - {sku: a1, title: a mug}"
        )
        at = Position(shown, root.line, root.column) if root is not None else None
        table.problems.append(RowProblem("KB405", message, at))
        return table
    stamp(root, shown)
    for item in root.items:
        where = Position(shown, item.line, item.column)
        if not isinstance(item, MappingNode):
            message = f"a row is a mapping of column names to values; this one is {kind_of(item)}"
            table.problems.append(RowProblem("KB406", message, where))
            continue
        row = Row(where, {}, {}, {})
        table.columns.update(item.fields)
        for name, value in item.fields.items():
            _take(row, name, value, item.keys[name], kinds, table, csv_cell=False)
        table.rows.append(row)
    return table


def _take(
    row: Row,
    name: str,
    node: Node,
    key: ScalarNode,
    kinds: Mapping[str, FieldKind],
    table: Table,
    csv_cell: bool,
) -> None:
    """Put one cell into its row: as a variable, and as a field when its column names one."""
    empty = isinstance(node, ScalarNode) and (node.value is None or node.value == "")
    if isinstance(node, ScalarNode):
        row.variables[name] = "" if node.value is None else node.text
    kind = kinds.get(name)
    if kind is None or empty:
        return
    where = Position(node.file or row.position.file, node.line, node.column)
    structured = kind.type in ("array", "object")
    if (
        isinstance(node, ScalarNode)
        and isinstance(node.value, str)
        and (csv_cell or not structured)
    ):
        converted = _convert(node, kind.type)
        if converted is None:
            wanted = _KIND_NAMES.get(kind.type, kind.type)
            advice = f"; {kind.advice}" if kind.advice else ""
            message = f"`{name}` is {node.text!r}, but `{name}` takes {wanted}{advice}"
            if structured:
                message = (
                    f"a CSV cell cannot set `{name}`, which takes a "
                    f"{'list' if kind.type == 'array' else 'mapping'}: use a YAML or JSON rows "
                    f"file, or a variable in the entry: path: assets/{{{{{name}}}}}.png"
                )
            table.problems.append(RowProblem("KB406", message, where, name))
            return
        node = converted
    row.fields[name] = node
    row.keys[name] = key


def _convert(node: ScalarNode, kind: str) -> ScalarNode | None:
    """The cell as a value of the field's type, or None when it is not one."""
    if kind == "string":
        return node
    if kind in ("array", "object"):
        return None
    value = resolve_plain(node.text.strip())
    fits = (
        isinstance(value, bool)
        if kind == "boolean"
        else isinstance(value, int | float) and not isinstance(value, bool)
    )
    if kind == "integer" and isinstance(value, float):
        fits = value.is_integer()
        value = int(value) if fits else value
    if not fits:
        return None
    return ScalarNode(value, node.text.strip(), True, node.line, node.column, node.file)


def _bad_header(header: list[str], where: Position) -> RowProblem | None:
    seen: dict[str, int] = {}
    for index, name in enumerate(header, start=1):
        if not name:
            return RowProblem("KB405", f"column {index} of the header has no name", where)
        if name in seen:
            message = f"`{name}` names columns {seen[name]} and {index}; give each its own name"
            return RowProblem("KB405", message, where)
        seen[name] = index
    return None


def _columns(line: str, delimiter: str) -> list[int]:
    """The 1-based column where each cell of a CSV line starts (quotes respected)."""
    starts = [1]
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            starts.append(index + 2)
    return starts


def _at(columns: list[int], index: int) -> int:
    return columns[index] if index < len(columns) else 1


def resolve(manifest: Path, written: str) -> tuple[Path, Path]:
    """(the file to read, the path to show) for `rows:` as written in `manifest`."""
    shown = manifest.parent / os.path.expanduser(written)
    return shown.absolute(), shown
