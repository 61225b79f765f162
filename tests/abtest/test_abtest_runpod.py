"""`imagebuilder test` end to end against the loopback RunPod endpoint (worker-comfyui)."""

from __future__ import annotations

from pathlib import Path

import pytest

from comfyserver import HANG_MARK, NO_OUTPUT_MARK, NODE_ERROR_MARK, RunpodServer
from comfyserver.cli import CasesRun, CasesRunner
from comfyserver.project import write_cases
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode


def run(
    run_cases: CasesRunner,
    server: RunpodServer,
    prompts: dict[str, str],
    *args: str,
    warmup: bool = False,
    two_images: str | None = None,
) -> CasesRun:
    """A run against the endpoint; the key shows nowhere: output, log or report."""
    target = f"runpod://{server.endpoint_id}"
    result = run_cases(target, prompts, *args, warmup=warmup, two_images=two_images)
    assert server.api_key not in result.out + result.err
    assert server.api_key not in run_cases.report.read_text(encoding="utf-8")
    return result


def test_runpod_jobs_report_delay_and_execution_apart(
    runpod: RunpodServer, run_cases: CasesRunner
) -> None:
    result = run(
        run_cases,
        runpod,
        {"one": "make it red"},
        "--concurrency",
        "1",
        warmup=True,
        two_images="pair",
    )
    assert result.code == 0
    document = result.document
    assert document["target"]["kind"] == "runpod"
    first = document["warmups"][0]
    assert first["queue_s"] >= 0.2  # the cold start lands in delayTime, not executionTime
    assert first["execution_s"] < 0.2
    rows = result.rows()
    assert len(rows) == 6 and all(r["ok"] for r in rows.values())
    assert all(r["queue_s"] < 0.2 for r in rows.values())
    assert rows[("pair", "steps4")]["execution_s"] >= 0.02 + 4 * 0.01
    assert 0.5 < rows[("one", "steps2")]["ssim"] < rows[("one", "steps3")]["ssim"] < 1
    assert rows[("one", "steps3")]["details"]["job_id"]


def test_runpod_failures_are_reported_per_case(
    runpod: RunpodServer, run_cases: CasesRunner
) -> None:
    prompts = {
        "fine": "make it red",
        "crash": f"{NODE_ERROR_MARK} x",
        "empty": f"{NO_OUTPUT_MARK} x",
        "stuck": f"{HANG_MARK} x",
    }
    runpod.faults.fail_next("/v2/", 2)  # the gateway's 503s: retried
    argv = ["--variant", "steps3", "--concurrency", "1", "--timeout", "2"]
    result = run(run_cases, runpod, prompts, *argv)
    assert result.code == ExitCode.TEST_FAILED
    document = result.document
    kinds = {(r["case"], r["variant"]): r["failure_kind"] for r in document["rows"]}
    assert kinds == {
        ("fine", "steps4"): None,
        ("fine", "steps3"): None,
        ("crash", "steps4"): "node_error",
        ("crash", "steps3"): "node_error",
        ("empty", "steps4"): "missing_output",
        ("empty", "steps3"): "missing_output",
        ("stuck", "steps4"): "timeout",
        ("stuck", "steps3"): "timeout",
    }
    crash = next(r for r in document["rows"] if r["case"] == "crash")
    assert "Node Type: KSampler, Node ID: 3" in crash["failure"]
    assert runpod.requests["cancel"] == 2
    assert runpod.faults.served_errors == 2
    assert "FAIL  stuck/steps3: timeout" in result.err


def test_a_refused_key_stops_before_any_job(
    project: Path,
    runpod: RunpodServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNPOD_API_KEY", "rp_wrong_key")
    cases = write_cases(project.parent, {"one": "make it red"})
    args = ["test", "-c", str(project), "--target", f"runpod://{runpod.endpoint_id}"]
    code = main([*args, "--cases", str(cases), "--report", str(project.parent / "r.html")])
    err = capsys.readouterr().err
    assert code == ExitCode.CONFIG
    assert "RunPod refused the API key" in err and "rp_wrong_key" not in err
    assert "run" not in runpod.requests
