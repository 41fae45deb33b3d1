"""Renames (`moved:`): an entry's record and folder go to its new id, and nothing is sent.

Where each move stands is read from the state store (`standings`), the same way for `run`,
which acts on it, and `plan`, which reports it:

- `from` has a record and `to` none, and the record's fingerprint is the `to` entry's: the run
  carries it (`carry`) before it decides the entry, which then stands where `from` stood;
- the same, but the content changed: it is not carried; `to` renders as new, and `from`'s
  render stays in the output under its old id;
- `to` has the record and `from` none: carried before; nothing to do;
- neither has a record (nothing was rendered as `from` in this output), or both do while the
  render of `from` would fit `to` (the new id was rendered on its own): the move does not fit
  this output, and the command stops before anything is sent (`MoveRefused`).

The manifest's own rules (manifest/rules/moves.py) have already made sure that every `to` is
an entry, no `from` is one, and each id appears once on each side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from kling_batch.manifest import fingerprint
from kling_batch.manifest.model import Entry, Manifest, Move
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.changes import changed_fields, fingerprint_body
from kling_batch.runner.events import EntryChanged, EntryMoved
from kling_batch.runner.records import EntryRecord
from kling_batch.runner.state import StateStore

if TYPE_CHECKING:
    from kling_batch.runner.entry_flow import EntryFlow


class MoveRefused(ValueError):
    """`moved:` does not fit the output (a move from an id it never rendered, or to an id that
    has a render of its own): nothing was sent."""


class Standing(StrEnum):
    CARRY = "carry"  # `from`'s record fits `to`: carried before `to` is decided
    CHANGED = "changed"  # `from` has a record that does not fit `to`'s content: not carried
    CARRIED = "carried"  # the record is at `to` already


@dataclass(frozen=True)
class MoveStanding:
    move: Move
    standing: Standing
    record: EntryRecord | None = None  # `from`'s record (CARRY, CHANGED)
    to_rendered: bool = False  # CHANGED: `to` has a record of its own
    changed: tuple[str, ...] = ()  # CHANGED: the fields that differ, when the record says

    @property
    def pending(self) -> bool:
        """Whether the run carries this move when it reaches the entry."""
        return self.standing is Standing.CARRY

    @property
    def renders_as_new(self) -> bool:
        """Whether the `to` entry is rendered from scratch because the move does not fit."""
        return self.standing is Standing.CHANGED and not self.to_rendered

    def note(self) -> str | None:
        """What `plan` says of the `to` entry beside its action, if anything (a move to carry
        shows as `moved from ...` in its detail)."""
        old = self.move.old_id
        if self.renders_as_new:
            what = f" ({', '.join(self.changed)})" if self.changed else ""
            return (
                f"moved from {old}, whose content changed{what}: not carried, rendered as new; "
                f"the render of {old} stays in the output under its old id"
            )
        return None


def standings(manifest: Manifest, store: StateStore | None) -> dict[str, MoveStanding]:
    """Where each move of the manifest stands in this output (`store` None: nothing has run
    there), by its new id. Raises MoveRefused naming every move that does not fit, each with
    its file and line, the entry, and what would be valid."""
    if not manifest.moved:
        return {}
    entries = {entry.id: entry for entry in manifest.entries}
    found: dict[str, MoveStanding] = {}
    problems: list[str] = []
    for index, move in enumerate(manifest.moved):
        entry = entries.get(move.new_id)
        if entry is None:
            continue  # not a valid manifest (KB226); nothing can be carried to no entry
        old = store.get(move.old_id) if store is not None else None
        new = store.get(move.new_id) if store is not None else None
        fits = old is not None and old.fingerprint == fingerprint(entry)
        if old is None and new is None:
            problems.append(_refusal(manifest, index, _never_rendered(move)))
        elif old is None:
            found[move.new_id] = MoveStanding(move, Standing.CARRIED)
        elif fits and new is not None:
            problems.append(_refusal(manifest, index, _rendered_apart(move, new)))
        elif fits:
            found[move.new_id] = MoveStanding(move, Standing.CARRY, old)
        else:
            assert old is not None
            changes = _changes(old, entry)
            found[move.new_id] = MoveStanding(
                move, Standing.CHANGED, old, to_rendered=new is not None, changed=changes
            )
    if problems:
        raise MoveRefused("\n".join(problems))
    return found


def files_folder(layout: OutputLayout, move: Move) -> str:
    """The id whose folder holds a move's files now: `from`'s until the carry renames it."""
    return move.old_id if layout.entry_dir(move.old_id).exists() else move.new_id


def carry(store: StateStore, layout: OutputLayout, move: Move) -> EntryRecord:
    """Carry a move: the folder first, then the record, so that each step can be done again.

    Killed after the folder's rename, the record is still at `from` (the store is what says
    where a move stands), so the next run carries it again: the rename finds the folder in
    place and the record follows. Killed before, nothing happened. A `<to>/` folder that is
    there before the rename holds no record's files (an intent that never came to be): it is
    set aside first."""
    source, target = layout.entry_dir(move.old_id), layout.entry_dir(move.new_id)
    if source.exists():
        if target.exists():
            layout.set_aside(move.new_id)
        source.rename(target)
        _sync_folder(layout.folder)
    return store.carry_record(move.old_id, move.new_id)


def carry_move(flow: EntryFlow, entry: Entry) -> EntryRecord | None:
    """Before a run decides an entry without a record: carry the move to it, if it has one
    that fits (the carried record, with its event), or say that it renders as new."""
    standing = flow.moves.get(entry.id)
    if standing is None:
        return None
    if standing.pending:
        record = carry(flow.store, flow.layout, standing.move)
        flow.events.emit(EntryMoved(entry.id, moved_from=standing.move.old_id, state=record.state))
        return record
    if standing.renders_as_new:
        assert standing.record is not None
        flow.events.emit(
            EntryChanged(
                entry.id,
                previous_task=standing.record.task_id,
                reason="moved_changed",
                message=standing.note(),
            )
        )
    return None


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable before the store records it (power loss)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _changes(record: EntryRecord, entry: Entry) -> tuple[str, ...]:
    if record.fingerprint_body is None:
        return ()
    return changed_fields(record.fingerprint_body, fingerprint_body(entry))


def _never_rendered(move: Move) -> str:
    return (
        f"nothing in this output was rendered as {move.old_id!r} (no record of it, nor of "
        f"{move.new_id!r}): remove this move, or give the --output that {move.old_id!r} was "
        "rendered in"
    )


def _rendered_apart(move: Move, new: EntryRecord) -> str:
    task = f", task {new.task_id}" if new.task_id else ""
    return (
        f"{move.new_id!r} already has a record of its own ({new.state}{task}), so the render "
        f"of {move.old_id!r} cannot be carried to it: remove this move (the render of "
        f"{move.old_id!r} stays in the output under its old id)"
    )


def _refusal(manifest: Manifest, index: int, message: str) -> str:
    move = manifest.moved[index]
    where = str(move.position) if move.position is not None else str(manifest.path)
    return f"{where}: error: {move.new_id}: moved[{index}]: {message}"
