"""Which fields changed since the last render, in the manifest's words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kling_batch.hashing import sha256_json
from kling_batch.manifest import fingerprint, load
from kling_batch.runner.changes import changed_fields, fingerprint_body

from .conftest import make_image


def body(**parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "kling/kling-v3-video-generation",
        "input": {"prompt": "a cat"},
        "parameters": {"mode": "std", "duration": 5},
    }
    for section, value in parts.items():
        if section == "model":
            base["model"] = value
        else:
            base[section] = {**base[section], **value}
    return base


def test_the_fingerprinted_body_is_exactly_what_the_fingerprint_hashes(tmp_path: Path) -> None:
    make_image(tmp_path / "start.png")
    (tmp_path / "m.yaml").write_text(
        "version: 1\n"
        "shots:\n"
        "  - id: flower\n"
        "    prompt: a flower opens\n"
        "    mode: std\n"
        "    media:\n"
        "      - {type: first_frame, path: start.png}\n"
    )
    (entry,) = load(tmp_path / "m.yaml").entries

    kept = fingerprint_body(entry)

    assert sha256_json(kept) == fingerprint(entry)
    assert kept["input"]["media"][0]["url"].startswith("sha256:")


def test_equal_bodies_have_no_changes() -> None:
    assert changed_fields(body(), body()) == ()


def test_input_and_parameter_fields_are_named_as_in_the_manifest() -> None:
    after = body(input={"prompt": "a dog", "negative_prompt": "blur"}, parameters={"duration": 8})
    assert changed_fields(body(), after) == ("prompt", "negative_prompt", "duration")


def test_a_field_left_out_counts_as_changed() -> None:
    before = body(parameters={"audio": True})
    assert changed_fields(before, body()) == ("audio",)


def test_the_model_and_the_storyboard_switch_are_named() -> None:
    after = body(model="kling/kling-v3-omni-video-generation", input={"multi_shot": True})
    assert changed_fields(body(), after) == ("model", "storyboard")


def test_list_items_are_named_by_their_one_based_position() -> None:
    shots = [{"index": 1, "prompt": "dawn"}, {"index": 2, "prompt": "noon"}]
    edited = [{"index": 1, "prompt": "dawn"}, {"index": 2, "prompt": "dusk"}]
    before = body(input={"multi_prompt": shots})
    after = body(input={"multi_prompt": edited})
    assert changed_fields(before, after) == ("multi_prompt[2].prompt",)
    longer = body(input={"multi_prompt": [*shots, {"index": 3, "prompt": "night"}]})
    assert changed_fields(before, longer) == ("multi_prompt",)


def test_a_local_file_with_new_content_is_named_as_such() -> None:
    before = body(input={"media": [{"type": "first_frame", "url": "sha256:aaa"}]})
    after = body(input={"media": [{"type": "first_frame", "url": "sha256:bbb"}]})
    assert changed_fields(before, after) == ("media[1] (file content)",)
    swapped = body(input={"media": [{"type": "last_frame", "url": "sha256:bbb"}]})
    assert changed_fields(before, swapped) == ("media[1].type", "media[1].url")


def test_a_temporary_url_of_the_body_sent_is_not_taken_for_a_change() -> None:
    """Records from before fingerprinted bodies were kept compare with request.json, whose
    local files are oss:// URLs: those cannot be compared and do not count."""
    sent = body(input={"media": [{"type": "first_frame", "url": "oss://dir/abc.png"}]})
    now = body(input={"media": [{"type": "first_frame", "url": "sha256:abc"}]})
    assert changed_fields(sent, now) == ()
    edited = body(
        input={"prompt": "a dog", "media": [{"type": "first_frame", "url": "sha256:abc"}]}
    )
    assert changed_fields(sent, edited) == ("prompt",)
