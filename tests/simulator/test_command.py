"""`kling-batch simulator` as a user starts it: a subprocess, its first line, its signals."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

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


def test_the_list_zone_and_storyboard_echo_options_reach_the_simulator(start) -> None:
    process, base_url = start("--list-zone", "utc", "--storyboard-echo", "first-shot")
    auth = {"Authorization": "Bearer any"}
    storyboard = {
        "model": "kling/kling-v3-video-generation",
        "input": {
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": [{"index": 1, "prompt": "a harbour", "duration": 5}],
        },
        "parameters": {"duration": 5},
    }
    created = httpx.post(
        base_url + "/services/aigc/video-generation/video-synthesis",
        json=storyboard,
        headers={**auth, "X-DashScope-Async": "enable"},
    )
    task_id = created.json()["output"]["task_id"]
    query = httpx.get(f"{base_url}/tasks/{task_id}", headers=auth).json()
    now = datetime.now(UTC)
    window = {
        "start_time": (now - timedelta(minutes=5)).strftime("%Y%m%d%H%M%S"),
        "end_time": (now + timedelta(minutes=1)).strftime("%Y%m%d%H%M%S"),
    }
    rows = httpx.get(base_url + "/tasks/", params=window, headers=auth).json()["data"]
    assert query["output"]["orig_prompt"] == "a harbour"
    assert [row["task_id"] for row in rows] == [task_id]  # UTC digits find it
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


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


def _create(base_url: str, payload: dict) -> httpx.Response:
    return httpx.post(
        base_url + "/services/aigc/video-generation/video-synthesis",
        json=payload,
        headers={"Authorization": "Bearer any", "X-DashScope-Async": "enable"},
    )


MISPLACED = {
    "model": "kling/kling-v3-video-generation",
    "input": {"prompt": "a harbour"},
    "parameters": {"multi_shot": True},
}


def test_strict_by_default_and_lenient_on_request(start) -> None:
    strict, strict_url = start()
    lenient, lenient_url = start("--lenient")
    refused, taken = _create(strict_url, MISPLACED), _create(lenient_url, MISPLACED)
    assert (refused.status_code, refused.json()["code"]) == (400, "InvalidParameter")
    assert "belongs in input" in refused.json()["message"]
    assert taken.status_code == 200
    for process in (strict, lenient):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_the_retry_after_and_invalid_create_options_reach_the_simulator(start) -> None:
    process, base_url = start(
        "--submit-rate", "1", "--no-retry-after", "--no-count-invalid-creates"
    )
    invalid = [_create(base_url, MISPLACED) for _ in range(3)]  # spend nothing
    valid = [_create(base_url, {**MISPLACED, "parameters": {}}) for _ in range(2)]
    assert [a.status_code for a in invalid] == [400] * 3
    assert [a.status_code for a in valid] == [200, 429]
    assert "retry-after" not in valid[1].headers
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
