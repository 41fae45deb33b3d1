"""Tasks over loopback: statuses, slots and queue, 24 h expiry, cancel, the task list."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import anyio
import httpx
import pytest

STANDARD = "kling/kling-v3-video-generation"
OMNI = "kling/kling-v3-omni-video-generation"
BEIJING = timezone(timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def beijing(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)


def list_time(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


@pytest.mark.anyio
async def test_a_task_goes_pending_running_succeeded(serve, connect) -> None:
    server = serve(render_seconds=60.0)
    async with connect(server) as api:
        before = datetime.now(BEIJING)
        task_id = await api.create_id(api.body("a cat", mode="std", duration=7))
        running = await api.query(task_id)
        server.simulator.advance(61)
        done = await api.query(task_id)
    assert running["output"]["task_status"] == "RUNNING"  # a slot was free at once
    assert "video_url" not in running["output"] and "end_time" not in running["output"]
    assert "usage" not in running
    output = done["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["task_id"] == task_id and output["orig_prompt"] == "a cat"
    submit, end = beijing(output["submit_time"]), beijing(output["end_time"])
    assert abs(submit - before) < timedelta(seconds=2)
    assert submit <= beijing(output["scheduled_time"]) <= end
    assert end - submit == timedelta(seconds=60)
    assert output["video_url"].startswith(server.origin + "/")
    assert "watermark_video_url" not in output
    assert done["usage"] == {
        "duration": 7,
        "size": "1280*720",
        "fps": 24,
        "video_count": 1,
        "audio": False,
        "SR": "720",
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("mode", "aspect_ratio", "size", "sr"),
    [
        ("pro", "16:9", "1920*1080", "1080"),
        ("pro", "9:16", "1080*1920", "1080"),
        ("std", "9:16", "720*1280", "720"),
        ("std", "1:1", "720*720", "720"),
        (None, None, "1920*1080", "1080"),  # the defaults: pro, 16:9
    ],
)
async def test_usage_size_follows_mode_and_aspect_ratio(
    serve, connect, mode, aspect_ratio, size, sr
) -> None:
    parameters = {"mode": mode, "aspect_ratio": aspect_ratio, "audio": True, "watermark": True}
    async with connect(serve(render_seconds=0.05)) as api:
        payload = api.body(**{k: v for k, v in parameters.items() if v is not None})
        done = await api.wait_for(await api.create_id(payload), "SUCCEEDED")
    assert done["usage"]["size"] == size and done["usage"]["SR"] == sr
    assert done["usage"]["audio"] is True and done["usage"]["duration"] == 5
    assert "watermark_video_url" in done["output"]


@pytest.mark.anyio
async def test_slots_then_a_pending_queue_in_order(serve, connect) -> None:
    server = serve(render_seconds=60.0, slots=3)
    async with connect(server) as api:
        ids = [await api.create_id(api.body(f"shot {n}")) for n in range(7)]
        first = [(await api.query(i))["output"]["task_status"] for i in ids]
        server.simulator.advance(61)
        second = [(await api.query(i))["output"]["task_status"] for i in ids]
        server.simulator.advance(120)
        outputs = [(await api.query(i))["output"] for i in ids]
    assert first == ["RUNNING"] * 3 + ["PENDING"] * 4
    assert second == ["SUCCEEDED"] * 3 + ["RUNNING"] * 3 + ["PENDING"]
    assert [o["task_status"] for o in outputs] == ["SUCCEEDED"] * 7
    stats = server.simulator.stats()
    assert stats.peak_running == 3 and stats.running == 0 and stats.pending == 0
    starts = [beijing(o["scheduled_time"]) for o in outputs]
    assert starts == sorted(starts)  # the queue is served first come, first served
    # the fourth starts the moment the first ends
    assert beijing(outputs[3]["scheduled_time"]) == beijing(outputs[0]["end_time"])


@pytest.mark.anyio
async def test_the_default_account_runs_ten_at_once(serve, connect) -> None:
    server = serve(render_seconds=60.0)
    async with connect(server) as api:
        ids = [await api.create_id(api.body(f"shot {n}")) for n in range(12)]
        statuses = [(await api.query(i))["output"]["task_status"] for i in ids]
    assert statuses.count("RUNNING") == 10 and statuses[10:] == ["PENDING", "PENDING"]


@pytest.mark.anyio
async def test_a_task_reads_unknown_after_24_hours(serve, connect) -> None:
    server = serve()
    async with connect(server) as api:
        task_id = await api.create_id(api.body())
        await api.wait_for(task_id, "SUCCEEDED")
        server.simulator.advance(23 * 3600)
        still = await api.query(task_id)
        advanced = await api.client.post(
            server.origin + "/__sim/advance", params={"seconds": 2 * 3600}
        )
        gone = await api.query(task_id)
    assert still["output"]["task_status"] == "SUCCEEDED"
    assert advanced.status_code == 200
    assert gone["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}
    assert server.simulator.task_status(task_id) == "UNKNOWN"


@pytest.mark.anyio
async def test_an_id_never_created_reads_unknown(serve, connect) -> None:
    async with connect(serve()) as api:
        answer = await api.query("0385dc79-5ff8-4d82-bcb6-000000000000")
    assert answer["output"]["task_status"] == "UNKNOWN"
    assert answer["request_id"]


@pytest.mark.anyio
async def test_only_a_pending_task_can_be_canceled(serve, connect) -> None:
    server = serve(render_seconds=60.0, slots=1)
    async with connect(server) as api:
        running = await api.create_id(api.body("first"))
        waiting = await api.create_id(api.body("second"))
        canceled = await api.client.post(f"/tasks/{waiting}/cancel")
        refused = await api.client.post(f"/tasks/{running}/cancel")
        again = await api.client.post(f"/tasks/{waiting}/cancel")
        unknown = await api.client.post("/tasks/no-such-task/cancel")
        after = await api.query(waiting)
    assert canceled.status_code == 200 and set(canceled.json()) == {"request_id"}
    for answer in (refused, again, unknown):
        assert (answer.status_code, answer.json()["code"]) == (400, "UnsupportedOperation")
    assert after["output"]["task_status"] == "CANCELED" and "end_time" in after["output"]
    assert server.simulator.stats().cancels == 1


@pytest.mark.anyio
async def test_a_canceled_task_frees_its_place_in_the_queue(serve, connect) -> None:
    server = serve(render_seconds=60.0, slots=1)
    async with connect(server) as api:
        first = await api.create_id(api.body("first"))
        second = await api.create_id(api.body("second"))
        third = await api.create_id(api.body("third"))
        await api.client.post(f"/tasks/{second}/cancel")
        server.simulator.advance(121)
        done = await api.query(third)
        first_done = await api.query(first)
    assert done["output"]["task_status"] == "SUCCEEDED"
    assert beijing(done["output"]["scheduled_time"]) == beijing(first_done["output"]["end_time"])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("hook", "status", "code"),
    [
        ("[sim:fail]", "FAILED", "InternalError.Algo"),
        ("[sim:moderation]", "FAILED", "DataInspectionFailed"),
    ],
)
async def test_prompt_hooks_make_a_task_fail(serve, connect, hook, status, code) -> None:
    async with connect(serve(render_seconds=0.05)) as api:
        answer = await api.wait_for(await api.create_id(api.body(f"a cat {hook}")), status)
    assert answer["output"]["code"] == code and answer["output"]["message"]
    assert "video_url" not in answer["output"] and "usage" not in answer


@pytest.mark.anyio
async def test_the_slow_hook_renders_five_times_longer(serve, connect) -> None:
    server = serve(render_seconds=10.0)
    async with connect(server) as api:
        slow = await api.create_id(api.body("a cat [sim:slow]"))
        quick = await api.create_id(api.body("a dog"))
        server.simulator.advance(11)
        assert (await api.query(quick))["output"]["task_status"] == "SUCCEEDED"
        assert (await api.query(slow))["output"]["task_status"] == "RUNNING"
        server.simulator.advance(40)
        output = (await api.query(slow))["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert beijing(output["end_time"]) - beijing(output["scheduled_time"]) == timedelta(seconds=50)


@pytest.mark.anyio
async def test_the_same_seed_and_body_give_the_same_task_id(serve, connect) -> None:
    ids = []
    for seed in (7, 7, 8):
        async with connect(serve(seed=seed)) as api:
            ids.append(await api.create_id(api.body("same")))
    assert ids[0] == ids[1] != ids[2]


async def _list(api, **params: object) -> httpx.Response:
    return await api.client.get("/tasks/", params={k: str(v) for k, v in params.items()})


@pytest.mark.anyio
async def test_the_task_list_pages_newest_first(serve, connect) -> None:
    server = serve(render_seconds=60.0, slots=2)
    async with connect(server) as api:
        ids = [await api.create_id(api.body(f"shot {n}")) for n in range(5)]
        first = (await _list(api, page_size=2)).json()
        last = (await _list(api, page_size=2, page_no=3)).json()
        without_slash = await api.client.get("/tasks", params={"page_size": 10})
    assert first["total"] == 5 and first["total_page"] == 3 and first["page_no"] == 1
    assert first["page_size"] == 2
    assert [row["task_id"] for row in first["data"]] == ids[::-1][:2]
    assert [row["task_id"] for row in last["data"]] == ids[:1]
    assert [row["task_id"] for row in without_slash.json()["data"]] == ids[::-1]
    row = last["data"][0]
    assert row["status"] == "RUNNING" and row["model_name"] == STANDARD
    assert "start_time" in row and "end_time" not in row  # absent while running
    assert isinstance(row["gmt_create"], int) and abs(row["gmt_create"] / 1000 - time.time()) < 5
    assert row["request_id"] and row["region"] == "cn-beijing"
    assert "video_url" not in row


@pytest.mark.anyio
async def test_the_task_list_filters_by_status_model_and_window(serve, connect) -> None:
    server = serve(render_seconds=0.05)
    async with connect(server) as api:
        failed = await api.create_id(api.body("x [sim:fail]"))
        omni = await api.create_id(api.body("y", model=OMNI))
        await api.wait_for(failed, "FAILED")
        await api.wait_for(omni, "SUCCEEDED")
        by_status = (await _list(api, status="FAILED")).json()
        by_model = (await _list(api, model_name=OMNI)).json()
        now = datetime.now(BEIJING)
        inside = await _list(
            api, start_time=list_time(now - timedelta(minutes=5)), end_time=list_time(now)
        )
        earlier = await _list(
            api,
            start_time=list_time(now - timedelta(hours=3)),
            end_time=list_time(now - timedelta(hours=2)),
        )
    assert [row["task_id"] for row in by_status["data"]] == [failed]
    assert [row["task_id"] for row in by_model["data"]] == [omni]
    assert {row["task_id"] for row in inside.json()["data"]} == {failed, omni}
    assert all("end_time" in row for row in inside.json()["data"])
    assert earlier.json()["total"] == 0 and earlier.json()["data"] == []


@pytest.mark.anyio
async def test_the_list_window_defaults_to_24_hours_beside_the_side_given(serve, connect) -> None:
    server = serve()
    async with connect(server) as api:
        old = await api.create_id(api.body("old"))
        t0 = datetime.fromtimestamp(server.simulator.now(), BEIJING)
        server.simulator.advance(30 * 3600)
        new = await api.create_id(api.body("new"))
        t1 = t0 + timedelta(hours=30)

        async def found(**params: object) -> list[str]:
            answer = await _list(api, **params)
            assert answer.status_code == 200, answer.text
            return [row["task_id"] for row in answer.json()["data"]]

        # only start_time: start .. start + 24 h (not start .. now, which is 30 h here)
        from_start = await found(start_time=list_time(t0 - timedelta(minutes=1)))
        late_start = await found(start_time=list_time(t0 + timedelta(hours=10)))
        # only end_time: end - 24 h .. end
        to_end = await found(end_time=list_time(t0 + timedelta(minutes=1)))
        to_now = await found(end_time=list_time(t1 + timedelta(minutes=1)))
        # neither: the last 24 h
        neither = await found()
    assert from_start == [old]
    assert late_start == [new]
    assert to_end == [old]
    assert to_now == [new]
    assert neither == [new]


@pytest.mark.anyio
async def test_the_task_list_filters_by_task_id(serve, connect) -> None:
    async with connect(serve()) as api:
        first = await api.create_id(api.body("first"))
        await api.create_id(api.body("second"))
        answer = (await _list(api, task_id=first)).json()
        missing = (await _list(api, task_id="0385dc79-5ff8-4d82-bcb6-000000000000")).json()
    assert [row["task_id"] for row in answer["data"]] == [first] and answer["total"] == 1
    assert missing["total"] == 0 and missing["data"] == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "params",
    [
        {"start_time": "20260101000000", "end_time": "20260102000001"},  # over 24 h
        {"start_time": "20260102000000", "end_time": "20260101000000"},  # backwards
        {"start_time": "2026-01-01"},
        {"page_size": "0"},
        {"page_size": "101"},
        {"page_no": "x"},
        {"status": "DONE"},
    ],
)
async def test_a_bad_task_list_query_is_400(serve, connect, params) -> None:
    async with connect(serve()) as api:
        answer = await _list(api, **params)
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParameter")


@pytest.mark.anyio
async def test_renders_advance_with_simulated_time(serve, connect) -> None:
    server = serve(render_seconds=3600.0)
    async with connect(server) as api:
        task_id = await api.create_id(api.body())
        assert (await api.query(task_id))["output"]["task_status"] == "RUNNING"
        server.simulator.advance(3601)
        await anyio.sleep(0)
        done = await api.query(task_id)
    assert done["output"]["task_status"] == "SUCCEEDED"
