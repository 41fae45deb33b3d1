"""What `validate` reports: located problems with a stable code, as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kling_batch.manifest.model import Position


class Severity(StrEnum):
    ERROR = "error"  # the manifest cannot run
    WARNING = "warning"  # it runs, but probably not as the author meant


@dataclass(frozen=True)
class Diagnostic:
    """One problem. `position.line == 0` means the file as a whole (it could not be read).

    `entry` is the entry's id (or `shots[3]` while it has none); `field` the dotted path of the
    offending field inside the entry, or inside the manifest when `entry` is None.
    """

    position: Position
    severity: Severity
    code: str
    message: str
    entry: str | None = None
    field: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[int, int, str]:
        return (self.position.line, self.position.column, self.code)

    def __str__(self) -> str:
        where = str(self.position) if self.position.line else str(self.position.file)
        parts = [where, f" {self.severity.value}"]
        parts.extend(f" {part}" for part in (self.entry, self.field) if part)
        parts.append(f" {self.message} [{self.code}]")
        return ":".join(parts)

    def to_json(self) -> dict[str, Any]:
        line = self.position.line or None
        return {
            "file": str(self.position.file),
            "line": line,
            "column": self.position.column if line else None,
            "severity": self.severity.value,
            "code": self.code,
            "entry": self.entry,
            "field": self.field,
            "message": self.message,
        }


class ManifestInvalid(Exception):
    """The manifest has at least one error; `diagnostics` holds every problem found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0] if errors else None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first}{more}" if first else "invalid manifest")


def render_text(diagnostics: Iterable[Diagnostic]) -> str:
    return "".join(f"{diagnostic}\n" for diagnostic in diagnostics)


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], ensure_ascii=False, indent=2) + "\n"


def count(diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for diagnostic in diagnostics:
        if diagnostic.is_error:
            errors += 1
        else:
            warnings += 1
    return errors, warnings
