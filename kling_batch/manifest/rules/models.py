"""Rules about the entry's model, read from the models table: is it known, and does it take
this kind of render, these elements, this mode and this audio."""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest.model import EntryKind, MediaType
from kling_batch.manifest.normalize import Located
from kling_batch.manifest.rules.core import Finding, Subject, WholeManifest
from kling_batch.manifest.shape_messages import did_you_mean, listed
from kling_batch.models import MODELS_ENV, ModelSpec, ModelTable


def models_table_readable(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """The models file named by $KLING_BATCH_MODELS can be read and describes its models well."""
    problem = m.table.problem
    if problem is not None:
        yield (
            None,
            Finding((), f"{problem}; the shipped models table was used instead (${MODELS_ENV})"),
        )


def model_known(s: Subject) -> Iterator[Finding]:
    """The model is one the models table knows, by its alias or its full name."""
    if s.model is not None:
        return
    table = s.table
    names = [name for spec in table.models for name in (spec.alias, spec.name) if name]
    guess = did_you_mean(s.entry.model, names)
    known = listed([spec.label for spec in table.models])
    hint = f"did you mean {guess}? " if guess else ""
    yield Finding(
        ("model",),
        f"{s.entry.model} is not a model of the models table; {hint}it knows {known} (or their "
        f"full names); describe another in a file named by ${MODELS_ENV}",
    )


def render_kind_taken(s: Subject) -> Iterator[Finding]:
    """The model renders this kind of entry: storyboards, or text-to-video without media."""
    model = s.model
    if model is None:
        return
    if s.entry.kind is EntryKind.STORYBOARD:
        needed, what = "storyboard", "storyboards"
    elif not s.entry.media:
        needed, what = "text-to-video", "text-to-video (a shot without media)"
    else:
        return
    if needed not in model.takes:
        yield Finding(
            ("model",),
            f"the {model.label} model does not render {what}: {use_a_model(s.table, needed)}",
        )


def element_list_taken(s: Subject) -> Iterator[Finding]:
    """The model takes element_list."""
    model = s.model
    if model is not None and s.entry.element_ids and "element_list" not in model.takes:
        yield Finding(
            ("element_list",),
            f"the {model.label} model does not take element_list: "
            f"{use_a_model(s.table, 'element_list')}, or remove it",
        )


def mode_offered(s: Subject) -> Iterator[Finding]:
    """The mode is one the model offers."""
    model = s.model
    mode = s.entry.mode
    if model is not None and mode is not None and mode not in model.modes:
        yield Finding(
            ("mode",),
            f"the {model.label} model renders in {listed(list(model.modes), 'or')}, not {mode}",
        )


def audio_always_on(s: Subject) -> Iterator[Finding]:
    """audio: false on a model that always renders sound: the video has sound, billed as such."""
    model = s.model
    if model is not None and model.audio_always and s.entry.audio is False:
        silent = [f"`model: {spec.label}`" for spec in s.table.models if not spec.audio_always]
        other = f", or use {listed(silent, 'or')} for a silent video" if silent else ""
        yield Finding(
            ("audio",),
            f"the {model.label} model always renders sound, and is billed with it: audio: false "
            f"is sent but not honoured; remove it{other}",
        )


def use_a_model(table: ModelTable, needed: str) -> str:
    """Advice to switch models: "add `model: omni`", or why there is none to switch to."""
    takers = [f"`model: {spec.label}`" for spec in table.taking(needed)]
    if not takers:
        return f"no model in the models table takes {needed}"
    return f"use {listed(takers, 'or')}"


def needs_a_model(table: ModelTable, needed: str) -> str:
    """What takes `needed`, as advice: "needs the omni model: add `model: omni`"."""
    takers = [spec.label for spec in table.taking(needed)]
    if not takers:
        return "is taken by no model of the models table"
    lines = listed([f"`model: {label}`" for label in takers], "or")
    return f"needs the {listed(takers, 'or')} model: add {lines}"


def takes_media(model: ModelSpec) -> str:
    """What the model takes, for advice: "the standard model takes first_frame only"."""
    types = [str(t) for t in MediaType if t in model.takes]
    return f"the {model.label} model takes {listed(types) + ' only' if types else 'no media'}"
