"""The locked engine against the pinned files: `verify` exits 8 for a 2511 fp8mixed file on
a ComfyUI older than 0.5.0 and names both versions; a new enough engine passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hubserver.releases import FP8MIXED_2511, publish_2511
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode
from infra.hostile import ORIGINAL
from infra.project import cli_json
from infra.workerbase import engine_yaml, push_base, worker_layers

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
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


def _engine_project(registry, isolated: Path, capsys, version: str) -> Path:  # type: ignore[no-untyped-def]
    base = push_base(registry, "worker/schema", version, worker_layers(version))
    config = isolated / "models.yaml"
    config.write_text(engine_yaml(base))
    shutil.copytree(ROOT / "workflows", isolated / "workflows")
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    return config


def test_check_workflows_uses_the_locked_engines_snapshot(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, registry, isolated, capsys
) -> None:
    hub_env(qwen_hub)
    config = _engine_project(registry, isolated, capsys, "0.3.64")
    code, report = cli_json(capsys, "check-workflows", "-c", str(config))
    assert code == 0, report  # the shipped snapshot records 0.3.64: it is the engine's
    assert report["object_info"]["comfyui"].startswith("0.3.64")


def test_check_workflows_fails_without_a_snapshot_of_the_engine(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, registry, isolated, capsys
) -> None:
    hub_env(qwen_hub)
    config = _engine_project(registry, isolated, capsys, "0.5.1")
    assert main(["check-workflows", "-c", str(config)]) == ExitCode.WORKFLOW
    err = capsys.readouterr().err
    assert "no node schema of ComfyUI 0.5.1" in err and "ComfyUI 0.3.64" in err
    assert "--refresh-object-info" in err
    shipped = isolated / "workflows" / "schema" / "object_info.json"
    assert main(["check-workflows", "-c", str(config), "--object-info", str(shipped)]) == 11
    err = capsys.readouterr().err
    assert "snapshot is of ComfyUI 0.3.64, the locked engine is ComfyUI 0.5.1" in err
    # A snapshot of 0.5.1 beside the other one: the check uses it.
    document = json.loads(shipped.read_text())
    document["comfyui"] = {"version": "0.5.1", "source": "test"}
    (shipped.parent / "object_info-0.5.1.json").write_text(json.dumps(document))
    code, report = cli_json(capsys, "check-workflows", "-c", str(config))
    assert code == 0 and report["object_info"]["path"].endswith("object_info-0.5.1.json")
