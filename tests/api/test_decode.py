"""Answers and time formats: what the client makes of DashScope's JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kling_batch.api import decode
from kling_batch.api.decode import MalformedAnswer
from kling_batch.api.types import TaskStatus


def test_task_times_are_beijing_time_turned_into_utc() -> None:
    assert decode.beijing_time("2026-03-27 21:30:32.575") == datetime(
        2026, 3, 27, 13, 30, 32, 575000, tzinfo=UTC
    )
    assert decode.beijing_time("2026-03-27 07:00:00") == datetime(2026, 3, 26, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "  ", "yesterday", 12])
def test_odd_task_times_become_none(value: object) -> None:
    assert decode.beijing_time(value) is None


def test_list_rows_use_epoch_milliseconds() -> None:
    assert decode.epoch_ms(1774618232575) == datetime(2026, 3, 27, 13, 30, 32, 575000, tzinfo=UTC)
    assert decode.epoch_ms("1774618232575") == decode.epoch_ms(1774618232575)
    assert decode.epoch_ms(None) is None
    assert decode.epoch_ms(True) is None


def test_list_query_times_are_beijing_wall_clock() -> None:
    assert decode.list_time(datetime(2026, 3, 27, 13, 30, 32, tzinfo=UTC)) == "20260327213032"
    with pytest.raises(ValueError, match="timezone-aware"):
        decode.list_time(datetime(2026, 3, 27, 13, 30, 32))


def test_a_succeeded_task_is_read_in_full() -> None:
    answer = {
        "request_id": "r-1",
        "output": {
            "task_id": "t-1",
            "task_status": "SUCCEEDED",
            "submit_time": "2026-03-27 21:30:32.575",
            "scheduled_time": "2026-03-27 21:30:32.603",
            "end_time": "2026-03-27 21:31:09.177",
            "orig_prompt": "a cat",
            "video_url": "https://example.com/v.mp4?sig=1",
            "watermark_video_url": "https://example.com/w.mp4?sig=1",
        },
        "usage": {
            "duration": 5,
            "size": "1280*720",
            "fps": 24,
            "video_count": 1,
            "audio": False,
            "SR": "720",
        },
    }
    task = decode.queried_task(answer)
    assert task.task_id == "t-1"
    assert task.status is TaskStatus.SUCCEEDED
    assert task.end_time == datetime(2026, 3, 27, 13, 31, 9, 177000, tzinfo=UTC)
    assert task.video_url == "https://example.com/v.mp4?sig=1"
    assert task.usage is not None
    assert (task.usage.duration, task.usage.sr, task.usage.audio) == (5, "720", False)
    assert task.raw == answer


def test_a_failed_task_keeps_its_code_and_message() -> None:
    task = decode.queried_task(
        {
            "output": {
                "task_id": "t",
                "task_status": "FAILED",
                "code": "DataInspectionFailed",
                "message": "moderation",
            }
        }
    )
    assert (task.status, task.code, task.message) == (
        TaskStatus.FAILED,
        "DataInspectionFailed",
        "moderation",
    )
    assert task.usage is None


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"output": None},
        {"output": {"task_status": "PENDING"}},
        {"output": {"task_id": "t", "task_status": "DONE"}},
    ],
)
def test_a_create_answer_without_id_or_known_status_is_malformed(answer: dict[str, object]) -> None:
    with pytest.raises(MalformedAnswer):
        decode.created_task(answer)


def test_non_json_and_non_objects_are_malformed() -> None:
    with pytest.raises(MalformedAnswer, match="not JSON"):
        decode.json_object("<html>502 Bad Gateway</html>")
    with pytest.raises(MalformedAnswer, match="not an object"):
        decode.json_object("[1, 2]")


def test_a_list_page_reads_rows_and_paging() -> None:
    page = decode.task_list_page(
        {
            "total": 11,
            "total_page": 2,
            "page_no": 1,
            "page_size": 10,
            "data": [
                {
                    "task_id": "a",
                    "status": "RUNNING",
                    "model_name": "m",
                    "gmt_create": 1774618232575,
                    "request_id": "r",
                }
            ],
        }
    )
    assert page.total_pages == 2
    assert page.items[0].task_id == "a"
    assert page.items[0].status is TaskStatus.RUNNING
    assert page.items[0].created_at == datetime(2026, 3, 27, 13, 30, 32, 575000, tzinfo=UTC)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    assert decode.retry_after_seconds("2") == 2.0
    assert decode.retry_after_seconds("Fri, 27 Mar 2026 12:00:05 GMT", now) == 5.0
    assert decode.retry_after_seconds("Fri, 27 Mar 2026 11:00:00 GMT", now) == 0.0
    assert decode.retry_after_seconds(None) is None
    assert decode.retry_after_seconds("soon") is None
    assert decode.retry_after_seconds("nan") is None
    assert decode.retry_after_seconds("-3") == 0.0


def test_oss_errors_are_xml() -> None:
    xml = (
        "<Error><Code>AccessDenied</Code><Message>Policy expired.</Message>"
        "<RequestId>x1</RequestId></Error>"
    )
    assert decode.oss_error_fields(xml) == ("AccessDenied", "Policy expired.", "x1")
    assert decode.oss_error_fields("") == (None, None, None)


def test_an_upload_policy_needs_every_signed_field() -> None:
    data = {
        "policy": "p",
        "signature": "s",
        "upload_dir": "d",
        "upload_host": "https://h",
        "oss_access_key_id": "k",
        "x_oss_object_acl": "private",
        "x_oss_forbid_overwrite": "true",
        "expire_in_seconds": 300,
        "max_file_size_mb": 100,
    }
    policy = decode.upload_policy({"data": data})
    assert policy.max_file_size_mb == 100
    del data["signature"]
    with pytest.raises(MalformedAnswer, match="signature"):
        decode.upload_policy({"data": data})


def test_beijing_has_a_fixed_offset() -> None:
    assert decode.BEIJING.utcoffset(None) == timedelta(hours=8)
