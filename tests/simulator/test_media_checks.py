"""An uploaded file is checked when a task uses it, as the service checks media: the upload
host takes any bytes, and a task whose file the service refuses ends FAILED with
InvalidParameter.DataInspection instead of rendering."""

from __future__ import annotations

import pytest

from .conftest import FRAME, OMNI, SAMPLE_CLIP, STANDARD, image_bytes

RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}


async def _task_with(api, data: bytes, kind: str = "first_frame", model: str = STANDARD) -> dict:
    answer, url = await api.upload(data, model=model, name="input.png")
    assert answer.status_code == 200  # the upload host is plain storage
    payload = api.body("it comes alive", model=model, media=[{"type": kind, "url": url}])
    task_id = await api.create_id(payload, **RESOLVE)
    return await api.wait_for(task_id, "SUCCEEDED", "FAILED")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"a text file named .png", "not a decodable image"),
        (b"", "not a decodable image"),
        (image_bytes(100, 80), "100x80 px"),
        (image_bytes(640, 360, "PNG", "RGBA"), "alpha channel"),
    ],
    ids=["text", "empty", "100x80", "alpha"],
)
async def test_a_task_with_a_file_the_service_refuses_fails(serve, connect, data, says) -> None:
    server = serve()
    async with connect(server) as api:
        done = await _task_with(api, data)
    output = done["output"]
    assert output["task_status"] == "FAILED"
    assert output["code"] == "InvalidParameter.DataInspection"
    assert output["message"].startswith("input.media[0] (first_frame, oss://")
    assert says in output["message"]
    assert "video_url" not in output and "usage" not in done
    assert server.simulator.stats().tasks_by_status == {"FAILED": 1}


@pytest.mark.anyio
async def test_a_good_image_renders(serve, connect) -> None:
    async with connect(serve()) as api:
        done = await _task_with(api, FRAME)
    assert done["output"]["task_status"] == "SUCCEEDED"


@pytest.mark.anyio
async def test_a_refused_file_fails_the_task_without_waiting_for_a_render(serve, connect) -> None:
    server = serve(render_seconds=600.0)
    async with connect(server) as api:
        done = await _task_with(api, b"not an image", kind="refer", model=OMNI)
    assert done["output"]["task_status"] == "FAILED"
    assert "(refer, " in done["output"]["message"]


@pytest.mark.anyio
async def test_a_video_is_checked_as_a_video(serve, connect) -> None:
    async with connect(serve()) as api:
        image_as_video = await _task_with(api, FRAME, kind="base", model=OMNI)
        small_video = await _task_with(api, SAMPLE_CLIP, kind="feature", model=OMNI)
    assert "not an mp4 or mov video" in image_as_video["output"]["message"]
    assert "(feature, " in small_video["output"]["message"]
    assert "320x180 px" in small_video["output"]["message"]
