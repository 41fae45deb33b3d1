"""The SDK's VideoSynthesis (requests, blocking) against the simulator: what its user sees."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from PIL import Image

from .conftest import OMNI, STANDARD, dashscope

VideoSynthesis = dashscope.VideoSynthesis
InvalidTask = pytest.importorskip("dashscope.common.error").InvalidTask


def test_create_then_wait_gives_a_video_a_client_can_download(serve) -> None:
    server = serve(render_seconds=0.3)
    created = VideoSynthesis.async_call(
        model=STANDARD, prompt="a lantern drifts downriver", duration=5
    )
    assert created.status_code == 200, created
    assert created.output.task_status == "PENDING"
    done = VideoSynthesis.wait(created)  # polls until the task ends
    assert done.status_code == 200 and done.output.task_status == "SUCCEEDED"
    assert done.output.task_id == created.output.task_id
    assert done.output.orig_prompt == "a lantern drifts downriver"
    assert (done.usage["duration"], done.usage["size"]) == (5, "1920*1080")
    video = requests.get(done.output.video_url, timeout=10)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert server.simulator.stats().creates == 1


def test_call_creates_and_waits_in_one(serve) -> None:
    serve()
    done = VideoSynthesis.call(model=STANDARD, prompt="a kite", watermark=True)
    assert done.output.task_status == "SUCCEEDED"
    assert done.output.watermark_video_url.startswith("http://127.0.0.1:")


def test_fetch_reads_the_task_as_it_stands(serve) -> None:
    serve(render_seconds=60.0)
    created = VideoSynthesis.async_call(model=STANDARD, prompt="a slow dawn")
    fetched = VideoSynthesis.fetch(created.output.task_id)
    assert fetched.status_code == 200 and fetched.output.task_status == "RUNNING"
    unknown = VideoSynthesis.fetch("0385dc79-0000-0000-0000-000000000000")
    assert unknown.output.task_status == "UNKNOWN"


def test_list_finds_the_tasks_of_the_last_day(serve) -> None:
    serve()
    ids = [VideoSynthesis.async_call(model=m, prompt="x").output.task_id for m in (STANDARD, OMNI)]
    listed = VideoSynthesis.list()
    assert listed.status_code == 200 and listed.output["total"] == 2
    assert {row["task_id"] for row in listed.output["data"]} == set(ids)
    only_omni = VideoSynthesis.list(model_name=OMNI)
    assert [row["task_id"] for row in only_omni.output["data"]] == [ids[1]]


def test_only_a_pending_task_can_be_canceled(serve) -> None:
    server = serve(render_seconds=60.0, slots=1)
    running = VideoSynthesis.async_call(model=STANDARD, prompt="first").output.task_id
    waiting = VideoSynthesis.async_call(model=STANDARD, prompt="second").output.task_id
    canceled = VideoSynthesis.cancel(waiting)
    refused = VideoSynthesis.cancel(running)
    assert canceled.status_code == 200
    assert (refused.status_code, refused.code) == (400, "UnsupportedOperation")
    assert VideoSynthesis.fetch(waiting).output.task_status == "CANCELED"
    assert server.simulator.stats().cancels == 1


def test_a_local_file_goes_up_through_get_policy_and_the_form_host(serve, tmp_path: Path) -> None:
    server = serve()
    frame = tmp_path / "lantern.png"
    Image.new("RGB", (640, 360), (200, 120, 40)).save(frame)
    done = VideoSynthesis.call(
        model=STANDARD,
        prompt="the lantern lights",
        media=[{"type": "first_frame", "url": frame.as_uri()}],
    )
    assert done.output.task_status == "SUCCEEDED", done
    (stored,) = server.simulator.uploads()
    assert stored.model == STANDARD and stored.key.endswith("/lantern.png")
    assert stored.size == frame.stat().st_size


def test_a_local_file_the_service_cannot_use_fails_the_task(serve, tmp_path: Path) -> None:
    serve()
    fake = tmp_path / "not-really.png"
    fake.write_text("a text file with an image's name")
    done = VideoSynthesis.call(
        model=STANDARD, prompt="x", media=[{"type": "first_frame", "url": fake.as_uri()}]
    )
    assert done.status_code == 200  # the task exists, and ended
    assert done.output.task_status == "FAILED"
    assert done.output.code == "InvalidParameter.DataInspection"
    assert "not a decodable image" in done.output.message


@pytest.mark.parametrize(
    ("options", "named", "hint"),
    [
        ({"shot_type": "customize"}, "parameters.shot_type", "belongs in input"),
        ({"ratio": "9:16"}, "parameters.ratio", "parameters.aspect_ratio"),
        ({"resolution": "720P"}, "parameters.resolution", "parameters.mode"),
        ({"size": "1280*720"}, "parameters.size", "parameters.mode and parameters.aspect_ratio"),
        ({"multi_shot": True}, "parameters.multi_shot", "belongs in input"),
    ],
)
def test_the_sdk_keywords_kling_does_not_take_are_refused(serve, options, named, hint) -> None:
    serve()
    answer = VideoSynthesis.async_call(model=STANDARD, prompt="a harbour", **options)
    assert (answer.status_code, answer.code) == (400, "InvalidParameter")
    assert answer.message.startswith(named) and hint in answer.message


def test_storyboard_fields_reach_the_service_through_extra_input(serve) -> None:
    serve()
    shots = [{"index": 1, "prompt": "a harbour", "duration": 2}]
    shots.append({"index": 2, "prompt": "a ship leaves", "duration": 3})
    done = VideoSynthesis.call(
        model=STANDARD,
        extra_input={"multi_shot": True, "shot_type": "customize", "multi_prompt": shots},
        duration=5,
    )
    assert done.output.task_status == "SUCCEEDED", done


def test_lenient_takes_the_misplaced_field_and_renders_one_shot(serve) -> None:
    serve(lenient=True)
    done = VideoSynthesis.call(model=STANDARD, prompt="a harbour", shot_type="customize")
    assert done.output.task_status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("config", "model", "status", "code"),
    [
        ({"api_key": "sk-other"}, STANDARD, 401, "InvalidApiKey"),
        ({}, "kling/kling-v9", 404, "ModelNotFound"),
        ({"arrearage": True}, STANDARD, 400, "Arrearage"),
    ],
)
def test_the_error_codes_as_the_sdk_reports_them(serve, config, model, status, code) -> None:
    serve(**config)
    answer = VideoSynthesis.async_call(model=model, prompt="x")
    assert (answer.status_code, answer.code) == (status, code)
    assert answer.request_id and answer.output is None
    with pytest.raises(InvalidTask, match=code):
        VideoSynthesis.call(model=model, prompt="x")  # call() raises where async_call answers


@pytest.mark.parametrize("retry_after", [True, False])
def test_a_throttled_create_is_a_429_the_sdk_hands_back(serve, retry_after) -> None:
    serve(submit_rate=1.0, retry_after=retry_after)
    answers = [VideoSynthesis.async_call(model=STANDARD, prompt=f"n{n}") for n in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    assert answers[1].code == "Throttling.RateQuota"


def test_the_sdk_sends_a_create_again_after_a_reset_and_makes_two_tasks(serve) -> None:
    # Worth knowing: a client built on the SDK can be billed twice for one request.
    server = serve()
    answer = VideoSynthesis.async_call(model=STANDARD, prompt="a bell [sim:lost-reset]")
    stats = server.simulator.stats()
    assert answer.status_code == 200
    assert stats.creates == 2 and stats.faults == {"lost_create": 1}
