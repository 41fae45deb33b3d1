"""docs/manifest.md documents every code the checker can report, and its examples are valid."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from kling_batch.manifest import analyze
from kling_batch.manifest.loader import parse
from kling_batch.manifest.nodes import to_python

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8")
CODE = re.compile(r"KB\d{3}")


def test_every_code_is_documented_and_every_documented_code_exists() -> None:
    source = "".join(p.read_text() for p in (ROOT / "kling_batch" / "manifest").rglob("*.py"))
    in_source = set(CODE.findall(source))
    documented = set(re.findall(r"^\| (KB\d{3})", DOC, flags=re.MULTILINE))
    assert in_source == documented


def test_the_first_example_validates(tmp_path: Path) -> None:
    example = DOC.split("```yaml\n", 1)[1].split("```", 1)[0]
    shutil.copytree(ROOT / "manifests" / "assets", tmp_path / "assets")
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    assert analyze(tmp_path / "example.yaml").diagnostics == ()


def test_the_campaign_scale_example_is_manifests_launch() -> None:
    section = DOC.split("## Campaign scale", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    written = parse(example).root
    shipped = parse((ROOT / "manifests" / "launch.yaml").read_text(encoding="utf-8")).root
    assert written is not None and shipped is not None
    assert to_python(written) == to_python(shipped)
