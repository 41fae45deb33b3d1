"""A done output to review and deliver: a small manifest run for real on the in-process
simulator (real small mp4 clips), shared by the delivery, frames and contact-sheet tests.

The run is made once per test module (`run_review`) and copied for each test (`copy_of`), so a
test may tamper with videos, picks or the store without disturbing the others.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from kling_batch.manifest import load
from kling_batch.manifest.model import Manifest
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.records import EntryState
from kling_batch.runner.state import StateStore
from tests.conftest import fast_simulator, run, write_manifest

MANIFEST = """
    version: 1
    name: review
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - id: hero-take1
        prompt: a red mug on a wooden table, slow dolly in (take one)
      - id: hero-take2
        prompt: a red mug on a wooden table, slow dolly in (take two)
      - id: tower
        prompt: a lighthouse at dusk
        aspect_ratio: "9:16"
      - id: flower
        prompt: the flower opens
        media:
          - {type: first_frame, path: start.png}
      - id: refused
        prompt: "a scene the moderation refuses [sim:moderation]"
"""
DONE = ("hero-take1", "hero-take2", "tower", "flower")
FAILED = "refused"
# Until the manifest layer gives entries their group (spec §7 `takes:`), the tests give the
# two hero entries theirs the way it will: group "hero", takes 1 and 2.
HERO_TAKES = {"hero-take1": ("hero", 1), "hero-take2": ("hero", 2)}


@dataclass(frozen=True)
class Review:
    root: Path
    manifest: Manifest

    @property
    def output(self) -> Path:
        return self.root / "out"

    @property
    def layout(self) -> OutputLayout:
        return OutputLayout.for_manifest(self.output, self.manifest.name)

    def video(self, entry_id: str) -> Path:
        return self.layout.entry_dir(entry_id) / "video.mp4"

    @contextmanager
    def store(self) -> Iterator[StateStore]:
        store = StateStore(self.layout.state, readonly=True)
        try:
            yield store
        finally:
            store.close()

    def grouped(self, takes: Mapping[str, tuple[str, int]] = HERO_TAKES) -> Manifest:
        """The same manifest with `takes` (entry id -> (group, take)) set on its entries."""
        entries = []
        for entry in self.manifest.entries:
            group, take = takes.get(entry.id, (None, None))
            entries.append(replace(entry, group=group, take=take))
        return Manifest(
            self.manifest.path, self.manifest.name, tuple(entries), self.manifest.budget
        )

    def reload(self) -> Manifest:
        return load(self.manifest.path)


def run_review(root: Path) -> Review:
    """Write MANIFEST (and its first frame) under `root` and run it to the end."""
    root.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (640, 360), (200, 120, 40)).save(root / "start.png")
    manifest = write_manifest(root, MANIFEST, "review")
    summary = run(manifest, root / "out", fast_simulator(render_seconds=0.2))
    assert summary is not None
    done = tuple(k for k, v in summary.states.items() if v is EntryState.DONE)
    assert done == DONE, summary
    return Review(root, manifest)


def copy_of(review: Review, root: Path) -> Review:
    """A copy of a run's manifest, inputs and output under `root`, for one test to change."""
    shutil.copytree(review.root, root, dirs_exist_ok=True)
    return Review(root, load(root / review.manifest.path.name))
