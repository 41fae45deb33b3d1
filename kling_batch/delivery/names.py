"""File names of delivered videos, from a `--name` template such as `{group}-{take}.mp4`."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

from kling_batch.delivery.groups import group_of, take_of
from kling_batch.delivery.sheet import CSV_FILE, JSON_FILE, Rendered
from kling_batch.manifest.model import MODEL_ALIASES, Entry
from kling_batch.prices import API_DEFAULT_MODE

DEFAULT_NAME = "{id}.mp4"
NAME_FIELDS = ("id", "group", "take", "model", "mode", "aspect_ratio", "duration")
_SHORT_MODELS = {full: short for short, full in MODEL_ALIASES.items()}
# Whatever a file system or a zip tool would read as a path, a device or a hidden file.
_NOT_IN_NAMES = frozenset('/\\\0:*?"<>|')


class NameRefused(ValueError):
    """A template that names no valid, distinct files; nothing was copied."""


def check_template(template: str) -> None:
    """NameRefused unless `template` uses only NAME_FIELDS, each by name."""
    fields = ", ".join(f"{{{name}}}" for name in NAME_FIELDS)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as problem:
        raise NameRefused(
            f"--name {template!r}: {problem} (write a literal brace as {{{{)"
        ) from None
    for _, field, _, conversion in parts:
        if field is not None and field not in NAME_FIELDS:
            shown = f"{{{field}}}" if field else "{} (a field without a name)"
            raise NameRefused(
                f"--name {template!r}: unknown field {shown}; the fields are {fields}"
            )
        if conversion is not None:
            raise NameRefused(f"--name {template!r}: write {{{field}}}, without !{conversion}")


def name_fields(entry: Entry, shape: Rendered) -> dict[str, object]:
    """The values a template may use. Each is safe in a file name: the model by its short name
    (`standard`, `omni`), the aspect ratio with `x` (`16x9`); `take` is empty for an entry
    without takes."""
    take = take_of(entry)
    return {
        "id": entry.id,
        "group": group_of(entry),
        "take": "" if take is None else take,
        "model": _SHORT_MODELS.get(entry.model, entry.model.rsplit("/", 1)[-1]),
        "mode": str(entry.mode or API_DEFAULT_MODE),
        "aspect_ratio": (shape.aspect_ratio or "auto").replace(":", "x"),
        "duration": shape.duration,
    }


def file_name(template: str, entry: Entry, values: Mapping[str, object]) -> str:
    """The name `template` gives `entry`; NameRefused if it is no plain file name."""
    try:
        name = template.format_map(values)
    except (ValueError, TypeError) as problem:  # a format spec the value does not take
        raise NameRefused(f"--name {template!r} cannot name `{entry.id}`: {problem}") from None
    bad = sorted(set(name) & _NOT_IN_NAMES)
    if not name or name in (".", "..") or name.startswith(".") or bad:
        why = f"it holds {' '.join(bad)}" if bad else "a name may not be empty or start with ."
        raise NameRefused(f"--name {template!r} gives `{entry.id}` the name {name!r}; {why}")
    if len(name.encode()) > 255:
        raise NameRefused(f"--name {template!r} gives `{entry.id}` a name over 255 bytes")
    return name


def refuse_collisions(names: Iterable[tuple[str, str]], template: str) -> None:
    """NameRefused when two entries get one name (case-insensitively, as on macOS and
    Windows), or a video would take the name of a delivery sheet."""
    owners: dict[str, list[tuple[str, str]]] = {}
    for entry_id, name in names:
        owners.setdefault(name.casefold(), []).append((entry_id, name))
    for key, entries in owners.items():
        if key in (CSV_FILE, JSON_FILE):
            raise NameRefused(
                f"--name {template!r} names `{entries[0][0]}` {entries[0][1]}, "
                "which is the delivery sheet's name"
            )
        if len(entries) > 1:
            shown = ", ".join(f"{entry_id} ({name})" for entry_id, name in entries)
            raise NameRefused(
                f"--name {template!r} gives several videos one file name: {shown}; "
                "add a field that tells them apart, such as {id} or {take}"
            )
