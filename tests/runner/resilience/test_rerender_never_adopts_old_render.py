"""A re-render whose create is lost never takes the entry's previous render for its own.

The fault: the entry is rendered (3 s), then changed to 5 s; the re-render's first create is
answered 500 and creates nothing ([sim:error]), so it is settled with the task list, where the
previous task (same model and prompt, no longer the entry's) shows. The promise: that task's
usage (3 s) does not fit the body sent, so it is no candidate; the create is settled as never
arrived, sent again, and the entry ends with a 5 s render of its own.
"""

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
    # One lost first create per body, each settled as never arrived: nothing was adopted.
    verdicts = [e["verdict"] for e in events(output) if e["event"] == "reconciled"]
    assert second.all_done and verdicts == ["not_created", "not_created"]
    assert new.task_id != old.task_id, (
        f"the re-render adopted the old task {old.task_id} (a {old.billed_seconds} s render) "
        f"and ended {new.state} with billed_seconds={new.billed_seconds}; the manifest asks 5 s"
    )
    assert new.billed_seconds == 5
    assert sorted(sim.stats().creates_by_body.values()) == [1, 1]  # each body paid once
