"""One card of report.html per entry: its picture, prompt, parameters, outcome and files.

Every user string (ids, prompts, media URLs, error messages) goes through `esc` before it
reaches the page. A done card shows its poster frame on its player (`preload="none"`: a page of
a thousand cards loads no video until one is played); a card of a group shows its take, whether
it is the pick, and the command that picks it.
"""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import Path

from kling_batch.delivery.picks import clear_command, pick_command
from kling_batch.manifest.model import MODEL_ALIASES, Entry
from kling_batch.prices import API_DEFAULT_DURATION, API_DEFAULT_MODE
from kling_batch.report.facts import EntryOutcome
from kling_batch.report.next_step import next_step
from kling_batch.runner.results import PENDING

# Without a poster (its frame could not be made), the player shows the frame at 0.1 s, which
# the browser decodes from the clip itself; 0.1 s rather than 0 skips a black first frame.
POSTER_FRAGMENT = "#t=0.1"

_MODEL_NAMES = {full: alias for alias, full in MODEL_ALIASES.items()}
_STATUS_LABELS = {"in_flight": "in flight", PENDING: "pending"}
_ROLE_LABELS = {"first_frame": "first frame", "last_frame": "last frame"}


def model_name(model: str) -> str:
    """The model as the manifest names it (its alias), else in full."""
    return _MODEL_NAMES.get(model, model)


def card(
    outcome: EntryOutcome,
    currency: str,
    *,
    manifest: Path,
    output_root: Path | None = None,
    simulated: bool = False,
) -> str:
    entry = outcome.entry
    # On every card, so that a screenshot of one card cannot pass for a real render.
    badges = ['<span class="badge simulated">simulated</span>'] if simulated else []
    if outcome.picked:
        badges.append('<span class="badge picked">picked</span>')
    badges.append(
        f'<span class="badge status-{esc(outcome.result.status)}">'
        f"{esc(status_label(outcome.result.status))}</span>"
    )
    take = f'<span class="take">take {outcome.take}</span>' if outcome.take is not None else ""
    parts = [
        "<header>"
        f'<h2 class="id">{esc(entry.id)}<span class="kind">{esc(entry.kind)}</span>{take}</h2>'
        f"{''.join(badges)}</header>",
        _picture(outcome),
        _prompt(entry),
        _inputs(outcome),
        _parameters(outcome, currency),
        _problem(outcome),
        _pick(outcome, manifest, output_root),
        _ids(outcome),
        _artifacts(outcome),
    ]
    body = "\n".join(part for part in parts if part)
    return (
        f'<article class="card" id="entry-{esc(entry.id)}" data-entry="{esc(entry.id)}" '
        f'data-status="{esc(outcome.result.status)}" data-model="{esc(model_name(entry.model))}" '
        f'data-group="{esc(outcome.group_id)}" data-search="{esc(_search_text(entry))}">\n'
        f"{body}\n</article>"
    )


def _picture(outcome: EntryOutcome) -> str:
    # The player takes the render's shape (a CSS class: the page's policy forbids inline styles);
    # without an aspect ratio (from a first frame or a video) it stays 16:9.
    shape = {"9:16": "portrait", "1:1": "square"}.get(outcome.entry.aspect_ratio or "", "wide")
    failure = outcome.poster_problem
    if outcome.video_href is None or (failure is not None and not failure.video_ok):
        reason = {
            "done": "video file missing",
            "failed": "no video: the render failed",
            PENDING: "not rendered yet",
        }.get(outcome.result.status, f"no video yet ({status_label(outcome.result.status)})")
        if failure is not None:
            reason = f"no picture: {failure.reason}"
        return f'<div class="novideo {shape}">{esc(reason)}</div>'
    link = f'<a href="{esc(outcome.video_href)}">video.mp4</a>'
    if outcome.poster_href is not None:
        return (
            f'<video class="{shape}" controls preload="none" playsinline '
            f'poster="{esc(outcome.poster_href)}" src="{esc(outcome.video_href)}">{link}</video>'
        )
    # No poster of this video (ffmpeg could not read a frame, or none was made): the browser
    # draws its own, and the card says why there is no poster.
    note = ""
    if failure is not None:
        note = f'<p class="frame-note" role="note">no poster frame: {esc(failure.reason)}</p>'
    source = outcome.video_href + POSTER_FRAGMENT
    return (
        f'<video class="{shape}" controls preload="metadata" playsinline src="{esc(source)}">'
        f"{link}</video>{note}"
    )


def _prompt(entry: Entry) -> str:
    parts: list[str] = []
    if entry.multi_prompt:
        shots = "".join(
            f'<li><span class="shot">{esc(shot.prompt)}</span>'
            + (f' <span class="seconds">{shot.duration} s</span>' if shot.duration else "")
            + "</li>"
            for shot in entry.multi_prompt
        )
        parts.append(f'<ol class="shots">{shots}</ol>')
    if entry.prompt:
        parts.append(f'<p class="prompt">{esc(entry.prompt)}</p>')
    if entry.negative_prompt:
        parts.append(
            f'<p class="negative"><span class="label">negative:</span> '
            f"{esc(entry.negative_prompt)}</p>"
        )
    return "\n".join(parts)


def _inputs(outcome: EntryOutcome) -> str:
    """Thumbnails of the local images the entry sends, each named by its role and file."""
    if not outcome.inputs:
        return ""
    figures = []
    for image in outcome.inputs:
        caption = f"{_ROLE_LABELS.get(image.role, image.role)}: {image.name}"
        if image.href is not None:
            picture = f'<img src="{esc(image.href)}" alt="{esc(caption)}" loading="lazy">'
        else:
            picture = f'<span class="nothumb">{esc(image.problem or "no thumbnail")}</span>'
        figures.append(f"<figure>{picture}<figcaption>{esc(caption)}</figcaption></figure>")
    return f'<div class="inputs">{"".join(figures)}</div>'


def _parameters(outcome: EntryOutcome, currency: str) -> str:
    entry = outcome.entry
    # The rows an entry's settings make are alike on most cards of a large batch: made once
    # per distinct settings (media aside, which name files of their own).
    key = None
    if not entry.media:
        key = (
            entry.model,
            entry.mode,
            entry.aspect_ratio,
            entry.duration,
            entry.audio,
            entry.watermark,
            entry.shot_type,
            entry.element_ids,
        )
        settings = _SETTINGS.get(key)
        if settings is not None:
            return _parameter_list(settings, outcome, currency)
    settings = _settings(outcome)
    if key is not None and len(_SETTINGS) < _ESCAPED_KEPT:
        _SETTINGS[key] = settings
    return _parameter_list(settings, outcome, currency)


def _settings(outcome: EntryOutcome) -> str:
    """The `dl` cells of the entry's settings: model to media and elements."""
    entry = outcome.entry
    rows: list[tuple[str, str]] = [
        ("model", model_name(entry.model)),
        ("mode", entry.mode or f"{API_DEFAULT_MODE} (default)"),
        ("aspect ratio", entry.aspect_ratio or "from media / default"),
        ("duration", f"{entry.duration or API_DEFAULT_DURATION} s"),
        ("audio", _yes_no(entry.audio)),
        ("watermark", _yes_no(entry.watermark)),
    ]
    if entry.shot_type:
        rows.append(("shot type", entry.shot_type))
    shown = {image.name for image in outcome.inputs}
    for media in entry.media:
        if media.path is not None and media.path.name in shown and not media.type.is_video:
            continue  # a thumbnail above names it
        source = media.url or (media.path.name if media.path else "")
        sound = " (keep original sound)" if media.keep_original_sound else ""
        rows.append((f"media: {media.type}", f"{source}{sound}"))
    if entry.element_ids:
        rows.append(("elements", ", ".join(str(i) for i in entry.element_ids)))
    return _cells(rows)


def _parameter_list(settings: str, outcome: EntryOutcome, currency: str) -> str:
    result = outcome.result
    estimate = f"{result.estimate.seconds} s, {money(result.estimate.amount, currency)}"
    rows = [("estimate", estimate)]
    if result.billed_seconds is not None:
        billed = f"{result.billed_seconds} s"
        if result.cost is not None:
            billed += f", {money(result.cost, currency)}"
        rows.append(("billed", billed))
    if outcome.render_seconds is not None:
        rows.append(("render time", duration(outcome.render_seconds)))
    return f'<dl class="params">{settings}{_cells(rows)}</dl>'


def _cells(rows: list[tuple[str, str]]) -> str:
    return "".join(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in rows)


# The settings' cells by what they show (see _parameters), for the cards of one process.
_SETTINGS: dict[tuple[object, ...], str] = {}


def _problem(outcome: EntryOutcome) -> str:
    result = outcome.result
    parts = []
    if result.error_code or result.error_message:
        code = f'<span class="code">{esc(result.error_code)}</span>' if result.error_code else ""
        message = f" {esc(result.error_message)}" if result.error_message else ""
        parts.append(f'<div class="error" role="status">{code}{message}</div>')
    step = next_step(result)
    if step is not None:
        parts.append(f'<p class="next-step"><span class="label">next:</span> {esc(step)}</p>')
    return "\n".join(parts)


def _pick(outcome: EntryOutcome, manifest: Path, output_root: Path | None) -> str:
    if outcome.video_href is None or outcome.result.status != "done":
        return ""  # only a done take can be picked
    if outcome.picked:
        command = clear_command(manifest, outcome.group_id)
        label = "the pick of its group; to undo:"
    else:
        command = pick_command(manifest, outcome.entry.id, output_root)
        label = "pick it:"
    return (
        f'<p class="pick"><span class="label">{esc(label)}</span> <code>{esc(command)}</code></p>'
    )


def _ids(outcome: EntryOutcome) -> str:
    lines = []
    if outcome.result.task_id:
        lines.append(f"task {esc(outcome.result.task_id)}")
    if outcome.result.request_id:
        lines.append(f"request {esc(outcome.result.request_id)}")
    return f'<div class="ids">{"<br>".join(lines)}</div>' if lines else ""


def _artifacts(outcome: EntryOutcome) -> str:
    if not outcome.artifacts:
        return ""
    links = "".join(
        f'<a href="{esc(a.href)}" title="{esc(_size(a.size))}">{esc(a.name)}</a>'
        for a in outcome.artifacts
    )
    return f'<div class="artifacts">{links}</div>'


def _search_text(entry: Entry) -> str:
    texts = [entry.id, entry.prompt or "", entry.negative_prompt or ""]
    texts.extend(shot.prompt for shot in entry.multi_prompt)
    # Lower-cased here and in the page's script with the same rule (str.lower / toLowerCase).
    return " ".join(text for text in texts if text).lower()


# -- formatting ----------------------------------------------------------------------------


def esc(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    escaped = _ESCAPED.get(text)
    if escaped is None:
        escaped = html.escape(text, quote=True)
        if len(_ESCAPED) < _ESCAPED_KEPT:
            _ESCAPED[text] = escaped
    return escaped


# Each distinct string escaped once: a card is some 40 strings, most of them (labels, values,
# states) alike on every card. The first strings seen are kept, and they are the common ones.
_ESCAPED: dict[str, str] = {}
_ESCAPED_KEPT = 4096


def status_label(status: str) -> str:
    return _STATUS_LABELS.get(status, status)


def money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"


def _yes_no(value: bool | None) -> str:
    return "yes" if value else "no"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
