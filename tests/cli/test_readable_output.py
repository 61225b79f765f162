"""verify and inspect as a person reads them at 80 columns: whole names, one verdict line.

Against the loopback Hub with the full-size 2509 headers; local files are written with
the safetensors library.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from hubserver.server import HubServer
from imagebuilder.cli import main, output
from imagebuilder.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
LORA = (
    "lightx2v/Qwen-Image-Lightning/Qwen-Image-Edit-2509/"
    "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"
)
BASE = "Comfy-Org/Qwen-Image-Edit_ComfyUI/split_files/diffusion_models/"
FP8 = BASE + "qwen_image_edit_2509_fp8_e4m3fn.safetensors"
BF16 = BASE + "qwen_image_edit_2509_bf16.safetensors"


@pytest.fixture
def wide80(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal 80 columns wide: the Rich console reads its width per print."""
    monkeypatch.setattr(output.stdout, "_width", 80)


def test_verify_names_whole_and_a_verdict_last(
    qwen_hub_env: HubServer, tmp_path: Path, wide80: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "models.yaml"
    shutil.copy(ROOT / "models.yaml", config)
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    assert main(["lock", "-c", str(config)]) == 0
    capsys.readouterr()
    assert main(["verify", "-c", str(config)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    for name in ("diffusion_model", "lightning_lora", "text_encoder", "vae"):
        assert any(line.split()[:1] == [name] for line in lines), name  # never "diffusion_…"
    assert (
        lines[-1]
        == "verify: ok: 4 files as locked, LoRA fits its base, peak 19.82 GiB of 24.00 GiB"
    )
    assert captured.err.count("grid artifacts") == 1  # each warning once


def test_inspect_against_is_formatted(
    qwen_hub_env: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", LORA, "--against", FP8]) == 0
    captured = capsys.readouterr()
    assert "{'" not in captured.out and "('" not in captured.out  # no Python reprs
    assert f"against: {FP8}" in captured.out
    assert "LoRA check: applies, 720/720 targets match (lora_up_down keys)" in captured.out
    assert captured.err.count("warning:") == 1
    assert main(["inspect", FP8, "--against", BF16]) == 0
    out = capsys.readouterr().out
    assert "comparison: drop-in; 846 tensors change dtype" in out


@pytest.mark.parametrize("value", ["abc", "g" * 64, "a" * 63, "a" * 65])
def test_inspect_sha256_must_be_64_hex(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.safetensors"
    save_file({"w": np.zeros((2, 2), dtype=np.float32)}, str(model))
    assert main(["inspect", str(model), "--sha256", value]) == ExitCode.USAGE
    assert "64 hex digits" in " ".join(capsys.readouterr().err.replace("│", " ").split())


def test_inspect_sha256_confirms_a_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.safetensors"
    save_file({"w": np.ones((4, 4), dtype=np.float32)}, str(model))
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert main(["inspect", str(model), "--sha256", digest.upper()]) == 0
    assert f"sha256: matches {digest}" in capsys.readouterr().out
    assert main(["inspect", str(model), "--sha256", digest, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sha256_verified"] == digest
    assert main(["inspect", str(model), "--sha256", "0" * 64]) == ExitCode.CHECK_FAILED


def test_cost_fits_80_columns_and_compares_4_3_2_steps(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped stack declares no variants: cost compares 4, 3 and 2 steps for both
    workflows, one line each, plus the measured scaled-FP8 base, with the measured
    numbers and where they came from."""
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert main(["cost", "-c", str(ROOT / "models.yaml")]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    rows = [line.split() for line in out.splitlines()[1:9]]
    assert [(r[0], r[1]) for r in rows] == [
        (arm, f"qwen_image_edit_{w}")
        for w in (1, 2)
        for arm in ("steps4", "steps3", "steps2", "scaled_fp8")
    ]
    assert rows[0][-1] == "baseline" and rows[1][-1].startswith("+")
    assert "source of cold start: NVIDIA H200" in out.replace("\n  ", " ")  # the GPU as named
