"""From job results to rows, medians per variant and a verdict: pure functions.

Each case in each variant gives one row: its output compared with the baseline's output
for the same case and seed, its seconds and dollars. Each variant gets medians over its
cases and a verdict against the thresholds: every job ran and returned an image of the
baseline's size, every case's SSIM and PSNR are at least the minimums, the median seconds
and dollars per job at most the maximums. Dollars are execution seconds at the cost
section's price per GPU hour.

The quality minimums have documented defaults (DEFAULT_MIN_SSIM, DEFAULT_MIN_PSNR_DB), so
a run always has thresholds to decide with. A default only decides which variant is
recommended (verdict.py); a threshold the user set, in models.yaml or on the command
line, is also a gate: missing it fails the run (exit 13), as a failed job does.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from imagebuilder.abtest.compare import Decoded, decode, difference_image, similarity
from imagebuilder.abtest.jobs import FailureKind, JobFailed, JobResult
from imagebuilder.abtest.thresholds import Thresholds

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class CaseRow:
    case: str
    variant: str
    workflow: str
    ok: bool
    failure_kind: str | None = None
    failure: str | None = None
    width: int | None = None
    height: int | None = None
    output_bytes: int | None = None
    frames: int | None = None  # a video output's frame count (videos are not scored)
    same_size_as_baseline: bool | None = None
    scored_size: str | None = None  # "WxH" when SSIM/PSNR ran on a shrunk copy
    ssim: float | None = None
    psnr_db: float | None = None
    identical: bool | None = None
    execution_s: float | None = None
    queue_s: float | None = None
    wall_s: float | None = None
    overhead_s: float | None = None  # wall - queue - execution: the runner plus transfers
    dollars: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VariantSummary:
    variant: str
    baseline: bool
    steps: int | None
    jobs: int
    failed: int
    median_ssim: float | None
    min_ssim: float | None
    median_psnr_db: float | None
    median_execution_s: float | None
    median_queue_s: float | None
    median_wall_s: float | None
    median_overhead_s: float | None
    median_dollars: float | None
    passed: bool  # no failed job, no missed threshold that gates
    reasons: tuple[str, ...]  # every threshold missed, defaults included
    meets_thresholds: bool = True  # no reason at all: a candidate for the recommendation


@dataclass(frozen=True)
class Pictures:
    """Decoded outputs and difference images, for the HTML report only."""

    outputs: dict[tuple[str, str], Decoded]
    diffs: dict[tuple[str, str], NDArray[np.uint8]]


def median_of(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _row(result: JobResult, price: float | None) -> tuple[CaseRow, Decoded | None]:
    job = result.job
    base = CaseRow(case=job.case, variant=job.variant, workflow=job.job_graph.workflow, ok=False)
    failure = result.failure
    decoded = None
    output = result.output
    if failure is None and output is not None and output.videos and not output.images:
        return _video_row(base, result, price), None
    if failure is None and result.output is not None and not result.output.images:
        failure = JobFailed(FailureKind.MISSING_OUTPUT, "the job returned no image")
    if failure is None and result.output is not None:
        try:
            decoded = result.picture or decode(result.output.images[0])
        except JobFailed as bad:
            failure = bad
    if failure is not None or result.output is None or decoded is None:
        kind = failure.kind.value if failure else "missing_output"
        text = failure.message if failure else "no output"
        return replace(base, failure_kind=kind, failure=text, wall_s=result.wall_s), None
    timing = result.output.timing
    execution, queue = timing.execution_s, timing.queue_s
    overhead = None if execution is None else max(0.0, result.wall_s - execution - (queue or 0.0))
    row = replace(
        base,
        ok=True,
        width=decoded.size[0],
        height=decoded.size[1],
        scored_size="{}x{}".format(*decoded.scored_size) if decoded.shrunk else None,
        output_bytes=len(result.output.images[0]),
        execution_s=execution,
        queue_s=queue,
        wall_s=result.wall_s,
        overhead_s=overhead,
        dollars=None
        if execution is None or price is None
        else execution * price / SECONDS_PER_HOUR,
        details=dict(result.output.details),
    )
    return row, decoded


def _video_row(base: CaseRow, result: JobResult, price: float | None) -> CaseRow:
    """A video job: its first video's facts; every video listed in the details."""
    assert result.output is not None
    first = result.output.videos[0]
    timing = result.output.timing
    return replace(
        base,
        ok=True,
        width=first.width,
        height=first.height,
        output_bytes=first.bytes,
        frames=first.frames,
        execution_s=timing.execution_s,
        queue_s=timing.queue_s,
        wall_s=result.wall_s,
        dollars=None
        if timing.execution_s is None or price is None
        else timing.execution_s * price / SECONDS_PER_HOUR,
        details={
            **result.output.details,
            "videos": [video.as_dict() for video in result.output.videos],
        },
    )


def _video_against(row: CaseRow, ref: CaseRow | None) -> CaseRow:
    if ref is None or not ref.ok or ref.frames is None:
        return row
    same = (row.width, row.height, row.frames) == (ref.width, ref.height, ref.frames)
    return replace(row, same_size_as_baseline=same)


def compare_rows(
    results: Sequence[JobResult], baseline: str, price: float | None
) -> tuple[list[CaseRow], Pictures]:
    rows: list[CaseRow] = []
    pictures = Pictures(outputs={}, diffs={})
    for result in results:
        row, decoded = _row(result, price)
        rows.append(row)
        if decoded is not None:
            pictures.outputs[(row.case, row.variant)] = decoded
    compared = []
    by_key = {(row.case, row.variant): row for row in rows}
    for row in rows:
        mine = pictures.outputs.get((row.case, row.variant))
        reference = pictures.outputs.get((row.case, baseline))
        if row.frames is not None:  # a video: same frame size and length, never scored
            compared.append(_video_against(row, by_key.get((row.case, baseline))))
            continue
        if mine is None or reference is None:
            compared.append(row)
            continue
        if row.variant == baseline:  # the reference itself: nothing to score
            compared.append(replace(row, same_size_as_baseline=True))
            continue
        score = similarity(mine, reference)
        diff = difference_image(mine, reference)
        if diff is not None:
            pictures.diffs[(row.case, row.variant)] = diff
        compared.append(
            replace(
                row,
                ssim=score.ssim,
                psnr_db=score.psnr_db,
                identical=score.identical,
                same_size_as_baseline=score.same_size,
            )
        )
    return compared, pictures


def _reasons(
    rows: list[CaseRow],
    limits: Thresholds,
    *,
    is_baseline: bool,
    med_seconds: float | None,
    med_dollars: float | None,
) -> list[tuple[str, bool]]:
    """Each reason with whether it gates (a failure, or a threshold the user set)."""
    # One line per reason: target messages (tracebacks, node errors) may hold newlines.
    reasons = [
        (f"{r.case}: {r.failure_kind}: {' '.join(str(r.failure).split())}", True)
        for r in rows
        if not r.ok
    ]
    for r in rows:
        if r.ok and r.same_size_as_baseline is False:
            reasons.append(
                (f"{r.case}: output is {r.width}x{r.height}, not the baseline's size", True)
            )
        if r.ok and not is_baseline and r.same_size_as_baseline is None:
            reasons.append((f"{r.case}: no baseline output to compare with", True))
    scores = [] if is_baseline else [(r.case, r.ssim, r.psnr_db) for r in rows]
    reasons.extend(limits.missed(scores, med_seconds, med_dollars))
    return reasons


def summarise(
    rows: Sequence[CaseRow],
    variants: Sequence[str],
    baseline: str,
    steps: dict[str, int],
    limits: Thresholds,
) -> list[VariantSummary]:
    summaries = []
    for variant in variants:
        mine = [r for r in rows if r.variant == variant]
        med_seconds = median_of([r.execution_s for r in mine])
        med_dollars = median_of([r.dollars for r in mine])
        ssims = [r.ssim for r in mine if r.ssim is not None]
        is_baseline = variant == baseline
        reasons = _reasons(
            mine, limits, is_baseline=is_baseline, med_seconds=med_seconds, med_dollars=med_dollars
        )
        summaries.append(
            VariantSummary(
                variant=variant,
                baseline=is_baseline,
                steps=steps.get(variant),
                jobs=len(mine),
                failed=sum(not r.ok for r in mine),
                median_ssim=median_of(ssims),
                min_ssim=min(ssims) if ssims else None,
                median_psnr_db=median_of([r.psnr_db for r in mine]),
                median_execution_s=med_seconds,
                median_queue_s=median_of([r.queue_s for r in mine]),
                median_wall_s=median_of([r.wall_s for r in mine]),
                median_overhead_s=median_of([r.overhead_s for r in mine]),
                median_dollars=med_dollars,
                passed=not any(gating for _, gating in reasons),
                reasons=tuple(text for text, _ in reasons),
                meets_thresholds=not reasons,
            )
        )
    return summaries
