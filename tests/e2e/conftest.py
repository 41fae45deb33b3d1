"""End-to-end fixtures: the simulator serves on loopback inside the test process
(`start_simulator`, tests/conftest.py), and the real `kling-batch` CLI runs against it in a
subprocess, so tests can kill it like a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Sim, count_events, write_manifest_file

__all__ = ["Sim"]  # the simulator on loopback: `start_simulator` (tests/conftest.py)

TEST_KEY = "sk-test-e2e-0123456789abcdef"


@dataclass
class Workspace:
    root: Path

    @property
    def output(self) -> Path:
        return self.root / "out"

    def manifest(self, body: str, name: str = "batch") -> Path:
        return write_manifest_file(self.root, body, name)

    def folder(self, name: str = "batch") -> Path:
        return self.output / name

    def results(self, name: str = "batch") -> dict[str, dict[str, Any]]:
        lines = (self.folder(name) / "results.jsonl").read_text().splitlines()
        return {row["id"]: row for row in map(json.loads, lines)}

    def env(self, sim: Sim | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHSCOPE_", "OUTPUT_"))}
        env["DASHSCOPE_API_KEY"] = TEST_KEY
        if sim is not None:
            env["DASHSCOPE_BASE_URL"] = sim.base_url
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "kling_batch", *args]

    def run(
        self, sim: Sim | None, *args: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env=self.env(sim),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, sim: Sim | None, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env=self.env(sim),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def wait_until(
    condition: Callable[[], object],
    what: str,
    process: subprocess.Popen[str] | None = None,
    timeout: float = 30,
) -> None:
    """Wait until `condition()` holds (a fact a test can see: a line in events.jsonl, a count
    of the simulator's); fails if `process` ends first, since then it never will."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the run ended before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def wait_for_file_line(path: Path, needle: str, timeout: float = 20) -> None:
    """Wait until `path` holds a line with `needle` (how tests catch a run at a given step)."""
    wait_until(
        lambda: path.exists() and needle in path.read_text(errors="replace"),
        f"{path} to show {needle!r}",
        timeout=timeout,
    )


def wait_for_events(
    path: Path,
    event: str,
    count: int,
    process: subprocess.Popen[str] | None = None,
    timeout: float = 30,
) -> None:
    """Wait until events.jsonl holds `count` lines of `event` (how a test catches a run at its
    n-th step)."""
    wait_until(
        lambda: count_events(path, event) >= count,
        f"{count} {event!r} lines in {path}",
        process,
        timeout,
    )


def interrupt(process: subprocess.Popen[str], sig: signal.Signals, timeout: float = 30) -> int:
    process.send_signal(sig)
    process.communicate(timeout=timeout)
    return process.returncode


def create_elsewhere(
    sim: Sim, prompt: str, duration: int = 3, model: str = "kling/kling-v3-video-generation"
) -> str:
    """A task made by another tool on the same account (std, 16:9); its id."""
    answer = httpx.post(
        sim.base_url + "/services/aigc/video-generation/video-synthesis",
        headers={"Authorization": "Bearer sk-other-tool", "X-DashScope-Async": "enable"},
        json={
            "model": model,
            "input": {"prompt": prompt},
            "parameters": {"mode": "std", "aspect_ratio": "16:9", "duration": duration},
        },
    )
    answer.raise_for_status()
    return str(answer.json()["output"]["task_id"])
