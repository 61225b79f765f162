"""Stacks the workflow, check, cost and build tests share: the shipped one and a variant one."""

from __future__ import annotations

import shutil
from pathlib import Path

from imagebuilder.project.config import Config
from imagebuilder.project.load import load_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_YAML = (ROOT / "models.yaml").read_text()
TEMPLATES = ROOT / "workflows"

LORA_8_STEPS = """
  lightning_lora_8steps:
    role: lora
    repo: lightx2v/Qwen-Image-Lightning
    file: Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-8steps-V1.0-bf16.safetensors
    revision: main
    folder: loras
    distilled_steps: 8

"""

VARIANTS = """
variants:
  steps4:
    baseline: true
    description: the shipped 4-step Lightning stack
  steps3:
    description: one step fewer with the 4-step LoRA
    sampler: {steps: 3}
  lora8:
    description: the 8-step Lightning LoRA at 8 steps
    lora: lightning_lora_8steps
    sampler: {steps: 8}
"""


def variant_yaml() -> str:
    """The shipped models.yaml plus the 8-step LoRA entry and three variants."""
    text = SHIPPED_YAML.replace("\nsampler:\n", LORA_8_STEPS + "sampler:\n", 1)
    assert text != SHIPPED_YAML
    return text + VARIANTS


def project(tmp_path: Path, yaml_text: str, *, with_templates: bool = True) -> Path:
    """A project folder: models.yaml (+ the shipped workflows/); returns models.yaml."""
    config_path = tmp_path / "models.yaml"
    config_path.write_text(yaml_text)
    if with_templates:
        shutil.copytree(TEMPLATES, tmp_path / "workflows")
    return config_path


def shipped_config() -> Config:
    return load_config(ROOT / "models.yaml").config


def variant_config(tmp_path: Path) -> Config:
    return load_config(project(tmp_path, variant_yaml(), with_templates=False)).config
