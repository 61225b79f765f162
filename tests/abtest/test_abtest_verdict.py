"""`test` decides: the cheapest variant whose every case meets the thresholds, what it
saves per 1,000 jobs, and the thresholds it decided with, in every report.

The goldens (tests/golden/test-verdict/) are a run without any threshold set: the
defaults decide, and say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder.abtest.cases import Case
from imagebuilder.abtest.report import AbTestReport, markdown
from imagebuilder.abtest.summary import CaseRow, summarise
from imagebuilder.abtest.thresholds import (
    DEFAULT_MIN_PSNR_DB,
    DEFAULT_MIN_SSIM,
    Thresholds,
    resolve_thresholds,
)
from imagebuilder.abtest.verdict import recommend
from imagebuilder.cli import abtest as test_command
from imagebuilder.cli import main
from imagebuilder.project.load import load_config
from infra import golden

PRICE = 3.6  # $ per GPU hour: a second costs $0.001


def _row(
    variant: str, case: str, seconds: float, ssim: float | None, psnr: float | None
) -> CaseRow:
    return CaseRow(
        case=case,
        variant=variant,
        workflow="qwen_image_edit_1",
        ok=True,
        width=1024,
        height=1024,
        same_size_as_baseline=True,
        ssim=ssim,
        psnr_db=psnr,
        execution_s=seconds,
        dollars=seconds * PRICE / 3600,
    )


ROWS = [
    _row("steps4", "a", 2.2, None, None),
    _row("steps4", "b", 2.0, None, None),
    _row("steps3", "a", 1.8, 0.95, 31.0),
    _row("steps3", "b", 1.6, 0.93, 29.5),
    _row("steps2", "a", 1.3, 0.91, 26.0),
    _row("steps2", "b", 1.2, 0.82, 22.0),  # the steps2: SSIM 0.82
]
NAMES = ["steps4", "steps3", "steps2"]
STEPS = {"steps4": 4, "steps3": 3, "steps2": 2}


def _report(limits: Thresholds) -> AbTestReport:
    cases = tuple(
        Case(name=n, images=(), prompt="p", seed=1, workflow=None, description="", where="x")
        for n in ("a", "b")
    )
    return AbTestReport(
        target={"target": "http://worker:8188", "gpu": "H200"},
        started_at="2026-12-04T00:00:00+00:00",
        baseline="steps4",
        price_per_hour=PRICE,
        thresholds=limits,
        cases=cases,
        variants=tuple(summarise(ROWS, NAMES, "steps4", STEPS, limits)),
        rows=tuple(ROWS),
        warmups=(),
    )


def test_without_thresholds_the_defaults_decide_and_nothing_fails() -> None:
    report = _report(resolve_thresholds({}, {}))
    assert (report.thresholds.min_ssim, report.thresholds.min_psnr_db) == (
        DEFAULT_MIN_SSIM,
        DEFAULT_MIN_PSNR_DB,
    )
    verdicts = {v.variant: report.verdict(v) for v in report.variants}
    assert verdicts == {"steps4": "meets", "steps3": "recommended", "steps2": "below"}
    assert report.passed  # a default only decides; it never fails the run
    recommendation = report.recommendation
    assert recommendation.variant == "steps3"
    assert recommendation.candidates == ("steps3", "steps4")
    # medians 2.1 s -> 1.7 s: 0.4 s x 1,000 jobs = 0.111 GPU hours = $0.40 at $3.6/h
    assert recommendation.dollars_per_1000 == pytest.approx(0.40)
    assert recommendation.gpu_hours_per_1000 == pytest.approx(0.4 * 1000 / 3600)
    assert "ship steps3" in recommendation.sentence() and "$0.40" in recommendation.sentence()


def test_a_threshold_the_user_set_gates_the_run() -> None:
    report = _report(resolve_thresholds({"min_ssim": 0.92}, {}))
    steps2 = next(v for v in report.variants if v.variant == "steps2")
    assert not steps2.passed and not report.passed
    assert report.thresholds.source("min_ssim") == "command line"
    assert report.thresholds.source("min_psnr_db") == "default"
    assert report.recommendation.variant == "steps3"


def test_the_command_line_wins_over_models_yaml_over_the_defaults() -> None:
    limits = resolve_thresholds({"min_ssim": 0.8}, {"min_ssim": 0.85, "min_psnr_db": 30.0})
    assert (limits.min_ssim, limits.source("min_ssim")) == (0.8, "command line")
    assert (limits.min_psnr_db, limits.source("min_psnr_db")) == (30.0, "models.yaml")
    assert limits.max_seconds is None and "max_seconds" not in limits.as_dict()["sources"]


def test_strict_thresholds_keep_the_baseline_and_a_failed_baseline_recommends_nothing() -> None:
    strict = _report(resolve_thresholds({"min_ssim": 0.99}, {}))
    assert strict.recommendation.variant == "steps4"
    assert strict.recommendation.sentence().startswith("keep steps4")
    unscored = [  # case a's baseline failed: compare_rows leaves these unscored
        CaseRow(case="a", variant=v, workflow="w", ok=True, execution_s=1.0, dollars=0.001)
        for v in ("steps3", "steps2")
    ]
    failed = CaseRow(case="a", variant="steps4", workflow="w", ok=False, failure_kind="timeout")
    broken = [failed, *unscored, *(r for r in ROWS if r.case == "b")]
    variants = summarise(broken, NAMES, "steps4", STEPS, resolve_thresholds({}, {}))
    recommendation = recommend(variants)
    assert recommendation.variant is None
    assert "1 job(s) of the baseline steps4 failed" in recommendation.sentence()


def test_a_run_without_thresholds_matches_its_goldens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _report(resolve_thresholds({}, {}))
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    test_command._human(report)
    human = capsys.readouterr().out
    assert all(len(line) <= 80 for line in human.splitlines()), human
    document = report.as_dict()
    assert document["recommendation"]["variant"] == "steps3"
    assert document["thresholds"]["sources"] == {"min_ssim": "default", "min_psnr_db": "default"}
    golden.check_golden_folder(
        "test-verdict",
        {
            "human-80.txt": human,
            "summary.md": markdown(report),
            "verdict.json": json.dumps(
                {k: document[k] for k in ("passed", "thresholds", "recommendation")},
                indent=2,
                sort_keys=True,
            )
            + "\n",
        },
    )


def test_models_yaml_sets_thresholds(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "models.yaml").read_text(encoding="utf-8")
    config = tmp_path / "models.yaml"
    config.write_text(text + "test:\n  min_ssim: 0.85\n  min_psnr_db: 27\n", encoding="utf-8")
    loaded = load_config(config)
    assert loaded.config.test is not None
    assert (loaded.config.test.min_ssim, loaded.config.test.min_psnr_db) == (0.85, 27)
    config.write_text(text + "test:\n  min_ssim: 1.5\n", encoding="utf-8")
    assert main(["validate", "-c", str(config)]) == 3
