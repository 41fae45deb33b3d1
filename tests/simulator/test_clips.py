"""A task's video is true to its request: its shape, its pixel size in usage, its sound.

The videos are read here with a box reader of the test's own, not the simulator's, so a wrong
reader in the simulator cannot agree with itself.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any

import pytest

IMG = "https://example.com/frame.png"


@dataclass(frozen=True)
class Track:
    handler: bytes  # hdlr's handler type: b"vide", b"soun"
    size: tuple[int, int]  # tkhd's width and height (16.16 fixed point, whole pixels here)
    coded: tuple[int, int] | None  # the width and height of the first stsd visual entry


def _boxes(data: bytes) -> dict[bytes, list[bytes]]:
    """Each kind of box laid end to end in `data`, with the bodies of that kind."""
    found: dict[bytes, list[bytes]] = {}
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        assert 8 <= size <= len(data) - offset, f"a malformed {kind!r} box"
        found.setdefault(kind, []).append(data[offset + 8 : offset + size])
        offset += size
    assert offset == len(data)
    return found


def _only(data: bytes, *path: bytes) -> bytes:
    for kind in path:
        (data,) = _boxes(data)[kind]
    return data


def tracks(mp4: bytes) -> list[Track]:
    found = []
    for trak in _boxes(_only(mp4, b"moov")).get(b"trak", []):
        tkhd = _only(trak, b"tkhd")
        width, height = (value >> 16 for value in struct.unpack(">II", tkhd[-8:]))
        hdlr = _only(trak, b"mdia", b"hdlr")
        stsd = _only(trak, b"mdia", b"minf", b"stbl", b"stsd")
        coded = None
        if hdlr[8:12] == b"vide":
            # stsd: version/flags, entry count; the entry: size, format, 6 reserved bytes, data
            # reference index, 16 bytes pre-defined and reserved, then width and height.
            entry = stsd[8:]
            assert entry[4:8] == b"avc1"
            coded = struct.unpack(">HH", entry[32:36])
        found.append(Track(hdlr[8:12], (width, height), coded))
    return found


async def render(api: Any, media: list[dict[str, Any]] | None = None, **parameters: Any) -> Any:
    task_id = await api.create_id(api.body("a cat", media=media, **parameters))
    return await api.wait_for(task_id, "SUCCEEDED")


def usage_size(done: dict[str, Any]) -> tuple[int, int]:
    width, height = done["usage"]["size"].split("*")
    return int(width), int(height)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("parameters", "size", "sound"),
    [
        ({"mode": "std", "aspect_ratio": "9:16", "audio": True}, (720, 1280), True),
        ({"mode": "pro", "aspect_ratio": "9:16"}, (1080, 1920), False),
        ({"mode": "pro", "aspect_ratio": "1:1", "audio": True}, (1080, 1080), True),
        ({"mode": "std", "aspect_ratio": "1:1", "audio": False}, (720, 720), False),
        ({"mode": "std", "aspect_ratio": "16:9"}, (1280, 720), False),
        ({}, (1920, 1080), False),  # the defaults: pro, 16:9, no audio
    ],
)
async def test_the_video_has_the_shape_size_and_sound_asked_for(
    serve, connect, parameters: dict[str, Any], size: tuple[int, int], sound: bool
) -> None:
    async with connect(serve(render_seconds=0.05)) as api:
        done = await render(api, watermark=True, **parameters)
        videos = [
            (await api.client.get(done["output"][name])).content
            for name in ("video_url", "watermark_video_url")
        ]
    assert usage_size(done) == size and done["usage"]["SR"] == str(min(size))
    assert done["usage"]["audio"] is sound
    for video in videos:
        picture, *others = tracks(video)
        assert picture.handler == b"vide"
        assert picture.size == picture.coded == size
        assert [track.handler for track in others] == ([b"soun"] if sound else [])
        # Still a free box naming the task, last.
        assert _boxes(video)[b"free"][-1].endswith(done["output"]["task_id"].encode())
    assert videos[0] != videos[1]  # the watermarked picture is another picture


@pytest.mark.anyio
async def test_a_first_frame_render_without_an_aspect_ratio_is_16_9(serve, connect) -> None:
    async with connect(serve(render_seconds=0.05)) as api:
        done = await render(api, [{"type": "first_frame", "url": IMG}], mode="std", audio=True)
        video = (await api.client.get(done["output"]["video_url"])).content
    (picture, sound) = tracks(video)
    assert usage_size(done) == picture.size == picture.coded == (1280, 720)
    assert sound.handler == b"soun"


@pytest.mark.anyio
async def test_same_request_two_tasks_two_files(serve, connect) -> None:
    async with connect(serve(render_seconds=0.05)) as api:
        first, second = [await render(api, aspect_ratio="9:16") for _ in range(2)]
        videos = [(await api.client.get(d["output"]["video_url"])).content for d in (first, second)]
        part = await api.client.get(
            second["output"]["video_url"], headers={"Range": f"bytes={len(videos[1]) - 40}-"}
        )
    assert hashlib.sha256(videos[0]).digest() != hashlib.sha256(videos[1]).digest()
    assert tracks(videos[0]) == tracks(videos[1])
    assert part.status_code == 206 and part.content == videos[1][-40:]
    assert part.content.endswith(second["output"]["task_id"].encode())
