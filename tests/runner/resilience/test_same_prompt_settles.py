"""Two entries with the same prompt, a text-to-video (A) and an image-to-video (B), and a lost
create: each still ends with a task of its own body, paid for once.

The fault: A's first create is answered 500 without reaching the service (nothing is created), so
A settles it with the task list, where B's task, of the same prompt, may show. The promise: look-
alikes go one at a time (runner/lookalikes.py), so B's create is never on the wire while A's is
unsettled; A never takes B's task; and when B's answer comes as late as it can, a resumed run
still pays for each body once.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx

from tests.conftest import make_image

from .helpers import events, record, run, sim_transport, simulator, write_manifest

MANIFEST = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3}
    shots:
      - {id: a-text, prompt: "the same prompt", aspect_ratio: "16:9"}
      - id: b-image
        prompt: "the same prompt"
        media:
          - {type: first_frame, path: start.png}
"""


def _is_create(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/video-synthesis")


class FirstTextCreateFails(httpx.AsyncBaseTransport):
    """A's first create answers 500 without reaching the simulator: nothing is created."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.failed_a = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        is_text = _is_create(request) and "media" not in json.loads(request.content)["input"]
        if is_text and not self.failed_a:
            self.failed_a = True
            return httpx.Response(
                500, json={"code": "InternalError", "message": "boom", "request_id": "r"}
            )
        return await self.inner.handle_async_request(request)


def _unsettled_spans(lines: list[dict[str, object]], entry: str) -> list[tuple[int, int]]:
    """Where `entry`'s creates were unanswered: from each of its `submit` lines to the line that
    gave it a task or settled it."""
    spans, opened = [], None
    for n, line in enumerate(lines):
        if line.get("entry") != entry:
            continue
        if line["event"] == "submit":
            opened = n
        elif line["event"] in ("submitted", "reconciled") and opened is not None:
            spans.append((opened, n))
            opened = None
    return spans


def test_a_lost_create_never_adopts_a_sibling_entrys_task(tmp_path: Path) -> None:
    make_image(tmp_path / "start.png")
    sim = simulator()
    output = tmp_path / "out"
    manifest = write_manifest(tmp_path, MANIFEST)

    summary = run(manifest, output, FirstTextCreateFails(sim_transport(sim)), concurrency=2)

    assert summary.all_done
    a, b = record(output, "a-text"), record(output, "b-image")
    assert a is not None and b is not None and a.task_id != b.task_id
    assert a.body_sha256 != b.body_sha256
    lines = events(output)
    # A's text-to-video never reached the service: no task was adopted for it.
    assert [e["verdict"] for e in lines if e["event"] == "reconciled"] == ["not_created"]
    # While A's create was unanswered, B sent nothing.
    b_sends = [
        n for n, e in enumerate(lines) if e.get("entry") == "b-image" and e["event"] == "submit"
    ]
    for start, end in _unsettled_spans(lines, "a-text"):
        assert not any(start < n < end for n in b_sends), lines[start : end + 1]
    assert sim.stats().creates == 2 and sim.stats().duplicate_creates == 0


class LateAnswerForB(FirstTextCreateFails):
    """As `FirstTextCreateFails`, and B's create reaches the simulator at once but its answer
    comes only when nothing else in the run can move without it (the slowest network)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if _is_create(request) and b"first_frame" in request.content:
            await anyio.wait_all_tasks_blocked()
        return response


def test_a_late_sibling_answer_then_resume_pays_once_and_adopts_nothing_wrong(
    tmp_path: Path,
) -> None:
    make_image(tmp_path / "start.png")
    sim = simulator()
    output = tmp_path / "out"
    manifest = write_manifest(tmp_path, MANIFEST)

    run(manifest, output, LateAnswerForB(sim_transport(sim)), concurrency=2)
    # The user runs the same command again, as the contract invites.
    second = run(manifest, output, sim_transport(sim), concurrency=2)

    assert second.all_done
    a, b = record(output, "a-text"), record(output, "b-image")
    assert a is not None and b is not None and a.task_id != b.task_id
    assert sim.stats().creates == 2
    assert sim.stats().duplicate_creates == 0, "B's content was created (and billed) twice"
