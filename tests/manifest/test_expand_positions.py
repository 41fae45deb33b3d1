"""Every rule that applies to a written entry applies to each expanded one, and an error in an
expanded entry names the line of its source (or the cell of its row) and its expanded id.
Also `moved:`, which is checked for shape and carried on the Manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kling_batch.manifest import Diagnostic, Move, load

WriteManifest = Callable[..., Path]
Diagnose = Callable[..., list[Diagnostic]]
Spot = Callable[..., tuple[int, int]]


def located(found: Diagnostic) -> tuple[str, str | None, str | None, int, int]:
    return found.code, found.entry, found.field, found.position.line, found.position.column


MODELS = """
version: 1
shots:
  - id: "ref-{{model}}"
    prompt: a cat runs
    aspect_ratio: "1:1"
    media:
      - {type: refer, url: "https://example.com/cat.jpg"}
    matrix:
      model: [standard, omni]
"""


def test_a_rule_judges_each_expanded_entry(diagnose: Diagnose, spot: Spot) -> None:
    [found] = diagnose(MODELS)  # refer needs omni: only the standard one breaks it
    assert located(found) == ("KB201", "ref-standard", "media[0].type", *spot(MODELS, "refer"))


def test_near_miss_every_expanded_entry_passes(diagnose: Diagnose) -> None:
    assert diagnose(MODELS.replace("[standard, omni]", "[omni]")) == []


DURATIONS = """
version: 1
defaults: {aspect_ratio: "16:9"}
shots:
  - id: "d-{{duration}}"
    prompt: a cat runs
    matrix:
      duration: [5,
                 20]
"""


def test_a_schema_error_points_at_the_axis_value(diagnose: Diagnose, spot: Spot) -> None:
    [found] = diagnose(DURATIONS)
    assert located(found) == ("KB107", "d-20", "duration", *spot(DURATIONS, "20]"))


def test_a_filled_in_text_points_at_its_template(diagnose: Diagnose, spot: Spot) -> None:
    text = """
    version: 1
    vars: {host: "ftp://example.com"}
    shots:
      - id: "ref-{{n}}"
        model: omni
        prompt: "<<<image_1>>> take {{n}}"
        aspect_ratio: "1:1"
        media:
          - {type: refer, url: "{{host}}/{{n}}.jpg"}
        matrix: {n: [1, 2]}
    """
    [found] = diagnose(text)  # one node, two entries: said once
    assert located(found) == ("KB105", "ref-1", "media[0].url", *spot(text, '"{{host}}'))
    assert found.message.endswith("(also for 1 other entry)")


def test_a_missing_field_is_reported_at_the_source_id(diagnose: Diagnose, spot: Spot) -> None:
    text = 'version: 1\nshots:\n  - id: "t-{{n}}"\n    prompt: "take {{n}}"\n'
    text += "    matrix: {n: [1, 2, 3]}\n"
    [found] = diagnose(text)
    assert located(found) == ("KB208", "t-1", "aspect_ratio", *spot(text, '"t-{{n}}"'))
    assert "(also for 2 other entries)" in found.message


def test_references_are_checked_after_filling_in(diagnose: Diagnose) -> None:
    text = """
    version: 1
    shots:
      - id: "ref-{{n}}"
        model: omni
        prompt: "<<<image_{{n}}>>> runs"
        aspect_ratio: "1:1"
        media:
          - {type: refer, url: "https://example.com/cat.jpg"}
        matrix: {n: [1, 2]}
    """
    [found] = diagnose(text)
    assert (found.code, found.entry) == ("KB216", "ref-2")


def test_an_expanded_id_that_is_no_folder_name(diagnose: Diagnose) -> None:
    text = 'version: 1\nshots:\n  - {id: "{{p}}", prompt: "{{p}}", matrix: {p: [ok, "#1"]}}\n'
    text = text.replace("matrix:", 'aspect_ratio: "1:1", matrix:')
    [found] = diagnose(text)
    assert (found.code, found.entry, found.field) == ("KB105", "-1", "id")


def test_the_typed_entry_knows_its_source(write_manifest: WriteManifest) -> None:
    path = write_manifest(MODELS.replace("[standard, omni]", "[omni]"))
    [entry] = load(path).entries
    assert entry.position is not None and entry.origin is not None
    assert (entry.position.line, entry.origin.position.line) == (3, 3)
    assert entry.origin.template == "ref-{{model}}"


# --- moved ---------------------------------------------------------------------------------

MOVED = """
version: 1
shots:
  - {id: solo-b, prompt: a cat, aspect_ratio: "1:1"}
moved:
  - {from: solo-a, to: solo-b}
"""


def test_moved_is_carried_on_the_manifest(write_manifest: WriteManifest) -> None:
    manifest = load(write_manifest(MOVED))
    assert manifest.moved == (Move("solo-a", "solo-b"),)
    position = manifest.moved[0].position
    assert position is not None and position.line == 5


def test_a_move_needs_both_ids(diagnose: Diagnose, spot: Spot) -> None:
    text = MOVED.replace("{from: solo-a, to: solo-b}", "{from: solo-a}")
    [found] = diagnose(text)
    assert (found.code, found.entry, found.field) == ("KB102", None, "moved[0]")
    assert found.message == "`to` is missing"


def test_a_move_names_ids(diagnose: Diagnose) -> None:
    [found] = diagnose(MOVED.replace("from: solo-a", "from: ../solo-a"))
    assert (found.code, found.field) == ("KB105", "moved[0].from")
    assert [d.code for d in diagnose(MOVED.replace("to: solo-b", "to: solo-b, by: me"))] == [
        "KB103"
    ]
