"""A run that gives up sending an entry says so, and the next run sends it.

The fault: every create is answered 503 without reaching the service, so each may have created a
task and is settled with the task list, which shows none. The promise: after three such sends in
one run the entry is reported failed (SubmitUnavailable, resumable) as its last event, is left
for the next run rather than marked failed, nothing was created, and the next run renders it.
"""

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
    sim = simulator()

    summary = run(manifest, output, CreatesFail(sim_transport(sim)))

    kinds = [e["event"] for e in events(output) if e.get("entry") == "cat"]
    assert kinds == ["submit", "submit_ambiguous", "reconciled"] * 3 + ["entry_failed"]
    gave_up = events(output)[-2]
    assert gave_up["code"] == "SubmitUnavailable" and gave_up["resumable"] is True
    assert summary.states["cat"] is EntryState.SUBMITTING
    assert sim.stats().creates == 0

    again = run(manifest, output, sim_transport(sim))

    assert again.all_done and sim.stats().creates == 1
