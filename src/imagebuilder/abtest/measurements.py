"""Measured timings as a file `imagebuilder cost --measurements` reads.

Per workflow, a straight line through (steps, median execution seconds) of the
variants: the slope is seconds per step, the intercept the fixed seconds per job (text
encoding, VAE, image I/O) that every step count pays. That needs variants at two or
more step counts; with one, the two parts cannot be told apart and nothing is written.
The top-level fields are those of models.yaml's ``cost:`` section, from the one-image
workflow (what `cost` prices); every workflow's fit is in ``source`` as text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from imagebuilder.abtest.summary import CaseRow, median_of
from imagebuilder.errors import ConfigError
from imagebuilder.project.cost_settings import CostSettings


@dataclass(frozen=True)
class Fit:
    workflow: str
    seconds_per_step: float
    fixed_seconds: float
    points: tuple[tuple[int, float], ...]  # (steps, median seconds)
    jobs: int


def fit_workflows(rows: Sequence[CaseRow], steps: Mapping[str, int]) -> list[Fit]:
    by_workflow: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.ok and row.execution_s is not None and row.variant in steps:
            by_workflow[row.workflow][steps[row.variant]].append(row.execution_s)
    fits = []
    for workflow, by_steps in sorted(by_workflow.items()):
        points = tuple(sorted((s, float(median_of(v) or 0.0)) for s, v in by_steps.items()))
        if len(points) < 2:
            continue
        xs = np.array([p[0] for p in points], dtype=float)
        ys = np.array([p[1] for p in points], dtype=float)
        slope, intercept = np.polyfit(xs, ys, 1)
        fits.append(
            Fit(
                workflow=workflow,
                seconds_per_step=float(slope),
                fixed_seconds=float(intercept),
                points=points,
                jobs=sum(len(v) for v in by_steps.values()),
            )
        )
    return fits


def measurements_document(
    fits: Sequence[Fit], *, gpu: str, price_per_hour: float, target: str, date: str
) -> dict[str, object]:
    usable = [f for f in fits if f.seconds_per_step > 0 and f.fixed_seconds >= 0]
    if not usable:
        raise ConfigError(
            "cannot write measurements: need successful jobs at two or more step counts "
            "(variants with different sampler.steps) to separate per-step and fixed seconds",
            hint="add a variant with other steps, or leave out --measurements-out",
        )
    main = next((f for f in usable if f.workflow.endswith("_1")), usable[0])
    source = f"imagebuilder test against {target} on {date}"
    document: dict[str, object] = {
        "gpu": gpu,
        "price_per_hour": price_per_hour,
        "seconds_per_step": round(main.seconds_per_step, 6),
        "fixed_seconds": {"measured_fixed": round(main.fixed_seconds, 6)},
        "source": f"{source}: {_describe(fits)}"[:500],
    }
    # Per-workflow numbers where this version's cost model reads them (one and two
    # reference images cost differently); a cost model without them gets the top level.
    if "workflows" in CostSettings.model_fields:
        document["workflows"] = {
            f.workflow: {
                "seconds_per_step": round(f.seconds_per_step, 6),
                "fixed_seconds": {"measured_fixed": round(f.fixed_seconds, 6)},
                "warm_job_seconds": {str(steps): round(sec, 4) for steps, sec in f.points},
                "fit": {
                    "seconds_per_step": round(f.seconds_per_step, 6),
                    "fixed_seconds": round(f.fixed_seconds, 6),
                },
                "jobs": f.jobs,
                "source": f"{source}: {_describe([f])}"[:500],
            }
            for f in usable
        }
    return document


def _describe(fits: Sequence[Fit]) -> str:
    return "; ".join(
        f"{f.workflow}: {f.seconds_per_step:.4f} s/step + {f.fixed_seconds:.4f} s fixed "
        f"from {f.jobs} jobs at steps " + ", ".join(f"{s}={sec:.3f}s" for s, sec in f.points)
        for f in fits
    )
