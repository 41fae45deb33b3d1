"""Strict by default: a create field the reference does not list where it is sent is a 400 that
names it and where it belongs; `lenient` mirrors a service that ignores such fields."""

from __future__ import annotations

from typing import Any

import pytest

STANDARD = "kling/kling-v3-video-generation"
OMNI = "kling/kling-v3-omni-video-generation"


def create_body(data: dict[str, Any] | None = None, **parameters: Any) -> dict[str, Any]:
    return {
        "model": STANDARD,
        "input": {"prompt": "a harbour at dawn", **(data or {})},
        "parameters": parameters,
    }


EVERY_LISTED_FIELD = {
    "model": OMNI,
    "input": {
        "prompt": "<<<video_1>>> in the rain",
        "negative_prompt": "blur",  # [unconfirmed] in the reference, but clients send it
        "media": [
            {"type": "base", "url": "https://example.com/clip.mp4", "keep_original_sound": "yes"}
        ],
        "element_list": [{"element_id": 171}],
    },
    "parameters": {"mode": "std", "aspect_ratio": "9:16", "duration": 5, "audio": False},
}
STORYBOARD = {
    "model": STANDARD,
    "input": {
        "multi_shot": True,
        "shot_type": "customize",
        "multi_prompt": [{"index": 1, "prompt": "a harbour", "duration": 5}],
        "element_list": [],
    },
    "parameters": {"duration": 5, "watermark": True},
}


@pytest.mark.anyio
@pytest.mark.parametrize("payload", [EVERY_LISTED_FIELD, STORYBOARD], ids=["omni", "storyboard"])
async def test_every_field_the_reference_lists_is_taken(serve, connect, payload) -> None:
    async with connect(serve()) as api:
        answer = await api.create(payload)
    assert answer.status_code == 200, answer.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("payload", "named", "hint"),
    [
        (create_body(multi_shot=True), "parameters.multi_shot", "belongs in input"),
        (create_body(shot_type="customize"), "parameters.shot_type", "belongs in input"),
        (create_body({"duration": 5}), "input.duration", "belongs in parameters"),
        (create_body({"aspect_ratio": "9:16"}), "input.aspect_ratio", "belongs in parameters"),
        (create_body(ratio="9:16"), "parameters.ratio", "use parameters.aspect_ratio"),
        (create_body(resolution="720P"), "parameters.resolution", "use parameters.mode"),
        (create_body(seed=7), "parameters.seed", "it takes: mode, aspect_ratio"),
        (create_body({"img_url": "https://e.com/a.png"}), "input.img_url", "input.media"),
        (
            create_body({"keep_original_sound": "yes"}),
            "input.keep_original_sound",
            "belongs in an input.media item of type base or feature",
        ),
        (
            create_body({"media": [{"type": "first_frame", "url": "https://e.com/a.png", "w": 1}]}),
            "input.media[0].w",
            "it takes: type, url, keep_original_sound",
        ),
        ({**create_body(), "prompt": "top level"}, "prompt", "belongs in input"),
    ],
)
async def test_a_field_not_listed_where_it_is_sent_is_refused(
    serve, connect, payload, named, hint
) -> None:
    async with connect(serve()) as api:
        answer = await api.create(payload)
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParameter")
    message = answer.json()["message"]
    assert message.startswith(named + " ") and hint in message


@pytest.mark.anyio
async def test_every_stray_field_is_named_at_once(serve, connect) -> None:
    async with connect(serve()) as api:
        answer = await api.create(create_body({"multi_shot": True}, shot_type="x", fps=30))
    message = answer.json()["message"]
    assert "parameters.shot_type" in message and "parameters.fps" in message


@pytest.mark.anyio
async def test_the_fields_the_vendor_sdk_always_sends_are_taken(serve, connect) -> None:
    # dashscope 2.0.2 puts extend_prompt and function into every create's input.
    async with connect(serve()) as api:
        answer = await api.create(
            create_body({"extend_prompt": True, "function": "video-synthesis"})
        )
    assert answer.status_code == 200, answer.text


@pytest.mark.anyio
async def test_lenient_ignores_what_it_does_not_know(serve, connect) -> None:
    server = serve(lenient=True)
    async with connect(server) as api:
        task_id = await api.create_id(
            create_body(multi_shot=True, shot_type="customize", ratio="9:16", duration=5)
        )
        done = await api.wait_for(task_id, "SUCCEEDED")
    # the misplaced fields did nothing: a plain 16:9 single shot, billed as pro
    assert done["usage"]["size"] == "1920*1080" and done["usage"]["duration"] == 5
    assert server.simulator.config.lenient


@pytest.mark.anyio
async def test_lenient_still_applies_the_rules_of_listed_fields(serve, connect) -> None:
    async with connect(serve(lenient=True)) as api:
        answer = await api.create(create_body(duration=99, seed=1))
    assert answer.status_code == 400 and "parameters.duration" in answer.json()["message"]
