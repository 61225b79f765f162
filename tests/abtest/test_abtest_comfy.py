"""`imagebuilder test` end to end against the loopback ComfyUI (real HTTP, real threads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from comfyserver import BAD_OUTPUT_MARK, HANG_MARK, NO_OUTPUT_MARK, NODE_ERROR_MARK, ComfyServer
from comfyserver.project import make_project, write_cases
from imagebuilder.abtest import _http as target_http
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode


def run(
    capsys: pytest.CaptureFixture[str], project: Path, target: str, *args: str
) -> tuple[int, dict[str, Any], str]:
    report = project.parent / "report.html"
    argv = ["test", "-c", str(project), "--target", target, "--report", str(report), "--json"]
    code = main([*argv, "--poll-interval", "0.01", *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def rows_by(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["case"], row["variant"]): row for row in document["rows"]}


def test_every_case_runs_in_every_variant_and_is_compared_with_the_baseline(
    project: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write_cases(
        project.parent, {"one": "make it red", "two": "make it blue"}, two_images="pair"
    )
    out = project.parent / "outputs"
    measured = project.parent / "measured.json"
    summary = project.parent / "summary.md"
    code, document, err = run(
        capsys,
        project,
        comfy.url,
        "--cases",
        str(cases),
        "--outputs",
        str(out),
        "--measurements-out",
        str(measured),
        "--markdown-out",
        str(summary),
    )
    assert code == 0, err
    rows = rows_by(document)
    assert len(rows) == 9 and all(row["ok"] for row in rows.values())
    assert len(document["warmups"]) == 3
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
    assert "ok    one/steps3: " in err and f"wrote {project.parent / 'report.html'}" in err


def test_thresholds_turn_into_exit_13_with_reasons(
    project: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write_cases(project.parent, {"one": "make it red"})
    code, document, _ = run(
        capsys,
        project,
        comfy.url,
        "--cases",
        str(cases),
        "--no-warmup",
        "--min-ssim",
        "0.99",
        "--max-seconds",
        "0.05",
    )
    assert code == ExitCode.TEST_FAILED
    assert int(ExitCode.TEST_FAILED) == 13
    variants = {v["variant"]: v for v in document["variants"]}
    assert not document["passed"]
    assert any("SSIM" in reason and "< 0.99" in reason for reason in variants["steps2"]["reasons"])
    assert any("s per job > 0.05 s" in reason for reason in variants["steps4"]["reasons"])


def test_failures_are_reported_per_case_and_never_dropped(
    project: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = {
        "fine": "make it red",
        "crash": f"{NODE_ERROR_MARK} make it red",
        "empty": f"{NO_OUTPUT_MARK} make it red",
        "stuck": f"{HANG_MARK} make it red",  # last: the server runs one prompt at a time
    }
    cases = write_cases(project.parent, prompts)
    comfy.faults.fail_next("/prompt", 2)  # transient 503s: retried, not failures
    code, document, err = run(
        capsys,
        project,
        comfy.url,
        "--cases",
        str(cases),
        "--no-warmup",
        "--concurrency",
        "1",
        "--timeout",
        "2",
    )
    assert code == ExitCode.TEST_FAILED
    rows = rows_by(document)
    assert len(rows) == 12
    for variant in ("steps4", "steps3", "steps2"):
        assert rows[("fine", variant)]["ok"], rows[("fine", variant)]["failure"]
        assert rows[("crash", variant)]["failure_kind"] == "node_error"
        assert "node 3 (KSampler): Allocation on device" in rows[("crash", variant)]["failure"]
        assert rows[("empty", variant)]["failure_kind"] == "missing_output"
        assert rows[("stuck", variant)]["failure_kind"] == "timeout"
    assert comfy.faults.served_errors == 2
    assert comfy.requests["/interrupt"] == 3  # a timed-out prompt is stopped, not left running
    assert "FAIL  crash/steps2: node_error" in err


def test_a_5xx_that_outlasts_the_retries_fails_the_job(
    project: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write_cases(project.parent, {"one": "make it red"})
    comfy.faults.fail_next("/prompt", 100)
    code, document, _ = run(
        capsys,
        project,
        comfy.url,
        "--cases",
        str(cases),
        "--no-warmup",
        "--variant",
        "steps4",
    )
    assert code == ExitCode.TEST_FAILED
    (row,) = document["rows"]
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
    project: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write_cases(project.parent, {"garbled": f"{BAD_OUTPUT_MARK} make it red"})
    code, document, _ = run(capsys, project, comfy.url, "--cases", str(cases), "--no-warmup")
    assert code == ExitCode.TEST_FAILED
    assert {row["failure_kind"] for row in document["rows"]} == {"bad_output"}
    comfy.forget_uploads = True
    comfy.inputs.clear()
    cases = write_cases(project.parent, {"one": "make it red"})
    code, document, _ = run(
        capsys, project, comfy.url, "--cases", str(cases), "--no-warmup", "--variant", "steps4"
    )
    (row,) = document["rows"]
    assert row["failure_kind"] == "rejected"
    assert "Prompt outputs failed validation; node 78: Custom validation failed" in row["failure"]
    assert "Invalid image file: ib_" in row["failure"]


def test_an_answer_over_the_size_limit_is_refused_not_read(
    project: Path,
    comfy: ComfyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(target_http, "MAX_ANSWER_BYTES", 50_000)  # the output: ~120 kB
    cases = write_cases(project.parent, {"one": "make it red"}, size=200)
    code, document, _ = run(
        capsys, project, comfy.url, "--cases", str(cases), "--no-warmup", "--variant", "steps4"
    )
    assert code == ExitCode.TEST_FAILED
    (row,) = document["rows"]
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
    tmp_path: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped models.yaml declares no variants: `test` compares the pinned 4 steps
    with 3 and 2, as `cost` does; `--steps` picks other counts."""
    project = make_project(tmp_path)
    project.write_text(
        (Path(__file__).resolve().parents[2] / "models.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    cases = write_cases(tmp_path, {"one": "make it red"})
    code, document, err = run(capsys, project, comfy.url, "--cases", str(cases), "--no-warmup")
    assert code == 0, err
    assert sorted({row["variant"] for row in document["rows"]}) == ["steps2", "steps3", "steps4"]
    assert rows_by(document)[("one", "steps4")]["ssim"] is None  # the pinned count: baseline

    code, document, err = run(
        capsys, project, comfy.url, "--cases", str(cases), "--no-warmup", "--steps", "4,8"
    )
    assert code == 0, err
    assert sorted({row["variant"] for row in document["rows"]}) == ["steps4", "steps8"]


def test_steps_cannot_be_mixed_with_declared_variants(
    project: Path, comfy: ComfyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["test", "-c", str(project), "--target", comfy.url, "--steps", "4,2"]
    assert main(argv) == ExitCode.CONFIG
    assert "declares variants" in capsys.readouterr().err
