"""Fixtures for the manifest tests: small manifests written inline, checked for real."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from kling_batch.manifest import Diagnostic, MediaInspector, analyze
from kling_batch.manifest.media_files import Prober

WriteManifest = Callable[..., Path]
Diagnose = Callable[..., list[Diagnostic]]
Spot = Callable[..., tuple[int, int]]


@pytest.fixture
def write_manifest(tmp_path: Path) -> WriteManifest:
    """Write dedented YAML to tmp_path/<name> and return its path."""

    def write(text: str, name: str = "m.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def diagnose(write_manifest: WriteManifest) -> Diagnose:
    """Every diagnostic of an inline manifest; videos are not measured unless given a prober."""

    def run(text: str, name: str = "m.yaml", prober: Prober | None = None) -> list[Diagnostic]:
        path = write_manifest(text, name)
        return list(analyze(path, MediaInspector(prober=prober)).diagnostics)

    return run


@pytest.fixture
def spot() -> Spot:
    """(line, column), 1-based, of `part` within the first line of `text` containing `line`."""

    def find(text: str, line: str, part: str | None = None) -> tuple[int, int]:
        lines = textwrap.dedent(text).lstrip("\n").splitlines()
        for number, content in enumerate(lines, start=1):
            if line in content:
                start = content.index(line)
                column = start + (line.index(part) if part is not None else 0)
                return number, column + 1
        raise AssertionError(f"{line!r} is not in the manifest")

    return find
