"""Manifests: YAML text -> checked, typed entries -> request bodies.

- `check(paths)`: every problem of every file, in order (the `validate` command);
- `load(path)`: the Manifest, or ManifestInvalid with every problem;
- `analyze(path)`: both at once: the Manifest (None if invalid) and all diagnostics;
- `expanded_yaml(analysis)`: a valid manifest with its vars, matrices, rows and takes written
  out (the `expand` command);
- `request_body(entry)`: the JSON body `run` POSTs for an entry;
- `fingerprint(entry)`: what identifies that render; it changes exactly when the body would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kling_batch.manifest.checker import Analysis, analyze
from kling_batch.manifest.diagnostics import (
    Diagnostic,
    ManifestInvalid,
    Severity,
    render_json,
    render_text,
)
from kling_batch.manifest.expanded_yaml import expanded_yaml
from kling_batch.manifest.media_files import MediaInspector
from kling_batch.manifest.model import (
    MODEL_ALIASES,
    OMNI_MODEL,
    STANDARD_MODEL,
    Entry,
    EntryKind,
    Manifest,
    Media,
    MediaType,
    Mode,
    Move,
    Origin,
    Position,
    ShotType,
    StoryboardShot,
)
from kling_batch.manifest.requests import fingerprint, request_body
from kling_batch.manifest.schema import schema_text

__all__ = [
    "MODEL_ALIASES",
    "OMNI_MODEL",
    "STANDARD_MODEL",
    "Analysis",
    "Diagnostic",
    "Entry",
    "EntryKind",
    "Manifest",
    "ManifestInvalid",
    "Media",
    "MediaInspector",
    "MediaType",
    "Mode",
    "Move",
    "Origin",
    "Position",
    "Severity",
    "ShotType",
    "StoryboardShot",
    "analyze",
    "check",
    "expanded_yaml",
    "fingerprint",
    "load",
    "render_json",
    "render_text",
    "request_body",
    "schema_text",
]


def check(paths: Sequence[Path]) -> list[Diagnostic]:
    """Every problem (errors and warnings) of every file: files in the order given, each sorted
    by position."""
    files = MediaInspector()  # shared: manifests of one campaign often use the same files
    return [d for path in paths for d in analyze(path, files).diagnostics]


def load(path: Path) -> Manifest:
    """The manifest at `path`, ready to run; raises ManifestInvalid if it has any error."""
    analysis = analyze(path)
    if analysis.manifest is None:
        raise ManifestInvalid(analysis.diagnostics)
    return analysis.manifest
