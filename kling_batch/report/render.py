"""report.html from ReportFacts: one self-contained page, safe to open from disk.

Every user string (ids, prompts, media URLs, error messages) goes through `_esc` before it
reaches the page, and a Content-Security-Policy allows only this page's own style and script
(by hash) and media beside it: even a missed escape could not run a script or reach the network.
The CSS and JS live in static/ beside this module and are inlined, so the page needs no CDN.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
from decimal import Decimal
from importlib import resources
from string import Template

from kling_batch.manifest.model import MODEL_ALIASES, Entry
from kling_batch.prices import API_DEFAULT_DURATION, API_DEFAULT_MODE
from kling_batch.report.facts import EntryOutcome, ReportFacts
from kling_batch.runner.results import PENDING

# The player shows the frame at 0.1 s as its poster: the browser decodes it from the clip
# itself (preload="metadata" fetches just enough), so no poster image is made and the runtime
# needs no video decoder. 0.1 s rather than 0 skips a black first frame some encoders write.
POSTER_FRAGMENT = "#t=0.1"

_MODEL_NAMES = {full: alias for alias, full in MODEL_ALIASES.items()}
_STATUS_LABELS = {"in_flight": "in flight", PENDING: "pending"}

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
        "Estimated cost: every entry at its manifest duration; actual: billed seconds only."
    )
    return _PAGE.substitute(
        csp=_esc(_policy(css, js)),
        title=_esc(title),
        meta=_esc(meta),
        world=(
            f'<p class="world-note" role="note">{_esc(facts.world_note)}</p>'
            if facts.world_note
            else ""
        ),
        totals=_totals(facts, counts),
        filters=_filters(len(facts.entries), counts),
        count=len(facts.entries),
        cards="\n".join(
            _card(outcome, facts.currency, simulated=facts.simulated is not False)
            for outcome in facts.entries
        ),
        footer=_esc(footer),
        css=css,
        js=js,
    )


def _policy(css: str, js: str) -> str:
    # 'self' covers the videos when the report is served over http; file: when it is opened
    # from disk, where Chromium gives the page an opaque origin that 'self' does not match.
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src '{_sha256(css)}'",
            f"script-src '{_sha256(js)}'",
            "media-src 'self' file:",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _static(name: str) -> str:
    return resources.files("kling_batch.report").joinpath("static", name).read_text("utf-8")


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


# -- header --------------------------------------------------------------------------------


def _totals(facts: ReportFacts, counts: dict[str, int]) -> str:
    by_status = ", ".join(f"{n} {_status_label(status)}" for status, n in counts.items())
    timing = facts.timing
    runs = f"{timing.runs} run{'s' if timing.runs != 1 else ''}" if timing.runs else "not run yet"
    retries = f"{timing.retries} retries, {timing.throttled} throttled"
    tiles = (
        ("Entries", str(len(facts.entries)), by_status or "none"),
        ("Done", str(counts.get("done", 0)), f"of {len(facts.entries)}"),
        ("Billed", f"{facts.billed_seconds} s", "seconds of video billed"),
        ("Estimated cost", _money(facts.estimated_cost, facts.currency), "whole manifest"),
        ("Actual cost", _money(facts.actual_cost, facts.currency), "billed so far"),
        ("Wall time", _duration(timing.wall_seconds), f"{runs}; {retries}"),
    )
    return "\n".join(
        f'<div class="total" data-total="{_esc(label.lower())}">'
        f'<div class="label">{_esc(label)}</div>'
        f'<div class="value">{_esc(value)}</div>'
        f'<div class="note">{_esc(note)}</div></div>'
        for label, value, note in tiles
    )


def _filters(total: int, counts: dict[str, int]) -> str:
    buttons = [
        f'<button type="button" data-filter="all" aria-pressed="true">All ({total})</button>'
    ]
    buttons.extend(
        f'<button type="button" data-filter="{_esc(status)}" aria-pressed="false">'
        f"{_esc(_status_label(status))} ({n})</button>"
        for status, n in counts.items()
    )
    return "\n".join(buttons)


# -- cards ---------------------------------------------------------------------------------


def _card(outcome: EntryOutcome, currency: str, *, simulated: bool = False) -> str:
    entry = outcome.entry
    # On every card, so that a screenshot of one card cannot pass for a real render.
    badge = '<span class="badge simulated">simulated</span>' if simulated else ""
    parts = [
        "<header>"
        f'<h2 class="id">{_esc(entry.id)}<span class="kind">{_esc(entry.kind)}</span></h2>'
        f'{badge}<span class="badge status-{_esc(outcome.result.status)}">'
        f"{_esc(_status_label(outcome.result.status))}</span></header>",
        _player(outcome),
        _prompt(entry),
        _parameters(outcome, currency),
        _problem(outcome),
        _ids(outcome),
        _artifacts(outcome),
    ]
    body = "\n".join(part for part in parts if part)
    return (
        f'<article class="card" id="entry-{_esc(entry.id)}" data-entry="{_esc(entry.id)}" '
        f'data-status="{_esc(outcome.result.status)}" data-search="{_esc(_search_text(entry))}">\n'
        f"{body}\n</article>"
    )


def _player(outcome: EntryOutcome) -> str:
    if outcome.video_href is None:
        reason = {
            "done": "video file missing",
            "failed": "no video: the render failed",
            PENDING: "not rendered yet",
        }.get(outcome.result.status, f"no video yet ({_status_label(outcome.result.status)})")
        return f'<div class="novideo">{_esc(reason)}</div>'
    source = outcome.video_href + POSTER_FRAGMENT
    # The player takes the render's shape (a CSS class: the page's policy forbids inline styles);
    # without an aspect ratio (from a first frame or a video) it stays 16:9.
    shape = {"9:16": "portrait", "1:1": "square"}.get(outcome.entry.aspect_ratio or "", "wide")
    return (
        f'<video class="{shape}" controls preload="metadata" playsinline src="{_esc(source)}">'
        f'<a href="{_esc(outcome.video_href)}">video.mp4</a></video>'
    )


def _prompt(entry: Entry) -> str:
    parts: list[str] = []
    if entry.multi_prompt:
        shots = "".join(
            f'<li><span class="shot">{_esc(shot.prompt)}</span>'
            + (f' <span class="seconds">{shot.duration} s</span>' if shot.duration else "")
            + "</li>"
            for shot in entry.multi_prompt
        )
        parts.append(f'<ol class="shots">{shots}</ol>')
    if entry.prompt:
        parts.append(f'<p class="prompt">{_esc(entry.prompt)}</p>')
    if entry.negative_prompt:
        parts.append(
            f'<p class="negative"><span class="label">negative:</span> '
            f"{_esc(entry.negative_prompt)}</p>"
        )
    return "\n".join(parts)


def _parameters(outcome: EntryOutcome, currency: str) -> str:
    entry = outcome.entry
    rows: list[tuple[str, str]] = [
        ("model", _MODEL_NAMES.get(entry.model, entry.model)),
        ("mode", entry.mode or f"{API_DEFAULT_MODE} (default)"),
        ("aspect ratio", entry.aspect_ratio or "from media / default"),
        ("duration", f"{entry.duration or API_DEFAULT_DURATION} s"),
        ("audio", _yes_no(entry.audio)),
        ("watermark", _yes_no(entry.watermark)),
    ]
    if entry.shot_type:
        rows.append(("shot type", entry.shot_type))
    for media in entry.media:
        source = media.url or (media.path.name if media.path else "")
        sound = " (keep original sound)" if media.keep_original_sound else ""
        rows.append((f"media: {media.type}", f"{source}{sound}"))
    if entry.element_ids:
        rows.append(("elements", ", ".join(str(i) for i in entry.element_ids)))
    result = outcome.result
    estimate = f"{result.estimate.seconds} s, {_money(result.estimate.amount, currency)}"
    rows.append(("estimate", estimate))
    if result.billed_seconds is not None:
        billed = f"{result.billed_seconds} s"
        if result.cost is not None:
            billed += f", {_money(result.cost, currency)}"
        rows.append(("billed", billed))
    cells = "".join(f"<dt>{_esc(name)}</dt><dd>{_esc(value)}</dd>" for name, value in rows)
    return f'<dl class="params">{cells}</dl>'


def _problem(outcome: EntryOutcome) -> str:
    result = outcome.result
    if not result.error_code and not result.error_message:
        return ""
    code = f'<span class="code">{_esc(result.error_code)}</span>' if result.error_code else ""
    message = f" {_esc(result.error_message)}" if result.error_message else ""
    return f'<div class="error" role="status">{code}{message}</div>'


def _ids(outcome: EntryOutcome) -> str:
    lines = []
    if outcome.result.task_id:
        lines.append(f"task {_esc(outcome.result.task_id)}")
    if outcome.result.request_id:
        lines.append(f"request {_esc(outcome.result.request_id)}")
    return f'<div class="ids">{"<br>".join(lines)}</div>' if lines else ""


def _artifacts(outcome: EntryOutcome) -> str:
    if not outcome.artifacts:
        return ""
    links = "".join(
        f'<a href="{_esc(a.href)}" title="{_esc(_size(a.size))}">{_esc(a.name)}</a>'
        for a in outcome.artifacts
    )
    return f'<div class="artifacts">{links}</div>'


def _search_text(entry: Entry) -> str:
    texts = [entry.id, entry.prompt or "", entry.negative_prompt or ""]
    texts.extend(shot.prompt for shot in entry.multi_prompt)
    # Lower-cased here and in the page's script with the same rule (str.lower / toLowerCase).
    return " ".join(text for text in texts if text).lower()


# -- formatting ----------------------------------------------------------------------------


def _status_label(status: str) -> str:
    return _STATUS_LABELS.get(status, status)


def _yes_no(value: bool | None) -> str:
    return "yes" if value else "no"


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
