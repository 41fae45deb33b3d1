"""The simulator knows the turbo model and its limits, and agrees with the client's models table.

The simulator keeps its own facts (it stands for the service and imports nothing of the client);
these tests hold them to kling_batch/models.json over loopback, so that the two cannot drift
apart unnoticed."""

from __future__ import annotations

from typing import Any

import pytest

from kling_batch.manifest import capabilities as cap
from kling_batch.models import ModelSpec, ModelTable

TURBO = "kling/kling-v3-turbo-video-generation"
IMG = "https://example.com/cat.png"
VID = "https://example.com/clip.mp4"
SHIPPED = ModelTable.load()
COMBINATIONS = (
    cap.TEXT,
    cap.FIRST_FRAME,
    cap.FIRST_LAST_FRAME,
    cap.REFER,
    cap.FEATURE,
    cap.FEATURE_REFER,
    cap.FEATURE_FIRST_FRAME,
    cap.EDIT,
    cap.EDIT_REFER,
)


def request(model: str, media: tuple[str, ...] = (), **data: Any) -> dict[str, Any]:
    items = [{"type": t, "url": VID if t in ("feature", "base") else IMG} for t in media]
    return {"model": model, "input": {"prompt": "a scene", "media": items, **data}}


def media_of(inputs: cap.Inputs) -> tuple[str, ...]:
    return tuple(sorted(inputs.needs - {"text-to-video"}))


@pytest.mark.anyio
@pytest.mark.parametrize("spec", SHIPPED.models, ids=lambda s: s.label)
async def test_the_service_takes_what_the_table_says_and_refuses_the_rest(
    spec: ModelSpec, serve, connect
) -> None:
    async with connect(serve()) as api:
        for inputs in COMBINATIONS:
            answer = await api.create(request(spec.name, media_of(inputs)))
            taken = spec.takes.issuperset(inputs.needs)
            assert (answer.status_code == 200) is taken, (inputs.written, answer.text)
        board = request(spec.name, multi_shot=True, shot_type="intelligence")
        answer = await api.create(board)
        assert (answer.status_code == 200) is ("storyboard" in spec.takes), answer.text
        elements = request(spec.name, element_list=[{"element_id": 171}])
        answer = await api.create(elements)
        assert (answer.status_code == 200) is ("element_list" in spec.takes), answer.text
        policy = await api.client.get(
            "/uploads", params={"action": "getPolicy", "model": spec.name}
        )
        assert policy.status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize("spec", SHIPPED.models, ids=lambda s: s.label)
async def test_sound_is_rendered_as_the_table_says(spec: ModelSpec, serve, connect) -> None:
    async with connect(serve()) as api:
        silent = {**request(spec.name), "parameters": {"audio": False}}
        done = await api.wait_for(await api.create_id(silent), "SUCCEEDED")
    assert done["usage"]["audio"] is spec.audio_always


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "says"),
    [
        (request(TURBO, ("refer",)), "'refer' is only supported by kling/kling-v3-omni"),
        (request(TURBO, ("first_frame", "last_frame")), "'last_frame' is only supported by"),
        (request(TURBO, ("first_frame", "first_frame")), "Use first_frame (one)"),
        (request(TURBO, multi_shot=True, shot_type="intelligence"), "multi_shot (storyboards)"),
        (request(TURBO, element_list=[{"element_id": 1}]), "element_list is not supported"),
    ],
    ids=["refer", "last frame", "two first frames", "storyboard", "element list"],
)
async def test_turbo_refusals_name_what_is_wrong(body: dict[str, Any], says: str, serve, connect):
    async with connect(serve()) as api:
        answer = await api.create(body)
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParameter")
    assert says in answer.json()["message"]
