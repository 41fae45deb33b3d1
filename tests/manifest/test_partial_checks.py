"""One pass shows as much as it can: an entry with a schema error is still judged by the rules
that read none of its broken fields, and only those that do are skipped."""

from __future__ import annotations

from collections.abc import Callable

from kling_batch.manifest import Diagnostic

Diagnose = Callable[..., list[Diagnostic]]


def codes(found: list[Diagnostic]) -> list[tuple[str | None, str]]:
    return [(d.entry, d.code) for d in found]


def test_a_broken_field_does_not_hide_the_other_problems(diagnose: Diagnose) -> None:
    found = diagnose("""
        version: 1
        shots:
          - id: cat
            prompt: a cat
            duration: 20
    """)
    assert codes(found) == [("cat", "KB208"), ("cat", "KB107")]


def test_rules_that_read_a_broken_field_are_skipped(diagnose: Diagnose) -> None:
    # With the media unreadable, whether 12 s is too long (a base video allows 10) and whether
    # an aspect_ratio is needed cannot be told: no KB206, no KB208.
    found = diagnose("""
        version: 1
        shots:
          - id: edit
            model: omni
            prompt: make the sky purple
            duration: 12
            media:
              - {type: base, url: "ftp://example.com/clip.mp4"}
    """)
    assert codes(found) == [("edit", "KB105")]


def test_a_broken_shot_type_breaks_what_depends_on_it(diagnose: Diagnose) -> None:
    # Without a readable shot_type, "needs a shot_type" (KB212) would be wrong, and whether the
    # default prompt applies (not to customize storyboards) is unknown.
    found = diagnose(f"""
        version: 1
        defaults:
          prompt: {"x" * 2600}
        storyboards:
          - id: board
            shot_type: Customize
            aspect_ratio: "16:9"
    """)
    assert codes(found) == [("board", "KB104")]


def test_a_broken_default_skips_only_the_rules_that_read_it(diagnose: Diagnose) -> None:
    found = diagnose("""
        version: 1
        defaults:
          duration: 20
          aspect_ratio: "16:9"
        shots:
          - id: silent
          - id: own
            prompt: a cat
            duration: 5
            audio: yes
    """)
    assert codes(found) == [(None, "KB107"), ("silent", "KB211"), ("own", "KB101")]


def test_an_unknown_field_leaves_its_entry_unjudged(diagnose: Diagnose) -> None:
    # `promt` may be a misspelling of any field: judging the rest would guess.
    found = diagnose("version: 1\nshots:\n  - {id: a, promt: x}\n  - {id: b, prompt: y}\n")
    assert codes(found) == [("a", "KB103"), ("b", "KB208")]


def test_an_unknown_default_leaves_every_entry_unjudged(diagnose: Diagnose) -> None:
    found = diagnose("version: 1\ndefaults: {aspect: '1:1'}\nshots:\n  - {id: a, prompt: x}\n")
    assert codes(found) == [(None, "KB103")]


def test_ids_that_are_missing_or_broken_are_not_compared(diagnose: Diagnose) -> None:
    found = diagnose("""
        version: 1
        defaults: {aspect_ratio: "1:1"}
        shots:
          - prompt: no id
          - id: "my cat"
            prompt: one
          - id: "my cat"
            prompt: two
          - id: ok
    """)
    assert codes(found) == [
        ("shots[0]", "KB102"),
        ("my cat", "KB105"),
        ("my cat", "KB105"),
        ("ok", "KB211"),
    ]


def test_a_broken_section_skips_the_nothing_to_render_warning(diagnose: Diagnose) -> None:
    # A mapping where the list of shots should be: "nothing to render" (KB222) would be wrong.
    found = diagnose("version: 1\nshots: {id: a, prompt: x}\n")
    assert codes(found) == [(None, "KB101")]
