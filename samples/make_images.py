"""Draw the sample input images (samples/images/*.png) from code, the same every run.

The project ships no third-party photos: these scenes are flat shapes and gradients
drawn with Pillow, 1024x1024 like the inputs the cost numbers were measured with.
Run `uv run python samples/make_images.py` after changing a drawing; a test checks the
committed PNGs hold exactly the pixels this script draws.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 1024
HERE = Path(__file__).resolve().parent


def _vertical_gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    ramp = np.linspace(0.0, 1.0, SIZE, dtype=np.float64)[:, None, None]
    colours = (1 - ramp) * np.array(top) + ramp * np.array(bottom)
    pixels = np.broadcast_to(colours, (SIZE, SIZE, 3)).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(pixels), mode="RGB")


def red_ball() -> Image.Image:
    image = _vertical_gradient((110, 170, 235), (235, 240, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 700, SIZE, SIZE), fill=(90, 150, 70))
    draw.ellipse((380, 420, 640, 680), fill=(200, 30, 40))
    draw.ellipse((440, 470, 500, 530), fill=(240, 150, 150))  # highlight
    draw.ellipse((360, 690, 660, 720), fill=(60, 100, 50))  # shadow
    return image


def house() -> Image.Image:
    image = _vertical_gradient((150, 200, 245), (250, 235, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 760, SIZE, SIZE), fill=(120, 110, 90))
    draw.rectangle((280, 470, 740, 780), fill=(230, 220, 190))
    draw.polygon([(250, 480), (510, 250), (770, 480)], fill=(150, 60, 50))
    draw.rectangle((460, 620, 560, 780), fill=(100, 70, 40))
    for left in (320, 610):
        draw.rectangle((left, 540, left + 90, 620), fill=(120, 170, 210))
    draw.ellipse((820, 80, 940, 200), fill=(255, 220, 90))  # sun
    return image


def box() -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (236, 232, 224))
    draw = ImageDraw.Draw(image)
    draw.polygon([(300, 420), (560, 340), (760, 420), (500, 500)], fill=(205, 175, 130))
    draw.polygon([(300, 420), (500, 500), (500, 780), (300, 700)], fill=(170, 135, 90))
    draw.polygon([(500, 500), (760, 420), (760, 700), (500, 780)], fill=(140, 105, 65))
    return image


def pattern() -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (30, 60, 120))
    draw = ImageDraw.Draw(image)
    step = 128
    for row in range(SIZE // step):
        for col in range(SIZE // step):
            x, y = col * step, row * step
            if (row + col) % 2 == 0:
                draw.rectangle((x, y, x + step - 1, y + step - 1), fill=(240, 200, 60))
            draw.ellipse((x + 40, y + 40, x + 88, y + 88), fill=(220, 60, 90))
    return image


IMAGES: dict[str, Callable[[], Image.Image]] = {
    "red_ball.png": red_ball,
    "house.png": house,
    "box.png": box,
    "pattern.png": pattern,
}


def main(out: Path = HERE / "images") -> int:
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in IMAGES.items():
        draw().save(out / name, format="PNG", optimize=True)
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
