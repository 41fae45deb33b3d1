"""The example of the spec's section 7 (authoring at campaign scale), as written there (one
comment re-wrapped): it validates, and expands to the entries the spec implies."""

from __future__ import annotations

import textwrap
from pathlib import Path

from kling_batch.manifest import Move, analyze, load

SPEC_EXAMPLE = """
version: 1
name: launch
vars: {brand: Acme}                   # manifest-wide variables
defaults: {mode: std, duration: 5, aspect_ratio: "16:9"}
shots:
  - id: "{{product}}-{{aspect_ratio}}"  # ids may use variables; see the id rule below
    prompt: "{{brand}} {{product}} on a table, slow dolly in"
    matrix:                           # every combination of the axes becomes an entry
      product: [mug, bottle, lamp]
      aspect_ratio: ["16:9", "9:16", "1:1"]   # an axis named like an entry field also sets it
      exclude:                        # as in CI matrices: drop combinations
        - {product: lamp, aspect_ratio: "1:1"}
      include:                        # and add extra ones (their keys are vars too)
        - {product: vase, aspect_ratio: "9:16"}
    takes: 2                          # independent renders of the same body
  - id: "row-{{sku}}"
    prompt: "{{title}}"
    rows: shots.csv                   # one entry per row (CSV or TSV with a header, or a
                                      # YAML/JSON list of mappings), relative to the manifest;
                                      # columns are vars, and a column named like an entry
                                      # field sets that field
moved:                                # renames that must not render again
  - {from: solo-a, to: solo-b}
"""
# A column named like an entry field sets it, `id` too: the last row is the entry `moved:`
# renames to solo-b (an empty cell sets nothing, so the others keep the id template).
SHOTS_CSV = (
    "sku,title,id\nmug-01,a mug on a shelf,\nbottle 02,a bottle by the sea,\n"
    "solo,a solo shot by the window,solo-b\n"
)
COMBINATIONS = [
    ("mug", "16:9"),
    ("mug", "9:16"),
    ("mug", "1:1"),
    ("bottle", "16:9"),
    ("bottle", "9:16"),
    ("bottle", "1:1"),
    ("lamp", "16:9"),
    ("lamp", "9:16"),
    ("vase", "9:16"),
]


def write_example(folder: Path) -> Path:
    (folder / "shots.csv").write_text(SHOTS_CSV, encoding="utf-8")
    path = folder / "launch.yaml"
    path.write_text(textwrap.dedent(SPEC_EXAMPLE).lstrip("\n"), encoding="utf-8")
    return path


def test_the_spec_example_validates_without_a_warning(tmp_path: Path) -> None:
    assert analyze(write_example(tmp_path)).diagnostics == ()


def test_it_expands_to_the_ids_the_spec_implies(tmp_path: Path) -> None:
    manifest = load(write_example(tmp_path))
    expected = [
        f"{product}-{ratio.replace(':', '-')}-take{take}"
        for product, ratio in COMBINATIONS
        for take in (1, 2)
    ]
    # the id rule: "bottle 02" -> "bottle-02"
    assert [e.id for e in manifest.entries] == [
        *expected,
        "row-mug-01",
        "row-bottle-02",
        "solo-b",
    ]
    assert manifest.name == "launch"


def test_matrix_entries_carry_their_values_and_takes_their_group(tmp_path: Path) -> None:
    manifest = load(write_example(tmp_path))
    vase = manifest.entry("vase-9-16-take2")
    assert (vase.prompt, vase.aspect_ratio, vase.mode, vase.duration) == (
        "Acme vase on a table, slow dolly in",
        "9:16",
        "std",
        5,
    )
    assert (vase.group, vase.take) == ("vase-9-16", 2)
    assert vase.origin is not None
    assert vase.origin.template == "{{product}}-{{aspect_ratio}}"
    assert vase.origin.values == (("product", "vase"), ("aspect_ratio", "9:16"))
    assert vase.origin.position.line == 6
    groups = {e.group for e in manifest.entries if e.group is not None}
    assert len(groups) == len(COMBINATIONS)


def test_rows_make_one_entry_each_without_a_group(tmp_path: Path) -> None:
    manifest = load(write_example(tmp_path))
    row = manifest.entry("row-bottle-02")
    assert (row.prompt, row.group, row.take) == ("a bottle by the sea", None, None)
    assert row.origin is not None and row.origin.row is not None
    assert (row.origin.row.file.name, row.origin.row.line) == ("shots.csv", 3)


def test_moved_is_carried_on_the_manifest(tmp_path: Path) -> None:
    assert load(write_example(tmp_path)).moved == (Move("solo-a", "solo-b"),)
