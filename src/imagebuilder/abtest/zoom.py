"""Where a variant differs most from the baseline, as a crop people can look at closely.

The window of ``side`` x ``side`` pixels with the largest summed difference is found with
an integral image (one pass, no loop over windows), then the same window of both
outputs is cut out and enlarged with nearest-neighbour scaling, so single pixels stay
visible as blocks instead of being smoothed away.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

CROP_SIDE = 48  # pixels of the output
SHOWN_SIDE = 144  # pixels on the page: x3 for a 48-pixel crop


@dataclass(frozen=True)
class Window:
    x: int
    y: int
    side: int

    @property
    def factor(self) -> int:
        return max(1, SHOWN_SIDE // self.side)


def largest_difference(diff: NDArray[np.uint8], side: int = CROP_SIDE) -> Window:
    """The top-left corner of the ``side``-square window whose difference sum is largest
    (the first such window when several tie; the whole image when it is smaller)."""
    height, width = diff.shape[:2]
    side = max(1, min(side, height, width))
    energy = diff.astype(np.int64).sum(axis=2) if diff.ndim == 3 else diff.astype(np.int64)
    integral = np.zeros((height + 1, width + 1), dtype=np.int64)
    integral[1:, 1:] = energy.cumsum(axis=0).cumsum(axis=1)
    sums = (
        integral[side:, side:]
        - integral[:-side, side:]
        - integral[side:, :-side]
        + integral[:-side, :-side]
    )
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return Window(x=int(x), y=int(y), side=side)


def crop(pixels: NDArray[np.uint8], window: Window) -> NDArray[np.uint8]:
    """The window of ``pixels``, enlarged ``window.factor`` times, pixels as blocks."""
    part = pixels[window.y : window.y + window.side, window.x : window.x + window.side]
    enlarged: NDArray[np.uint8] = np.repeat(
        np.repeat(part, window.factor, axis=0), window.factor, axis=1
    )
    return enlarged


def png(pixels: NDArray[np.uint8]) -> bytes:
    """Lossless, so the enlarged pixels are the output's own, not JPEG's blocks."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()
