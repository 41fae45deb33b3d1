"""A re-render whose create is answered 500 (nothing created) adopts the entry's *previous*
task: `store.forget` drops its claim, and settling matches on model + prompt only."""

from __future__ import annotations

from pathlib import Path

from kling_batch.runner.records import EntryState

from .helpers import events, record, run, sim_transport, simulator, write_manifest

V1 = """
    version: 1
    name: batch
    defaults: {mode: std, aspect_ratio: "16:9"}
    shots:
      - {id: cat, prompt: "a cat under the moon [sim:error]", duration: 3}
"""


def test_a_rerender_whose_create_is_lost_never_adopts_the_old_render(tmp_path: Path) -> None:
    sim = simulator()
    transport = sim_transport(sim)
    output = tmp_path / "out"

    first = run(write_manifest(tmp_path, V1), output, transport)
    assert first.states["cat"] is EntryState.DONE
    old = record(output, "cat")
    assert old is not None and old.billed_seconds == 3

    # The user changes the duration: the entry must be rendered again, at 5 s. Its first create
    # is answered 500 and creates nothing ([sim:error] fires on the first create of each body).
    v2 = write_manifest(tmp_path, V1.replace("duration: 3", "duration: 5"))
    second = run(v2, output, transport)

    new = record(output, "cat")
    assert new is not None
    reconciled = [e for e in events(output) if e["event"] == "reconciled"][-1]
    print("second run:", second.states, "last reconciled:", reconciled)
    print("tasks created per body:", sim.stats().creates_by_body)
    assert new.task_id != old.task_id, (
        f"the re-render adopted the old task {old.task_id} (a {old.billed_seconds} s render) "
        f"and ended {new.state} with billed_seconds={new.billed_seconds}; the manifest asks 5 s"
    )
    assert new.billed_seconds == 5
