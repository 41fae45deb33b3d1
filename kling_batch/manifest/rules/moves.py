"""Rules over `moved:`, the renames: each names an entry's old id and its new one.

A move carries what an output holds of `from` to `to` (runner/moves.py), so `to` must be an
entry of this manifest and `from` must not be one any more; and each old id goes one way, and
each new id comes from one place, or two renders would claim one entry. Whether the output
holds a render of `from` at all is for `run` and `plan` to say: only they read the output.
"""

from __future__ import annotations

from collections.abc import Iterator
from difflib import get_close_matches

from kling_batch.manifest.nodes import MappingNode, ScalarNode, SequenceNode
from kling_batch.manifest.normalize import Located
from kling_batch.manifest.rules.core import Finding, WholeManifest

_SECTIONS = ("shots", "storyboards")


def move_target_is_an_entry(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """A move's `to` is the id of an entry of this manifest (after expansion)."""
    moves = _moves(m)
    ids = _entry_ids(m) if moves else None
    if ids is None:
        return  # no moves, or some entry's id is unknown (its own error says why)
    onward: dict[str, str] = {}
    for _, old, new in moves:
        onward.setdefault(old, new)
    for index, old, new in moves:
        if new in ids:
            continue
        message = f"{new!r} is not an entry id of this manifest; `to` is the entry's new id"
        if new in onward:
            later = onward[new]
            message += (
                f", and {new!r} is itself moved on to {later!r}: write "
                f"{{from: {old}, to: {later}}} instead of a chain"
            )
        else:
            close = get_close_matches(new, sorted(ids), n=1)
            message += f" (did you mean {close[0]!r}?)" if close else ""
        yield None, Finding(("moved", index, "to"), message)


def move_source_is_gone(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """A move's `from` is no longer an entry id: a renamed entry keeps only its new id."""
    moves = _moves(m)
    ids = frozenset(_known_ids(m)) if moves else frozenset()
    for index, old, new in moves:
        if old in ids:
            yield (
                None,
                Finding(
                    ("moved", index, "from"),
                    f"{old!r} is still an entry id of this manifest: a move is for an entry "
                    f"whose id changed; remove this move, or change the id {old!r} to {new!r}",
                ),
            )


def move_source_once(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """An old id is moved once: one render cannot go to two entries."""
    first: dict[str, int] = {}
    for index, old, _ in _moves(m):
        seen = first.setdefault(old, index)
        if seen != index:
            yield (
                None,
                Finding(
                    ("moved", index, "from"),
                    f"{old!r} is already moved by moved[{seen}] (line {_line(m, seen)}); "
                    "one render goes to one entry: keep one of the two moves",
                ),
            )


def move_target_once(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """A new id receives one move: two renders cannot become one entry."""
    first: dict[str, int] = {}
    for index, _, new in _moves(m):
        seen = first.setdefault(new, index)
        if seen != index:
            yield (
                None,
                Finding(
                    ("moved", index, "to"),
                    f"{new!r} already receives moved[{seen}] (line {_line(m, seen)}); an "
                    "entry takes the render of one old id: keep one of the two moves",
                ),
            )


def _moves(m: WholeManifest) -> list[tuple[int, str, str]]:
    """(index, from, to) of each move whose two ids passed the schema."""
    node = m.root.get("moved")
    if not isinstance(node, SequenceNode):
        return []
    found = []
    for index, item in enumerate(node.items):
        if isinstance(item, MappingNode):
            old, new = _text(item.get("from")), _text(item.get("to"))
            if old is not None and new is not None:
                found.append((index, old, new))
    return found


def _entry_ids(m: WholeManifest) -> frozenset[str] | None:
    """Every entry's id after expansion; None when one is not known (an entry the expansion
    left out, or one whose id is missing, broken or shared)."""
    if m.dropped:
        return None
    written = 0
    for section in _SECTIONS:
        node = m.root.get(section)
        written += len(node.items) if isinstance(node, SequenceNode) else 0
    ids = frozenset(_known_ids(m))
    return ids if len(ids) == written else None


def _known_ids(m: WholeManifest) -> Iterator[str]:
    """The ids of the entries whose id passed the schema."""
    for item in m.entries:
        if "id" not in item.broken:
            yield item.entry.id


def _text(node: object) -> str | None:
    if isinstance(node, ScalarNode) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def _line(m: WholeManifest, index: int) -> int:
    node = m.root.get("moved")
    assert isinstance(node, SequenceNode)
    return node.items[index].line
