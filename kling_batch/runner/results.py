"""results.jsonl: one line per manifest entry, rebuilt from the state store after every run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import API_DEFAULT_MODE, PriceTable
from kling_batch.runner.artifacts import OutputLayout, write_lines_atomic
from kling_batch.runner.records import EntryRecord
from kling_batch.runner.state import StateStore


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


def entry_result(entry: Entry, record: EntryRecord | None, prices: PriceTable) -> dict[str, Any]:
    """An entry's outcome: status, task, files, and the estimate beside what was billed."""
    estimate = prices.estimate(entry)
    result: dict[str, Any] = {
        "id": entry.id,
        "status": str(record.state) if record else "pending",
        "estimated_seconds": estimate.seconds,
        "estimated_cost": float(estimate.amount),
        "currency": estimate.currency,
    }
    if record is None:
        return result
    video = next((f for f in record.files if f.name == "video.mp4"), None)
    cost = None
    if record.billed_seconds is not None:
        cost = float(billed_cost(entry, record, prices, record.billed_seconds))
    result.update(
        task_id=record.task_id,
        task_status=str(record.task_status) if record.task_status else None,
        request_id=record.request_id,
        files=[{"name": f.name, "size": f.size, "sha256": f.sha256} for f in record.files],
        sha256=video.sha256 if video else None,
        usage=record.usage,
        billed_seconds=record.billed_seconds,
        cost=cost,
        error_code=record.error_code,
        error_message=record.error_message,
    )
    return result


def write_results(
    layout: OutputLayout, manifest: Manifest, store: StateStore, prices: PriceTable | None = None
) -> None:
    prices = prices or PriceTable.load()
    lines = [entry_result(e, store.get(e.id), prices) for e in manifest.entries]
    write_lines_atomic(layout.results, lines)
