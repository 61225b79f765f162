"""check-workflows warns, with the measured cost, about work that cannot change the image."""

from __future__ import annotations

from typing import Any

import pytest

from imagebuilder.comfy.checks import Problem, Severity, check_workflow
from imagebuilder.comfy.workflows import rendered_graphs
from infra.stacks import TEMPLATES, shipped_config


def graph_with_wasted_work(images: int = 1) -> dict[str, Any]:
    """The shipped graph as it was before: a negative prompt encode and a VAE-encoded
    start latent, both fed to the KSampler."""
    graph = rendered_graphs(shipped_config(), templates_dir=TEMPLATES)[f"qwen_image_edit_{images}"]
    graph["110"] = {
        "class_type": "TextEncodeQwenImageEditPlus",
        "inputs": {**graph["111"]["inputs"], "prompt": ""},
    }
    graph["88"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["117", 0], "vae": ["39", 0]}}
    del graph["120"]
    return graph


def warnings(graph: dict[str, Any], name: str = "qwen_image_edit_1") -> list[Problem]:
    problems = check_workflow(name, graph, shipped_config())
    assert all(p.severity is Severity.WARNING for p in problems), [p.render() for p in problems]
    return problems


def test_shipped_graphs_do_no_wasted_work() -> None:
    for name, graph in rendered_graphs(shipped_config(), templates_dir=TEMPLATES).items():
        assert check_workflow(name, graph, shipped_config()) == [], name


def test_negative_encode_at_cfg_1_warns_with_the_measured_saving() -> None:
    negative, latent = warnings(graph_with_wasted_work())
    assert negative.node == "3"
    assert "negative conditioning comes from TextEncodeQwenImageEditPlus (node 110)" in (
        negative.message
    )
    # models.yaml's measured one-image numbers: text encode 0.2176 s + VAE encode 0.0529 s
    # of a 2.228 s warm 4-step job.
    assert "measured on NVIDIA H200: about 0.27 s a job, 12% of a warm job" in negative.message
    assert "ConditioningZeroOut" in negative.hint
    assert "start latent comes from VAEEncode (node 88)" in latent.message
    assert "about 0.05 s a job, 2% of a warm job" in latent.message
    assert "EmptySD3LatentImage" in latent.hint and "GetImageSize" in latent.hint


def test_two_image_workflow_uses_its_own_measurements() -> None:
    negative, latent = warnings(graph_with_wasted_work(2), "qwen_image_edit_2")
    # 0.4176 + 0.0988 s of a 0.9992 + 4 x 0.6409 = 3.56 s job; one of two references.
    assert "about 0.52 s a job, 14% of a warm job" in negative.message
    assert "about 0.05 s a job, 1% of a warm job" in latent.message


@pytest.mark.parametrize(("key", "value"), [("cfg", 4.0), ("denoise", 0.6)])
def test_no_warning_where_the_work_is_used(key: str, value: float) -> None:
    graph = graph_with_wasted_work()
    graph["3"]["inputs"][key] = value
    messages = [p.message for p in check_workflow("qwen_image_edit_1", graph, shipped_config())]
    dropped = "negative conditioning" if key == "cfg" else "start latent"
    assert not any(dropped in m for m in messages), messages


def test_without_cost_inputs_the_warning_still_comes() -> None:
    config = shipped_config().model_copy(update={"cost": None})
    problems = check_workflow("qwen_image_edit_1", graph_with_wasted_work(), config)
    assert len(problems) == 2
    assert all("measured" not in p.message for p in problems)
