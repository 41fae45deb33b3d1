"""Two entries with the same prompt: A's create is answered 500 (nothing created) and A settles;
while A waits to list again, B (same prompt, held up by its upload) is created and recorded.
`_settle` passes `claimed` and `rivals` computed once, before the first look, so the second look
sees B's task as unclaimed and without rivals, and A adopts it."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx
from PIL import Image

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


class Faulty(httpx.AsyncBaseTransport):
    """A's first create answers 500 without reaching the simulator (nothing is created);
    B's upload policy is answered 0.3 s late, so B's intent comes after A began to settle."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.failed_a = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/video-synthesis") and request.method == "POST":
            body = json.loads(request.content)
            if "media" not in body["input"] and not self.failed_a:
                self.failed_a = True
                return httpx.Response(
                    500, json={"code": "InternalError", "message": "boom", "request_id": "r"}
                )
        if path.endswith("/uploads"):
            await anyio.sleep(0.3)
        return await self.inner.handle_async_request(request)


def test_a_lost_create_never_adopts_a_sibling_entrys_task(tmp_path: Path) -> None:
    Image.new("RGB", (640, 360), (200, 120, 40)).save(tmp_path / "start.png")
    sim = simulator()
    output = tmp_path / "out"
    manifest = write_manifest(tmp_path, MANIFEST)

    crash: BaseException | None = None
    try:
        summary = run(manifest, output, Faulty(sim_transport(sim)), concurrency=2)
        print("summary:", summary.states)
    except BaseException as error:
        crash = error
        print("run_manifest raised:", repr(error))
    a, b = record(output, "a-text"), record(output, "b-image")
    print("A:", a and (a.state, a.task_id), "B:", b and (b.state, b.task_id))
    print([e for e in events(output) if e["event"] in ("reconciled", "submitted")])
    print("tasks created:", sim.stats().creates)
    assert crash is None, f"run_manifest raised {crash!r}"
    assert a is not None and b is not None
    assert a.task_id is None or a.task_id != b.task_id
    # A's text-to-video never reached the service; it must not hold B's (image) task.
    reconciled = [e for e in events(output) if e["event"] == "reconciled"]
    assert all(e.get("verdict") != "adopted" for e in reconciled), reconciled


class SlowAnswerForB(Faulty):
    """As `Faulty`, and B's create reaches the simulator at once but its answer takes 1.2 s
    (a slow network): A's second look happens while B's task exists and B is still mid-submit."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.url.path.endswith("/video-synthesis") and b"first_frame" in request.content:
            await anyio.sleep(1.2)
        return response


def test_a_slow_sibling_answer_then_resume_pays_once_and_adopts_nothing_wrong(
    tmp_path: Path,
) -> None:
    Image.new("RGB", (640, 360), (200, 120, 40)).save(tmp_path / "start.png")
    sim = simulator()
    output = tmp_path / "out"
    manifest = write_manifest(tmp_path, MANIFEST)

    run(manifest, output, SlowAnswerForB(sim_transport(sim)), concurrency=2)
    a = record(output, "a-text")
    print("after run 1  A:", a and (a.state, a.task_id), " B:", record(output, "b-image"))

    # The user runs the same command again, as the contract invites.
    second = run(manifest, output, sim_transport(sim), concurrency=2)
    a, b = record(output, "a-text"), record(output, "b-image")
    assert a is not None and b is not None
    print("after run 2:", second.states, "A task", a.task_id, "B task", b.task_id)
    print("creates by body:", sim.stats().creates_by_body)
    # B's body was created twice (paid twice); A's text-to-video was never created at all.
    assert sim.stats().duplicate_creates == 0, "B's content was created (and billed) twice"
