"""import-template --project on the official templates: a project folder that validates
and checks without hand edits (Flux Kontext, Wan 2.2 14B, HiDream), and the UI-to-API
conversion's folding of the frontend's constant nodes, which never runs Python."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.comfy.ui_to_api import _arith
from imagebuilder.project.load import load_config

OFFICIAL = Path(str(importlib.resources.files("comfyui_workflow_templates_json") / "templates"))


@pytest.mark.parametrize(
    ("template", "loaders"),
    [
        ("flux_kontext_dev_basic",
         {"DualCLIPLoader": ["{{ clip_l }}", "{{ t5xxl_fp8_e4m3fn_scaled }}"]}),
        ("video_wan2_2_14B_i2v", {"CLIPLoader": ["{{ text_encoder }}"]}),
        ("hidream_i1_full", {"QuadrupleCLIPLoader": [
            "{{ clip_l_hidream }}", "{{ clip_g_hidream }}", "{{ t5xxl_fp8_e4m3fn_scaled }}",
            "{{ llama_3_1_8b_instruct_fp8_scaled }}",
        ]}),
    ],
)  # fmt: skip
def test_a_template_becomes_a_project_that_validates_and_checks(
    tmp_path: Path, template: str, loaders: dict[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "project"
    args = ["import-template", str(OFFICIAL / f"{template}.json"), "--project", str(folder)]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    config = folder / "models.yaml"
    assert main(["validate", "-c", str(config)]) == 0
    capsys.readouterr()
    assert main(["check-workflows", "-c", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problems"] == []
    (workflow,) = (folder / "workflows").glob("*.json")
    graph = json.loads(workflow.read_text(encoding="utf-8"))
    for class_type, slots in loaders.items():
        node = next(n for n in graph.values() if n["class_type"] == class_type)
        assert [node["inputs"][f] for f in sorted(node["inputs"]) if "clip_name" in f] == slots
    assert all(
        n["inputs"]["steps"] == "{{ steps }}" for n in graph.values() if "steps" in n["inputs"]
    )
    if template.startswith("video_wan"):
        # The template's switch is off: its Lightning LoRAs are not in the graph it runs.
        assert len(report["left_out"]) == 2 and all("lora" in n for n in report["left_out"])
        assert load_config(config).config.sampler.steps == 20
        assert {n["class_type"] for n in graph.values()} >= {"KSamplerAdvanced", "SaveVideo"}
        assert not any("Switch" in n["class_type"] for n in graph.values())


def test_import_project_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models.yaml").write_text("mine\n")
    args = ["import-template", str(OFFICIAL / "hidream_i1_full.json"), "--project", str(tmp_path)]
    assert main(args) == 3
    assert (tmp_path / "models.yaml").read_text() == "mine\n"


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('x')", "a.__class__", "open('f')", "[1] * 10", "9 ** 9 ** 9"],
)
def test_expressions_are_arithmetic_only(expression: str) -> None:
    with pytest.raises(ValueError):
        _arith(expression, {"a": 1})


def test_the_templates_frame_count_expression() -> None:
    assert _arith("floor (a * b + 1)", {"a": 5, "b": 16}) == 81
