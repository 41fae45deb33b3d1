"""Create: headers, keys, and the request rules of the reference, over loopback."""

from __future__ import annotations

from typing import Any

import pytest

from kling_batch.hashing import sha256_json

STANDARD = "kling/kling-v3-video-generation"
OMNI = "kling/kling-v3-omni-video-generation"
IMG = "https://example.com/cat.png"
VID = "https://example.com/clip.mp4"


def shot(*media: tuple[str, str], model: str = OMNI, prompt: str = "a scene", **extra: Any):
    data: dict[str, Any] = {"prompt": prompt, "media": [{"type": t, "url": u} for t, u in media]}
    data.update(extra.pop("input", {}))
    return {"model": model, "input": data, "parameters": extra}


def elements(count: int) -> list[dict[str, int]]:
    return [{"element_id": 100 + n} for n in range(count)]


def storyboard(shots: list[dict[str, Any]], duration: int = 10, **extra: Any) -> dict[str, Any]:
    data = {"multi_shot": True, "shot_type": "customize", "multi_prompt": shots, **extra}
    return {"model": STANDARD, "input": data, "parameters": {"duration": duration}}


@pytest.mark.anyio
async def test_create_answers_pending_with_a_task_id(serve, connect) -> None:
    async with connect(serve()) as api:
        answer = await api.create(api.body())
    assert answer.status_code == 200
    payload = answer.json()
    assert payload["output"]["task_status"] == "PENDING"
    assert len(payload["output"]["task_id"]) == 36
    assert payload["request_id"]


@pytest.mark.anyio
async def test_without_the_async_header_the_service_refuses(serve, connect) -> None:
    async with connect(serve()) as api:
        answer = await api.client.post(
            "/services/aigc/video-generation/video-synthesis", json=api.body()
        )
    assert answer.status_code == 403
    assert answer.json()["code"] == "AccessDenied"
    assert "synchronous" in answer.json()["message"]


@pytest.mark.anyio
@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic c2stdGVzdA=="])
async def test_a_missing_key_is_401(serve, connect, authorization) -> None:
    async with connect(serve(), key=None) as api:
        headers = {} if authorization is None else {"Authorization": authorization}
        answer = await api.client.get("/tasks/some-id", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "InvalidApiKey"
    assert answer.json()["message"] == "No API-key provided."


@pytest.mark.anyio
async def test_only_the_configured_key_is_accepted(serve, connect) -> None:
    server = serve(api_key="sk-right")
    async with connect(server, key="sk-wrong") as api:
        wrong = await api.create(api.body())
    async with connect(server, key="sk-right") as api:
        right = await api.create(api.body())
    assert (wrong.status_code, wrong.json()["code"]) == (401, "InvalidApiKey")
    assert "sk-" not in wrong.text  # the key is never echoed
    assert right.status_code == 200


@pytest.mark.anyio
async def test_arrearage_answers_400_to_everything(serve, connect) -> None:
    async with connect(serve(arrearage=True)) as api:
        answers = [
            await api.create(api.body()),
            await api.client.get("/tasks/x"),
            await api.client.get("/tasks/"),
            await api.client.get("/uploads", params={"action": "getPolicy", "model": STANDARD}),
        ]
    # 400, not 403: an account-level code behind a request-level status (the reference).
    assert {(a.status_code, a.json()["code"]) for a in answers} == {(400, "Arrearage")}


@pytest.mark.anyio
async def test_an_unknown_model_is_404(serve, connect) -> None:
    async with connect(serve()) as api:
        answer = await api.create(api.body(model="kling/kling-v2-master"))
    assert (answer.status_code, answer.json()["code"]) == (404, "ModelNotFound")


INVALID = {
    "not json": (b"{not json", "not valid JSON"),
    "no model": ({"input": {"prompt": "x"}}, "model"),
    "no input": ({"model": STANDARD}, "input"),
    "no prompt for text-to-video": (shot(model=STANDARD, prompt=""), "input.prompt is required"),
    "refer on standard": (shot(("refer", IMG), model=STANDARD), "only supported by"),
    "last frame alone": (shot(("last_frame", IMG), model=STANDARD), "combination"),
    "two first frames": (shot(("first_frame", IMG), ("first_frame", IMG)), "combination"),
    "bad element id": (shot(input={"element_list": [{"element_id": "x"}]}), "element_list[0]"),
    "duration 16": (shot(duration=16), "[3, 15]"),
    "duration 2": (shot(duration=2), "[3, 15]"),
    "duration as text": (shot(duration="5"), "[3, 15]"),
    "duration 11 with a video": (shot(("base", VID), duration=11), "[3, 10]"),
    "audio with a video": (shot(("feature", VID), audio=True), "audio must be false"),
    "mode hd": (shot(mode="hd"), "parameters.mode"),
    "aspect 4:3": (shot(aspect_ratio="4:3"), "parameters.aspect_ratio"),
    "watermark as text": (shot(watermark="yes"), "parameters.watermark"),
    "unknown media type": (shot(("end_frame", IMG)), "end_frame"),
    "ftp url": (shot(("first_frame", "ftp://example.com/a.png")), "http, https or oss"),
    "sound on an image": (
        {
            "model": OMNI,
            "input": {
                "prompt": "x",
                "media": [{"type": "first_frame", "url": IMG, "keep_original_sound": "yes"}],
            },
        },
        "keep_original_sound",
    ),
    "sound as bool": (
        {
            "model": OMNI,
            "input": {
                "prompt": "x",
                "media": [{"type": "base", "url": VID, "keep_original_sound": True}],
            },
        },
        "'yes' or 'no'",
    ),
    "eight references": (
        shot(*[("refer", IMG)] * 5, input={"element_list": elements(3)}),
        "at most 7",
    ),
    "feature and five references": (
        shot(("feature", VID), *[("refer", IMG)] * 3, input={"element_list": elements(2)}),
        "at most 4",
    ),
    "base and five references": (shot(("base", VID), *[("refer", IMG)] * 5), "at most 4"),
    "first frame and four elements": (
        shot(("first_frame", IMG), input={"element_list": elements(4)}),
        "at most 3",
    ),
    "first frame and four elements on standard": (
        shot(("first_frame", IMG), model=STANDARD, input={"element_list": elements(4)}),
        "at most 3",
    ),
    "first and last frame and four elements on standard": (
        shot(
            ("first_frame", IMG),
            ("last_frame", IMG),
            model=STANDARD,
            input={"element_list": elements(4)},
        ),
        "at most 3",
    ),
    "element list not a list": (shot(model=STANDARD, input={"element_list": {}}), "element_list"),
    "two feature videos": (shot(("feature", VID), ("feature", VID)), "At most 1"),
    "base and feature": (shot(("feature", VID), ("base", VID)), "At most 1"),
    "refer and first frame": (shot(("refer", IMG), ("first_frame", IMG)), "combination"),
    "image reference beyond media": (
        shot(("refer", IMG), prompt="<<<image_1>>> meets <<<image_2>>>"),
        "<<<image_2>>>",
    ),
    "video reference without video": (shot(prompt="<<<video_1>>> again"), "<<<video_1>>>"),
    "element reference beyond list": (
        shot(prompt="<<<element_2>>>", input={"element_list": elements(1)}),
        "<<<element_2>>>",
    ),
    "multi shot without type": (
        {"model": STANDARD, "input": {"prompt": "x", "multi_shot": True}},
        "shot_type is required",
    ),
    "intelligence without prompt": (
        {"model": STANDARD, "input": {"multi_shot": True, "shot_type": "intelligence"}},
        "input.prompt is required",
    ),
    "customize without shots": (storyboard([]), "1 to 6 shots"),
    "seven shots": (
        storyboard([{"index": n, "prompt": "s", "duration": 1} for n in range(1, 8)], 15),
        "1 to 6 shots",
    ),
    "indexes from 0": (
        storyboard(
            [{"index": 0, "prompt": "a", "duration": 5}, {"index": 1, "prompt": "b", "duration": 5}]
        ),
        "indexes must be 1 to 2",
    ),
    "shot without a duration": (
        storyboard([{"index": 1, "prompt": "a"}]),
        "multi_prompt[0].duration is required per shot",
    ),
    "shot longer than the video": (
        storyboard([{"index": 1, "prompt": "a", "duration": 6}], duration=5),
        "[1, 5]",
    ),
    "shots add up past the video": (
        storyboard(
            [
                {"index": 1, "prompt": "a", "duration": 4},
                {"index": 2, "prompt": "b", "duration": 4},
            ],
            duration=5,
        ),
        "add up to 8 s",
    ),
    "unreachable media host": (
        shot(("first_frame", "https://media.invalid/a.png")),
        "Failed to download",
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize(("payload", "fragment"), INVALID.values(), ids=INVALID.keys())
async def test_invalid_requests_are_400_with_a_message(serve, connect, payload, fragment) -> None:
    server = serve()
    async with connect(server) as api:
        if isinstance(payload, bytes):
            answer = await api.client.post(
                "/services/aigc/video-generation/video-synthesis",
                content=payload,
                headers={"X-DashScope-Async": "enable", "Content-Type": "application/json"},
            )
        else:
            answer = await api.create(payload)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"].startswith("InvalidParameter")
    assert fragment in answer.json()["message"]
    assert server.simulator.stats().creates == 0


VALID = {
    "text to video": shot(model=STANDARD),
    "first frame": shot(("first_frame", IMG), model=STANDARD),
    "first and last frame": shot(("first_frame", IMG), ("last_frame", IMG), model=STANDARD),
    "standard text to video with elements": shot(
        model=STANDARD, input={"element_list": elements(2)}
    ),
    "standard first frame with three elements": shot(
        ("first_frame", IMG), model=STANDARD, input={"element_list": elements(3)}
    ),
    "standard storyboard with an empty element list": storyboard(
        [{"index": 1, "prompt": "a", "duration": 5}], duration=5, element_list=[]
    ),
    "omni with elements": shot(
        ("first_frame", IMG), input={"element_list": elements(3)}, aspect_ratio="9:16"
    ),
    "seven references": shot(*[("refer", IMG)] * 4, input={"element_list": elements(3)}),
    "feature alone": shot(("feature", VID), duration=10),
    "feature and references": shot(("feature", VID), *[("refer", IMG)] * 4),
    "feature and first frame": shot(("feature", VID), ("first_frame", IMG)),
    "base edit keeping sound": {
        "model": OMNI,
        "input": {
            "prompt": "make it purple",
            "media": [{"type": "base", "url": VID, "keep_original_sound": "yes"}],
        },
    },
    "base and references": shot(("base", VID), *[("refer", IMG)] * 4),
    "references in the prompt": shot(
        ("refer", IMG), ("feature", VID), prompt="<<<image_1>>> in <<<video_1>>>"
    ),
    "customize storyboard": storyboard(
        [{"index": 2, "prompt": "b", "duration": 5}, {"index": 1, "prompt": "a", "duration": 5}]
    ),
    "shot prompt of 600 characters": storyboard(
        [{"index": 1, "prompt": "x" * 600, "duration": 5}], duration=5
    ),
    "customize ignores input.prompt": storyboard(
        [{"index": 1, "prompt": "a", "duration": 5}], duration=5, prompt="<<<image_3>>>"
    ),
    "intelligence storyboard": {
        "model": STANDARD,
        "input": {"prompt": "a day", "multi_shot": True, "shot_type": "intelligence"},
        "parameters": {"duration": 15, "mode": "std", "audio": True},
    },
}


@pytest.mark.anyio
@pytest.mark.parametrize("payload", VALID.values(), ids=VALID.keys())
async def test_valid_requests_are_accepted(serve, connect, payload) -> None:
    server = serve()
    async with connect(server) as api:
        answer = await api.create(payload)
    assert answer.status_code == 200, answer.text
    assert server.simulator.stats().creates_by_body == {sha256_json(payload): 1}


@pytest.mark.anyio
async def test_a_long_prompt_is_cut_at_2500_characters(serve, connect) -> None:
    async with connect(serve()) as api:
        task_id = await api.create_id(api.body("moon " * 600))
        answer = await api.query(task_id)
    assert answer["output"]["orig_prompt"] == ("moon " * 600)[:2500]
