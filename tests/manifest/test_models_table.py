"""The models table: what ships, how $KLING_BATCH_MODELS extends it, and what the manifest
checker makes of it (aliases, capabilities, a broken file)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kling_batch.manifest import Diagnostic, load
from kling_batch.manifest.model import OMNI_MODEL, STANDARD_MODEL, TURBO_MODEL
from kling_batch.manifest.schema import schema
from kling_batch.models import MODELS_ENV, ModelTable, ModelTableError, current

Diagnose = Callable[..., list[Diagnostic]]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def models_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[object], Path]:
    """Write a models file (JSON of `data`, or `data` itself if text) and name it in the env."""

    def write(data: object) -> Path:
        path = tmp_path / "models.json"
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        monkeypatch.setenv(MODELS_ENV, str(path))
        return path

    return write


@pytest.fixture(autouse=True)
def shipped_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODELS_ENV, raising=False)


def codes(found: list[Diagnostic]) -> list[tuple[str | None, str]]:
    return [(d.entry, d.code) for d in found]


# --- what ships ----------------------------------------------------------------------------------


def test_the_shipped_table_has_the_three_models_and_says_turbo_is_unconfirmed() -> None:
    table = ModelTable.load()
    assert table.aliases == {"standard": STANDARD_MODEL, "omni": OMNI_MODEL, "turbo": TURBO_MODEL}
    turbo = table.find("turbo")
    assert turbo is not None and turbo.name == TURBO_MODEL
    assert turbo.takes == {"text-to-video", "first_frame"}
    assert turbo.audio_always and turbo.prices is not None
    assert "turbo" in table.source and "unconfirmed" in table.source
    omni = table.find(OMNI_MODEL)
    assert omni is not None and omni.prompt_references and "refer" in omni.takes
    standard = table.find("standard")
    assert standard is not None and "refer" not in standard.takes
    assert {"element_list", "storyboard", "last_frame"} <= standard.takes


def test_the_schema_offers_every_shipped_alias_and_name() -> None:
    model = schema()["$defs"]["model"]
    table = ModelTable.load()
    assert set(model["examples"]) == {*table.aliases, *(spec.name for spec in table.models)}
    assert model["type"] == "string" and "enum" not in model  # $KLING_BATCH_MODELS may add more


@pytest.mark.parametrize(
    ("written", "full"),
    [("turbo", TURBO_MODEL), (TURBO_MODEL, TURBO_MODEL), ("omni", OMNI_MODEL)],
)
def test_aliases_resolve_from_the_table(written: str, full: str, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        f"version: 1\nshots: [{{id: a, model: {written}, prompt: x, aspect_ratio: '1:1'}}]\n"
    )
    assert load(path).entries[0].model == full


# --- $KLING_BATCH_MODELS -------------------------------------------------------------------------

NEW_MODEL = {
    "kling/kling-v9-video-generation": {
        "alias": "v9",
        "takes": ["text-to-video", "first_frame", "refer"],
        "modes": ["pro"],
    }
}


def test_a_new_model_in_the_users_file_is_checked_like_the_shipped_ones(
    models_file: Callable[[object], Path], diagnose: Diagnose
) -> None:
    models_file({"models": NEW_MODEL})
    found = diagnose("""
        version: 1
        defaults: {model: v9, aspect_ratio: "1:1", prompt: a cat}
        shots:
          - id: refer
            media: [{type: refer, url: "https://example.com/a.jpg"}]
          - id: std
            mode: std
          - id: base
            media: [{type: base, url: "https://example.com/a.mp4"}]
    """)
    assert codes(found) == [("std", "KB234"), ("base", "KB201")]
    assert "add `model: omni`" in found[1].message
    assert current().find("standard") is not None  # the shipped models stay


def test_a_shipped_model_named_by_its_alias_takes_only_the_fields_given(
    models_file: Callable[[object], Path], diagnose: Diagnose
) -> None:
    # Say turbo takes refer images after all: only `takes` changes, its sound and prices stay.
    models_file({"models": {"turbo": {"takes": ["text-to-video", "first_frame", "refer"]}}})
    turbo = current().find(TURBO_MODEL)
    assert turbo is not None and "refer" in turbo.takes and turbo.audio_always
    assert turbo.prices is not None
    found = diagnose("""
        version: 1
        shots:
          - id: ref
            model: turbo
            prompt: a cat
            aspect_ratio: "1:1"
            media: [{type: refer, url: "https://example.com/a.jpg"}]
    """)
    assert codes(found) == []


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ('{"models": {', "models file"),
        ("[1, 2]", "JSON object"),
        ({"model": {}}, "models:"),
        ({"models": {"kling/x": {"alias": "x"}}}, "no `takes`"),
        ({"models": {"kling/x": {"takes": ["refer", "sound"]}}}, "takes 'sound'?"),
        ({"models": {"kling/x": {"takes": ["refer"], "modes": "pro"}}}, "modes is a non-empty"),
        ({"models": {"kling/x": {"takes": ["refer"], "audio": "sometimes"}}}, "'always'"),
        ({"models": {"kling/x": {"takes": ["refer"], "sound": True}}}, "unknown field 'sound'"),
        ({"models": {"kling/x": {"takes": ["refer"], "alias": "omni"}}}, "'omni' names both"),
        ({"models": {"kling/x": {"takes": ["refer"], "prices": {"std": 1}}}}, "price table's"),
    ],
)
def test_a_bad_models_file_says_what_is_wrong(
    data: object, says: str, models_file: Callable[[object], Path]
) -> None:
    path = models_file(data)
    with pytest.raises(ModelTableError, match=re.escape(says)) as raised:
        ModelTable.load()
    assert str(path) in str(raised.value)


def test_a_broken_models_file_is_one_error_and_the_rest_is_still_checked(
    models_file: Callable[[object], Path], diagnose: Diagnose
) -> None:
    models_file({"models": {"kling/x": {"takes": ["sound"]}}})
    found = diagnose("""
        version: 1
        shots:
          - {id: fast, model: turbo, prompt: a cat, aspect_ratio: "1:1", element_list: [1]}
    """)
    assert codes(found) == [(None, "KB230"), ("fast", "KB233")]
    assert "takes 'sound'?" in found[0].message and "shipped models table" in found[0].message


def test_the_documented_example_is_a_valid_models_file(
    models_file: Callable[[object], Path],
) -> None:
    doc = (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8")
    example = doc.split("## Models", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    models_file(example)
    table = ModelTable.load()
    assert table.find("new") is not None and table.find("turbo") is not None
