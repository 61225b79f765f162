"""Consistency checks: each problem names its workflow, node id and what to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagebuilder.cli import main
from imagebuilder.comfy.checks import Problem, Severity, check_stack_workflows, check_workflow
from imagebuilder.comfy.workflows import rendered_graphs
from imagebuilder.errors import ExitCode
from imagebuilder.project.config import Config
from imagebuilder.project.load import load_config
from infra.stacks import SHIPPED_YAML, TEMPLATES, project, shipped_config, variant_yaml


def shipped_graph(name: str = "qwen_image_edit_1") -> dict[str, Any]:
    return rendered_graphs(shipped_config(), templates_dir=TEMPLATES)[name]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


def test_shipped_stack_is_consistent(tmp_path: Path) -> None:
    assert check_stack_workflows(shipped_config(), TEMPLATES) == []


def test_unpinned_loader_file_is_an_error_with_node_id() -> None:
    graph = shipped_graph()
    graph["37"]["inputs"]["unet_name"] = "qwen_image_edit_2511_bf16.safetensors"
    problem = only(check_workflow("qwen_image_edit_1", graph, shipped_config()))
    assert problem.severity is Severity.ERROR
    assert problem.node == "37"
    assert "'qwen_image_edit_2511_bf16.safetensors'" in problem.message
    assert "not a pinned file" in problem.message
    assert "qwen_image_edit_2509_fp8_e4m3fn.safetensors" in problem.hint
    assert problem.render().startswith("qwen_image_edit_1.json node 37: UNETLoader loads")


def test_pinned_file_in_the_wrong_folder_is_an_error() -> None:
    graph = shipped_graph()
    graph["39"]["inputs"]["vae_name"] = "qwen_2.5_vl_7b_fp8_scaled.safetensors"  # a text encoder
    problem = only(check_workflow("qwen_image_edit_1", graph, shipped_config()))
    assert (problem.node, problem.severity) == ("39", Severity.ERROR)
    assert "models/vae" in problem.message


def test_link_to_missing_node_is_an_error_with_node_id() -> None:
    graph = shipped_graph()
    graph["3"]["inputs"]["model"] = ["999", 0]
    problem = only(check_workflow("qwen_image_edit_1", graph, shipped_config()))
    assert (problem.node, problem.severity) == ("3", Severity.ERROR)
    assert problem.message == "input 'model' links to node '999', which does not exist"


def test_link_to_missing_output_slot_is_an_error() -> None:
    graph = shipped_graph()
    graph["8"]["inputs"]["vae"] = ["39", 1]  # VAELoader has one output
    problem = only(check_workflow("qwen_image_edit_1", graph, shipped_config()))
    assert problem.node == "8"
    assert "output 1 of node 39 (VAELoader), which has 1 output(s)" in problem.message


def test_malformed_node_is_an_error() -> None:
    graph = shipped_graph()
    graph["50"] = {"inputs": {}}
    problem = only(check_workflow("qwen_image_edit_1", graph, shipped_config()))
    assert problem.node == "50" and "class_type" in problem.message


def with_sampler(tmp_path: Path, steps: int, cfg: float = 1.0, lora_steps: int = 4) -> Config:
    text = SHIPPED_YAML.replace("  steps: 4 ", f"  steps: {steps} ", 1).replace(
        "  cfg: 1.0 ", f"  cfg: {cfg} ", 1
    )
    if lora_steps != 4:
        text = text.replace("4steps-V1.0", f"{lora_steps}steps-V1.0").replace(
            "distilled_steps: 4", f"distilled_steps: {lora_steps}"
        )
    return load_config(project(tmp_path, text, with_templates=False)).config


@pytest.mark.parametrize(
    ("sampler", "workflow", "in_message"),
    [
        # A 4-step LoRA run at 8 steps: slower, and no better.
        ({"steps": 8}, "qwen_image_edit_1",
         ["runs 8 steps", "distilled for 4", "4 extra transformer pass(es)"]),
        # An 8-step LoRA cut to 3 steps: cheaper, and probably worse.
        ({"steps": 3, "lora_steps": 8}, "qwen_image_edit_2", ["distilled for 8", "fewer steps"]),
        # cfg above 1 doubles the passes and Lightning was distilled without it.
        ({"steps": 4, "cfg": 2.5}, "qwen_image_edit_1", ["cfg 2.5 above 1", "unconditional pass"]),
    ],
)  # fmt: skip
def test_sampler_settings_off_the_loras_distillation_are_warnings_with_reasons(
    tmp_path: Path, sampler: dict[str, Any], workflow: str, in_message: list[str]
) -> None:
    config = with_sampler(tmp_path, **sampler)
    graph = rendered_graphs(config, templates_dir=TEMPLATES)[workflow]
    problem = only(check_workflow(workflow, graph, config))
    assert (problem.node, problem.severity) == ("3", Severity.WARNING)
    assert all(text in problem.message for text in in_message), problem.message
    if sampler == {"steps": 8}:
        assert "set sampler.steps to 4" in problem.hint


def test_each_variant_is_checked_and_named(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, variant_yaml(), with_templates=False)).config
    problems = check_stack_workflows(config, TEMPLATES)
    # steps3 runs the 4-step LoRA at 3 steps, in both workflows; lora8 at 8 is consistent.
    assert {(p.variant, p.workflow, p.node) for p in problems} == {
        ("steps3", "qwen_image_edit_1", "3"),
        ("steps3", "qwen_image_edit_2", "3"),
    }
    assert problems[0].render().startswith("variant steps3: qwen_image_edit_1.json node 3:")


def break_template(config_path: Path) -> None:
    path = config_path.parent / "workflows" / "qwen_image_edit_2.json"
    graph = json.loads(path.read_text())
    graph["111"]["inputs"]["image2"] = ["404", 0]
    path.write_text(json.dumps(graph))


def test_validate_fails_with_exit_11_naming_the_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = project(tmp_path, SHIPPED_YAML)
    assert main(["validate", "--config", str(config_path)]) == 0
    break_template(config_path)
    assert main(["validate", "--config", str(config_path)]) == ExitCode.WORKFLOW
    err = capsys.readouterr().err
    assert "qwen_image_edit_2.json node 111: input 'image2' links to node '404'" in err
    assert "Traceback" not in err


def test_validate_reports_warnings_on_stderr_and_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = project(tmp_path, SHIPPED_YAML.replace("  steps: 4 ", "  steps: 8 ", 1))
    assert main(["validate", "--config", str(config_path), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert {w["node"] for w in result["workflows"]["warnings"]} == {"3"}
    assert "warning: qwen_image_edit_1.json node 3: KSampler runs 8 steps" in captured.err


def test_check_workflows_json_lists_errors_and_exits_11(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = project(tmp_path, SHIPPED_YAML)
    break_template(config_path)
    assert main(["check-workflows", "--config", str(config_path), "--json"]) == ExitCode.WORKFLOW
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["workflow"], p["node"], p["severity"]) for p in problems] == [
        ("qwen_image_edit_2", "111", "error")
    ]


def test_validate_without_a_workflows_folder_checks_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = project(tmp_path, SHIPPED_YAML, with_templates=False)
    assert main(["validate", "--config", str(config_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["workflows"]["templates"] is None
