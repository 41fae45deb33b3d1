"""An output's service is compared the way a user writes base URLs.

The fault: the same service spelled differently between runs (a trailing slash, the case of
scheme and host, an explicit default port), given to the runner directly, without the CLI's
URL normalisation in front. The promise: those are one service, so the output is reused and
nothing is paid again; another path is another service, and that run is refused.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kling_batch.runner.options import RunSummary
from kling_batch.runner.world import WorldMismatch
from kling_batch.simulator import Simulator

from .helpers import connection, run, sim_transport, simulator, write_manifest

SMALL = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: calm, prompt: a calm sea}
"""


def _run(tmp_path: Path, sim: Simulator, base_url: str) -> RunSummary:
    conn = replace(connection(sim_transport(sim)), base_url=base_url)
    return run(write_manifest(tmp_path, SMALL), tmp_path / "out", conn)


def test_trailing_slash_and_case_are_the_same_service(tmp_path: Path) -> None:
    sim = simulator()
    assert _run(tmp_path, sim, "https://dashscope.test/api/v1").all_done
    assert _run(tmp_path, sim, "HTTPS://DashScope.TEST/api/v1/").all_done
    assert sim.stats().creates == 1


def test_another_path_is_another_service(tmp_path: Path) -> None:
    sim = simulator()
    assert _run(tmp_path, sim, "https://dashscope.test/api/v1").all_done
    with pytest.raises(WorldMismatch):
        _run(tmp_path, sim, "https://dashscope.test/api/v2")


def test_an_explicit_default_port_is_the_same_service(tmp_path: Path) -> None:
    sim = simulator()
    assert _run(tmp_path, sim, "https://dashscope.test/api/v1").all_done
    assert _run(tmp_path, sim, "https://dashscope.test:443/api/v1").all_done
