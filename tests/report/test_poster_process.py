"""The process a run's posters are made in (report/poster_process.py): it gets no key, outlives
neither the run nor a kill of it, ignores the run's Ctrl-C, and its death costs no poster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kling_batch.delivery.videos import DoneVideo, done_video
from kling_batch.report.frames import POSTER_FILE, Poster, make_posters
from kling_batch.report.poster_process import PosterProcess

from ..delivery.outputs import DONE, Review

ROOT = Path(__file__).resolve().parents[2]


def videos_of(review: Review) -> list[DoneVideo]:
    with review.store() as store:
        found = [done_video(review.layout, store.get(entry)) for entry in DONE]
    return [video for video in found if video is not None]


def posters_on_disk(review: Review) -> list[str]:
    return [e for e in DONE if (review.layout.entry_dir(e) / POSTER_FILE).is_file()]


def started(review: Review) -> tuple[PosterProcess, int, list[DoneVideo]]:
    """A poster process handed the first video (so its child runs), its pid, the rest."""
    process = PosterProcess()
    assert process.pid is None  # nothing started before there is a video
    first, *rest = videos_of(review)
    process.submit(first, review.layout.folder)
    assert process.pid is not None
    return process, process.pid, rest


def finish(process: PosterProcess, review: Review, videos: list[DoneVideo]) -> None:
    for video in videos:
        process.submit(video, review.layout.folder)
    process.close()


def first_poster_made(review: Review) -> None:
    """Wait for a poster on disk: the child is then past setting its signal handler, which it
    does first."""
    deadline = time.monotonic() + 30
    while not posters_on_disk(review) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert posters_on_disk(review), "the child made no poster"


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_child_makes_every_poster_handed_over_and_gets_no_key(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-never-handed-to-the-poster-child")
    process, pid, rest = started(review)
    environ = Path(f"/proc/{pid}/environ")
    if environ.exists():  # Linux: what the child was started with
        assert b"sk-never-handed" not in environ.read_bytes()
    finish(process, review, rest)
    process.close()
    assert process.pid is None and gone(pid)
    assert posters_on_disk(review) == list(DONE)


def test_the_runs_ctrl_c_does_not_stop_the_child(review: Review) -> None:
    process, pid, rest = started(review)
    first_poster_made(review)
    os.kill(pid, signal.SIGINT)
    finish(process, review, rest)
    assert posters_on_disk(review) == list(DONE)


def test_a_child_that_dies_costs_no_poster_and_no_error(review: Review) -> None:
    process, pid, rest = started(review)
    os.kill(pid, signal.SIGKILL)
    finish(process, review, rest)  # no error: the next write finds the pipe broken
    with review.store() as store:
        posters = make_posters(review.layout, review.manifest, store)
    # The report makes whatever the child did not.
    assert all(isinstance(poster, Poster) for poster in posters.values())
    assert posters_on_disk(review) == list(DONE)


def test_submit_never_waits_for_a_child_that_is_behind(review: Review) -> None:
    """A stopped child reads nothing: a run's submits still return, and what its pipe cannot
    hold reaches the child, in order, once it reads again."""
    process, pid, rest = started(review)
    os.kill(pid, signal.SIGSTOP)
    # Many times what a pipe holds (64 KiB): videos whose long paths do not exist, each
    # skipped by the child as a poster it cannot make.
    folder = review.layout.folder / "missing"
    deep = folder.joinpath(*["x" * 200] * 20)
    missing = [DoneVideo(f"missing-{n}", deep / f"{n}.mp4", 1, "0" * 64) for n in range(150)]
    submitting = threading.Thread(
        target=lambda: [process.submit(video, review.layout.folder) for video in missing]
    )
    submitting.start()
    submitting.join(30)
    stuck = submitting.is_alive()
    os.kill(pid, signal.SIGCONT)
    assert not stuck, "submit waited for the child"
    finish(process, review, rest)  # the real videos come after all that was held back
    assert gone(pid)
    assert posters_on_disk(review) == list(DONE)


def test_a_killed_run_leaves_no_poster_process_behind(review: Review) -> None:
    video = videos_of(review)[0]
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from kling_batch.delivery.videos import DoneVideo
        from kling_batch.report.poster_process import PosterProcess
        process = PosterProcess()
        video = DoneVideo({video.entry_id!r}, Path({str(video.path)!r}), {video.size},
                          {video.sha256!r})
        process.submit(video, Path({str(review.layout.folder)!r}))
        print(process.pid, flush=True)
        time.sleep(60)
        """
    )
    run = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.stdout is not None
    child = int(run.stdout.readline())
    run.kill()  # SIGKILL: the run gets no chance to close anything
    run.wait()
    assert gone(child)  # its input ended with the run
