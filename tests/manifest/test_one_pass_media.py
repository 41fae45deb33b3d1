"""One pass shows every problem, down to a media item: a mistake in a video's
keep_original_sound leaves the item known by its type and url, so the rules that read the media
combination (the duration with a video, audio with a video) still judge the entry."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kling_batch.manifest import Diagnostic

Diagnose = Callable[..., list[Diagnostic]]

EDIT = """
version: 1
shots:
  - id: edit
    model: omni
    prompt: make the sky purple
    duration: 12
    audio: true
    media:
      - {{type: base, url: "https://example.com/clip.mp4", {sound}}}
"""


def codes(found: list[Diagnostic]) -> list[tuple[str | None, str | None, str]]:
    return [(d.entry, d.field, d.code) for d in found]


@pytest.mark.parametrize(
    ("sound", "schema_error"),
    [
        # the example: a typo in the field's name, and one in its value
        ("keep_orignal_sound: true", ("edit", "media[0].keep_orignal_sound", "KB103")),
        ("keep_original_sound: ture", ("edit", "media[0].keep_original_sound", "KB101")),
    ],
)
def test_a_typo_in_keep_original_sound_hides_neither_the_duration_nor_the_audio(
    sound: str, schema_error: tuple[str, str, str], diagnose: Diagnose
) -> None:
    found = codes(diagnose(EDIT.format(sound=sound)))
    assert found == [("edit", "duration", "KB206"), ("edit", "audio", "KB207"), schema_error]


def test_the_near_miss_has_the_same_two_errors_and_no_schema_error(diagnose: Diagnose) -> None:
    found = codes(diagnose(EDIT.format(sound="keep_original_sound: true")))
    assert found == [("edit", "duration", "KB206"), ("edit", "audio", "KB207")]


def test_the_same_typo_in_a_default_hides_nothing_either(diagnose: Diagnose) -> None:
    found = codes(
        diagnose("""
            version: 1
            defaults:
              media: [{type: feature, url: "https://example.com/clip.mp4", keep_sound: true}]
            shots:
              - {id: ref, model: omni, prompt: like <<<video_1>>>, duration: 12}
        """)
    )
    assert found == [
        (None, "defaults.media[0].keep_sound", "KB103"),
        ("ref", "aspect_ratio", "KB208"),
        ("ref", "duration", "KB206"),
    ]


def test_a_media_item_without_its_type_still_leaves_the_media_unjudged(
    diagnose: Diagnose,
) -> None:
    # `tpye` may be base or feature or an image: whether 12 s is too long cannot be told.
    found = codes(
        diagnose("""
            version: 1
            shots:
              - id: edit
                model: omni
                prompt: make the sky purple
                duration: 12
                media:
                  - {tpye: base, url: "https://example.com/clip.mp4"}
        """)
    )
    assert [code for _, _, code in found] == ["KB102", "KB103"]
