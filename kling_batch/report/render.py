"""report.html from ReportFacts: one self-contained page, safe to open from disk.

Every user string goes through `esc` (cards.py) before it reaches the page, and a
Content-Security-Policy allows only this page's own style and script (by hash) and pictures and
media beside it: even a missed escape could not run a script or reach the network. The CSS and
JS live in static/ beside this module and are inlined, so the page needs no CDN.

The cards of a group (the takes of an entry, the cells of a matrix) sit side by side in one
row under the group's name; filters narrow the page by state, model and group.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import Counter
from importlib import resources
from string import Template

from kling_batch.report.cards import (
    POSTER_FRAGMENT,
    card,
    duration,
    esc,
    model_name,
    money,
    status_label,
)
from kling_batch.report.facts import EntryOutcome, ReportFacts

__all__ = ["POSTER_FRAGMENT", "render_report"]

_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="$csp">
<meta name="generator" content="kling-batch">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header>
<h1>$title</h1>
<p class="meta">$meta</p>
$world
<section class="totals" aria-label="Totals">
$totals
</section>
$sheet
</header>
<nav class="toolbar" aria-label="Filters">
$filters
<input id="search" type="search" placeholder="Search by id or prompt"
 aria-label="Search by id or prompt" autocomplete="off">
<span class="shown"><span id="shown">$count</span> of $count shown</span>
</nav>
<main class="cards">
$cards
</main>
<p id="empty" class="empty" hidden>No entry matches these filters.</p>
<footer class="page">$footer</footer>
<script>$js</script>
</body>
</html>
"""
)


def render_report(facts: ReportFacts) -> str:
    css = _static("report.css")
    js = _static("report.js")
    counts = facts.status_counts
    title = f"{facts.name}: kling-batch report"
    generated = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(facts.generated_at))
    meta = f"Manifest {facts.manifest_path} · report written {generated}"
    footer = (
        f"Costs in {facts.currency} from the price table: {facts.price_source} "
        "Estimated cost: every entry at its manifest duration; actual: billed seconds only. "
        "Render time: from submission to the end of the render, by the service's clock."
    )
    notes = [facts.world_note] if facts.world_note else []
    if facts.picks_problem:
        notes.append(f"No pick is shown: {facts.picks_problem}")
    return _PAGE.substitute(
        csp=esc(_policy(css, js)),
        title=esc(title),
        meta=esc(meta),
        world="\n".join(f'<p class="world-note" role="note">{esc(note)}</p>' for note in notes),
        totals=_totals(facts, counts),
        sheet=_sheet(facts),
        filters=_filters(facts, counts),
        count=len(facts.entries),
        cards=_cards(facts),
        footer=esc(footer),
        css=css,
        js=js,
    )


def _policy(css: str, js: str) -> str:
    # 'self' covers pictures and videos when the report is served over http; file: when it is
    # opened from disk, where Chromium gives the page an opaque origin that 'self' does not match.
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src '{_sha256(css)}'",
            f"script-src '{_sha256(js)}'",
            "media-src 'self' file:",
            "img-src 'self' file: data:",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _static(name: str) -> str:
    return resources.files("kling_batch.report").joinpath("static", name).read_text("utf-8")


# -- header --------------------------------------------------------------------------------


def _totals(facts: ReportFacts, counts: dict[str, int]) -> str:
    by_status = ", ".join(f"{n} {status_label(status)}" for status, n in counts.items())
    timing = facts.timing
    runs = f"{timing.runs} run{'s' if timing.runs != 1 else ''}" if timing.runs else "not run yet"
    retries = f"{timing.retries} retries, {timing.throttled} throttled"
    groups = facts.groups
    picked = sum(1 for members in groups.values() if any(m.picked for m in members))
    tiles = (
        ("Entries", str(len(facts.entries)), by_status or "none"),
        ("Done", str(counts.get("done", 0)), f"of {len(facts.entries)}"),
        ("Billed", f"{facts.billed_seconds} s", "seconds of video billed"),
        ("Estimated cost", money(facts.estimated_cost, facts.currency), "whole manifest"),
        ("Actual cost", money(facts.actual_cost, facts.currency), "billed so far"),
        ("Wall time", duration(timing.wall_seconds), f"{runs}; {retries}"),
        ("Picked", f"{picked} of {len(groups)}", f"groups, in {facts.picks_file}"),
    )
    return "\n".join(
        f'<div class="total" data-total="{esc(label.lower())}">'
        f'<div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div>'
        f'<div class="note">{esc(note)}</div></div>'
        for label, value, note in tiles
    )


def _sheet(facts: ReportFacts) -> str:
    if facts.contact_sheet_href is not None:
        return (
            f'<p class="sheet"><a href="{esc(facts.contact_sheet_href)}">contact-sheet.png</a>: '
            "every poster frame in one picture, with its id, for a quick look or a chat message"
            "</p>"
        )
    if facts.contact_sheet_problem:
        return f'<p class="sheet">{esc(facts.contact_sheet_problem)}</p>'
    return ""


def _filters(facts: ReportFacts, counts: dict[str, int]) -> str:
    total = len(facts.entries)
    parts = [
        '<span class="filter" role="group" aria-label="State">'
        f'<button type="button" data-filter="all" aria-pressed="true">All ({total})</button>'
    ]
    parts.extend(
        f'<button type="button" data-filter="{esc(status)}" aria-pressed="false">'
        f"{esc(status_label(status))} ({n})</button>"
        for status, n in counts.items()
    )
    parts.append("</span>")
    models = Counter(model_name(outcome.entry.model) for outcome in facts.entries)
    if len(models) > 1:
        parts.append('<span class="filter" role="group" aria-label="Model">')
        parts.append(
            '<button type="button" data-model-filter="all" aria-pressed="true">any model</button>'
        )
        parts.extend(
            f'<button type="button" data-model-filter="{esc(name)}" aria-pressed="false">'
            f"{esc(name)} ({n})</button>"
            for name, n in sorted(models.items())
        )
        parts.append("</span>")
    several = [(group, len(m)) for group, m in facts.groups.items() if len(m) > 1]
    if several:
        options = "".join(
            f'<option value="{esc(group)}">{esc(group)} ({n})</option>' for group, n in several
        )
        parts.append(
            '<select id="group-filter" aria-label="Group">'
            f'<option value="all">every group</option>{options}</select>'
        )
    return "\n".join(parts)


# -- cards ---------------------------------------------------------------------------------


def _cards(facts: ReportFacts) -> str:
    simulated = facts.simulated is not False

    def one(outcome: EntryOutcome) -> str:
        return card(
            outcome,
            facts.currency,
            manifest=facts.manifest_path,
            output_root=facts.output_root,
            simulated=simulated,
        )

    parts: list[str] = []
    for group, members in facts.groups.items():
        if len(members) == 1:
            parts.append(one(members[0]))
            continue
        picked = next((m.entry.id for m in members if m.picked), None)
        noun = "takes" if any(m.take is not None for m in members) else "entries"
        pick = f"picked: {picked}" if picked else "no pick yet"
        parts.append(
            f'<section class="group" data-group="{esc(group)}" aria-label="Group {esc(group)}">\n'
            f'<header class="group-head"><h2>{esc(group)}</h2>'
            f'<span class="note">{len(members)} {noun} · {esc(pick)}</span></header>\n'
            f'<div class="takes">\n{"".join(one(m) for m in members)}\n</div>\n</section>'
        )
    return "\n".join(parts)
