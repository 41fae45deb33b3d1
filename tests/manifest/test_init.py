"""The public surface: check() over several files, load() and ManifestInvalid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kling_batch.manifest import ManifestInvalid, Severity, check, load

WriteManifest = Callable[..., Path]

BROKEN = "version: 1\nshots:\n  - id: a\n    prompt: x\n"  # no aspect_ratio: KB208
LONG = "x" * 2501  # KB224: the service keeps the first 2500 characters, a warning
WARNED = f"version: 1\nshots:\n  - id: a\n    prompt: {LONG}\n    aspect_ratio: '1:1'\n"


def test_check_reports_every_file_in_the_order_given(
    write_manifest: WriteManifest, tmp_path: Path
) -> None:
    second = write_manifest(BROKEN, "b.yaml")
    first = write_manifest(WARNED, "a.yaml")
    found = check([second, first, tmp_path / "c.yaml"])
    assert [(d.position.file, d.code) for d in found] == [
        (second, "KB208"),
        (first, "KB224"),
        (tmp_path / "c.yaml", "KB001"),
    ]
    assert [d.severity for d in found] == [Severity.ERROR, Severity.WARNING, Severity.ERROR]


def test_load_raises_with_every_diagnostic(write_manifest: WriteManifest) -> None:
    path = write_manifest(BROKEN)
    with pytest.raises(ManifestInvalid) as raised:
        load(path)
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.code == "KB208"
    assert str(raised.value) == str(diagnostic)
    assert str(diagnostic).startswith(f"{path}:3:9: error: a: aspect_ratio: ")


def test_load_accepts_warnings(write_manifest: WriteManifest) -> None:
    manifest = load(write_manifest(WARNED))
    assert manifest.entries[0].prompt == LONG  # sent as written: the service does the cutting
