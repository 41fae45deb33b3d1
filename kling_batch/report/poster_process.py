"""Posters made in a process of their own while a run goes on (`PosterProcess`).

A run makes each done video's poster as the video arrives, so that the report at its end finds
them made. Decoding a keyframe and writing a JPEG is a few milliseconds of CPU a poster; on a
thread beside the runner's event loop the contention for the interpreter lock made it cost a
third more (3.7 ms an entry in a run against 2.7 ms alone; bench/README.md, 2026-12-02).
Here a child Python (`child_main`, started by `python -c`) makes them, one after another,
from the lines the run writes to its standard input:

    {"entry_id": "...", "path": ".../video.mp4", "size": 123, "sha256": "...", "folder": "..."}

It gets no secret (the API key is taken out of its environment), ignores Ctrl-C (the run
decides when it stops: `close` ends its input, and it finishes what it was handed), and exits
when its input ends, which is also what a killed run leaves it. Nothing here is needed for a
poster to exist: one that was not made (the child could not start, died, or was still busy
when the run ended) is made by the report, which makes every poster it finds missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from kling_batch.api.security import API_KEY_ENV
from kling_batch.delivery.videos import DoneVideo
from kling_batch.report.frames import make_poster
from kling_batch.runner.artifacts import OutputLayout

# How long `close` waits for the posters still queued, beyond which the report makes the rest.
CLOSE_SECONDS = 120.0


class PosterProcess:
    """Hands each video to the child that makes its poster; started at the first video.

    `submit` never waits: the child's input is a non-blocking pipe, and what it cannot take
    yet (the child is behind by more than the pipe holds) waits here, in order, for the next
    `submit` or for `close`. No thread: with a feeder thread, a handover cost the run about
    50 us of CPU (two more context switches, and the interpreter lock passed back and forth),
    against 27 us for the write alone (`bench/micro_bench.py handover`, 2026-12-02)."""

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        self._pipe: int | None = None  # the write end of the child's standard input
        self._backlog = bytearray()  # lines the pipe could not take yet
        self._broken = False  # the child could not be started, or stopped reading

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None before the first video, and after
        `close`)."""
        return self._child.pid if self._child is not None else None

    def submit(self, video: DoneVideo, folder: Path) -> None:
        if self._broken:
            return
        if self._child is None and not self._start():
            return
        line = {
            "entry_id": video.entry_id,
            "path": str(video.path),
            "size": video.size,
            "sha256": video.sha256,
            "folder": str(folder),
        }
        self._backlog += json.dumps(line).encode() + b"\n"
        self._write_what_fits()

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Let the child make what it was handed (at most `timeout` seconds), then end it.
        Safe to call more than once."""
        child, self._child = self._child, None
        if child is None:
            return
        deadline = time.monotonic() + timeout
        self._write_rest(deadline)
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe)  # the child's input ends: it exits once done
            self._pipe = None
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()  # what it did not make, the report makes
            child.wait()

    def _start(self) -> bool:
        if not sys.executable:  # an embedded interpreter: the report makes the posters
            self._broken = True
            return False
        try:
            self._child = subprocess.Popen(
                # -c rather than -m: the package imports this module, and running it as
                # __main__ as well would load it twice.
                [sys.executable, "-c", f"from {__name__} import child_main; child_main()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=child_environment(os.environ),
            )
        except OSError:
            self._broken = True
            return False
        assert self._child.stdin is not None
        # The descriptor itself, written with os.write: the file object would buffer.
        self._pipe = os.dup(self._child.stdin.fileno())
        self._child.stdin.close()
        try:
            os.set_blocking(self._pipe, False)
        except (AttributeError, OSError):  # no non-blocking pipes here: the report makes them
            self._broken = True
        return not self._broken

    def _write_what_fits(self) -> None:
        """Write as much of the backlog as the pipe takes now, without waiting."""
        while self._backlog and self._pipe is not None:
            try:
                written = os.write(self._pipe, self._backlog)
            except BlockingIOError:
                return  # the child is behind: the rest goes with a later write
            except OSError:  # the child stopped reading (it died): the report makes the rest
                self._broken = True
                self._backlog.clear()
                return
            del self._backlog[:written]

    def _write_rest(self, deadline: float) -> None:
        """Write the whole backlog, waiting for the child to read it until `deadline`."""
        self._write_what_fits()
        while self._backlog and self._pipe is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return  # the child is too slow: what it did not get, the report makes
            # A selector rather than select.select, which refuses descriptors from 1024 up.
            with selectors.DefaultSelector() as waiting:
                waiting.register(self._pipe, selectors.EVENT_WRITE)
                waiting.select(left)
            self._write_what_fits()


def child_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """What the child is started with: `environment` without the API key."""
    return {name: value for name, value in environment.items() if name != API_KEY_ENV}


def child_main() -> None:
    """The child's whole life: posters for what arrives on its standard input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run's Ctrl-C is the run's to handle
    serve(sys.stdin)


def serve(lines: IO[str]) -> None:
    """The child: a poster for each line of `lines`, until they end."""
    for line in lines:
        try:
            task = json.loads(line)
            video = DoneVideo(
                str(task["entry_id"]), Path(task["path"]), int(task["size"]), str(task["sha256"])
            )
            folder = Path(task["folder"])
        except (ValueError, KeyError, TypeError):
            continue  # not a line of ours: nothing to make
        make_poster(video, OutputLayout(folder))
