"""What a report remembers of the entry folders (.files-memo.json): used while a file keeps its
stamp, read again once it changed, and never trusted when damaged."""

from __future__ import annotations

import json

import pytest

from kling_batch.report import gather, write_report
from kling_batch.report.folders import MEMO_FILE, EntryFiles, ReportMemo
from kling_batch.runner.artifacts import write_json_atomic

from .conftest import Output

TIMES = ("2026-12-01 09:30:00.000", "2026-12-01 09:32:00.250")  # 120.25 s


def render_time(output: Output, entry_id: str = "cat-moonlight") -> float | None:
    """The render time a report shows, with the memo as write_report uses it (and saved)."""
    memo = ReportMemo(output.layout)
    facts = gather(
        output.layout, output.manifest, output.store, files=EntryFiles(output.layout), memo=memo
    )
    memo.save()
    return next(o.render_seconds for o in facts.entries if o.entry.id == entry_id)


def memo_files(output: Output) -> dict[str, list[object]]:
    files: dict[str, list[object]] = json.loads((output.layout.folder / MEMO_FILE).read_text())[
        "files"
    ]
    return files


def test_a_report_remembers_task_times_and_posters_for_the_next(output: Output) -> None:
    output.succeed("cat-moonlight", 5, times=TIMES)
    write_report(output.layout, output.manifest, output.store)  # makes the poster
    write_report(output.layout, output.manifest, output.store)  # finds it made

    kept = memo_files(output)
    assert kept["cat-moonlight/task.json"][1] == pytest.approx(120.25)
    assert "video-sha256=" in str(kept["cat-moonlight/poster.jpg"][1])
    # Remembered, not read: what the memo says is what the next report shows.
    kept["cat-moonlight/task.json"][1] = 7.0
    (output.layout.folder / MEMO_FILE).write_text(json.dumps({"version": 1, "files": kept}))
    assert render_time(output) == 7.0


def test_a_file_written_since_is_read_again(output: Output) -> None:
    output.succeed("cat-moonlight", 5, times=TIMES)
    assert render_time(output) == pytest.approx(120.25)

    later = ("2026-12-01 09:30:00.000", "2026-12-01 09:31:00.000")
    write_json_atomic(
        output.layout.task_file("cat-moonlight"),
        {"output": {"submit_time": later[0], "end_time": later[1]}},
    )
    assert render_time(output) == pytest.approx(60.0)
    assert memo_files(output)["cat-moonlight/task.json"][1] == pytest.approx(60.0)


@pytest.mark.parametrize(
    "memo",
    [
        "{not json",
        '{"version": 99, "files": {}}',
        "[1, 2]",
        '{"version": 1, "files": {"cat-moonlight/task.json": "x"}}',
        # The right stamp with a value of the wrong kind: read again, not shown.
        '{"version": 1, "files": {"cat-moonlight/task.json": [STAMP, "two minutes"]}}',
    ],
)
def test_a_damaged_or_foreign_memo_is_ignored(output: Output, memo: str) -> None:
    output.succeed("cat-moonlight", 5, times=TIMES)
    write_report(output.layout, output.manifest, output.store)
    stamp = memo_files(output)["cat-moonlight/task.json"][0]
    (output.layout.folder / MEMO_FILE).write_text(memo.replace("STAMP", json.dumps(stamp)))

    assert render_time(output) == pytest.approx(120.25)
    assert memo_files(output)["cat-moonlight/task.json"] == [stamp, pytest.approx(120.25)]
