"""Smaller things a first hour runs into: lock errors all at once, render --variant,
import-template naming and rules, a workflow with no models."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest

from hubserver.server import HubServer
from imagebuilder.cli import main
from imagebuilder.comfy.import_template import import_workflow
from imagebuilder.comfy.template_models import read_workflow
from imagebuilder.errors import ExitCode
from imagebuilder.project.load import load_config
from imagebuilder.updates.known_rules import IMAGE_PATTERN, update_rules
from infra.stacks import ROOT, project, variant_yaml

OFFICIAL = Path(str(importlib.resources.files("comfyui_workflow_templates_json") / "templates"))
SHIPPED = (ROOT / "models.yaml").read_text()


def one_line(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def test_lock_reports_every_bad_entry_with_a_guess(
    tmp_path: Path, qwen_hub_env: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED.replace("qwen_image_vae.safetensors", "qwen_image_vea.safetensors")
    text = text.replace("split_files/text_encoders/qwen_2.5", "split_files/text_encoder/qwen_2.5")
    config = project(tmp_path, text, with_templates=False)
    assert main(["lock", "-c", str(config)]) == ExitCode.HUB
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, err  # both at once, each its own error line
    assert "entry text_encoder" in errors[0] and "entry vae" in errors[1]
    assert "did you mean 'split_files/vae/qwen_image_vae.safetensors'?" in err
    guess = "did you mean 'split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors'?"
    assert guess in err
    assert not (tmp_path / "models.lock.json").exists()  # nothing half-written


def test_render_a_variant(
    tmp_path: Path, qwen_hub_env: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, variant_yaml())
    assert main(["lock", "-c", str(config)]) == 0
    build = tmp_path / "build"
    args = ["render", "-c", str(config), "--build-dir", str(build), "--json"]
    capsys.readouterr()
    assert main([*args, "--variant", "lora8", "--hub-secret"]) == 0
    layers = {layer["name"] for layer in json.loads(capsys.readouterr().out)["layers"]}
    dockerfile = (build / "Dockerfile").read_text()
    assert "8steps" in dockerfile and "4steps" not in dockerfile  # only this variant's LoRA
    assert "hf_token" in dockerfile  # --hub-secret works with a variant
    assert not any(name == "lightning_lora" for name in layers)
    assert main([*args, "--variant", "steps3"]) == 0
    dockerfile = (build / "Dockerfile").read_text()
    assert "4steps" in dockerfile and "8steps" not in dockerfile
    assert main([*args, "--variant", "nope"]) == ExitCode.CONFIG
    assert "unknown variant 'nope'" in capsys.readouterr().err


def test_import_template_gives_the_shipped_names_and_rules() -> None:
    document = read_workflow(OFFICIAL / "image_qwen_image_edit_2509.json")
    result = import_workflow(document, "x", update_rules)
    shipped = load_config(ROOT / "models.yaml").config.models
    assert {e.name for e in result.entries} == set(shipped)
    for entry in result.entries:
        rule = shipped[entry.name].updates
        if rule is None:
            assert entry.updates is None, entry.name
            continue
        assert entry.updates is not None
        assert entry.updates["pattern"] == rule.pattern
        assert entry.updates.get("follows") == rule.follows
        assert entry.updates.get("precision", "any") == rule.precision


def test_import_template_rules_for_text_to_image_and_none_for_others() -> None:
    qwen = import_workflow(read_workflow(OFFICIAL / "image_qwen_image.json"), "x", update_rules)
    rules = {e.name: e.updates for e in qwen.entries}
    assert rules["diffusion_model"] == {"pattern": IMAGE_PATTERN, "precision": "fp8"}
    assert rules["lightning_lora"] is None  # no base version in its name: nothing to follow
    other = import_workflow(read_workflow(OFFICIAL / "image_z_image_turbo.json"), "x", update_rules)
    assert all(e.updates is None for e in other.entries)


def test_import_template_says_so_when_there_are_no_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"nodes": [{"id": 1, "type": "LoadImage", "widgets_values": []}]}))
    assert main(["import-template", str(empty)]) == ExitCode.WORKFLOW
    assert "no model files found to import" in one_line(capsys.readouterr().err)
    assert main(["import-template", str(OFFICIAL / "image_qwen_image_edit_2509.json")]) == 0
    out = capsys.readouterr().out
    assert "# updates: rules for" in out and "diffusion_model" in out.splitlines()[1]
