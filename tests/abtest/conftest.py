"""A small project with three variants, tiny input images and a cases file, plus the
loopback ComfyUI and RunPod servers (tests/comfyserver) for `imagebuilder test`."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comfyserver import ComfyServer, RunpodServer

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


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """models.yaml (shipped, plus variants at 4/3/2 steps) and the shipped workflows."""
    text = (ROOT / "models.yaml").read_text(encoding="utf-8") + VARIANTS
    (tmp_path / "models.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    return tmp_path / "models.yaml"


@pytest.fixture
def comfy() -> Iterator[ComfyServer]:
    with ComfyServer(seconds_per_step=0.01, fixed_seconds=0.02, hang_s=20) as server:
        yield server


@pytest.fixture
def runpod(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunpodServer]:
    with RunpodServer(
        seconds_per_step=0.01, fixed_seconds=0.02, cold_start_s=0.2, hang_s=20
    ) as server:
        monkeypatch.setenv("RUNPOD_API_KEY", server.api_key)
        monkeypatch.setenv("RUNPOD_API_BASE", server.api_base)
        yield server
