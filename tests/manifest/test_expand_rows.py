"""`rows:` tables (CSV, TSV, YAML, JSON): columns as variables and fields, typed cells, rows x
matrix, and their errors at the row's file and line: a bad file (KB405), a bad row (KB406)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kling_batch.manifest import Diagnostic, Manifest, Severity, analyze, load

ENTRY = """
version: 1
defaults: {aspect_ratio: "16:9", duration: 4}
shots:
  - id: "row-{{sku}}"
    prompt: "{{title}}"
    rows: {rows}
"""


def manifest_with_rows(tmp_path: Path, name: str, table: str, entry: str = ENTRY) -> Path:
    (tmp_path / name).write_text(table, encoding="utf-8")
    path = tmp_path / "m.yaml"
    path.write_text(entry.lstrip("\n").replace("{rows}", name), encoding="utf-8")
    return path


def diagnostics(path: Path) -> list[Diagnostic]:
    return list(analyze(path).diagnostics)


def only(path: Path) -> Diagnostic:
    [found] = diagnostics(path)
    return found


def where(found: Diagnostic) -> tuple[str, int, int]:
    return found.position.file.name, found.position.line, found.position.column


# --- reading -------------------------------------------------------------------------------

TABLES = {
    "r.csv": 'sku,title,duration\na1,a mug,5\nb 2,"a lamp, lit",10\n',
    "r.tsv": "sku\ttitle\tduration\na1\ta mug\t5\nb 2\ta lamp, lit\t10\n",
    "r.yaml": "- {sku: a1, title: a mug, duration: 5}\n"
    "- {sku: b 2, title: 'a lamp, lit', duration: 10}\n",
    "r.json": '[{"sku": "a1", "title": "a mug", "duration": "5"},\n'
    ' {"sku": "b 2", "title": "a lamp, lit", "duration": 10}]\n',
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_one_entry_per_row_in_every_format(tmp_path: Path, name: str) -> None:
    manifest = load(manifest_with_rows(tmp_path, name, TABLES[name]))
    assert [(e.id, e.prompt, e.duration) for e in manifest.entries] == [
        ("row-a1", "a mug", 5),
        ("row-b-2", "a lamp, lit", 10),
    ]
    origin = manifest.entries[1].origin
    assert origin is not None and origin.row is not None
    assert (origin.row.file.name, origin.row.line) == (name, 3 if name in ("r.csv", "r.tsv") else 2)


def test_typed_cells_are_converted_and_empty_cells_set_nothing(tmp_path: Path) -> None:
    table = "sku,title,duration,audio,mode\na1,a mug,5.0,true,pro\na2,a lamp,,,\n"
    manifest = load(manifest_with_rows(tmp_path, "r.csv", table))
    first, second = manifest.entries
    assert (first.duration, first.audio, first.mode) == (5, True, "pro")
    assert (second.duration, second.audio, second.mode) == (4, None, None)  # the defaults'


def test_an_empty_cell_is_the_empty_text_as_a_variable(tmp_path: Path) -> None:
    entry = ENTRY.replace('prompt: "{{title}}"', 'prompt: "a mug{{note}}"')
    manifest = load(manifest_with_rows(tmp_path, "r.csv", "sku,note\na1,\na2, with steam\n", entry))
    assert [e.prompt for e in manifest.entries] == ["a mug", "a mug with steam"]


def test_rows_times_the_matrix(tmp_path: Path) -> None:
    entry = ENTRY.replace('"row-{{sku}}"', '"row-{{sku}}-{{aspect_ratio}}"').replace(
        "    rows:", '    matrix: {aspect_ratio: ["16:9", "1:1"]}\n    rows:'
    )
    manifest = load(manifest_with_rows(tmp_path, "r.csv", "sku,title\na,x\nb,y\n", entry))
    assert [e.id for e in manifest.entries] == [
        "row-a-16-9",
        "row-a-1-1",
        "row-b-16-9",
        "row-b-1-1",
    ]


def test_a_byte_order_mark_and_a_cell_over_two_lines(tmp_path: Path) -> None:
    table = '\ufeffsku,title\na1,"two\nlines"\na2,"bad\n'
    found = only(manifest_with_rows(tmp_path, "r.csv", table))
    assert found.code == "KB405"  # the last quote never closes: reported, with its line
    good = '\ufeffsku,title,mode\na1,"two\nlines",std\na2,one line,fast\n'
    found = only(manifest_with_rows(tmp_path, "r.csv", good))
    assert (found.code, found.entry, where(found)) == ("KB104", "row-a2", ("r.csv", 4, 13))


# --- KB406: a bad row ----------------------------------------------------------------------


def test_a_cell_that_does_not_convert(tmp_path: Path) -> None:
    path = manifest_with_rows(tmp_path, "r.csv", "sku,title,duration\na1,a mug,five\n")
    found = only(path)
    assert (found.code, found.entry, found.field) == ("KB406", "row-{{sku}}", "duration")
    assert where(found) == ("r.csv", 2, 10)
    assert "`duration` is 'five', but `duration` takes an integer; use 3 to 15" in found.message
    assert (
        diagnostics(manifest_with_rows(tmp_path, "r.csv", "sku,title,duration\na1,a mug,5\n")) == []
    )


def test_a_boolean_cell_says_what_is_valid(tmp_path: Path) -> None:
    found = only(manifest_with_rows(tmp_path, "r.csv", "sku,title,audio\na1,a mug,yes\n"))
    assert (found.code, where(found)) == ("KB406", ("r.csv", 2, 10))
    assert "takes true or false" in found.message


def test_a_row_with_too_many_cells(tmp_path: Path) -> None:
    found = only(manifest_with_rows(tmp_path, "r.csv", "sku,title\na1,a mug, with steam\n"))
    assert (found.code, where(found)) == ("KB406", ("r.csv", 2, 1))
    assert 'needs quotes: "a, b"' in found.message
    near_miss = 'sku,title\na1,"a mug, with steam"\n'
    assert diagnostics(manifest_with_rows(tmp_path, "r.csv", near_miss)) == []


def test_a_csv_cell_cannot_set_a_list(tmp_path: Path) -> None:
    found = only(manifest_with_rows(tmp_path, "r.csv", "sku,title,media\na1,a mug,x.jpg\n"))
    assert (found.code, found.field) == ("KB406", "media")
    assert "use a YAML or JSON rows file, or a variable in the entry" in found.message


def test_a_yaml_row_that_is_no_mapping(tmp_path: Path) -> None:
    found = only(manifest_with_rows(tmp_path, "r.yaml", "- {sku: a1, title: t}\n- just text\n"))
    assert (found.code, where(found)) == ("KB406", ("r.yaml", 2, 3))


def test_a_yaml_row_sets_a_list_field(tmp_path: Path) -> None:
    table = "- {sku: a1, title: t, media: [{type: first_frame, url: 'https://e.com/a.jpg'}]}\n"
    [entry] = load(manifest_with_rows(tmp_path, "r.yaml", table)).entries
    assert entry.media[0].url == "https://e.com/a.jpg"
    broken = table.replace("https://e.com/a.jpg", "ftp://e.com/a.jpg")
    found = only(manifest_with_rows(tmp_path, "r.yaml", broken))
    assert (found.code, found.entry, found.field) == ("KB105", "row-a1", "media[0].url")
    assert where(found)[:2] == ("r.yaml", 1)


# --- KB405: a file that is not a table -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "table", "wording", "line"),
    [
        ("r.xlsx", "", "give a .csv or .tsv file", 0),
        ("r.csv", "", "is empty; its first line names the columns", 0),
        ("r.csv", "sku,,title\n", "column 2 of the header has no name", 1),
        ("r.csv", "sku,title,sku\n", "`sku` names columns 1 and 3", 1),
        ("r.yaml", "{sku: a1}\n", "is a mapping; a YAML or JSON rows file is a list of", 1),
        ("r.json", "", "is empty; a YAML or JSON rows file is a list of", 0),
    ],
)
def test_a_file_that_is_no_table(
    tmp_path: Path, name: str, table: str, wording: str, line: int
) -> None:
    found = only(manifest_with_rows(tmp_path, name, table))
    assert found.code == "KB405" and wording in found.message
    if line:
        assert where(found)[:2] == (name, line)
    else:  # the file as a whole: at `rows:` in the manifest
        assert (where(found)[:2], found.field) == (("m.yaml", 6), "rows")


def test_a_missing_rows_file(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(ENTRY.lstrip("\n").replace("{rows}", "nope.csv"))
    found = only(path)
    assert (found.code, found.entry, found.field, where(found)) == (
        "KB405",
        "row-{{sku}}",
        "rows",
        ("m.yaml", 6, 11),
    )
    assert found.message == f"cannot read the rows file {tmp_path / 'nope.csv'}: no such file"
    (tmp_path / "nope.csv").write_text("sku,title\na1,a mug\n")
    assert diagnostics(path) == []  # near miss: the file is there


def test_bad_yaml_in_a_rows_file_keeps_its_code_and_place(tmp_path: Path) -> None:
    found = only(manifest_with_rows(tmp_path, "r.yaml", "- {sku: a1, title: [}\n"))
    assert (found.code, where(found)[:2]) == ("KB004", ("r.yaml", 1))


# --- errors in rows, through the schema and the rules --------------------------------------


def test_a_rule_points_at_the_cell_of_the_row(tmp_path: Path) -> None:
    entry = ENTRY.replace(
        'prompt: "{{title}}"',
        'prompt: "{{title}}"\n    media:\n'
        '      - {type: first_frame, url: "https://e.com/{{sku}}.jpg"}',
    )
    table = 'sku,title,aspect_ratio\na1,a mug,\na2,a lamp,"9:16"\n'
    found = only(manifest_with_rows(tmp_path, "r.csv", table, entry))
    assert (found.code, found.severity, found.entry, found.field) == (
        "KB209",
        Severity.WARNING,
        "row-a2",
        "aspect_ratio",
    )
    assert where(found) == ("r.csv", 3, 11)  # the cell's opening quote


def manifest_of(tmp_path: Path, name: str, table: str) -> Manifest:
    return load(manifest_with_rows(tmp_path, name, table))


def test_two_entries_may_share_a_table(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("sku,title\na1,a mug\n")
    path = tmp_path / "m.yaml"
    path.write_text(
        'version: 1\ndefaults: {aspect_ratio: "1:1"}\nshots:\n'
        '  - {id: "a-{{sku}}", prompt: "{{title}}", rows: r.csv}\n'
        '  - {id: "b-{{sku}}", prompt: "{{title}} again", rows: r.csv}\n'
    )
    assert [e.id for e in load(path).entries] == ["a-a1", "b-a1"]


Write = Callable[..., Path]
