"""The manifest JSON Schema: one file, found wherever this package runs from.

The schema's only home in git is `schemas/manifest.schema.json`, next to the manifests whose
editors point at it. A wheel carries that same file as `kling_batch/manifest/manifest.schema.json`
(pyproject's force-include); a source checkout or editable install reads it from the repo.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PACKAGED_SCHEMA = Path(__file__).with_name("manifest.schema.json")
REPO_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "manifest.schema.json"


class SchemaMissing(Exception):
    """Neither the packaged schema nor the repository's copy could be found."""


def schema_path() -> Path:
    for candidate in (PACKAGED_SCHEMA, REPO_SCHEMA):
        if candidate.is_file():
            return candidate
    raise SchemaMissing(f"manifest schema not found at {PACKAGED_SCHEMA} or {REPO_SCHEMA}")


@cache
def schema_text() -> str:
    """The schema exactly as shipped, for `kling-batch schema`."""
    return schema_path().read_text(encoding="utf-8")


@cache
def schema() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(schema_text())
    return value
