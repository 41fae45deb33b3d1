"""The files of a run (spec §3): where each one lives, and how it is written without tearing."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kling_batch.api.types import Task
from kling_batch.hashing import sha256_file
from kling_batch.runner.records import FileRecord, file_stamp
from kling_batch.runner.state import STATE_FILE

TASK_FILE = "task.json"  # the latest answer about an entry's task
SUPERSEDED_DIR = "_superseded"  # entry ids start with a letter or digit, so this never collides


@dataclass(frozen=True)
class OutputLayout:
    """`<output>/<manifest name>/` and everything under it."""

    folder: Path

    @classmethod
    def for_manifest(cls, output_root: Path, manifest_name: str) -> OutputLayout:
        return cls(output_root / manifest_name)

    @property
    def state(self) -> Path:
        return self.folder / STATE_FILE

    @property
    def events(self) -> Path:
        return self.folder / "events.jsonl"

    @property
    def results(self) -> Path:
        return self.folder / "results.jsonl"

    @property
    def report(self) -> Path:
        return self.folder / "report.html"

    def entry_dir(self, entry_id: str) -> Path:
        return self.folder / entry_id

    def request_file(self, entry_id: str) -> Path:
        return self.entry_dir(entry_id) / "request.json"

    def task_file(self, entry_id: str) -> Path:
        return self.entry_dir(entry_id) / TASK_FILE

    def polls_file(self, entry_id: str) -> Path:
        return self.entry_dir(entry_id) / "polls.jsonl"

    def files_intact(self, entry_id: str, files: Sequence[FileRecord]) -> bool:
        """Whether an entry's recorded files are all on disk with their size and sha256: the
        very files that were verified (their stamps still match), or files whose bytes hash
        to the recorded sha256.

        The one check behind "done, skip it": `run` and `plan` both ask it.
        """
        found = self._stat_all(entry_id, files)
        if found is None:
            return False
        folder = self.entry_dir(entry_id)
        return all(
            kept.stamp == file_stamp(seen) or sha256_file(folder / kept.name) == kept.sha256
            for kept, seen in zip(files, found, strict=True)
        )

    def files_unchanged(self, entry_id: str, files: Sequence[FileRecord]) -> bool:
        """Whether an entry's recorded files are all the very files that were verified: no
        file is read, so it can be asked on the event loop (`files_intact` hashes the rest)."""
        found = self._stat_all(entry_id, files)
        return found is not None and all(
            kept.stamp == file_stamp(seen) for kept, seen in zip(files, found, strict=True)
        )

    def _stat_all(self, entry_id: str, files: Sequence[FileRecord]) -> list[os.stat_result] | None:
        """Each recorded file's stat, or None when one is missing, not a file, or of another
        size (or nothing was recorded)."""
        if not files:
            return None
        folder = os.path.join(self.folder, entry_id)  # strings: a resume asks this per entry
        found = []
        for kept in files:
            try:
                seen = os.stat(os.path.join(folder, kept.name))
            except OSError:
                return None
            if not stat.S_ISREG(seen.st_mode) or seen.st_size != kept.size:
                return None
            found.append(seen)
        return found

    def keep_task_answer(self, entry_id: str, task: Task, *, at: float | None = None) -> None:
        """task.json (the latest answer) and a line of polls.jsonl, for any query of a task."""
        answer = task.raw or {"output": {"task_id": task.task_id, "task_status": str(task.status)}}
        write_json_atomic(self.task_file(entry_id), answer)
        stamp = round(time.time() if at is None else at, 3)
        append_json_line(self.polls_file(entry_id), {"ts": stamp, **answer})

    def set_aside(self, entry_id: str) -> Path | None:
        """Move an entry's old artifacts out of the way before it is rendered again."""
        source = self.entry_dir(entry_id)
        if not source.exists():
            return None
        target_root = self.folder / SUPERSEDED_DIR
        target_root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        target = target_root / f"{entry_id}.{stamp}"
        suffix = 1
        while target.exists():
            suffix += 1
            target = target_root / f"{entry_id}.{stamp}.{suffix}"
        source.rename(target)
        return target


# Neither writer below fsyncs: every file they write (request.json, task.json, results.jsonl) is
# a copy for people of what the state store holds, rewritten by the next query or run.


def write_json_atomic(path: Path, value: Any) -> None:
    """Write JSON to a temporary name and rename it over `path`: readers see old or new, never
    half."""
    temporary = path.with_name(f".{path.name}.tmp")
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    with open_creating_folder(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def write_lines_atomic(path: Path, values: list[dict[str, Any]]) -> None:
    """JSON lines written whole under a temporary name, then renamed over `path`."""
    temporary = path.with_name(f".{path.name}.tmp")
    text = "".join(json.dumps(v, ensure_ascii=False, sort_keys=True) + "\n" for v in values)
    with open_creating_folder(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def append_json_line(path: Path, value: dict[str, Any]) -> None:
    """Append one JSON line. A crash can cut only the last line; readers skip a torn tail."""
    line = json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n"
    with open_creating_folder(path, "a") as handle:
        handle.write(line)


def open_creating_folder(path: Path, mode: str) -> IO[Any]:
    """`path` opened (text in UTF-8, or binary with "b" in `mode`), its folder made if missing.

    The folder usually exists: try first, and make it only when missing (a mkdir per write is a
    measurable share of the runner's CPU on large batches)."""
    encoding = None if "b" in mode else "utf-8"
    try:
        return path.open(mode, encoding=encoding)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open(mode, encoding=encoding)


def read_bytes(path: str | Path, limit: int | None = None) -> bytes:
    """A small file's bytes (at most `limit` from its start), read by plain system calls: a
    report reads two small files per entry, and Python's buffered open costs twice as many
    calls (a stat and a terminal check besides), twice the time."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        parts: list[bytes] = []
        left = limit
        while left is None or left > 0:
            want = _READ_CHUNK if left is None else min(_READ_CHUNK, left)
            part = os.read(descriptor, want)
            parts.append(part)
            if len(part) < want:  # the end of the file
                break
            if left is not None:
                left -= len(part)
        return b"".join(parts)
    finally:
        os.close(descriptor)


_READ_CHUNK = 64 * 1024


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """Every whole line of a JSON-lines file; a torn last line (a crash mid-write) is skipped."""
    if not path.exists():
        return []
    values: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            values.append(value)
    return values
