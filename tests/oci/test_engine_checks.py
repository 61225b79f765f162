"""The locked engine against the pinned files: `verify` exits 8 for a 2511 fp8mixed file on
a ComfyUI older than 0.5.0 and names both versions; a new enough engine passes."""

from __future__ import annotations

import pytest

from hubserver.releases import FP8MIXED_2511, publish_2511
from imagebuilder.errors import ExitCode
from infra.hostile import ORIGINAL
from infra.project import cli_json
from infra.workerbase import engine_yaml, push_base, worker_layers

pytestmark = pytest.mark.integration
DM_2509 = "split_files/diffusion_models/qwen_image_edit_2509_fp8_e4m3fn.safetensors"


@pytest.mark.parametrize(("version", "code"), [("0.3.64", ExitCode.CHECK_FAILED), ("0.5.1", 0)])
def test_verify_checks_the_files_against_the_locked_engine(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, registry, isolated, capsys, version, code
) -> None:
    hub_env(qwen_hub)
    publish_2511(qwen_hub)
    base = push_base(registry, "worker/verify", version, worker_layers(version))
    config = isolated / "models.yaml"
    config.write_text(engine_yaml(base).replace(DM_2509, FP8MIXED_2511))
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    got, report = cli_json(capsys, "verify", "-c", str(config))
    assert got == code, report
    needs = report["files"]["diffusion_model"]["needs_engine"]
    assert needs["comfyui"] == "0.5.0"
    assert report["engine"]["comfyui_version"] == version
    if code:
        (problem,) = [p for p in report["problems"] if "ComfyUI" in p]
        assert "needs ComfyUI >= 0.5.0" in problem and f"ComfyUI {version}" in problem
        assert "__index_timestep_zero__" in problem


def test_verify_without_a_pinned_engine_warns(qwen_hub, hub_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    hub_env(qwen_hub)
    publish_2511(qwen_hub)
    config = tmp_path / "models.yaml"
    config.write_text(ORIGINAL.replace(DM_2509, FP8MIXED_2511))
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    code, report = cli_json(capsys, "verify", "-c", str(config))
    assert code == 0 and report["engine"] is None
    assert any("the engine is not pinned" in w for w in report["warnings"])
