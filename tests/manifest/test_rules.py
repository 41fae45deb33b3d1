"""Every KB2xx rule: a manifest that breaks it (with the exact positions reported) and a near
miss that passes, that is, a manifest one step away that is valid as a whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kling_batch.manifest import Diagnostic, Severity
from kling_batch.manifest.rules import ENTRY_RULES, MANIFEST_RULES
from kling_batch.models import MODELS_ENV

Diagnose = Callable[..., list[Diagnostic]]
Spot = Callable[..., tuple[int, int]]


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    broken: str
    # Each expected diagnostic: (text of its line, the part it points at, entry id, field).
    expected: tuple[tuple[str, str | None, str | None, str | None], ...]
    near_miss: str
    severity: Severity = Severity.ERROR
    file_name: str = "m.yaml"
    # JSON for $KLING_BATCH_MODELS while the broken manifest, and the near miss, are checked
    models_file: str | None = None
    near_miss_models_file: str | None = None


OMNI_REFER = """
version: 1
shots:
  - id: ref
    model: omni
    prompt: {prompt}
    aspect_ratio: "1:1"
    media:
{media}
    element_list: {elements}
"""


def refer(count: int) -> str:
    return "".join(
        f'      - {{type: refer, url: "https://example.com/r{i}.jpg"}}\n' for i in range(count)
    ).rstrip("\n")


def omni(prompt: str = "<<<image_1>>> runs", media: str = refer(1), elements: str = "[]") -> str:
    return OMNI_REFER.format(prompt=prompt, media=media, elements=elements)


# A models file that adds a model with one mode, and one that is not JSON.
ONE_MODE = json.dumps(
    {
        "models": {
            "kling/pro-only": {"alias": "pro-only", "takes": ["text-to-video"], "modes": ["pro"]}
        }
    }
)
NOT_JSON = '{"models": {'

MODEL_CASES = [
    Case(
        "a models file that cannot be read",
        "KB230",
        "version: 1\nshots: [{id: a, prompt: x, aspect_ratio: '1:1'}]\n",
        (("version: 1", None, None, None),),
        "version: 1\nshots: [{id: a, prompt: x, aspect_ratio: '1:1'}]\n",
        models_file=NOT_JSON,
        near_miss_models_file=ONE_MODE,
    ),
    Case(
        "a model the table does not know",
        "KB231",
        """
        version: 1
        shots:
          - id: fast
            model: turbo3
            prompt: a cat runs
            aspect_ratio: "1:1"
        """,
        (("model: turbo3", "turbo3", "fast", "model"),),
        """
        version: 1
        shots:
          - id: fast
            model: turbo
            prompt: a cat runs
            aspect_ratio: "1:1"
        """,
    ),
    Case(
        "a storyboard on the turbo model",
        "KB232",
        """
        version: 1
        storyboards:
          - id: board
            model: turbo
            shot_type: intelligence
            prompt: a day at the beach
            aspect_ratio: "16:9"
        """,
        (("model: turbo", "turbo", "board", "model"),),
        """
        version: 1
        storyboards:
          - id: board
            model: standard
            shot_type: intelligence
            prompt: a day at the beach
            aspect_ratio: "16:9"
        """,
    ),
    Case(
        "element_list on the turbo model",
        "KB233",
        """
        version: 1
        shots:
          - id: duo
            model: turbo
            prompt: two friends meet
            aspect_ratio: "16:9"
            element_list: [171]
        """,
        (("element_list: [171]", "[171]", "duo", "element_list"),),
        """
        version: 1
        shots:
          - id: duo
            model: standard
            prompt: two friends meet
            aspect_ratio: "16:9"
            element_list: [171]
        """,
    ),
    Case(
        "a mode the model does not offer",
        "KB234",
        """
        version: 1
        shots:
          - id: cat
            model: pro-only
            prompt: a cat runs
            aspect_ratio: "1:1"
            mode: std
        """,
        (("mode: std", "std", "cat", "mode"),),
        """
        version: 1
        shots:
          - id: cat
            model: pro-only
            prompt: a cat runs
            aspect_ratio: "1:1"
            mode: pro
        """,
        models_file=ONE_MODE,
        near_miss_models_file=ONE_MODE,
    ),
    Case(
        "audio: false on the turbo model",
        "KB235",
        """
        version: 1
        defaults: {audio: false, aspect_ratio: "1:1"}
        shots:
          - id: cat
            model: turbo
            prompt: a cat runs
        """,
        (("audio: false, aspect", "false", "cat", "defaults.audio"),),
        """
        version: 1
        defaults: {audio: false, aspect_ratio: "1:1"}
        shots:
          - id: cat
            model: turbo
            prompt: a cat runs
            audio: true
        """,
        Severity.WARNING,
    ),
    Case(
        "refer images on the turbo model",
        "KB201",
        """
        version: 1
        shots:
          - id: ref
            model: turbo
            prompt: a cat runs
            aspect_ratio: "1:1"
            media:
              - {type: refer, url: "https://example.com/cat.jpg"}
        """,
        (("{type: refer", "refer", "ref", "media[0].type"),),
        """
        version: 1
        shots:
          - id: ref
            model: turbo
            prompt: a cat runs
            media:
              - {type: first_frame, url: "https://example.com/cat.jpg"}
        """,
    ),
]


# Renames, against the ids after expansion: `solo-{{n}}` makes solo-b and solo-c.
MOVES = """
    version: 1
    defaults: {{aspect_ratio: "16:9"}}
    shots:
      - id: "solo-{{{{n}}}}"
        prompt: "a solo shot {{{{n}}}}"
        matrix: {{n: [b, c]}}
    moved:
{moves}
"""


def moves(*lines: str) -> str:
    return MOVES.format(moves="\n".join(f"      - {line}" for line in lines))


MOVE_CASES = [
    Case(
        "a move to an id no entry has",
        "KB226",
        moves("{from: solo-a, to: solo-d}"),
        (("{from: solo-a, to: solo-d}", "solo-d", None, "moved[0].to"),),
        moves("{from: solo-a, to: solo-b}"),
    ),
    Case(
        "a chain of moves",
        "KB226",
        moves("{from: solo-a, to: solo-x}", "{from: solo-x, to: solo-b}"),
        (("{from: solo-a, to: solo-x}", "solo-x", None, "moved[0].to"),),
        moves("{from: solo-a, to: solo-b}", "{from: solo-x, to: solo-c}"),
    ),
    Case(
        "a move from an id that is still an entry",
        "KB227",
        moves("{from: solo-c, to: solo-b}"),
        (("{from: solo-c, to: solo-b}", "solo-c", None, "moved[0].from"),),
        moves("{from: solo-a, to: solo-b}"),
    ),
    Case(
        "one old id moved twice",
        "KB228",
        moves("{from: solo-a, to: solo-b}", "{from: solo-a, to: solo-c}  # again"),
        (("{from: solo-a, to: solo-c}  # again", "solo-a", None, "moved[1].from"),),
        moves("{from: solo-a, to: solo-b}", "{from: solo-x, to: solo-c}"),
    ),
    Case(
        "two moves to one new id",
        "KB229",
        moves("{from: solo-a, to: solo-b}", "{from: solo-x, to: solo-b}"),
        (("{from: solo-x, to: solo-b}", "solo-b", None, "moved[1].to"),),
        moves("{from: solo-a, to: solo-b}", "{from: solo-x, to: solo-c}"),
    ),
]

CASES = [
    Case(
        "refer needs omni",
        "KB201",
        """
        version: 1
        shots:
          - id: ref
            prompt: a cat runs
            aspect_ratio: "1:1"
            media:
              - {type: refer, url: "https://example.com/cat.jpg"}
        """,
        (("{type: refer", "refer", "ref", "media[0].type"),),
        """
        version: 1
        shots:
          - id: ref
            model: omni
            prompt: a cat runs
            aspect_ratio: "1:1"
            media:
              - {type: refer, url: "https://example.com/cat.jpg"}
        """,
    ),
    Case(
        "first frame + refer",
        "KB202",
        """
        version: 1
        shots:
          - id: mix
            model: omni
            prompt: <<<image_2>>> runs
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
              - {type: refer, url: "https://example.com/b.jpg"}
        """,
        (("- {type: first_frame", None, "mix", "media"),),
        """
        version: 1
        shots:
          - id: mix
            model: omni
            prompt: <<<image_2>>> runs
            aspect_ratio: "16:9"
            media:
              - {type: refer, url: "https://example.com/a.jpg"}
              - {type: refer, url: "https://example.com/b.jpg"}
        """,
    ),
    Case(
        "last frame alone",
        "KB202",
        """
        version: 1
        shots:
          - id: end
            prompt: the end
            media:
              - {type: last_frame, url: "https://example.com/a.jpg"}
        """,
        (("- {type: last_frame", None, "end", "media"),),
        """
        version: 1
        shots:
          - id: end
            prompt: the end
            media:
              - {type: first_frame, url: "https://example.com/0.jpg"}
              - {type: last_frame, url: "https://example.com/a.jpg"}
        """,
    ),
    Case(
        "refer + elements over 7",
        "KB203",
        omni(media=refer(4), elements="[1, 2, 3, 4]"),
        (("element_list: [", "[", "ref", "element_list"),),
        omni(media=refer(4), elements="[1, 2, 3]"),
    ),
    Case(
        "refer + elements over 4 with a base video",
        "KB203",
        """
        version: 1
        shots:
          - id: edit
            model: omni
            prompt: dress <<<video_1>>> like <<<image_1>>>
            media:
              - {type: base, url: "https://example.com/clip.mp4"}
              - {type: refer, url: "https://example.com/a.jpg"}
              - {type: refer, url: "https://example.com/b.jpg"}
            element_list: [7, 8, 9]
        """,
        (("element_list: [", "[", "edit", "element_list"),),
        """
        version: 1
        shots:
          - id: edit
            model: omni
            prompt: dress <<<video_1>>> like <<<image_1>>>
            media:
              - {type: base, url: "https://example.com/clip.mp4"}
              - {type: refer, url: "https://example.com/a.jpg"}
              - {type: refer, url: "https://example.com/b.jpg"}
            element_list: [7, {element_id: 8}]
        """,
    ),
    Case(
        "elements with a first frame",
        "KB204",
        """
        version: 1
        shots:
          - id: frame
            model: omni
            prompt: they meet
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
            element_list: [1, 2, 3, 4]
        """,
        (("element_list: [", "[", "frame", "element_list"),),
        """
        version: 1
        shots:
          - id: frame
            model: omni
            prompt: they meet
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
            element_list: [1, 2, 3]
        """,
    ),
    Case(
        "elements with a first frame on the standard model",
        "KB204",
        """
        version: 1
        shots:
          - id: frame
            prompt: they meet
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
              - {type: last_frame, url: "https://example.com/b.jpg"}
            element_list: [1, 2, 3, 4]
        """,
        (("element_list: [", "[", "frame", "element_list"),),
        """
        version: 1
        shots:
          - id: frame
            prompt: they meet
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
              - {type: last_frame, url: "https://example.com/b.jpg"}
            element_list: [1, 2, 3]
        """,
    ),
    Case(
        "duration with a base video",
        "KB206",
        """
        version: 1
        shots:
          - id: edit
            model: omni
            prompt: make the sky purple
            duration: 12
            media:
              - {type: base, url: "https://example.com/clip.mp4"}
        """,
        (("duration: 12", "12", "edit", "duration"),),
        """
        version: 1
        shots:
          - id: edit
            model: omni
            prompt: make the sky purple
            duration: 10
            media:
              - {type: base, url: "https://example.com/clip.mp4"}
        """,
    ),
    Case(
        "storyboard whose shots add up to too much",
        "KB206",
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            multi_prompt:
              - {prompt: one, duration: 4}
              - {prompt: two, duration: 4}
              - {prompt: three, duration: 4}
              - {prompt: four, duration: 4}
        """,
        (("- {prompt: one", None, "board", "multi_prompt"),),
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            multi_prompt:
              - {prompt: one, duration: 4}
              - {prompt: two, duration: 4}
              - {prompt: three, duration: 4}
              - {prompt: four, duration: 3}
        """,
    ),
    Case(
        "audio with a feature video",
        "KB207",
        """
        version: 1
        shots:
          - id: dance
            model: omni
            prompt: dance like <<<video_1>>>
            aspect_ratio: "9:16"
            audio: true
            media:
              - {type: feature, url: "https://example.com/dance.mp4"}
        """,
        (("audio: true", "true", "dance", "audio"),),
        """
        version: 1
        shots:
          - id: dance
            model: omni
            prompt: dance like <<<video_1>>>
            aspect_ratio: "9:16"
            audio: false
            media:
              - {type: feature, url: "https://example.com/dance.mp4", keep_original_sound: true}
        """,
    ),
    Case(
        "text-to-video without an aspect ratio",
        "KB208",
        """
        version: 1
        shots:
          - id: cat
            prompt: a cat
        """,
        (("id: cat", "cat", "cat", "aspect_ratio"),),
        """
        version: 1
        defaults:
          aspect_ratio: "1:1"
        shots:
          - id: cat
            prompt: a cat
        """,
    ),
    Case(
        "aspect ratio with a first frame",
        "KB209",
        """
        version: 1
        shots:
          - id: frame
            prompt: it moves
            aspect_ratio: "9:16"
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
        """,
        (('aspect_ratio: "9:16"', '"9:16"', "frame", "aspect_ratio"),),
        """
        version: 1
        defaults:
          aspect_ratio: "9:16"
        shots:
          - id: frame
            prompt: it moves
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
        """,
        Severity.WARNING,
    ),
    Case(
        "keep_original_sound on an image",
        "KB210",
        omni(media='      - {type: refer, url: "https://e.com/a.jpg", keep_original_sound: true}'),
        (("keep_original_sound: true", "true", "ref", "media[0].keep_original_sound"),),
        """
        version: 1
        shots:
          - id: ref
            model: omni
            prompt: <<<image_1>>> walks into <<<video_1>>>
            media:
              - {type: base, url: "https://example.com/a.mp4", keep_original_sound: true}
              - {type: refer, url: "https://example.com/a.jpg"}
        """,
    ),
    Case(
        "text-to-video without a prompt",
        "KB211",
        """
        version: 1
        shots:
          - id: silent
            aspect_ratio: "1:1"
        """,
        (("id: silent", "silent", "silent", "prompt"),),
        """
        version: 1
        shots:
          - id: silent
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
        """,
    ),
    Case(
        "omni references without a prompt",
        "KB211",
        """
        version: 1
        shots:
          - id: ref
            model: omni
            aspect_ratio: "1:1"
            media:
              - {type: refer, url: "https://example.com/a.jpg"}
        """,
        (("id: ref", "ref", "ref", "prompt"),),
        omni(),
    ),
    Case(
        "intelligence storyboard without a prompt",
        "KB211",
        """
        version: 1
        storyboards:
          - id: story
            shot_type: intelligence
            aspect_ratio: "16:9"
        """,
        (("id: story", "story", "story", "prompt"),),
        """
        version: 1
        storyboards:
          - id: story
            shot_type: intelligence
            prompt: a day at the beach
            aspect_ratio: "16:9"
        """,
    ),
    Case(
        "storyboard without a shot type",
        "KB212",
        """
        version: 1
        storyboards:
          - id: story
            prompt: a day at the beach
            aspect_ratio: "16:9"
        """,
        (("id: story", "story", "story", "shot_type"),),
        """
        version: 1
        defaults:
          shot_type: intelligence
        storyboards:
          - id: story
            prompt: a day at the beach
            aspect_ratio: "16:9"
        """,
    ),
    Case(
        "customize storyboard without shots",
        "KB213",
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
        """,
        (("id: board", "board", "board", "multi_prompt"),),
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            multi_prompt: [{prompt: a beach}]
        """,
    ),
    Case(
        "intelligence storyboard with shots",
        "KB213",
        """
        version: 1
        storyboards:
          - id: story
            shot_type: intelligence
            prompt: a day at the beach
            aspect_ratio: "16:9"
            multi_prompt: [{prompt: a beach}]
        """,
        (("multi_prompt: [", "[", "story", "multi_prompt"),),
        """
        version: 1
        storyboards:
          - id: story
            shot_type: customize
            aspect_ratio: "16:9"
            multi_prompt: [{prompt: a beach}]
        """,
    ),
    Case(
        "shots that do not add up",
        "KB214",
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            duration: 10
            multi_prompt:
              - {prompt: one, duration: 4}
              - {prompt: two, duration: 4}
        """,
        (("duration: 10", "10", "board", "duration"),),
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            duration: 10
            multi_prompt:
              - {prompt: one, duration: 4}
              - {prompt: two, duration: 6}
        """,
    ),
    Case(
        "a shot longer than its storyboard",
        "KB214",
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            duration: 5
            multi_prompt:
              - {prompt: one, duration: 6}
              - {prompt: two, duration: 1}
        """,
        (
            ("duration: 5", "5", "board", "duration"),
            ("{prompt: one, duration: 6}", "6", "board", "multi_prompt[0].duration"),
        ),
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            duration: 7
            multi_prompt:
              - {prompt: one, duration: 6}
              - {prompt: two, duration: 1}
        """,
    ),
    Case(
        "a duration too short to split",
        "KB214",
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            duration: 3
            multi_prompt: [{prompt: a}, {prompt: b}, {prompt: c}, {prompt: d}]
        """,
        (("multi_prompt: [", "[", "board", "multi_prompt"),),
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            duration: 4
            multi_prompt: [{prompt: a}, {prompt: b}, {prompt: c}, {prompt: d}]
        """,
    ),
    Case(
        "a prompt on a customize storyboard",
        "KB215",
        """
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            prompt: ignored
            aspect_ratio: "16:9"
            multi_prompt: [{prompt: a beach, duration: 5}]
        """,
        (("prompt: ignored", "ignored", "board", "prompt"),),
        """
        version: 1
        defaults:
          prompt: only for the shots
          aspect_ratio: "16:9"
        shots:
          - id: shot
        storyboards:
          - id: board
            shot_type: customize
            multi_prompt: [{prompt: a beach, duration: 5}]
        """,
        Severity.WARNING,
    ),
    Case(
        "a prompt past 2500 characters",
        "KB224",
        f"""
        version: 1
        shots:
          - id: long
            aspect_ratio: "16:9"
            prompt: {"x" * 2501}
        """,
        (("prompt: x", "x", "long", "prompt"),),
        f"""
        version: 1
        shots:
          - id: long
            aspect_ratio: "16:9"
            prompt: {"x" * 2500}
        """,
        Severity.WARNING,
    ),
    Case(
        "a shot prompt past 512 characters",
        "KB225",
        f"""
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            multi_prompt:
              - {{prompt: {"a" * 512}, duration: 3}}
              - {{prompt: {"b" * 513}, duration: 3}}
        """,
        (("{prompt: b", "b", "board", "multi_prompt[1].prompt"),),
        f"""
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            multi_prompt:
              - {{prompt: {"a" * 512}, duration: 3}}
              - {{prompt: {"b" * 512}, duration: 3}}
        """,
        Severity.WARNING,
    ),
    Case(
        "an image reference past the images",
        "KB216",
        omni(prompt="<<<image_1>>> meets <<<image_2>>>", media=refer(1)),
        (("prompt: <<<", "<<<", "ref", "prompt"),),
        omni(prompt="<<<image_1>>> meets <<<image_2>>>", media=refer(2)),
    ),
    Case(
        "video and element references without videos and elements",
        "KB216",
        omni(
            prompt="<<<image_1>>> in <<<video_1>>> with <<<element_2>>>",
            media=refer(1),
            elements="[5]",
        ),
        (("prompt: <<<", "<<<", "ref", "prompt"), ("prompt: <<<", "<<<", "ref", "prompt")),
        omni(prompt="<<<image_1>>> with <<<element_1>>>", media=refer(1), elements="[5]"),
    ),
    Case(
        "a reference in a storyboard shot",
        "KB216",
        """
        version: 1
        storyboards:
          - id: board
            model: omni
            shot_type: customize
            aspect_ratio: "16:9"
            media:
              - {type: refer, url: "https://example.com/a.jpg"}
            multi_prompt:
              - {prompt: <<<image_1>>> arrives, duration: 2}
              - {prompt: <<<image_3>>> leaves, duration: 2}
        """,
        (("{prompt: <<<image_3", "<<<", "board", "multi_prompt[1].prompt"),),
        """
        version: 1
        storyboards:
          - id: board
            model: omni
            shot_type: customize
            aspect_ratio: "16:9"
            media:
              - {type: refer, url: "https://example.com/a.jpg"}
            multi_prompt:
              - {prompt: <<<image_1>>> arrives, duration: 2}
              - {prompt: <<<image_1>>> leaves, duration: 2}
        """,
    ),
    Case(
        "a mistyped reference",
        "KB217",
        omni(prompt="<<<img_1>>> runs", media=refer(1)),
        (("prompt: <<<", "<<<", "ref", "prompt"),),
        omni(prompt="<<<image_1>>> runs", media=refer(1)),
        Severity.WARNING,
    ),
    Case(
        "references on the standard model",
        "KB218",
        """
        version: 1
        shots:
          - id: frame
            prompt: <<<image_1>>> moves
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
        """,
        (("prompt: <<<", "<<<", "frame", "prompt"),),
        """
        version: 1
        shots:
          - id: frame
            model: omni
            prompt: <<<image_1>>> moves
            media:
              - {type: first_frame, url: "https://example.com/a.jpg"}
        """,
        Severity.WARNING,
    ),
    Case(
        "a video URL for an image",
        "KB219",
        omni(media='      - {type: refer, url: "https://example.com/cat.mp4?x=1"}'),
        (('url: "https', '"https', "ref", "media[0].url"),),
        omni(media='      - {type: refer, url: "https://example.com/cat.JPG?x=.mp4"}'),
        Severity.WARNING,
    ),
    Case(
        "an id used twice",
        "KB220",
        """
        version: 1
        defaults: {aspect_ratio: "16:9"}
        shots:
          - id: launch
            prompt: a rocket
        storyboards:
          - id: launch  # again
            shot_type: intelligence
            prompt: a rocket launch
        """,
        (("launch  # again", "launch", "launch", "id"),),
        """
        version: 1
        defaults: {aspect_ratio: "16:9"}
        shots:
          - id: launch
            prompt: a rocket
        storyboards:
          - id: launch-story
            shot_type: intelligence
            prompt: a rocket launch
        """,
    ),
    Case(
        "ids that differ in case only",
        "KB221",
        """
        version: 1
        defaults: {aspect_ratio: "16:9"}
        shots:
          - id: Cat
            prompt: a cat
          - id: cat
            prompt: a cat
        """,
        (("id: cat", "cat", "cat", "id"),),
        """
        version: 1
        defaults: {aspect_ratio: "16:9"}
        shots:
          - id: Cat
            prompt: a cat
          - id: cat-2
            prompt: a cat
        """,
    ),
    Case(
        "nothing to render",
        "KB222",
        "version: 1\nshots: []\n",
        (("version: 1", None, None, None),),
        "version: 1\nshots: [{id: a, prompt: x, aspect_ratio: '1:1'}]\n",
        Severity.WARNING,
    ),
    Case(
        "a file name that cannot name a folder",
        "KB223",
        "version: 1\nshots: [{id: a, prompt: x, aspect_ratio: '1:1'}]\n",
        (("version: 1", None, None, "name"),),
        "version: 1\nname: my-film\nshots: [{id: a, prompt: x, aspect_ratio: '1:1'}]\n",
        file_name="my film.yaml",
    ),
    *MOVE_CASES,
    *MODEL_CASES,
]


@pytest.fixture
def models_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    """Point $KLING_BATCH_MODELS at a file holding this JSON, or at nothing."""

    def use(text: str | None) -> None:
        if text is not None:
            path = tmp_path / "models.json"
            path.write_text(text, encoding="utf-8")
            monkeypatch.setenv(MODELS_ENV, str(path))
        else:
            monkeypatch.delenv(MODELS_ENV, raising=False)

    return use


@pytest.mark.parametrize("case", CASES, ids=[f"{c.code} {c.name}" for c in CASES])
def test_rule_breaks(
    case: Case, diagnose: Diagnose, spot: Spot, models_file: Callable[[str | None], None]
) -> None:
    models_file(case.models_file)
    found = [d for d in diagnose(case.broken, case.file_name) if d.code == case.code]
    expected = []
    for line, part, entry, field in case.expected:
        expected.append((*spot(case.broken, line, part), entry, field, case.severity))
    reported = [(d.position.line, d.position.column, d.entry, d.field, d.severity) for d in found]
    assert reported == expected
    assert all(d.message for d in found)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.code} {c.name}" for c in CASES])
def test_rule_near_miss_passes(
    case: Case, diagnose: Diagnose, models_file: Callable[[str | None], None]
) -> None:
    models_file(case.near_miss_models_file)
    found = diagnose(case.near_miss, case.file_name)
    assert [d for d in found if d.code == case.code or d.is_error] == []


def test_every_rule_has_a_case_or_a_media_test() -> None:
    # The KB3xx (local files) rules have theirs in test_media_files.py.
    covered = {case.code for case in CASES}
    assert {r.code for r in (*ENTRY_RULES, *MANIFEST_RULES)} <= covered


def test_messages_say_what_would_be_valid(diagnose: Diagnose) -> None:
    [diagnostic] = [
        d
        for d in diagnose(
            """
            version: 1
            shots:
              - id: edit
                model: omni
                prompt: make the sky purple
                duration: 12
                media:
                  - {type: base, url: "https://example.com/clip.mp4"}
            """
        )
        if d.code == "KB206"
    ]
    assert "3 to 10 s" in diagnostic.message


@pytest.mark.parametrize(
    "entry",
    [
        "shots:\n  - {id: text, prompt: two friends meet, element_list: [171, 172]}",
        "shots:\n  - id: frame\n    prompt: they meet\n    element_list: [171, 172, 173]\n"
        "    media: [{type: first_frame, url: 'https://example.com/a.jpg'}]",
        "storyboards:\n  - id: board\n    shot_type: customize\n    element_list: [171]\n"
        "    multi_prompt: [{prompt: they meet, duration: 5}]",
        "storyboards:\n  - {id: board, shot_type: intelligence, prompt: a day, element_list: []}",
    ],
    ids=["text-to-video", "first frame", "customize storyboard", "intelligence, empty"],
)
def test_the_standard_model_takes_element_list(entry: str, diagnose: Diagnose) -> None:
    # The official page gives the element limits for both models, and its standard storyboard
    # example sends `element_list: []`.
    text = f"version: 1\ndefaults: {{aspect_ratio: '16:9'}}\n{entry}\n"
    assert diagnose(text) == []


def test_truncation_warnings_say_what_the_service_keeps(diagnose: Diagnose) -> None:
    found = diagnose(f"""
        version: 1
        defaults: {{aspect_ratio: "16:9"}}
        shots:
          - {{id: long, prompt: {"x" * 2600}}}
        storyboards:
          - id: board
            shot_type: customize
            multi_prompt: [{{prompt: {"y" * 600}, duration: 5}}]
    """)
    messages = {d.code: d.message for d in found}
    assert set(messages) == {"KB224", "KB225"}
    assert "2600 characters" in messages["KB224"]
    assert "keeps the first 2500 characters" in messages["KB224"]
    assert "600 characters" in messages["KB225"]
    assert "keeps the first 512 characters" in messages["KB225"]
    assert all(not d.is_error for d in found)


def test_an_ignored_long_prompt_is_not_called_truncated(diagnose: Diagnose) -> None:
    found = diagnose(f"""
        version: 1
        storyboards:
          - id: board
            shot_type: customize
            aspect_ratio: "16:9"
            prompt: {"x" * 2501}
            multi_prompt: [{{prompt: a beach, duration: 5}}]
    """)
    assert [d.code for d in found] == ["KB215"]


def test_a_problem_shared_through_defaults_is_reported_once(diagnose: Diagnose) -> None:
    found = diagnose("""
        version: 1
        defaults:
          model: omni
          duration: 12
          media:
            - {type: base, url: "https://example.com/clip.mp4"}
        shots:
          - {id: a, prompt: one}
          - {id: b, prompt: two}
          - {id: c, prompt: three}
    """)
    [diagnostic] = [d for d in found if d.code == "KB206"]
    assert diagnostic.field == "defaults.duration"
    assert diagnostic.entry == "a"
    assert (diagnostic.position.line, diagnostic.position.column) == (4, 13)
    assert diagnostic.message.endswith("(also for 2 other entries)")


def test_all_problems_of_a_file_in_one_pass_sorted(diagnose: Diagnose, tmp_path: Path) -> None:
    found = diagnose("""
        version: 1
        shots:
          - id: a
            prompt: x
          - id: b
            model: standard
            prompt: y
            aspect_ratio: "1:1"
            media:
              - {type: base, url: "https://example.com/clip.mp4"}
          - id: a
            prompt: z
            aspect_ratio: "4:3"
    """)
    positions = [(d.position.line, d.position.column) for d in found]
    assert positions == sorted(positions)
    assert {d.code for d in found} >= {"KB208", "KB201", "KB104"}
