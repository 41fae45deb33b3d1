"""Poster frames of done videos (made once per video) and thumbnails of local input images."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from PIL import Image, ImageChops, ImageStat

from kling_batch.hashing import sha256_file
from kling_batch.report import PosterMaker
from kling_batch.report.frames import (
    POSTER_BOX,
    POSTER_FILE,
    THUMBNAIL_BOX,
    FrameFailure,
    Poster,
    Thumbnail,
    image_thumbnail,
    input_thumbnails,
    make_posters,
    poster_frame,
)
from kling_batch.runner.events import Download, EntryDone

from ..delivery.outputs import DONE, FAILED, Review

CLIPS = Path(__file__).resolve().parents[2] / "kling_batch" / "simulator" / "clips"


def posters_of(review: Review, **options: Any) -> dict[str, Poster | FrameFailure]:
    with review.store() as store:
        return make_posters(review.layout, review.manifest, store, **options)


def clip_of(tmp_path: Path, name: str, *arguments: str) -> Path:
    """`name`, made by the ffmpeg binary (tests only) from one of the simulator's clips."""
    clip = tmp_path / name
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*command, *arguments, str(clip)], check=True, stdin=subprocess.DEVNULL)
    return clip


def test_the_runs_report_made_every_poster(finished: Review) -> None:
    posters = posters_of(finished)
    assert list(posters) == list(DONE)
    assert all(isinstance(p, Poster) and not p.made for p in posters.values())


def test_every_done_video_gets_a_poster_beside_it_in_its_shape(review: Review) -> None:
    posters = posters_of(review)
    assert list(posters) == list(DONE)  # the failed entry has nothing to show
    assert FAILED not in posters
    for entry_id, poster in posters.items():
        assert isinstance(poster, Poster) and poster.made
        assert poster.path == review.layout.entry_dir(entry_id) / POSTER_FILE
    with Image.open(review.layout.entry_dir("hero-take1") / POSTER_FILE) as wide:
        assert (wide.format, wide.size) == ("JPEG", (POSTER_BOX[0], 360))
        low, high = wide.convert("L").getextrema()
        assert high - low > 100  # a picture, not a blank
    with Image.open(review.layout.entry_dir("tower") / POSTER_FILE) as tall:
        assert tall.size == (360, POSTER_BOX[1])


def test_a_poster_is_made_once_per_video(review: Review) -> None:
    posters_of(review)
    poster = review.layout.entry_dir("tower") / POSTER_FILE
    before = (poster.read_bytes(), poster.stat().st_mtime_ns)
    again = posters_of(review)
    assert [p.made for p in again.values() if isinstance(p, Poster)] == [False] * len(DONE)
    assert (poster.read_bytes(), poster.stat().st_mtime_ns) == before


def test_posters_made_several_at_a_time_are_those_made_one_at_a_time(review: Review) -> None:
    together = posters_of(review, workers=3)
    assert all(isinstance(p, Poster) and p.made for p in together.values())
    assert list(together) == list(DONE)  # in manifest order, however they finished
    made = {e: (review.layout.entry_dir(e) / POSTER_FILE).read_bytes() for e in DONE}
    for poster in review.layout.folder.glob(f"*/{POSTER_FILE}"):
        poster.unlink()
    alone = posters_of(review, workers=1)
    assert all(isinstance(p, Poster) and p.made for p in alone.values())
    assert {e: (review.layout.entry_dir(e) / POSTER_FILE).read_bytes() for e in DONE} == made


def test_an_untouched_video_is_not_read_again(review: Review) -> None:
    posters_of(review)
    made = {e: (review.layout.entry_dir(e) / POSTER_FILE).read_bytes() for e in DONE}
    video = review.video("tower")
    stamp = video.stat()
    # Other bytes of the same size under the old time stamp: only a read would tell (they
    # neither hash to the recorded sha256 nor decode), and a report does not read a video
    # older than its poster.
    video.write_bytes(bytes(stamp.st_size))
    os.utime(video, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    again = posters_of(review)
    assert isinstance(again["tower"], Poster) and not again["tower"].made
    # Touched since (as by a copy that kept the bytes but not the time): read, found the same.
    for entry_id in ("hero-take1", "flower"):
        os.utime(review.video(entry_id))
    again = posters_of(review)
    assert all(isinstance(p, Poster) and not p.made for p in again.values())
    assert {e: (review.layout.entry_dir(e) / POSTER_FILE).read_bytes() for e in DONE} == made
    poster = review.layout.entry_dir("flower") / POSTER_FILE
    assert poster.stat().st_mtime_ns >= review.video("flower").stat().st_mtime_ns


def test_a_poster_is_made_again_when_its_video_changed(review: Review, tmp_path: Path) -> None:
    target = tmp_path / POSTER_FILE
    wide, tall = CLIPS / "std-16x9.mp4", CLIPS / "std-9x16.mp4"
    first = poster_frame("clip", wide, target, sha256_file(wide))
    assert isinstance(first, Poster) and first.made
    assert Image.open(target).size == (640, 360)
    second = poster_frame("clip", tall, target, sha256_file(tall))
    assert isinstance(second, Poster) and second.made
    assert Image.open(target).size == (360, 640)
    assert not poster_frame("clip", tall, target, sha256_file(tall)).made  # type: ignore[union-attr]
    assert poster_frame("clip", wide, target, sha256_file(wide)).made  # type: ignore[union-attr]


def test_a_poster_made_by_the_previous_release_is_kept(tmp_path: Path) -> None:
    # v2 posters were the frame at 1 s, read by the ffmpeg binary: still a true picture of
    # their video, so an upgrade does not make a thousand of them again.
    clip = CLIPS / "std-16x9.mp4"
    target = tmp_path / POSTER_FILE
    comment = f"kling-batch poster v2 at=1s box=640x640 video-sha256={sha256_file(clip)}"
    Image.new("RGB", (640, 360)).save(target, "JPEG", comment=comment.encode())
    kept = poster_frame("clip", clip, target, sha256_file(clip))
    assert isinstance(kept, Poster) and not kept.made
    assert poster_frame("clip", clip, target, "0" * 64).made  # type: ignore[union-attr]


def test_a_video_changed_by_hand_gets_no_poster_but_a_reason(review: Review) -> None:
    video = review.video("hero-take2")
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0x01
    video.write_bytes(bytes(data))
    review.video("tower").unlink()
    posters = posters_of(review)
    damaged, missing = posters["hero-take2"], posters["tower"]
    assert isinstance(damaged, FrameFailure)
    assert "no longer matches its recorded sha256" in damaged.reason
    assert isinstance(missing, FrameFailure) and "video.mp4 is missing" in missing.reason
    assert isinstance(posters["hero-take1"], Poster)  # the others go on
    assert not (review.layout.entry_dir("hero-take2") / POSTER_FILE).exists()


def test_a_video_whose_frame_cannot_be_read_is_a_typed_failure(tmp_path: Path) -> None:
    broken = tmp_path / "video.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video at all" * 100)
    target = tmp_path / POSTER_FILE
    failure = poster_frame("broken", broken, target, sha256_file(broken))
    assert isinstance(failure, FrameFailure)
    assert failure.subject == "broken"
    assert failure.reason.startswith("ffmpeg cannot read the video: ")
    assert "Invalid data" in failure.reason
    assert list(tmp_path.iterdir()) == [broken]  # no poster, no temporary


def test_without_pyav_the_failure_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # as on a machine where it is not installed
    clip = CLIPS / "std-1x1.mp4"
    failure = poster_frame("clip", clip, tmp_path / POSTER_FILE, "x")
    assert isinstance(failure, FrameFailure)
    assert "the av package (PyAV), which reads the frames, is missing" in failure.reason
    assert list(tmp_path.iterdir()) == []


def test_a_video_without_a_picture_stream_says_so(tmp_path: Path) -> None:
    sound = clip_of(tmp_path, "sound.mp4", "-i", str(CLIPS / "std-1x1.mp4"), "-vn", "-c", "copy")
    failure = poster_frame("sound", sound, tmp_path / POSTER_FILE, "x")
    assert isinstance(failure, FrameFailure)
    assert failure.reason == "the video has no picture to show"


def test_a_poster_is_the_last_keyframe_before_a_second(tmp_path: Path) -> None:
    # A keyframe every half second, each a flat grey of its own: the poster is the one at 1 s.
    clip = tmp_path / "steps.mp4"
    writer = imageio_ffmpeg.write_frames(
        str(clip), (320, 240), fps=24, macro_block_size=8, output_params=["-g", "12"]
    )
    writer.send(None)
    for n in range(48):
        writer.send(bytes([40 + 60 * (n // 12)]) * (320 * 240 * 3))
    writer.close()
    poster = poster_frame("steps", clip, tmp_path / POSTER_FILE, sha256_file(clip))
    assert isinstance(poster, Poster)
    with Image.open(poster.path) as image:
        assert abs(image.convert("L").getpixel((160, 120)) - 160) < 12  # type: ignore[operator]


def test_a_video_shown_turned_gets_an_upright_poster(tmp_path: Path) -> None:
    wide = CLIPS / "std-16x9.mp4"
    turned = clip_of(
        tmp_path, "turned.mp4", "-display_rotation", "90", "-i", str(wide), "-c", "copy"
    )
    target = tmp_path / POSTER_FILE
    assert isinstance(poster_frame("turned", turned, target, sha256_file(turned)), Poster)
    with (
        Image.open(target) as image,
        Image.open(
            clip_of(tmp_path, "upright.png", "-i", str(turned), "-frames:v", "1")
        ) as upright,
    ):
        assert image.size == (360, 640)  # the player shows it tall, and so does the poster
        # The same way round as ffmpeg shows it (compared at the poster's size).
        expected = upright.convert("L").resize(image.size)
        (mean,) = ImageStat.Stat(ImageChops.difference(image.convert("L"), expected)).mean
        assert mean < 8


def test_a_clip_shorter_than_the_seek_shows_its_first_frame(tmp_path: Path) -> None:
    clip = tmp_path / "short.mp4"
    writer = imageio_ffmpeg.write_frames(str(clip), (320, 240), fps=24, macro_block_size=8)
    writer.send(None)
    for _ in range(6):  # a quarter of a second
        writer.send(bytes([200]) * (320 * 240 * 3))
    writer.close()
    poster = poster_frame("short", clip, tmp_path / POSTER_FILE, sha256_file(clip))
    assert isinstance(poster, Poster)
    with Image.open(poster.path) as image:
        assert image.size == (320, 240)
        assert abs(image.convert("L").getpixel((160, 120)) - 200) < 12  # type: ignore[operator]


def test_local_input_images_get_a_thumbnail_made_once_per_content(review: Review) -> None:
    flower = review.manifest.entry("flower")
    (first,) = input_thumbnails(review.layout, flower)
    assert isinstance(first, Thumbnail)
    assert first.path.parent == review.layout.folder / "_thumbnails"
    with Image.open(first.path) as image:
        assert image.format == "JPEG"
        assert max(image.size) == THUMBNAIL_BOX[0]
    stamp = first.path.stat().st_mtime_ns
    (again,) = input_thumbnails(review.layout, flower)
    assert again == first and first.path.stat().st_mtime_ns == stamp
    assert input_thumbnails(review.layout, review.manifest.entry("tower")) == ()


def test_an_unreadable_input_image_is_a_typed_failure(tmp_path: Path) -> None:
    image = tmp_path / "start.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    failure = image_thumbnail(image, tmp_path / "thumbs")
    assert isinstance(failure, FrameFailure)
    assert "start.png is not a readable image" in failure.reason
    assert not (tmp_path / "thumbs").exists() or list((tmp_path / "thumbs").iterdir()) == []


def test_a_run_makes_each_poster_as_its_video_arrives(review: Review) -> None:
    maker = PosterMaker(review.layout)
    with review.store() as store:
        record = store.get("tower")
    assert record is not None
    (kept,) = record.files
    # What the runner says as the tower's video lands: downloaded and verified, then done.
    maker.emit(Download("tower", file="video.mp4", size=kept.size, sha256=kept.sha256))
    maker.emit(Download("tower", file="video.watermark.mp4", size=1, sha256="0" * 64))
    maker.emit(EntryDone("tower", files=("video.mp4",), billed_seconds=3))
    maker.emit(EntryDone("flower", files=("video.mp4",)))  # no download in this run: left alone
    maker.close()
    maker.close()

    made = [e for e in DONE if (review.layout.entry_dir(e) / POSTER_FILE).is_file()]
    assert made == ["tower"]
    posters = posters_of(review)
    # The report made only the others.
    assert {e for e, p in posters.items() if isinstance(p, Poster) and p.made} == set(DONE) - {
        "tower"
    }
