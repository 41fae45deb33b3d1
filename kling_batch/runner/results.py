"""An entry's outcome (`EntryResult`): the one shape that results.jsonl, `status`, `plan` and the
report share. results.jsonl holds one line per manifest entry, rebuilt from the state store
after every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kling_batch.api.types import TaskStatus
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import API_DEFAULT_MODE, Estimate, PriceTable
from kling_batch.runner.artifacts import OutputLayout, write_lines_atomic
from kling_batch.runner.records import EntryRecord, EntryState, FileRecord
from kling_batch.runner.state import StateStore

PENDING = "pending"  # the status of an entry the state store has never seen
VIDEO_FILE = "video.mp4"


def billed_cost(
    entry: Entry, record: EntryRecord | None, prices: PriceTable, seconds: int
) -> Decimal:
    """The one price of a billed render: `seconds` at the model, mode and audio it was rendered
    with (the body on record; the entry may have changed since), else at the entry's."""
    parameters = (record.fingerprint_body or {}).get("parameters") if record else None
    if not isinstance(parameters, dict):
        parameters = {"mode": entry.mode, "audio": entry.audio}
    model = record.model if record else entry.model
    mode = parameters.get("mode") or API_DEFAULT_MODE
    audio = bool(parameters.get("audio"))
    return prices.price(mode=str(mode), audio=audio, seconds=seconds, model=model).amount


@dataclass(frozen=True)
class EntryResult:
    """An entry's outcome: status, task, files, and the estimate beside what was billed."""

    id: str
    estimate: Estimate  # one render of the entry as the manifest has it now
    state: EntryState | None = None  # None: the state store has never seen the entry
    task_id: str | None = None
    task_status: TaskStatus | None = None
    request_id: str | None = None
    files: tuple[FileRecord, ...] = ()  # downloaded and verified
    usage: Mapping[str, Any] | None = None  # the service's usage object, as it came
    billed_seconds: int | None = None
    cost: Decimal | None = None  # what was billed, at the price it was rendered with
    error_code: str | None = None
    error_message: str | None = None

    @property
    def status(self) -> str:
        """The entry's state, or `pending` for one never seen."""
        return str(self.state) if self.state is not None else PENDING

    @property
    def video(self) -> FileRecord | None:
        return next((f for f in self.files if f.name == VIDEO_FILE), None)

    def as_json(self) -> dict[str, Any]:
        """The results.jsonl line: an unseen entry has only the first five keys; a seen one has
        every key, null where unknown."""
        line: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "estimated_seconds": self.estimate.seconds,
            "estimated_cost": float(self.estimate.amount),
            "currency": self.estimate.currency,
        }
        if self.state is None:
            return line
        video = self.video
        line.update(
            task_id=self.task_id,
            task_status=str(self.task_status) if self.task_status else None,
            request_id=self.request_id,
            files=[{"name": f.name, "size": f.size, "sha256": f.sha256} for f in self.files],
            sha256=video.sha256 if video else None,
            usage=dict(self.usage) if self.usage is not None else None,
            billed_seconds=self.billed_seconds,
            cost=float(self.cost) if self.cost is not None else None,
            error_code=self.error_code,
            error_message=self.error_message,
        )
        return line

    @classmethod
    def from_json(cls, line: Mapping[str, Any]) -> EntryResult:
        """A results.jsonl line read back (`as_json` inverted); amounts become Decimals."""
        status = str(line["status"])
        task_status = line.get("task_status")
        cost = line.get("cost")
        return cls(
            id=str(line["id"]),
            estimate=Estimate(
                int(line["estimated_seconds"]),
                _decimal(line["estimated_cost"]),
                str(line["currency"]),
            ),
            state=None if status == PENDING else EntryState(status),
            task_id=line.get("task_id"),
            task_status=TaskStatus(task_status) if task_status else None,
            request_id=line.get("request_id"),
            files=tuple(
                FileRecord(str(f["name"]), int(f["size"]), str(f["sha256"]))
                for f in line.get("files") or ()
            ),
            usage=line.get("usage"),
            billed_seconds=line.get("billed_seconds"),
            cost=_decimal(cost) if cost is not None else None,
            error_code=line.get("error_code"),
            error_message=line.get("error_message"),
        )


def _decimal(amount: float | int | str) -> Decimal:
    # Through str: the shortest text of the float, so 2.7 reads back as Decimal("2.7").
    return Decimal(str(amount))


def entry_result(entry: Entry, record: EntryRecord | None, prices: PriceTable) -> EntryResult:
    """An entry's outcome from its record in the state store (None: never seen)."""
    estimate = prices.estimate(entry)
    if record is None:
        return EntryResult(entry.id, estimate)
    cost = None
    if record.billed_seconds is not None:
        cost = billed_cost(entry, record, prices, record.billed_seconds)
    return EntryResult(
        entry.id,
        estimate,
        state=record.state,
        task_id=record.task_id,
        task_status=record.task_status,
        request_id=record.request_id,
        files=record.files,
        usage=record.usage,
        billed_seconds=record.billed_seconds,
        cost=cost,
        error_code=record.error_code,
        error_message=record.error_message,
    )


def write_results(
    layout: OutputLayout, manifest: Manifest, store: StateStore, prices: PriceTable | None = None
) -> dict[str, EntryResult]:
    """Write results.jsonl, and return its results by entry id (the report shows the same)."""
    table = prices or PriceTable.load()  # it remembers its answers: a few, asked 10,000 times
    results = {e.id: entry_result(e, store.get(e.id), table) for e in manifest.entries}
    write_lines_atomic(layout.results, [result.as_json() for result in results.values()])
    return results
