"""A poll refused by a gateway fails that one entry, for this run only.

The fault: the first query of a task is answered a bare 404 (an HTML page, no DashScope code), so
`get_task` raises RequestRejected. The promise: that entry alone is reported failed, resumable,
and stays in flight with its task; every other entry of the run renders, the run is not fatal,
and the next run polls the task again instead of paying for another.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from kling_batch.runner.records import EntryState

from .helpers import events, record, run, sim_transport, simulator, write_manifest


class OnePoll404(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.refused: str | None = None  # the task id whose query was answered 404

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        is_query = request.method == "GET" and "/tasks/" in path and not path.endswith("/tasks/")
        if is_query and self.refused is None:
            self.refused = path.rsplit("/", 1)[-1]
            return httpx.Response(404, text="<html>Not Found</html>")
        return await self.inner.handle_async_request(request)


def test_a_4xx_poll_fails_only_its_entry_and_the_next_run_polls_it_again(tmp_path: Path) -> None:
    shots = "\n".join(f"          - {{id: s{n}, prompt: 'scene {n}'}}" for n in range(4))
    manifest = write_manifest(
        tmp_path,
        f"""
        version: 1
        name: batch
        defaults: {{mode: std, duration: 3, aspect_ratio: "16:9"}}
        shots:
{shots}
        """,
    )
    sim = simulator()
    output = tmp_path / "out"
    transport = OnePoll404(sim_transport(sim))

    summary = run(manifest, output, transport)

    (failed,) = [e for e in events(output) if e["event"] == "entry_failed"]
    refused = failed["entry"]
    assert failed["code"] == "RequestRejected" and failed["resumable"] is True
    refused_record = record(output, refused)
    assert refused_record is not None and refused_record.task_id == transport.refused
    assert summary.fatal is None
    assert summary.states == {
        entry.id: EntryState.IN_FLIGHT if entry.id == refused else EntryState.DONE
        for entry in manifest.entries
    }

    again = run(manifest, output, sim_transport(sim))

    assert again.all_done
    assert sim.stats().creates == 4
