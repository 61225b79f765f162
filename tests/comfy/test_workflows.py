"""Rendering the worker's workflows: goldens, typed placeholders, variants, the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.comfy.workflows import load_templates, render_all, rendered_workflow_files
from imagebuilder.errors import ConfigError, ConfigErrors, WorkflowError
from imagebuilder.project.load import load_config
from imagebuilder.project.lock import Lock, LockEntry
from imagebuilder.project.variants import (
    baseline_name,
    differing_entries,
    effective_config,
    stacks,
    variant_lock,
)
from infra.golden import check_golden_folder
from infra.stacks import (
    SHIPPED_YAML,
    TEMPLATES,
    project,
    shipped_config,
    variant_config,
    variant_yaml,
)


def test_shipped_workflows_match_golden() -> None:
    files = render_all(shipped_config(), templates_dir=TEMPLATES)
    assert sorted(files) == ["index.json", "qwen_image_edit_1.json", "qwen_image_edit_2.json"]
    check_golden_folder("workflows/shipped", files)


def test_variant_workflows_match_golden(tmp_path: Path) -> None:
    files = render_all(variant_config(tmp_path), "lora8", templates_dir=TEMPLATES)
    check_golden_folder("workflows/lora8", files)


def test_placeholders_become_typed_pinned_values() -> None:
    graph = json.loads(
        render_all(shipped_config(), templates_dir=TEMPLATES)["qwen_image_edit_1.json"]
    )
    sampler = graph["3"]
    assert sampler["class_type"] == "KSampler"
    assert sampler["inputs"]["steps"] == 4 and isinstance(sampler["inputs"]["steps"], int)
    assert sampler["inputs"]["cfg"] == 1.0 and isinstance(sampler["inputs"]["cfg"], float)
    assert (sampler["inputs"]["sampler_name"], sampler["inputs"]["scheduler"]) == (
        "euler",
        "simple",
    )
    assert graph["37"]["inputs"]["unet_name"] == "qwen_image_edit_2509_fp8_e4m3fn.safetensors"
    assert graph["38"]["inputs"]["clip_name"] == "qwen_2.5_vl_7b_fp8_scaled.safetensors"
    assert graph["38"]["inputs"]["type"] == "qwen_image"
    assert graph["39"]["inputs"]["vae_name"] == "qwen_image_vae.safetensors"
    assert graph["89"]["inputs"]["lora_name"].endswith("Lightning-4steps-V1.0-bf16.safetensors")
    assert graph["66"]["inputs"]["shift"] == 3.0
    assert "{{" not in json.dumps(graph)


def test_a_model_update_changes_the_loader_file_name(tmp_path: Path) -> None:
    bumped = SHIPPED_YAML.replace(
        "qwen_image_edit_2509_fp8_e4m3fn", "qwen_image_edit_2511_fp8mixed"
    )
    config = load_config(project(tmp_path, bumped, with_templates=False)).config
    graph = json.loads(render_all(config, templates_dir=TEMPLATES)["qwen_image_edit_2.json"])
    assert graph["37"]["inputs"]["unet_name"] == "qwen_image_edit_2511_fp8mixed.safetensors"


def test_index_names_inputs_outputs_and_pinned_files() -> None:
    index = json.loads(render_all(shipped_config(), templates_dir=TEMPLATES)["index.json"])
    two = next(w for w in index["workflows"] if w["name"] == "qwen_image_edit_2")
    assert [i["node"] for i in two["inputs"]] == ["78", "106"]
    assert two["outputs"] == [{"class_type": "SaveImage", "node": "9"}]
    entries = {p["entry"] for p in two["pinned_files"]}
    assert entries == {"diffusion_model", "text_encoder", "vae", "lightning_lora"}
    assert index["sampler"]["steps"] == 4 and index["variant"] is None


def test_unknown_placeholder_names_node_and_key(tmp_path: Path) -> None:
    graph = json.loads((TEMPLATES / "qwen_image_edit_1.json").read_text())
    graph["3"]["inputs"]["seed"] = "{{ seed_value }}"
    (tmp_path / "broken.json").write_text(json.dumps(graph))
    with pytest.raises(WorkflowError) as caught:
        render_all(shipped_config(), templates_dir=tmp_path)
    assert "node 3 input 'seed'" in caught.value.message
    assert "seed_value" in caught.value.message


def test_template_that_is_not_a_graph_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(WorkflowError, match="not an API-format graph"):
        load_templates(tmp_path)
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(WorkflowError, match="not valid JSON"):
        load_templates(tmp_path)


def test_two_loras_without_variants_is_a_clear_error(tmp_path: Path) -> None:
    text = variant_yaml().split("\nvariants:\n")[0]
    config = load_config(project(tmp_path, text, with_templates=False)).config
    with pytest.raises(WorkflowError, match="lora"):
        render_all(config, templates_dir=TEMPLATES)


def test_variants_share_everything_but_sampler_and_their_lora(tmp_path: Path) -> None:
    config = variant_config(tmp_path)
    assert baseline_name(config) == "steps4"
    steps3 = effective_config(config, "steps3")
    lora8 = effective_config(config, "lora8")
    assert steps3.sampler.steps == 3 and steps3.sampler.cfg == 1.0
    assert "lightning_lora" in steps3.models and "lightning_lora_8steps" not in steps3.models
    assert "lightning_lora_8steps" in lora8.models and "lightning_lora" not in lora8.models
    assert lora8.sampler.steps == 8
    assert differing_entries(config, "steps3") == []
    assert differing_entries(config, "lora8") == ["lightning_lora_8steps"]
    assert [(s.name, s.baseline) for s in stacks(config)] == [
        ("steps4", True),
        ("steps3", False),
        ("lora8", False),
    ]
    with pytest.raises(ConfigError, match="unknown variant"):
        effective_config(config, "nope")


def test_variant_lock_holds_only_the_variants_files(tmp_path: Path) -> None:
    config = variant_config(tmp_path)
    entry = LockEntry(
        repo="a/b", file="x.safetensors", revision="main", commit="0" * 40, sha256="1" * 64, size=1
    )
    lock = Lock(version=1, models=dict.fromkeys(config.models, entry))
    narrowed = variant_lock(lock, effective_config(config, "lora8"))
    assert set(narrowed.models) == {
        "diffusion_model",
        "text_encoder",
        "vae",
        "lightning_lora_8steps",
    }


@pytest.mark.parametrize(
    ("variants", "needle"),
    [
        ("variants:\n  a: {baseline: true}\n  b: {baseline: true}\n", "a second baseline"),
        ("variants:\n  a: {lora: vae}\n", "'vae' is not a LoRA entry"),
        ("variants:\n  Bad Name: {}\n", "Bad Name"),
    ],
)
def test_invalid_variants_are_config_errors(tmp_path: Path, variants: str, needle: str) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config(project(tmp_path, SHIPPED_YAML + variants, with_templates=False))
    assert needle in caught.value.render()


def test_rendered_workflow_files_for_the_build_context(tmp_path: Path) -> None:
    config_path = project(tmp_path, SHIPPED_YAML)
    files = rendered_workflow_files(load_config(config_path).config, tmp_path)
    assert set(files) == {"index.json", "qwen_image_edit_1.json", "qwen_image_edit_2.json"}
    assert b"{{" not in b"".join(files.values())
    assert rendered_workflow_files(shipped_config(), tmp_path / "elsewhere") == {}


def test_render_workflows_command_writes_one_folder_per_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = project(tmp_path, variant_yaml())
    out = tmp_path / "out"
    code = main(["render-workflows", "--config", str(config_path), "--out", str(out), "--json"])
    assert code == 0
    written = json.loads(capsys.readouterr().out)["written"]
    assert sorted(written) == ["lora8", "steps3", "steps4"]
    steps3 = json.loads((out / "steps3" / "qwen_image_edit_1.json").read_text())
    assert steps3["3"]["inputs"]["steps"] == 3
