"""`matrix:` (axes, exclude, include), `takes:`, the ids they make, and their errors: an axis
that makes look-alikes (KB403), an id made twice (KB404), too many entries (KB407), excludes
that name no axis (KB408) or drop nothing (KB409), an entry that makes none (KB410)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kling_batch.manifest import Diagnostic, Severity, fingerprint, load, request_body

WriteManifest = Callable[..., Path]
Diagnose = Callable[..., list[Diagnostic]]
Spot = Callable[..., tuple[int, int]]


def ids(write_manifest: WriteManifest, text: str) -> list[str]:
    return [entry.id for entry in load(write_manifest(text)).entries]


def codes(found: list[Diagnostic]) -> list[str]:
    return [d.code for d in found]


MATRIX = """
version: 1
defaults: {aspect_ratio: "16:9"}
shots:
  - id: "{{product}}-{{aspect_ratio}}"
    prompt: "a {{product}} on a table"
    matrix:
      product: [mug, lamp]
      aspect_ratio: ["16:9", "1:1"]
"""


def test_the_first_axis_varies_slowest(write_manifest: WriteManifest) -> None:
    assert ids(write_manifest, MATRIX) == ["mug-16-9", "mug-1-1", "lamp-16-9", "lamp-1-1"]


def test_an_axis_named_like_a_field_sets_it(write_manifest: WriteManifest) -> None:
    manifest = load(
        write_manifest(
            """
            version: 1
            shots:
              - id: "s-{{duration}}-{{mode}}"
                prompt: a cat
                aspect_ratio: "16:9"
                duration: 3
                matrix: {duration: [5, 10], mode: [std]}
            """
        )
    )
    assert [(e.id, e.duration, e.mode) for e in manifest.entries] == [
        ("s-5-std", 5, "std"),
        ("s-10-std", 10, "std"),
    ]


def test_exclude_drops_matching_combinations_and_include_adds(
    write_manifest: WriteManifest,
) -> None:
    text = MATRIX.replace(
        '      aspect_ratio: ["16:9", "1:1"]\n',
        '      aspect_ratio: ["16:9", "1:1"]\n'
        "      exclude: [{product: lamp}]\n"
        '      include: [{product: vase, aspect_ratio: "9:16"}]\n',
    )
    manifest = load(write_manifest(text))
    assert [e.id for e in manifest.entries] == ["mug-16-9", "mug-1-1", "vase-9-16"]
    assert manifest.entries[-1].aspect_ratio == "9:16"


def test_takes_make_a_group(write_manifest: WriteManifest) -> None:
    manifest = load(write_manifest(MATRIX.replace("    matrix:", "    takes: 3\n    matrix:")))
    first = manifest.entries[:3]
    assert [(e.id, e.group, e.take) for e in first] == [
        ("mug-16-9-take1", "mug-16-9", 1),
        ("mug-16-9-take2", "mug-16-9", 2),
        ("mug-16-9-take3", "mug-16-9", 3),
    ]
    assert len(manifest.entries) == 12


def test_one_take_adds_no_suffix(write_manifest: WriteManifest) -> None:
    text = 'version: 1\nshots: [{id: solo, prompt: p, aspect_ratio: "1:1", takes: 1}]\n'
    [entry] = load(write_manifest(text)).entries
    assert (entry.id, entry.group, entry.take) == ("solo", None, None)


def test_grouping_is_neither_sent_nor_fingerprinted(write_manifest: WriteManifest) -> None:
    text = 'version: 1\nshots: [{id: solo, prompt: p, aspect_ratio: "1:1", takes: 2}]\n'
    one, two = load(write_manifest(text)).entries
    assert (one.take, two.take) == (1, 2)
    assert request_body(one) == request_body(two)
    assert fingerprint(one) == fingerprint(two)
    assert "take" not in str(request_body(one))


# --- KB403: an axis that sets no field and appears in no text --------------------------------

LOOK_ALIKES = """
version: 1
shots:
  - id: "s-{{colour}}"
    prompt: a cat
    aspect_ratio: "1:1"
    matrix:
      colour: [red, blue]
"""


def test_an_axis_only_in_the_id_makes_look_alikes(diagnose: Diagnose, spot: Spot) -> None:
    [found] = diagnose(LOOK_ALIKES)
    assert (found.code, found.entry, found.field) == ("KB403", "s-{{colour}}", "matrix.colour")
    assert (found.position.line, found.position.column) == spot(LOOK_ALIKES, "colour: [red")
    assert "use `takes:`" in found.message


def test_near_miss_the_axis_is_in_the_prompt(diagnose: Diagnose) -> None:
    assert diagnose(LOOK_ALIKES.replace("a cat", '"a {{colour}} cat"')) == []


def test_near_miss_the_axis_sets_a_field(diagnose: Diagnose) -> None:
    assert diagnose(LOOK_ALIKES.replace("colour", "mode").replace("red, blue", "std, pro")) == []


# --- KB404: an id made twice ---------------------------------------------------------------

TWICE = """
version: 1
shots:
  - id: "{{product}}"
    prompt: "a {{product}}"
    aspect_ratio: "1:1"
    matrix:
      product: [mug, lamp]
  - id: mug
    prompt: a written mug
    aspect_ratio: "1:1"
"""


def test_an_id_made_twice_names_both_sources(diagnose: Diagnose, spot: Spot) -> None:
    [found] = diagnose(TWICE)
    assert (found.code, found.entry, found.field) == ("KB404", "mug", "id")
    assert (found.position.line, found.position.column) == spot(TWICE, "id: mug", "mug")
    assert "is made twice: line 8, and line 3 (product=mug)" in found.message


def test_near_miss_the_written_entry_has_its_own_id(diagnose: Diagnose) -> None:
    assert diagnose(TWICE.replace("id: mug", "id: mug-written")) == []


def test_ids_that_the_id_rule_makes_equal_collide(diagnose: Diagnose) -> None:
    text = """
    version: 1
    shots:
      - id: "{{name}}"
        prompt: "{{name}}"
        aspect_ratio: "1:1"
        matrix:
          name: ["a b", "a-b"]
    """
    [found] = diagnose(text)
    assert found.code == "KB404"
    assert "'a-b' is made twice: line 3 (name=a-b), and line 3 (name=a b)" in found.message


def test_two_written_entries_are_the_rules_to_report(diagnose: Diagnose) -> None:
    text = 'version: 1\nvars: {a: x}\nshots:\n  - {id: s, prompt: "{{a}}", aspect_ratio: "1:1"}\n'
    text += '  - {id: s, prompt: p, aspect_ratio: "1:1"}\n'
    assert codes(diagnose(text)) == ["KB404"]  # the first is made by expansion (a template)
    written = text.replace('"{{a}}"', "q")
    assert codes(diagnose(written)) == ["KB220"]


def test_takes_collide_with_a_written_entry(diagnose: Diagnose) -> None:
    text = 'version: 1\nshots:\n  - {id: s, prompt: p, aspect_ratio: "1:1", takes: 2}\n'
    text += '  - {id: s-take2, prompt: p, aspect_ratio: "1:1"}\n'
    [found] = diagnose(text)
    assert found.code == "KB404"
    assert "line 4, and line 3, take 2" in found.message


# --- KB407: too many entries ---------------------------------------------------------------


def big(values: int, extra: str = "") -> str:
    numbers = ", ".join(str(n) for n in range(values))
    return (
        f"version: 1\n{extra}shots:\n"
        f'  - id: "n-{{{{n}}}}"\n    prompt: "take {{{{n}}}}"\n    aspect_ratio: "1:1"\n'
        f"    matrix: {{n: [{numbers}]}}\n    takes: 2\n"
    )


def test_more_than_a_thousand_entries_from_one_entry(diagnose: Diagnose) -> None:
    [found] = diagnose(big(501))
    assert (found.code, found.field, found.position.line) == ("KB407", "matrix", 6)
    assert "makes 1,002 entries (501 combinations x 2 takes)" in found.message
    assert "set `max_entries: 1002`" in found.message


def test_near_miss_a_thousand(diagnose: Diagnose) -> None:
    assert diagnose(big(500)) == []


def test_near_miss_max_entries_raises_the_cap(diagnose: Diagnose) -> None:
    assert diagnose(big(501, "max_entries: 1002\n")) == []
    assert codes(diagnose(big(502, "max_entries: 1002\n"))) == ["KB407"]


def test_a_matrix_too_large_to_count(diagnose: Diagnose) -> None:
    axes = ", ".join(f"a{i}: [{', '.join(str(n) for n in range(10))}]" for i in range(7))
    prompt = "-".join(f"{{{{a{i}}}}}" for i in range(7))
    text = (
        f'version: 1\nshots:\n  - {{id: "x-{prompt}", prompt: "{prompt}", aspect_ratio: "1:1",'
        f" matrix: {{{axes}}}}}\n"
    )
    [found] = diagnose(text)
    assert found.code == "KB407"
    assert "10,000,000 combinations before its excludes" in found.message


# --- KB408, KB409: excludes; KB410: no entries ---------------------------------------------

EXCLUDE = MATRIX.replace(
    '      aspect_ratio: ["16:9", "1:1"]\n',
    '      aspect_ratio: ["16:9", "1:1"]\n      exclude:\n        - {colour: red}\n',
)


def test_an_exclude_that_names_no_axis(diagnose: Diagnose, spot: Spot) -> None:
    [found] = diagnose(EXCLUDE)
    assert (found.code, found.field) == ("KB408", "matrix.exclude[0].colour")
    assert (found.position.line, found.position.column) == spot(EXCLUDE, "{colour", "colour")
    assert "the axes are: product, aspect_ratio" in found.message


def test_near_miss_the_exclude_names_an_axis(diagnose: Diagnose) -> None:
    assert diagnose(EXCLUDE.replace("{colour: red}", "{product: lamp}")) == []


def test_an_exclude_with_a_value_no_axis_has_is_a_warning(diagnose: Diagnose) -> None:
    [found] = diagnose(EXCLUDE.replace("{colour: red}", "{product: lampp}"))
    assert (found.code, found.severity) == ("KB409", Severity.WARNING)
    assert "lampp is not a value of `product` (mug, lamp)" in found.message


def test_an_entry_that_makes_no_entries_is_a_warning(diagnose: Diagnose) -> None:
    text = EXCLUDE.replace("{colour: red}", "{product: mug}\n        - {product: lamp}")
    nothing, found = diagnose(text)  # KB222 too (first, at 1:1): there is nothing to render
    assert (found.code, found.severity, nothing.code) == ("KB410", Severity.WARNING, "KB222")
    assert "every combination is excluded" in found.message


def test_a_broken_matrix_is_the_schemas_to_report(diagnose: Diagnose) -> None:
    text = MATRIX.replace("product: [mug, lamp]", "product: []")
    [found] = diagnose(text)
    assert (found.code, found.entry, found.field) == (
        "KB108",
        "{{product}}-{{aspect_ratio}}",
        "matrix.product",
    )
    assert codes(diagnose(MATRIX.replace("    matrix:", "    takes: 0\n    matrix:"))) == ["KB107"]


def test_near_miss_one_combination_is_left(diagnose: Diagnose) -> None:
    assert diagnose(EXCLUDE.replace("{colour: red}", "{product: mug}")) == []
