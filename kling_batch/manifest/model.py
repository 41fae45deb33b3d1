"""Typed, immutable manifest entries: what the loader and rule checker hand to everything else.

Data flows one way: manifest text -> `Manifest` of `Entry` -> request body (`requests.py`)
-> tasks -> results. Nothing downstream of this module sees raw YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from kling_batch.models import AliasView

# The models and what each takes are data (kling_batch/models.json, `kling_batch.models`); these
# name the shipped ones for code that means one of them.
STANDARD_MODEL = "kling/kling-v3-video-generation"  # the default
OMNI_MODEL = "kling/kling-v3-omni-video-generation"
TURBO_MODEL = "kling/kling-v3-turbo-video-generation"
MODEL_ALIASES: Mapping[str, str] = AliasView()  # alias -> full name, from the table in force


class EntryKind(StrEnum):
    SHOT = "shot"
    STORYBOARD = "storyboard"


class MediaType(StrEnum):
    FIRST_FRAME = "first_frame"
    LAST_FRAME = "last_frame"
    REFER = "refer"
    FEATURE = "feature"
    BASE = "base"

    @property
    def is_video(self) -> bool:
        return self in (MediaType.FEATURE, MediaType.BASE)


class ShotType(StrEnum):
    """How a storyboard is cut into shots."""

    CUSTOMIZE = "customize"  # the shots are listed in multi_prompt
    INTELLIGENCE = "intelligence"  # the model cuts the prompt into shots


class Mode(StrEnum):
    """Render quality; the service's default is PRO."""

    STD = "std"  # 720P
    PRO = "pro"  # 1080P


@dataclass(frozen=True)
class Position:
    """Where a node stands in its file, 1-based, for error messages."""

    file: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Media:
    """One media item: exactly one of `url` (http, https, oss) or `path` (a local file)."""

    type: MediaType
    url: str | None = None
    path: Path | None = None  # absolute, resolved against the manifest's folder
    keep_original_sound: bool | None = None


@dataclass(frozen=True)
class StoryboardShot:
    prompt: str
    duration: int | None = None


@dataclass(frozen=True)
class Origin:
    """The entry an expanded entry was made from (by `vars`, `matrix`, `rows` or `takes`)."""

    template: str  # the source entry's id as written: "{{product}}-{{aspect_ratio}}"
    position: Position  # where the source entry's id is written
    values: tuple[tuple[str, str], ...] = ()  # its matrix combination: (("product", "mug"),)
    row: Position | None = None  # its row of the `rows:` file: the file and line


@dataclass(frozen=True)
class Entry:
    """One manifest entry with defaults merged and aliases resolved: ready to become a request."""

    id: str
    kind: EntryKind
    model: str  # the full DashScope model name
    prompt: str | None = None
    negative_prompt: str | None = None
    media: tuple[Media, ...] = ()
    element_ids: tuple[int, ...] = ()
    mode: Mode | None = None  # None: the API default (pro)
    aspect_ratio: str | None = None
    duration: int | None = None  # None: the API default (5)
    audio: bool | None = None
    watermark: bool | None = None
    shot_type: ShotType | None = None  # storyboards only
    multi_prompt: tuple[StoryboardShot, ...] = ()
    position: Position | None = field(default=None, compare=False)
    # Expansion. None of these is sent or fingerprinted: a body depends on the fields above.
    group: str | None = None  # `takes: N`, N >= 2: the id the takes share ("mug" for "mug-take2")
    take: int | None = None  # 1 to N with `takes: N`, N >= 2
    origin: Origin | None = field(default=None, compare=False)  # None: written as it is

    @property
    def local_media(self) -> tuple[Media, ...]:
        return tuple(m for m in self.media if m.path is not None)


@dataclass(frozen=True)
class Move:
    """A rename from `moved:`: the entry rendered as `old_id` is now `new_id`."""

    old_id: str
    new_id: str
    position: Position | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    entries: tuple[Entry, ...]
    budget: float | None = None
    moved: tuple[Move, ...] = ()

    def entry(self, entry_id: str) -> Entry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)
