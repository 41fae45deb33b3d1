"""`<manifest stem>.picks.yaml`: the chosen take of each group, beside the manifest (spec §8).

The file is meant to be reviewed and committed with the manifest, so it is small and stable: a
comment saying what it is, `version: 1`, and `picks:` mapping each group to the entry picked,
sorted by group. It is read with the manifest's own safe, bounded YAML reader (YAML 1.2
scalars, every problem with its line) and written through a temporary name, so an editor or a
concurrent `git diff` sees the old file or the new one, never half.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from kling_batch.delivery.atomic import write_text_atomic
from kling_batch.delivery.groups import group_of, grouped
from kling_batch.delivery.videos import Unavailable, deliverable_video
from kling_batch.manifest.loader import parse, read_text
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.manifest.nodes import MappingNode, ScalarNode, YamlProblem
from kling_batch.manifest.scalars import resolve_plain
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.state import StateStore

PICKS_VERSION = 1
# A name written bare only when it cannot be misread: our id characters, and not a number,
# boolean or null under YAML 1.2 (`1e3`, `true`, `0x10`). Anything else is double-quoted.
_BARE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


class PicksInvalid(Exception):
    """A picks file that cannot be read as one; the message names the file and line."""


class PickRefused(Exception):
    """A pick that cannot be made: the entry is not in the manifest, or not done in the
    output; the message says why and what to do."""


@dataclass(frozen=True)
class PickChange:
    """What `pick` or `clear_pick` did to the picks file."""

    path: Path
    group: str
    picked: str | None  # the entry now picked for the group; None once cleared
    previous: str | None  # the entry picked before, if any

    @property
    def changed(self) -> bool:
        return self.picked != self.previous


def picks_path(manifest: Manifest) -> Path:
    """Where a manifest's picks live: `<stem>.picks.yaml` in the manifest's folder."""
    return manifest.path.with_name(f"{manifest.path.stem}.picks.yaml")


def read_picks(path: Path) -> dict[str, str]:
    """group -> picked entry id, from `path`; empty when there is no such file yet."""
    if not path.exists():
        return {}
    try:
        document = parse(read_text(path))
    except YamlProblem as problem:
        raise _invalid(path, problem.message, problem.line, problem.column) from None
    root = document.root
    if root is None:  # empty, or comments only: no picks (the reader's KB010 is a manifest's)
        return {}
    if document.problems:
        first = document.problems[0]
        raise _invalid(path, first.message, first.line, first.column)
    if not isinstance(root, MappingNode):
        raise _invalid(path, "expected `version: 1` and a `picks:` mapping", root.line, root.column)
    unknown = sorted(set(root.fields) - {"version", "picks"})
    if unknown:
        key = root.keys[unknown[0]]
        raise _invalid(path, f"unknown key `{unknown[0]}`; expected version, picks", key.line)
    version = root.get("version")
    if version is not None and not (
        isinstance(version, ScalarNode) and version.value == PICKS_VERSION
    ):
        raise _invalid(path, f"this kling-batch reads version {PICKS_VERSION}", version.line)
    picks = root.get("picks")
    if picks is None or (isinstance(picks, ScalarNode) and picks.value is None):
        return {}
    if not isinstance(picks, MappingNode):
        raise _invalid(path, "`picks:` is a mapping of group: entry id", picks.line, picks.column)
    chosen: dict[str, str] = {}
    for group, node in picks.fields.items():
        if not (isinstance(node, ScalarNode) and isinstance(node.value, str) and node.value):
            where = (node.line, node.column)
            raise _invalid(path, f"the pick of `{group}` must be an entry id (quote it)", *where)
        chosen[group] = node.value
    return chosen


def write_picks(path: Path, picks: Mapping[str, str], manifest_file: str) -> None:
    """Write `picks` (group -> entry id) to `path`, sorted, through a temporary name."""
    lines = [
        f"# The chosen take of each group of {manifest_file}, as `group: entry id`.",
        "# Written by `kling-batch pick MANIFEST ENTRY_ID` (`--clear GROUP` removes one);",
        "# review and commit it with the manifest. `kling-batch export MANIFEST --picked`",
        "# delivers these entries only.",
        f"version: {PICKS_VERSION}",
    ]
    if picks:
        lines.append("picks:")
        lines.extend(f"  {_name(group)}: {_name(picks[group])}" for group in sorted(picks))
    else:
        lines.append("picks: {}")
    write_text_atomic(path, "\n".join(lines) + "\n")


def pick_command(manifest: Path, entry_id: str, output_root: Path | None = None) -> str:
    """The command line that picks `entry_id`, as the report shows it on each take."""
    words = ["kling-batch", "pick", str(manifest), entry_id]
    if output_root is not None:
        words += ["--output", str(output_root)]
    return shlex.join(words)


def clear_command(manifest: Path, group: str) -> str:
    """The command line that removes the pick of `group` (no output needed)."""
    return shlex.join(["kling-batch", "pick", str(manifest), "--clear", group])


def pick(manifest: Manifest, layout: OutputLayout, entry_id: str) -> PickChange:
    """Record `entry_id` as the pick of its group; PickRefused unless it is done in `layout`."""
    entry = _entry(manifest, entry_id)
    _require_done(layout, entry)
    path = picks_path(manifest)
    picks = read_picks(path)
    group = group_of(entry)
    change = PickChange(path, group, entry.id, picks.get(group))
    if change.changed or not path.exists():
        picks[group] = entry.id
        write_picks(path, picks, manifest.path.name)
    return change


def clear_pick(manifest: Manifest, group: str) -> PickChange:
    """Remove the pick of `group`. A group the manifest has but nobody picked is no error;
    one that neither the manifest nor the picks file knows is (likely a typo)."""
    path = picks_path(manifest)
    picks = read_picks(path)
    if group not in picks and group not in grouped(manifest.entries):
        known = sorted(set(grouped(manifest.entries)) | set(picks))
        raise PickRefused(
            f"no group `{group}` in {manifest.path.name}{_did_you_mean(group, known)}"
        )
    change = PickChange(path, group, None, picks.pop(group, None))
    if change.changed:
        write_picks(path, picks, manifest.path.name)
    return change


def _entry(manifest: Manifest, entry_id: str) -> Entry:
    try:
        return manifest.entry(entry_id)
    except KeyError:
        ids = [e.id for e in manifest.entries]
        raise PickRefused(
            f"no entry `{entry_id}` in {manifest.path.name}{_did_you_mean(entry_id, ids)}"
        ) from None


def _require_done(layout: OutputLayout, entry: Entry) -> None:
    if not layout.state.exists():
        raise PickRefused(
            f"{layout.folder} holds no run of this manifest; pass the --output folder it was "
            "run with"
        )
    # Read-only: a run may be writing beside us (WAL).
    store = StateStore(layout.state, readonly=True)
    try:
        record = store.get(entry.id)
    finally:
        store.close()
    video = deliverable_video(layout, entry, record)
    if isinstance(video, Unavailable):
        raise PickRefused(
            f"`{entry.id}` cannot be picked in {layout.folder}: {video.reason}; "
            "only a rendered take can be picked"
        )
    assert record is not None
    if not layout.files_intact(entry.id, record.files):
        raise PickRefused(
            f"`{entry.id}` cannot be picked: {video.path} no longer matches its recorded "
            "sha256; run the manifest again to fetch it"
        )


def _name(text: str) -> str:
    if _BARE.match(text) and resolve_plain(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _did_you_mean(name: str, known: list[str]) -> str:
    close = get_close_matches(name, known, n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _invalid(path: Path, message: str, line: int = 0, column: int = 0) -> PicksInvalid:
    where = ":".join([str(path), *(str(n) for n in (line, column) if n)])
    return PicksInvalid(f"{where}: error: {message}")
