"""What the Kling V3 service accepts, as data: the facts that the rules and the normaliser share.

Which model takes which inputs, its modes and its audio are the models table's
(`kling_batch.models`, models.json); this module holds what holds for every model: the media
combinations, the limits on durations, prompts and files.

Source: the DashScope Kling API reference (`shared/reference/dashscope-kling-api.md`):
"Media combinations", "Media limits", "parameters" and "Local files".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from kling_batch.manifest.model import MediaType
from kling_batch.manifest.shape_messages import listed
from kling_batch.models import ModelTable

ASPECT_RATIOS = ("16:9", "9:16", "1:1")

DURATION_MIN = 3
DURATION_MAX = 15
DURATION_MAX_WITH_VIDEO = 10  # with a base or feature video
DEFAULT_DURATION = 5  # the service's default; a customize storyboard is split from it

STORYBOARD_SHOTS_MAX = 6
# Longer prompts are truncated by the service, not refused: the rules warn (KB224, KB225).
PROMPT_MAX = 2500
SHOT_PROMPT_MAX = 512  # multi_prompt[].prompt


@dataclass(frozen=True)
class Inputs:
    """One media combination the service accepts, and what it implies.

    A model accepts it when it takes everything in `needs` (the models table's words). Every
    model that takes `element_list` takes it with any combination (the official page gives the
    first-frame limit of 3 for both standard and omni): only `reference_limit` and
    `element_limit` bound it.
    """

    name: str  # as messages name it: "refer images"
    written: str  # as a manifest writes it: "refer (1 or more)"
    needs: frozenset[str]
    uses_aspect_ratio: bool  # False: the frame or video decides the shape
    reference_limit: int | None = None  # refer images + elements
    element_limit: int | None = None  # elements alone
    has_video: bool = False
    plural: bool = False  # `name` takes a plural verb: "refer images need"


def _needs(*inputs: str) -> frozenset[str]:
    return frozenset(inputs)


TEXT = Inputs(
    "text-to-video",
    "none (text-to-video)",
    _needs("text-to-video"),
    uses_aspect_ratio=True,
    reference_limit=7,
)
FIRST_FRAME = Inputs(
    "a first frame", "first_frame", _needs("first_frame"), uses_aspect_ratio=False, element_limit=3
)
FIRST_LAST_FRAME = Inputs(
    "a first and a last frame",
    "first_frame + last_frame",
    _needs("first_frame", "last_frame"),
    uses_aspect_ratio=False,
    element_limit=3,
    plural=True,
)
REFER = Inputs(
    "refer images",
    "refer (1 or more)",
    _needs("refer"),
    uses_aspect_ratio=True,
    reference_limit=7,
    plural=True,
)
FEATURE = Inputs(
    "a feature video",
    "feature",
    _needs("feature"),
    uses_aspect_ratio=True,
    reference_limit=4,
    has_video=True,
)
FEATURE_REFER = Inputs(
    "a feature video and refer images",
    "feature + refer",
    _needs("feature", "refer"),
    uses_aspect_ratio=True,
    reference_limit=4,
    has_video=True,
    plural=True,
)
FEATURE_FIRST_FRAME = Inputs(
    "a feature video and a first frame",
    "feature + first_frame",
    _needs("feature", "first_frame"),
    uses_aspect_ratio=False,
    element_limit=3,
    has_video=True,
    plural=True,
)
EDIT = Inputs(
    "a base video (editing)",
    "base",
    _needs("base"),
    uses_aspect_ratio=False,
    reference_limit=4,
    has_video=True,
)
EDIT_REFER = Inputs(
    "a base video and refer images",
    "base + refer",
    _needs("base", "refer"),
    uses_aspect_ratio=False,
    reference_limit=4,
    has_video=True,
    plural=True,
)

# Keyed by how many of each type there are (refer: none or some): anything else is refused
# by the service with a 400 InvalidParameter.
_COMBINATIONS: dict[tuple[int, int, bool, int, int], Inputs] = {
    # first_frame, last_frame, refer, feature, base
    (0, 0, False, 0, 0): TEXT,
    (1, 0, False, 0, 0): FIRST_FRAME,
    (1, 1, False, 0, 0): FIRST_LAST_FRAME,
    (0, 0, True, 0, 0): REFER,
    (0, 0, False, 1, 0): FEATURE,
    (0, 0, True, 1, 0): FEATURE_REFER,
    (1, 0, False, 1, 0): FEATURE_FIRST_FRAME,
    (0, 0, False, 0, 1): EDIT,
    (0, 0, True, 0, 1): EDIT_REFER,
}


def valid_combinations(table: ModelTable) -> str:
    """Every accepted combination, grouped by the models that take it, in the table's order:
    "none (text-to-video) or first_frame with any model; ... with omni"."""
    groups: dict[tuple[str, ...], list[str]] = {}
    everyone = tuple(spec.label for spec in table.models)
    for inputs in _COMBINATIONS.values():
        takers = tuple(spec.label for spec in table.taking(*inputs.needs))
        if takers:
            groups.setdefault(takers, []).append(inputs.written)
    return "; ".join(
        f"{listed(written, 'or')} with "
        + ("any model" if takers == everyone else listed(takers, "or"))
        for takers, written in groups.items()
    )


def classify(types: Iterable[MediaType]) -> Inputs | None:
    """The combination a list of media types forms, or None if the service refuses it."""
    return _classify(tuple(types))


@cache  # asked once per entry, and 10,000 entries have a handful of media lists between them
def _classify(types: tuple[MediaType, ...]) -> Inputs | None:
    counts = dict.fromkeys(MediaType, 0)
    for media_type in types:
        counts[media_type] += 1
    key = (
        counts[MediaType.FIRST_FRAME],
        counts[MediaType.LAST_FRAME],
        counts[MediaType.REFER] > 0,
        counts[MediaType.FEATURE],
        counts[MediaType.BASE],
    )
    return _COMBINATIONS.get(key)


# --- prompt references ------------------------------------------------------------------------

REFERENCE = re.compile(r"<<<(image|video|element)_(\d+)>>>")
# Anything in triple angle brackets: what a mistyped reference looks like.
REFERENCE_LIKE = re.compile(r"<<<[^<>\n]{0,40}>>>")

# --- media limits -----------------------------------------------------------------------------

IMAGE_FORMATS = ("JPEG", "PNG")
IMAGE_SIDE_MIN = 300
IMAGE_SIDE_MAX = 8000
IMAGE_RATIO_MAX = 2.5  # long side / short side
IMAGE_BYTES_MAX = 10 * 1024 * 1024

VIDEO_EXTENSIONS = (".mp4", ".mov")
VIDEO_BYTES_MAX = 200 * 1024 * 1024
UPLOAD_BYTES_MAX = 100 * 1024 * 1024  # getPolicy's max_file_size_mb: the cap for local files
VIDEO_SECONDS_MIN = 3.0
VIDEO_SECONDS_MAX = 10.0
VIDEO_SIDE_MIN = 720
VIDEO_SIDE_MAX = 2160
VIDEO_FPS_MIN = 24.0
VIDEO_FPS_MAX = 60.0

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
