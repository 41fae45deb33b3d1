"""The example manifests of manifests/: valid, clean, one per capability, with real assets."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from kling_batch.manifest import OMNI_MODEL, EntryKind, MediaType, analyze, load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests"
MODELINE = "# yaml-language-server: $schema=../schemas/manifest.schema.json"
CAPABILITIES = [
    "text-to-video",
    "first-frame",
    "first-last-frame",
    "storyboard-customize",
    "storyboard-intelligence",
    "omni-reference",
    "omni-edit",
]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_is_valid_without_a_warning(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == MODELINE
    assert analyze(path).diagnostics == ()


def test_one_example_per_capability() -> None:
    names = {path.stem for path in EXAMPLES.glob("*.yaml")}
    assert names == {*CAPABILITIES, "campaign", "launch"}


def test_the_campaign_mixes_every_capability_in_short_renders() -> None:
    manifest = load(EXAMPLES / "campaign.yaml")
    entries = manifest.entries
    assert 8 <= len(entries) <= 10
    assert all(entry.duration is not None and 3 <= entry.duration <= 5 for entry in entries)
    types = [tuple(m.type for m in entry.media) for entry in entries]
    assert () in types
    assert (MediaType.FIRST_FRAME,) in types
    assert (MediaType.FIRST_FRAME, MediaType.LAST_FRAME) in types
    assert any(MediaType.REFER in t for t in types)
    assert any(MediaType.BASE in t for t in types)
    assert {e.shot_type for e in entries if e.kind is EntryKind.STORYBOARD} == {
        "customize",
        "intelligence",
    }
    assert any(m.path is not None for entry in entries for m in entry.media)
    for entry in entries:
        if entry.model == OMNI_MODEL:
            for media in entry.media:
                assert media.url is not None
                assert urlsplit(media.url)[:2] == ("https", "example.com")


@pytest.mark.parametrize("path", sorted((EXAMPLES / "assets").iterdir()), ids=lambda p: p.name)
def test_assets_are_small_real_images(path: Path) -> None:
    assert path.stat().st_size < 16 * 1024
    with Image.open(path) as image:
        assert image.format in ("JPEG", "PNG")
        assert (image.mode, image.size) == ("RGB", (640, 360))


def test_the_asset_script_makes_the_same_set(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_example_assets", ROOT / "scripts" / "make_example_assets.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    made = script.make(tmp_path)
    assert sorted(p.name for p in made) == sorted(p.name for p in (EXAMPLES / "assets").iterdir())
    for path in made:
        with Image.open(path) as image, Image.open(EXAMPLES / "assets" / path.name) as committed:
            assert (image.format, image.mode, image.size) == (
                committed.format,
                committed.mode,
                committed.size,
            )
