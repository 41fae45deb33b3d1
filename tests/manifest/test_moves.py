"""`moved:` is judged against the ids after expansion, and only when they are all known."""

from __future__ import annotations

from tests.manifest.conftest import Diagnose

BROKEN_ENTRY = """
version: 1
defaults: {aspect_ratio: "16:9"}
shots:
  - id: "solo-{{n}}"
    prompt: "a solo shot {{n}} {{missing}}"
    matrix: {n: [b, c]}
moved:
  - {from: solo-a, to: solo-b}
"""


def test_a_move_to_an_entry_that_did_not_expand_is_not_called_unknown(diagnose: Diagnose) -> None:
    codes = [d.code for d in diagnose(BROKEN_ENTRY)]
    assert "KB401" in codes  # the entry's own error says what is wrong
    assert "KB226" not in codes


def test_a_move_to_a_made_id_passes_and_one_to_an_id_never_made_fails(diagnose: Diagnose) -> None:
    fixed = BROKEN_ENTRY.replace(" {{missing}}", "")
    assert diagnose(fixed) == []
    found = diagnose(fixed.replace("to: solo-b", "to: solo-d"))
    assert [(d.code, d.field) for d in found] == [("KB226", "moved[0].to")]
    assert "did you mean" in found[0].message
