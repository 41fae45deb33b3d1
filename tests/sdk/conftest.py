"""The vendor's own Python SDK (PyPI `dashscope`) as a conformance client of the simulator.

Each test starts a simulator on loopback and points the SDK at it through the SDK's own setting,
`dashscope.base_http_api_url`, as a user reaching a private endpoint would; nothing of the SDK is
patched beyond that and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kling_batch.simulator import Simulator, SimulatorConfig, SimulatorServer
from tests.conftest import FAST

dashscope = pytest.importorskip(
    "dashscope", reason="the vendor SDK is a test-only dependency: pip install -e '.[dev]'"
)

STANDARD = "kling/kling-v3-video-generation"
OMNI = "kling/kling-v3-omni-video-generation"
KEY = "sk-sdk-conformance"
# Renders end as soon as they start, so the SDK's wait() (which sleeps 1 s between queries)
# finds them done on its first query; a test that needs a render in flight asks for longer.
QUICK: dict[str, Any] = {**FAST, "render_seconds": 0.0}

Serve = Callable[..., SimulatorServer]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """serve(**config changes) -> a running SimulatorServer that the SDK now talks to."""
    servers: list[SimulatorServer] = []

    def start(**changes: Any) -> SimulatorServer:
        server = SimulatorServer(Simulator(SimulatorConfig(**{**QUICK, **changes})))
        server.start()
        servers.append(server)
        monkeypatch.setattr(dashscope, "base_http_api_url", server.base_url)
        monkeypatch.setattr(dashscope, "api_key", KEY)
        return server

    for name in ("DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    yield start
    for server in servers:
        server.stop()
