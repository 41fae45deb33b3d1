"""What a report reads of each entry's folder: one listing, and what it remembers between reports.

A report asks every entry's folder which of its files are there and how large (the cards), and
whether its poster still shows its video (the posters). `EntryFiles` stats each file once for
all of them (a stat of each name the report knows is cheaper than a listing and then a stat).

What a file says that costs an open to learn (a poster's JPEG comment, the render time in
task.json) is kept in `.files-memo.json`, by the file's stamp (runner/records.py: another
write, another stamp), and read again only when its stamp changed: a resume of 10,000 done
entries opened 20,000 files for nothing. The memo is only a cache: written through a temporary
name, and ignored when unreadable or of another version or shape.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.records import file_stamp

MEMO_FILE = ".files-memo.json"
_MEMO_VERSION = 1
# What is remembered of a file: a poster's comment (str), a render time (float), or None.
T = TypeVar("T", str, float)


class EntryFiles:
    """Each file of an entry folder the report looks at, stat'ed once for the posters' check
    and the cards alike (following links, as a page's link would)."""

    def __init__(self, layout: OutputLayout) -> None:
        # Paths as strings, joined by hand: asked of every file of every entry.
        self._prefix = os.path.join(layout.folder, "")
        self._seen: dict[str, dict[str, os.stat_result | OSError]] = {}

    def stat(self, entry_id: str, name: str) -> os.stat_result | OSError:
        """The file's stat as os.stat gives it, or the OSError it raises (FileNotFoundError:
        no such file)."""
        seen = self._seen.get(entry_id)
        if seen is None:
            seen = self._seen[entry_id] = {}
        found = seen.get(name)
        if found is None:
            try:
                found = os.stat(f"{self._prefix}{entry_id}{os.sep}{name}")
            except OSError as problem:
                found = problem.with_traceback(None)  # kept: not the frames it was raised in
            seen[name] = found
        return found

    def forget(self, entry_id: str) -> None:
        """The entry's card is made: what was seen of its files is not needed any more."""
        self._seen.pop(entry_id, None)


class ReportMemo:
    """What files said, by entry, file name and stamp, from the last report to this one."""

    def __init__(self, layout: OutputLayout) -> None:
        self._path = os.path.join(layout.folder, MEMO_FILE)
        self._kept = _read(self._path)
        self._used: dict[str, list[Any]] = {}
        self._changed = False

    def recall(
        self,
        entry_id: str,
        name: str,
        found: os.stat_result,
        read: Callable[[], T | None],
        kind: type[T],
    ) -> T | None:
        """What `read` says of the file `name` of the entry (stat'ed as `found`, a `kind` or
        None): remembered while the file keeps its stamp, else read now and remembered. An
        OSError of `read` is raised, and nothing remembered (a file unreadable for now)."""
        key = f"{entry_id}/{name}"
        stamp = file_stamp(found)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == stamp and (kept[1] is None or type(kept[1]) is kind):
            self._used[key] = kept
            value: T | None = kept[1]
            return value
        value = read()
        self._used[key] = [stamp, value]
        self._changed = True
        return value

    def save(self) -> None:
        """Keep what this report used (and only that) for the next one, unless it is what the
        file holds already. A memo that cannot be written is no loss but the next report's time."""
        if not self._changed and len(self._used) == len(self._kept):
            return  # every entry kept was used as it was
        # A name of this writer's own: `kling-batch report` may write while a run does.
        temporary = f"{self._path}.{os.getpid()}-{threading.get_ident()}.tmp"
        try:
            with open(temporary, "w", encoding="utf-8") as out:
                # dumps, not dump: json.dump streams through the pure-Python encoder.
                out.write(json.dumps({"version": _MEMO_VERSION, "files": self._used}))
            os.replace(temporary, self._path)
        except OSError:
            with contextlib.suppress(OSError):  # what could be written of it
                os.unlink(temporary)


def _read(path: str) -> dict[str, list[Any]]:
    """The memo's entries that have the right shape; nothing when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as source:
            memo = json.load(source)
    except (OSError, ValueError):
        return {}
    if not isinstance(memo, dict) or memo.get("version") != _MEMO_VERSION:
        return {}
    files = memo.get("files")
    if not isinstance(files, dict):
        return {}
    # Each value's own type is checked where it is recalled.
    return {
        key: value
        for key, value in files.items()
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
    }
