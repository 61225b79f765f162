"""What a fresh worker pays before it is warm, and that cost spread over its jobs.

A serverless worker starts ComfyUI, then its first job loads every model (from disk,
or from the page cache where the files were read recently). The overhead is the start
plus what the first job costs beyond a warm job of the same workflow and steps; spread
over the jobs one worker serves before it is stopped (cost.jobs_per_worker), it adds
overhead / N seconds to each job. Pure functions over the cost inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagebuilder.project.cost_settings import CostSettings

# A fresh machine reads the files from disk; prefer that case when it was measured.
PREFERRED_CASES = ("page_cache_dropped", "page_cache_warm")


@dataclass(frozen=True)
class ColdStartCost:
    server_start_seconds: float
    first_job_case: str  # which first-job measurement the overhead uses
    first_job_seconds: float
    warm_job_seconds: float  # the same job on a warm worker
    overhead_seconds: float  # start + (first job - warm job)
    jobs_per_worker: int
    overhead_per_job_seconds: float
    first_job_cases: dict[str, float]
    source: str
    first_image_seconds: float | None = None  # worker start -> first image, when measured
    first_image_cases: dict[str, float] | None = None


def cold_start_cost(inputs: CostSettings) -> ColdStartCost | None:
    cold = inputs.cold_start
    if cold is None:
        return None
    cases = {name: job.seconds for name, job in cold.first_job_seconds.items()}
    case = next((c for c in PREFERRED_CASES if c in cases), next(iter(sorted(cases))))
    workflow = inputs.for_workflow(
        cold.first_job_workflow or next(iter(sorted(inputs.workflows)), "")
    )
    steps = cold.first_job_steps
    warm = sum(workflow.fixed_seconds.values()) + steps * workflow.seconds_per_step
    images = {name: seconds for name, seconds in cold.first_image_seconds.items() if seconds > 0}
    if case in images:  # measured from the worker's start: the start path's own timing
        overhead = max(0.0, images[case] - warm)
    else:
        overhead = cold.server_start_seconds + max(0.0, cases[case] - warm)
    return ColdStartCost(
        server_start_seconds=cold.server_start_seconds,
        first_job_case=case,
        first_job_seconds=cases[case],
        warm_job_seconds=warm,
        overhead_seconds=overhead,
        jobs_per_worker=inputs.jobs_per_worker,
        overhead_per_job_seconds=overhead / inputs.jobs_per_worker,
        first_job_cases=cases,
        source=cold.source or inputs.source,
        first_image_seconds=images.get(case),
        first_image_cases=images or None,
    )


def cold_start_notes(cold: ColdStartCost | None) -> list[str]:
    if cold is None:
        return [
            "no cold start measured: a fresh worker also pays ComfyUI's start and a first "
            "job that loads every model; add cost.cold_start from the GPU benchmark"
        ]
    if cold.first_image_seconds is not None and cold.first_image_cases:
        others = ", ".join(
            f"{seconds:.1f} s ({case.replace('_', ' ')})"
            for case, seconds in sorted(cold.first_image_cases.items())
            if case != cold.first_job_case
        )
        return [
            f"cold start: the first image comes {cold.first_image_seconds:.1f} s after the "
            f"worker starts ({cold.first_job_case.replace('_', ' ')}"
            + (f"; {others}" if others else "")
            + f"), a job waiting from the start, against {cold.warm_job_seconds:.2f} s warm: "
            f"{cold.overhead_seconds:.1f} s per worker, {cold.overhead_per_job_seconds:.3f} s "
            f"per job over {cold.jobs_per_worker} jobs per worker (the amortised columns)"
        ]
    others = ", ".join(
        f"{seconds:.1f} s ({case.replace('_', ' ')})"
        for case, seconds in sorted(cold.first_job_cases.items())
        if case != cold.first_job_case
    )
    return [
        f"cold start: ComfyUI answers after {cold.server_start_seconds:.1f} s, the first job "
        f"takes {cold.first_job_seconds:.1f} s ({cold.first_job_case.replace('_', ' ')}"
        + (f"; {others}" if others else "")
        + f") against {cold.warm_job_seconds:.2f} s warm: {cold.overhead_seconds:.1f} s per "
        f"worker, {cold.overhead_per_job_seconds:.3f} s per job over "
        f"{cold.jobs_per_worker} jobs per worker (the amortised columns)"
    ]
