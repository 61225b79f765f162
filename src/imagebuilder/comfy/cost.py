"""The cost of one job per variant: computed from measured seconds, never guessed.

seconds per job = fixed seconds + steps x passes per step x seconds per step, where the
fixed part (text encoding, VAE encode/decode, loading, worker overhead) does not shrink
with fewer steps, and cfg above 1 adds an unconditional pass to every step. That is
why cutting 4 steps to 3 saves less than 25% per job unless the fixed part is zero.
Pure functions over data; the command only formats the rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from imagebuilder.comfy.cold_start import (
    ColdStartCost,
    cold_start_cost,
    cold_start_notes,
)
from imagebuilder.errors import ConfigError
from imagebuilder.project.config import Config
from imagebuilder.project.cost_settings import CostSettings, WorkflowCost
from imagebuilder.project.variants import fewer_steps, stacks
from imagebuilder.project.yamlsource import KeyPath, load_yaml

SECONDS_PER_HOUR = 3600.0
ALL_WORKFLOWS = "all"  # the row label where one set of numbers serves every workflow


@dataclass(frozen=True)
class CostRow:
    variant: str
    steps: int
    cfg: float
    passes_per_step: int  # 1 at cfg <= 1 (ComfyUI skips the unconditional pass), else 2
    denoise_seconds: float
    fixed_seconds: float
    seconds_per_job: float
    dollars_per_job: float
    dollars_per_1000_jobs: float
    jobs_per_gpu_hour: float
    baseline: bool
    saving: float | None  # fraction of the baseline's cost per job saved (negative = dearer)
    denoise_saving: float | None  # what the step count alone suggests
    workflow: str  # whose seconds these are; "all" where one set serves every workflow
    seconds_per_step: float
    # With the worker's start and first job spread over cost.jobs_per_worker jobs.
    amortised_seconds_per_job: float | None
    amortised_dollars_per_job: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CostReport:
    inputs: CostSettings
    rows: tuple[CostRow, ...]
    notes: tuple[str, ...]
    cold_start: ColdStartCost | None = None
    sources: tuple[tuple[str, str], ...] = ()  # (which numbers, where they came from)

    def as_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.cost_inputs(),
            "rows": [row.as_dict() for row in self.rows],
            "notes": list(self.notes),
            "cold_start": asdict(self.cold_start) if self.cold_start else None,
            "sources": dict(self.sources),
        }


@dataclass(frozen=True)
class Arm:
    """One row to compute: a name and its KSampler steps and cfg."""

    name: str
    steps: int
    cfg: float
    baseline: bool = False


def arms_from_config(config: Config, what_if_steps: list[int] | None = None) -> list[Arm]:
    """Each variant (or the plain stack); ``what_if_steps`` replaces them with step counts.

    A stack without variants is compared with fewer steps by default (4 -> 3 -> 2 for a
    4-step LoRA): what `cost` is mostly asked.
    """
    variant_stacks = stacks(config)
    if what_if_steps is None and not config.variants:
        what_if_steps = fewer_steps(config.sampler.steps)
    if what_if_steps:
        base = next(s for s in variant_stacks if s.baseline).config.sampler
        baseline_steps = base.steps if base.steps in what_if_steps else what_if_steps[0]
        return [
            Arm(f"steps{steps}", steps, base.cfg, baseline=steps == baseline_steps)
            for steps in dict.fromkeys(what_if_steps)
        ]
    return [
        Arm(s.name or "default", s.config.sampler.steps, s.config.sampler.cfg, s.baseline)
        for s in variant_stacks
    ]


def _job_seconds(arm: Arm, workflow: WorkflowCost) -> tuple[float, float, int]:
    passes = 2 if arm.cfg > 1 else 1
    return (
        sum(workflow.fixed_seconds.values()),
        arm.steps * passes * workflow.seconds_per_step,
        passes,
    )


def _row(
    arm: Arm,
    *,
    name: str,
    workflow: WorkflowCost,
    inputs: CostSettings,
    baseline: Arm,
    cold: ColdStartCost | None,
) -> CostRow:
    fixed, denoise, passes = _job_seconds(arm, workflow)
    seconds = fixed + denoise
    _, base_denoise, _ = _job_seconds(baseline, workflow)
    base_seconds = fixed + base_denoise
    per_dollar = inputs.price_per_hour / SECONDS_PER_HOUR
    amortised = seconds + cold.overhead_seconds / cold.jobs_per_worker if cold else None
    is_baseline = arm is baseline
    return CostRow(
        variant=arm.name,
        steps=arm.steps,
        cfg=arm.cfg,
        passes_per_step=passes,
        denoise_seconds=denoise,
        fixed_seconds=fixed,
        seconds_per_job=seconds,
        dollars_per_job=seconds * per_dollar,
        dollars_per_1000_jobs=seconds * per_dollar * 1000,
        jobs_per_gpu_hour=SECONDS_PER_HOUR / seconds,
        baseline=is_baseline,
        saving=None if is_baseline else 1 - seconds / base_seconds,
        denoise_saving=None if is_baseline else 1 - denoise / base_denoise,
        workflow=name,
        seconds_per_step=workflow.seconds_per_step,
        amortised_seconds_per_job=amortised,
        amortised_dollars_per_job=None if amortised is None else amortised * per_dollar,
    )


def _notes(rows: list[CostRow], inputs: CostSettings) -> list[str]:
    if all(row.fixed_seconds == 0 for row in rows):
        return [
            "no fixed seconds were given, so savings equal the step ratio; real jobs also "
            "pay text encoding, VAE and loading at every step count: measure them"
        ]
    notes = []
    for name, workflow in _workflows(inputs):
        fixed = sum(workflow.fixed_seconds.values())
        parts = ", ".join(f"{part} {sec:g}" for part, sec in workflow.fixed_seconds.items())
        label = "" if name == ALL_WORKFLOWS else f" ({name})"
        notes.append(
            f"fixed work per job{label}: {fixed:.3f} s ({parts}), paid at every step count"
        )
    for row in rows:
        if row.saving is not None and row.denoise_saving is not None and row.denoise_saving > 0:
            label = "" if row.workflow == ALL_WORKFLOWS else f" ({row.workflow})"
            notes.append(
                f"{row.variant}{label}: saves {row.saving:.1%} per job, less than the "
                f"{row.denoise_saving:.1%} cut in denoising, because the fixed part stays"
            )
    return notes


def _workflows(inputs: CostSettings) -> list[tuple[str, WorkflowCost]]:
    if inputs.workflows:
        return sorted(inputs.workflows.items())
    return [(ALL_WORKFLOWS, inputs.for_workflow(ALL_WORKFLOWS))]


def _sources(inputs: CostSettings, cold: ColdStartCost | None) -> list[tuple[str, str]]:
    given = inputs.source or "not stated"
    sources = [("price_per_hour", "models.yaml cost.price_per_hour (what your provider charges)")]
    for name, workflow in _workflows(inputs):
        key = "seconds per step and fixed seconds" + ("" if name == ALL_WORKFLOWS else f" ({name})")
        sources.append((key, workflow.source or given))
    if cold is not None:
        sources.append(("cold start", cold.source or given))
        sources.append(("jobs_per_worker", "an input: cost.jobs_per_worker or --jobs-per-worker"))
    return sources


def compute(arms: list[Arm], inputs: CostSettings) -> CostReport:
    if not arms:
        raise ConfigError("nothing to cost: no variants and no steps given")
    baseline = next((arm for arm in arms if arm.baseline), arms[0])
    cold = cold_start_cost(inputs)
    rows = [
        _row(arm, name=name, workflow=workflow, inputs=inputs, baseline=baseline, cold=cold)
        for name, workflow in _workflows(inputs)
        for arm in arms
    ]
    return CostReport(
        inputs=inputs,
        rows=tuple(rows),
        notes=tuple(_notes(rows, inputs) + cold_start_notes(cold)),
        cold_start=cold,
        sources=tuple(_sources(inputs, cold)),
    )


def load_inputs(config: Config, measurements: Path | None, where: str) -> CostSettings:
    """models.yaml's cost section, with a measurements file (YAML or JSON) laid over it."""
    base: dict[str, Any] = config.cost.model_dump(by_alias=True) if config.cost else {}
    locate: Callable[[KeyPath], str] | None = None  # a measurements file has lines
    if measurements is not None:
        if not measurements.is_file():  # load_yaml's hint is about --config
            raise ConfigError(
                "measurements file not found",
                location=str(measurements),
                hint="pass a YAML or JSON file with gpu, price_per_hour, seconds_per_step "
                "and fixed_seconds to --measurements",
            )
        source = load_yaml(measurements)
        document = source.document
        if not isinstance(document, dict):
            raise ConfigError(
                "a measurements file is a mapping of cost fields", location=str(measurements)
            )
        base |= json.loads(json.dumps(document))  # ruamel containers -> plain data
        where = str(measurements)
        locate = source.where
    if not base:
        raise ConfigError(
            "no cost inputs: models.yaml has no 'cost:' section and no --measurements file",
            location=where,
            hint="add cost: {gpu, price_per_hour, seconds_per_step, fixed_seconds}",
        )
    try:
        return CostSettings.model_validate(base)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        if locate is not None:
            where = locate(first["loc"])
        raise ConfigError(f"cost inputs: {key}: {message}", location=where) from None


def cost_markdown(report: CostReport) -> str:
    """The report as a Markdown table with its inputs, sources and notes (for a PR)."""
    inputs, cold = report.inputs, report.cold_start
    amortised = f" s/job incl. cold start ({cold.jobs_per_worker} jobs/worker) |" if cold else ""
    lines = [
        "| variant | workflow | steps | cfg | s/step | fixed s | seconds/job |"
        f"{amortised} $/job | $/1000 jobs | saving vs baseline | denoising cut |",
        "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if cold else "") + "---:|---:|---:|---:|",
    ]
    for row in report.rows:
        saving = "baseline" if row.saving is None else f"{row.saving:.1%}"
        cut = "-" if row.denoise_saving is None else f"{row.denoise_saving:.1%}"
        extra = f" {row.amortised_seconds_per_job or 0:.3f} |" if cold else ""
        lines.append(
            f"| {row.variant} | {row.workflow} | {row.steps} | {row.cfg:g} "
            f"| {row.seconds_per_step:.3f} | {row.fixed_seconds:.3f} | {row.seconds_per_job:.3f} |"
            f"{extra} {row.dollars_per_job:.6f} | {row.dollars_per_1000_jobs:.3f} "
            f"| {saving} | {cut} |"
        )
    lines.append("")
    lines.append(f"Inputs: {inputs.gpu} at ${inputs.price_per_hour:g}/hour.")
    lines.append("")
    lines.append("Sources:")
    lines.extend(f"- {what}: {source}" for what, source in report.sources)
    lines.append("")
    lines.extend(f"- {note}" for note in report.notes)
    return "\n".join(lines) + "\n"
