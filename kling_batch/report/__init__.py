"""report.html: a run at a glance, one self-contained page beside the videos (spec §3, §8).

    write_report(layout, manifest, store)            # at the end of every run, and by `report`

`make_pictures` makes what the page shows (poster frames, input thumbnails, contact-sheet.png,
each once per content); `gather` collects what the page says (from the manifest, the state
store, results, events.jsonl and the picks file); `render_report` turns that into HTML. All
are public for tests and other front ends; most callers want `write_report`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kling_batch.manifest.model import Manifest
from kling_batch.prices import PriceTable
from kling_batch.report.facts import (
    Artifact,
    EntryOutcome,
    ReportFacts,
    gather,
)
from kling_batch.report.folders import EntryFiles, ReportMemo
from kling_batch.report.next_step import next_step
from kling_batch.report.pictures import Pictures, PosterMaker, make_pictures
from kling_batch.report.render import POSTER_FRAGMENT, render_report
from kling_batch.report.timing import RunTiming, run_timing
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.results import EntryResult
from kling_batch.runner.state import StateStore

__all__ = [
    "POSTER_FRAGMENT",
    "Artifact",
    "EntryOutcome",
    "Pictures",
    "PosterMaker",
    "ReportFacts",
    "RunTiming",
    "gather",
    "make_pictures",
    "next_step",
    "render_report",
    "run_timing",
    "write_report",
]


def write_report(
    layout: OutputLayout,
    manifest: Manifest,
    store: StateStore,
    *,
    wall_time: float | None = None,
    prices: PriceTable | None = None,
    results: Mapping[str, EntryResult] | None = None,
) -> Path:
    """Write `layout.report` (with the poster frames and contact-sheet.png it shows) and return
    its path. `wall_time` (seconds) overrides the time read from events.jsonl; `results`, the
    entries' results by id when already made (for results.jsonl), are not made again."""
    layout.folder.mkdir(parents=True, exist_ok=True)
    files, memo = EntryFiles(layout), ReportMemo(layout)
    pictures = make_pictures(layout, manifest, store, files=files, memo=memo)
    facts = gather(
        layout,
        manifest,
        store,
        prices=prices,
        wall_time=wall_time,
        pictures=pictures,
        files=files,
        memo=memo,
        results=results,
    )
    memo.save()
    del files, memo  # before the page is made, its largest part: the cards hold what they need
    page = render_report(facts)
    # Through a temporary name: a browser reloading mid-write sees the old page or the new one.
    temporary = layout.report.with_name(f".{layout.report.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, layout.report)
    return layout.report
