"""Make the simulator's committed clips: the renders it serves, and the small sample.

Renders (kling_batch/simulator/clips/): one clip per mode and aspect ratio, at the pixel size the
service's `usage.size` reports (RENDER_SIZES in kling_batch/simulator/_media.py: std 720P is
1280x720, 720x1280, 720x720; pro 1080P is 1920x1080, 1080x1920, 1080x1080), each also with the
watermark. Three seconds of SMPTE HD colour bars with a
white square moving left to right, 24 fps, H.264 yuv420p with the index up front, and a mono AAC
track that ticks once a second. Flat bars and a square that only moves cost almost nothing to
encode, so even a 1080P clip stays near 15 KB. The simulator drops the sound track when a task did
not ask for audio (kling_batch/simulator/_mp4.py), so each picture is committed once.

Sample (kling_batch/simulator/sample.mp4): 320x180, three seconds of ffmpeg's moving test pattern
with its running time counter, no sound: too small to be taken as an input video, which the media
checks' tests rely on, and the report tests' stand-in video.

Uses the ffmpeg binary that the imageio-ffmpeg package ships (`pip install -e '.[media]'`); the
simulator itself only reads the committed files. The same ffmpeg gives the same bytes again.

    python scripts/make_sample_clip.py [--out-dir kling_batch/simulator]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import imageio_ffmpeg

from kling_batch.simulator._media import RENDER_SIZES, clip_name

FPS = 24
SECONDS = 3
LIMIT = 100 * 1024  # a committed test asset must stay small
# The stand-in for Kling's "可灵AI" mark: a translucent white box, bottom right, sized by the
# shorter side so it looks the same in every shape.
WATERMARK = (
    "drawbox=w=min(iw\\,ih)/4:h=min(iw\\,ih)/14:x=iw-w-min(iw\\,ih)/30:"
    "y=ih-h-min(iw\\,ih)/30:color=white@0.7:t=fill"
)
# A 0.1 s tick of 880 Hz at the start of every second: a sound track a listener can hear.
TICK = f"aevalsrc=0.3*sin(2*PI*880*t)*lt(mod(t\\,1)\\,0.1):s=24000:d={SECONDS}"
# Fixed metadata, so that running the script again gives the same bytes.
REPRODUCIBLE = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags", "+bitexact"]
H264 = ["-c:v", "libx264", "-profile:v", "high", "-preset", "veryslow", "-pix_fmt", "yuv420p"]


def make_render(out: Path, width: int, height: int, watermark: bool) -> None:
    # The square moves in whole 16 px macroblocks on a macroblock row, which the encoder
    # predicts exactly: a few KB less per clip than a smooth glide.
    side = 16 * max(1, min(width, height) // 128)
    step = 16 * -(-(width - side) // (16 * FPS * SECONDS))  # across in about SECONDS
    row = 16 * ((height - side) // 32)
    pictures = f"smptehdbars=size={width}x{height}:rate={FPS}:duration={SECONDS}"
    square = f"color=white:size={side}x{side}:rate={FPS}:duration={SECONDS}"
    picture = f"[0][1]overlay=x='min({step}*n\\,W-w)':y={row},format=yuv420p"
    if watermark:
        picture += "," + WATERMARK
    inputs = ["-f", "lavfi", "-i", pictures, "-f", "lavfi", "-i", square, "-f", "lavfi", "-i", TICK]
    run(
        [
            *inputs,
            "-filter_complex",
            picture + "[v]",
            "-map",
            "[v]",
            "-map",
            "2:a",
            *H264,
            "-crf",
            "36",
            "-g",
            str(FPS * SECONDS),  # one key frame: the bars never change
            "-c:a",
            "aac",
            "-ac",
            "1",
            "-b:a",
            "16k",
            *REPRODUCIBLE,
            "-movflags",
            "+faststart",
            str(out),
        ],
        out,
    )


def make_sample(out: Path) -> None:
    pattern = f"testsrc=size=320x180:rate={FPS}:duration={SECONDS}:decimals=2"
    run(
        [
            "-f",
            "lavfi",
            "-i",
            pattern,
            "-vf",
            "format=yuv420p",
            *H264,
            "-crf",
            "30",
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-movflags",
            "+faststart",
            str(out),
        ],
        out,
    )


def run(arguments: list[str], out: Path) -> None:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*command, *arguments], check=True)
    size = out.stat().st_size
    if size > LIMIT:
        raise SystemExit(f"{out} is {size} bytes, over the {LIMIT} byte budget")
    print(f"{out}: {size} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "kling_batch" / "simulator"
    parser.add_argument("--out-dir", type=Path, default=default)
    args = parser.parse_args()
    make_sample(args.out_dir / "sample.mp4")
    (args.out_dir / "clips").mkdir(exist_ok=True)
    for (mode, aspect_ratio), (width, height) in RENDER_SIZES.items():
        for watermark in (False, True):
            out = args.out_dir / clip_name(mode, aspect_ratio, watermark)
            make_render(out, width, height, watermark)


if __name__ == "__main__":
    main()
