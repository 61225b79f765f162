"""Run every job on a target: a bounded thread pool, a deadline per job, nothing dropped.

Warm-up jobs (one per variant, its first case) go first, so model loading lands in
them and not in the measured jobs. Every job ends as one JobResult: an output, or a
failure with its kind; an unexpected exception in a target becomes a failure too, so a
report always has a row for every case and variant. A job's first output is decoded
(to its bounded scoring copy) inside the job, so the job's time limit covers it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from imagebuilder import network
from imagebuilder.abtest.cases import Case
from imagebuilder.abtest.compare import decode
from imagebuilder.abtest.graph import job_graph
from imagebuilder.abtest.jobs import FailureKind, Job, JobFailed, JobResult, Target
from imagebuilder.comfy.nodes import Graph

Progress = Callable[[JobResult], None]


def plan_jobs(
    cases: Sequence[Case], workflows_by_variant: Mapping[str, Mapping[str, Graph]], *, warmup: bool
) -> list[Job]:
    """Case-major order: a case's variants run close together, on the same server state."""
    jobs = [
        Job(
            case=case.name,
            variant=variant,
            job_graph=job_graph(case, workflows, f"{case.name}/{variant}"),
        )
        for case in cases
        for variant, workflows in workflows_by_variant.items()
    ]
    if not warmup:
        return jobs
    first = cases[0]
    warmups = [
        Job(
            case=first.name,
            variant=variant,
            job_graph=job_graph(first, workflows, f"warm-up/{variant}"),
            warmup=True,
        )
        for variant, workflows in workflows_by_variant.items()
    ]
    return warmups + jobs


def run_one(target: Target, job: Job, timeout_s: float) -> JobResult:
    started = time.monotonic()
    # The command's own deadline (--deadline, IMAGEBUILDER_DEADLINE) caps every job too.
    deadline = started + min(timeout_s, network.DEADLINE.remaining())
    try:
        output = target.run(job, deadline)
        picture = decode(output.images[0]) if output.images else None
        if time.monotonic() > deadline:
            raise JobFailed(FailureKind.TIMEOUT, "time limit reached while decoding the output")
    except JobFailed as failure:
        return JobResult(job=job, wall_s=time.monotonic() - started, failure=failure)
    except Exception as error:  # a broken answer must not lose the other jobs' results
        broken = JobFailed(FailureKind.HTTP, f"{type(error).__name__}: {str(error)[:300]}")
        return JobResult(job=job, wall_s=time.monotonic() - started, failure=broken)
    return JobResult(job=job, wall_s=time.monotonic() - started, output=output, picture=picture)


def run_jobs(
    target: Target,
    jobs: Sequence[Job],
    *,
    concurrency: int,
    timeout_s: float,
    progress: Progress | None = None,
) -> list[JobResult]:
    """Results in the order of ``jobs``. Warm-ups finish before any measured job starts."""
    results: dict[int, JobResult] = {}
    phases = [
        [i for i, job in enumerate(jobs) if job.warmup],
        [i for i, job in enumerate(jobs) if not job.warmup],
    ]
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="job") as pool:
        for phase in phases:
            futures = {i: pool.submit(run_one, target, jobs[i], timeout_s) for i in phase}
            for i, future in futures.items():
                results[i] = future.result()
                if progress is not None:
                    progress(results[i])
    return [results[i] for i in range(len(jobs))]
