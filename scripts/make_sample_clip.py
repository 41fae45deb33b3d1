"""Make the simulator's sample clips: kling_batch/simulator/sample.mp4 and sample_watermark.mp4.

Three seconds of ffmpeg's moving test pattern with its running time counter, 320x180, 24 fps,
H.264 yuv420p with the index up front, so any player shows a real picture; the watermark variant
adds a box in the bottom-right corner where Kling puts its "可灵AI" mark. Uses the ffmpeg binary
that the imageio-ffmpeg package ships (`pip install -e '.[media]'`); the simulator itself only
reads the committed files.

    python scripts/make_sample_clip.py [--out-dir kling_batch/simulator]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import imageio_ffmpeg

SIZE = "320x180"
FPS = 24
SECONDS = 3
LIMIT = 200 * 1024  # a committed test asset must stay small
# The stand-in for the watermark: a translucent white box, bottom right.
WATERMARK = "drawbox=x=iw-84:y=ih-28:w=76:h=20:color=white@0.7:t=fill"


def make(out: Path, extra_filter: str | None) -> None:
    pattern = f"testsrc=size={SIZE}:rate={FPS}:duration={SECONDS}:decimals=2"
    filters = ",".join(part for part in ("format=yuv420p", extra_filter) if part)
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        pattern,
        "-vf",
        filters,
        "-c:v",
        "libx264",
        "-profile:v",
        "high",
        "-preset",
        "veryslow",
        "-crf",
        "30",
        "-pix_fmt",
        "yuv420p",
        # Fixed metadata, so that running the script again gives the same bytes.
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-movflags",
        "+faststart",
        str(out),
    ]
    subprocess.run(command, check=True)
    size = out.stat().st_size
    if size > LIMIT:
        raise SystemExit(f"{out} is {size} bytes, over the {LIMIT} byte budget")
    print(f"{out}: {size} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "kling_batch" / "simulator"
    parser.add_argument("--out-dir", type=Path, default=default)
    args = parser.parse_args()
    make(args.out_dir / "sample.mp4", None)
    make(args.out_dir / "sample_watermark.mp4", WATERMARK)


if __name__ == "__main__":
    main()
