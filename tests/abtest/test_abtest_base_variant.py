"""`imagebuilder test` with a variant that loads another diffusion model entry: the
scaled-FP8 copy of the base beside the pinned plain one (docs/testing-variants.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comfyserver import ComfyServer
from comfyserver.cli import CasesRunner
from comfyserver.project import VARIANTS
from imagebuilder.cli import main

SCALED = "qwen_image_edit_2509_fp8_e4m3fn_scaled.safetensors"
BASE_VARIANTS = f"""
  diffusion_model_scaled:
    role: diffusion_model
    repo: lightx2v/Qwen-Image-Lightning
    file: Qwen-Image-Edit-2509/{SCALED}
    folder: diffusion_models

variants:
  plain: {{baseline: true, diffusion_model: diffusion_model}}
  scaled_fp8: {{diffusion_model: diffusion_model_scaled}}
"""


@pytest.fixture
def base_variants(project: Path) -> Path:
    """The test project with the scaled base as a second diffusion model entry."""
    text = project.read_text(encoding="utf-8").replace(VARIANTS, "")
    text = text.replace("\nsampler:", BASE_VARIANTS.rstrip() + "\n\nsampler:", 1)
    project.write_text(text, encoding="utf-8")
    return project


def _unet_names(comfy: ComfyServer) -> set[str]:
    names = set()
    for entry in comfy.history.values():
        graph = entry["prompt"][2]
        names |= {
            node["inputs"]["unet_name"]
            for node in graph.values()
            if node["class_type"] == "UNETLoader"
        }
    return names


def test_the_scaled_base_is_compared_with_the_plain_one(
    base_variants: Path,
    comfy: ComfyServer,
    run_cases: CasesRunner,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cases(comfy.url, {"one": "make it red"}, two_images="pair")
    assert result.code == 0, result.err
    rows = result.rows()
    assert set(rows) == {(c, v) for c in ("one", "pair") for v in ("plain", "scaled_fp8")}
    assert rows[("one", "plain")]["ssim"] is None  # the baseline is the reference
    assert rows[("one", "scaled_fp8")]["ssim"] is not None
    # Each variant's graphs load its own diffusion model; the LoRA is the same.
    assert _unet_names(comfy) == {"qwen_image_edit_2509_fp8_e4m3fn.safetensors", SCALED}
    # cost prices the declared variant from the measured scaled base (cost.variants).
    assert main(["cost", "-c", str(base_variants), "--json"]) == 0
    cost = {(r["workflow"], r["variant"]): r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert cost[("qwen_image_edit_1", "scaled_fp8")]["seconds_per_step"] == 0.3186
    assert cost[("qwen_image_edit_2", "scaled_fp8")]["seconds_per_step"] == 0.5409
    assert cost[("qwen_image_edit_1", "plain")]["saving"] is None
