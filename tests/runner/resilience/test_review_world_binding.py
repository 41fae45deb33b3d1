"""Review: an output's world compares base URLs the way a user writes them (run_manifest
directly, without the CLI's httpx normalisation in front)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from kling_batch.runner.run import RunOptions, run_manifest

from .helpers import connection, sim_transport, simulator, write_manifest

SMALL = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: calm, prompt: a calm sea}
"""


def _run(tmp_path: Path, sim, base_url: str):  # type: ignore[no-untyped-def]
    manifest = write_manifest(tmp_path, SMALL)
    conn = replace(connection(sim_transport(sim)), base_url=base_url)
    options = RunOptions(handle_signals=False, poll_interval=0.05)
    return anyio.run(run_manifest, manifest, conn, tmp_path / "out", options)


def test_trailing_slash_and_case_are_the_same_service(tmp_path: Path) -> None:
    sim = simulator()
    assert _run(tmp_path, sim, "https://dashscope.test/api/v1").all_done
    assert _run(tmp_path, sim, "HTTPS://DashScope.TEST/api/v1/").all_done
    assert sim.stats().creates == 1


def test_another_path_is_another_service(tmp_path: Path) -> None:
    from kling_batch.runner.world import WorldMismatch

    sim = simulator()
    assert _run(tmp_path, sim, "https://dashscope.test/api/v1").all_done
    with pytest.raises(WorldMismatch):
        _run(tmp_path, sim, "https://dashscope.test/api/v2")


def test_an_explicit_default_port_is_the_same_service(tmp_path: Path) -> None:
    sim = simulator()
    assert _run(tmp_path, sim, "https://dashscope.test/api/v1").all_done
    assert _run(tmp_path, sim, "https://dashscope.test:443/api/v1").all_done
