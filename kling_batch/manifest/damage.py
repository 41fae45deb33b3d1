"""Where the schema found errors, as the entries see them: which fields of which entry are
broken (directly, through `defaults`, or through a field they depend on), so that the rules
reading none of them still judge the entry in the same pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kling_batch.manifest.model import EntryKind
from kling_batch.manifest.nodes import FieldPath, MappingNode

if TYPE_CHECKING:
    from kling_batch.manifest.shape import ShapeError

STORYBOARD_ONLY = frozenset({"shot_type", "multi_prompt"})
_MEDIA_KEYS = frozenset({"type", "url", "path"})  # what says which item a media item is
# Fields whose value here depends on other fields: as broken as those are. (The shots'
# durations of a customize storyboard depend on its duration too, but only KB214 reads them,
# and it reads the duration.)
_DEPENDS_ON = {
    "prompt": ("shot_type",),  # a customize storyboard takes no prompt from defaults
    "duration": ("shot_type", "multi_prompt"),  # a customize storyboard's may be its shots' sum
    "aspect_ratio": ("media",),  # not taken from defaults where a frame gives the shape
    "audio": ("media",),  # not taken from defaults with a base or feature video
}
INTACT: frozenset[str] = frozenset()


class SchemaDamage:
    """Where the schema found errors, as the entries see them."""

    def __init__(self, shape_errors: Sequence[ShapeError]) -> None:
        self.all_entries = False  # `defaults` itself is broken: every entry would inherit it
        self.moves = False  # `moved:` is broken somewhere
        self.unreadable: set[tuple[str, int]] = set()
        self._own: dict[tuple[str, int], set[str]] = {}
        self._defaults: set[str] = set()
        for error in shape_errors:
            path = error.path
            if path[:1] == ("moved",):
                self.moves = True
            if path[:1] == ("defaults",):
                if len(path) == 1 or (len(path) == 2 and error.code == "KB103"):
                    self.all_entries = True
                elif (name := _broken_field(path[1:], error.code)) is not None:
                    self._defaults.add(name)
            elif len(path) >= 2 and isinstance(path[1], int):
                entry = (str(path[0]), path[1])
                if len(path) == 2 and error.missing is not None:
                    self._own.setdefault(entry, set()).add(error.missing)
                elif len(path) == 2 or (len(path) == 3 and error.code == "KB103"):
                    self.unreadable.add(entry)
                elif (name := _broken_field(path[2:], error.code)) is not None:
                    self._own.setdefault(entry, set()).add(name)

    def of_entry(
        self, section: str, index: int, kind: EntryKind, node: MappingNode
    ) -> frozenset[str]:
        own = self._own.get((section, index))
        if own is None and not self._defaults:
            return INTACT
        broken = set(own or ())
        for name in self._defaults:
            if name not in node.fields and (
                kind is EntryKind.STORYBOARD or name not in STORYBOARD_ONLY
            ):
                broken.add(name)
        for name, sources in _DEPENDS_ON.items():
            if not broken.isdisjoint(sources):
                broken.add(name)
        return frozenset(broken)


def _broken_field(at: FieldPath, code: str) -> str | None:
    """The field of an entry (or of defaults) that an error at `at`, below it, breaks.

    None for a media item's keep_original_sound, or an unknown key beside its type and url (most
    likely a misspelling of it): the item is still known by its type and url, so the rules that
    read the media combination still judge the entry, and the one rule about the field itself
    (KB210) finds nothing to say of a value that is not a boolean.
    """
    if len(at) == 3 and at[0] == "media" and isinstance(at[1], int):
        key = at[2]
        if key == "keep_original_sound" or (code == "KB103" and key not in _MEDIA_KEYS):
            return None
    return str(at[0])
