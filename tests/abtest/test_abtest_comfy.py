"""`imagebuilder test` end to end against the loopback ComfyUI (real HTTP, real threads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comfyserver import BAD_OUTPUT_MARK, HANG_MARK, NO_OUTPUT_MARK, NODE_ERROR_MARK, ComfyServer
from comfyserver.cli import CasesRunner
from comfyserver.project import write_cases
from imagebuilder.abtest import _http as target_http
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode


def test_every_case_runs_in_every_variant_and_is_compared_with_the_baseline(
    project: Path,
    comfy: ComfyServer,
    run_cases: CasesRunner,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = project.parent / "outputs"
    measured = project.parent / "measured.json"
    summary = project.parent / "summary.md"
    result = run_cases(
        comfy.url,
        {"one": "make it red", "two": "make it blue"},
        *("--outputs", str(out), "--measurements-out", str(measured)),
        *("--markdown-out", str(summary)),
        warmup=True,
        two_images="pair",
    )
    assert result.code == 0, result.err
    rows = result.rows()
    assert len(rows) == 9 and all(row["ok"] for row in rows.values())
    assert len(result.document["warmups"]) == 3
    # Steps change the picture a little, and fewer steps change it more.
    for case in ("one", "two", "pair"):
        assert rows[(case, "steps4")]["ssim"] is None  # the baseline is the reference
        assert 0.5 < rows[(case, "steps2")]["ssim"] < rows[(case, "steps3")]["ssim"] < 1.0
        assert rows[(case, "steps3")]["width"] == 48
    assert rows[("pair", "steps4")]["workflow"] == "qwen_image_edit_2"
    # ComfyUI's own execution time (history timestamps) grows with steps.
    assert rows[("one", "steps4")]["execution_s"] >= 0.02 + 4 * 0.01
    assert all(
        row["queue_s"] is not None and row["overhead_s"] is not None for row in rows.values()
    )
    # One upload per input and job (6 one-image and 3 two-image jobs, 3 warm-ups), each
    # under its own name so that ComfyUI's cache cannot carry work from job to job.
    assert comfy.requests["/upload/image"] == 6 + 3 * 2 + 3
    assert sorted(p.name for p in (out / "one").iterdir()) == [
        "steps2.png",
        "steps3.png",
        "steps4.png",
    ]
    assert "| steps3 | 3 | 3 | 0 |" in summary.read_text(encoding="utf-8")
    assert main(["cost", "-c", str(project), "--measurements", str(measured), "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)
    assert cost["inputs"]["seconds_per_step"] > 0
    assert "ok    one/steps3: " in result.err and f"wrote {run_cases.report}" in result.err


def test_thresholds_turn_into_exit_13_with_reasons(
    comfy: ComfyServer, run_cases: CasesRunner
) -> None:
    result = run_cases(
        comfy.url, {"one": "make it red"}, "--min-ssim", "0.99", "--max-seconds", "0.05"
    )
    assert result.code == ExitCode.TEST_FAILED
    assert int(ExitCode.TEST_FAILED) == 13
    variants = {v["variant"]: v for v in result.document["variants"]}
    assert not result.document["passed"]
    assert any("SSIM" in reason and "< 0.99" in reason for reason in variants["steps2"]["reasons"])
    assert any("s per job > 0.05 s" in reason for reason in variants["steps4"]["reasons"])


def test_failures_are_reported_per_case_and_never_dropped(
    comfy: ComfyServer, run_cases: CasesRunner
) -> None:
    prompts = {
        "fine": "make it red",
        "crash": f"{NODE_ERROR_MARK} make it red",
        "empty": f"{NO_OUTPUT_MARK} make it red",
        "stuck": f"{HANG_MARK} make it red",  # last: the server runs one prompt at a time
    }
    comfy.faults.fail_next("/prompt", 2)  # transient 503s: retried, not failures
    result = run_cases(comfy.url, prompts, "--concurrency", "1", "--timeout", "2")
    assert result.code == ExitCode.TEST_FAILED
    rows = result.rows()
    assert len(rows) == 12
    for variant in ("steps4", "steps3", "steps2"):
        assert rows[("fine", variant)]["ok"], rows[("fine", variant)]["failure"]
        assert rows[("crash", variant)]["failure_kind"] == "node_error"
        assert "node 3 (KSampler): Allocation on device" in rows[("crash", variant)]["failure"]
        assert rows[("empty", variant)]["failure_kind"] == "missing_output"
        assert rows[("stuck", variant)]["failure_kind"] == "timeout"
    assert comfy.faults.served_errors == 2
    assert comfy.requests["/interrupt"] == 3  # a timed-out prompt is stopped, not left running
    assert "FAIL  crash/steps2: node_error" in result.err


def test_a_5xx_that_outlasts_the_retries_fails_the_job(
    comfy: ComfyServer, run_cases: CasesRunner
) -> None:
    comfy.faults.fail_next("/prompt", 100)
    result = run_cases(comfy.url, {"one": "make it red"}, "--variant", "steps4")
    assert result.code == ExitCode.TEST_FAILED
    (row,) = result.document["rows"]
    assert row["failure_kind"] == "http"
    assert "POST /prompt failed after 5 attempts (HTTP 503" in row["failure"]
    assert comfy.faults.served_errors == 5  # the project's policy: 4 retries


def test_an_unreachable_server_ends_the_command_before_any_job(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write_cases(project.parent, {"one": "make it red"})
    args = ["test", "-c", str(project), "--target", "http://127.0.0.1:9", "--cases", str(cases)]
    assert main([*args, "--report", str(project.parent / "r.html")]) == ExitCode.NETWORK
    err = capsys.readouterr().err
    assert "nothing answers at http://127.0.0.1:9" in err and "hint: start the worker" in err
    assert not (project.parent / "r.html").exists()


def test_lost_inputs_and_unreadable_outputs_are_their_own_failures(
    comfy: ComfyServer, run_cases: CasesRunner
) -> None:
    result = run_cases(comfy.url, {"garbled": f"{BAD_OUTPUT_MARK} make it red"})
    assert result.code == ExitCode.TEST_FAILED
    assert {row["failure_kind"] for row in result.document["rows"]} == {"bad_output"}
    comfy.forget_uploads = True
    comfy.inputs.clear()
    result = run_cases(comfy.url, {"one": "make it red"}, "--variant", "steps4")
    (row,) = result.document["rows"]
    assert row["failure_kind"] == "rejected"
    assert "Prompt outputs failed validation; node 78: Custom validation failed" in row["failure"]
    assert "Invalid image file: ib_" in row["failure"]


def test_an_answer_over_the_size_limit_is_refused_not_read(
    comfy: ComfyServer, run_cases: CasesRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(target_http, "MAX_ANSWER_BYTES", 50_000)  # the output: ~120 kB
    result = run_cases(comfy.url, {"one": "make it red"}, "--variant", "steps4", size=200)
    assert result.code == ExitCode.TEST_FAILED
    (row,) = result.document["rows"]
    assert row["failure_kind"] == "http"
    assert "GET /view: answer over 50000 bytes" in row["failure"]


def test_max_cost_without_a_price_is_refused_before_any_job(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = project.read_text(encoding="utf-8")
    project.write_text(
        text[: text.index("# Inputs of `imagebuilder cost`")] + text[text.index("\nvariants:") :]
    )
    cases = write_cases(project.parent, {"one": "make it red"})
    args = ["test", "-c", str(project), "--target", "http://127.0.0.1:9", "--cases", str(cases)]
    assert main([*args, "--max-cost", "0.01"]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "--max-cost needs a price" in err and "hint: add cost:" in err


def test_a_stack_without_variants_compares_4_3_and_2_steps(
    project: Path, comfy: ComfyServer, run_cases: CasesRunner
) -> None:
    """The shipped models.yaml declares no variants: `test` compares the pinned 4 steps
    with 3 and 2, as `cost` does; `--steps` picks other counts."""
    project.write_text(
        (Path(__file__).resolve().parents[2] / "models.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    result = run_cases(comfy.url, {"one": "make it red"})
    assert result.code == 0, result.err
    variants = {row["variant"] for row in result.document["rows"]}
    assert sorted(variants) == ["steps2", "steps3", "steps4"]
    assert result.rows()[("one", "steps4")]["ssim"] is None  # the pinned count: baseline

    result = run_cases(comfy.url, {"one": "make it red"}, "--steps", "4,8")
    assert result.code == 0, result.err
    assert sorted({row["variant"] for row in result.document["rows"]}) == ["steps4", "steps8"]


def test_steps_cannot_be_mixed_with_declared_variants(
    project: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["test", "-c", str(project), "--target", comfy.url, "--steps", "4,2"]
    assert main(argv) == ExitCode.CONFIG
    assert "declares variants" in capsys.readouterr().err
