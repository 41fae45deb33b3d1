"""Every create answered 500 (nothing created): after _MAX_SENDS_PER_RUN sends, `_submit_and_wait`
returns None without an event; the entry stays SUBMITTING and the run exits 1 with nothing in
events.jsonl (or on screen) saying why."""

from __future__ import annotations

from pathlib import Path

import httpx

from kling_batch.runner.records import EntryState

from .helpers import events, run, sim_transport, simulator, write_manifest


class CreatesFail(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/video-synthesis"):
            return httpx.Response(503, json={"code": "ServiceUnavailable", "message": "busy"})
        return await self.inner.handle_async_request(request)


def test_giving_up_after_three_sends_is_reported(tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path,
        """
        version: 1
        name: batch
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - {id: cat, prompt: "a cat"}
        """,
    )
    output = tmp_path / "out"
    summary = run(manifest, output, CreatesFail(sim_transport(simulator())))
    kinds = [e["event"] for e in events(output) if e.get("entry") == "cat"]
    print(summary.states, kinds)
    assert summary.states["cat"] is EntryState.SUBMITTING
    assert kinds[-1] in ("entry_failed", "entry_unknown", "entry_skipped"), (
        f"the run gave up on 'cat' without saying so; its last event is {kinds[-1]!r}"
    )
