"""Fixtures of the report tests: an output folder filled the way a run leaves it, without a run.

The browser test makes a real simulated run instead; these build exact states (done, failed,
pending, a video deleted by hand) quickly and precisely.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kling_batch.api.types import Task, TaskStatus, Usage
from kling_batch.hashing import sha256_file
from kling_batch.manifest.model import (
    OMNI_MODEL,
    STANDARD_MODEL,
    Entry,
    EntryKind,
    Manifest,
    Media,
    MediaType,
    StoryboardShot,
)
from kling_batch.runner.artifacts import OutputLayout, write_json_atomic
from kling_batch.runner.echo import EchoBasis
from kling_batch.runner.records import EntryRecord, FileRecord
from kling_batch.runner.state import StateStore
from kling_batch.runner.transitions import downloaded, task_seen

from ..delivery.outputs import Review, copy_of, run_review


def fold(store: StateStore, entry_id: str, task: Task) -> EntryRecord:
    """What a run does with a task it saw: the transition, persisted."""
    record = store.get(entry_id)
    assert record is not None
    return store.apply(entry_id, task_seen(record, task, time.time()))


def finish(store: StateStore, entry_id: str, files: tuple[FileRecord, ...]) -> EntryRecord:
    return store.apply(entry_id, downloaded(files))


SAMPLE_CLIP = Path(__file__).resolve().parents[2] / "kling_batch" / "simulator" / "sample.mp4"

HOSTILE_PROMPT = '<script>alert("x")</script> "quoted" & <img src=x onerror=alert(1)> [bold]'


def shot(entry_id: str, prompt: str, **fields: object) -> Entry:
    values: dict[str, object] = {"model": STANDARD_MODEL, "mode": "std", "duration": 5}
    values.update(fields)
    return Entry(id=entry_id, kind=EntryKind.SHOT, prompt=prompt, **values)


ENTRIES = (
    shot("cat-moonlight", "一只小猫在月光下奔跑", aspect_ratio="16:9"),
    shot(
        "hero-ref",
        "a <<<image_1>>> running at night",
        model=OMNI_MODEL,
        mode="pro",
        audio=True,
        media=(Media(MediaType.REFER, url="https://example.com/cat.jpg"),),
    ),
    shot("hostile", HOSTILE_PROMPT, negative_prompt="no </textarea> please"),
    Entry(
        id="launch-film",
        kind=EntryKind.STORYBOARD,
        model=STANDARD_MODEL,
        mode="std",
        duration=8,
        aspect_ratio="9:16",
        shot_type="customize",
        multi_prompt=(
            StoryboardShot("wide shot of a city at dawn", 4),
            StoryboardShot("close-up of a coffee cup", 4),
        ),
    ),
    shot("not-yet", "a lighthouse at dusk"),
    shot("gone-video", "a video deleted by hand"),
)


@dataclass
class Output:
    layout: OutputLayout
    manifest: Manifest
    store: StateStore

    def succeed(
        self,
        entry_id: str,
        billed: int,
        *,
        with_file: bool = True,
        video: bytes | None = None,
        times: tuple[str, str] | None = None,
    ) -> None:
        """Done, with the sample clip (or `video`, recorded as verified whatever it holds) and
        `times`, the service's (submit_time, end_time) in task.json."""
        self._submit(entry_id)
        task = Task(
            task_id=f"task-{entry_id}",
            status=TaskStatus.SUCCEEDED,
            request_id=f"req-{entry_id}",
            end_time=datetime.now(UTC),
            video_url=f"https://example.com/{entry_id}.mp4",
            usage=Usage(duration=billed),
        )
        fold(self.store, entry_id, task)
        path = self.layout.entry_dir(entry_id) / "video.mp4"
        path.write_bytes(SAMPLE_CLIP.read_bytes() if video is None else video)
        kept = FileRecord("video.mp4", path.stat().st_size, sha256_file(path))
        finish(self.store, entry_id, (kept,))
        answer: dict[str, object] = {"task_id": task.task_id}
        if times is not None:
            answer.update(submit_time=times[0], end_time=times[1])
        write_json_atomic(self.layout.task_file(entry_id), {"output": answer})
        if not with_file:
            path.unlink()

    def fail(self, entry_id: str, code: str, message: str) -> None:
        self._submit(entry_id)
        task = Task(
            task_id=f"task-{entry_id}",
            status=TaskStatus.FAILED,
            request_id=f"req-{entry_id}",
            code=code,
            message=message,
        )
        fold(self.store, entry_id, task)

    def _submit(self, entry_id: str) -> None:
        write_json_atomic(self.layout.request_file(entry_id), {"model": STANDARD_MODEL})
        self.store.record_intent(
            entry_id,
            fingerprint="f",
            model=STANDARD_MODEL,
            body_sha256="b",
            basis=EchoBasis(prompt=None),
        )
        self.store.record_submitted(
            entry_id, Task(task_id=f"task-{entry_id}", status=TaskStatus.PENDING)
        )


@pytest.fixture
def output(tmp_path: Path) -> Iterator[Output]:
    manifest = Manifest(path=tmp_path / "campaign.yaml", name="campaign", entries=ENTRIES)
    layout = OutputLayout.for_manifest(tmp_path / "out", manifest.name)
    store = StateStore(layout.state)
    yield Output(layout, manifest, store)
    store.close()


@pytest.fixture
def finished_output(output: Output) -> Output:
    """Every kind of card: done (three), failed (one, hostile text), pending, video missing."""
    output.succeed("cat-moonlight", 5)
    output.succeed("hero-ref", 5)
    output.succeed("launch-film", 8)
    output.fail("hostile", "DataInspectionFailed", "<b>moderated</b> & blocked")
    output.succeed("gone-video", 5, with_file=False)
    return output


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Review:
    """The review manifest (tests/delivery/outputs.py) run for real, once per test module."""
    return run_review(tmp_path_factory.mktemp("run"))


@pytest.fixture
def review(finished: Review, tmp_path: Path) -> Review:
    """A copy of the run's output without the posters its run made."""
    copy = copy_of(finished, tmp_path / "copy")
    for poster in copy.layout.folder.glob("*/poster.jpg"):
        poster.unlink()
    return copy
