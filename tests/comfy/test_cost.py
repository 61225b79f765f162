"""cost: seconds and dollars per job, checked against values computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.comfy.cost import Arm, arms_from_config, compute, load_inputs
from imagebuilder.errors import ConfigError, ExitCode
from imagebuilder.project.config import CostSettings
from infra.stacks import SHIPPED_YAML, project, shipped_config, variant_config

# $3.60 an hour is $0.001 a second: dollars per job = seconds per job / 1000.
ROUND = CostSettings(
    gpu="test GPU",
    price_per_hour=3.6,
    seconds_per_step=0.5,
    fixed_seconds={"text_encoding": 0.2, "vae": 0.3},
)


def test_fixed_seconds_make_the_saving_smaller_than_the_step_ratio() -> None:
    report = compute(
        [Arm("s4", 4, 1.0, baseline=True), Arm("s3", 3, 1.0), Arm("s2", 2, 1.0)], ROUND
    )
    s4, s3, s2 = report.rows
    # 4 steps: 0.5 fixed + 4 x 0.5 = 2.5 s; 3 steps: 2.0 s; 2 steps: 1.5 s.
    assert (s4.seconds_per_job, s3.seconds_per_job, s2.seconds_per_job) == pytest.approx(
        (2.5, 2.0, 1.5)
    )
    assert (s4.dollars_per_job, s3.dollars_per_job) == pytest.approx((0.0025, 0.002))
    assert s4.dollars_per_1000_jobs == pytest.approx(2.5)
    assert s4.jobs_per_gpu_hour == pytest.approx(1440)
    assert s4.saving is None and s4.baseline
    assert s3.saving == pytest.approx(0.20)  # 0.5 / 2.5, not the 25% the steps suggest
    assert s3.denoise_saving == pytest.approx(0.25)
    assert s2.saving == pytest.approx(0.40)
    assert "s3: saves 20.0% per job, less than the 25.0% cut in denoising" in report.notes[1]
    assert report.notes[0].startswith("fixed work per job: 0.500 s")


def test_cfg_above_one_pays_a_second_pass_per_step() -> None:
    report = compute([Arm("cfg1", 4, 1.0, baseline=True), Arm("cfg4", 4, 4.0)], ROUND)
    assert report.rows[1].passes_per_step == 2
    assert report.rows[1].seconds_per_job == pytest.approx(0.5 + 8 * 0.5)
    assert report.rows[1].saving == pytest.approx(1 - 4.5 / 2.5)  # negative: dearer


def test_zero_fixed_cost_says_so() -> None:
    inputs = ROUND.model_copy(update={"fixed_seconds": {}})
    report = compute([Arm("s4", 4, 1.0, baseline=True), Arm("s3", 3, 1.0)], inputs)
    assert report.rows[1].saving == pytest.approx(0.25)
    assert "no fixed seconds were given" in report.notes[0]


def test_arms_follow_the_variants_and_their_baseline(tmp_path: Path) -> None:
    arms = arms_from_config(variant_config(tmp_path))
    assert [(a.name, a.steps, a.baseline) for a in arms] == [
        ("steps4", 4, True),
        ("steps3", 3, False),
        ("lora8", 8, False),
    ]
    assert [(a.name, a.baseline) for a in arms_from_config(shipped_config(), [3, 4, 2])] == [
        ("steps3", False),
        ("steps4", True),  # the stack's own step count is the baseline when listed
        ("steps2", False),
    ]


def test_shipped_stack_matches_hand_computed_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--steps", "4,3,2", "--json"]) == 0
    rows = {row["variant"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
    # H200 measurements: 0.473 s a step, 0.023 + 0.044 + 0.067 = 0.134 s fixed, $3.50/h.
    assert rows["steps4"]["seconds_per_job"] == pytest.approx(0.134 + 4 * 0.473)  # 2.026
    assert rows["steps3"]["seconds_per_job"] == pytest.approx(1.553)
    assert rows["steps2"]["seconds_per_job"] == pytest.approx(1.080)
    assert rows["steps4"]["dollars_per_job"] == pytest.approx(2.026 * 3.5 / 3600)
    assert rows["steps3"]["saving"] == pytest.approx(1 - 1.553 / 2.026)  # 23.3% < 25%
    assert rows["steps3"]["saving"] < rows["steps3"]["denoise_saving"]


def test_markdown_table_states_its_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--steps", "4,3", "--markdown"]) == 0
    text = capsys.readouterr().out
    assert "| steps3 | 3 | 1 | 1.553 | 0.134 | 0.001510 | 1.510 | 23.3% | 25.0% |" in text
    assert "Inputs: NVIDIA H200 at $3.5/hour, 0.473 s per step" in text
    assert "less than the 25.0% cut in denoising" in text


def test_measurements_file_overrides_models_yaml(tmp_path: Path) -> None:
    measured = tmp_path / "measured.json"
    measured.write_text(json.dumps({"gpu": "RTX 4090", "seconds_per_step": 1.25}))
    inputs = load_inputs(shipped_config(), measured, "models.yaml")
    assert (inputs.gpu, inputs.seconds_per_step, inputs.price_per_hour) == ("RTX 4090", 1.25, 3.5)
    measured.write_text("seconds_per_step: -1\n")
    with pytest.raises(ConfigError, match="seconds_per_step"):
        load_inputs(shipped_config(), measured, "models.yaml")


def test_missing_inputs_and_bad_steps_fail_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_cost = SHIPPED_YAML.split("\ncost:\n")[0]
    config_path = project(tmp_path, no_cost, with_templates=False)
    assert main(["cost", "--config", str(config_path)]) == ExitCode.CONFIG
    assert "no cost inputs" in capsys.readouterr().err
    assert main(["cost", "--steps", "4,x"]) == ExitCode.USAGE
