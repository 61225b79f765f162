"""import-template on the official ComfyUI templates (PyPI comfyui-workflow-templates-json)."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest

from imagebuilder.cli import main
from imagebuilder.comfy.import_template import import_workflow, parse_hub_url
from imagebuilder.comfy.template_models import read_workflow
from imagebuilder.comfy.workflows import render_all
from imagebuilder.errors import ExitCode, WorkflowError
from imagebuilder.project.config import ModelEntry
from imagebuilder.project.load import load_config
from infra.stacks import ROOT, TEMPLATES, shipped_config

OFFICIAL = Path(str(importlib.resources.files("comfyui_workflow_templates_json") / "templates"))


def official(name: str) -> Any:
    return read_workflow(OFFICIAL / f"{name}.json")


def declared_models(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    """The template's own model list: (directory, name, url) of every node's properties."""
    nodes = list(document.get("nodes", []))
    for subgraph in document.get("definitions", {}).get("subgraphs", []):
        nodes.extend(subgraph.get("nodes", []))
    return {
        (model["directory"], model["name"], model.get("url", ""))
        for node in nodes
        for model in node.get("properties", {}).get("models", []) or []
    }


def test_qwen_image_edit_2509_gives_the_four_shipped_entries() -> None:
    result = import_workflow(official("image_qwen_image_edit_2509"), "2509")
    assert result.format == "ui" and result.skipped == ()
    shipped = shipped_config().models
    got = {(e.role, e.repo, e.file, e.revision, e.folder) for e in result.entries}
    assert got == {(m.role.value, m.repo, m.file, m.revision, m.folder) for m in shipped.values()}
    lora = next(e for e in result.entries if e.role == "lora")
    assert (lora.distilled_steps, lora.strength) == (4, 1.0)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "image_qwen_image_edit_2511",
            {
                "diffusion_model": "split_files/diffusion_models/"
                "qwen_image_edit_2511_fp8mixed.safetensors",
                "lightning_lora": "Qwen-Image-Edit-2511-Lightning-4steps-V1.0-bf16.safetensors",
                "text_encoder": "split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors",
                "vae": "split_files/vae/qwen_image_vae.safetensors",
            },
        ),
        (
            "image_qwen_image",
            {
                "diffusion_model": "split_files/diffusion_models/qwen_image_fp8_e4m3fn.safetensors",
                "lightning_lora": "Qwen-Image-Lightning-8steps-V1.0.safetensors",
                "text_encoder": "split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors",
                "vae": "split_files/vae/qwen_image_vae.safetensors",
            },
        ),
        (
            "image_z_image_turbo",
            {
                "diffusion_model": "split_files/diffusion_models/z_image_turbo_bf16.safetensors",
                "text_encoder": "split_files/text_encoders/qwen_3_4b.safetensors",
                "vae": "split_files/vae/ae.safetensors",
            },
        ),
    ],
)
def test_other_official_templates(template: str, expected: dict[str, str]) -> None:
    result = import_workflow(official(template), template)
    assert {e.name: e.file for e in result.entries} == expected
    for entry in result.entries:  # each entry is a valid models.yaml entry as printed
        ModelEntry.model_validate(entry.yaml_fields())


def test_every_official_template_matches_its_own_model_list() -> None:
    checked = 0
    for path in sorted(OFFICIAL.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or "nodes" not in document:
            continue  # the index files, not workflows
        declared = declared_models(document)
        result = import_workflow(document, path.name)
        by_key = {(d, n): u for d, n, u in declared}
        for entry in result.entries:
            url = by_key[(entry.folder, entry.file_name)]
            assert (entry.repo, entry.file, entry.revision) == parse_hub_url(url), path.name
        accounted = {(e.folder, e.file_name) for e in result.entries}
        for directory, name, _ in declared:
            assert (directory, name) in accounted or any(
                s.startswith(f"{directory}/{name}:") for s in result.skipped
            ), f"{path.name}: {directory}/{name} neither imported nor skipped"
        checked += 1
    assert checked > 100


def test_api_format_gives_file_names_without_repos() -> None:
    graph = json.loads(
        render_all(shipped_config(), templates_dir=TEMPLATES)["qwen_image_edit_1.json"]
    )
    result = import_workflow(graph, "api.json")
    assert result.format == "api"
    assert {(e.role, e.file_name, e.repo) for e in result.entries} == {
        (m.role.value, m.dest_name, None) for m in shipped_config().models.values()
    }


def ui_loader(name: str, url: str, directory: str = "loras") -> dict[str, Any]:
    return {
        "nodes": [
            {
                "id": 1,
                "type": "LoraLoaderModelOnly",
                "widgets_values": [name, 0.8],
                "properties": {"models": [{"name": name, "url": url, "directory": directory}]},
            }
        ]
    }


@pytest.mark.parametrize(
    ("name", "url", "reason"),
    [
        ("x.safetensors", "https://evil.example/a/b/resolve/main/x.safetensors", "not a Hugging"),
        ("x.ckpt", "https://huggingface.co/a/b/resolve/main/x.ckpt", "pickle-based"),
        ("x.safetensors", "https://huggingface.co/a/b/resolve/main/../x.safetensors", "safe"),
        ("x.safetensors", "https://huggingface.co/a--b/c/resolve/main/x.safetensors", "repo id"),
    ],
)
def test_hostile_urls_are_skipped_with_a_reason(name: str, url: str, reason: str) -> None:
    result = import_workflow(ui_loader(name, url), "hostile.json")
    assert result.entries == ()
    assert len(result.skipped) == 1 and reason in result.skipped[0]


def test_not_a_workflow_is_a_workflow_error(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(WorkflowError, match="not a ComfyUI workflow"):
        import_workflow(read_workflow(path), "x.json")
    path.write_text("{nope")
    with pytest.raises(WorkflowError, match="not a JSON workflow"):
        read_workflow(path)


def test_cli_prints_yaml_that_loads_as_models_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-template", str(OFFICIAL / "image_qwen_image_edit_2509.json")]) == 0
    snippet = capsys.readouterr().out
    assert snippet.startswith("# models.yaml entries for image_qwen_image_edit_2509.json")
    shipped = (ROOT / "models.yaml").read_text()
    head = shipped.split("\nmodels:\n")[0]
    config_path = tmp_path / "models.yaml"
    config_path.write_text(head + "\n" + snippet)
    config = load_config(config_path).config
    assert {m.file for m in config.models.values()} == {
        m.file for m in shipped_config().models.values()
    }


def test_cli_json_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-template", str(OFFICIAL / "image_qwen_image.json"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "ui" and len(data["entries"]) == 4
    assert main(["import-template", str(tmp_path / "none.json")]) == ExitCode.WORKFLOW


HUGE = {"raw": {"size": 30_000_000}}  # declared by the Hub's metadata, never read


def test_import_template_reads_a_workflow_from_its_hub_url(
    qwen_small_hub: Any, hub_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workflow shared on the Hub is imported from its pasted URL (or owner/name/path),
    the same entries as from the file; a model file is refused by size, unread."""
    hub_env(qwen_small_hub)
    source = OFFICIAL / "image_qwen_image_edit_2509.json"
    qwen_small_hub.add_repo(
        {
            "id": "someone/flows",
            "commits": [
                {"files": {"edit/qwen.json": {"text": source.read_text()}, "huge.json": HUGE}}
            ],
        }
    )
    capsys.readouterr()
    assert main(["import-template", str(source), "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    endpoint = qwen_small_hub.url.rstrip("/")
    for pasted in (
        f"{endpoint}/someone/flows/blob/main/edit/qwen.json",
        f"{endpoint}/someone/flows/resolve/main/edit/qwen.json?download=true",
        "someone/flows/edit/qwen.json@main",
    ):
        assert main(["import-template", pasted, "--json"]) == 0, capsys.readouterr().err
        remote = json.loads(capsys.readouterr().out)
        assert remote["entries"] == local["entries"] and remote["source"] == "qwen.json"
    assert main(["import-template", "someone/flows/huge.json"]) == ExitCode.CONFIG
    assert "30,000,000 bytes, over the" in capsys.readouterr().err
