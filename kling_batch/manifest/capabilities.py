"""What the Kling V3 models accept, as data: the facts that the rules and the normaliser share.

Source: the DashScope Kling API reference (`shared/reference/dashscope-kling-api.md`):
"Media combinations", "Media limits", "parameters" and "Local files".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kling_batch.manifest.model import OMNI_MODEL, STANDARD_MODEL, MediaType

MODELS = (STANDARD_MODEL, OMNI_MODEL)
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

    Both models take `element_list` with any combination (the official page gives the
    first-frame limit of 3 for both): only `reference_limit` and `element_limit` bound it.
    """

    name: str
    omni_only: bool
    uses_aspect_ratio: bool  # False: the frame or video decides the shape
    reference_limit: int | None = None  # refer images + elements
    element_limit: int | None = None  # elements alone
    has_video: bool = False


TEXT = Inputs("text-to-video", omni_only=False, uses_aspect_ratio=True, reference_limit=7)
FIRST_FRAME = Inputs("first frame", omni_only=False, uses_aspect_ratio=False, element_limit=3)
FIRST_LAST_FRAME = Inputs(
    "first + last frame", omni_only=False, uses_aspect_ratio=False, element_limit=3
)
REFER = Inputs("refer images", omni_only=True, uses_aspect_ratio=True, reference_limit=7)
FEATURE = Inputs(
    "feature video", omni_only=True, uses_aspect_ratio=True, reference_limit=4, has_video=True
)
FEATURE_REFER = Inputs(
    "feature video + refer images",
    omni_only=True,
    uses_aspect_ratio=True,
    reference_limit=4,
    has_video=True,
)
FEATURE_FIRST_FRAME = Inputs(
    "feature video + first frame",
    omni_only=True,
    uses_aspect_ratio=False,
    element_limit=3,
    has_video=True,
)
EDIT = Inputs(
    "base video (editing)",
    omni_only=True,
    uses_aspect_ratio=False,
    reference_limit=4,
    has_video=True,
)
EDIT_REFER = Inputs(
    "base video + refer images",
    omni_only=True,
    uses_aspect_ratio=False,
    reference_limit=4,
    has_video=True,
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

VALID_COMBINATIONS = (
    "none (text-to-video), first_frame, first_frame + last_frame; omni model also: "
    "refer (1 or more), feature, feature + refer, feature + first_frame, base, base + refer"
)


def classify(types: Iterable[MediaType]) -> Inputs | None:
    """The combination a list of media types forms, or None if the service refuses it."""
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
