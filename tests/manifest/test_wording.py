"""Messages read as English: counts agree with their nouns, lists read as lists.

Each message built from a count is checked in pairs: with one of a thing and with several (or
none), the near miss of each other's wording."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kling_batch.manifest import Diagnostic
from kling_batch.manifest.nodes import ScalarNode
from kling_batch.manifest.shape_messages import (
    counted,
    enum_message,
    listed,
    plural,
    unknown_field_message,
)

Diagnose = Callable[..., list[Diagnostic]]


def message(diagnose: Diagnose, text: str, code: str) -> str:
    [found] = [d.message for d in diagnose(text) if d.code == code]
    return found


def test_the_helpers() -> None:
    assert [counted(n, "image") for n in (0, 1, 2)] == ["no images", "1 image", "2 images"]
    assert counted(2, "entry", "entries") == "2 entries"
    assert (plural(1, "needs", "need"), plural(3, "needs", "need")) == ("needs", "need")
    assert [listed(x) for x in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "",
        "a",
        "a and b",
        "a, b and c",
    ]
    assert listed(["a", "b", "c"], "or") == "a, b or c"


def omni(prompt: str, media: str, elements: str = "[]") -> str:
    return f"""
        version: 1
        shots:
          - id: ref
            model: omni
            prompt: {prompt}
            aspect_ratio: "1:1"
            media: {media}
            element_list: {elements}
    """


IMAGE = '{type: refer, url: "https://example.com/a.jpg"}'


@pytest.mark.parametrize(
    ("prompt", "media", "elements", "says"),
    [
        ("<<<image_2>>> runs", f"[{IMAGE}]", "[]", "media has 1 image (first_frame, "),
        ("<<<image_2>>> runs", f"[{IMAGE}]", "[]", "; use image_1"),
        ("<<<image_3>>> runs", f"[{IMAGE}, {IMAGE}]", "[]", "media has 2 images"),
        ("<<<image_3>>> runs", f"[{IMAGE}, {IMAGE}]", "[]", "; use image_1 to image_2"),
        ("<<<video_1>>> runs", f"[{IMAGE}]", "[]", "points at nothing: media has no videos"),
        ("<<<element_1>>> runs", f"[{IMAGE}]", "[]", "the entry has no element_list"),
        ("<<<element_2>>> runs", f"[{IMAGE}]", "[7]", "element_list has 1 element; use element_1"),
        ("<<<element_3>>> runs", f"[{IMAGE}]", "[7, 8]", "has 2 elements; use element_1 to"),
    ],
)
def test_a_reference_to_nothing_counts_what_there_is(
    prompt: str, media: str, elements: str, says: str, diagnose: Diagnose
) -> None:
    found = message(diagnose, omni(prompt, media, elements), "KB216")
    assert says in found
    assert "there are 1" not in found and "there are no" not in found


def storyboard(shots: str, duration: int = 5) -> str:
    return f"""
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "1:1"
            duration: {duration}
            multi_prompt: {shots}
    """


@pytest.mark.parametrize(
    ("shots", "says"),
    [
        (
            "[{prompt: a, duration: 5}, {prompt: b}]",
            "5 s of it taken by the shot with a duration: nothing is left for 1 shot without a "
            "duration, which needs at least 1 s;",
        ),
        (
            "[{prompt: a, duration: 2}, {prompt: b, duration: 2}, {prompt: c}, {prompt: d}]",
            "4 s of it taken by the shots with a duration: 1 s is left for 2 shots without a "
            "duration, which need at least 1 s each;",
        ),
    ],
)
def test_shots_without_a_duration_are_counted(shots: str, says: str, diagnose: Diagnose) -> None:
    assert says in message(diagnose, storyboard(shots), "KB214")


@pytest.mark.parametrize(
    ("shots", "says"),
    [
        ("[{prompt: a, duration: 4}]", "its one shot lasts 4 s but the storyboard lasts 5 s"),
        ("[{prompt: a, duration: 2}, {prompt: b, duration: 2}]", "the shots add up to 4 s but"),
    ],
)
def test_shots_that_do_not_fill_the_storyboard(shots: str, says: str, diagnose: Diagnose) -> None:
    assert says in message(diagnose, storyboard(shots), "KB214")


@pytest.mark.parametrize(
    ("media", "elements", "says"),
    [
        (f"[{', '.join([IMAGE] * 8)}]", "[]", "8 refer images; with refer images the limit is 7"),
        (
            f"[{', '.join([IMAGE] * 4)}]",
            "[1, 2, 3, 4]",
            "4 refer images + 4 elements = 8; with refer images the limit is 7 for the two",
        ),
    ],
)
def test_references_over_the_limit(
    media: str, elements: str, says: str, diagnose: Diagnose
) -> None:
    assert message(diagnose, omni("<<<image_1>>> runs", media, elements), "KB203") == says + (
        " together" if "+" in says else ""
    )


FRAME = '{type: first_frame, url: "https://example.com/a.jpg"}'
LAST = '{type: last_frame, url: "https://example.com/b.jpg"}'


@pytest.mark.parametrize(
    ("media", "says"),
    [
        (f"[{LAST}]", "last_frame alone is not a combination"),
        (f"[{FRAME}, {FRAME}, {IMAGE}]", "2 first_frame items + refer is not a combination"),
    ],
)
def test_a_refused_combination_is_named_item_by_item(
    media: str, says: str, diagnose: Diagnose
) -> None:
    found = message(diagnose, omni("<<<image_1>>> runs", media), "KB202")
    assert found.startswith(says)
    assert "first_frame + last_frame with standard or omni" in found


VIDEO = '{type: feature, url: "https://example.com/a.mp4"}'


@pytest.mark.parametrize(
    ("media", "says"),
    [
        (f"[{IMAGE}]", "refer images need an aspect_ratio"),
        (f"[{VIDEO}]", "a feature video needs an aspect_ratio"),
        (f"[{VIDEO}, {IMAGE}]", "a feature video and refer images need an aspect_ratio"),
    ],
)
def test_what_needs_an_aspect_ratio_agrees_with_its_verb(
    media: str, says: str, diagnose: Diagnose
) -> None:
    text = omni("<<<image_1>>> runs", media).replace('aspect_ratio: "1:1"', "watermark: true")
    assert message(diagnose, text, "KB208").startswith(says)


def test_the_fields_that_are_allowed_are_listed_in_number(diagnose: Diagnose) -> None:
    text = (
        "version: 1\nshots: [{id: a, media: [{type: refer, url: 'https://e.com/a.jpg', nom: x}]}]\n"
    )
    assert message(diagnose, text, "KB103") == (
        "unknown field `nom`; the fields here are: type, url, path, keep_original_sound"
    )
    # No object of the schema has a single field today; the wording is ready for one.
    assert (
        unknown_field_message("nom", ["name"]) == "unknown field `nom`; the only field here is name"
    )


def test_a_choice_of_one_is_not_offered_as_one_of() -> None:
    node = ScalarNode("fast", "fast", plain=True, line=1, column=1)
    assert enum_message(["std"], node) == "fast is not allowed here; use std"
    assert enum_message(["std", "pro"], node) == "fast is not allowed here; use one of: std, pro"
