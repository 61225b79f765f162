"""Image comparison against the baseline: SSIM, PSNR, sizes and a difference image.

SSIM is scikit-image's structural_similarity on 8-bit RGB (7x7 window, data range 255,
per channel then averaged): 1.0 means identical structure. PSNR in dB; identical images
have no finite PSNR and are reported as None with ``identical`` set. Images are decoded
with Pillow, refusing decompression bombs: outputs come from a remote worker.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from imagebuilder.abtest.jobs import FailureKind, JobFailed

MAX_PIXELS = 64_000_000  # 8K x 8K; a worker never returns more for an edit
DIFF_GAIN = 4  # small differences are invisible at 1x; clipped at white


@dataclass(frozen=True)
class Decoded:
    pixels: NDArray[np.uint8]  # H x W x 3

    @property
    def size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])  # (width, height)


@dataclass(frozen=True)
class Similarity:
    ssim: float | None  # None when sizes differ
    psnr_db: float | None  # None when identical or sizes differ
    identical: bool
    same_size: bool


def decode(data: bytes) -> Decoded:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise JobFailed(
                    FailureKind.BAD_OUTPUT,
                    f"output is {image.width}x{image.height}, over the limit",
                )
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise JobFailed(
            FailureKind.BAD_OUTPUT, f"output is not a readable image: {error}"
        ) from None
    return Decoded(pixels=pixels)


def similarity(image: Decoded, baseline: Decoded) -> Similarity:
    if image.pixels.shape != baseline.pixels.shape:
        return Similarity(ssim=None, psnr_db=None, identical=False, same_size=False)
    if np.array_equal(image.pixels, baseline.pixels):
        return Similarity(ssim=1.0, psnr_db=None, identical=True, same_size=True)
    # scikit-image ships no type hints for these two
    ssim = structural_similarity(  # type: ignore[no-untyped-call]
        image.pixels, baseline.pixels, channel_axis=2, data_range=255
    )
    psnr = peak_signal_noise_ratio(  # type: ignore[no-untyped-call]
        baseline.pixels, image.pixels, data_range=255
    )
    return Similarity(
        ssim=float(ssim),
        psnr_db=float(psnr) if math.isfinite(psnr) else None,
        identical=False,
        same_size=True,
    )


def difference_image(image: Decoded, baseline: Decoded) -> NDArray[np.uint8] | None:
    """|image - baseline| x DIFF_GAIN per channel; black is equal. None when sizes differ."""
    if image.pixels.shape != baseline.pixels.shape:
        return None
    diff = np.abs(image.pixels.astype(np.int16) - baseline.pixels.astype(np.int16)) * DIFF_GAIN
    clipped: NDArray[np.uint8] = np.clip(diff, 0, 255).astype(np.uint8)
    return clipped


def preview_jpeg(pixels: NDArray[np.uint8], max_side: int, quality: int = 90) -> bytes:
    """A picture for the report: shrunk to ``max_side`` and JPEG-compressed. Scores are
    computed on the full-size lossless outputs; a report of noisy PNGs would weigh
    tens of megabytes."""
    image = Image.fromarray(pixels, mode="RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
