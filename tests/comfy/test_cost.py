"""cost: seconds and dollars per job, checked against values computed by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagebuilder.cli import main
from imagebuilder.comfy.cost import Arm, arms_from_config, compute, load_inputs
from imagebuilder.errors import ConfigError, ExitCode
from imagebuilder.project.cost_settings import CostSettings
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


MEASURED = Path(__file__).parents[2] / "benchmarks/gpu/results/h200-2026-11-30.json"
COLD = Path(__file__).parents[2] / "benchmarks/gpu/results/h200-2026-12-04-cold.json"


def _rows(capsys: pytest.CaptureFixture[str], *args: str) -> dict[tuple[str, str], Any]:
    assert main(["cost", "--steps", "4,3,2", "--json", *args]) == 0
    report = json.loads(capsys.readouterr().out)
    return {(row["workflow"], row["variant"]): row for row in report["rows"]} | {
        ("report", ""): report
    }


def test_shipped_stack_matches_hand_computed_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows(capsys)
    one, two = "qwen_image_edit_1", "qwen_image_edit_2"
    # GPU benchmark, one image: 0.3902 s a step + 0.6676 s fixed; two images: 0.6409 + 0.9992.
    assert rows[one, "steps4"]["seconds_per_job"] == pytest.approx(0.6676 + 4 * 0.3902)
    assert rows[one, "steps3"]["seconds_per_job"] == pytest.approx(0.6676 + 3 * 0.3902)
    assert rows[two, "steps2"]["seconds_per_job"] == pytest.approx(0.9992 + 2 * 0.6409)
    assert rows[one, "steps4"]["dollars_per_job"] == pytest.approx(2.2284 * 3.5 / 3600)
    assert rows[one, "steps3"]["saving"] == pytest.approx(1 - 1.8382 / 2.2284)  # 17.5% < 25%
    assert rows[one, "steps3"]["saving"] < rows[one, "steps3"]["denoise_saving"]
    # Each workflow is compared with its own baseline.
    assert rows[two, "steps4"]["baseline"] and rows[two, "steps4"]["saving"] is None


def test_cold_start_is_spread_over_the_jobs_of_a_worker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = _rows(capsys, "--jobs-per-worker", "10")
    cold = rows["report", ""]["cold_start"]
    # The first image 44.293 s after the worker starts (page cache dropped, the start path
    # of models.yaml's start:), less the 2.2284 s warm job = 42.0646 s per worker.
    assert cold["first_job_case"] == "page_cache_dropped"
    assert cold["first_image_seconds"] == pytest.approx(44.293)
    assert cold["overhead_seconds"] == pytest.approx(44.293 - 2.2284)
    assert cold["jobs_per_worker"] == 10
    row = rows["qwen_image_edit_1", "steps4"]
    assert row["amortised_seconds_per_job"] == pytest.approx(2.2284 + 42.0646 / 10)
    assert row["amortised_dollars_per_job"] == pytest.approx(
        row["amortised_seconds_per_job"] * 3.5 / 3600
    )


def test_report_states_the_source_of_every_number(capsys: pytest.CaptureFixture[str]) -> None:
    sources = _rows(capsys)["report", ""]["sources"]
    assert set(sources) == {
        "price_per_hour",
        "seconds per step and fixed seconds (qwen_image_edit_1)",
        "seconds per step and fixed seconds (qwen_image_edit_2)",
        "cold start",
        "jobs_per_worker",
        "variant scaled_fp8 (qwen_image_edit_1)",  # the measured alternative's own run
        "variant scaled_fp8 (qwen_image_edit_2)",
    }
    assert "benchmarks/gpu" in sources["cold start"]


def test_shipped_cost_block_is_the_committed_gpu_measurement() -> None:
    """models.yaml's cost: block is derived from the benchmark file, number for number."""
    measured = json.loads(MEASURED.read_text())
    cost = shipped_config().cost
    assert cost is not None
    assert cost.gpu == measured["gpu"]
    assert cost.seconds_per_step == measured["seconds_per_step"]
    assert cost.fixed_seconds == measured["fixed_seconds"]
    for name, workflow in cost.workflows.items():
        assert workflow.seconds_per_step == measured["workflows"][name]["seconds_per_step"]
        assert workflow.fixed_seconds == measured["workflows"][name]["fixed_seconds"]
    assert set(cost.workflows) == set(measured["workflows"])
    assert cost.cold_start is not None
    cold = json.loads(COLD.read_text())["cold_start"]  # the cold-start plan's own file
    assert cost.cold_start.server_start_seconds == cold["server_start_seconds"]
    for case, job in cost.cold_start.first_job_seconds.items():
        assert job.seconds == cold["first_job_seconds"][case]["seconds"]
    assert cost.cold_start.first_image_seconds == cold["first_image_seconds"]
    assert cost.cold_start.source == cold["source"]
    assert measured["environment"]["comfyui_commit"].startswith("a125cd84")


def test_benchmark_file_is_read_as_is(tmp_path: Path) -> None:
    inputs = load_inputs(shipped_config(), MEASURED, "models.yaml")
    assert inputs.measurement_schema == "imagebuilder-gpu-benchmark/1"
    assert inputs.workflows["qwen_image_edit_2"].seconds_per_step == pytest.approx(0.6409)
    assert inputs.price_per_hour == 3.5  # the file has no price: models.yaml's stays
    # The measured workflow savings agree with the model within the run's spread.
    measured = json.loads(MEASURED.read_text())["workflows"]["qwen_image_edit_1"]
    report = compute([Arm("s4", 4, 1.0, baseline=True), Arm("s2", 2, 1.0)], inputs)
    modelled = {
        row.steps: row.seconds_per_job
        for row in report.rows
        if row.workflow.endswith("_1") and row.variant in {"s4", "s2"}
    }
    assert modelled[4] == pytest.approx(measured["warm_job_seconds"]["4"], rel=0.02)
    assert modelled[2] == pytest.approx(measured["warm_job_seconds"]["2"], rel=0.05)


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
