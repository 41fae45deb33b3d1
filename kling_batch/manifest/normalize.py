"""Turn the checked node tree into typed entries: defaults merged, aliases and paths resolved.

Defaults go only where they mean something, so that an entry carries exactly what its request
will send: `aspect_ratio` skips entries whose frame or video decides the shape, `prompt` skips
customize storyboards, `audio` skips entries with a base or feature video (it must be false
there), `shot_type` and `multi_prompt` reach storyboards only. What an entry sets itself is
always kept, so the rules can warn about it.

Every entry keeps an `EntrySource`: the nodes it was read from, for locating diagnostics. An
entry made by expansion (`expand`) is read like a written one, and also learns how it was made:
its origin, and its group and take.

An entry with schema errors is still built, from its fields that passed, so that the rules
which read none of its broken fields can judge it in the same pass; `Located.broken` names the
others. Only an entry that cannot be read at all (not a mapping, or with a field the schema does
not know, which may be a misspelling of any other) is left out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kling_batch.manifest import capabilities
from kling_batch.manifest.damage import INTACT, STORYBOARD_ONLY, SchemaDamage
from kling_batch.manifest.model import (
    STANDARD_MODEL,
    Entry,
    EntryKind,
    Media,
    MediaType,
    Mode,
    Move,
    Position,
    ShotType,
    StoryboardShot,
)
from kling_batch.manifest.nodes import (
    FieldPath,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    field_label,
)
from kling_batch.models import current

if TYPE_CHECKING:
    from kling_batch.manifest.expansion_context import Made
    from kling_batch.manifest.shape import ShapeError

_SECTIONS = (("shots", EntryKind.SHOT), ("storyboards", EntryKind.STORYBOARD))


@dataclass(frozen=True)
class EntrySource:
    """Where an entry was written: its own mapping, and the defaults it inherited from."""

    file: Path
    label: str  # "shots[3]": how to name the entry while it has no usable id
    node: MappingNode
    defaults: MappingNode | None
    inherited: frozenset[str]

    @property
    def position(self) -> Position:
        return position_of(self.node.get("id") or self.node, self.file)

    def locate(self, at: FieldPath) -> tuple[Position, str | None]:
        """The most specific node written for `at`, and how to name the field.

        A field the entry lacks points at the entry's id; an inherited one at the defaults.
        """
        if not at:
            return self.position, None
        head = at[0]
        assert isinstance(head, str)
        node: Node | None = self.node.get(head)
        prefix = ""
        if head in self.inherited and self.defaults is not None:
            node, prefix = self.defaults.get(head), "defaults."
        label = prefix + field_label(at)
        if node is None:
            return self.position, label
        for part in at[1:]:
            child: Node | None = None
            if isinstance(part, str) and isinstance(node, MappingNode):
                child = node.get(part)
            elif isinstance(part, int) and isinstance(node, SequenceNode):
                child = node.items[part] if part < len(node.items) else None
            if child is None:
                break
            node = child
        return position_of(node, self.file), label


@dataclass(frozen=True)
class Located:
    entry: Entry
    source: EntrySource
    inputs: capabilities.Inputs | None  # the media combination; None: the service refuses it
    # The entry's fields (its own, or inherited from defaults) that failed the schema: left out
    # of `entry`, and the rules that read them skip this entry.
    broken: frozenset[str] = field(default=INTACT)


@dataclass(frozen=True)
class Normalized:
    name: str | None  # None: the manifest sets none; the file's stem applies
    budget: float | None
    entries: tuple[Located, ...]
    moved: tuple[Move, ...] = ()


def position_of(node: Node, file: Path) -> Position:
    """Where `node` was written: in its own file (a rows file), else in the manifest `file`."""
    return Position(node.file or file, node.line, node.column)


def normalize(
    root: MappingNode,
    file: Path,
    shape_errors: Sequence[ShapeError] = (),
    made: Mapping[tuple[str, int], Made] | None = None,
) -> Normalized:
    """Typed entries for the entries of `root`, built from what passed the schema.

    `shape_errors` are the schema's findings: a field with one (on the entry, or on a default
    the entry would inherit) is left out of the entry and named in `Located.broken`. `file` is
    the manifest's path as the user gave it: diagnostics show it; local media paths resolve
    against its folder. `made` tells how the expanded entries were made, by section and index.
    """
    damage = SchemaDamage(shape_errors)
    moved = _moves(root.get("moved"), file) if not damage.moves else ()
    if damage.all_entries:
        return Normalized(name=_text(root.get("name")), budget=None, entries=(), moved=moved)
    made = made or {}
    defaults = root.get("defaults")
    builder = _Builder(
        file, defaults if isinstance(defaults, MappingNode) else None, file.absolute().parent
    )
    located: list[Located] = []
    for key, kind in _SECTIONS:
        section = root.get(key)
        if not isinstance(section, SequenceNode):
            continue
        for index, node in enumerate(section.items):
            if not isinstance(node, MappingNode) or (key, index) in damage.unreadable:
                continue
            broken = damage.of_entry(key, index, kind, node)
            how = made.get((key, index))
            located.append(builder.entry(kind, f"{key}[{index}]", node, broken, how))
    budget = _number(root.get("budget"))
    budget = float(budget) if budget is not None else None
    return Normalized(_text(root.get("name")), budget, tuple(located), moved)


def _moves(node: Node | None, file: Path) -> tuple[Move, ...]:
    items = node.items if isinstance(node, SequenceNode) else ()  # the schema passed
    return tuple(
        Move(_text(item.get("from")) or "", _text(item.get("to")) or "", position_of(item, file))
        for item in items
        if isinstance(item, MappingNode)
    )


class _Builder:
    def __init__(self, file: Path, defaults: MappingNode | None, folder: Path) -> None:
        self._file = file
        self._defaults = defaults
        self._folder = folder
        self._paths: dict[str, Path] = {}  # many entries share a few files: resolve each once
        self._aliases = current().aliases  # the table in force, asked once, not once per entry

    def entry(
        self,
        kind: EntryKind,
        label: str,
        node: MappingNode,
        broken: frozenset[str] = INTACT,
        made: Made | None = None,
    ) -> Located:
        own = node.fields
        inherited = (
            {k: v for k, v in self._defaults.fields.items() if k not in own}
            if self._defaults is not None
            else {}
        )
        if broken:
            own = {k: v for k, v in own.items() if k not in broken}
            inherited = {k: v for k, v in inherited.items() if k not in broken}
        media = self._media(own.get("media") or inherited.get("media"))
        inputs = capabilities.classify(m.type for m in media)
        storyboard = kind is EntryKind.STORYBOARD
        shot_type_text = (
            _text(own.get("shot_type") or inherited.get("shot_type")) if storyboard else None
        )
        shot_type = ShotType(shot_type_text) if shot_type_text is not None else None
        customize = shot_type is ShotType.CUSTOMIZE

        def applies(name: str) -> bool:
            if name in STORYBOARD_ONLY:
                return storyboard
            if name == "aspect_ratio":
                return inputs is None or inputs.uses_aspect_ratio
            if name == "audio":
                return inputs is None or not inputs.has_video
            if name == "prompt":
                return not customize
            return name != "duration" or not customize  # a customize storyboard derives it

        fields = {k: v for k, v in inherited.items() if applies(k)}
        source = EntrySource(self._file, label, node, self._defaults, frozenset(fields))
        fields.update(own)
        default_duration = _integer(inherited.get("duration")) if customize else None
        shots = _shots(fields.get("multi_prompt")) if storyboard else ()
        duration = _integer(fields.get("duration"))
        if customize:
            duration, shots = _storyboard_durations(duration, default_duration, shots)
        model = _text(fields.get("model")) or STANDARD_MODEL
        mode = _text(fields.get("mode"))
        entry = Entry(
            id=_text(node.get("id")) or label,
            kind=kind,
            model=self._aliases.get(model, model),
            prompt=_text(fields.get("prompt")),
            negative_prompt=_text(fields.get("negative_prompt")),
            media=media,
            element_ids=_elements(fields.get("element_list")),
            mode=Mode(mode) if mode is not None else None,
            aspect_ratio=_text(fields.get("aspect_ratio")),
            duration=duration,
            audio=_boolean(fields.get("audio")),
            watermark=_boolean(fields.get("watermark")),
            shot_type=shot_type,
            multi_prompt=shots,
            position=source.position,
            group=made.group if made is not None else None,
            take=made.take if made is not None else None,
            origin=made.origin if made is not None else None,
        )
        return Located(entry, source, inputs, broken)

    def _media(self, node: Node | None) -> tuple[Media, ...]:
        if not isinstance(node, SequenceNode):
            return ()
        media = []
        for item in node.items:
            assert isinstance(item, MappingNode)
            path = _text(item.get("path"))
            media.append(
                Media(
                    type=MediaType(_text(item.get("type")) or ""),
                    url=_text(item.get("url")),
                    path=self._path(path) if path is not None else None,
                    keep_original_sound=_boolean(item.get("keep_original_sound")),
                )
            )
        return tuple(media)

    def _path(self, text: str) -> Path:
        if text not in self._paths:
            path = Path(os.path.expanduser(text))
            self._paths[text] = (self._folder / path).resolve()
        return self._paths[text]


def _storyboard_durations(
    duration: int | None, default_duration: int | None, shots: tuple[StoryboardShot, ...]
) -> tuple[int, tuple[StoryboardShot, ...]]:
    """The storyboard's duration and every shot's, as the request must carry them.

    Its own duration wins; else the sum of its shots when all have one; else the defaults'
    duration; else the service's default. Shots without a duration share what the others
    leave, evenly, the first ones taking a second more when it does not divide; when not every
    shot can get a second, they stay None for the rules to report.
    """
    given = [shot.duration for shot in shots if shot.duration is not None]
    if duration is None:
        if shots and len(given) == len(shots):
            duration = sum(given)
        else:
            duration = default_duration or capabilities.DEFAULT_DURATION
    missing = len(shots) - len(given)
    left = duration - sum(given)
    if missing == 0 or left < missing:
        return duration, shots
    share, extra = divmod(left, missing)
    filled = []
    for shot in shots:
        if shot.duration is None:
            shot = StoryboardShot(shot.prompt, share + (1 if extra > 0 else 0))
            extra -= 1
        filled.append(shot)
    return duration, tuple(filled)


def _shots(node: Node | None) -> tuple[StoryboardShot, ...]:
    if not isinstance(node, SequenceNode):
        return ()
    shots = []
    for item in node.items:
        assert isinstance(item, MappingNode)
        prompt, duration = _text(item.get("prompt")), _integer(item.get("duration"))
        shots.append(StoryboardShot(prompt or "", duration))
    return tuple(shots)


def _elements(node: Node | None) -> tuple[int, ...]:
    if not isinstance(node, SequenceNode):
        return ()
    ids = []
    for item in node.items:
        value = item.get("element_id") if isinstance(item, MappingNode) else item
        number = _integer(value)
        if number is not None:
            ids.append(number)
    return tuple(ids)


def _text(node: Node | None) -> str | None:
    if isinstance(node, ScalarNode) and isinstance(node.value, str):
        return node.value
    return None


def _number(node: Node | None) -> float | None:
    if isinstance(node, ScalarNode):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None


def _integer(node: Node | None) -> int | None:
    number = _number(node)
    return int(number) if number is not None else None  # the schema allows 5.0 for 5


def _boolean(node: Node | None) -> bool | None:
    if isinstance(node, ScalarNode) and isinstance(node.value, bool):
        return node.value
    return None
