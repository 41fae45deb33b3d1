"""Ctrl-C while a create hangs: the runner waits up to 30 s for the shielded create. A user who
presses Ctrl-C a second time (the natural reaction to a stuck program) gets click's "Aborted!"
and exit 1, not the contract's 130: `_watch_signals` returns after the first signal, so the
second one meets Python's default handler (KeyboardInterrupt)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from kling_batch.simulator import Simulator, SimulatorConfig, SimulatorServer


def test_second_ctrl_c_during_shielded_create_exits_130(tmp_path: Path) -> None:
    simulator = Simulator(SimulatorConfig(render_seconds=0.2, hang_seconds=20.0))
    manifest = tmp_path / "batch.yaml"
    manifest.write_text(
        textwrap.dedent(
            """
            version: 1
            name: batch
            defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
            shots:
              - {id: stuck, prompt: "a create whose answer never comes [sim:lost]"}
            """
        ).lstrip()
    )
    with SimulatorServer(simulator, host="127.0.0.1", port=0) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
        env.update(
            DASHSCOPE_API_KEY="sk-review-0123456789abcdef", DASHSCOPE_BASE_URL=server.base_url
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kling_batch",
                "run",
                str(manifest),
                "--output",
                str(tmp_path / "out"),
                "--json",
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        events = tmp_path / "out" / "batch" / "events.jsonl"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if events.exists() and '"submit"' in events.read_text():
                break
            time.sleep(0.02)
        time.sleep(0.3)  # the create is on the wire, inside its shield
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)  # "it's stuck": the user presses Ctrl-C again
        _, stderr = process.communicate(timeout=40)
    print("exit:", process.returncode, "stderr tail:", stderr[-600:])
    assert process.returncode == 130, (process.returncode, stderr[-800:])
