"""`imagebuilder verify` and `inspect` end to end against the loopback Hub (full-size headers)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.errors import ExitCode
from imagebuilder.project.config import Role
from imagebuilder.weights.budget import GIB, Component, plan_budget

MODELS_YAML = Path(__file__).resolve().parents[2] / "models.yaml"


def _stack(tmp_path: Path, gpu_gb: int = 24) -> Path:
    text = MODELS_YAML.read_text().replace("gpu_memory_gb: 24", f"gpu_memory_gb: {gpu_gb}")
    config = tmp_path / "models.yaml"
    config.write_text(text)
    assert main(["lock", "--config", str(config)]) == 0
    return config


def test_budget_is_stage_by_stage_peak() -> None:
    budget = plan_budget(
        [
            Component("te", Role.TEXT_ENCODER, 9 * GIB),
            Component("dm", Role.DIFFUSION_MODEL, 19 * GIB),
            Component("lora", Role.LORA, GIB),
            Component("vae", Role.VAE, GIB // 4),
        ],
        24,
    )
    assert (budget.peak_stage, budget.peak_bytes) == ("denoising", 20 * GIB)
    assert budget.fits and budget.headroom_bytes == 4 * GIB
    assert budget.total_bytes == 29 * GIB + GIB // 4


def test_verify_passes_on_the_2509_stack(qwen_hub, hub_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    hub_env(qwen_hub)
    config = _stack(tmp_path)
    capsys.readouterr()
    qwen_hub.stats.reset()
    assert main(["verify", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["problems"] == []
    assert report["lora_checks"]["lightning_lora"]["applies"]
    assert any("grid artifacts" in w for w in report["warnings"])  # plain FP8 + Lightning
    budget = report["budget"]
    assert budget["peak_stage"] == "denoising" and budget["fits"]
    assert budget["total_bytes"] > 30_000_000_000
    assert report["files"]["diffusion_model"]["architecture"]["layers"] == 60
    assert qwen_hub.stats.bytes_served <= 4 * (1 << 20)  # four headers, no downloads


def test_verify_checks_the_workflows_first(qwen_hub, hub_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    hub_env(qwen_hub)
    config = _stack(tmp_path)
    shutil.copytree(MODELS_YAML.parent / "workflows", tmp_path / "workflows")
    graph_path = tmp_path / "workflows" / "qwen_image_edit_1.json"
    graph = json.loads(graph_path.read_text())
    loader = next(n for n in graph.values() if n["class_type"] == "VAELoader")
    loader["inputs"]["vae_name"] = "not_pinned.safetensors"
    graph_path.write_text(json.dumps(graph))
    capsys.readouterr()
    qwen_hub.stats.reset()
    assert main(["verify", "--config", str(config)]) == ExitCode.WORKFLOW
    assert "not_pinned.safetensors" in capsys.readouterr().err
    assert qwen_hub.stats.bytes_served == 0  # failed before any header read


def test_verify_fails_over_budget(qwen_hub, hub_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    hub_env(qwen_hub)
    config = _stack(tmp_path, gpu_gb=16)
    assert main(["verify", "--config", str(config)]) == 8
    captured = capsys.readouterr()
    assert "exceeds image.gpu_memory_gb = 16.0 GiB" in captured.err
    assert "denoising" in captured.out


def test_inspect_remote_and_malformed_local(qwen_hub, hub_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    hub_env(qwen_hub)
    target = (
        "lightx2v/Qwen-Image-Lightning/Qwen-Image-Edit-2509/"
        "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors@main"
    )
    base = (
        "Comfy-Org/Qwen-Image-Edit_ComfyUI/split_files/diffusion_models/"
        "qwen_image_edit_2509_fp8_e4m3fn.safetensors"
    )
    assert main(["inspect", target, "--against", base, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["lora"]["ranks"] == [64] and result["lora_check"]["applies"]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10" + bytes(7) + b'{"a":1}   ' + bytes(6))
    assert main(["inspect", str(bad)]) == 7
    assert "rule" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["nonsense", "owner/name/../etc.safetensors"])
def test_inspect_rejects_bad_targets(target: str) -> None:
    assert main(["inspect", target]) == 2


def test_inspect_takes_a_pasted_hub_url(qwen_hub, hub_env, capsys) -> None:  # type: ignore[no-untyped-def]
    """Before: `'https:/' is not a Hub repo id`. A download link and the file's page both
    name the file; the loopback Hub is the configured endpoint, as a mirror would be."""
    hub_env(qwen_hub)
    path = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"
    endpoint = os.environ["HF_ENDPOINT"].rstrip("/")
    for url in (
        f"{endpoint}/lightx2v/Qwen-Image-Lightning/resolve/main/{path}?download=true",
        f"{endpoint}/lightx2v/Qwen-Image-Lightning/blob/main/{path}",
    ):
        assert main(["inspect", url, "--json"]) == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["lora"]["ranks"] == [64]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://example.com/a/b/resolve/main/m.safetensors", "not a Hugging Face URL"),
        ("https://huggingface.co/datasets/a/b/resolve/main/m.safetensors", "a dataset"),
        ("https://huggingface.co/a/b", "does not name one file"),
        ("https://huggingface.co/a/b/resolve/main%0Aevil/m.safetensors", "revision"),
    ],
)
def test_a_url_that_names_no_hub_file_is_a_usage_error(
    url: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["inspect", url]) == 2
    assert says in capsys.readouterr().err
