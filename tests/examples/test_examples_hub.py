"""The examples against the loopback Hub at full size: lock, verify (families, each
LoRA on its own base, the budget per expert) and check-updates (a newer Wan Lightning
LoRA, a Flux fp8 repackage)."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.conftest import copy_example
from hubserver.server import HubServer
from hubserver.stacks import add_wan_lora_v2, repackage_flux_fp8
from infra.project import cli_json


def locked(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    config = copy_example(name, tmp_path / name)
    code, result = cli_json(capsys, "lock", "-c", str(config))
    assert code == 0, result
    return config


def test_flux_kontext_locks_verifies_and_finds_a_repackage(
    tmp_path: Path, stacks_hub_env: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = locked("flux-kontext", tmp_path, capsys)
    code, report = cli_json(capsys, "verify", "-c", str(config))
    assert code == 0 and report["ok"], report["problems"]
    families = {name: f["architecture"]["family"] for name, f in report["files"].items()}
    assert families == {
        "diffusion_model": "flux", "clip_l": "clip_text", "t5xxl": "t5", "vae": "image_vae"
    }  # fmt: skip
    assert report["files"]["diffusion_model"]["file_size"] == 11_904_608_888
    code, checked = cli_json(capsys, "check-updates", "-c", str(config))
    assert code == 0 and not checked["changes"], checked
    repackage_flux_fp8(stacks_hub_env)
    code, checked = cli_json(capsys, "check-updates", "-c", str(config))
    (change,) = checked["changes"]
    assert change["entry"] == "diffusion_model", change
    assert change["kind"] == "content-changed", change


def test_wan_locks_verifies_each_lora_on_its_expert_and_finds_lora_v2(
    tmp_path: Path, stacks_hub_env: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = locked("wan2.2-i2v", tmp_path, capsys)
    code, report = cli_json(capsys, "verify", "-c", str(config))
    assert code == 0 and report["ok"], report["problems"]
    experts = report["files"]["high_noise_model"]["architecture"]
    assert (experts["family"], experts["variant"], experts["layers"]) == ("wan", "i2v_2.2", 40)
    checks = report["lora_checks"]
    assert {name: (c["base"], c["applies"]) for name, c in checks.items()} == {
        "high_noise_lora": ("high_noise_model", True),
        "low_noise_lora": ("low_noise_model", True),
    }
    stages = {s["name"]: s["components"] for s in report["budget"]["stages"]}
    assert stages["denoising (high_noise_model)"] == ["high_noise_model", "high_noise_lora"]
    assert report["budget"]["fits"]
    add_wan_lora_v2(stacks_hub_env)
    code, checked = cli_json(capsys, "check-updates", "-c", str(config))
    proposed = {c["entry"]: c for c in checked["changes"] + checked.get("options", [])}
    assert set(proposed) == {"high_noise_lora", "low_noise_lora"}, checked
    high = proposed["high_noise_lora"]
    assert (high["kind"], high["why"]) == ("newer-lora", "newer LoRA version V2 (was V1)")
    assert high["proposed"]["file"].endswith("4steps_lora_v2_high_noise.safetensors")
    assert proposed["low_noise_lora"]["proposed"]["file"].endswith("v2_low_noise.safetensors")
