"""Image comparison against the baseline: SSIM, PSNR, sizes and a difference image.

SSIM is scikit-image's structural_similarity on 8-bit RGB (7x7 window, data range 255,
per channel then averaged): 1.0 means identical structure. PSNR in dB; identical images
have no finite PSNR and are reported as None with ``identical`` set. Images are decoded
with Pillow, refusing decompression bombs: outputs come from a remote worker.

Memory is bounded whatever the worker returns: an output over MAX_SCORED_PIXELS is
shrunk (Lanczos, aspect kept) right after decoding and only that copy is kept and
scored (SSIM allocates ~130 bytes per pixel); two outputs of one size shrink to the same
copy, so scores stay comparable, and the row says the size scored. Full-size decodes
(up to MAX_PIXELS, ~200-400 MB each) run one at a time.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from imagebuilder.abtest.jobs import Decoded, FailureKind, JobFailed

__all__ = ["Decoded", "decode", "difference_image", "preview_jpeg", "similarity"]

MAX_PIXELS = 64_000_000  # 8K x 8K; a worker never returns more for an edit
# Outputs are scored at up to ~2 Mpx (1448 x 1448): Qwen-Image-Edit's 1-1.8 Mpx outputs
# at their own size, larger ones on a shrunk copy.
MAX_SCORED_PIXELS = 2_100_000
DIFF_GAIN = 4  # small differences are invisible at 1x; clipped at white
_FULL_SIZE_DECODE = threading.Lock()  # one full-size decode at a time: bounded memory
_RESIZABLE = {"RGB", "RGBA", "L", "LA"}  # modes Lanczos resizes as they are


@dataclass(frozen=True)
class Similarity:
    ssim: float | None  # None when sizes differ
    psnr_db: float | None  # None when identical or sizes differ
    identical: bool
    same_size: bool


def scored_size(width: int, height: int) -> tuple[int, int]:
    """The size an output of ``width`` x ``height`` is scored at (itself when small)."""
    if width * height <= MAX_SCORED_PIXELS:
        return width, height
    scale = math.sqrt(MAX_SCORED_PIXELS / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def decode(data: bytes) -> Decoded:
    """The image as 8-bit RGB, shrunk to at most MAX_SCORED_PIXELS."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise JobFailed(
                    FailureKind.BAD_OUTPUT,
                    f"output is {image.width}x{image.height}, over the limit of "
                    f"{MAX_PIXELS:,} pixels",
                )
            full = (image.width, image.height)
            target = scored_size(*full)
            if target == full:
                return Decoded(pixels=np.asarray(image.convert("RGB"), dtype=np.uint8))
            with _FULL_SIZE_DECODE:
                image.load()
                source = image if image.mode in _RESIZABLE else image.convert("RGB")
                small = source.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
                del source
            pixels = np.asarray(small.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError:
        raise JobFailed(
            FailureKind.BAD_OUTPUT,
            f"output is not an image ({len(data):,} bytes, starting {_peek(data)})",
        ) from None
    except (OSError, Image.DecompressionBombError) as error:
        raise JobFailed(
            FailureKind.BAD_OUTPUT, f"output is not a readable image: {error}"
        ) from None
    return Decoded(pixels=pixels, full_size=full)


def _peek(data: bytes) -> str:
    """The first bytes as text a reader can place ('<html>502 Bad Gateway'), not a repr."""
    head = data[:24].decode("latin-1")
    return "'" + "".join(c if c.isprintable() and c.isascii() else "." for c in head) + "'"


def _same_size(image: Decoded, baseline: Decoded) -> bool:
    return image.size == baseline.size and image.pixels.shape == baseline.pixels.shape


def similarity(image: Decoded, baseline: Decoded) -> Similarity:
    if not _same_size(image, baseline):
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
    if not _same_size(image, baseline):
        return None
    diff = np.abs(image.pixels.astype(np.int16) - baseline.pixels.astype(np.int16)) * DIFF_GAIN
    clipped: NDArray[np.uint8] = np.clip(diff, 0, 255).astype(np.uint8)
    return clipped


def preview_jpeg(pixels: NDArray[np.uint8], max_side: int, quality: int = 90) -> bytes:
    """A picture for the report: shrunk to ``max_side`` and JPEG-compressed. Scores are
    computed on the lossless outputs (or their bounded copies); a report of noisy PNGs
    would weigh tens of megabytes."""
    image = Image.fromarray(pixels, mode="RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
