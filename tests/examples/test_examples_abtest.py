"""`imagebuilder test` on the examples against the loopback ComfyUI: Flux Kontext's
prompt found through FluxGuidance and ReferenceLatent, a text-to-image case without an
input image, and Wan 2.2's two samplers with a video output reported as a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comfyserver.comfy import ComfyServer
from comfyserver.project import png
from examples.conftest import copy_example
from imagebuilder.cli import main

TEXT_TO_IMAGE = {
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red car", "clip": ["38", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["31", 0], "vae": ["39", 0]}},
    "27": {
        "class_type": "EmptySD3LatentImage",
        "inputs": {"width": 1024, "height": 1024, "batch_size": 1},
    },
    "31": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 1, "steps": "{{ steps }}", "cfg": "{{ cfg }}",
            "sampler_name": "{{ sampler_name }}", "scheduler": "{{ scheduler }}",
            "denoise": "{{ denoise }}", "model": ["37", 0], "positive": ["35", 0],
            "negative": ["135", 0], "latent_image": ["27", 0],
        },
    },
    "35": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}},
    "37": {"class_type": "UNETLoader",
           "inputs": {"unet_name": "{{ diffusion_model }}", "weight_dtype": "default"}},
    "38": {"class_type": "DualCLIPLoader",
           "inputs": {"clip_name1": "{{ clip_l }}", "clip_name2": "{{ t5xxl }}",
                      "type": "flux", "device": "default"}},
    "39": {"class_type": "VAELoader", "inputs": {"vae_name": "{{ vae }}"}},
    "135": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["6", 0]}},
    "136": {"class_type": "SaveImage", "inputs": {"filename_prefix": "t2i", "images": ["8", 0]}},
}  # fmt: skip


@pytest.fixture
def comfy() -> Iterator[ComfyServer]:
    with ComfyServer(seconds_per_step=0.005, fixed_seconds=0.01, hang_s=20) as server:
        yield server


def run_test(
    config: Path, comfy: ComfyServer, cases: str, capsys: pytest.CaptureFixture[str]
) -> dict[str, dict[str, Any]]:
    (config.parent / "a.png").write_bytes(png(1))
    (config.parent / "cases.yaml").write_text(cases, encoding="utf-8")
    argv = ["test", "-c", str(config), "--target", comfy.url, "--no-warmup", "--json"]
    argv += ["--cases", str(config.parent / "cases.yaml"), "--poll-interval", "0.01"]
    argv += ["--report", str(config.parent / "report.html")]
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    return {f"{row['case']}/{row['variant']}": row for row in document["rows"]}


def test_flux_kontext_edit_and_text_to_image(
    tmp_path: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = copy_example("flux-kontext", tmp_path / "flux")
    workflows = config.parent / "workflows"
    (workflows / "flux_text_to_image.json").write_text(json.dumps(TEXT_TO_IMAGE), "utf-8")
    cases = (
        "version: 1\ncases:\n"
        "  - {name: edit, images: [a.png], prompt: make it red, seed: 3}\n"
        "  - {name: poster, prompt: a red car at dusk, seed: 4}\n"
    )
    rows = run_test(config, comfy, cases, capsys)
    assert rows and all(row["ok"] for row in rows.values()), rows
    edit = next(row for key, row in rows.items() if key.startswith("edit/"))
    poster = next(row for key, row in rows.items() if key.startswith("poster/"))
    assert (edit["workflow"], poster["workflow"]) == ("flux_kontext_edit", "flux_text_to_image")
    prompts = [json.dumps(entry["prompt"][2]) for entry in comfy.history.values()]
    # The prompt went to the encoder at the start of the chain, not into FluxGuidance.
    assert any('"text": "make it red"' in graph for graph in prompts)
    assert any('"text": "a red car at dusk"' in graph for graph in prompts)


def test_wan_video_is_reported_as_a_file_with_its_frames(
    tmp_path: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = copy_example("wan2.2-i2v", tmp_path / "wan")
    cases = "version: 1\ncases:\n  - {name: orbit, images: [a.png], prompt: slow orbit, seed: 9}\n"
    rows = run_test(config, comfy, cases, capsys)
    assert rows and all(row["ok"] for row in rows.values()), rows
    row = next(iter(rows.values()))
    assert row["frames"] == 81 and row["output_bytes"] > 0
    (video,) = row["details"]["videos"]
    assert (video["format"], video["frames"], video["width"]) == ("mp4", 81, 32)
    graphs = [entry["prompt"][2] for entry in comfy.history.values()]
    # Both experts' samplers ran; the seed went to the one that adds noise.
    seeds = [(g["86"]["inputs"]["noise_seed"], g["85"]["inputs"]["noise_seed"]) for g in graphs]
    assert all(seed == (9, 0) for seed in seeds), seeds
