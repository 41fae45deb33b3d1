"""Every route takes one trailing slash, as the task list does: the SDK's asyncio client sends
`GET /tasks/{id}/` and `POST /tasks/{id}/cancel/`."""

from __future__ import annotations

import pytest

from .conftest import ASYNC, CREATE


@pytest.mark.anyio
async def test_query_cancel_create_and_policy_take_a_trailing_slash(serve, connect) -> None:
    server = serve(render_seconds=60.0, slots=1)
    async with connect(server) as api:
        created = await api.client.post(CREATE + "/", json=api.body("first"), headers=ASYNC)
        waiting = await api.create_id(api.body("second"))  # PENDING behind the first
        query = await api.client.get(f"/tasks/{waiting}/")
        cancel = await api.client.post(f"/tasks/{waiting}/cancel/")
        listed = await api.client.get("/tasks")
        policy = await api.client.get(
            "/uploads/", params={"action": "getPolicy", "model": api.body()["model"]}
        )
    assert created.status_code == 200, created.text
    assert query.status_code == 200 and query.json()["output"]["task_status"] == "PENDING"
    assert cancel.status_code == 200, cancel.text
    assert listed.status_code == 200 and listed.json()["total"] == 2
    assert policy.status_code == 200 and policy.json()["data"]["upload_dir"]
    assert server.simulator.task_status(waiting) == "CANCELED"


@pytest.mark.anyio
async def test_a_video_url_takes_a_trailing_slash(serve, connect) -> None:
    async with connect(serve()) as api:
        task_id = await api.create_id(api.body())
        url = (await api.wait_for(task_id, "SUCCEEDED"))["output"]["video_url"]
        path, _, query = url.partition("?")
        video = await api.client.get(f"{path}/?{query}")
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/tasks/x//", "/tasks/x/cancel/extra", "/taskss/"])
async def test_other_paths_are_still_no_such_api(serve, connect, path) -> None:
    async with connect(serve()) as api:
        answer = await api.client.get(path)
    assert answer.status_code == 404
