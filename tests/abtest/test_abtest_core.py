"""Pure parts of `imagebuilder test`: job graphs, comparison, verdicts, targets, fits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from comfyserver.project import ROOT, png
from imagebuilder.abtest import cases as cases_module
from imagebuilder.abtest import report_html
from imagebuilder.abtest.cases import Case, InputImage
from imagebuilder.abtest.comfyui import _device_name
from imagebuilder.abtest.compare import Decoded, decode, similarity
from imagebuilder.abtest.graph import job_graph, upload_name
from imagebuilder.abtest.jobs import JobFailed
from imagebuilder.abtest.measurements import fit_workflows, measurements_document
from imagebuilder.abtest.session import choose_arms
from imagebuilder.abtest.summary import CaseRow, summarise
from imagebuilder.abtest.targets import open_target
from imagebuilder.abtest.thresholds import Thresholds
from imagebuilder.cli import abtest as test_command
from imagebuilder.comfy.cost import load_inputs
from imagebuilder.comfy.workflows import rendered_graphs
from imagebuilder.errors import ConfigError, WorkflowError
from imagebuilder.project.load import load_config

SHIPPED = load_config(ROOT / "models.yaml").config
WORKFLOWS = rendered_graphs(SHIPPED, None, templates_dir=ROOT / "workflows")


def _case(images: int, **extra: object) -> Case:
    data = [png(seed) for seed in range(images)]
    return Case(
        name="c",
        images=tuple(InputImage(Path(f"{i}.png"), d, "png") for i, d in enumerate(data)),
        prompt="make it blue",
        seed=42,
        workflow=extra.get("workflow"),  # type: ignore[arg-type]
        description="",
        where="cases.yaml:3",
    )


def test_job_graph_fills_images_prompt_and_seed_and_leaves_the_rest() -> None:
    case = _case(2)
    made = job_graph(case, WORKFLOWS, "steps4")
    assert made.workflow == "qwen_image_edit_2"
    graph = made.graph
    names = [upload_name(i.data, "png", "steps4") for i in case.images]
    assert (graph["78"]["inputs"]["image"], graph["106"]["inputs"]["image"]) == tuple(names)
    assert graph["111"]["inputs"]["prompt"] == "make it blue"
    prompts = [n["inputs"]["prompt"] for n in graph.values() if "prompt" in n["inputs"]]
    assert prompts.count("make it blue") == 1  # a negative prompt's encoder keeps its own
    assert graph["3"]["inputs"]["seed"] == 42
    assert made.output_nodes == ("9",)
    assert WORKFLOWS["qwen_image_edit_2"]["3"]["inputs"]["seed"] == 0  # input not mutated
    assert [name for name, _ in made.uploads] == names
    # Another variant of the same case loads other names: ComfyUI cannot reuse the
    # first one's image load and encodes, as it could not for a real request.
    other = job_graph(case, WORKFLOWS, "steps3")
    assert other.graph["78"]["inputs"]["image"] not in names
    assert other.uploads[0][1] == made.uploads[0][1]


def test_a_case_that_names_no_existing_workflow_is_refused() -> None:
    with pytest.raises(WorkflowError, match="names workflow 'nope'"):
        job_graph(_case(1, workflow="nope"), WORKFLOWS, "v")
    only_two = {"qwen_image_edit_2": WORKFLOWS["qwen_image_edit_2"]}
    with pytest.raises(WorkflowError, match="0 workflows load that many"):
        job_graph(_case(1), only_two, "v")


def test_similarity_identical_noisy_and_resized() -> None:
    rng = np.random.default_rng(0)
    base = Decoded(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    same = similarity(base, base)
    assert (same.ssim, same.psnr_db, same.identical) == (1.0, None, True)
    noisy = np.clip(base.pixels.astype(int) + rng.integers(-20, 21, base.pixels.shape), 0, 255)
    score = similarity(Decoded(noisy.astype(np.uint8)), base)
    assert score.ssim is not None and 0.5 < score.ssim < 1.0
    assert score.psnr_db is not None and 20 < score.psnr_db < 40
    other = similarity(Decoded(base.pixels[:32]), base)
    assert (other.ssim, other.same_size) == (None, False)


def test_decode_refuses_what_is_not_an_image() -> None:
    with pytest.raises(JobFailed, match=r"not an image \(17 bytes, starting '<html>oops</html>'\)"):
        decode(b"<html>oops</html>")
    assert decode(png(3, size=20)).size == (20, 20)


def _row(variant: str, case: str, **values: object) -> CaseRow:
    return CaseRow(case=case, variant=variant, workflow="qwen_image_edit_1", ok=True, **values)  # type: ignore[arg-type]


def test_verdict_names_each_reason_and_medians_skip_failures() -> None:
    rows = [
        _row("base", "a", execution_s=2.0, same_size_as_baseline=True, dollars=0.002),
        _row("base", "b", execution_s=2.2, same_size_as_baseline=True, dollars=0.0022),
        _row("fast", "a", execution_s=1.0, ssim=0.95, same_size_as_baseline=True, dollars=0.001),
        _row("fast", "b", execution_s=1.4, ssim=0.70, same_size_as_baseline=True, dollars=0.0014),
        CaseRow(
            case="c",
            variant="fast",
            workflow="w",
            ok=False,
            failure_kind="timeout",
            failure="did not finish",
        ),
        _row(
            "big", "a", execution_s=3.0, ssim=None, same_size_as_baseline=False, width=8, height=8
        ),
    ]
    limits = Thresholds(min_ssim=0.8, max_seconds=2.5, max_cost=0.01)
    summaries = {s.variant: s for s in summarise(rows, ["base", "fast", "big"], "base", {}, limits)}
    assert summaries["base"].passed and summaries["base"].median_execution_s == pytest.approx(2.1)
    fast = summaries["fast"]
    assert (fast.jobs, fast.failed, fast.median_ssim, fast.min_ssim) == (3, 1, 0.825, 0.70)
    assert fast.reasons == ("c: timeout: did not finish", "b: SSIM 0.7000 < 0.8")
    assert summaries["big"].reasons == (
        "a: output is 8x8, not the baseline's size",
        "median 3.000 s per job > 2.5 s",
    )


def test_measurements_fit_steps_and_are_read_by_cost(tmp_path: Path) -> None:
    rows = [
        _row(v, c, execution_s=1.05 + 0.385 * s + jitter)
        for v, s in (("s4", 4), ("s3", 3), ("s2", 2))
        for c, jitter in (("a", 0.0), ("b", 0.01), ("c", -0.01))
    ]
    fits = fit_workflows(rows, {"s4": 4, "s3": 3, "s2": 2})
    assert fits[0].seconds_per_step == pytest.approx(0.385, abs=1e-6)
    assert fits[0].fixed_seconds == pytest.approx(1.05, abs=1e-6)
    document = measurements_document(
        fits, gpu="NVIDIA H200", price_per_hour=3.5, target="http://x:8188", date="2026-11-30"
    )
    path = tmp_path / "measured.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    inputs = load_inputs(SHIPPED, path, "models.yaml")
    assert (inputs.gpu, inputs.seconds_per_step) == ("NVIDIA H200", 0.385)
    assert "9 jobs at steps 2=1.820s, 3=2.205s, 4=2.590s" in inputs.source
    with pytest.raises(ConfigError, match="two or more step counts"):
        measurements_document(
            fit_workflows(rows, {"s4": 4}), gpu="g", price_per_hour=1, target="t", date="d"
        )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host", "unknown kind of target"),
        ("http://user:pw@host:8188", "without credentials or a query string"),
        ("runpod://bad/id", "expected runpod://ENDPOINT_ID"),
    ],
)
def test_bad_targets_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        open_target(url)
    assert "pw" not in caught.value.render()


def test_runpod_needs_a_key_and_https_for_remote_bases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="RUNPOD_API_KEY is not set"):
        open_target("runpod://abc123")
    monkeypatch.setenv("RUNPOD_API_KEY", "rp_secret")
    with pytest.raises(ConfigError, match="plain http to another machine") as caught:
        open_target("runpod://abc123", api_base="http://gateway.example:8080/v2")
    assert "rp_secret" not in caught.value.render()
    target = open_target("runpod://abc123", api_base="http://127.0.0.1:9/v2")
    assert target.label == "runpod://abc123"
    target.close()


def test_the_baseline_always_runs_and_unknown_variants_are_named(project: Path) -> None:
    config = load_config(project).config
    arms = choose_arms(config, project.parent / "workflows", ["steps2"])
    assert (arms.names, arms.baseline, arms.steps) == (
        ("steps4", "steps2"),
        "steps4",
        {"steps4": 4, "steps2": 2},
    )
    with pytest.raises(ConfigError, match="unknown variant\\(s\\): steps9"):
        choose_arms(config, project.parent / "workflows", ["steps9"])
    plain = choose_arms(SHIPPED, ROOT / "workflows", [])
    assert plain.names == ("default",)


def test_the_command_module_defaults_match_the_domain_ones() -> None:
    # The CLI module spells them out so that `--help` does not import the comparison stack.
    assert test_command.DEFAULT_CASES == cases_module.DEFAULT_CASES
    assert test_command.DEFAULT_MAX_SIDE == report_html.DEFAULT_MAX_SIDE


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("cuda:0 NVIDIA H200 : cudaMallocAsync", "NVIDIA H200"),
        ("cuda:1 NVIDIA GeForce RTX 4090 : native", "NVIDIA GeForce RTX 4090"),
        ("loopback numpy renderer", "loopback numpy renderer"),
    ],
)
def test_comfyui_device_names_lose_index_and_allocator(raw: str, name: str) -> None:
    assert _device_name(raw) == name
