"""delivery.csv and delivery.json: one row per delivered video, the same rows in both.

What a producer or an editor receiving the folder wants beside the files: which entry and take
each file is, its checksum, what was rendered (duration, frame size, aspect ratio, prompt) and
what it cost. The cost comes from `billed_cost`, the one price of a billed render, so the sheet
agrees with results.jsonl, `status` and the report.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

from kling_batch.delivery.atomic import write_text_atomic
from kling_batch.delivery.groups import group_of, take_of
from kling_batch.manifest.model import Entry
from kling_batch.prices import API_DEFAULT_DURATION, PriceTable
from kling_batch.runner.records import EntryRecord
from kling_batch.runner.results import billed_cost

CSV_FILE = "delivery.csv"
JSON_FILE = "delivery.json"
COLUMNS = (
    "id",
    "group",
    "take",
    "file",
    "sha256",
    "bytes",
    "duration",
    "size",
    "aspect_ratio",
    "prompt",
    "task_id",
    "billed_seconds",
    "cost",
    "currency",
)


@dataclass(frozen=True)
class Rendered:
    """What was rendered, as the service reported it (usage), else as the entry asked."""

    duration: int
    size: str | None  # "1280x720"
    aspect_ratio: str | None  # "16:9"


def rendered(entry: Entry, record: EntryRecord) -> Rendered:
    usage = record.usage or {}
    seconds = usage.get("duration")
    if not isinstance(seconds, int):
        seconds = record.billed_seconds or entry.duration or API_DEFAULT_DURATION
    width, height = _frame_size(usage.get("size"))
    size = f"{width}x{height}" if width and height else None
    ratio = entry.aspect_ratio
    if ratio is None and width and height:
        # A first frame or a base video sets the shape; the frame size says which it was.
        common = gcd(width, height)
        ratio = f"{width // common}:{height // common}"
    return Rendered(seconds, size, ratio)


def delivery_row(
    entry: Entry, record: EntryRecord, file: str, size: int, sha256: str, prices: PriceTable
) -> dict[str, Any]:
    """One row of the sheets, in COLUMNS order."""
    shape = rendered(entry, record)
    cost = None
    if record.billed_seconds is not None:
        cost = float(billed_cost(entry, record, prices, record.billed_seconds))
    row: dict[str, Any] = {
        "id": entry.id,
        "group": group_of(entry),
        "take": take_of(entry),
        "file": file,
        "sha256": sha256,
        "bytes": size,
        "duration": shape.duration,
        "size": shape.size,
        "aspect_ratio": shape.aspect_ratio,
        "prompt": _prompt(entry),
        "task_id": record.task_id,
        "billed_seconds": record.billed_seconds,
        "cost": cost,
        "currency": prices.currency,
    }
    return row


def write_sheets(folder: Path, rows: list[dict[str, Any]]) -> tuple[Path, Path]:
    """Write delivery.csv and delivery.json into `folder`, each whole or not at all."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row[name] is None else row[name] for name in COLUMNS])
    csv_path, json_path = folder / CSV_FILE, folder / JSON_FILE
    write_text_atomic(csv_path, text.getvalue())
    write_text_atomic(json_path, json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    return csv_path, json_path


def _frame_size(value: object) -> tuple[int, int]:
    # usage.size is "1280*720" in the service's answers.
    if isinstance(value, str):
        width, _, height = value.partition("*")
        if width.isdigit() and height.isdigit():
            return int(width), int(height)
    return 0, 0


def _prompt(entry: Entry) -> str | None:
    if entry.prompt is not None:
        return entry.prompt
    if entry.multi_prompt:
        return " | ".join(shot.prompt for shot in entry.multi_prompt)
    return None
