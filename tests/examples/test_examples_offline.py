"""The examples validate and check offline, and render each loader to its entry's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.conftest import EXAMPLES, NAMES
from imagebuilder.cli import main
from imagebuilder.comfy.workflows import rendered_graphs
from imagebuilder.project.load import load_config


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_and_its_workflows_check(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(EXAMPLES / name / "models.yaml")
    assert main(["validate", "-c", config]) == 0
    capsys.readouterr()
    assert main(["check-workflows", "-c", config, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["problems"] == [] and result["object_info"]["comfyui"], result


def test_flux_kontext_binds_both_clip_slots() -> None:
    config = load_config(EXAMPLES / "flux-kontext" / "models.yaml").config
    graphs = rendered_graphs(config, templates_dir=EXAMPLES / "flux-kontext" / "workflows")
    clip = graphs["flux_kontext_edit"]["38"]["inputs"]
    assert (clip["clip_name1"], clip["clip_name2"]) == (
        "clip_l.safetensors",
        "t5xxl_fp8_e4m3fn_scaled.safetensors",
    )


def test_wan_binds_each_expert_with_its_lora(tmp_path: Path) -> None:
    config = load_config(EXAMPLES / "wan2.2-i2v" / "models.yaml").config
    graph = rendered_graphs(config, templates_dir=EXAMPLES / "wan2.2-i2v" / "workflows")[
        "wan22_i2v"
    ]
    assert graph["95"]["inputs"]["unet_name"] == "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors"
    assert graph["101"]["inputs"]["lora_name"].endswith("_high_noise.safetensors")
    assert graph["102"]["inputs"]["lora_name"].endswith("_low_noise.safetensors")
    assert graph["104"]["inputs"]["shift"] == 5.0
