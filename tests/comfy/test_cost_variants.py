"""cost with measured variants: another diffusion model file, priced from its own numbers
and compared with the baseline measured in the same run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.comfy.cost import Arm, arms_from_config, compute, load_inputs
from imagebuilder.comfy.workflows import placeholder_values
from imagebuilder.project.cost_settings import CostSettings, MeasuredVariant, WorkflowCost
from imagebuilder.project.load import load_config
from imagebuilder.project.variants import effective_config
from infra.stacks import SHIPPED_YAML, project, shipped_config

RESULTS = Path(__file__).parents[2] / "benchmarks/gpu/results/h200-2026-12-04.json"
SCALED = "qwen_image_edit_2509_fp8_e4m3fn_scaled.safetensors"


def _inputs() -> CostSettings:
    def numbers(step: float) -> WorkflowCost:
        return WorkflowCost(seconds_per_step=step, fixed_seconds={"io": 0.5})

    return CostSettings(
        gpu="test GPU",
        price_per_hour=3.6,
        seconds_per_step=0.5,  # another day's baseline: never what a variant is compared with
        fixed_seconds={"io": 0.5},
        variants={
            "baseline": MeasuredVariant(models="the pinned stack", workflows={"all": numbers(0.4)}),
            "scaled_fp8": MeasuredVariant(models=SCALED, workflows={"all": numbers(0.3)}),
        },
    )


def test_a_measured_variant_is_a_row_of_its_own_against_its_runs_baseline() -> None:
    report = compute([Arm("steps4", 4, 1.0, baseline=True)], _inputs())
    base, scaled = report.rows
    assert (scaled.variant, scaled.steps) == ("scaled_fp8", 4)
    assert scaled.seconds_per_job == pytest.approx(0.5 + 4 * 0.3)
    # Against the same run's baseline (0.5 + 4 x 0.4 = 2.1 s), not the top level's 2.5 s.
    assert scaled.saving == pytest.approx(1 - 1.7 / 2.1)
    assert base.seconds_per_job == pytest.approx(2.5) and base.saving is None
    assert any("25.0% less per step" in note for note in report.notes)
    assert ("variant scaled_fp8 (all)", "not stated") in report.sources


def test_a_declared_variant_with_the_measured_file_uses_its_numbers() -> None:
    arms = [
        Arm("plain", 4, 1.0, baseline=True, diffusion_model="plain.safetensors"),
        Arm("scaled", 4, 1.0, diffusion_model=SCALED),
    ]
    report = compute(arms, _inputs())
    assert [row.variant for row in report.rows] == ["plain", "scaled"]  # no extra row
    assert report.rows[1].seconds_per_step == pytest.approx(0.3)


def test_shipped_cost_variants_are_the_committed_variants_run() -> None:
    measured = json.loads(RESULTS.read_text())["variants"]
    cost = shipped_config().cost
    assert cost is not None
    assert set(cost.variants) == {"baseline", "scaled_fp8"}
    for name, variant in cost.variants.items():
        assert variant.models == measured[name]["models"]
        assert variant.first_job_seconds is not None
        assert variant.first_job_seconds.seconds == measured[name]["first_job_seconds"]["seconds"]
        assert set(variant.workflows) == {"qwen_image_edit_1", "qwen_image_edit_2"}
        for workflow, numbers in variant.workflows.items():
            assert (
                numbers.seconds_per_step
                == measured[name]["workflows"][workflow]["seconds_per_step"]
            )
            assert numbers.fixed_seconds == measured[name]["workflows"][workflow]["fixed_seconds"]
    # The scaled base: one model call per step through FP8 matmul, both workflows faster.
    for workflow in ("qwen_image_edit_1", "qwen_image_edit_2"):
        scaled = measured["scaled_fp8"]["workflows"][workflow]
        assert scaled["scaled_mm_calls_per_step"] > 0
        assert (
            scaled["seconds_per_step"]
            < measured["baseline"]["workflows"][workflow]["seconds_per_step"]
        )


def test_cost_shows_the_scaled_variant_from_the_results_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cost", "--json", "--measurements", str(RESULTS)]) == 0
    rows = {(r["workflow"], r["variant"]): r for r in json.loads(capsys.readouterr().out)["rows"]}
    for workflow in ("qwen_image_edit_1", "qwen_image_edit_2"):
        row = rows[workflow, "scaled_fp8"]
        assert row["steps"] == 4 and 0.05 < row["saving"] < 0.25


def test_a_models_yaml_variant_that_loads_the_scaled_entry_is_priced_from_it(
    tmp_path: Path,
) -> None:
    text = SHIPPED_YAML.replace(
        "\nsampler:",
        f"""
  diffusion_model_scaled:
    role: diffusion_model
    repo: lightx2v/Qwen-Image-Lightning
    file: Qwen-Image-Edit-2509/{SCALED}
    folder: diffusion_models

variants:
  plain: {{baseline: true, diffusion_model: diffusion_model}}
  scaled: {{diffusion_model: diffusion_model_scaled}}

sampler:""",
        1,
    )
    config_path = project(tmp_path, text, with_templates=False)
    config = load_config(config_path).config
    arms = arms_from_config(config)
    assert [(a.name, a.diffusion_model) for a in arms] == [
        ("plain", "qwen_image_edit_2509_fp8_e4m3fn.safetensors"),
        ("scaled", SCALED),
    ]
    report = compute(arms, load_inputs(config, None, "models.yaml"))
    scaled = [row for row in report.rows if row.variant == "scaled"]
    assert [row.seconds_per_step for row in scaled] == [0.3186, 0.5409]


def test_each_variant_renders_its_own_diffusion_model(tmp_path: Path) -> None:
    text = SHIPPED_YAML.replace(
        "\nsampler:",
        f"""
  diffusion_model_scaled:
    role: diffusion_model
    repo: lightx2v/Qwen-Image-Lightning
    file: Qwen-Image-Edit-2509/{SCALED}
    folder: diffusion_models

variants:
  plain: {{baseline: true}}
  scaled: {{diffusion_model: diffusion_model_scaled}}

sampler:""",
        1,
    )
    config = load_config(project(tmp_path, text, with_templates=False)).config
    plain = placeholder_values(effective_config(config, "plain"))
    scaled = placeholder_values(effective_config(config, "scaled"))
    assert plain["diffusion_model"] == "qwen_image_edit_2509_fp8_e4m3fn.safetensors"
    assert scaled["diffusion_model"] == SCALED
    assert plain["lora"] == scaled["lora"]  # the LoRA is shared
