"""Files a `imagebuilder test` run needs: tiny input images, a cases file, a project."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = """
variants:
  steps4: {baseline: true}
  steps3: {sampler: {steps: 3}}
  steps2: {sampler: {steps: 2}}
"""


def png(seed: int, size: int = 48) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def write_cases(
    folder: Path, prompts: dict[str, str], *, two_images: str | None = None, size: int = 48
) -> Path:
    """One one-image case per prompt (name -> prompt), plus one two-image case if named."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    (images / "a.png").write_bytes(png(1, size))
    (images / "b.png").write_bytes(png(2, size))
    lines = ["version: 1", "cases:"]
    for index, (name, prompt) in enumerate(prompts.items()):
        lines += [f"  - name: {name}", "    images: [images/a.png]", f"    prompt: '{prompt}'"]
        lines.append(f"    seed: {100 + index}")
    if two_images:
        lines += [f"  - name: {two_images}", "    images: [images/a.png, images/b.png]"]
        lines += ["    prompt: combine them", "    seed: 7"]
    path = folder / "cases.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_project(folder: Path) -> Path:
    """models.yaml (shipped, plus variants at 4/3/2 steps) and the shipped workflows."""
    text = (ROOT / "models.yaml").read_text(encoding="utf-8") + VARIANTS
    (folder / "models.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(ROOT / "workflows", folder / "workflows")
    return folder / "models.yaml"
