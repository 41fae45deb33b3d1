"""EntryResult: an entry's outcome as results.jsonl writes it, and read back from that line."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from kling_batch.api.types import TaskStatus
from kling_batch.manifest.model import STANDARD_MODEL, Entry, EntryKind, Mode
from kling_batch.prices import PriceTable
from kling_batch.runner.records import EntryRecord, EntryState, FileRecord
from kling_batch.runner.results import EntryResult, entry_result

PRICES = PriceTable.load()
VIDEO = FileRecord("video.mp4", 11325, "74f9" * 16)
MARKED = FileRecord("video.watermark.mp4", 12000, "ab12" * 16)


def entry(mode: Mode | None = Mode.STD, audio: bool = False, duration: int = 5) -> Entry:
    return Entry(
        id="cat",
        kind=EntryKind.SHOT,
        model=STANDARD_MODEL,
        prompt="a cat",
        mode=mode,
        duration=duration,
        audio=audio,
    )


def record(state: EntryState, **fields: Any) -> EntryRecord:
    return EntryRecord(
        entry_id="cat",
        fingerprint="f" * 64,
        model=STANDARD_MODEL,
        state=state,
        body_sha256="b" * 64,
        prompt_key="a cat",
        intent_at=1.0,
        **fields,
    )


CASES: list[tuple[str, Entry, EntryRecord | None, dict[str, Any]]] = [
    (
        "never seen",
        entry(),
        None,
        {"id": "cat", "status": "pending", "estimated_seconds": 5, "estimated_cost": 3.0,
         "currency": "CNY"},
    ),
    (
        "submitting",
        entry(),
        record(EntryState.SUBMITTING),
        {"id": "cat", "status": "submitting", "estimated_seconds": 5, "estimated_cost": 3.0,
         "currency": "CNY", "task_id": None, "task_status": None, "request_id": None,
         "files": [], "sha256": None, "usage": None, "billed_seconds": None, "cost": None,
         "error_code": None, "error_message": None},
    ),
    (
        "done, both files",
        entry(mode=Mode.PRO, audio=True),
        record(EntryState.DONE, task_id="t-1", task_status=TaskStatus.SUCCEEDED,
               request_id="r-1", files=(VIDEO, MARKED), usage={"duration": 5, "video_count": 1},
               billed_seconds=5),
        {"id": "cat", "status": "done", "estimated_seconds": 5, "estimated_cost": 6.0,
         "currency": "CNY", "task_id": "t-1", "task_status": "SUCCEEDED", "request_id": "r-1",
         "files": [{"name": "video.mp4", "size": 11325, "sha256": VIDEO.sha256},
                   {"name": "video.watermark.mp4", "size": 12000, "sha256": MARKED.sha256}],
         "sha256": VIDEO.sha256, "usage": {"duration": 5, "video_count": 1},
         "billed_seconds": 5, "cost": 6.0, "error_code": None, "error_message": None},
    ),
    (
        "failed",
        entry(),
        record(EntryState.FAILED, task_id="t-2", task_status=TaskStatus.FAILED,
               request_id="r-2", error_code="DataInspectionFailed", error_message="moderated"),
        {"id": "cat", "status": "failed", "estimated_seconds": 5, "estimated_cost": 3.0,
         "currency": "CNY", "task_id": "t-2", "task_status": "FAILED", "request_id": "r-2",
         "files": [], "sha256": None, "usage": None, "billed_seconds": None, "cost": None,
         "error_code": "DataInspectionFailed", "error_message": "moderated"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "record", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_results_line(entry: Entry, record: EntryRecord | None, line: dict[str, Any]) -> None:
    result = entry_result(entry, record, PRICES)

    assert result.as_json() == line
    assert list(result.as_json()) == list(line)  # the keys in their order, too


@pytest.mark.parametrize(("entry", "record"), [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_a_line_reads_back_as_the_same_result(entry: Entry, record: EntryRecord | None) -> None:
    result = entry_result(entry, record, PRICES)
    text = json.dumps(result.as_json())  # as results.jsonl has it on disk

    again = EntryResult.from_json(json.loads(text))

    assert again == result
    assert again.as_json() == result.as_json()


def test_a_render_is_priced_as_it_was_rendered_not_as_the_entry_reads_now() -> None:
    rendered = record(
        EntryState.DONE,
        billed_seconds=5,
        fingerprint_body={"parameters": {"mode": "pro", "audio": True}},
    )

    result = entry_result(entry(mode=Mode.STD, audio=False), rendered, PRICES)

    assert result.estimate.amount == Decimal("3.0")  # the entry as it stands: std, silent
    assert result.cost == Decimal("6.0")  # what was billed: pro with audio


def test_status_and_video_of_a_result() -> None:
    assert entry_result(entry(), None, PRICES).status == "pending"
    done = entry_result(entry(), record(EntryState.DONE, files=(MARKED, VIDEO)), PRICES)
    assert (done.status, done.video) == ("done", VIDEO)
    assert entry_result(entry(), record(EntryState.DONE, files=(MARKED,)), PRICES).video is None
