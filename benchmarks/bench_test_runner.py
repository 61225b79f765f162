"""`imagebuilder test`'s own overhead per job, against the target's execution time.

A loopback ComfyUI (tests/comfyserver) executes each job in 2.5 s at 4 steps (1.0 s
fixed + 0.375 s per step, the shape measured on the H200) on the shipped 1024x1024
sample cases; the runner uploads, queues, polls, downloads. Overhead per job = the
runner's wall time - the server's execution time (its history timestamps): upload,
/prompt, the poll interval, /view. Goal: under 5% of a 2.5 s job. The comparison
(decode, SSIM, PSNR, difference image) runs after the jobs and is reported apart.

Run: uv run python benchmarks/bench_test_runner.py [--poll-interval S]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from comfyserver import ComfyServer
from imagebuilder.abtest.cases import load_cases
from imagebuilder.abtest.session import RunOptions, choose_arms, run_test
from imagebuilder.abtest.targets import open_target
from imagebuilder.project.load import load_config

ROOT = Path(__file__).resolve().parents[1]
GOAL_FRACTION = 0.05
VARIANTS = "\nvariants:\n  steps4: {baseline: true}\n  steps3: {sampler: {steps: 3}}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll-interval", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/test_runner.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        text = (ROOT / "models.yaml").read_text(encoding="utf-8") + VARIANTS
        (project / "models.yaml").write_text(text, encoding="utf-8")
        shutil.copytree(ROOT / "workflows", project / "workflows")
        config = load_config(project / "models.yaml").config
        arms = choose_arms(config, project / "workflows", [])
        cases = load_cases(ROOT / "samples" / "cases.yaml")
        with ComfyServer(seconds_per_step=0.375, fixed_seconds=1.0) as server:
            target = open_target(server.url, poll_s=args.poll_interval)
            started = time.perf_counter()
            report, _, results = run_test(
                target, arms, cases, RunOptions(concurrency=1, warmup=True), price_per_hour=3.5
            )
            total = time.perf_counter() - started
            target.close()
    measured = [r for r in results if not r.job.warmup and r.output is not None]
    overheads = [r.wall_s - (r.output.timing.execution_s or 0.0) for r in measured if r.output]
    executions = [r.output.timing.execution_s or 0.0 for r in measured if r.output]
    job_wall = sum(r.wall_s for r in results)
    steps4 = [
        r.wall_s - (r.output.timing.execution_s or 0.0)
        for r in measured
        if r.output and r.job.variant == "steps4"
    ]
    result = {
        "jobs": len(measured),
        "poll_interval_s": args.poll_interval,
        "median_execution_s": statistics.median(executions),
        "median_overhead_s": statistics.median(overheads),
        "max_overhead_s": max(overheads),
        "median_overhead_fraction_of_2_5s_job": statistics.median(steps4) / 2.5,
        "analysis_s_total": total - job_wall,
        "analysis_s_per_job": (total - job_wall) / len(measured),
        "goal_fraction": GOAL_FRACTION,
        "passed": report.passed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    fraction = result["median_overhead_fraction_of_2_5s_job"]
    print(
        f"{len(measured)} jobs, median execution {result['median_execution_s']:.3f} s, "
        f"runner overhead median {result['median_overhead_s'] * 1e3:.1f} ms "
        f"(max {result['max_overhead_s'] * 1e3:.1f} ms) = {fraction:.2%} of a 2.5 s job "
        f"(goal < {GOAL_FRACTION:.0%}); comparison afterwards "
        f"{result['analysis_s_per_job'] * 1e3:.0f} ms per job"
    )
    return 0 if fraction < GOAL_FRACTION and report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
