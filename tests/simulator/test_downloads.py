"""Result videos over loopback: real MP4 bytes, Range, HEAD, signed URLs that expire."""

from __future__ import annotations

import struct

import pytest

from kling_batch.simulator._media import render_clip


def top_level_boxes(data: bytes) -> list[bytes]:
    kinds, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        assert size >= 8, "a malformed box"
        kinds.append(kind)
        offset += size
    assert offset == len(data)
    return kinds


async def finished(api, **parameters):
    task_id = await api.create_id(api.body("a cat", **parameters))
    return (await api.wait_for(task_id, "SUCCEEDED"))["output"]


@pytest.mark.anyio
async def test_a_video_url_serves_a_real_mp4_of_its_own(serve, connect) -> None:
    server = serve(render_seconds=0.05)
    async with connect(server) as api:
        first, second = await finished(api), await finished(api, mode="std")
        one = await api.client.get(first["video_url"])
        two = await api.client.get(second["video_url"])
    assert one.status_code == 200 and one.headers["content-type"] == "video/mp4"
    assert int(one.headers["content-length"]) == len(one.content)
    assert one.headers["accept-ranges"] == "bytes"
    assert one.content.startswith(render_clip("pro", "16:9", False, False))
    assert top_level_boxes(one.content)[:1] == [b"ftyp"] and b"moov" in top_level_boxes(one.content)
    assert first["task_id"].encode() in one.content
    assert one.content != two.content  # each task's video has its own sha256
    assert server.simulator.stats().downloads == 2


@pytest.mark.anyio
async def test_the_watermark_url_serves_the_watermarked_clip(serve, connect) -> None:
    async with connect(serve(render_seconds=0.05)) as api:
        output = await finished(api, watermark=True)
        marked = await api.client.get(output["watermark_video_url"])
        plain = await api.client.get(output["video_url"])
    assert marked.content.startswith(render_clip("pro", "16:9", True, False))
    assert plain.content.startswith(render_clip("pro", "16:9", False, False))
    assert render_clip("pro", "16:9", True, False) != render_clip("pro", "16:9", False, False)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=100-", 100, None), ("bytes=10-19", 10, 19), ("bytes=-30", None, None)],
)
async def test_a_range_answers_206_with_content_range(serve, connect, header, first, last) -> None:
    async with connect(serve(render_seconds=0.05)) as api:
        url = (await finished(api))["video_url"]
        whole = (await api.client.get(url)).content
        part = await api.client.get(url, headers={"Range": header})
    size = len(whole)
    start = size - 30 if first is None else first
    end = size - 1 if last is None else last
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert part.content == whole[start : end + 1]


@pytest.mark.anyio
async def test_a_range_past_the_end_is_416(serve, connect) -> None:
    async with connect(serve(render_seconds=0.05)) as api:
        url = (await finished(api))["video_url"]
        size = len((await api.client.get(url)).content)
        answer = await api.client.get(url, headers={"Range": f"bytes={size}-"})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{size}"


@pytest.mark.anyio
async def test_head_gives_the_length_without_the_body(serve, connect) -> None:
    async with connect(serve(render_seconds=0.05)) as api:
        url = (await finished(api))["video_url"]
        head = await api.client.head(url)
        whole = await api.client.get(url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(whole.content)


@pytest.mark.anyio
async def test_video_urls_are_signed_and_last_30_days(serve, connect) -> None:
    server = serve(render_seconds=0.05)
    async with connect(server) as api:
        output = await finished(api)
        url = output["video_url"]
        tampered = await api.client.get(url.replace("Signature=", "Signature=x"))
        no_watermark = await api.client.get(url.replace("video.mp4", "video_watermark.mp4"))
        unknown = await api.client.get(url.replace(output["task_id"], "no-such-task"))
        server.simulator.advance(29 * 24 * 3600)
        later = await api.client.get(url)
        server.simulator.advance(2 * 24 * 3600)
        expired = await api.client.get(url)
    assert tampered.status_code == 403 and b"SignatureDoesNotMatch" in tampered.content
    assert no_watermark.status_code == 404 and b"NoSuchKey" in no_watermark.content
    assert unknown.status_code == 404
    assert later.status_code == 200  # after the task id itself is long UNKNOWN
    assert expired.status_code == 403 and b"expired" in expired.content
