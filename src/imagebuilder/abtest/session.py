"""One `imagebuilder test` run from config to report: choose, plan, run, compare.

The only place that ties the parts together; the command module only reads options
and writes files. The target is passed in, so tests and the benchmark use any server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from imagebuilder.abtest.cases import Case
from imagebuilder.abtest.jobs import JobResult, Target
from imagebuilder.abtest.report import AbTestReport
from imagebuilder.abtest.runner import Progress, plan_jobs, run_jobs
from imagebuilder.abtest.summary import Pictures, compare_rows, summarise
from imagebuilder.abtest.thresholds import Thresholds
from imagebuilder.comfy.nodes import Graph
from imagebuilder.comfy.workflows import rendered_graphs
from imagebuilder.errors import ConfigError
from imagebuilder.project.config import Config
from imagebuilder.project.variants import stacks

DEFAULT_NAME = "default"  # the plain stack, in a project without variants


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = 2
    timeout_s: float = 600.0
    warmup: bool = True
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class Arms:
    names: tuple[str, ...]
    baseline: str
    steps: dict[str, int]
    workflows: dict[str, dict[str, Graph]]


def choose_arms(config: Config, templates_dir: Path, wanted: Sequence[str]) -> Arms:
    """The variants to run, the baseline always among them (it is what the rest is compared to)."""
    all_stacks = stacks(config)
    by_name = {s.name or DEFAULT_NAME: s for s in all_stacks}
    baseline = next(name for name, s in by_name.items() if s.baseline)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise ConfigError(
            f"unknown variant(s): {', '.join(unknown)}",
            hint=f"variants in models.yaml: {', '.join(by_name)}",
        )
    names = [baseline] + [n for n in (wanted or list(by_name)) if n != baseline]
    names = list(dict.fromkeys(names))
    return Arms(
        names=tuple(names),
        baseline=baseline,
        steps={n: by_name[n].config.sampler.steps for n in names},
        workflows={
            n: rendered_graphs(config, by_name[n].name, templates_dir=templates_dir) for n in names
        },
    )


def run_test(
    target: Target,
    arms: Arms,
    cases: Sequence[Case],
    options: RunOptions,
    *,
    price_per_hour: float | None,
    progress: Progress | None = None,
) -> tuple[AbTestReport, Pictures, list[JobResult]]:
    started = datetime.now(UTC).replace(microsecond=0).isoformat()
    jobs = plan_jobs(cases, arms.workflows, warmup=options.warmup)
    facts = target.describe()
    results = run_jobs(
        target,
        jobs,
        concurrency=options.concurrency,
        timeout_s=options.timeout_s,
        progress=progress,
    )
    measured = [r for r in results if not r.job.warmup]
    warm = [r for r in results if r.job.warmup]
    rows, pictures = compare_rows(measured, arms.baseline, price_per_hour)
    warm_rows, _ = compare_rows(warm, arms.baseline, price_per_hour)
    variants = summarise(rows, arms.names, arms.baseline, arms.steps, options.thresholds)
    report = AbTestReport(
        target=facts,
        started_at=started,
        baseline=arms.baseline,
        price_per_hour=price_per_hour,
        thresholds=options.thresholds,
        cases=tuple(cases),
        variants=tuple(variants),
        rows=tuple(rows),
        warmups=tuple(warm_rows),
    )
    return report, pictures, results
