"""Stacks with several entries of a role: placeholders by entry name, each LoRA bound to
the model it patches, the checks per sampler chain (Wan 2.2's two experts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imagebuilder.comfy.checks import Severity, check_workflow
from imagebuilder.comfy.workflows import Template, placeholder_values, render_graph
from imagebuilder.errors import WorkflowError
from imagebuilder.project.config import Config

REPO = "Comfy-Org/Wan_2.2_ComfyUI_Repackaged"


def entry(role: str, file: str, folder: str, **extra: Any) -> dict[str, Any]:
    path = f"split_files/{folder}/{file}"
    return {"role": role, "repo": REPO, "file": path, "folder": folder, **extra}


def wan_config() -> Config:
    return Config.model_validate(
        {
            "version": 1,
            "image": {
                "name": "ghcr.io/example/wan",
                "base": "runpod/worker-comfyui@sha256:" + "a" * 64,
                "gpu_memory_gb": 80,
            },
            "models": {
                "high_noise_model": entry(
                    "diffusion_model", "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors",
                    "diffusion_models",
                ),
                "low_noise_model": entry(
                    "diffusion_model", "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors",
                    "diffusion_models",
                ),
                "high_noise_lora": entry(
                    "lora", "high_noise_4steps.safetensors", "loras",
                    base="high_noise_model", distilled_steps=4, strength=1.0,
                ),
                "low_noise_lora": entry(
                    "lora", "low_noise_4steps.safetensors", "loras",
                    base="low_noise_model", distilled_steps=4, strength=0.5,
                ),
                "text_encoder": entry(
                    "text_encoder", "umt5_xxl_fp8_e4m3fn_scaled.safetensors", "text_encoders"
                ),
                "vae": entry("vae", "wan_2.1_vae.safetensors", "vae"),
            },
        }
    )  # fmt: skip


def two_experts() -> dict[str, Any]:
    """The shape of the official Wan 2.2 14B graph: one UNETLoader + LoRA per expert,
    one KSamplerAdvanced each, the second continuing the first's latent."""
    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "{{ high_noise_model }}"}},
        "2": {"class_type": "UNETLoader", "inputs": {"unet_name": "{{ low_noise_model }}"}},
        "3": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {
                "lora_name": "{{ high_noise_lora }}",
                "strength_model": "{{ high_noise_lora.strength }}",
                "model": ["1", 0],
            },
        },
        "4": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {
                "lora_name": "{{ low_noise_lora }}",
                "strength_model": "{{ low_noise_lora.strength }}",
                "model": ["2", 0],
            },
        },
        "5": {"class_type": "ModelSamplingSD3", "inputs": {"shift": 8.0, "model": ["3", 0]}},
        "6": {"class_type": "ModelSamplingSD3", "inputs": {"shift": 8.0, "model": ["4", 0]}},
        "7": {"class_type": "KSamplerAdvanced", "inputs": {"model": ["5", 0], "steps": 4}},
        "8": {"class_type": "KSamplerAdvanced", "inputs": {"model": ["6", 0], "steps": 6}},
        "9": {"class_type": "CLIPLoader", "inputs": {"clip_name": "{{ text_encoder }}"}},
        "10": {"class_type": "VAELoader", "inputs": {"vae_name": "{{ vae }}"}},
    }


def render(graph: dict[str, Any], config: Config) -> dict[str, Any]:
    template = Template("wan", Path("workflows/wan.json"), graph)
    return render_graph(template, placeholder_values(config), config)


def test_entries_are_placeholders_by_name_with_their_strength() -> None:
    config = wan_config()
    rendered = render(two_experts(), config)
    high = rendered["1"]["inputs"]["unet_name"]
    assert high == "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors"
    assert rendered["4"]["inputs"]["lora_name"] == "low_noise_4steps.safetensors"
    assert rendered["4"]["inputs"]["strength_model"] == 0.5
    assert rendered["9"]["inputs"]["clip_name"] == "umt5_xxl_fp8_e4m3fn_scaled.safetensors"


def test_a_role_placeholder_with_several_entries_names_them() -> None:
    graph = two_experts()
    graph["1"]["inputs"]["unet_name"] = "{{ diffusion_model }}"
    with pytest.raises(WorkflowError) as caught:
        render(graph, wan_config())
    assert "placeholder {{ diffusion_model }} has no value" in caught.value.message
    assert caught.value.hint == (
        "the stack has 2 diffusion_model entries (high_noise_model, low_noise_model): "
        "name the one this node loads, e.g. {{ high_noise_model }}"
    )


def test_each_loras_steps_are_checked_against_its_own_sampler() -> None:
    config = wan_config()
    problems = check_workflow("wan", render(two_experts(), config), config)
    # Sampler 8 runs 6 steps on the low-noise chain: one warning, about its own LoRA.
    (warning,) = problems
    assert (warning.severity, warning.node) == (Severity.WARNING, "8")
    assert "'low_noise_4steps.safetensors' was distilled for 4" in warning.message


def test_a_lora_on_the_other_expert_is_an_error() -> None:
    config = wan_config()
    graph = two_experts()
    graph["8"]["inputs"]["steps"] = 4
    graph["3"]["inputs"]["model"] = ["2", 0]  # the high-noise LoRA on the low-noise model
    (problem,) = check_workflow("wan", render(graph, config), config)
    assert (problem.severity, problem.node) == (Severity.ERROR, "3")
    assert problem.message == (
        "LoRA entry 'high_noise_lora' patches 'high_noise_model', but this node applies it "
        "to 'low_noise_model' (loaded by node 2)"
    )
    assert "models.high_noise_lora.base" in problem.hint


def test_an_unpinned_file_hint_names_the_folders_entries() -> None:
    config = wan_config()
    graph = render(two_experts(), config)
    graph["8"]["inputs"]["steps"] = 4
    graph["2"]["inputs"]["unet_name"] = "wan2.2_t2v_low_noise_14B_fp16.safetensors"
    problems = [p for p in check_workflow("wan", graph, config) if p.node == "2"]
    assert "{{ high_noise_model }}, {{ low_noise_model }}" in problems[0].hint
    assert "qwen" not in problems[0].hint.lower()
