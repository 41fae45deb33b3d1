"""One poll answered 4xx by a gateway (a bare 404, no DashScope code): get_task raises
RequestRejected, which `_poll_until_done` does not catch and `_guarded` does not either, so the
whole task group dies: every other entry is abandoned and the CLI prints a traceback (exit 1,
not the contract's 3)."""

from __future__ import annotations

from pathlib import Path

import httpx

from .helpers import run, sim_transport, simulator, write_manifest


class OnePoll404(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.done = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        is_query = request.method == "GET" and "/tasks/" in path and not path.endswith("/tasks/")
        if is_query and not self.done:
            self.done = True
            return httpx.Response(404, text="<html>Not Found</html>")
        return await self.inner.handle_async_request(request)


def test_a_4xx_poll_does_not_crash_the_run(tmp_path: Path) -> None:
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
    run(manifest, tmp_path / "out", OnePoll404(sim_transport(simulator())))
