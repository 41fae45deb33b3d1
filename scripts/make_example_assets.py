"""Make the small example images of manifests/assets/ (committed; run again to regenerate).

Each is a 640x360 picture, a gradient with a simple shape, small enough (a few KB) to keep in
git and valid for Kling: JPEG or PNG without alpha, 300 to 8000 px a side, ratio 16:9.

    .venv/bin/python scripts/make_example_assets.py [FOLDER]
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parents[1] / "manifests" / "assets"
SIZE = (640, 360)


def gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    """A vertical gradient: every row is one colour, which PNG compresses to almost nothing."""
    width, height = SIZE
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    return image


def flower(radius: int, petals: int) -> Image.Image:
    image = gradient((18, 32, 64), (120, 170, 90))
    draw = ImageDraw.Draw(image)
    cx, cy = 320, 200
    draw.rectangle([cx - 3, cy, cx + 3, 360], fill=(40, 110, 50))
    for index in range(petals):
        angle = 360 * index / petals
        draw.pieslice(
            [cx - radius, cy - radius, cx + radius, cy + radius],
            angle,
            angle + 360 / petals / 2,
            fill=(236, 120, 160),
        )
    draw.ellipse([cx - 18, cy - 18, cx + 18, cy + 18], fill=(250, 210, 60))
    return image


def moon_cat() -> Image.Image:
    image = gradient((8, 10, 40), (40, 50, 90))
    draw = ImageDraw.Draw(image)
    draw.ellipse([470, 40, 570, 140], fill=(240, 236, 200))
    # A cat in silhouette: body, head, ears, tail.
    draw.ellipse([200, 240, 330, 320], fill=(12, 12, 16))
    draw.ellipse([300, 200, 360, 260], fill=(12, 12, 16))
    draw.polygon([(305, 215), (312, 185), (325, 208)], fill=(12, 12, 16))
    draw.polygon([(335, 208), (350, 185), (356, 218)], fill=(12, 12, 16))
    draw.line([(205, 290), (160, 250), (150, 215)], fill=(12, 12, 16), width=9)
    draw.rectangle([0, 318, 640, 360], fill=(20, 24, 30))
    return image


def coffee_cup() -> Image.Image:
    image = gradient((90, 60, 40), (230, 205, 170))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([250, 150, 390, 290], radius=18, fill=(245, 245, 240))
    draw.ellipse([375, 185, 435, 245], outline=(245, 245, 240), width=12)
    draw.ellipse([255, 140, 385, 170], fill=(80, 45, 25))
    draw.ellipse([200, 285, 440, 315], fill=(235, 235, 228))
    return image


def make(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = {
        "flower-start.png": flower(60, 6),
        "flower-end.png": flower(140, 10),
        "cat-moonlight.jpg": moon_cat(),
        "coffee-cup.jpg": coffee_cup(),
    }
    for name, image in made.items():
        image.save(
            folder / name, optimize=True, **({"quality": 80} if name.endswith(".jpg") else {})
        )
    return [folder / name for name in made]


def main(argv: list[str]) -> None:
    folder = Path(argv[0]) if argv else ASSETS
    for path in make(folder):
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
