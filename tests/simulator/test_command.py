"""`kling-batch simulator` as a user starts it: a subprocess, its first line, its signals."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def start() -> Iterator:
    processes: list[subprocess.Popen[str]] = []

    def run(*options: str) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "kling_batch", "simulator", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        return process, process.stdout.readline().strip()

    yield run
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_it_prints_its_base_url_first_and_stops_on_a_signal(start, stop) -> None:
    process, base_url = start("--render-seconds", "0.1")
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1")
    answer = httpx.get(base_url + "/tasks/x", headers={"Authorization": "Bearer any"})
    assert answer.json()["output"]["task_status"] == "UNKNOWN"
    process.send_signal(stop)
    assert process.wait(timeout=10) == 0


def test_fault_and_key_options_reach_the_simulator(start) -> None:
    process, base_url = start("--api-key", "sk-only", "--fault-server-error", "1", "--seed", "3")
    answer = httpx.get(base_url + "/tasks/x", headers={"Authorization": "Bearer sk-only"})
    stats = httpx.get(base_url.removesuffix("/api/v1") + "/__sim/stats").json()
    assert answer.status_code in (500, 503)
    assert stats["faults"] == {"server_error": 1}
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert process.stderr is not None and "sk-only" not in process.stderr.read()


def test_a_key_other_than_the_given_one_is_refused(start) -> None:
    process, base_url = start("--api-key", "sk-only")
    answer = httpx.get(base_url + "/tasks/x", headers={"Authorization": "Bearer sk-other"})
    assert answer.status_code == 401
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


def test_a_non_loopback_host_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kling_batch", "simulator", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr and result.stdout == ""
